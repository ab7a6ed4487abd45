#!/bin/bash
# vesseld keeps one container first process ready after a start (vessel-init waiting for its spec, in
# vesseld's own cgroup): the next start takes it as its leader, one is made again, there is never
# more than one, a spare killed from outside is noticed (the next start makes its own), and it ends
# with vesseld while the containers run on. It makes its namespaces ahead: after a Network=none start
# a network namespace too, which a start with another network leaves for the host's or the pool's;
# and it goes when vesseld's mount table changes, of which its own is an old copy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

for n in sp1 sp2 sp3 sp4 sp5 sp6 sp7 sp8 sp9; do on_exit vcleanup $n; done

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

# --- the spare's network namespace
netns() { readlink "/proc/$1/ns/net"; }
lo_up() { nsenter -n -t "$1" ip -o link show lo | grep -q "[<,]UP[,>]"; }
vesselctl run -d --name sp5 --network=none "$IMAGE" sleep 1000 >/dev/null
lo_up "$(vprop sp5 Leader)" || fail "lo is down in a Network=none container"
wait_until 10 one_spare
s=$(spares)
[ "$(netns "$s")" != "$(netns self)" ] || fail "the spare after a Network=none start has no network namespace of its own"
lo_up "$s" || fail "lo is down in the spare's network namespace"
vesselctl run -d --name sp6 --network=host "$IMAGE" sleep 1000 >/dev/null
assert_eq "$s" "$(vprop sp6 Leader)" "the spare served the Network=host start"
assert_eq "$(netns self)" "$(netns "$s")" "sp6 has the host's network namespace"

vesselctl run -d --name sp7 --network=none "$IMAGE" sleep 1000 >/dev/null
wait_until 10 one_spare
s=$(spares)
[ "$(netns "$s")" != "$(netns self)" ] || fail "no network namespace in the spare after sp7"
vesselctl run -d --name sp8 "$IMAGE" sleep 1000 >/dev/null # bridge
leader=$(vprop sp8 Leader)
[ "$(netns "$leader")" != "$(netns self)" ] || fail "sp8 (bridge) is in the host's network namespace"
grep -q "eth0:" "/proc/$leader/net/dev" || fail "sp8 (bridge) has no eth0: $(cat "/proc/$leader/net/dev")"
nsenter -n -t "$leader" ip -4 -o addr show eth0 | grep -q inet || fail "sp8 (bridge) has no address on eth0"

# --- the mount table: a mount under a private mount reaches no copy of the table made before it; the
# spare goes, and the next container, from a fresh process, sees it
D=/run/vessel-test-spare
on_exit sh -c "umount -R $D 2>/dev/null; rmdir $D 2>/dev/null; true"
mkdir -p "$D"
mount -t tmpfs vessel-test "$D"
mount --make-private "$D"
mkdir "$D/sub"
vesselctl run -d --name sp9 "$IMAGE" sleep 1000 >/dev/null
wait_until 10 one_spare
s=$(spares)
mount -t tmpfs vessel-test-sub "$D/sub"
touch "$D/sub/marker"
wait_until 10 gone "$s"
vesselctl run --rm --network=none -v "$D/sub:/m" "$IMAGE" test -e /m/marker ||
    fail "a container started after a mount does not see it"
