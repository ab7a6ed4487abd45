#!/bin/bash
# vesselctl exec and shell: a process in a running container, with our stdio or a pty of the
# container's own devpts; its exit code is ours; -i, -u, -e, -w; window size, ^C and the terminal's
# restoration, driven through real pseudo-terminals (script, tmux).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

T=$(mktemp -d /run/test-exec.XXXXXX)
on_exit rm -rf "$T"
# cleanup is bounded in time: a failure here must not hang the suite
xcleanup() {
    timeout 20 busctl --timeout=15 call io.vessel1 /io/vessel1 io.vessel1.Manager RemoveContainer sb "$1" true \
        >/dev/null 2>&1 || true
}
for n in ex1 ex2; do xcleanup $n; on_exit xcleanup $n; done

xrun() { # CMD... → $rc, $out, $err; stdin from $XIN (default /dev/null)
    rc=0
    "$@" <"${XIN:-/dev/null}" >"$T/out" 2>"$T/err" || rc=$?
    out=$(tr -d '\r' <"$T/out")
    err=$(tr -d '\r' <"$T/err")
}

vesselctl run -d --network none --name ex1 "$IMAGE" sh -c 'echo $$ >/pid1; sleep 1000' >/dev/null

# ---- without a terminal -------------------------------------------------------------------------

# output, both streams
xrun vesselctl exec ex1 sh -c 'echo hello; echo oops >&2'
assert_eq 0 "$rc" "exec status"
assert_eq hello "$out" "exec stdout"
assert_eq oops "$err" "exec stderr"

# in the container: its hostname, its pid namespace (vessel-init is PID 1), its root
xrun vesselctl exec ex1 sh -c 'hostname; cat /proc/1/comm; cat /pid1 >/dev/null && echo root-ok'
assert_eq $'ex1\nvessel-init\nroot-ok' "$out" "namespaces and root"

# options end at NAME: -l is ls's
xrun vesselctl exec ex1 ls -ld /bin
assert_contains "$out" "/bin" "ls -ld"
assert_eq 0 "$rc" "ls -ld status"

# exit codes: the process's, 128+N for a signal, 127/126 for what cannot be executed
xrun vesselctl exec ex1 sh -c 'exit 3'
assert_eq 3 "$rc" "exit 3"
xrun vesselctl exec ex1 sh -c 'kill -9 $$'
assert_eq 137 "$rc" "killed by SIGKILL"
xrun vesselctl exec ex1 /nonexistent
assert_eq 127 "$rc" "missing command"
assert_eq "vessel: Failed to execute /nonexistent: No such file or directory" "$err" "missing command: one message"
xrun vesselctl exec ex1 /bin/noexec
assert_eq 126 "$rc" "not executable"

# stdin: ours with -i, else /dev/null
printf 'line a\nline b\n' >"$T/in"
XIN=$T/in xrun vesselctl exec -i ex1 sh -c 'cat; echo done'
assert_eq $'line a\nline b\ndone' "$out" "stdin with -i"
XIN=$T/in xrun vesselctl exec ex1 sh -c 'cat; echo done'
assert_eq done "$out" "no stdin without -i"
XIN=$T/in xrun vesselctl exec --interactive ex1 wc -l
assert_eq 2 "$(echo $out)" "--interactive"

# user, environment, working directory
xrun vesselctl exec -u user ex1 sh -c 'id -u; id -un; echo $HOME'
assert_eq $'1000\nuser\n/home/user' "$out" "-u user"
xrun vesselctl exec -u 1000:2000 ex1 id -g
assert_eq 2000 "$out" "-u uid:gid"
xrun vesselctl exec -e FOO=bar --env BAZ='with space' ex1 sh -c 'echo "$FOO|$BAZ"'
assert_eq "bar|with space" "$out" "-e"
FROM_US=passed xrun vesselctl exec -e FROM_US ex1 sh -c 'echo $FROM_US'
assert_eq passed "$out" "-e KEY from our environment"
xrun vesselctl exec -w /tmp ex1 pwd
assert_eq /tmp "$out" "-w"
xrun vesselctl exec --workdir=/bin -u user ex1 sh -c 'pwd; id -u'
assert_eq $'/bin\n1000' "$out" "--workdir with -u"

# the process is in the container's cgroup: it counts in pids.current
pids=$(scope_cgroup ex1 pids)/pids.current
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && pids=/sys/fs/cgroup/machine.slice/vessel-ex1.scope/pids.current
base=$(cat "$pids")
vesselctl exec ex1 sleep 3 &
sleeper=$!
wait_until 5 sh -c "[ \$(cat $pids) -gt $base ]"
wait "$sleeper" || fail "exec of sleep 3 failed"

# failures before the process runs: 125, and what went wrong
xrun vesselctl exec -u nosuchuser ex1 true
assert_eq 125 "$rc" "unknown user"
assert_eq "vesselctl: Failed to resolve user 'nosuchuser' in the container: no such user or group" "$err" \
    "unknown user: one message"
xrun vesselctl exec -w /nonexistent ex1 true
assert_eq 125 "$rc" "bad working directory"
assert_eq "vesselctl: Failed to change to working directory /nonexistent: No such file or directory" "$err" \
    "bad working directory: one message"
xrun vesselctl exec nosuch true
assert_eq 125 "$rc" "no such container"
assert_contains "$err" "No container named 'nosuch'" "no such container message"
vesselctl run -d --network none --name ex2 "$IMAGE" true >/dev/null
vesselctl wait ex2 >/dev/null
xrun vesselctl exec ex2 true
assert_eq 125 "$rc" "exited container"
assert_contains "$err" "not running" "exited container message"

# usage errors: 2
xrun vesselctl exec ex1
assert_eq 2 "$rc" "no command"
xrun vesselctl exec -w relative ex1 true
assert_eq 2 "$rc" "relative -w"
assert_contains "$err" "absolute path" "relative -w message"
xrun vesselctl exec --bogus ex1 true
assert_eq 2 "$rc" "unknown option"

# ---- with a terminal ----------------------------------------------------------------------------

# the pty is the container's own: /dev/pts/0 of a devpts holding nothing of the host's
xrun script -qec "vesselctl exec -t ex1 sh -c 'tty; ls /dev/pts; echo in-pty; exit 4'" /dev/null
assert_eq 4 "$rc" "pty exit status"
assert_eq $'/dev/pts/0\n0     ptmx\nin-pty' "$out" "pty session"

# the window size is ours, TERM is ours
# (set when the pty master reaches us, which is after the process started: a process that asks at
# once may still find 0x0; ExecContainerPTY takes no initial size)
xrun script -qec "stty rows 33 cols 101; vesselctl exec -t ex1 sh -c 'sleep 0.5; stty size'" /dev/null
assert_eq "33 101" "$out" "window size"
TERM=vt220 xrun script -qec "vesselctl exec -t ex1 sh -c 'echo \$TERM'" /dev/null
assert_eq vt220 "$out" "TERM"
xrun script -qec "vesselctl exec -t -u user -w /tmp -e X=y ex1 sh -c 'id -u; pwd; echo \$X'" /dev/null
assert_eq $'1000\n/tmp\ny' "$out" "pty with -u -w -e"

# a command that cannot run: no hang; its failure on the terminal, 127 from ExecExited; a bad
# working directory likewise, with 125
rc=0
timeout 20 script -qec "vesselctl exec -t ex1 /nonexistent" /dev/null >"$T/out" 2>&1 || rc=$?
assert_eq 127 "$rc" "pty, missing command: $(cat "$T/out")"
assert_eq "vessel: Failed to execute /nonexistent: No such file or directory" "$(tr -d '\r' <"$T/out")" \
    "pty, missing command: the message once"
rc=0
timeout 20 script -qec "vesselctl exec -t -w /nonexistent ex1 true" /dev/null >"$T/out" 2>&1 || rc=$?
assert_eq 125 "$rc" "pty, bad working directory: $(cat "$T/out")"
assert_contains "$(cat "$T/out")" "Failed to change to working directory /nonexistent" "pty, bad working directory message"

# -t on a paused container: refused before anything runs
vesselctl pause ex1
xrun script -qec "vesselctl exec -t ex1 true" /dev/null
assert_eq 125 "$rc" "exec into a paused container"
assert_contains "$out" "paused" "paused message"
vesselctl unpause ex1

# an interactive shell, as a person would use it (vessel.sh)
interactive_shell_check "vesselctl shell ex1"

# shell with a command
xrun script -qec "vesselctl shell ex1 sh -c 'echo via-shell; tty'" /dev/null
assert_contains "$out" "via-shell" "shell CMD"
assert_contains "$out" "/dev/pts/" "shell CMD has a tty"
