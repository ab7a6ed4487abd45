#!/bin/bash
# The unified (v2) layout: every limit in the v2 files of the delegated scope, the container's
# processes in a leaf below it, its cgroup namespace rooted there and writable (a program that makes
# its own child cgroups works), live updates, pause through FreezeUnit, live figures, an OOM kill seen
# through memory.events, re-adoption after kill -9.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || skip "needs the unified cgroup layout (v2); this host is v1 (tests/harness/v2vm runs it)"
for n in v2a v2b v2c; do on_exit vcleanup $n; done
cg=/sys/fs/cgroup/machine.slice/vessel-v2a.scope

vcall RunContainer 'ssa(sv)' v2a "$IMAGE" 10 \
    Command as 3 sh -c 'i=0; while :; do i=$((i+1)); echo $i >/counter.t; mv /counter.t /counter; sleep 0.05; done' \
    MemoryMax t $((64 << 20)) MemoryHigh t $((48 << 20)) MemoryLow t $((32 << 20)) MemorySwapMax t 0 \
    CPUQuotaPerSecUSec t 500000 CPUWeight t 200 TasksMax t 50 IOWeight t 300 AllowedCPUs ay 1 1 >/dev/null

assert_eq $((64 << 20)) "$(cat $cg/memory.max)" "memory.max"
assert_eq $((48 << 20)) "$(cat $cg/memory.high)" "memory.high"
assert_eq $((32 << 20)) "$(cat $cg/memory.low)" "memory.low"
assert_eq 0 "$(cat $cg/memory.swap.max)" "memory.swap.max"
assert_eq "50000 100000" "$(cat $cg/cpu.max)" "cpu.max"
assert_eq 200 "$(cat $cg/cpu.weight)" "cpu.weight"
assert_eq 50 "$(cat $cg/pids.max)" "pids.max"
[ -e $cg/cpuset.cpus ] && assert_eq 0 "$(cat $cg/cpuset.cpus)" "cpuset.cpus"
if [ -e $cg/io.weight ]; then
    assert_contains "$(cat $cg/io.weight)" "default 300" "io.weight"
elif [ -e $cg/io.bfq.weight ]; then
    assert_contains "$(cat $cg/io.bfq.weight)" "default" "io.bfq.weight"
fi
assert_eq yes "$(systemctl show -P Delegate vessel-v2a.scope)" "delegated"

# the processes sit in the leaf, and the scope hands its controllers down to it
leader=$(vprop v2a Leader)
grep -qx "$leader" $cg/container/cgroup.procs || fail "leader not in the leaf"
[ -z "$(cat $cg/cgroup.procs)" ] || fail "processes directly in the scope"
for ctl in memory pids; do
    grep -qw $ctl $cg/cgroup.subtree_control || fail "$ctl not handed down to the leaf"
done
# status lists them, from the leaf, under the scope's path
out=$(vesselctl status v2a)
assert_contains "$out" "       CGroup: /machine.slice/vessel-v2a.scope" "status: the cgroup"
assert_contains "$out" "├─$leader vessel-init" "status: the leader"

# live figures against the files
wait_until 5 test -s "/proc/$leader/root/counter"
mc=$(vprop v2a MemoryCurrent)
fc=$(cat $cg/memory.current)
[ "$mc" -gt 0 ] && [ $((mc > fc ? mc - fc : fc - mc)) -lt $((4 << 20)) ] || fail "MemoryCurrent $mc vs memory.current $fc"
# the app forks a sleep every 50 ms: the two figures are read one after the other, so they are compared
# until a pair is read with no fork or exit between the reads (equal, exactly, within 5 s)
tasks_agree() { [ "$(cat $cg/pids.current)" = "$(vprop v2a TasksCurrent)" ]; }
tasks_agree || wait_until 5 tasks_agree
[ "$(vprop v2a CPUUsageNSec)" -gt 0 ] || fail "CPUUsageNSec"

# live update
vcall UpdateContainer 'sa(sv)' v2a 3 MemoryMax t $((128 << 20)) MemoryHigh t $((96 << 20)) TasksMax t 77 >/dev/null
assert_eq $((128 << 20)) "$(cat $cg/memory.max)" "updated memory.max"
assert_eq $((96 << 20)) "$(cat $cg/memory.high)" "updated memory.high"
assert_eq 77 "$(cat $cg/pids.max)" "updated pids.max"
systemctl daemon-reload
assert_eq $((128 << 20)) "$(cat $cg/memory.max)" "memory.max after daemon-reload"

# pause: FreezeUnit, cgroup.freeze, the counter stops; resume: it goes on
root=/proc/$leader/root
vcall PauseContainer s v2a >/dev/null
assert_eq paused "$(vstate v2a)" "paused"
wait_until 5 grep -qx "frozen 1" $cg/cgroup.events
a=$(cat $root/counter)
sleep 0.5
assert_eq "$a" "$(cat $root/counter)" "no progress while paused"
vcall ResumeContainer s v2a >/dev/null
assert_eq running "$(vstate v2a)" "resumed"
wait_until 5 sh -c "[ \$(cat $root/counter) -gt $a ]"

# re-adoption after kill -9
kill -9 "$(vesseld_pid)"
wait_until 10 sh -c "[ \"\$(busctl get-property io.vessel1 /io/vessel1/container/v2a io.vessel1.Container State 2>/dev/null)\" = 's \"running\"' ]"
assert_eq "$leader" "$(vprop v2a Leader)" "same leader after kill -9"
vcall StopContainer s v2a >/dev/null

# the container's own cgroup namespace, rooted at its leaf, writable: it makes and uses a child cgroup
vcall RunContainer 'ssa(sv)' v2b "$IMAGE" 1 Command as 3 sh -c \
    'cat /proc/self/cgroup; mkdir /sys/fs/cgroup/mine && echo $$ >/sys/fs/cgroup/mine/cgroup.procs && cat /proc/self/cgroup && echo made-child; sleep 1000' >/dev/null
wait_log v2b '^made-child$'
out=$(vlogs v2b)
assert_contains "$out" "0::/" "cgroup namespace rooted at the leaf"
assert_contains "$out" "0::/mine" "a child cgroup of its own"
[ -d /sys/fs/cgroup/machine.slice/vessel-v2b.scope/container/mine ] || fail "the child cgroup is not below the leaf"

# OOM through memory.events
vcall RunContainer 'ssa(sv)' v2c "$IMAGE" 3 Command as 3 sh -c 'x=a; while :; do x="$x$x"; done' \
    MemoryMax t $((16 << 20)) MemorySwapMax t 0 >/dev/null
out=$(vcall WaitContainer s v2c)
assert_contains "$out" " 9" "killed by SIGKILL"
assert_eq true "$(vprop v2c OOMKilled)" "OOMKilled"
