#!/bin/bash
# Restart policies with their back-off and RestartCount; Stop cancels a pending restart; an OOM kill is
# seen as such; pause freezes every process (the v1 freezer here, FreezeUnit on v2) and a paused
# container can be stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

for n in rs1 rs2 rs3 oom1 pz1; do on_exit vcleanup $n; done

# on-failure: restarts while it fails, counts; the file on the upper layer survives restarts
vcall RunContainer 'ssa(sv)' rs1 "$IMAGE" 2 Command as 3 sh -c \
    'n=$(cat /count 2>/dev/null || echo 0); n=$((n+1)); echo $n >/count; [ $n -ge 3 ] && exit 0; exit 1' \
    Restart s on-failure >/dev/null
wait_until 20 sh -c '[ "$(busctl get-property io.vessel1 /io/vessel1/container/rs1 io.vessel1.Container State)" = "s \"exited\"" ]'
assert_eq 2 "$(vprop rs1 RestartCount)" "restarted twice"
assert_eq 0 "$(vprop rs1 ExitStatus)" "last run succeeded"

# always: restarts even on success; Stop ends it for good
vcall RunContainer 'ssa(sv)' rs2 "$IMAGE" 2 Command as 2 sleep 0.2 Restart s always >/dev/null
wait_until 20 sh -c '[ "$(busctl get-property io.vessel1 /io/vessel1/container/rs2 io.vessel1.Container RestartCount | cut -d" " -f2)" -ge 2 ]'
vcall StopContainer s rs2 >/dev/null
sleep 1
assert_eq exited "$(vstate rs2)" "stop cancels restarts"
n=$(vprop rs2 RestartCount)
sleep 1
assert_eq "$n" "$(vprop rs2 RestartCount)" "no restart after stop"

# no: stays down
vrun_sh rs3 'exit 1'
vcall WaitContainer s rs3 >/dev/null
sleep 0.5
assert_eq exited "$(vstate rs3)" "Restart=no"
assert_eq 0 "$(vprop rs3 RestartCount)" "never restarted"

# OOM: a memory hog in a 16M container
vcall RunContainer 'ssa(sv)' oom1 "$IMAGE" 3 Command as 3 sh -c 'x=a; while :; do x="$x$x"; done' \
    MemoryMax t $((16 << 20)) MemorySwapMax t 0 >/dev/null 2>&1 ||
    vcall RunContainer 'ssa(sv)' oom1 "$IMAGE" 2 Command as 3 sh -c 'x=a; while :; do x="$x$x"; done' \
        MemoryMax t $((16 << 20)) >/dev/null
out=$(vcall WaitContainer s oom1)
assert_eq true "$(vprop oom1 OOMKilled)" "OOMKilled"
assert_contains "$out" " 9" "killed by SIGKILL"
wait_until 10 sh -c "journalctl -q -u vesseld --no-pager | grep -q 'Container oom1: the kernel.s OOM killer'"
# and one that ends well under the same limit is not OOM-killed (the cgroup's removal is no OOM event)
vcall RemoveContainer sb oom1 false >/dev/null
vcall RunContainer 'ssa(sv)' oom1 "$IMAGE" 2 Command as 1 true MemoryMax t $((16 << 20)) >/dev/null
vcall WaitContainer s oom1 >/dev/null
sleep 0.3
assert_eq false "$(vprop oom1 OOMKilled)" "no OOM kill"

# pause: the counter stops, resume: it goes on
vrun_sh pz1 'i=0; while :; do i=$((i+1)); echo $i >/counter.t; mv /counter.t /counter; sleep 0.05; done'
wait_until 5 test -s "/proc/$(vprop pz1 Leader)/root/counter"
root=/proc/$(vprop pz1 Leader)/root
vcall PauseContainer s pz1 >/dev/null
assert_eq paused "$(vstate pz1)" "paused"
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    assert_eq 1 "$(cat /sys/fs/cgroup/machine.slice/vessel-pz1.scope/cgroup.freeze)" "cgroup.freeze"
else
    assert_eq FROZEN "$(cat "$(scope_cgroup pz1 freezer)/freezer.state")" "freezer.state"
fi
a=$(cat "$root/counter")
sleep 0.5
assert_eq "$a" "$(cat "$root/counter")" "no progress while paused"
vcall ResumeContainer s pz1 >/dev/null
assert_eq running "$(vstate pz1)" "resumed"
wait_until 5 sh -c "[ \$(cat $root/counter) -gt $a ]"
vcall PauseContainer s pz1 >/dev/null
vcall StopContainer s pz1 >/dev/null
assert_eq exited "$(vstate pz1)" "a paused container stops"
