# Sourced by the image tests after lib.sh and vessel.sh: the image fixtures, built with umoci and
# skopeo once and shared, and helpers that compare trees. Runs inside the box.

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
