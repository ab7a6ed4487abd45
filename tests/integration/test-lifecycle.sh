#!/bin/bash
# The life of a container over D-Bus: create, start, wait, stop, kill, remove; names; states;
# signals; errors that name what was wrong; starts while systemd re-executes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

on_exit vcleanup lc1
on_exit vcleanup lc2
on_exit vcleanup lc3
on_exit vcleanup lc4

# create does not start
out=$(vcall CreateContainer 'ssa(sv)' lc1 "$IMAGE" 1 Command as 3 sh -c 'echo out; exit 7')
assert_eq 'o "/io/vessel1/container/lc1"' "$out" "CreateContainer path"
assert_eq created "$(vstate lc1)" "state after create"
assert_eq 0 "$(vprop lc1 Leader)" "no leader before start"
assert_eq '"vessel-lc1.scope"' "\"$(vprop lc1 Unit)\"" "unit name"
id=$(vprop lc1 Id)
[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "Id '$id' is not 32 hex digits"

# a second create of the name fails, and so does a bad name
out=$(vcall CreateContainer 'ssa(sv)' lc1 "$IMAGE" 1 Command as 1 true 2>&1 || true)
assert_contains "$out" "exists already" "duplicate name"
for bad in "-x" "a..b" "x." "$(printf 'a%.0s' {1..64})" "a_b" "a/b"; do
    out=$(vcall CreateContainer 'ssa(sv)' "$bad" "$IMAGE" 1 Command as 1 true 2>&1 || true)
    assert_contains "$out" "Invalid container name" "name '$bad'"
done
out=$(vcall CreateContainer 'ssa(sv)' x "$IMAGE" 1 Bogus s 1 2>&1 || true)
assert_contains "$out" "Unknown setting 'Bogus'" "unknown setting"
out=$(vcall CreateContainer 'ssa(sv)' x "$IMAGE" 1 MemoryMax s 1G 2>&1 || true)
assert_contains "$out" "Invalid setting MemoryMax: expected type 't'" "wrong type"
out=$(vcall CreateContainer 'ssa(sv)' x "$IMAGE" 1 CPUWeight t 0 2>&1 || true)
assert_contains "$out" "Invalid setting CPUWeight: 0 is out of range" "out of range"
out=$(vcall CreateContainer 'ssa(sv)' x dir:/nonexistent 1 Command as 1 true 2>&1 || true)
assert_contains "$out" "/nonexistent" "missing root directory"
assert_fails vcall GetContainer s x

# start, wait: exit status and output in the journal
vcall StartContainer s lc1 >/dev/null
assert_eq "ii 7 0" "$(vcall WaitContainer s lc1)" "exit status"
# vesselctl wait prints it and exits with it, as the shell's wait does
rc=0
out=$(vesselctl wait lc1) || rc=$?
assert_eq "7 7" "$out $rc" "vesselctl wait: output and exit code"
assert_eq exited "$(vstate lc1)" "state after exit"
assert_eq 7 "$(vprop lc1 ExitStatus)" "ExitStatus"
[ "$(vprop lc1 FinishedTimestamp)" -ge "$(vprop lc1 StartedTimestamp)" ] || fail "timestamps out of order"
wait_log lc1 "^out$"
# waiting on an exited container answers at once
assert_eq "ii 7 0" "$(timeout 5 busctl -- call io.vessel1 /io/vessel1 io.vessel1.Manager WaitContainer s lc1)" "wait again"
# an exited container starts again
vcall StartContainer s lc1 >/dev/null
assert_eq "ii 7 0" "$(vcall WaitContainer s lc1)" "second run"

# generated names
out=$(vcall CreateContainer 'ssa(sv)' "" "$IMAGE" 1 Command as 1 true)
gen=$(busctl get-property io.vessel1 "$(echo "$out" | awk '{print $2}' | tr -d '"')" io.vessel1.Container Name \
    | cut -d'"' -f2)
[[ $gen =~ ^[a-z]+-[a-z]+(-[0-9]+)?$ ]] || fail "generated name '$gen'"
vcall RemoveContainer sb "$gen" false >/dev/null

# stop: SIGTERM, and the reply comes when it is down
vrun_sh lc2 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done'
assert_eq running "$(vstate lc2)" "running"
leader=$(vprop lc2 Leader)
[ "$leader" -gt 1 ] && kill -0 "$leader" || fail "leader $leader not alive"
# ps and systemctl status show the leader as vessel-init, not its setup's arguments
assert_eq vessel-init "$(tr -s '\0' ' ' <"/proc/$leader/cmdline" | sed 's/ *$//')" "the leader's command line"
vcall StopContainer s lc2 >/dev/null
assert_eq exited "$(vstate lc2)" "stopped"
kill -0 "$leader" 2>/dev/null && fail "leader still alive after stop"
assert_eq 0 "$(vprop lc2 ExitStatus)" "trap exit status"
[ "$(systemctl is-active vessel-lc2.scope || true)" != active ] || fail "scope still active"
vcall RemoveContainer sb lc2 false >/dev/null

# stop escalates to SIGKILL after StopTimeoutUSec
vcall RunContainer 'ssa(sv)' lc3 "$IMAGE" 2 Command as 3 sh -c 'trap "" TERM; while :; do sleep 0.1; done' \
    StopTimeoutUSec t 500000 >/dev/null
t0=$(date +%s%N)
vcall StopContainer s lc3 >/dev/null
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 400 ] || fail "stop returned before the timeout"
assert_eq 9 "$(vprop lc3 ExitSignal)" "killed by SIGKILL"
vcall RemoveContainer sb lc3 false >/dev/null

# kill: default target is the leader, which forwards to the app
vrun_sh lc3 'trap "exit 42" USR1; while :; do sleep 0.1; done'
vcall KillContainer ssi lc3 leader 10 >/dev/null
assert_eq "ii 42 0" "$(vcall WaitContainer s lc3)" "USR1 forwarded"
vcall RemoveContainer sb lc3 false >/dev/null
vrun_sh lc3 'sleep 1000 & sleep 1000 & wait'
vcall KillContainer ssi lc3 all 9 >/dev/null
out=$(vcall WaitContainer s lc3)
assert_contains "$out" " 9" "kill all with SIGKILL"
out=$(vcall KillContainer ssi lc3 leader 15 2>&1 || true)
assert_contains "$out" "not running" "kill of an exited container"
out=$(vcall KillContainer ssi lc3 nobody 15 2>&1 || true)
assert_contains "$out" "Invalid whom" "kill whom"
vcall RemoveContainer sb lc3 false >/dev/null

# remove: refused while running without force; force stops it first
vrun_sh lc3 'sleep 1000'
out=$(vcall RemoveContainer sb lc3 false 2>&1 || true)
assert_contains "$out" "stop it first" "remove running"
vcall RemoveContainer sb lc3 true >/dev/null
assert_fails vcall GetContainer s lc3
vcall RemoveContainer sb lc1 false >/dev/null
[ -z "$(ls /var/lib/vessel/containers | grep -x "$id" || true)" ] || fail "state dir of lc1 left behind"

# list shows what exists
vrun_sh lc2 'sleep 1000'
out=$(vcall ListContainers)
assert_contains "$out" '"lc2"' "list"
assert_contains "$out" '"running"' "list state"
vcall RemoveContainer sb lc2 true >/dev/null

# vesseld calls systemd on its private socket; while systemd re-executes, it uses the system bus,
# and it goes back once the socket is there again; starts work all along
vrun_sh lc4 'sleep 1000'
systemctl daemon-reexec
for n in lc5 lc6; do
    vcall RunContainer 'ssa(sv)' $n "$IMAGE" 2 Command as 1 true AutoRemove b true >/dev/null
    assert_contains "$(vcall WaitContainer s $n)" "ii 0 0" "$n after daemon-reexec"
done
wait_until 10 sh -c 'journalctl -u vesseld.service -o cat --no-pager | grep -q "Calling systemd on /run/systemd/private again"'
vcall RunContainer 'ssa(sv)' lc7 "$IMAGE" 2 Command as 1 true AutoRemove b true >/dev/null
assert_contains "$(vcall WaitContainer s lc7)" "ii 0 0" "a start once back on systemd's socket"
assert_eq running "$(vstate lc4)" "a container across daemon-reexec"
vcall RemoveContainer sb lc4 true >/dev/null

# signals on the bus: ContainerNew, the state with what changed along with it in one PropertiesChanged
# (running with its start time; exited with its status), ContainerRemoved
mon=$(mktemp)
bus_monitor_start "$mon" "type='signal',sender='io.vessel1'" --json=short
vcall RunContainer 'ssa(sv)' lc8 "$IMAGE" 2 Command as 3 sh -c 'exit 3' AutoRemove b true >/dev/null
assert_contains "$(vcall WaitContainer s lc8)" "ii 3 0" "lc8's status"
wait_until 10 sh -c "grep -q ContainerRemoved '$mon'"
bus_monitor_stop
sig() { jq -c "select(.path == \"/io/vessel1/container/lc8\" or .payload.data[0] == \"lc8\") | $1" "$mon"; }
assert_eq '"lc8"' "$(sig 'select(.member == "ContainerNew") | .payload.data[0]')" "ContainerNew"
assert_eq '"lc8"' "$(sig 'select(.member == "ContainerRemoved") | .payload.data[0]')" "ContainerRemoved"
running=$(sig 'select(.member == "PropertiesChanged") | .payload.data[1] | select(.State.data == "running")')
assert_contains "$running" '"StartedTimestamp"' "running and its start time in one signal"
exited=$(sig 'select(.member == "PropertiesChanged") | .payload.data[1] | select(.State.data == "exited")')
assert_contains "$exited" '"ExitStatus":{"type":"i","data":3}' "exited and its status in one signal"
assert_contains "$exited" '"FinishedTimestamp"' "exited and its finish time in one signal"

# restart: stop, then start again; a new leader; an exited or created container just starts;
# a name that is not there fails without touching the others
on_exit vcleanup lc9
on_exit vcleanup lc10
vrun_sh lc9 'sleep 1000'
leader=$(vprop lc9 Leader)
vcall CreateContainer 'ssa(sv)' lc10 "$IMAGE" 1 Command as 2 sleep 1000 >/dev/null
vesselctl restart -t 2 lc9 lc10
assert_eq running "$(vstate lc9)" "running after restart"
assert_eq running "$(vstate lc10)" "a created container restarted: running"
[ "$(vprop lc9 Leader)" != "$leader" ] || fail "restart kept the leader $leader"
assert_eq 2000000 "$(vprop lc9 StopTimeoutUSec)" "restart -t is the stop timeout"
vcall KillContainer 'ssi' lc9 all 9 >/dev/null
wait_until 10 sh -c '[ "$(vesselctl show -p State --value lc9)" = exited ]'
rc=0; err=$(vesselctl restart no-such lc9 2>&1) || rc=$?
assert_eq 1 "$rc" "restart of a missing name"
assert_contains "$err" "No container named 'no-such'" "restart of a missing name: message"
assert_eq running "$(vstate lc9)" "an exited container restarted: running"
# several names, one missing: each in its turn, the error after what came before it, also in a pipe
out=$(vesselctl status lc9 no-such 2>&1 || true)
assert_eq "vesselctl: No container named 'no-such'." "$(tail -n 1 <<<"$out")" "the error comes last"
assert_contains "$(head -n 1 <<<"$out")" "lc9" "lc9's status first"
# status lists the scope's processes, as systemctl status does
out=$(vesselctl status lc9)
assert_contains "$out" "       CGroup: /machine.slice/vessel-lc9.scope" "status: the cgroup"
assert_contains "$out" "├─$(vprop lc9 Leader) vessel-init" "status: the leader first"
assert_contains "$out" "└─" "status: a tree"
grep -q "─[0-9]* sleep 1000$" <<<"$out" || fail "status: the app's command line: $out"
