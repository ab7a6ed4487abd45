#!/bin/bash
# A full disk: a start whose runtime directory cannot be written fails with the reason, after systemd
# was asked for the scope (the files are written while the job runs), and leaves nothing behind: no
# scope, no process, the container created as before. A create whose record cannot be written is
# refused; a run (which writes it while the job runs) fails and leaves no container; an import fails
# with the reason and leaves no image and no work. vesseld serves on, and all of them work once
# there is room again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

full=""
unfill() {
    if [ -n "$full" ]; then
        umount "$full" 2>/dev/null || true
        full=""
    fi
}
on_exit vcleanup fd1
on_exit vcleanup fd2
on_exit unfill

# a small tmpfs, filled up, over a directory of vesseld's
fill() { # DIR
    mkdir -p "$1"
    mount -t tmpfs -o size=64k,mode=0700 vessel-test-full "$1"
    full=$1
    dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null || true
    [ "$(df --output=avail "$1" | tail -n 1 | tr -d ' ')" = 0 ] || fail "$1 is not full"
}

vcall CreateContainer 'ssa(sv)' fd1 "$IMAGE" 2 Command as 3 sh -c 'echo ran; exit 3' Network s none >/dev/null

# the runtime directory: the container's /etc files cannot be written
fill /run/vessel/containers
out=$(vcall StartContainer s fd1 2>&1 || true)
echo "start: $out"
assert_contains "$out" "No space left on device" "start on a full runtime directory"
assert_contains "$out" "fd1" "the error names the container"
assert_eq created "$(vstate fd1)" "state after the failed start"
assert_eq 0 "$(vprop fd1 Leader)" "no leader after the failed start"
wait_until 10 sh -c '! systemctl is-active -q vessel-fd1.scope'
assert_eq "" "$(systemctl list-units --all --plain --no-legend 'vessel-fd1.scope' | grep -v ' inactive ' || true)" \
    "no scope left"
unfill

# with room again the same container starts and runs
vcall StartContainer s fd1 >/dev/null
assert_eq "ii 3 0" "$(vcall WaitContainer s fd1)" "runs once there is room"

# the state directory: the record of a new container cannot be written
fill /var/lib/vessel/containers
out=$(vcall CreateContainer 'ssa(sv)' fd2 "$IMAGE" 1 Command as 1 true 2>&1 || true)
echo "create: $out"
assert_contains "$out" "No space left on device" "create on a full state directory"
# a run, which writes the record while systemd works on the scope: the start fails with the reason,
# and the container, which could not be written down, is gone with its scope
on_exit vcleanup fd3
out=$(vcall RunContainer 'ssa(sv)' fd3 "$IMAGE" 2 Command as 1 true Network s none 2>&1 || true)
echo "run: $out"
assert_contains "$out" "No space left on device" "run on a full state directory"
wait_until 10 sh -c '! busctl call io.vessel1 /io/vessel1 io.vessel1.Manager GetContainer s fd3 >/dev/null 2>&1'
wait_until 10 sh -c '! systemctl is-active -q vessel-fd3.scope'
unfill
out=$(vcall GetContainer s fd2 2>&1 || true)
assert_contains "$out" "No container named 'fd2'" "no record of the refused create"

# an import of a directory, whose archive cannot be written: the reason, no image, no work left
fill /var/lib/vessel/tmp
out=$(vesselctl import "$ROOTFS" fd/dir 2>&1 || true)
echo "import: $out"
assert_contains "$out" "Failed to write the directory's archive: No space left on device" "import on a full disk"
assert_eq filler "$(ls /var/lib/vessel/tmp)" "the import's work directory is gone"
unfill
out=$(vesselctl image-status fd/dir 2>&1 || true)
assert_contains "$out" "No image named 'fd/dir'" "no image of the failed import"

# vesseld serves on
assert_contains "$(vcall ListContainers)" "fd1" "ListContainers after the full disks"
vcall RunContainer 'ssa(sv)' fd2 "$IMAGE" 2 Command as 1 true Network s none >/dev/null
assert_eq "ii 0 0" "$(vcall WaitContainer s fd2)" "a new container after the full disks"
