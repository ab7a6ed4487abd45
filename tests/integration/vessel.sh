# Sourced by the integration tests after lib.sh: vessel-specific helpers. Runs inside the box.

ROOTFS=/srv/vessel-fixtures/busybox
IMAGE=dir:$ROOTFS

# A tiny root filesystem from busybox-static, in /srv (not /tmp: the box's /tmp is a tmpfs that the
# first systemd-run --wait cleans). Built once, shared by every test.
ensure_rootfs() {
    [ -x "$ROOTFS/bin/sh" ] && [ -e "$ROOTFS/.complete" ] && return 0
    local tmp="$ROOTFS.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"/{bin,etc,tmp,proc,sys,dev,root,home/user,var,srv}
    cp /bin/busybox "$tmp/bin/busybox"
    (cd "$tmp/bin" && for a in $(./busybox --list); do [ -e "$a" ] || ln -s busybox "$a"; done)
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:u:/home/user:/bin/sh\n' >"$tmp/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\nuser:x:1000:\nextra:x:2000:user\n' >"$tmp/etc/group"
    printf '#!/bin/sh\necho not executable\n' >"$tmp/bin/noexec" && chmod 0644 "$tmp/bin/noexec"
    touch "$tmp/.complete"
    rm -rf "$ROOTFS"
    mv "$tmp" "$ROOTFS"
}
ensure_rootfs

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
