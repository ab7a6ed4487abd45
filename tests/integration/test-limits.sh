#!/bin/bash
# Every limit lands in the scope's cgroup files (legacy v1 layout here), through systemd where systemd
# manages the controller and by vesseld where it does not (cpuset, memory soft limit); limits change
# live; what the layout cannot honour is refused by name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || skip "this test reads v1 files; test-v2-limits covers v2"
on_exit vcleanup lim1

vcall RunContainer 'ssa(sv)' lim1 "$IMAGE" 8 \
    Command as 2 sleep 1000 \
    MemoryMax t $((64 << 20)) \
    MemoryLow t $((32 << 20)) \
    CPUQuotaPerSecUSec t 500000 \
    CPUWeight t 200 \
    TasksMax t 50 \
    IOWeight t 50 \
    AllowedCPUs ay 1 1 >/dev/null

mem=$(scope_cgroup lim1 memory)
assert_eq $((64 << 20)) "$(cat "$mem/memory.limit_in_bytes")" "MemoryMax → memory.limit_in_bytes"
assert_eq $((32 << 20)) "$(cat "$mem/memory.soft_limit_in_bytes")" "MemoryLow → memory.soft_limit_in_bytes"
cpu=$(scope_cgroup lim1 cpu)
assert_eq 50000 "$(cat "$cpu/cpu.cfs_quota_us")" "CPUQuotaPerSecUSec → cpu.cfs_quota_us"
assert_eq 100000 "$(cat "$cpu/cpu.cfs_period_us")" "cpu.cfs_period_us"
assert_eq 2048 "$(cat "$cpu/cpu.shares")" "CPUWeight 200 → cpu.shares"
assert_eq 50 "$(cat "$(scope_cgroup lim1 pids)/pids.max")" "TasksMax → pids.max"
assert_eq 0 "$(cat "$(scope_cgroup lim1 cpuset)/cpuset.cpus")" "AllowedCPUs → cpuset.cpus"
assert_eq 50 "$(systemctl show -P IOWeight vessel-lim1.scope)" "IOWeight on the unit"

# inside, /sys/fs/cgroup shows the container's own cgroup of every hierarchy (the host's hierarchy, bound
# read-only by vesseld), with its own limits
leader=$(vprop lim1 Leader)
for ctl in memory pids cpuset freezer devices blkio; do
    [ -d /sys/fs/cgroup/$ctl ] && [ ! -L /sys/fs/cgroup/$ctl ] || continue
    assert_eq "$(stat -c %d /sys/fs/cgroup/$ctl)" "$(stat -c %d /proc/"$leader"/root/sys/fs/cgroup/$ctl)" \
        "the container's $ctl hierarchy is the host's"
done
assert_eq $((64 << 20)) "$(cat /proc/"$leader"/root/sys/fs/cgroup/memory/memory.limit_in_bytes)" \
    "the container sees its own memory limit"
assert_eq 50 "$(cat /proc/"$leader"/root/sys/fs/cgroup/pids/pids.max)" "the container sees its own pids.max"
cpuin=/proc/"$leader"/root/sys/fs/cgroup/cpu
[ -d "$cpuin" ] || cpuin=/proc/"$leader"/root/sys/fs/cgroup/cpu,cpuacct
assert_eq 50000 "$(cat "$cpuin/cpu.cfs_quota_us")" "the container sees its own CPU quota"
out=$(nsenter -t "$leader" -m -p -- sh -c 'echo 1 > /sys/fs/cgroup/memory/notify_on_release' 2>&1 || true)
assert_contains "$out" "Read-only file system" "the container's cgroups are read-only on v1"
blk=$(scope_cgroup lim1 blkio)
# systemd converts the weight for the v1 scheduler in use (BFQ's scale differs): the file must at least
# have left its default of 100
for f in blkio.bfq.weight blkio.weight; do
    if [ -e "$blk/$f" ]; then
        v=$(awk '{print $NF}' "$blk/$f" | tail -1)
        [ "$v" != 100 ] || fail "IOWeight did not reach $f ($v)"
        break
    fi
done

# the container's processes sit in all of them, the freezer included
leader=$(vprop lim1 Leader)
for ctl in memory cpu pids cpuset freezer; do
    grep -qx "$leader" "$(scope_cgroup lim1 $ctl)/cgroup.procs" || fail "leader not in the $ctl cgroup"
done
# accounting is on
for p in CPUAccounting MemoryAccounting TasksAccounting IOAccounting; do
    assert_eq yes "$(systemctl show -P $p vessel-lim1.scope)" "$p"
done
assert_eq yes "$(systemctl show -P Delegate vessel-lim1.scope)" "Delegate"
assert_eq machine.slice "$(systemctl show -P Slice vessel-lim1.scope)" "Slice"
# units/machine.slice.d/50-vessel.conf: the slice accounts CPU and IO too, so systemd keeps those
# controllers on between containers
for p in CPUAccounting IOAccounting; do
    assert_eq yes "$(systemctl show -P "$p" machine.slice)" "machine.slice $p (the drop-in)"
done

# properties on the container object
assert_eq $((64 << 20)) "$(vprop lim1 MemoryMax)" "MemoryMax property"
[ "$(vprop lim1 TasksCurrent)" -ge 1 ] || fail "TasksCurrent"
[ "$(vprop lim1 MemoryCurrent)" -gt 0 ] || fail "MemoryCurrent"

# live update, through systemd (runtime): survives daemon-reload
vcall UpdateContainer 'sa(sv)' lim1 4 MemoryMax t $((128 << 20)) TasksMax t 77 CPUQuotaPerSecUSec t 250000 \
    MemoryLow t $((16 << 20)) >/dev/null
assert_eq $((128 << 20)) "$(cat "$mem/memory.limit_in_bytes")" "updated memory limit"
assert_eq 77 "$(cat "$(scope_cgroup lim1 pids)/pids.max")" "updated pids.max"
assert_eq 25000 "$(cat "$cpu/cpu.cfs_quota_us")" "updated quota"
assert_eq $((16 << 20)) "$(cat "$mem/memory.soft_limit_in_bytes")" "updated soft limit"
vcall UpdateContainer 'sa(sv)' lim1 1 AllowedCPUs ay 1 3 >/dev/null
want=$( [ "$(nproc)" -ge 2 ] && echo 0-1 || echo 0)
[ "$(nproc)" -ge 2 ] && assert_eq "$want" "$(cat "$(scope_cgroup lim1 cpuset)/cpuset.cpus")" "updated cpuset"
systemctl daemon-reload
assert_eq $((128 << 20)) "$(cat "$mem/memory.limit_in_bytes")" "memory limit after daemon-reload"
assert_eq 77 "$(cat "$(scope_cgroup lim1 pids)/pids.max")" "pids.max after daemon-reload"
assert_eq $((128 << 20)) "$(vprop lim1 MemoryMax)" "MemoryMax property after update"

# a CPU the host does not have online is refused, naming it, by create and by update
online=$(cat /sys/devices/system/cpu/online)
rc=0; out=$(vesselctl create --cpuset 1023 "$IMAGE" true 2>&1) || rc=$?
assert_eq 1 "$rc" "create with an absent CPU"
assert_eq "vesselctl: Invalid setting AllowedCPUs: CPU 1023 is not online on this host (online: $online)." "$out" \
    "create with an absent CPU: message"
rc=0; out=$(vesselctl update lim1 --cpuset "0,1023" 2>&1) || rc=$?
assert_eq 1 "$rc" "update with an absent CPU"
assert_contains "$out" "CPU 1023 is not online" "update with an absent CPU: message"
[ "$(nproc)" -ge 2 ] && assert_eq 0-1 "$(cat "$(scope_cgroup lim1 cpuset)/cpuset.cpus")" "cpuset unchanged"

# what v1 cannot do, and what update cannot change
out=$(vcall UpdateContainer 'sa(sv)' lim1 1 MemoryHigh t $((64 << 20)) 2>&1 || true)
assert_contains "$out" "MemoryHigh: not supported on this host's legacy (v1) cgroup layout" "MemoryHigh on v1"
out=$(vcall CreateContainer 'ssa(sv)' limx "$IMAGE" 2 Command as 1 true MemorySwapMax t 0 2>&1 || true)
assert_contains "$out" "MemorySwapMax: not supported" "MemorySwapMax on v1"
out=$(vcall UpdateContainer 'sa(sv)' lim1 1 Hostname s foo 2>&1 || true)
assert_contains "$out" "cannot be changed" "Hostname is not live"
out=$(vcall UpdateContainer 'sa(sv)' lim1 1 MemoryMax t 1000 2>&1 || true)
assert_contains "$out" "below the 4M minimum" "tiny MemoryMax"

# v1 cgroups we made are gone with the container
vcall StopContainer s lim1 >/dev/null
[ ! -e "$(scope_cgroup lim1 cpuset)" ] || fail "cpuset cgroup left behind"
[ ! -e "$(scope_cgroup lim1 freezer)" ] || fail "freezer cgroup left behind"

# a slice of one's own
vcall RunContainer 'ssa(sv)' lim1 "$IMAGE" 2 Command as 2 sleep 1000 Slice s vessel-test-pod.slice >/dev/null 2>&1 \
    || { vcall RemoveContainer sb lim1 true >/dev/null; vcall RunContainer 'ssa(sv)' lim1 "$IMAGE" 2 Command as 2 sleep 1000 Slice s vessel-test-pod.slice >/dev/null; }
assert_eq vessel-test-pod.slice "$(systemctl show -P Slice vessel-lim1.scope)" "custom slice"
[ -d /sys/fs/cgroup/freezer/vessel.slice/vessel-test.slice/vessel-test-pod.slice/vessel-lim1.scope ] \
    || fail "freezer cgroup in the nested slice path"
