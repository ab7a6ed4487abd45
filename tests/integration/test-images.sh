#!/bin/bash
# Images: import of OCI layouts, oci-archive, docker-archive and plain tarballs built with umoci and
# skopeo; each unpack compared file for file with umoci's; shared layers stored once; errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"
. "$(dirname "$0")/images.sh"

command -v umoci >/dev/null || skip "umoci not installed"
command -v skopeo >/dev/null || skip "skopeo not installed"
ensure_image_fixtures

on_exit vcall RemoveImage s img/oci:latest
on_exit vcall RemoveImage s img/oci-archive:latest
on_exit vcall RemoveImage s vessel/test:v1
on_exit vcall RemoveImage s img/zstd:latest
on_exit vcall RemoveImage s img/base:latest
on_exit vcall RemoveImage s img/tar:gz
on_exit vcall RemoveImage s img/tar:xz

# an OCI layout directory
vesselctl import --ref=latest "$FIX/L" img/oci >/dev/null
compare_with_umoci img/oci:latest "$FIX/U/rootfs"
layers=$(ls "$STORE/layers" | grep -cv '\.size$')
assert_eq 2 "$layers" "two layers stored"
assert_eq 2 "$(ls "$STORE/blobs/sha256" | wc -l)" "the two layer blobs kept, for export"

# its base: the shared layer is stored once
vesselctl import --ref=base "$FIX/L" img/base >/dev/null
assert_eq 2 "$(ls "$STORE/layers" | grep -cv '\.size$')" "the base layer is shared"
compare_with_umoci img/base:latest "$FIX/UB/rootfs"

# oci-archive, docker-archive (named by its own tag), zstd layers
vesselctl import "$FIX/oci.tar" img/oci-archive >/dev/null
compare_with_umoci img/oci-archive:latest "$FIX/U/rootfs"
vesselctl import "$FIX/docker.tar" >/dev/null
compare_with_umoci vessel/test:v1 "$FIX/U/rootfs"
vesselctl import "$FIX/Z" img/zstd >/dev/null
compare_with_umoci img/zstd:latest "$FIX/U/rootfs"

# plain tarballs, also through a pipe
vesselctl import "$FIX/rootfs.tar.gz" img/tar:gz >/dev/null
compare_with_umoci img/tar:gz "$FIX/UB/rootfs"
vesselctl import - img/tar:xz <"$FIX/rootfs.tar.xz" >/dev/null
compare_with_umoci img/tar:xz "$FIX/UB/rootfs"

# a root file system directory, as machinectl import-fs: the same tree, and the same layer again
on_exit vcall RemoveImage s img/dir:latest
on_exit vcall RemoveImage s img/tree:latest
vesselctl import "$FIX/U/rootfs" img/dir >/dev/null
compare_with_umoci img/dir:latest "$FIX/U/rootfs"
layers_of() { busctl get-property io.vessel1 "$(vcall GetImage s "$1" | cut -d'"' -f2)" io.vessel1.Image Layers; }
first=$(layers_of img/dir:latest)
vesselctl import --force --format=tar "$FIX/U/rootfs" img/dir >/dev/null
assert_eq "$first" "$(layers_of img/dir:latest)" "the same tree, the same layer"
assert_eq tar "$(vesselctl images --json | jq -r '.[] | select(.name == "img/dir:latest") | .format')" "format"
# a name is needed, and a file format is refused, before any work
rc=0; err=$(vesselctl import "$FIX/U/rootfs" 2>&1) || rc=$?
assert_eq 1 "$rc" "no name"
assert_contains "$err" "The directory names no image; give a name." "no name message"
rc=0; err=$(vesselctl import --format=oci-archive "$FIX/U/rootfs" img/x 2>&1) || rc=$?
assert_eq 1 "$rc" "file format for a directory"
assert_contains "$err" "the format oci-archive is a file" "file format for a directory: message"
# what is in the tree, as it is: a symlink not followed, a hardlink, a FIFO, a capability; no socket;
# a file system mounted inside stays outside (an empty directory)
D=$(mktemp -d /run/test-images-tree.XXXXXX)
on_exit rm -rf "$D"
mkdir "$D/proc" "$D/sub"
mount -t proc proc "$D/proc"
on_exit umount "$D/proc"
ln -s /etc/shadow "$D/evil"
echo data >"$D/sub/f"
ln "$D/sub/f" "$D/hl"
mkfifo "$D/fifo"
setcap cap_net_raw+ep "$D/sub/f"
/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/sock"
vesselctl import "$D" img/tree >/dev/null
mnt=/run/vessel-test-tree.$$
mount_image img/tree:latest "$mnt"
on_exit rmdir "$mnt"
tree=$(cd "$mnt" && find . -mindepth 1 -printf '%p %y %n\n' | sort)
caps=$(getcap "$mnt/sub/f")
target=$(readlink "$mnt/evil")
umount "$mnt"
assert_eq $'./evil l 1\n./fifo p 1\n./hl f 2\n./proc d 2\n./sub d 2\n./sub/f f 2' "$tree" "the tree as it is"
assert_contains "$caps" "cap_net_raw=ep" "capability kept"
assert_eq /etc/shadow "$target" "symlink kept, not followed"

# a tree that holds vesseld's own store (a bind on the same file system: not a mount point to
# one_file_system) leaves the store out, with the archive being written in it
on_exit vcall RemoveImage s img/self:latest
S=$STORE/test-self
mkdir -p "$S/tree/store"
# no rm -rf here: with the bind still there, it would go through it into the store
on_exit sh -c "rm -f '$S/tree/file'; rmdir '$S/tree/store' '$S/tree' '$S'"
echo mine >"$S/tree/file"
mount --bind "$STORE" "$S/tree/store"
on_exit sh -c "! mountpoint -q '$S/tree/store' || umount '$S/tree/store'"
vesselctl import "$S/tree" img/self >/dev/null
mnt=/run/vessel-test-self.$$
mount_image img/self:latest "$mnt"
on_exit rmdir "$mnt"
self=$(cd "$mnt" && find . -mindepth 1 | sort | paste -sd' ')
umount "$mnt"
umount "$S/tree/store"
assert_eq "./file" "$self" "the store left out"
vesselctl rmi img/self >/dev/null

# the store outlives vesseld: every image is there again after a restart, the same
before=$(vcall ListImages | tr ' ' '\n' | grep -c '^"img/\|^"vessel/' || true)
systemctl restart vesseld.service
after=$(vcall ListImages | tr ' ' '\n' | grep -c '^"img/\|^"vessel/' || true)
[ "$before" -ge 7 ] || fail "only $before images listed before the restart"
assert_eq "$before" "$after" "images after a restart of vesseld"
compare_with_umoci img/oci:latest "$FIX/U/rootfs"

# the image's properties
out=$(vesselctl image-status img/oci)
assert_contains "$out" "Entrypoint: /bin/sh" "entrypoint shown"
assert_contains "$out" "Command: -c 'echo hi from image'" "command shown"
assert_contains "$out" "           Labels: vessel.test=yes" "labels shown"
assert_eq 1 "$(awk '{ print index($0, ":") }' <<<"$out" | sort -u | wc -l)" "one column of keys: $out"
# a plain tarball has no config: dashes, no key left out
out=$(vesselctl image-status img/tar:gz)
assert_contains "$out" "           Labels: -" "no labels: a dash"
assert_contains "$out" "       Entrypoint: -" "no entrypoint: a dash"
out=$(vesselctl images)
assert_contains "$out" "img/oci:latest" "images lists it"
out=$(vesselctl images --json)
assert_contains "$out" '"img/oci-archive:latest"' "images --json lists it"

# importing over an existing name needs force
out=$(vesselctl import "$FIX/oci.tar" img/oci 2>&1 || true)
assert_contains "$out" "exists already" "no silent replace"
vesselctl import --force "$FIX/oci.tar" img/oci >/dev/null

# containers from images: the config's defaults, overridden as docker run does
on_exit vcleanup imgc1
on_exit vcleanup imgc2
out=$(vesselctl run --rm --network=none img/oci)
assert_eq "hi from image" "$out" "Entrypoint + Cmd"
out=$(vesselctl run --rm --network=none img/oci -c 'echo $FOO $(pwd) $(id -u):$(id -g) $PATH')
assert_eq "bar /data 1000:1000 /bin" "$out" "Command replaces Cmd; Env, WorkingDir, User from the image"
out=$(vesselctl run --rm --network=none -e FOO=mine -w / -u 0 img/oci -c 'echo $FOO $(pwd) $(id -u)')
assert_eq "mine / 0" "$out" "settings override the image's defaults"
out=$(vcall RunContainer 'ssa(sv)' imgc2 img/oci 3 Entrypoint as 2 /bin/echo replaced Command as 1 x Network s none >/dev/null &&
    vcall WaitContainer s imgc2 && journalctl -q -o cat CONTAINER_NAME=imgc2 2>/dev/null | tail -1 || true)
assert_contains "$out" "ii 0 0" "Entrypoint replaced"
vcall RemoveContainer sb imgc2 true >/dev/null

# the layers are read-only lowers: a container's writes go to its own layer
vesselctl run --rm --network=none -u 0 img/oci -c 'echo changed > /etc/passwd; rm /bin/ls' >/dev/null
compare_with_umoci img/oci:latest "$FIX/U/rootfs"

# removing an image in use is refused, naming the container
vcall CreateContainer 'ssa(sv)' imgc1 img/oci 1 Network s none >/dev/null
out=$(vesselctl rmi img/oci 2>&1 || true)
assert_contains "$out" "used by container 'imgc1'" "ImageInUse names the container"
vcall RemoveContainer sb imgc1 true >/dev/null
vesselctl rmi img/oci

# layers no image uses go with the last image that used them; prune finds nothing more
for i in img/oci-archive:latest vessel/test:v1 img/zstd:latest img/base:latest img/tar:gz img/tar:xz img/dir img/tree; do
    vesselctl rmi "$i"
done
assert_eq 0 "$(ls "$STORE/layers" | wc -l)" "no layer left"
assert_eq 0 "$(ls "$STORE/blobs/sha256" | wc -l)" "no blob left"
out=$(vesselctl prune)
assert_contains "$out" "Removed 0 unused layers" "prune"
out=$(vesselctl df)
assert_contains "$out" "blobs" "df counts the blobs"

echo ok
