#!/bin/bash
# The sandbox holds: an escape probe runs inside a container as root and tries what a hostile process
# would; every attempt fails. Plus the capability sets, NoNewPrivs and seccomp in /proc/self/status,
# the provided /etc files, a read-only root, BindPaths that cannot be redirected out of the root, and
# a /proc that cannot be mounted over a symlink.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

probe=${VESSEL_TEST_BUILD:-$VESSEL_SRC/build}/tests/probe/vessel-probe
[ -x "$probe" ] || fail "no probe binary at $probe"
for n in sb1 sb2 sb3 sb4 sb5; do on_exit vcleanup $n; done

box_hostname=$(hostname)
vcall ListContainers >/dev/null # vesseld up, so that its pid is a real host pid to aim at
run_probe() { # NAME EXTRA-SETTINGS-COUNT SETTINGS...
    local name=$1 n=$2
    shift 2
    vcall RunContainer 'ssa(sv)' "$name" "$IMAGE" $((2 + n)) Command as 2 /probe "$(vesseld_pid)" \
        BindPaths 'a(ssb)' 1 "$probe" /probe true "$@" >/dev/null
    vcall WaitContainer s "$name" >/dev/null
}

run_probe sb1 0
wait_log sb1 '^fds '
out=$(vlogs sb1)
# the root of the container's cgroup namespace is its own leaf: delegated (writable) on v2, read-only on v1
cgroup_root_probe=write-cgroup-root-procs
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && cgroup_root_probe=
echo "$out"
for p in mount-tmpfs remount-root-rw umount-proc write-sysrq-trigger write-core-pattern write-release-agent \
    write-notify-on-release $cgroup_root_probe init-module finit-module add-key keyctl \
    bpf perf-event-open open-by-handle-at unshare-user unshare-mount kill-host-pid sethostname reboot-cad-off \
    clock-settime swapoff acct; do
    line=$(echo "$out" | grep "^$p " || true)
    [ -n "$line" ] || fail "probe $p did not report"
    assert_contains "$line" BLOCKED "probe $p"
done
# mknod of a block device is refused by the device cgroup, or, where it is made, it cannot be opened
echo "$out" | grep -qE '^(mknod-block|open-block-device) BLOCKED' || fail "a block device was usable"
! echo "$out" | grep -q '^open-block-device ALLOWED' || fail "a block device was opened"
# masked: empty, or absent where this kernel has no such file
k=$(echo "$out" | grep ^read-kcore | cut -d' ' -f2)
[ "$k" -le 0 ] || fail "/proc/kcore readable ($k bytes)"
assert_eq "read-keys 0" "$(echo "$out" | grep ^read-keys)" "/proc/keys masked"
assert_eq "read-timer-list 0" "$(echo "$out" | grep ^read-timer-list)" "/proc/timer_list masked"
assert_contains "$(echo "$out" | grep ^list-sys-firmware)" " 0" "/sys/firmware masked"
# its own processes only: vessel-init and the probe (+ /proc/self, thread-self and friends are not numbers)
n=$(echo "$out" | grep ^processes | cut -d' ' -f2)
[ "$n" -lt 70 ] || fail "the container sees $n /proc entries"
# no fd of vesseld: 0, 1, 2 and the one reading the directory
assert_eq "fds 4" "$(echo "$out" | grep ^fds)" "open fds"
assert_eq "$box_hostname" "$(hostname)" "host name unchanged"

# /proc/self/status: the bounding, permitted and effective sets are Docker's default; none inheritable
# or ambient; no_new_privs; seccomp in filter mode
vcall RunContainer 'ssa(sv)' sb2 "$IMAGE" 1 Command as 3 sh -c \
    'grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status; cat /etc/hostname; cat /etc/hosts; ulimit -n' >/dev/null
vcall WaitContainer s sb2 >/dev/null
wait_log sb2 '^Seccomp:'
out=$(vlogs sb2)
assert_contains "$out" $'CapInh:\t0000000000000000' "no inheritable caps"
assert_contains "$out" $'CapAmb:\t0000000000000000' "no ambient caps"
for s in CapPrm CapEff CapBnd; do
    assert_contains "$out" "$s:	00000000a80425fb" "$s is Docker's default set"
done
assert_contains "$out" $'NoNewPrivs:\t1' "no_new_privs"
assert_contains "$out" $'Seccomp:\t2' "seccomp filter"
# bridge (the default): its address; none/host: 127.0.1.1
echo "$out" | grep -Eq $'^[0-9.]+\tsb2$' || fail "/etc/hosts names the container"
echo "$out" | grep -qx sb2 || fail "/etc/hostname"
# nofile: Docker's 1048576, unless vesseld may not raise limits (no CAP_SYS_RESOURCE, as on some CI
# machines): then what it has
capeff=$(awk '/^CapEff/ {print $2}' /proc/"$(vesseld_pid)"/status)
if (( (0x$capeff >> 24) & 1 )); then want=1048576; else want=$(awk '/open files/ {print $5}' /proc/"$(vesseld_pid)"/limits); fi
echo "$out" | grep -qx "$want" || fail "nofile rlimit is not $want"
# the image's /etc was not written: the files are mounts
[ ! -e "$ROOTFS/etc/hostname" ] || fail "/etc/hostname written into the image"

# an explicit capability set, and unconfined seccomp
vcall RunContainer 'ssa(sv)' sb3 "$IMAGE" 3 Command as 3 sh -c 'grep -E "^(CapEff|Seccomp:)" /proc/self/status' \
    Capabilities as 1 CAP_CHOWN Seccomp s unconfined >/dev/null
vcall WaitContainer s sb3 >/dev/null
wait_log sb3 '^Seccomp:'
out=$(vlogs sb3)
assert_contains "$out" $'CapEff:\t0000000000000001' "only CAP_CHOWN"
assert_contains "$out" $'Seccomp:\t0' "unconfined"

# a non-root user from the image's passwd, with its supplementary groups, and no capabilities
vcall RunContainer 'ssa(sv)' sb4 "$IMAGE" 2 Command as 3 sh -c 'id; grep ^CapEff /proc/self/status; echo home=$HOME' \
    User s user >/dev/null
vcall WaitContainer s sb4 >/dev/null
wait_log sb4 '^home='
out=$(vlogs sb4)
assert_contains "$out" "uid=1000(user) gid=1000(user) groups=1000(user),2000(extra)" "user and groups"
assert_contains "$out" $'CapEff:\t0000000000000000' "no caps for a user"
assert_contains "$out" "home=/home/user" "HOME from passwd"
vcleanup sb4

# a read-only root; a BindPaths destination that is a symlink pointing out of the root stays inside it
hostile=/srv/vessel-fixtures/hostile
rm -rf "$hostile"
cp -a "$ROOTFS" "$hostile"
on_exit rm -rf "$hostile" /srv/vessel-fixtures/bindsrc
ln -s /etc "$hostile/escape"              # "/escape/x" would be the host's /etc/x if followed naively
mkdir -p /srv/vessel-fixtures/bindsrc && echo secret >/srv/vessel-fixtures/bindsrc/file
vcall RunContainer 'ssa(sv)' sb4 "dir:$hostile" 3 Command as 3 sh -c \
    'touch /x 2>&1; cat /escape/bound/file; ls /proc/self >/dev/null && echo proc-ok' \
    ReadOnly b true BindPaths 'a(ssb)' 1 /srv/vessel-fixtures/bindsrc /escape/bound true >/dev/null
vcall WaitContainer s sb4 >/dev/null
wait_log sb4 'proc-ok'
out=$(vlogs sb4)
assert_contains "$out" "Read-only file system" "read-only root"
assert_contains "$out" "secret" "bind reached through the in-root symlink"
[ ! -e /etc/bound ] || fail "the bind escaped to the host's /etc"
[ -d "/var/lib/vessel/containers/$(vprop sb4 Id)/upper/etc/bound" ] \
    || fail "the bind destination was not created inside the root (in the container's own layer)"
[ ! -e "$hostile/etc/bound" ] || fail "the image directory was written"
vcleanup sb4

# a bind onto /proc or into it would cover the container's procfs and its masks: refused, naming it
for dst in /proc /proc/sys /proc/kcore; do
    out=$(vcall CreateContainer 'ssa(sv)' sb5 "$IMAGE" 2 Command as 1 true \
        BindPaths 'a(ssb)' 1 /srv/vessel-fixtures/bindsrc "$dst" false 2>&1 || true)
    assert_contains "$out" "Invalid setting BindPaths: destination '$dst' is in /proc" "bind onto $dst"
done
assert_fails vcall GetContainer s sb5
vcall CreateContainer 'ssa(sv)' sb5 "$IMAGE" 2 Command as 1 true \
    BindPaths 'a(ssb)' 1 /srv/vessel-fixtures/bindsrc /procs false >/dev/null # only /proc itself
vcleanup sb5

# /proc over a symlink: refused, with the reason
rm -rf "$hostile/proc" && ln -s /etc "$hostile/proc"
out=$(vcall RunContainer 'ssa(sv)' sb4 "dir:$hostile" 1 Command as 1 true 2>&1 || true)
assert_contains "$out" "Refusing to mount /proc: it is a symlink" "/proc over a symlink"
# a setup that fails this early may die before systemd moves it into the scope; a scope whose cgroup
# was never populated is never reported empty, so vesseld stops it: the name is free again
wait_until 10 sh -c '! systemctl is-active -q vessel-sb4.scope'

# a mknod'ed block device is unusable even for root (DevicePolicy=closed), checked on the unit too
vrun_sh sb5 'sleep 1000'
assert_eq closed "$(systemctl show -P DevicePolicy vessel-sb5.scope)" "DevicePolicy"
if [ -e "$(scope_cgroup sb5 devices)/devices.list" ]; then
    # the ptys stay usable: systemd's closed policy allows char-pts itself (we send no DeviceAllow)
    assert_contains "$(cat "$(scope_cgroup sb5 devices)/devices.list")" "c 136:* rw" "ptys allowed"
    # read or write access to a block device: none (0:0 is systemd's "inaccessible" node, no device)
    ! grep -vE '^b 0:0 ' "$(scope_cgroup sb5 devices)/devices.list" | grep -qE '^b .* [a-z]*[rw]' \
        || fail "a block device is readable or writable"
fi
