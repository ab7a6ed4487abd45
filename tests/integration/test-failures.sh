#!/bin/bash
# Setup failures reach the caller with their reason; the container ends in a defined state; no scope,
# process or mount is left behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

for n in f1 f2 f3 f4 f5 f6 f7 f8; do on_exit vcleanup $n; done

scopes_before=$(systemctl list-units --no-legend --all 'vessel-*.scope' | wc -l)

# a command that does not exist: the error says so, the container exited 127 like a shell's
out=$(vcall RunContainer 'ssa(sv)' f1 "$IMAGE" 1 Command as 1 /no/such/binary 2>&1 || true)
assert_contains "$out" "Failed to execute /no/such/binary: No such file or directory" "missing binary"
wait_until 10 sh -c '[ "$(busctl get-property io.vessel1 /io/vessel1/container/f1 io.vessel1.Container State)" = "s \"exited\"" ]'
assert_eq 127 "$(vprop f1 ExitStatus)" "exit status of a missing binary"

# not executable: 126
out=$(vcall RunContainer 'ssa(sv)' f2 "$IMAGE" 1 Command as 1 /bin/noexec 2>&1 || true)
assert_contains "$out" "Permission denied" "not executable"
wait_until 10 sh -c '[ "$(busctl get-property io.vessel1 /io/vessel1/container/f2 io.vessel1.Container ExitStatus)" = "i 126" ]'

# vesselctl run says why and exits as a shell would: 127, 126; 125 where the setup failed before
for case in "127 f6 /no/such/binary" "126 f7 /bin/noexec" "125 f8 --workdir=/nowhere true"; do
        set -- $case
        want=$1 name=$2
        shift 2
        args=()
        [ "$1" = --workdir=/nowhere ] && { args=("$1"); shift; }
        rc=0
        out=$(vesselctl run --rm --network=none --name "$name" "${args[@]}" "$IMAGE" "$@" 2>&1) || rc=$?
        assert_eq "$want" "$rc" "vesselctl run's exit code: $*"
        assert_contains "$out" "failed to start" "vesselctl run's message: $*"
        wait_until 10 sh -c "! busctl get-property io.vessel1 /io/vessel1/container/$name io.vessel1.Container State >/dev/null 2>&1"
done
# an error before the container exists is 125 too, and waits for nothing
rc=0
vesselctl run --rm --name f1 "$IMAGE" true >/dev/null 2>&1 || rc=$?
assert_eq 125 "$rc" "vesselctl run with a name that is taken"

# a working directory that is not there
out=$(vcall RunContainer 'ssa(sv)' f3 "$IMAGE" 2 Command as 1 true WorkingDirectory s /nowhere 2>&1 || true)
assert_contains "$out" "Failed to change to working directory /nowhere" "bad working directory"

# a user the image does not know
out=$(vcall RunContainer 'ssa(sv)' f4 "$IMAGE" 2 Command as 1 true User s ghost 2>&1 || true)
assert_contains "$out" "Failed to resolve user 'ghost'" "unknown user"

# systemd refuses the scope (its name is taken by a running unit): systemd's reason, nothing left
systemd-run --scope --unit=vessel-f5 --quiet sleep 1000 &
sr=$!
on_exit sh -c "kill $sr 2>/dev/null || true"
wait_until 10 systemctl is-active -q vessel-f5.scope
out=$(vcall RunContainer 'ssa(sv)' f5 "$IMAGE" 1 Command as 2 sleep 1000 2>&1 || true)
assert_contains "$out" "systemd could not start vessel-f5.scope" "scope refused"
assert_contains "$out" "already" "systemd's reason"
wait_until 10 sh -c '[ "$(busctl get-property io.vessel1 /io/vessel1/container/f5 io.vessel1.Container State)" = "s \"created\"" ]'
assert_eq 0 "$(vprop f5 Leader)" "no leader after a refused scope"
kill $sr
wait $sr 2>/dev/null || true
wait_until 10 sh -c '! systemctl is-active -q vessel-f5.scope'
# now it can start
vcall StartContainer s f5 >/dev/null
assert_eq running "$(vstate f5)" "starts once the name is free"
vcall RemoveContainer sb f5 true >/dev/null

# nothing left: no scopes, no processes in the box's namespaces that belong to the failures
for n in f1 f2 f3 f4; do vcall RemoveContainer sb $n true >/dev/null 2>&1 || true; done
wait_until 10 sh -c "[ \$(systemctl list-units --no-legend --all 'vessel-*.scope' | wc -l) -le $scopes_before ]"
! pgrep -f /no/such/binary >/dev/null || fail "a process of a failed container is left"
! grep -q "/run/vessel/containers" /proc/self/mountinfo || fail "a container mount leaked into the host namespace"
# vesseld survived all of it
vcall ListContainers >/dev/null
