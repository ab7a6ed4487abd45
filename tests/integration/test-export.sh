#!/bin/bash
# Export: an oci-archive or docker-archive of an imported image holds its manifest, config and layer
# blobs as they were imported, skopeo reads it, and it imports again to the same digests; the
# flattened tar of an image is, file for file, what umoci unpacks; a container's tar has what it wrote
# and not what it deleted; an export to a stalled pipe is canceled; unknown names are NoSuchImage and
# NoSuchContainer; vesseld keeps serving throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"
. "$(dirname "$0")/images.sh"

command -v umoci >/dev/null || skip "umoci not installed"
command -v skopeo >/dev/null || skip "skopeo not installed"
ensure_image_fixtures

OUT=/srv/vessel-fixtures/export-out # not /tmp: the box's /tmp is cleaned under our feet
rm -rf "$OUT" && mkdir -p "$OUT"
on_exit rm -rf "$OUT"

for i in ex/oci ex/oci-again ex/oci-docker vessel/test:v1 ex/docker-again ex/docker-oci ex/tar ex/tar-again \
    ex/base ex/flat; do
    on_exit vcall RemoveImage s "$i"
done
for c in exc1 exc2 exc3; do on_exit vcleanup $c; done

iprop() { # IMAGE PROPERTY → busctl's value
    busctl get-property io.vessel1 "$(vcall GetImage s "$1" | cut -d'"' -f2)" io.vessel1.Image "$2"
}
same_image() { # A B WHAT...: the properties are equal
    local a=$1 b=$2 p
    shift 2
    for p in "$@"; do
        assert_eq "$(iprop "$a" "$p")" "$(iprop "$b" "$p")" "$p of $b is that of $a"
    done
}
untar() { # ARCHIVE DIR
    rm -rf "$2" && mkdir -p "$2" && tar -C "$2" --numeric-owner --xattrs --xattrs-include='*' -xpf "$1"
}
# ExportImage/ExportContainer with one of our fds: busctl (252) cannot send one, and prints no error
# names. Prints the transfer's id, or the error's name and message (and fails).
vexport() { # METHOD NAME FD FORMAT
    python3 - "$@" <<'PY'
import ctypes, sys
sd = ctypes.CDLL("libsystemd.so.0")
class Error(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("message", ctypes.c_char_p), ("need_free", ctypes.c_int)]
bus, reply, err, tid = ctypes.c_void_p(), ctypes.c_void_p(), Error(), ctypes.c_uint32()
assert sd.sd_bus_open_system(ctypes.byref(bus)) >= 0
method, name, fd, fmt = sys.argv[1:5]
r = sd.sd_bus_call_method(bus, b"io.vessel1", b"/io/vessel1", b"io.vessel1.Manager", method.encode(),
                          ctypes.byref(err), ctypes.byref(reply), b"shs", name.encode(), ctypes.c_int(int(fd)),
                          fmt.encode())
if r < 0:
    print("%s: %s" % (err.name.decode(), err.message.decode()))
    sys.exit(1)
assert sd.sd_bus_message_read(reply, b"u", ctypes.byref(tid)) > 0
print(tid.value)
PY
}
bus_error() { # METHOD NAME FORMAT → the D-Bus error name, or "ok"
    local out
    out=$(vexport "$1" "$2" 3 "$3" 3>/dev/null) && echo ok || echo "${out%%:*}"
}

# ---- oci-archive: the blobs as imported, byte for byte; the same digests after a round trip --------
vesselctl import "$FIX/oci.tar" ex/oci >/dev/null
pid=$(vesseld_pid) # started by that call, if it was not running
vesselctl export ex/oci "$OUT/oci.tar"
skopeo inspect oci-archive:"$OUT/oci.tar" >/dev/null || fail "skopeo cannot read the oci-archive"
untar "$FIX/oci.tar" "$OUT/fix-oci"
untar "$OUT/oci.tar" "$OUT/our-oci"
diff -r "$OUT/fix-oci/blobs" "$OUT/our-oci/blobs" || fail "the exported blobs differ from the imported ones"
assert_contains "$(cat "$OUT/our-oci/index.json")" '"io.containerd.image.name":"docker.io/ex/oci:latest"' "the name in index.json"
vesselctl import "$OUT/oci.tar" ex/oci-again >/dev/null
same_image ex/oci ex/oci-again Digest Id Layers
# nameless, it is the archive's own name
assert_eq "ex/oci:latest" "$(vesselctl import --force "$OUT/oci.tar")" "the archive names itself"
same_image ex/oci-again ex/oci Digest
# one image always makes the same archive
vesselctl export ex/oci "$OUT/oci2.tar"
cmp "$OUT/oci.tar" "$OUT/oci2.tar" || fail "two exports of one image differ"

# ---- docker-archive: config and layer tars as imported; the same digests after a round trip --------
vesselctl import "$FIX/docker.tar" >/dev/null
vesselctl export --format=docker-archive vessel/test:v1 "$OUT/docker.tar"
skopeo inspect docker-archive:"$OUT/docker.tar" >/dev/null || fail "skopeo cannot read the docker-archive"
untar "$FIX/docker.tar" "$OUT/fix-docker"
untar "$OUT/docker.tar" "$OUT/our-docker"
n=0
for f in "$OUT"/our-docker/*.json "$OUT"/our-docker/*.tar; do
    [ "${f##*/}" = manifest.json ] && continue
    cmp "$f" "$OUT/fix-docker/${f##*/}" || fail "${f##*/} differs from the imported one"
    n=$((n + 1))
done
assert_eq 3 "$n" "the config and two layers"
assert_contains "$(cat "$OUT/our-docker/manifest.json")" '"RepoTags":["vessel/test:v1"]' "RepoTags"
vesselctl import "$OUT/docker.tar" ex/docker-again >/dev/null
same_image vessel/test:v1 ex/docker-again Digest Id Layers

# ---- across formats ---------------------------------------------------------------------------------
# an OCI image as a docker-archive: the same config and layers (the manifest is docker's to make)
vesselctl export --format=docker-archive ex/oci "$OUT/oci-as-docker.tar"
skopeo inspect docker-archive:"$OUT/oci-as-docker.tar" >/dev/null || fail "skopeo cannot read it"
vesselctl import "$OUT/oci-as-docker.tar" ex/oci-docker >/dev/null
same_image ex/oci ex/oci-docker Id Layers
compare_with_umoci ex/oci-docker "$FIX/U/rootfs"
# a docker-archive's image as an oci-archive: the same digest
vesselctl export vessel/test:v1 "$OUT/docker-as-oci.tar"
skopeo inspect oci-archive:"$OUT/docker-as-oci.tar" >/dev/null || fail "skopeo cannot read it"
vesselctl import "$OUT/docker-as-oci.tar" ex/docker-oci >/dev/null
same_image vessel/test:v1 ex/docker-oci Digest Id Layers
# a tarball that came through a pipe was kept too
vesselctl import --format=tar - ex/tar <"$FIX/rootfs.tar.xz" >/dev/null
vesselctl export ex/tar - >"$OUT/tar-oci.tar"
vesselctl import "$OUT/tar-oci.tar" ex/tar-again >/dev/null
same_image ex/tar ex/tar-again Digest Id Layers

# ---- the flattened root file system: what umoci unpacks ---------------------------------------------
vesselctl export --format=tar ex/oci "$OUT/rootfs.tar"
untar "$OUT/rootfs.tar" "$OUT/root"
diff <(tree_manifest "$FIX/U/rootfs") <(tree_manifest "$OUT/root") || fail "the exported root differs from umoci's unpack"
if x=$(getfattr --only-values -n user.vessel "$FIX/U/rootfs/data/h1" 2>/dev/null); then
    assert_eq "$x" "$(getfattr --only-values -n user.vessel "$OUT/root/data/h1" 2>/dev/null)" "xattrs kept"
fi
# one layer (with a hardlink pair), written to a pipe
vesselctl import --ref=base "$FIX/L" ex/base >/dev/null
vesselctl export --format=tar ex/base - | cat >"$OUT/base.tar"
untar "$OUT/base.tar" "$OUT/base"
diff <(tree_manifest "$FIX/UB/rootfs") <(tree_manifest "$OUT/base") || fail "the exported base differs from umoci's unpack"
# and it imports as a plain root file system
vesselctl import "$OUT/rootfs.tar" ex/flat >/dev/null
compare_with_umoci ex/flat "$FIX/U/rootfs"

# ---- a container: its image's files, what it wrote, not what it deleted; it need not run -------------
vesselctl run --name exc1 --network=none -u 0 ex/oci -c 'echo written >/data/new; busybox rm /data/h1 /bin/ls;
    busybox rm -r /usr/share/doc; busybox mkdir /usr/share/doc; echo y >/usr/share/doc/y' >/dev/null
vesselctl export exc1 "$OUT/c.tar"
list=$'\n'$(tar -tf "$OUT/c.tar")$'\n'
assert_contains "$list" $'\ndata/new\n' "a file it wrote"
assert_contains "$list" $'\nusr/share/doc/y\n' "a directory it made again"
assert_contains "$list" $'\nbin/busybox\n' "its image's files"
for gone in data/h1 bin/ls usr/share/doc/c; do
    case $list in *$'\n'$gone$'\n'*) fail "$gone, deleted in the container, is in its export" ;; esac
done
assert_eq written "$(tar -xOf "$OUT/c.tar" data/new)" "its content"
out=$(vexport ExportContainer exc1 3 oci-archive 3>/dev/null || true)
assert_contains "$out" "expected tar" "a container exports as tar only"

# PrivateUsers: what it wrote belongs to its root in the export, not to the host uid it has
vcall RunContainer 'ssa(sv)' exc2 ex/oci 4 Command as 2 -c 'echo u >/u; busybox chown 1000:1000 /u' User s 0 \
    PrivateUsers s pick Network s none >/dev/null
vcall WaitContainer s exc2 >/dev/null
vesselctl export exc2 - >"$OUT/c2.tar"
assert_contains "$(tar --numeric-owner -tvf "$OUT/c2.tar" u)" "1000/1000" "ids of the container, not of the host"
assert_contains "$(tar --numeric-owner -tvf "$OUT/c2.tar" bin/busybox)" "0/0" "image files stay root's"

# ---- cancel: an export to a pipe nobody reads ---------------------------------------------------------
transfers() { vcall ListTransfers | grep -o '"/io/vessel1/transfer/[0-9]*"' | tr -d '"' || true; }
mkfifo "$OUT/stall"
exec 3<>"$OUT/stall" # both ends ours, never read: the worker blocks once the pipe is full
id=$(vexport ExportImage ex/oci 3 oci-archive)
path=/io/vessel1/transfer/$id
wait_until 10 sh -c "busctl get-property io.vessel1 $path io.vessel1.Transfer BytesTotal | grep -vq '^t 0$'"
sleep 0.5
assert_contains "$(transfers)" "$path" "the stalled export is still running"
# a container being exported cannot be removed under it
vcall RunContainer 'ssa(sv)' exc3 ex/oci 3 Command as 2 -c 'sleep 1000' User s 0 Network s none >/dev/null
cid=$(vexport ExportContainer exc3 3 tar)
out=$(vcall RemoveContainer sb exc3 true 2>&1 || true)
assert_contains "$out" "is being exported" "no removal while exporting"
vcall CancelTransfer u "$id" >/dev/null
vcall CancelTransfer u "$cid" >/dev/null
wait_until 10 sh -c "! busctl --timeout=5 call io.vessel1 /io/vessel1 io.vessel1.Manager ListTransfers | grep -q transfer/"
exec 3>&-
# running, it exports all the same
assert_contains $'\n'"$(vesselctl export exc3 - | tar -t)"$'\n' $'\nbin/busybox\n' "the export of a running container"
vcall RemoveContainer sb exc3 true >/dev/null
# through vesselctl: Ctrl-C cancels, and nothing is left of the file
mkfifo "$OUT/stall2"
exec 4<>"$OUT/stall2"
vesselctl export ex/oci - >"$OUT/stall2" 2>"$OUT/err" &
ctl=$!
wait_until 10 sh -c "busctl --timeout=5 call io.vessel1 /io/vessel1 io.vessel1.Manager ListTransfers | grep -q transfer/"
kill -INT $ctl
rc=0 && wait $ctl || rc=$?
exec 4>&-
assert_eq 1 "$rc" "vesselctl export fails when canceled"
assert_contains "$(cat "$OUT/err")" "Export canceled" "says so"

# ---- errors -----------------------------------------------------------------------------------------
assert_eq io.vessel1.Error.NoSuchImage "$(bus_error ExportImage no/such:image oci-archive)" "missing image"
assert_eq io.vessel1.Error.NoSuchContainer "$(bus_error ExportContainer no-such-container tar)" "missing container"
assert_eq org.freedesktop.DBus.Error.InvalidArgs "$(bus_error ExportImage ex/oci zip)" "unknown format"
out=$(vexport ExportImage ex/oci 3 tar 3<"$FIX/oci.tar" || true)
assert_contains "$out" "not open for writing" "a read-only fd is refused"
out=$(vesselctl export no/such:image "$OUT/none.tar" 2>&1 || true)
assert_eq "vesselctl: No image or container named 'no/such:image'." "$out" "vesselctl: neither an image nor a container"
[ ! -e "$OUT/none.tar" ] || fail "a failed export leaves its file behind"
# a file that was there stays as it was when an export fails, and is replaced when one succeeds
echo keep >"$OUT/kept.tar"
out=$(vesselctl export no-such "$OUT/kept.tar" 2>&1 || true)
assert_eq keep "$(cat "$OUT/kept.tar")" "a failed export (no such name) keeps the file"
out=$(vesselctl export --format=zip ex/oci "$OUT/kept.tar" 2>&1 || true)
assert_contains "$out" "zip" "unknown format"
assert_eq keep "$(cat "$OUT/kept.tar")" "a failed export (bad format) keeps the file"
vesselctl export --format=tar ex/oci "$OUT/kept.tar"
assert_contains $'\n'"$(tar -tf "$OUT/kept.tar")"$'\n' $'\nbin/busybox\n' "a successful export replaces the file"
assert_eq "" "$(ls -a "$OUT" | grep vessel- || true)" "no temporary file left"

# ---- a store that lost or damaged a blob: a clear error, no archive left; the flat tar still works ----
blob=$(iprop ex/tar Layers | grep -o 'sha256:[0-9a-f]*' | cut -d: -f2) # a tarball's blob is its tar
mv "$STORE/blobs/sha256/$blob" "$OUT/saved-blob"
out=$(vesselctl export ex/tar "$OUT/x.tar" 2>&1 || true)
assert_contains "$out" "sha256:$blob is not in the store" "a missing blob"
[ ! -e "$OUT/x.tar" ] || fail "a refused export leaves its file behind"
vesselctl export --format=tar ex/tar - | tar -t >/dev/null
cp "$OUT/saved-blob" "$STORE/blobs/sha256/$blob"
printf 'X' | dd of="$STORE/blobs/sha256/$blob" bs=1 seek=4000 conv=notrunc status=none
out=$(vesselctl export ex/tar "$OUT/x.tar" 2>&1 || true)
assert_contains "$out" "sha256:$blob in the store is damaged" "a damaged blob"
[ ! -e "$OUT/x.tar" ] || fail "a failed export leaves its file behind"
cp "$OUT/saved-blob" "$STORE/blobs/sha256/$blob"

# ---- vesseld kept serving, in the same process, with no transfer left ---------------------------------
vcall ListImages >/dev/null
assert_eq "$pid" "$(vesseld_pid)" "vesseld did not restart"
assert_eq "" "$(transfers)" "no transfer left"

echo ok
