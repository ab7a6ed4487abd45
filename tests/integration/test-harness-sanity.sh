#!/bin/bash
# The test box itself: systemd is PID 1, dbus-daemon and journald answer,
# transient units work, /var/lib/vessel is a real writable filesystem, and
# the helpers of lib.sh behave.
. "$(dirname "$0")/lib.sh"

assert_eq systemd "$(cat /proc/1/comm)" "PID 1"
if [ "${VESSEL_TEST_HOST:-}" != v2vm ]; then
    # the v1 box (tests/harness/vbox); the v2 host is a VM
    assert_contains "$(tr '\0' '\n' </proc/1/environ)" container=vesselbox "PID 1 environment"
    assert_eq container-other "$(systemd-detect-virt --container || true)" "systemd-detect-virt"
fi
state=$(systemctl is-system-running || true)
case $state in
running | degraded) ;;
*) fail "systemd is '$state'" ;;
esac

# the system bus, its own name and that of systemd
busctl --timeout=5 status org.freedesktop.DBus >/dev/null
assert_contains "$(busctl --timeout=5 list --no-legend)" org.freedesktop.systemd1 "busctl list"
assert_eq "s \"running\"" "$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager SystemState 2>/dev/null | sed 's/degraded/running/')" "SystemState over D-Bus"

# journald keeps what a unit logs
marker=vbox-sanity-$$-$RANDOM
systemd-run --wait --quiet --unit="sanity-$$" -- echo "$marker"
wait_until 10 sh -c "journalctl -q -u sanity-$$ --no-pager | grep -q $marker"

# transient scopes from here (vessel's whole model) and a delegated one
systemd-run --scope --quiet --collect -p Delegate=yes -- sh -c 'grep -qE "(name=systemd|^0:):/.*\.scope$" /proc/self/cgroup'

# vessel's state dir: writable, and not an overlay (it is used as upper)
assert_fails [ "$(findmnt -n -o FSTYPE -T /var/lib/vessel)" = overlay ]
f=$(mktemp /var/lib/vessel/sanity.XXXXXX)
on_exit rm -f "$f"
echo data >"$f"
assert_eq data "$(cat "$f")" "/var/lib/vessel round trip"
assert_eq tmpfs "$(findmnt -n -o FSTYPE -T /tmp)" "/tmp"

# the source tree is here, at the same path
[ -f "$VESSEL_SRC/tests/integration/lib.sh" ] || fail "no source tree at $VESSEL_SRC"

# lib.sh itself
assert_eq 65534 "$(as_user id -u)" "as_user uid"
assert_eq "" "$(as_user id -G | tr -d '65534 ')" "as_user has no extra groups"
assert_fails as_user touch /var/lib/vessel/x
assert_fails false
out=$(bash -c ". '$VESSEL_SRC/tests/integration/lib.sh'; skip no frobnicator" || echo "rc=$?")
assert_contains "$out" "skip: no frobnicator" "skip message"
assert_contains "$out" "rc=77" "skip status"
out=$(bash -c ". '$VESSEL_SRC/tests/integration/lib.sh'; on_exit echo one; on_exit echo two; false" 2>&1 || echo "rc=$?")
assert_eq "$(printf 'two\none\nrc=1')" "$(echo "$out" | grep -v '^error:')" "on_exit order and status"
out=$(bash -c ". '$VESSEL_SRC/tests/integration/lib.sh'; wait_until 0.2 false" 2>&1 || echo "rc=$?")
assert_contains "$out" "timed out after 0.2s" "wait_until timeout"
t0=${EPOCHREALTIME/[.,]/}
wait_until 5 test -e /proc/1
((${EPOCHREALTIME/[.,]/} - t0 < 1000000)) || fail "wait_until was slow on a true condition"
