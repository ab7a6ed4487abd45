#!/bin/bash
# vesselctl run -t: the app on a terminal of the container's own devpts (ConsoleSocketFileDescriptor),
# its controlling terminal from the start, with our window size and TERM; -i for our keys; exit codes
# as without a terminal; a signal to vesselctl hangs the terminal up; the daemon's checks of the
# setting. Driven through real pseudo-terminals (script, tmux).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

T=$(mktemp -d /run/test-run-tty.XXXXXX)
on_exit rm -rf "$T"
xcleanup() {
    timeout 20 busctl --timeout=15 call io.vessel1 /io/vessel1 io.vessel1.Manager RemoveContainer sb "$1" true \
        >/dev/null 2>&1 || true
}
for n in tt1 tt2 tt3 tt4 tt5; do xcleanup $n; on_exit xcleanup $n; done

xrun() { # CMD... → $rc, $out, $err; stdin from $XIN (default /dev/null)
    rc=0
    "$@" <"${XIN:-/dev/null}" >"$T/out" 2>"$T/err" || rc=$?
    out=$(tr -d '\r' <"$T/out")
    err=$(tr -d '\r' <"$T/err")
}
gone() { ! busctl get-property io.vessel1 "/io/vessel1/container/$1" io.vessel1.Container State >/dev/null 2>&1; }

# the terminal is the container's own, the app's controlling one (field 7 of stat: tty_nr, 0 for
# none), and has our size and TERM before the app runs (no wait needed, unlike exec -t)
TERM=vt220 xrun script -qec "stty rows 33 cols 101; vesselctl run -t --rm --network=none $IMAGE \
    sh -c 'tty; ls /dev/pts | tr \"\\n\" \" \"; echo; stty size; echo \$TERM; cut -d\" \" -f7 /proc/self/stat; exit 4'" /dev/null
assert_eq 4 "$rc" "exit status through the terminal"
mapfile -t lines <<<"$out"
assert_eq /dev/pts/0 "${lines[0]}" "the container's own pty"
assert_eq "0 ptmx " "${lines[1]}" "a devpts of the container's own"
assert_eq "33 101" "${lines[2]}" "our window size, from the start"
assert_eq vt220 "${lines[3]}" "our TERM"
[ "${lines[4]}" -gt 0 ] || fail "no controlling terminal (tty_nr ${lines[4]})"

# in a user namespace too (the app enters it after the terminal was made)
xrun script -qec "vesselctl run -t --rm --network=none --private-users=yes $IMAGE sh -c 'tty; id -u; cut -d\" \" -f7 /proc/self/stat; stat -c %u:%g /dev/pts/0'" /dev/null
assert_eq 0 "$rc" "PrivateUsers exit status"
mapfile -t lines <<<"$out"
assert_eq /dev/pts/0 "${lines[0]:-}" "PrivateUsers: the container's pty"
assert_eq 0 "${lines[1]:-}" "PrivateUsers: root of its namespace"
[ "${lines[2]:-0}" -gt 0 ] || fail "PrivateUsers: no controlling terminal"
assert_eq 0:5 "${lines[3]:-}" "PrivateUsers: the terminal is root's and the tty group's in the container"

# -e TERM=... wins over ours
TERM=vt220 xrun script -qec "vesselctl run -t --rm --network=none -e TERM=dumb $IMAGE sh -c 'echo \$TERM'" /dev/null
assert_eq dumb "$out" "-e TERM"

# -i: our input reaches the terminal (here a pipe into script, so the shell reads it as typed);
# without -i the app reads nothing of ours
XIN=<(echo 'echo typed-$((6*7)); exit 3') xrun script -qec "vesselctl run -it --rm --network=none $IMAGE sh" /dev/null
assert_eq 3 "$rc" "-it exit status"
assert_contains "$out" "typed-42" "-it input"

# the output goes to the terminal, not to the journal
xrun script -qec "vesselctl run -t --name tt1 --network=none $IMAGE sh -c 'echo to-the-terminal'" /dev/null
assert_eq 0 "$rc" "run -t without --rm"
assert_eq to-the-terminal "$out" "output on the terminal"
sleep 0.3
assert_eq "" "$(vesselctl logs tt1 2>&1)" "nothing journalled"
# a later start has no terminal: its output is journalled again
vcall StartContainer s tt1 >/dev/null
wait_until 10 sh -c '[ "$(vesselctl show tt1 -p State --value)" = exited ]'
wait_until 5 sh -c 'vesselctl logs tt1 | grep -q to-the-terminal'

# failures: as without a terminal, 127/126 for a command that cannot run, 125 for the setup; the
# message on our terminal, nothing left (--rm)
xrun script -qec "vesselctl run -t --rm --name tt2 --network=none $IMAGE /no/such/binary" /dev/null
assert_eq 127 "$rc" "missing command"
assert_contains "$out" "Failed to execute /no/such/binary" "missing command message"
wait_until 10 gone tt2
xrun script -qec "vesselctl run -t --rm --name tt3 --network=none -w /nowhere $IMAGE true" /dev/null
assert_eq 125 "$rc" "bad working directory"
assert_contains "$out" "/nowhere" "bad working directory message"
wait_until 10 gone tt3

# a signal to vesselctl hangs the terminal up: the app (its session leader) gets SIGHUP
script -qec "exec vesselctl run -t --name tt4 --network=none $IMAGE sleep 1000" /dev/null >/dev/null 2>&1 &
sp=$!
on_exit sh -c "kill $sp 2>/dev/null || true"
wait_until 10 sh -c '[ "$(vesselctl show tt4 -p State --value 2>/dev/null)" = running ]'
vpid=$(pgrep -P "$sp" -x vesselctl || true)
[ -n "$vpid" ] || fail "no vesselctl under script"
kill -TERM "$vpid"
wait "$sp" || true
wait_until 10 sh -c '[ "$(vesselctl show tt4 -p State --value)" = exited ]'
assert_eq 1 "$(vesselctl show tt4 -p ExitSignal --value)" "SIGHUP ended the app"

# usage: no terminal for a detached run, nor for one that restarts
xrun vesselctl run -dt "$IMAGE" true
assert_eq 2 "$rc" "-dt"
assert_contains "$err" "attached run" "-dt message"
xrun vesselctl run -t --restart=always "$IMAGE" true
assert_eq 2 "$rc" "-t --restart"
# and none for create: the message says whose option it is
xrun vesselctl create -t "$IMAGE" true
assert_eq 2 "$rc" "create -t"
assert_contains "$err" "Unknown option '-t' for create: it is an option of run." "create -t message"
# a prefix of several options names them
xrun vesselctl run --mem 1G "$IMAGE" true
assert_eq 2 "$rc" "ambiguous option"
assert_eq "vesselctl: Option '--mem' is ambiguous: --memory, --memory-high, --memory-reservation, --memory-swap." \
    "$err" "ambiguous option message"

# the daemon's checks: a stream socket, and no other stdio beside it (Debian's python3-dbus passes fds)
mapfile -t msgs < <(/usr/bin/python3 - "$IMAGE" <<'EOF'
import os, socket, sys
import dbus
m = dbus.Interface(dbus.SystemBus().get_object("io.vessel1", "/io/vessel1"), "io.vessel1.Manager")
def run(*settings):
    try:
        m.RunContainer("tt5", sys.argv[1], dbus.Array([dbus.Struct(s, signature="sv") for s in settings], signature="(sv)"))
        return "created"
    except dbus.DBusException as e:
        return e.get_dbus_message().replace("\n", " ")
r, w = os.pipe()
print(run(("ConsoleSocketFileDescriptor", dbus.types.UnixFd(r))))
print(run(("ConsoleSocketFileDescriptor", dbus.types.UnixFd(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)))))
a, b = socket.socketpair()
print(run(("ConsoleSocketFileDescriptor", dbus.types.UnixFd(b)), ("StandardOutputFileDescriptor", dbus.types.UnixFd(1))))
EOF
)
assert_contains "${msgs[0]:-}" "Invalid setting ConsoleSocketFileDescriptor: the descriptor is not a stream" "a pipe"
assert_contains "${msgs[1]:-}" "Invalid setting ConsoleSocketFileDescriptor: the descriptor is not a stream" "a datagram socket"
assert_contains "${msgs[2]:-}" "Standard*FileDescriptor cannot come with it" "with stdout"
gone tt5 || fail "tt5 was created with a bad console socket"

# an interactive shell, as a person would use it (vessel.sh)
interactive_shell_check "vesselctl run -it --rm --network=none $IMAGE sh"
