# Sourced by the integration tests after lib.sh: vessel-specific helpers. Runs inside the box.

ROOTFS=/srv/vessel-fixtures/busybox
IMAGE=dir:$ROOTFS

# The tiny root filesystem from busybox-static that every test runs (tests/harness/busybox-rootfs:
# in /srv, built once, shared with the benchmarks).
"$VESSEL_SRC/tests/harness/busybox-rootfs" "$ROOTFS" || fail "could not build the busybox root filesystem"

# busctl call on the manager, without the 25 s default timeout for calls that wait
vcall() {
    local method=$1
    shift
    busctl --timeout=120 -- call io.vessel1 /io/vessel1 io.vessel1.Manager "$method" "$@"
}

# Runs a container that executes 'sh -c SCRIPT'; extra settings as "NAME SIG VALUE..." triples are not
# needed often enough to wrap: tests call vcall directly then.
vrun_sh() { # NAME SCRIPT
    vcall RunContainer 'ssa(sv)' "$1" "$IMAGE" 1 Command as 3 sh -c "$2" >/dev/null
}

vprop() { # NAME PROPERTY → the value, busctl style without the type ("s \"x\"" → x)
    local path
    path=$(vcall GetContainer s "$1" | awk '{print $2}' | tr -d '"')
    busctl get-property io.vessel1 "$path" io.vessel1.Container "$2" | cut -d' ' -f2- | sed 's/^"\(.*\)"$/\1/'
}

vstate() { vprop "$1" State; }

# Removes the container if it exists, forcefully; for on_exit.
vcleanup() {
    vcall RemoveContainer sb "$1" true >/dev/null 2>&1 || true
}

scope_cgroup() { # NAME CONTROLLER → the v1 cgroup dir of the container's scope
    echo "/sys/fs/cgroup/$2/machine.slice/vessel-$1.scope"
}

vesseld_pid() {
    systemctl show -P MainPID vesseld.service
}

# The journal lines of this incarnation of a container (by Id: names are reused across test runs).
vlogs() { # NAME
    journalctl -q -o cat CONTAINER_ID_FULL="$(vprop "$1" Id)" --no-pager
}
wait_log() { # NAME PATTERN (grep -E)
    local id
    id=$(vprop "$1" Id)
    wait_until 10 sh -c "journalctl -q -o cat CONTAINER_ID_FULL=$id --no-pager | grep -qE '$2'"
}

# Records the system bus's messages that match MATCH into FILE (`busctl monitor OPTION... --match
# MATCH`), from when this returns until bus_monitor_stop; the test's exit stops it too.
bus_monitor_start() { # FILE MATCH [OPTION...]
    local file=$1 match=$2
    shift 2
    busctl monitor "$@" --match "$match" >"$file" 2>"$file.err" &
    BUS_MONITOR_PID=$!
    on_exit sh -c "kill $BUS_MONITOR_PID 2>/dev/null || true"
    wait_until 10 grep -q Monitoring "$file.err"
}
bus_monitor_stop() {
    kill "$BUS_MONITOR_PID"
    wait "$BUS_MONITOR_PID" 2>/dev/null || true
}

# An interactive shell of the container's on a terminal, driven in tmux as a person would: typed
# commands, a window resize (SIGWINCH), ^C for the container's process and not for vesselctl, the
# exit status, and vesselctl's terminal as it was afterwards. COMMAND starts /bin/sh on a terminal
# of the container's own (vesselctl shell NAME, vesselctl run -it IMAGE sh).
interactive_shell_check() { # COMMAND
    if ! command -v tmux >/dev/null; then
        echo "note: no tmux here: the interactive session is not tested"
        return 0
    fi
    local socket=vessel-test-$$ pane i
    tm() { tmux -L "$socket" "$@"; }
    wait_pane() { # grep -E PATTERN: until the pane shows it (10 s), else fail showing the pane
        for ((i = 0; i < 200; i++)); do
            tm capture-pane -p -t s | grep -qE -- "$1" && return 0
            sleep 0.05
        done
        fail "tmux pane never showed '$1':"$'\n'"$(tm capture-pane -p -t s)"
    }
    on_exit sh -c "tmux -L $socket kill-server 2>/dev/null || true"
    TERM=xterm tm new-session -d -s s -x 100 -y 30 \
        "$1; echo EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -xE 'icanon|echo|isig|opost' | sort | tr '\n' ' ' | sed 's/^/TTY: /'; echo; sleep 60"
    wait_pane '^/ #'
    tm send-keys -t s 'echo typed-$((6*7)); stty size; tty' Enter
    wait_pane '^30 100$'
    tm resize-window -t s -x 120 -y 40
    sleep 0.3
    tm send-keys -t s 'stty size' Enter
    wait_pane '^40 120$'
    tm send-keys -t s 'sleep 100; echo after-sleep' Enter
    sleep 0.5
    tm send-keys -t s C-c
    wait_pane '\^C'
    tm send-keys -t s 'echo still-here; exit 7' Enter
    wait_pane '^TTY: '
    pane=$(tm capture-pane -p -t s)
    assert_contains "$pane" "typed-42" "typed command"
    assert_contains "$pane" "/dev/pts/0" "shell's tty"
    assert_contains "$pane" "still-here" "^C interrupted the container's sleep, not the session"
    ! grep -qx after-sleep <<<"$pane" || fail "sleep was not interrupted: $pane"
    grep -q '^EXIT=7$' <<<"$pane" || fail "shell exit status: $pane"
    assert_contains "$pane" "TTY: echo icanon isig opost" "terminal restored (cooked mode again)"
    tm kill-server
}
