#!/bin/bash
# vesseld keeps one container first process ready after a start (vessel-init waiting for its spec, in
# vesseld's own cgroup): the next start takes it as its leader, one is made again, there is never
# more than one, a spare killed from outside is noticed (the next start makes its own), and it ends
# with vesseld while the containers run on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

for n in sp1 sp2 sp3 sp4; do on_exit vcleanup $n; done

procs_file() {
    local cg m
    cg=$(systemctl show -P ControlGroup vesseld.service)
    for m in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
        [ -e "$m$cg/cgroup.procs" ] && { echo "$m$cg/cgroup.procs"; return; }
    done
    fail "no cgroup.procs for vesseld.service ($cg)"
}
spares() { # the vessel-init processes in vesseld's cgroup
    local p
    for p in $(cat "$(procs_file)"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = vessel-init ] && echo "$p"
    done
    return 0
}
one_spare() { [ "$(spares | wc -l)" = 1 ]; }
gone() { [ ! -e "/proc/$1" ]; }

vrun_sh sp1 'sleep 1000'
wait_until 10 one_spare
s=$(spares)

# the next start takes it: the spare is the new container's leader, in its scope now
vrun_sh sp2 'sleep 1000'
assert_eq "$s" "$(vprop sp2 Leader)" "the spare became sp2's leader"
assert_contains "$(cat /proc/$s/cgroup)" "vessel-sp2.scope" "the leader is in sp2's scope"
wait_until 10 one_spare
s2=$(spares)
[ "$s2" != "$s" ] || fail "no new spare after sp2"

# killed from outside: vesseld notices, the next start makes its own process
kill -9 "$s2"
wait_until 10 gone "$s2"
vrun_sh sp3 'sleep 1000'
assert_eq running "$(vstate sp3)" "a start after the spare was killed"
[ "$(vprop sp3 Leader)" != "$s2" ] || fail "sp3 got the dead spare"
wait_until 10 one_spare

# it ends with vesseld; the containers run on and are re-adopted
s3=$(spares)
systemctl stop vesseld.service
wait_until 10 gone "$s3"
for n in sp1 sp2 sp3; do
    pid=$(cat "/sys/fs/cgroup/pids/machine.slice/vessel-$n.scope/cgroup.procs" 2>/dev/null | head -n 1 ||
          cat "/sys/fs/cgroup/machine.slice/vessel-$n.scope/cgroup.procs" | head -n 1)
    [ -n "$pid" ] || fail "$n stopped with vesseld"
done
assert_eq running "$(vstate sp1)" "sp1 re-adopted"
vrun_sh sp4 'sleep 1000'
assert_eq running "$(vstate sp4)" "starts after vesseld came back"
