#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# security-store.bats — the import path as an attacker sees it (issue 12:
# items 6, 7, 8, 13 and the whiteout and spool-name parts of 15): layers
# that are not the image's, names taken silently, recorded image keys
# resolved in the working directory, JSON and layer counts that exhaust the
# helper, whiteouts that name '.' or '..', spool names that collide.
#
# The malicious archives are made here with python3 (craft.py, mklayer.py
# written by setup_file); every failed import must leave the store as it
# was: `nroot images` unchanged and nothing in tmp/.

load helpers

setup_file() {
    cat >"$BATS_FILE_TMPDIR/craft.py" <<'PY'
#!/usr/bin/env python3
"""craft.py OUT [options]: a docker-archive or an OCI archive (a tar) with
the layers given, for tests of malicious imports."""
import argparse, gzip, hashlib, io, json, os, platform, sys, tarfile

p = argparse.ArgumentParser()
p.add_argument('out')
p.add_argument('--format', default='docker', choices=['docker', 'oci'])
p.add_argument('--config', default='{}', help="the image config's 'config' object (JSON)")
p.add_argument('--layer', action='append', default=[], help='FILE or FILE:gz')
p.add_argument('--diff-of', action='append', help='diff_ids of these tars instead')
p.add_argument('--tag', action='append', default=[])
p.add_argument('--config-name', help='docker: the config member name')
p.add_argument('--member', action='append', default=[], help='NAME=FILE, added last')
p.add_argument('--gzip', action='store_true', help='compress the whole archive')
p.add_argument('--manifest', help='docker: manifest.json verbatim (a file)')
a = p.parse_args()

arch = {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(platform.machine(), platform.machine())
sha = lambda b: hashlib.sha256(b).hexdigest()
members = []          # (name, bytes)
layers = []           # (blob bytes, diff bytes)
for spec in a.layer:
    f, _, comp = spec.partition(':')
    raw = open(f, 'rb').read()
    blob = gzip.compress(raw, mtime=0) if comp == 'gz' else raw
    layers.append((blob, raw))
diffs = [sha(open(f, 'rb').read()) for f in a.diff_of] if a.diff_of else [sha(r) for _, r in layers]
config = json.dumps({'architecture': arch, 'os': 'linux', 'config': json.loads(a.config),
                     'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + d for d in diffs]}}).encode()
if a.format == 'docker':
    names = []
    for blob, _ in layers:
        n = sha(blob) + '/layer.tar'
        members.append((n, blob))
        names.append(n)
    cname = a.config_name or sha(config) + '.json'
    members.append((cname, config))
    man = open(a.manifest, 'rb').read() if a.manifest else json.dumps(
        [{'Config': cname, 'RepoTags': a.tag, 'Layers': names}]).encode()
    members.insert(0, ('manifest.json', man))
else:
    blobs, descs = [], []
    for blob, _ in layers:
        blobs.append(blob)
        descs.append({'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'digest': 'sha256:' + sha(blob), 'size': len(blob)})
    man = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                      'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': 'sha256:' + sha(config), 'size': len(config)},
                      'layers': descs}).encode()
    blobs += [config, man]
    ann = {'org.opencontainers.image.ref.name': a.tag[0]} if a.tag else {}
    index = json.dumps({'schemaVersion': 2, 'manifests': [{'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                        'digest': 'sha256:' + sha(man), 'size': len(man), 'annotations': ann}]}).encode()
    members.append(('oci-layout', b'{"imageLayoutVersion":"1.0.0"}'))
    members.append(('index.json', index))
    for b in blobs:
        members.append(('blobs/sha256/' + sha(b), b))
for m in a.member:
    n, _, f = m.partition('=')
    members.append((n, open(f, 'rb').read()))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
    for n, data in members:
        ti = tarfile.TarInfo(n)
        ti.size = len(data)
        ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
out = buf.getvalue()
open(a.out, 'wb').write(gzip.compress(out, mtime=0) if a.gzip else out)
PY
    cat >"$BATS_FILE_TMPDIR/mklayer.py" <<'PY'
#!/usr/bin/env python3
"""mklayer.py OUT ENTRY...: a layer tar.  ENTRY: f:PATH=TEXT (file),
d:PATH (directory), l:PATH=TARGET (symlink), h:PATH=TARGET (hard link)"""
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    for spec in sys.argv[2:]:
        kind, _, rest = spec.partition(':')
        path, _, val = rest.partition('=')
        ti = tarfile.TarInfo(path)
        ti.mode = 0o755 if kind == 'd' else 0o644
        data = None
        if kind == 'f':
            data = val.encode()
            ti.size = len(data)
        elif kind == 'd':
            ti.type = tarfile.DIRTYPE
        elif kind == 'l':
            ti.type, ti.linkname = tarfile.SYMTYPE, val
        elif kind == 'h':
            ti.type, ti.linkname = tarfile.LNKTYPE, val
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
PY
}

teardown() {
    teardown_containers
}

craft() { python3 "$BATS_FILE_TMPDIR/craft.py" "$@"; }
mklayer() { python3 "$BATS_FILE_TMPDIR/mklayer.py" "$@"; }

# what `nroot images` and the store's tmp/ show: a failed import changes
# neither (names, ids and sizes: CREATED moves with the clock)
store_state() {
    "$NROOT" images --no-trunc 2>&1 | awk '{ print $1, $2, $3 }'
    ls -A "$STORE/tmp" 2>/dev/null || true
}

# assert_store_kept BEFORE: the store is as BEFORE was taken, nothing in tmp/
assert_store_kept() {
    assert_equal "$(store_state)" "$1"
    [ -z "$(ls -A "$STORE/tmp" 2>/dev/null)" ] || fail "tmp/ is not empty: $(ls -A "$STORE/tmp")"
}

# the error line (notices left out) of the last failed run
error_line() {
    printf '%s\n' "${stderr_lines[@]}" | grep -m1 '^nroot: error: '
}

# ------------------------------------------------------------ item 6 --

@test "security-store: a gzip layer that does not match its diff_id: 125 naming the layer, nothing stored" {
    local t=$BATS_TEST_TMPDIR before
    mklayer "$t/evil.tar" d:bin f:bin/evil=pwned
    # the genuine config (diff_id of rootfs.tar), the attacker's layer
    craft "$t/poison.tar" --layer "$t/evil.tar:gz" --diff-of "$IMAGES/rootfs.tar" --tag victim:latest
    run_nroot 125 import "$t/poison.tar"
    assert_nroot_error 'layer 1 of 1.*diff_id'
    assert_store_has_no_image "$STORE"
    # and in a store that holds an image: left as it was
    run_nroot 0 import --name other "$IMAGES/rootfs.tar"
    before=$(store_state)
    run_nroot 125 import "$t/poison.tar"
    assert_nroot_error 'layer 1 of 1.*diff_id'
    assert_store_kept "$before"
}

@test "security-store: a digest-named layer that is not the config's: 125 for docker and OCI archives" {
    local t=$BATS_TEST_TMPDIR fmt before
    mklayer "$t/evil.tar" d:bin f:bin/evil=pwned
    for fmt in docker oci; do
        # the layer's own digest is right (its name, its descriptor), its diff_id is not
        craft "$t/poison.$fmt" --format "$fmt" --layer "$t/evil.tar" --diff-of "$IMAGES/rootfs.tar"
        before=$(store_state)
        run_nroot 125 run "$t/poison.$fmt" true
        assert_nroot_error 'diff_id'
        assert_store_kept "$before"
    done
    assert_store_has_no_image "$STORE"
}

@test "security-store: an image config without diff_ids is refused (its layers cannot be verified)" {
    local t=$BATS_TEST_TMPDIR m
    craft "$t/ok.tar" --layer "$IMAGES/rootfs.tar"
    mkdir "$t/x" && tar -C "$t/x" -xf "$t/ok.tar"
    m=$(jq -r '.[0].Config' "$t/x/manifest.json")
    jq -c 'del(.rootfs)' "$t/x/$m" >"$t/x/config.json"
    jq -c '.[0].Config = "config.json"' "$t/x/manifest.json" >"$t/x/m" && mv "$t/x/m" "$t/x/manifest.json"
    rm "$t/x/$m"
    (cd "$t/x" && tar -cf "$t/nodiff.tar" manifest.json config.json */layer.tar)
    run_nroot 125 run "$t/nodiff.tar" true
    assert_nroot_error 'diff_ids'
    assert_store_has_no_image "$STORE"
}

@test "security-store: a stored tree without a layer chain (an older nroot's) is not reused: the verified one replaces it" {
    local t=$BATS_TEST_TMPDIR d
    craft "$t/genuine.tar" --layer "$IMAGES/rootfs.tar:gz" --config '{"Env": ["GENUINE=1"]}'
    run_nroot 0 import "$t/genuine.tar"
    d=$(ls "$STORE/images")
    # what an older nroot left: no chain=, and (say) a poisoned tree
    sed -i '/^chain=/d' "$STORE/images/$d/info"
    as_mapped_root sh -c 'echo evil >"$1/rootfs/POISONED"' sh "$STORE/images/$d"
    cp "$t/genuine.tar" "$t/again.tar"
    run_nroot 0 run "$t/again.tar" sh -c 'ls /POISONED 2>/dev/null; echo "[$GENUINE]"'
    assert_output "[1]"
    [[ $stderr == *"replaced by the one just verified"* ]] || fail "no word of the replacement: $stderr"
    grep -q '^chain=[0-9a-f]\{64\}$' "$STORE/images/$d/info" || fail "no chain recorded"
    # and the first file, cached, runs the verified tree too
    run_nroot 0 run "$t/genuine.tar" sh -c 'ls /POISONED 2>/dev/null; echo ok'
    assert_output "ok"
    [ -z "$(ls -A "$STORE/tmp")" ] || fail "the replaced tree is left in tmp/: $(ls -A "$STORE/tmp")"
}

@test "security-store: the same image from another file with the same chain is reused, not unpacked again" {
    local t=$BATS_TEST_TMPDIR d
    craft "$t/a.tar" --layer "$IMAGES/rootfs.tar"
    craft "$t/b.tar" --layer "$IMAGES/rootfs.tar:gz"   # same diff_ids, same config: same id
    run_nroot 0 import "$t/a.tar"
    d=$(ls "$STORE/images")
    as_mapped_root sh -c 'echo mark >"$1/rootfs/MARK"' sh "$STORE/images/$d"
    run_nroot 0 import "$t/b.tar"
    [ -e "$STORE/images/$d/rootfs/MARK" ] || fail "a tree with the same chain was not reused"
    [[ $stderr != *replaced* ]] || fail "replaced a tree of the same chain: $stderr"
}

# ------------------------------------------------------------ item 7 --

@test "security-store: an archive's RepoTags moving a name from another image: a warning with both ids" {
    local t=$BATS_TEST_TMPDIR a b
    craft "$t/a.tar" --layer "$IMAGES/rootfs.tar" --config '{"Env": ["WHO=a"]}' --tag victim/busybox:latest
    craft "$t/b.tar" --layer "$IMAGES/rootfs.tar" --config '{"Env": ["WHO=b"]}' --tag victim/busybox:latest
    run_nroot 0 import "$t/a.tar"
    a=$output
    run_nroot 0 import "$t/b.tar"
    b=$output
    [[ $stderr == *"the name 'victim/busybox:latest' was on image ${a:0:12}, now on ${b:0:12}"* ]] ||
        fail "no warning naming the old id: $stderr"
    # the same image again: the name stays where it is, nothing to say
    run_nroot 0 import "$t/b.tar"
    [[ $stderr != *"was on image"* ]] || fail "warned about a name that did not move: $stderr"
}

# ------------------------------------------------------------ item 8 --

@test "security-store: exec and start resolve the container's image in the store, never in the working directory" {
    local t=$BATS_TEST_TMPDIR id
    craft "$t/good.tar" --layer "$IMAGES/rootfs.tar" --config '{"Env": ["GOOD=1"]}'
    run_nroot 0 run --name keyed "$t/good.tar" sh -c 'echo "[$GOOD$PWNED]"'
    assert_output "[1]"
    id=$("$NROOT" images -q --no-trunc)
    [[ $id =~ ^[0-9a-f]{64}$ ]] || fail "no image id: $id"
    # a file named like the recorded key, planted where the user works
    mkdir "$t/work"
    craft "$t/work/$id" --layer "$IMAGES/rootfs.tar" --config '{"Env": ["PWNED=pwned", "LD_PRELOAD=/evil.so"]}'
    cd "$t/work"
    run_nroot 0 start --attach keyed
    assert_output "[1]"
    run_nroot 0 run -d --name bg "$t/good.tar" sleep 1000
    run_nroot 0 exec bg sh -c 'echo "[$GOOD$PWNED$LD_PRELOAD]"'
    assert_output "[1]"
    assert_equal "$("$NROOT" images -q --no-trunc)" "$id"
    # a user's IMAGE argument keeps its rule: an existing file wins
    run_nroot 0 run "$id" sh -c 'echo "[$PWNED]"'
    assert_output "[pwned]"
}

# ----------------------------------------------------------- item 13 --

@test "security-store: deeply nested JSON (manifest.json, config): one-line 125, no crash" {
    local t=$BATS_TEST_TMPDIR before
    python3 -c 'print("[" * 200000)' >"$t/deep.json"
    craft "$t/deep.tar" --layer "$IMAGES/rootfs.tar" --manifest "$t/deep.json"
    before=$(store_state)
    run_nroot 125 import "$t/deep.tar"
    assert_nroot_error "manifest\.json.*nested more than 64 levels"
    assert_store_kept "$before"
    # a config nested too deep, in an OCI archive (its digest right)
    craft "$t/deepcfg.tar" --format oci --layer "$IMAGES/rootfs.tar" \
        --config "$(python3 -c 'print("{\"Labels\": " + "[" * 100 + "]" * 100 + "}")')"
    run_nroot 125 import "$t/deepcfg.tar"
    assert_nroot_error "nested more than 64 levels"
    assert_store_kept "$before"
}

@test "security-store: image metadata over 4 MiB is refused before it is parsed" {
    local t=$BATS_TEST_TMPDIR before
    craft "$t/ok.tar" --layer "$IMAGES/rootfs.tar" --tag big:latest
    tar -xOf "$t/ok.tar" manifest.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
m[0]["Padding"] = "x" * (5 << 20)
print(json.dumps(m))' >"$t/big.json"
    craft "$t/big.tar" --layer "$IMAGES/rootfs.tar" --manifest "$t/big.json"
    before=$(store_state)
    run_nroot 125 import "$t/big.tar"
    assert_nroot_error "manifest\.json.*too large"
    assert_store_kept "$before"
}

@test "security-store: more than 500 layers: 125 saying the limit; 500 import in reasonable time" {
    local t=$BATS_TEST_TMPDIR i args=() t0 before
    mkdir "$t/l"
    for i in $(seq 1 501); do
        args+=(--layer "$t/l/$i.tar")
    done
    python3 -c '
import io, sys, tarfile
for i in range(1, 502):
    with tarfile.open(f"{sys.argv[1]}/{i}.tar", "w") as t:
        data = str(i).encode()
        ti = tarfile.TarInfo(f"layer{i}")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))' "$t/l"
    craft "$t/many.tar" --layer "$IMAGES/rootfs.tar" "${args[@]:0:1000}"
    before=$(store_state)
    run_nroot 125 import "$t/many.tar"
    assert_nroot_error "501 layers.*at most 500"
    assert_store_kept "$before"
    craft "$t/500.tar" --layer "$IMAGES/rootfs.tar" "${args[@]:0:998}"
    t0=$SECONDS
    run_nroot 0 run "$t/500.tar" cat /layer499
    assert_output "499"
    [ $((SECONDS - t0)) -le 10 ] || fail "500 layers took $((SECONDS - t0)) s"
}

# ----------------------------------------------------------- item 15 --

@test "security-store: whiteouts naming '.', '..' or nothing are refused, the lower layer intact" {
    local t=$BATS_TEST_TMPDIR w before
    for w in .wh.. .wh... .wh.; do
        mklayer "$t/wh.tar" d:data "f:data/$w="
        craft "$t/wh-img.tar" --layer "$IMAGES/rootfs.tar" --layer "$t/wh.tar"
        before=$(store_state)
        run_nroot 125 run "$t/wh-img.tar" cat /data/unchanged.txt
        assert_nroot_error "data/${w//./\\.}'.*whiteout"
        assert_store_kept "$before"
    done
}

@test "security-store: spooled members a/b and a%b do not collide (compressed archive)" {
    local t=$BATS_TEST_TMPDIR
    # the genuine config under cfg/x.json; another config as cfg%x.json after it
    craft "$t/evilcfg.tar" --layer "$IMAGES/rootfs.tar" --config '{"Env": ["EVIL=evil"]}'
    tar -xOf "$t/evilcfg.tar" "$(tar -xOf "$t/evilcfg.tar" manifest.json | jq -r '.[0].Config')" >"$t/evil.json"
    craft "$t/spool.tar.gz" --gzip --layer "$IMAGES/rootfs.tar" --config '{"Env": ["GOOD=1"]}' \
        --config-name cfg/x.json --member "cfg%x.json=$t/evil.json"
    run_nroot 0 run "$t/spool.tar.gz" sh -c 'echo "[$GOOD$EVIL]"'
    assert_output "[1]"
}
