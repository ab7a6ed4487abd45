#!/bin/bash
# vesselctl stats: memory, pids and limits against the scope's cgroup files, CPU % of a busy and an
# idle container, the table once and streaming (redrawn on a terminal), JSON; vesselctl pause and
# unpause/resume: State, a counter that stops and goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

T=$(mktemp -d /run/test-stats.XXXXXX)
on_exit rm -rf "$T"
xcleanup() { # bounded: a container stuck by vesseld's exec race must not hang us (see test-exec.sh)
    timeout 20 busctl --timeout=15 call io.vessel1 /io/vessel1 io.vessel1.Manager RemoveContainer sb "$1" true \
        >/dev/null 2>&1 || true
}
for n in st1 st2 st3 pz2; do xcleanup $n; on_exit xcleanup $n; done

v2=
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && v2=1
cg() { # NAME CONTROLLER FILE(v1) FILE(v2)
    if [ -n "$v2" ]; then cat "/sys/fs/cgroup/machine.slice/vessel-$1.scope/$4"; else cat "$(scope_cgroup "$1" "$2")/$3"; fi
}
# JSON without jq (the v2 guest has none): vesselctl's compact output, one object per line
jobjs() { sed 's/^\[//; s/\]$//; s/},{/}\n{/g'; }                 # an array → its objects
jobj() { jobjs | grep -F "\"name\":\"$1\","; }                  # NAME: that one's object
jget() { sed -n 's/.*"'"$1"'":\("[^"]*"\|[^,}]*\).*/\1/p' | tr -d '"'; } # KEY of a flat object
within() { # A B PERCENT SLACK: |A-B| <= B*PERCENT/100 + SLACK
    local d=$(($1 - $2))
    [ "${d#-}" -le $(($2 * $3 / 100 + $4)) ]
}

# st1 holds ~20 MiB in a shell variable (the echo after sleep keeps sh from exec'ing sleep and
# dropping it), under a 64 MiB limit and 50 pids; st2 spins; st3 exits
vesselctl run -d --network none --name st1 --memory 64m --pids-limit 50 "$IMAGE" \
    sh -c 'x=$(head -c 20000000 /dev/zero | tr "\0" a); touch /ready; sleep 1000; echo ${#x}' >/dev/null
vesselctl run -d --network none --name st2 "$IMAGE" sh -c 'while :; do :; done' >/dev/null
vesselctl run -d --network none --name st3 "$IMAGE" true >/dev/null
vesselctl wait st3 >/dev/null
wait_until 20 test -e "/proc/$(vprop st1 Leader)/root/ready"

# ---- against the cgroup files -------------------------------------------------------------------

j=$(vesselctl stats --json st1)
assert_eq 1 "$(jobjs <<<"$j" | wc -l)" "stats --json st1: one object"
j=$(jobj st1 <<<"$j")
mem=$(jget memory_usage <<<"$j")
cgmem=$(cg st1 memory memory.usage_in_bytes memory.current)
within "$mem" "$cgmem" 10 $((1 << 20)) || fail "memory_usage $mem, the cgroup says $cgmem"
[ "$mem" -gt $((15 << 20)) ] || fail "memory_usage $mem: the 20 MB the container holds are not in it"
assert_eq $((64 << 20)) "$(jget memory_limit <<<"$j")" "memory_limit"
assert_eq $((64 << 20)) "$(jget memory_max <<<"$j")" "memory_max"
pct=$(jget memory_percent <<<"$j")
awk -v p="$pct" -v m="$mem" 'BEGIN { e = m * 100 / (64 * 1048576); exit !(p > e - 0.02 && p < e + 0.02) }' ||
    fail "memory_percent $pct for $mem of 64 MiB"
assert_eq "$(cg st1 pids pids.current pids.current)" "$(jget pids <<<"$j")" "pids"
assert_eq 50 "$(jget pids_limit <<<"$j")" "pids_limit"
assert_eq "$(vprop st1 Id)" "$(jget id <<<"$j")" "id"

# no limit: the host's memory
total=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024))
j2=$(vesselctl stats --json st2 | jobj st2)
assert_eq "$total" "$(jget memory_limit <<<"$j2")" "memory_limit without a limit"
assert_eq null "$(jget memory_max <<<"$j2")" "memory_max without a limit"

# CPU %: from CPUUsageNSec over wall time, when vesseld knows it (here on v1 it reads
# cpuacct.usage of the scope, which exists only where systemd put the scope in a cpuacct cgroup)
if [ "$(vprop st2 CPUUsageNSec)" != 18446744073709551615 ]; then
    j=$(vesselctl stats --json st1 st2)
    busy=$(jobj st2 <<<"$j" | jget cpu_percent)
    idle=$(jobj st1 <<<"$j" | jget cpu_percent)
    awk -v b="$busy" -v i="$idle" 'BEGIN { exit !(b > 50 && b < 150 * 64 && i < 10) }' ||
        fail "CPU %: busy $busy, idle $idle"
else
    echo "note: CPUUsageNSec is unknown here (no cpuacct cgroup for the scope): CPU % shows as -"
    j=$(vesselctl stats --json st2)
    assert_eq null "$(jget cpu_percent <<<"$j")" "unknown CPU % in JSON"
    assert_contains "$(vesselctl stats --no-stream st2 | tail -n 1)" "st2  -" "unknown CPU % in the table"
fi

# ---- the table ----------------------------------------------------------------------------------

out=$(vesselctl stats --no-stream st1)
assert_eq "NAME CPU %" "$(head -n 1 <<<"$out" | cut -c1-10)" "table header"
assert_contains "$(head -n 1 <<<"$out")" "MEM USAGE / LIMIT MEM %  PIDS BLOCK I/O" "table header"
row=$(tail -n 1 <<<"$out")
[[ $row =~ ^st1\ .*\ [0-9.]+MiB\ /\ 64MiB\ +[0-9.]+%\ +[0-9]+\  ]] || fail "table row: '$row'"

# all running containers without NAME, not the exited one; -a adds it
out=$(vesselctl stats --no-stream)
assert_contains "$out" $'\nst1 ' "all: st1"
assert_contains "$out" $'\nst2 ' "all: st2"
case $out in *$'\nst3 '*) fail "an exited container in stats: $out" ;; esac
assert_contains "$(vesselctl stats --no-stream -a)" $'\nst3 ' "-a: st3"
# an exited container by name: a row of what is not known
assert_contains "$(vesselctl stats --no-stream st3)" "st3  -" "exited container"

# streaming: a table every second, one after another on a pipe; redrawn on a terminal
vesselctl stats st1 >"$T/stream" 2>&1 &
streamer=$!
sleep 2.8
kill "$streamer"
# bounded: a stats that does not end on SIGTERM is a failure, not a hung suite
wait_until 10 sh -c "! kill -0 $streamer 2>/dev/null" || { kill -9 "$streamer"; fail "stats did not end on SIGTERM"; }
rc=0; wait "$streamer" || rc=$?
assert_eq 0 "$rc" "stats ends cleanly when interrupted"
n=$(grep -c '^NAME ' "$T/stream")
[ "$n" -ge 2 ] && [ "$n" -le 4 ] || fail "$n tables in 2.8 s: $(cat "$T/stream")"
grep -q $'\e' "$T/stream" && fail "escape sequences on a pipe"
timeout -k 5 20 script -qec "timeout -k 3 -s INT 2.8 vesselctl stats st1" /dev/null >"$T/tty" 2>&1 || true
n=$(grep -o $'\e\\[2J' "$T/tty" | wc -l)
[ "$n" -ge 2 ] || fail "$n redraws on a terminal: $(cat -v "$T/tty")"

# errors
rc=0; vesselctl stats --no-stream nosuch 2>"$T/err" || rc=$?
assert_eq 1 "$rc" "unknown container"
assert_contains "$(cat "$T/err")" "No container named 'nosuch'" "unknown container message"

# ---- pause, unpause, resume ---------------------------------------------------------------------

vesselctl run -d --network none --name pz2 "$IMAGE" \
    sh -c 'i=0; while :; do i=$((i+1)); echo $i >/counter.t; mv /counter.t /counter; sleep 0.05; done' >/dev/null
root=/proc/$(vprop pz2 Leader)/root
wait_until 5 test -s "$root/counter"

vesselctl pause pz2 st2
assert_eq paused "$(vstate pz2)" "paused"
assert_eq paused "$(vstate st2)" "paused too"
assert_contains "$(vesselctl list)" "paused" "list shows paused"
if [ -n "$v2" ]; then
    assert_eq 1 "$(cat /sys/fs/cgroup/machine.slice/vessel-pz2.scope/cgroup.freeze)" "cgroup.freeze"
else
    assert_eq FROZEN "$(cat "$(scope_cgroup pz2 freezer)/freezer.state")" "freezer.state"
fi
a=$(cat "$root/counter")
sleep 0.5
assert_eq "$a" "$(cat "$root/counter")" "no progress while paused"
# stats of a paused container: still there, nothing runs
j=$(vesselctl stats --json pz2)
assert_eq "$(cg pz2 pids pids.current pids.current)" "$(jget pids <<<"$j")" "pids while paused"
if [ "$(jget cpu_percent <<<"$j")" != null ]; then
    awk -v c="$(jget cpu_percent <<<"$j")" 'BEGIN { exit !(c < 1) }' || fail "CPU % while paused: $j"
fi
# exec is refused while paused
rc=0; vesselctl exec pz2 true 2>"$T/err" || rc=$?
assert_eq 125 "$rc" "exec while paused"

vesselctl unpause pz2
assert_eq running "$(vstate pz2)" "unpaused"
wait_until 5 sh -c "[ \$(cat $root/counter) -gt $a ]"
vesselctl resume st2
assert_eq running "$(vstate st2)" "resume is unpause"

# errors: unknown names and containers that do not run; the others are still done
rc=0; vesselctl pause nosuch pz2 2>"$T/err" || rc=$?
assert_eq 1 "$rc" "pause of an unknown container"
assert_contains "$(cat "$T/err")" "nosuch" "pause error names it"
assert_eq paused "$(vstate pz2)" "the other one was paused"
vesselctl unpause pz2
rc=0; vesselctl pause st3 2>/dev/null || rc=$?
assert_eq 1 "$rc" "pause of an exited container"
rc=0; vesselctl pause 2>/dev/null || rc=$?
assert_eq 2 "$rc" "pause without a name"

# a paused container can be stopped
vesselctl pause pz2
vesselctl stop pz2
assert_eq exited "$(vstate pz2)" "a paused container stops"
