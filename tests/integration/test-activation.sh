#!/bin/bash
# vesseld is started on demand by the bus and by its socket, answers both, refuses unprivileged
# callers what the policy reserves for root (and checks itself too), and stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

systemctl stop vesseld.service
assert_eq inactive "$(systemctl is-active vesseld.service || true)" "vesseld stopped before the test"

# bus activation
out=$(busctl call io.vessel1 /io/vessel1 io.vessel1.Manager ListContainers)
assert_contains "$out" "a(ssssuo)" "ListContainers over the bus"
assert_eq active "$(systemctl is-active vesseld.service)" "bus-activated"

# socket activation, through the private endpoint, with stock busctl (it says Hello)
systemctl stop vesseld.service
out=$(busctl --address=unix:path=/run/vessel/io.vessel1 call io.vessel1 /io/vessel1 io.vessel1.Manager ListContainers)
assert_contains "$out" "a(ssssuo)" "ListContainers over the private socket"
assert_eq active "$(systemctl is-active vesseld.service)" "socket-activated"

# the same objects on both: introspection and the ObjectManager
busctl introspect io.vessel1 /io/vessel1 | grep -q ListContainers || fail "introspection lacks ListContainers"
busctl call io.vessel1 /io/vessel1 org.freedesktop.DBus.ObjectManager GetManagedObjects >/dev/null
busctl --address=unix:path=/run/vessel/io.vessel1 introspect io.vessel1 /io/vessel1 | grep -q CreateContainer \
    || fail "private introspection lacks CreateContainer"

# the private endpoint takes match rules (and has none to keep: every signal goes to every
# connection), so bus clients that subscribe work there unchanged
busctl --address=unix:path=/run/vessel/io.vessel1 call org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus AddMatch s "type='signal',sender='io.vessel1'" >/dev/null || fail "AddMatch on the private socket"
busctl --address=unix:path=/run/vessel/io.vessel1 call org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus RemoveMatch s "type='signal',sender='io.vessel1'" >/dev/null || fail "RemoveMatch on the private socket"

# vesselctl, root and not: root talks to the private socket (what its connection's peer is bound to) ...
vesselctl list >/dev/null
vcall RunContainer 'ssa(sv)' act1 "$IMAGE" 2 Command as 2 sleep 1000 Network s none >/dev/null
on_exit vcleanup act1
vesselctl wait act1 >/dev/null &
waiter=$!
wait_until 5 sh -c 'ss -xp | grep -q "\"vesselctl\""'
peer=$(ss -xp | awk '/"vesselctl"/ { print $8 }')
assert_eq /run/vessel/io.vessel1 "$(ss -x | awk -v p="$peer" '$6 == p { print $5 }')" "vesselctl as root on the private socket"
kill "$waiter"
vcall RemoveContainer sb act1 true >/dev/null
# ... and through the bus where that socket is not there
systemctl stop vesseld.socket vesseld.service
[ ! -e /run/vessel/io.vessel1 ] || fail "the private socket outlived vesseld.socket"
assert_contains "$(vesselctl list 2>&1)" "NAME" "vesselctl as root without the private socket (bus activation)"
assert_eq active "$(systemctl is-active vesseld.service)" "bus-activated by vesselctl"
systemctl stop vesseld.service
systemctl start vesseld.socket
as_user vesselctl list >/dev/null || fail "vesselctl list as nobody"
assert_contains "$(vesselctl list --json)" "[" "vesselctl list --json"
as_user env VESSEL_ADDRESS=unix:path=/run/vessel/io.vessel1 vesselctl list >/dev/null \
    || fail "vesselctl list as nobody over the private socket"

# an unprivileged caller: the policy refuses on the bus ...
out=$(as_user busctl call io.vessel1 /io/vessel1 io.vessel1.Manager CreateContainer 'ssa(sv)' x dir:/srv 0 2>&1 || true)
assert_contains "$out" "Access denied" "unprivileged CreateContainer on the bus"
# (vesselctl says so in a line, not with the daemon's rule match)
rc=0
out=$(as_user vesselctl create dir:/srv true 2>&1) || rc=$?
assert_eq "vesselctl: Failed to create container: access denied: the system bus lets only root do this." "$out" \
    "vesselctl refused by the bus"
assert_eq 1 "$rc" "vesselctl's exit code when refused"
# ... and vesseld itself on the private socket, where no policy applies (busctl shortens every
# AccessDenied message to "Access denied"; vesselctl prints the daemon's)
out=$(as_user busctl --address=unix:path=/run/vessel/io.vessel1 call io.vessel1 /io/vessel1 io.vessel1.Manager \
    CreateContainer 'ssa(sv)' x dir:/srv 0 2>&1 || true)
assert_contains "$out" "Access denied" "unprivileged CreateContainer on the private socket"
out=$(as_user env VESSEL_ADDRESS=unix:path=/run/vessel/io.vessel1 vesselctl create dir:/srv true 2>&1 || true)
assert_contains "$out" "CreateContainer() is reserved for root (caller uid 65534)" "vesseld's own check"
out=$(as_user busctl --address=unix:path=/run/vessel/io.vessel1 call io.vessel1 /io/vessel1 io.vessel1.Manager \
    RemoveContainer sb x true 2>&1 || true)
assert_contains "$out" "No container named" "a lookup comes before the privilege check only for reads"

# SIGTERM: a clean exit (not a failure), and the next call brings it back
pid=$(systemctl show -P MainPID vesseld.service)
kill -TERM "$pid"
wait_until 10 sh -c '[ "$(systemctl is-active vesseld.service)" != active ]'
assert_eq success "$(systemctl show -P Result vesseld.service)" "vesseld exit result"
busctl call io.vessel1 /io/vessel1 io.vessel1.Manager ListContainers >/dev/null
assert_eq active "$(systemctl is-active vesseld.service)" "re-activated"
