#!/bin/bash
# vesselctl logs: a container's stdout and stderr from the journal, with the fields Docker's journald
# driver uses; -n, --since/--until, -o short|cat|json, -f following new lines; after the container
# exited, after it was removed (by name), for a name used again (by Id), after vesseld restarted;
# and the last lines in vesselctl status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

T=$(mktemp -d /run/test-logs.XXXXXX)
on_exit rm -rf "$T"
xcleanup() { # bounded: a container stuck by vesseld's exec race must not hang us (see test-exec.sh)
    timeout 20 busctl --timeout=15 call io.vessel1 /io/vessel1 io.vessel1.Manager RemoveContainer sb "$1" true \
        >/dev/null 2>&1 || true
}
for n in lg1 lg2 lg3 lg4; do xcleanup $n; on_exit xcleanup $n; done

vrun() { vesselctl run -d --network none --name "$@" >/dev/null; }

# ---- an exited container ------------------------------------------------------------------------

# (stdout and stderr reach the journal through two pipes: the pauses make their order certain)
vrun lg1 "$IMAGE" sh -c 'echo out-1; sleep 0.2; echo err-1 >&2; sleep 0.2; echo out-2; echo "multi  word line"'
assert_eq 0 "$(vesselctl wait lg1)" "lg1 exit"
wait_log lg1 '^multi  word line$'
id=$(vprop lg1 Id)

# the fields, as Docker's journald driver names them; PRIORITY 6 for stdout, 3 for stderr
assert_eq 4 "$(journalctl -q -o cat CONTAINER_NAME=lg1 CONTAINER_ID_FULL="$id" --no-pager | wc -l)" "entries of lg1"
field() { # MESSAGE FIELD: the field of lg1's entry with that message, from journalctl's export format
    journalctl -q -o export CONTAINER_ID_FULL="$id" MESSAGE="$1" --no-pager | sed -n "s/^$2=//p"
}
assert_eq lg1 "$(field err-1 CONTAINER_NAME)" CONTAINER_NAME
assert_eq "${id:0:12}" "$(field err-1 CONTAINER_ID)" CONTAINER_ID
assert_eq lg1 "$(field err-1 CONTAINER_TAG)" CONTAINER_TAG
assert_eq lg1 "$(field err-1 SYSLOG_IDENTIFIER)" SYSLOG_IDENTIFIER
assert_eq "$IMAGE" "$(field err-1 IMAGE_NAME)" IMAGE_NAME
assert_eq 3 "$(field err-1 PRIORITY)" "stderr priority"
assert_eq 6 "$(field out-1 PRIORITY)" "stdout priority"

# default: the messages, stdout lines to stdout and stderr lines to stderr, like docker logs
assert_eq $'out-1\nout-2\nmulti  word line' "$(vesselctl logs lg1 2>/dev/null)" "stdout lines"
assert_eq err-1 "$(vesselctl logs lg1 2>&1 >/dev/null)" "stderr lines"
assert_eq $'out-1\nerr-1\nout-2\nmulti  word line' "$(vesselctl logs lg1 2>&1)" "in order"
# cat: all to stdout
assert_eq $'out-1\nerr-1\nout-2\nmulti  word line' "$(vesselctl logs -o cat lg1 2>/dev/null)" "-o cat"

# -n
assert_eq $'out-2\nmulti  word line' "$(vesselctl logs -n 2 lg1)" "-n 2"
assert_eq "multi  word line" "$(vesselctl logs --tail 1 lg1)" "--tail 1"
assert_eq "" "$(vesselctl logs -n 0 lg1 2>&1)" "-n 0"
assert_eq 4 "$(vesselctl logs -n 100 -o cat lg1 | wc -l)" "-n more than there are"
assert_eq 4 "$(vesselctl logs -n all -o cat lg1 | wc -l)" "-n all"
assert_eq 4 "$(vesselctl logs -n 1 --no-tail -o cat lg1 | wc -l)" "--no-tail"

# -o short: an RFC 3339 timestamp first
line=$(vesselctl logs -n 1 -o short lg1)
[[ $line =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2}\ multi\ \ word\ line$ ]] ||
    fail "-o short: '$line'"
assert_eq "$line" "$(vesselctl logs -n 1 -t lg1)" "-t is -o short"

# -o json: one object per line, the message and the fields
vesselctl logs -o json lg1 >"$T/json"
assert_eq 4 "$(wc -l <"$T/json")" "json lines"
# (without jq, which the v2 guest lacks: vesselctl's compact objects, grepped)
jget() { sed -n 's/.*"'"$1"'":\("[^"]*"\|[^,}]*\).*/\1/p' | tr -d '"'; }
assert_eq $'out-1\nerr-1\nout-2\nmulti  word line' "$(jget MESSAGE <"$T/json")" "json MESSAGE"
assert_eq $'6\n3\n6\n6' "$(jget PRIORITY <"$T/json")" "json PRIORITY"
assert_eq "$id $id $id $id" "$(jget CONTAINER_ID_FULL <"$T/json" | xargs)" "json CONTAINER_ID_FULL"
assert_eq 4 "$(grep '"CONTAINER_NAME":"lg1"' "$T/json" | grep -c '"__REALTIME_TIMESTAMP":"[0-9]*"')" "json fields"
assert_eq "$(cat "$T/json")" "$(vesselctl --json logs -o cat lg1)" "--json"

# ---- times --------------------------------------------------------------------------------------

vrun lg2 "$IMAGE" sh -c 'echo early; sleep 2.2; echo late'
vesselctl wait lg2 >/dev/null
wait_log lg2 '^late$'
late_us=$(vesselctl logs -n 1 -o json lg2 | jget __REALTIME_TIMESTAMP)
late_s=$((late_us / 1000000))
# epoch seconds
assert_eq late "$(vesselctl logs --since @$((late_s - 1)) lg2)" "--since @"
assert_eq early "$(vesselctl logs --until @$((late_s - 1)) lg2)" "--until @"
assert_eq late "$(vesselctl logs --since "@$((late_us / 1000000)).$(printf %06d $((late_us % 1000000)))" lg2)" \
    "--since at the entry itself"
# "YYYY-MM-DD HH:MM:SS", local time
assert_eq late "$(vesselctl logs --since "$(date -d @"$late_s" '+%Y-%m-%d %H:%M:%S')" lg2)" "--since date"
assert_eq early "$(vesselctl logs --until "$(date -d @$((late_s - 1)) '+%Y-%m-%d %H:%M:%S')" lg2)" "--until date"
assert_eq late "$(vesselctl logs --since "$(date -u -d @"$late_s" '+%Y-%m-%dT%H:%M:%SZ')" lg2)" "--since UTC"
# relative
assert_eq $'early\nlate' "$(vesselctl logs --since -1h lg2)" "--since -1h"
assert_eq $'early\nlate' "$(vesselctl logs --since '1h ago' --until now lg2)" "--since ago"
assert_eq "" "$(vesselctl logs --until -1h lg2)" "--until -1h"
assert_eq "" "$(vesselctl logs --since +1h lg2)" "--since in the future"
assert_eq late "$(vesselctl logs --since @$((late_s - 1)) -n 5 lg2)" "-n with --since"
assert_eq early "$(vesselctl logs --until @$((late_s - 1)) -n 1 lg2)" "-n with --until"
# bad times, bad combinations: usage errors
rc=0; vesselctl logs --since yesterday-ish lg2 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "bad --since"
assert_contains "$(cat "$T/err")" "yesterday-ish" "bad --since message"
rc=0; vesselctl logs --since now --until -1h lg2 2>/dev/null || rc=$?
assert_eq 2 "$rc" "--since after --until"
rc=0; vesselctl logs -o verbose lg2 2>/dev/null || rc=$?
assert_eq 2 "$rc" "bad -o"

# ---- follow -------------------------------------------------------------------------------------

vrun lg3 "$IMAGE" sh -c 'echo first-line; while [ ! -e /go ]; do sleep 0.05; done; echo later-line; echo later-err >&2; sleep 1000'
wait_log lg3 '^first-line$'
vesselctl logs -f lg3 >"$T/follow" 2>&1 &
follower=$!
vesselctl logs -f -n 0 lg3 >"$T/follow0" 2>&1 &
follower0=$!
wait_until 10 grep -qx first-line "$T/follow"
sleep 0.3 # the -n 0 follower is at the end by now
touch "/proc/$(vprop lg3 Leader)/root/go"
wait_until 10 grep -qx later-err "$T/follow"
wait_until 10 grep -qx later-err "$T/follow0"
kill "$follower" "$follower0"
rc=0; wait "$follower" || rc=$?
assert_eq 0 "$rc" "logs -f ends cleanly when interrupted"
wait "$follower0" || true
assert_eq $'first-line\nlater-line\nlater-err' "$(cat "$T/follow")" "logs -f"
assert_eq $'later-line\nlater-err' "$(cat "$T/follow0")" "logs -f -n 0: only new lines"

# status shows the last lines
st=$(vesselctl status lg3)
assert_contains "$st" " first-line" "status: log lines"
assert_contains "$st" " later-err" "status: last log line"

# after vesseld restarted (the container lives on, re-adopted)
systemctl restart vesseld
assert_eq $'first-line\nlater-line\nlater-err' "$(vesselctl logs lg3 2>&1)" "after vesseld restarted"

# ---- a long line: journal entries of 48 KiB at most, nothing lost -----------------------------

vrun lg4 "$IMAGE" sh -c 'head -c 100000 /dev/zero | tr "\0" a; echo; echo after-long'
vesselctl wait lg4 >/dev/null
wait_log lg4 '^after-long$'
assert_eq $'49152\n49152\n1696\n10' "$(vesselctl logs -o cat lg4 | awk '{ print length($0) }')" "a 100000-byte line in chunks"
assert_eq "" "$(vesselctl logs -o cat lg4 | head -n 3 | tr -d 'a\n')" "the long line's bytes"

# ---- removed, and a name used again -------------------------------------------------------------

vesselctl rm lg1
assert_fails vcall GetContainer s lg1 2>/dev/null
# by name: every container that had it (earlier boxes' too, were there any: the last 4 lines are ours)
assert_eq $'out-1\nerr-1\nout-2\nmulti  word line' "$(vesselctl logs -n 4 lg1 2>&1)" "after removal, by name"
assert_eq "multi  word line" "$(vesselctl logs "$id" -n 1)" "after removal, by Id"
vrun lg1 "$IMAGE" sh -c 'echo second-life'
vesselctl wait lg1 >/dev/null
wait_log lg1 '^second-life$'
assert_eq second-life "$(vesselctl logs lg1 2>&1)" "a new container of the name: its own lines only"

# a name nothing ever had: nothing, and no error
assert_eq "" "$(vesselctl logs never-was 2>&1)" "unknown name"
