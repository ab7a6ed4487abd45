#!/bin/bash
# Images: import of OCI layouts, oci-archive, docker-archive and plain tarballs built with umoci and
# skopeo; each unpack compared file for file with umoci's; shared layers stored once; errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

command -v umoci >/dev/null || skip "umoci not installed"
command -v skopeo >/dev/null || skip "skopeo not installed"

FIX=/srv/vessel-fixtures/images
STORE=/var/lib/vessel

# ---- fixtures: built once, shared by the image tests -----------------------------------------------
# L:base    one layer: a busybox root with setuid, hardlinks, owners, a sticky dir, a fifo, a device
# L:latest  base + a layer deleting files (whiteouts) and replacing a directory (opaque), with a config
ensure_image_fixtures() {
    [ -e "$FIX/.complete" ] && return 0
    local tmp="$FIX.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp" && (
        set -e
        cd "$tmp"
        umoci init --layout L
        umoci new --image L:base
        umoci unpack --image L:base B >/dev/null
        R=B/rootfs
        mkdir -p $R/bin $R/etc $R/usr/share/doc $R/data/sub $R/tmp $R/dev $R/proc $R/sys $R/opt/old
        cp /bin/busybox $R/bin/
        for a in sh ls cat echo env id pwd sleep true false stat; do ln -s busybox "$R/bin/$a"; done
        echo hello >$R/etc/motd
        printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/data:/bin/sh\n' >$R/etc/passwd
        printf 'root:x:0:\nuser:x:1000:\n' >$R/etc/group
        echo doc1 >$R/usr/share/doc/a && echo doc2 >$R/usr/share/doc/b
        echo x >$R/data/sub/x && echo old >$R/opt/old/file
        chmod 4755 $R/bin/busybox
        echo hl >$R/data/h1 && ln $R/data/h1 $R/data/h2 && chown 1000:1000 $R/data/h1
        chmod 1777 $R/tmp && chmod 2750 $R/data/sub && chown 0:1000 $R/data/sub
        mkfifo $R/data/fifo && mknod $R/data/null c 1 3
        ln -s /etc/motd $R/data/abs-link && ln -s ../etc/motd $R/data/rel-link
        setfattr -n user.vessel -v yes $R/data/h1 2>/dev/null || true
        umoci repack --image L:base B >/dev/null
        rm -rf B
        # latest = base + a layer on top (repack stacks on the manifest the bundle was unpacked from)
        umoci unpack --image L:base B >/dev/null
        rm -f $R/etc/motd $R/data/h2
        rm -rf $R/usr/share/doc && mkdir $R/usr/share/doc && echo new >$R/usr/share/doc/c
        echo more >$R/data/more
        umoci repack --image L:latest B >/dev/null
        umoci config --image L:latest --config.entrypoint /bin/sh --config.cmd=-c \
            --config.cmd='echo hi from image' --config.env FOO=bar --config.env PATH=/bin \
            --config.workingdir /data --config.user 1000:1000 --config.label vessel.test=yes >/dev/null
        umoci gc --layout L
        # the same image as other formats, and a zstd layout
        skopeo copy -q oci:L:latest oci-archive:oci.tar:latest
        skopeo copy -q oci:L:latest docker-archive:docker.tar:vessel/test:v1
        skopeo copy -q --dest-compress-format zstd oci:L:latest oci:Z:latest
        # umoci's unpack, the reference
        umoci unpack --image L:latest U >/dev/null
        umoci unpack --image L:base UB >/dev/null
        # a plain root filesystem tarball, gzip and xz
        tar -C UB/rootfs -czf rootfs.tar.gz --numeric-owner --xattrs .
        tar -C UB/rootfs -cJf rootfs.tar.xz --numeric-owner .
        rm -rf B
    ) >"$FIX.log" 2>&1 || { cat "$FIX.log"; fail "building the image fixtures"; }
    touch "$tmp/.complete"
    rm -rf "$FIX" && mv "$tmp" "$FIX"
}
ensure_image_fixtures

# busctl's 'h' sends the fd number it is given; open the input on fd 3
vimport() { # FILE-OR-DIR NAME REF FORMAT FORCE → transfer path; waits for the end, prints the result
    local src=$1 name=$2 ref=$3 format=$4 force=${5:-false}
    vesselctl import ${ref:+--ref="$ref"} ${force:+$([ "$force" = true ] && echo --force)} \
        ${format:+--format="$format"} "$src" $name
}

# Lists "type mode uid:gid size target-or-hash" for every path of a tree, and hardlink groups by
# inode, so that two trees can be compared with diff.
tree_manifest() { # DIR
    (cd "$1" && find . -mindepth 1 ! -path './dev/*' ! -path './proc/*' ! -path './sys/*' -printf '%p %y %m %U:%G ' \
        -exec sh -c 'if [ -L "$1" ]; then readlink "$1"; elif [ -f "$1" ]; then sha256sum <"$1" | cut -c1-16; elif [ -b "$1" ] || [ -c "$1" ]; then stat -c "%t:%T" "$1"; else echo; fi' _ {} \; |
        sort)
    (cd "$1" && find . -type f -links +1 -printf '%i %p\n' | sort | awk '{ g[$1] = g[$1] " " $2 } END { for (i in g) print "hardlinks" g[i] }' | sort)
}

# The merged root of an image as a container sees it: its layers as overlay lowers, read-only.
mount_image() { # NAME MOUNTPOINT
    local lowers
    lowers=$(busctl get-property io.vessel1 "$(vcall GetImage s "$1" | cut -d'"' -f2)" io.vessel1.Image Layers |
        tr ' ' '\n' | grep sha256 | tr -d '"' | sed "s|sha256:|$STORE/layers/|" | tac | paste -sd:)
    mkdir -p "$2"
    if [[ $lowers == *:* ]]; then
        mount -t overlay -o "ro,lowerdir=$lowers" vessel-test "$2"
    else
        mount --bind -o ro "$lowers" "$2"
    fi
}

compare_with_umoci() { # NAME UMOCI-ROOTFS
    local mnt=/run/vessel-test-mnt.$$
    mount_image "$1" "$mnt"
    if ! diff <(tree_manifest "$2") <(tree_manifest "$mnt"); then
        umount "$mnt"
        fail "$1 differs from umoci's unpack of the same image"
    fi
    umount "$mnt"
}

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

# the image's properties
out=$(vesselctl image-status img/oci)
assert_contains "$out" "Entrypoint: /bin/sh" "entrypoint shown"
assert_contains "$out" "Command: -c 'echo hi from image'" "command shown"
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
for i in img/oci-archive:latest vessel/test:v1 img/zstd:latest img/base:latest img/tar:gz img/tar:xz; do
    vesselctl rmi "$i"
done
assert_eq 0 "$(ls "$STORE/layers" | wc -l)" "no layer left"
out=$(vesselctl prune)
assert_contains "$out" "Removed 0 unused layers" "prune"
vesselctl df >/dev/null

echo ok
