#!/bin/bash
# Hostile images: each import fails with an error naming the fault and the entry, writes nothing
# outside the store, registers no image, and vesseld keeps serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

FIX=/srv/vessel-fixtures/hostile
TARGET=/srv/vessel-fixtures/hostile-target   # where an escape would write
STORE=/var/lib/vessel

# Writes OCI layouts of one layer each, crafted with Python's tarfile, one directory per case.
build_hostile() {
    [ -e "$FIX/.complete-v1" ] && return 0
    rm -rf "$FIX" && mkdir -p "$FIX" "$TARGET"
    python3 - "$FIX" "$TARGET" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out, target = sys.argv[1], sys.argv[2]

def blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{d}/blobs/sha256", exist_ok=True)
    open(f"{d}/blobs/sha256/{h}", "wb").write(data)
    return {"digest": "sha256:" + h, "size": len(data)}

def layer(entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.linkname = e.get("link", "")
            ti.mode = 0o755 if ti.type == tarfile.DIRTYPE else 0o644
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data))
    tar = raw.getvalue()
    return tar, gzip.compress(tar, 1)

def layout(name, entries=None, platforms=None, tar_gz=None):
    d = f"{out}/{name}"
    os.makedirs(d)
    open(f"{d}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
    tar, gz = tar_gz or layer(entries)
    l = blob(d, gz)
    l["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    cfg = blob(d, json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}).encode())
    cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
    m = blob(d, json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": cfg, "layers": [l]}).encode())
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    if platforms:
        ms = []
        for arch in platforms:
            x = dict(m); x["platform"] = {"os": "linux", "architecture": arch}; ms.append(x)
        idx = blob(d, json.dumps({"schemaVersion": 2, "manifests": ms}).encode())
        idx["mediaType"] = "application/vnd.oci.image.index.v1+json"
        m = idx
    m["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    open(f"{d}/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [m]}))
    return d, l

ok = [{"name": "ok", "data": b"fine"}]
layout("absolute", [{"name": "/etc/vessel-evil", "data": b"x"}])
layout("dotdot", [{"name": "../../../../etc/vessel-evil", "data": b"x"}])
layout("symlink", [{"name": "evil", "type": tarfile.SYMTYPE, "link": target},
                   {"name": "evil/owned", "data": b"x"}])
layout("hardlink", [{"name": "h", "type": tarfile.LNKTYPE, "link": "../../../../etc/passwd"}])
layout("bomb", [{"name": "zeros", "data": bytes(48 << 20)}])
d, l = layout("truncated", ok)
p = f"{d}/blobs/sha256/{l['digest'][7:]}"; data = open(p, "rb").read(); open(p, "wb").write(data[:len(data) // 2])
d, l = layout("digest", ok)
p = f"{d}/blobs/sha256/{l['digest'][7:]}"; data = bytearray(open(p, "rb").read()); data[-5] ^= 0xff; open(p, "wb").write(data)
d, l = layout("missing", ok)
os.unlink(f"{d}/blobs/sha256/{l['digest'][7:]}")
d, l = layout("json", ok)
open(f"{d}/index.json", "w").write('{"schemaVersion": 2, "manifests": [')
layout("platform", ok, platforms=["s390x", "riscv64"])
PY
    touch "$FIX/.complete-v1"
}
build_hostile

# a small MaxLayerSize, so the bomb goes off quickly
mkdir -p /etc/vessel/vesseld.conf.d
printf '[Images]\nMaxLayerSize=16M\n' >/etc/vessel/vesseld.conf.d/50-test-hostile.conf
on_exit rm -f /etc/vessel/vesseld.conf.d/50-test-hostile.conf
systemctl restart vesseld.service

expect_refused() { # CASE NEEDLE...
    local case=$1 out
    shift
    out=$(vesselctl import "$FIX/$case" hostile/$case 2>&1) && fail "$case: the import succeeded"
    for n in "$@"; do
        assert_contains "$out" "$n" "$case: error message"
    done
    assert_fails vcall GetImage s "hostile/$case"
    [ -z "$(ls -A "$TARGET")" ] || fail "$case: wrote into $TARGET"
    [ ! -e /etc/vessel-evil ] || fail "$case: wrote /etc/vessel-evil"
    [ -z "$(ls -A "$STORE/tmp")" ] || fail "$case: left $(ls "$STORE/tmp") in tmp/"
    vcall ListImages >/dev/null   # still serving
}

expect_refused absolute "'/etc/vessel-evil'" "absolute path"
expect_refused dotdot "'../../../../etc/vessel-evil'" "'..'"
expect_refused symlink "'evil/owned'" "symlink"
expect_refused hardlink "entry 'h'" "outside the layer"
expect_refused bomb "MaxLayerSize" "'zeros'"
expect_refused truncated "layer 0" "truncated"
expect_refused digest "layer 0" "digest"
expect_refused missing "layer 0" "missing"
expect_refused json "index.json" "malformed JSON"
expect_refused platform "no manifest in the index for platform linux/"
# a root file system directory too large for a layer: refused while it is archived, nothing left
big=$(mktemp -d /run/vessel-test-big.XXXXXX)
on_exit rm -rf "$big"
truncate -s 32M "$big/sparse"
out=$(vesselctl import "$big" hostile/big 2>&1) && fail "big directory: the import succeeded"
assert_contains "$out" "The archive would exceed MaxLayerSize (16777216 bytes)" "big directory: message"
assert_fails vcall GetImage s hostile/big
[ -z "$(ls -A "$STORE/tmp")" ] || fail "big directory: left $(ls "$STORE/tmp") in tmp/"
assert_eq "a(ssttso) 0" "$(vcall ListImages)" "no image registered"

# cancel: a slow import through a pipe that never ends is canceled and leaves nothing
mkfifo /run/vessel-test-fifo
on_exit rm -f /run/vessel-test-fifo
(sleep 30 >/run/vessel-test-fifo) &
writer=$!
on_exit kill $writer
vesselctl import --format=tar - hostile/cancel </run/vessel-test-fifo >/dev/null 2>&1 &
importer=$!
wait_until 10 sh -c "busctl call io.vessel1 /io/vessel1 io.vessel1.Manager ListTransfers | grep -q '^a(usdo) 1'"
id=$(busctl call io.vessel1 /io/vessel1 io.vessel1.Manager ListTransfers | awk '{ print $3 }')
vcall CancelTransfer u "$id"
wait "$importer" && fail "the canceled import succeeded"
wait_until 10 sh -c "busctl call io.vessel1 /io/vessel1 io.vessel1.Manager ListTransfers | grep -q '^a(usdo) 0'"
assert_fails vcall GetImage s hostile/cancel

echo ok
