#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Images in the formats of other tools: OCI layouts, oci-archives and
# docker-archives (issue 3).  Their config (Env, Entrypoint, Cmd,
# WorkingDir, User), layers with whiteouts, digests, broken and malicious
# archives, the choice of one image among several, the progress bar.
#
# The images come from tests/run (build_oci_images, made with umoci and
# skopeo); the broken and malicious ones are made here from them or from
# layers crafted with tar (craft_oci, craft_docker: jq and sha256sum only).

load helpers

# ------------------------------------------------------------ crafting --

oci_arch() {
    case $(uname -m) in
        x86_64) echo amd64 ;;
        aarch64) echo arm64 ;;
        armv7* | armv6*) echo arm ;;
        i?86) echo 386 ;;
        *) uname -m ;;
    esac
}

# put_blob LAYOUT FILE: FILE into LAYOUT/blobs/sha256; sets BLOB_DIGEST, BLOB_SIZE
put_blob() {
    local h
    h=$(sha256sum "$2" | cut -d' ' -f1)
    mkdir -p "$1/blobs/sha256"
    cp "$2" "$1/blobs/sha256/$h"
    BLOB_DIGEST=sha256:$h BLOB_SIZE=$(stat -c %s "$2")
}

# image_config CONFIG LAYER...: an image config whose "config" is the JSON
# object CONFIG, with the diff_ids of the uncompressed tar LAYERs
image_config() {
    local cfg=$1 f diffs=()
    shift
    for f in "$@"; do diffs+=("sha256:$(sha256sum "$f" | cut -d' ' -f1)"); done
    jq -nc --arg a "$(oci_arch)" --argjson c "$cfg" \
        '{architecture: $a, os: "linux", config: $c,
          rootfs: {type: "layers", diff_ids: $ARGS.positional}}' --args "${diffs[@]}"
}

# craft_oci LAYOUT CONFIG LAYER...: an OCI layout with one image (ref
# latest) of the uncompressed tar LAYERs.  CONFIG is the image's "config"
# object, or @FILE: FILE is the whole image config, taken as it is.
craft_oci() {
    local l=$1 cfg=$2 f layers=() tmp
    shift 2
    need_tool jq
    tmp=$(mktemp "$BATS_TEST_TMPDIR/blob.XXXXXX")
    mkdir -p "$l"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$l/oci-layout"
    for f in "$@"; do
        put_blob "$l" "$f"
        layers+=("$(jq -nc --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
            '{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $d, size: $s}')")
    done
    if [[ $cfg == @* ]]; then cp "${cfg#@}" "$tmp"; else image_config "$cfg" "$@" >"$tmp"; fi
    put_blob "$l" "$tmp"
    jq -nc --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $d, size: $s},
          layers: [$ARGS.positional[] | fromjson]}' --args "${layers[@]}" >"$tmp"
    put_blob "$l" "$tmp"
    jq -nc --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
        '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' \
        >"$l/index.json"
    rm -f "$tmp"
}

# craft_docker ARCHIVE CONFIG LAYER...: a docker-archive as `docker save`
# wrote them before docker 25 (<id>/layer.tar, <config>.json, manifest.json,
# repositories), one image tagged nroot-test/crafted:latest; CONFIG as for
# craft_oci
craft_docker() {
    local out=$1 cfg=$2 d f h layers=()
    shift 2
    need_tool jq
    d=$(mktemp -d "$BATS_TEST_TMPDIR/docker.XXXXXX")
    for f in "$@"; do
        h=$(sha256sum "$f" | cut -d' ' -f1)
        mkdir -p "$d/$h"
        cp "$f" "$d/$h/layer.tar"
        echo 1.0 >"$d/$h/VERSION"
        layers+=("$h/layer.tar")
    done
    if [[ $cfg == @* ]]; then cp "${cfg#@}" "$d/config"; else image_config "$cfg" "$@" >"$d/config"; fi
    h=$(sha256sum "$d/config" | cut -d' ' -f1)
    mv "$d/config" "$d/$h.json"
    jq -nc --arg c "$h.json" '[{Config: $c, RepoTags: ["nroot-test/crafted:latest"],
        Layers: $ARGS.positional}]' --args "${layers[@]}" >"$d/manifest.json"
    printf '{"nroot-test/crafted":{"latest":"%s"}}\n' "${layers[-1]%%/*}" >"$d/repositories"
    (cd "$d" && tar --numeric-owner --owner=0 --group=0 -cf "$out" -- *) || return 1
    rm -rf "$d"
}

# tar for crafted layers: every entry owned by root, as in real images
TAR=(tar --numeric-owner --owner=0 --group=0)

# craft FORMAT OUT CONFIG LAYER...: craft_oci (FORMAT oci) or craft_docker
craft() {
    local fmt=$1
    shift
    case $fmt in
        oci) craft_oci "$@" ;;
        docker) craft_docker "$@" ;;
    esac
}

# a private, writable copy of one of the OCI images or archives
oci_copy() {
    local dst=$BATS_TEST_TMPDIR/${2:-${1##*/}}
    cp -a "$OCI/$1" "$dst"
    chmod -R u+w "$dst"
    echo "$dst"
}

# unpack_archive ARCHIVE DIR: an archive's files, writable
unpack_archive() {
    mkdir -p "$2"
    tar -C "$2" -xf "$1"
    chmod -R u+w "$2"
}

# repack_archive DIR ARCHIVE: a tar of DIR's files as docker and skopeo
# write them (no ./ in front of the names)
repack_archive() {
    (cd "$1" && tar -cf "$2" -- *)
}

# hex of the first manifest of an OCI layout, of its config, of its layer N
manifest_hex() { jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2; }
config_hex() { jq -r '.config.digest' "$1/blobs/sha256/$(manifest_hex "$1")" | cut -d: -f2; }
layer_hex() { jq -r ".layers[${2:-0}].digest" "$1/blobs/sha256/$(manifest_hex "$1")" | cut -d: -f2; }

# run_on_tty ARGS...: nroot ARGS with stdin, stdout and stderr on a
# terminal (script(1)); $output is what the terminal showed
run_on_tty() {
    need_tool script
    echo "\$ script -qec 'nroot ${*@Q}'"
    run timeout -k 5 "$NROOT_TEST_TIMEOUT" script -qec "${NROOT@Q} ${*@Q}" /dev/null
}

# the error line (notices left out) of the last failed run
error_line() {
    printf '%s\n' "${stderr_lines[@]}" | grep -m1 '^nroot: error: '
}

# the digest error: 125, names the blob (by its hex) and says "digest"
assert_digest_error() {
    assert_nroot_error "${1:0:12}"
    [[ $(error_line) == *digest* ]] || fail "the error does not say 'digest': $(error_line)"
}

# ------------------------------------------------------------ formats --

@test "images: an OCI image layout directory runs" {
    need_oci
    nrun "$OCI/busybox" cat /data/unchanged.txt /data/dir/a
    assert_output "original
a"
}

@test "images: an OCI layout directory is left unchanged by a run" {
    need_oci
    local l before
    l=$(oci_copy busybox)
    before=$(tree_sum "$l")
    nrun "$l" sh -c 'echo x > /data/new && rm /data/todelete.txt && cat /data/new'
    assert_output "x"
    assert_equal "$(tree_sum "$l")" "$before"
}

@test "images: an oci-archive runs" {
    need_oci
    nrun "$OCI/busybox.oci.tar" cat /data/unchanged.txt
    assert_output "original"
}

@test "images: an oci-archive made with tar from a layout directory (./ names) runs" {
    need_oci
    tar -C "$OCI/busybox" -cf "$BATS_TEST_TMPDIR/dot.tar" .
    tar -tf "$BATS_TEST_TMPDIR/dot.tar" | grep -qx './index.json' || fail "tar wrote no ./index.json"
    nrun "$BATS_TEST_TMPDIR/dot.tar" sh -c 'cat /data/unchanged.txt; echo $FOO'
    assert_output "original
from-image"
}

@test "images: a docker-archive runs" {
    need_oci
    nrun "$OCI/busybox.docker.tar" cat /data/unchanged.txt
    assert_output "original"
}

@test "images: a gzip-compressed docker-archive runs" {
    need_oci
    nrun "$OCI/busybox.docker.tar.gz" cat /data/unchanged.txt
    assert_output "original"
}

@test "images: a docker-archive in the old docker save layout (<id>/layer.tar, repositories) runs" {
    local t=$BATS_TEST_TMPDIR/old.tar
    craft_docker "$t" '{"Env": ["FOO=crafted"]}' "$IMAGES/rootfs.tar"
    nrun "$t" sh -c 'cat /data/unchanged.txt; echo $FOO'
    assert_output "original
crafted"
}

@test "images: an unpacked docker save directory runs" {
    need_oci
    local d=$BATS_TEST_TMPDIR/saved
    unpack_archive "$OCI/busybox.docker.tar" "$d"
    nrun "$d" sh -c 'cat /data/unchanged.txt; echo $FOO'
    assert_output "original
from-image"
}

@test "images: archives are detected by content, not by file name" {
    need_oci
    cp "$OCI/busybox.docker.tar" "$BATS_TEST_TMPDIR/image.txt"
    cp "$OCI/busybox.oci.tar" "$BATS_TEST_TMPDIR/noext"
    cp "$OCI/busybox.docker.tar.gz" "$BATS_TEST_TMPDIR/rootfs.tar.xz"
    local f
    for f in image.txt noext rootfs.tar.xz; do
        # an archive taken for a rootfs tarball would have no /data/unchanged.txt
        # nor the image's Env
        nrun "$BATS_TEST_TMPDIR/$f" sh -c 'cat /data/unchanged.txt; echo $FOO'
        assert_output "original
from-image"
    done
}

@test "images: a second run of a docker-archive and an oci-archive does not read them again" {
    need_oci
    local f t
    for f in busybox.docker.tar busybox.docker.tar.gz busybox.oci.tar; do
        t=$(oci_copy "$f")
        nrun "$t" cat /data/unchanged.txt
        assert_output "original"
        chmod 000 "$t"
        nrun "$t" cat /data/unchanged.txt
        assert_output "original"
        chmod 644 "$t"
    done
}

# ---------------------------------------------------- choosing an image --

@test "images: --image-ref picks one image of a multi-image docker-archive" {
    need_oci
    nrun --image-ref nroot-test/entry:v1 "$OCI/multi.docker.tar"
    assert_output "entry default cmd"
    # the user image has no Entrypoint: the arguments run as they are
    nrun --image-ref nroot-test/user:v1 "$OCI/multi.docker.tar" echo picked
    assert_output "picked"
}

@test "images: a multi-image docker-archive without --image-ref: 125 listing the references" {
    need_oci
    run_nroot 125 run "$OCI/multi.docker.tar" true
    assert_nroot_error
    [[ $stderr == *nroot-test/entry:v1* && $stderr == *nroot-test/user:v1* ]] ||
        fail "the error does not list both references: $stderr"
    assert_store_has_no_image "$STORE"
}

@test "images: an unknown --image-ref: 125 listing the references present" {
    need_oci
    run_nroot 125 run --image-ref nroot-test/nope:v1 "$OCI/multi.docker.tar" true
    assert_nroot_error 'nroot-test/nope:v1'
    [[ $stderr == *nroot-test/entry:v1* && $stderr == *nroot-test/user:v1* ]] ||
        fail "the error does not list the references present: $stderr"
    run_nroot 125 run --image-ref nope "$OCI/busybox.oci.tar" true
    assert_nroot_error 'nope'
    [[ $stderr == *latest* ]] || fail "the error does not list the reference present: $stderr"
    assert_store_has_no_image "$STORE"
}

@test "images: --image-ref names the one image of a single-image archive" {
    need_oci
    nrun --image-ref latest "$OCI/busybox.oci.tar" cat /data/unchanged.txt
    assert_output "original"
    nrun --image-ref docker.io/library/busybox:latest "$OCI/busybox.docker.tar" cat /data/unchanged.txt
    assert_output "original"
}

@test "images: --image-ref picks one manifest of an OCI layout and of an oci-archive" {
    need_oci
    local img
    for img in "$OCI/variants" "$OCI/variants.oci.tar"; do
        nrun --image-ref entry "$img" a b
        assert_output "entry a b"
        nrun --image-ref base "$img" sh -c 'echo "[$FOO]"'
        assert_output "[]"
        nrun --image-ref latest "$img" sh -c 'echo "[$FOO]"'
        assert_output "[from-image]"
    done
}

@test "images: an OCI layout or oci-archive with several manifests and no --image-ref: 125 listing them" {
    need_oci
    local img r
    for img in "$OCI/variants" "$OCI/variants.oci.tar"; do
        run_nroot 125 run "$img" true
        assert_nroot_error
        for r in latest entry username base; do
            [[ $stderr == *"$r"* ]] || fail "the error does not list '$r': $stderr"
        done
        run_nroot 125 run --image-ref nope "$img" true
        assert_nroot_error 'nope'
        [[ $stderr == *username* ]] || fail "the error does not list the references: $stderr"
    done
    assert_store_has_no_image "$STORE"
}

# ------------------------------------------------------------- config --

@test "images: the image's Env applies (OCI layout, oci-archive, docker-archive)" {
    need_oci
    local img
    for img in busybox busybox.oci.tar busybox.docker.tar; do
        nrun "$OCI/$img" sh -c 'echo "$FOO|$BAR|$SPACED|$PATH"'
        assert_output "from-image|image-bar|a b=c|/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    done
}

@test "images: -e overrides the image's Env and keeps the rest" {
    need_oci
    nrun -e FOO=from-cli -e NEW=new -e PATH=/bin "$OCI/busybox" /bin/sh -c 'echo "$FOO|$BAR|$NEW|$PATH"'
    assert_output "from-cli|image-bar|new|/bin"
    FOO=from-host nrun -e FOO "$OCI/busybox.docker.tar" sh -c 'echo "$FOO|$BAR"'
    assert_output "from-host|image-bar"
}

@test "images: the image's Cmd runs, in its WorkingDir, without arguments" {
    need_oci
    local img
    for img in busybox busybox.oci.tar busybox.docker.tar; do
        # Cmd: cat unchanged.txt, relative to WorkingDir /data
        nrun "$OCI/$img"
        assert_output "original"
    done
}

@test "images: arguments after the image replace its Cmd" {
    need_oci
    nrun "$OCI/busybox" echo replaced
    assert_output "replaced"
    nrun "$OCI/busybox.docker.tar" -- echo replaced
    assert_output "replaced"
}

@test "images: Entrypoint and Cmd: Cmd is the default of the Entrypoint's arguments" {
    need_oci
    nrun --image-ref entry "$OCI/variants"
    assert_output "entry default cmd"
    nrun --image-ref entry "$OCI/variants" one two
    assert_output "entry one two"
    nrun --image-ref nroot-test/entry:v1 "$OCI/multi.docker.tar" three
    assert_output "entry three"
}

@test "images: --entrypoint replaces the Entrypoint and drops the image's Cmd" {
    need_oci
    nrun --entrypoint /bin/echo --image-ref entry "$OCI/variants"
    assert_output ""
    nrun --entrypoint /bin/echo --image-ref entry "$OCI/variants" x y
    assert_output "x y"
    # an image without Entrypoint: the Cmd (cat unchanged.txt) is not used either
    nrun --entrypoint /bin/pwd "$OCI/busybox"
    assert_output "/data"
}

@test "images: --entrypoint '' clears the Entrypoint" {
    need_oci
    nrun --entrypoint '' --image-ref entry "$OCI/variants" echo plain
    assert_output "plain"
    # no Entrypoint, no Cmd (dropped), no arguments: /bin/sh
    echo "\$ echo 'echo \$0; exit 3' | nroot run -i --entrypoint '' --image-ref entry variants"
    run --separate-stderr timeout 30 "$NROOT" run -q -i --entrypoint '' --image-ref entry "$OCI/variants" <<<'echo "sh:$0"; exit 3'
    assert_equal "$status" 3
    assert_output --regexp '^sh:(/bin/)?sh$'
}

@test "images: without Entrypoint, Cmd or arguments /bin/sh runs" {
    need_oci
    echo "\$ echo ... | nroot run -i --image-ref base variants"
    run --separate-stderr timeout 30 "$NROOT" run -q -i --image-ref base "$OCI/variants" <<<'echo "sh:$0:$(pwd)"; exit 4'
    assert_equal "$status" 4
    assert_output --regexp '^sh:(/bin/)?sh:/$'
}

@test "images: -w overrides the image's WorkingDir" {
    need_oci
    nrun "$OCI/busybox" pwd
    assert_output "/data"
    nrun -w /tmp "$OCI/busybox" pwd
    assert_output "/tmp"
    nrun -w /new/dir "$OCI/busybox.docker.tar" pwd
    assert_output "/new/dir"
}

@test "images: the image's User applies (uid:gid and a name from /etc/passwd)" {
    need_oci
    skip_unless_subids
    nrun --image-ref user "$OCI/variants"
    assert_output --regexp '^uid=1000 gid=1000 euid=1000 egid=1000 '
    nrun --image-ref username "$OCI/variants"
    assert_output --regexp '^uid=1000 gid=1000 euid=1000 egid=1000 '
    nrun --image-ref nroot-test/user:v1 "$OCI/multi.docker.tar"
    assert_output --regexp '^uid=1000 gid=1000 '
    assert_equal "$stderr" ""
}

@test "images: -u overrides the image's User" {
    need_oci
    skip_unless_subids
    nrun -u 0 --image-ref user "$OCI/variants" nr-test ids
    assert_output --regexp '^uid=0 gid=0 euid=0 egid=0 '
    nrun -u 1000:0 --image-ref username "$OCI/variants" nr-test ids
    assert_output --regexp '^uid=1000 gid=0 '
}

@test "images: with a single-id map an image User that is not mapped falls back to root with a notice" {
    need_oci
    nrun --userns=single --image-ref user "$OCI/variants" nr-test ids
    assert_output --regexp '^uid=0 gid=0 euid=0 egid=0 '
    printf '%s\n' "${stderr_lines[@]}" | grep -q '^nroot: notice: .*1000' ||
        fail "no notice naming the image's user 1000: $stderr"
    run bash -c 'printf "%s\n" "$1" | grep -v "^nroot: notice: "' _ "$stderr"
    assert_output ""
    # -q: no notice
    nrun -q --userns=single --image-ref user "$OCI/variants" nr-test ids
    assert_output --regexp '^uid=0 gid=0 '
    assert_equal "$stderr" ""
    # -u 0 asks for root: nothing to fall back from
    nrun -u 0 --userns=single --image-ref user "$OCI/variants" nr-test ids
    assert_output --regexp '^uid=0 gid=0 '
    assert_equal "$stderr" ""
}

@test "images: single mode: the image's User falls back to root; -u 1000 still fails" {
    need_oci
    skip_unless_mode single
    nrun --image-ref user "$OCI/variants"
    assert_output --regexp '^uid=0 gid=0 '
    printf '%s\n' "${stderr_lines[@]}" | grep -q '^nroot: notice: .*1000' ||
        fail "no notice naming the image's user 1000: $stderr"
    run_nroot 125 run -u 1000 --image-ref user "$OCI/variants" true
    assert_nroot_error
}

# ------------------------------------------------------------- layers --

# what /data holds in the layers image: the rootfs's, minus todelete.txt,
# dir/ (now a file) and gone/, with file2dir/ and an opaque opq/
LAYERS_DATA='d /data
f /data/dir
f /data/existing.txt
d /data/file2dir
f /data/file2dir/inside
f /data/hardlink
l /data/link
d /data/opq
f /data/opq/new
f /data/unchanged.txt'

LIST_DATA='find /data | sort | while read -r f; do
    if [ -L "$f" ]; then t=l; elif [ -d "$f" ]; then t=d; else t=f; fi
    echo "$t $f"; done'

@test "images: layers are flattened: whiteouts delete, opaque dirs empty, files and dirs replace each other" {
    need_oci
    local img
    for img in layers layers.docker.tar; do
        nrun "$OCI/$img" sh -c "$LIST_DATA"
        assert_output "$LAYERS_DATA"
        nrun "$OCI/$img" cat /data/dir /data/file2dir/inside /data/opq/new /data/unchanged.txt /data/hardlink
        assert_output "now-a-file
inside
new
original
a"
    done
}

@test "images: no whiteout file is left in the container or in the store" {
    need_oci
    local img
    for img in layers layers.docker.tar; do
        nrun "$OCI/$img" find / -xdev -name '.wh.*'
        assert_output ""
    done
    run as_mapped_root find "$STORE" -name '.wh.*'
    assert_output ""
    # nor overlayfs whiteouts (0/0 character devices) in the image trees
    run as_mapped_root find "$STORE" -type c
    assert_output ""
}

@test "images: a layer writes through a symlink a lower layer made, resolved inside the image" {
    local s=$BATS_TEST_TMPDIR/s l2=$BATS_TEST_TMPDIR/l2.tar l3=$BATS_TEST_TMPDIR/l3.tar fmt
    mkdir -p "$s/opt/real" "$s/opt/x"
    ln -s real "$s/opt/rel"
    ln -s /opt/real "$s/opt/abs"
    (cd "$s" && "${TAR[@]}" --owner=0 --group=0 --numeric-owner --no-recursion -cf "$l2" ./opt ./opt/real ./opt/rel ./opt/abs)
    echo via-rel >"$s/opt/x/via-rel"
    echo via-abs >"$s/opt/x/via-abs"
    (cd "$s" && "${TAR[@]}" --owner=0 --group=0 --numeric-owner -cf "$l3" \
        --transform 's|^\./opt/x/via-rel$|./opt/rel/via-rel|;s|^\./opt/x/via-abs$|./opt/abs/via-abs|' \
        ./opt/x/via-rel ./opt/x/via-abs)
    for fmt in oci docker; do
        craft "$fmt" "$BATS_TEST_TMPDIR/img.$fmt" '{}' "$IMAGES/rootfs.tar" "$l2" "$l3"
        nrun "$BATS_TEST_TMPDIR/img.$fmt" sh -c 'cat /opt/real/via-rel /opt/real/via-abs; readlink /opt/rel; readlink /opt/abs'
        assert_output "via-rel
via-abs
real
/opt/real"
    done
}

# ------------------------------------------------- digests and damage --

@test "images: an OCI layer whose digest does not match: 125 naming it, no image" {
    need_oci
    local l h f
    l=$(oci_copy busybox)
    h=$(layer_hex "$l")
    f=$l/blobs/sha256/$h
    # a different gzip header time: the same size and content, another digest
    printf '\x11\x22\x33\x44' | dd of="$f" bs=1 seek=4 conv=notrunc status=none
    gzip -t <"$f" || fail "the tampered layer is no longer valid gzip"
    [ "$(sha256sum <"$f" | cut -d' ' -f1)" != "$h" ] || fail "the digest did not change"
    run_nroot 125 run "$l" true
    assert_digest_error "$h"
    assert_store_has_no_image "$STORE"
}

@test "images: an OCI config whose digest does not match: 125 naming it, no image" {
    need_oci
    local l h
    l=$(oci_copy busybox)
    h=$(config_hex "$l")
    # same size, still valid JSON
    sed -i 's/from-image/from-IMAGE/' "$l/blobs/sha256/$h"
    jq -e . "$l/blobs/sha256/$h" >/dev/null || fail "the tampered config is not JSON"
    run_nroot 125 run "$l" sh -c 'echo $FOO'
    assert_digest_error "$h"
    assert_store_has_no_image "$STORE"
}

@test "images: an OCI manifest whose digest does not match: 125 naming it, no image" {
    need_oci
    local l h size
    l=$(oci_copy busybox)
    h=$(manifest_hex "$l")
    # the same manifest, pretty-printed; the size in index.json made right
    # so that only the digest is wrong
    jq . "$l/blobs/sha256/$h" >"$BATS_TEST_TMPDIR/m" && cat "$BATS_TEST_TMPDIR/m" >"$l/blobs/sha256/$h"
    size=$(stat -c %s "$l/blobs/sha256/$h")
    jq -c --argjson s "$size" '.manifests[0].size = $s' "$l/index.json" >"$BATS_TEST_TMPDIR/i" &&
        cat "$BATS_TEST_TMPDIR/i" >"$l/index.json"
    run_nroot 125 run "$l" true
    assert_digest_error "$h"
    assert_store_has_no_image "$STORE"
}

@test "images: a docker-archive layer that does not match its diff_id: 125 naming it, no image" {
    need_oci
    local d=$BATS_TEST_TMPDIR/d t=$BATS_TEST_TMPDIR/tampered.tar layer off
    unpack_archive "$OCI/busybox.docker.tar" "$d"
    layer=$(jq -r '.[0].Layers[0]' "$d/manifest.json")
    layer=$(readlink -f "$d/$layer")
    # doomed -> DOOMED inside data/todelete.txt: still a valid tar, same size
    off=$(grep -obUa 'doomed' "$layer" | cut -d: -f1)
    [ "$(wc -w <<<"$off")" = 1 ] || fail "'doomed' is not once in the layer: $off"
    printf DOOMED | dd of="$layer" bs=1 seek="$off" conv=notrunc status=none
    tar -tf "$layer" >/dev/null || fail "the tampered layer is no longer a tar"
    repack_archive "$d" "$t"
    run_nroot 125 run "$t" cat /data/todelete.txt
    assert_digest_error "$(basename "$layer" .tar)"
    assert_store_has_no_image "$STORE"
}

@test "images: a missing OCI blob: 125 naming it, no image" {
    need_oci
    local l h
    l=$(oci_copy busybox)
    h=$(layer_hex "$l")
    rm "$l/blobs/sha256/$h"
    run_nroot 125 run "$l" true
    assert_nroot_error "${h:0:12}"
    assert_store_has_no_image "$STORE"
    # in an oci-archive
    tar -C "$l" -cf "$BATS_TEST_TMPDIR/noblob.tar" oci-layout index.json blobs
    run_nroot 125 run "$BATS_TEST_TMPDIR/noblob.tar" true
    assert_nroot_error "${h:0:12}"
    assert_store_has_no_image "$STORE"
}

@test "images: a missing docker-archive layer: 125 naming it, no image" {
    need_oci
    local d=$BATS_TEST_TMPDIR/d t=$BATS_TEST_TMPDIR/nolayer.tar layer
    unpack_archive "$OCI/busybox.docker.tar" "$d"
    layer=$(readlink -f "$d/$(jq -r '.[0].Layers[0]' "$d/manifest.json")")
    rm "$layer"
    repack_archive "$d" "$t"
    run_nroot 125 run "$t" true
    assert_nroot_error "$(basename "$layer" .tar | cut -c1-12)"
    assert_store_has_no_image "$STORE"
}

@test "images: an OCI layout without index.json: 125 naming it, no image" {
    need_oci
    local l
    l=$(oci_copy busybox)
    rm "$l/index.json"
    run_nroot 125 run "$l" true
    assert_nroot_error 'index\.json'
    assert_store_has_no_image "$STORE"
    tar -C "$l" -cf "$BATS_TEST_TMPDIR/noindex.tar" oci-layout blobs
    run_nroot 125 run "$BATS_TEST_TMPDIR/noindex.tar" true
    assert_nroot_error 'index\.json'
    assert_store_has_no_image "$STORE"
}

@test "images: a docker-archive without manifest.json: 125 naming it, no image" {
    need_oci
    local d=$BATS_TEST_TMPDIR/d t=$BATS_TEST_TMPDIR/nomanifest.tar
    unpack_archive "$OCI/busybox.docker.tar" "$d"
    rm "$d/manifest.json"
    repack_archive "$d" "$t"
    run_nroot 125 run "$t" true
    assert_nroot_error 'manifest\.json'
    assert_store_has_no_image "$STORE"
}

@test "images: bad JSON in index.json, manifest.json or a config: 125 naming the file, no image" {
    need_oci
    local l d=$BATS_TEST_TMPDIR/d t=$BATS_TEST_TMPDIR/badjson.tar fmt h
    l=$(oci_copy busybox)
    printf '{"schemaVersion": 2, "manifests": [' >"$l/index.json"
    run_nroot 125 run "$l" true
    assert_nroot_error 'index\.json'
    assert_store_has_no_image "$STORE"

    unpack_archive "$OCI/busybox.docker.tar" "$d"
    printf '[{"Config": ' >"$d/manifest.json"
    repack_archive "$d" "$t"
    run_nroot 125 run "$t" true
    assert_nroot_error 'manifest\.json'
    assert_store_has_no_image "$STORE"

    # a config that is not JSON, with the right digest
    printf '{"architecture": "amd64", "config": {' >"$BATS_TEST_TMPDIR/badcfg"
    for fmt in oci docker; do
        craft "$fmt" "$BATS_TEST_TMPDIR/bad.$fmt" "@$BATS_TEST_TMPDIR/badcfg" "$IMAGES/rootfs.tar"
        run_nroot 125 run "$BATS_TEST_TMPDIR/bad.$fmt" true
        h=$(sha256sum "$BATS_TEST_TMPDIR/badcfg" | cut -c1-12)
        assert_nroot_error "$h"
        assert_store_has_no_image "$STORE"
    done
}

@test "images: a truncated docker-archive or oci-archive: 125, no image" {
    need_oci
    local f size t
    for f in busybox.docker.tar busybox.docker.tar.gz busybox.oci.tar; do
        t=$BATS_TEST_TMPDIR/trunc-$f
        size=$(stat -c %s "$OCI/$f")
        head -c $((size / 2 + 777)) "$OCI/$f" >"$t"
        run_nroot 125 run "$t" true
        assert_nroot_error
        assert_store_has_no_image "$STORE"
    done
}

# ---------------------------------------------------- malicious layers --

# each case in both formats: the host untouched, 125 naming the entry,
# nothing in the store

@test "images: a layer entry with ../ in its name: 125 naming it, nothing written outside" {
    local target=$BATS_TEST_TMPDIR/target s=$BATS_TEST_TMPDIR/s fmt
    mkdir -p "$target" "$s"
    echo pwned >"$s/payload"
    "${TAR[@]}" -C "$s" -cPf "$BATS_TEST_TMPDIR/evil.tar" \
        --transform "s|^payload\$|../../../../../../../../..$target/dotdot|" payload
    tar -tPf "$BATS_TEST_TMPDIR/evil.tar" | grep -q '^\.\./' || skip "tar refused to store ../ names"
    for fmt in oci docker; do
        craft "$fmt" "$BATS_TEST_TMPDIR/img.$fmt" '{}' "$BATS_TEST_TMPDIR/evil.tar"
        run_nroot 125 run "$BATS_TEST_TMPDIR/img.$fmt" true
        assert_nroot_error 'dotdot'
        assert_store_has_no_image "$STORE"
    done
    run ls -A "$target"
    assert_output ""
}

@test "images: a layer that writes through an absolute symlink it made: 125 naming the entry, host untouched" {
    local target=$BATS_TEST_TMPDIR/target s=$BATS_TEST_TMPDIR/s fmt
    mkdir -p "$target" "$s"
    ln -s "$target" "$s/esc"
    echo pwned >"$s/payload"
    "${TAR[@]}" -C "$s" -cf "$BATS_TEST_TMPDIR/evil.tar" ./esc
    "${TAR[@]}" -C "$s" -rf "$BATS_TEST_TMPDIR/evil.tar" --transform 's|^payload$|esc/pwned|' payload
    tar -tvf "$BATS_TEST_TMPDIR/evil.tar" | grep -q ' esc/pwned$' || fail "tar did not store esc/pwned"
    for fmt in oci docker; do
        craft "$fmt" "$BATS_TEST_TMPDIR/img.$fmt" '{}' "$IMAGES/rootfs.tar" "$BATS_TEST_TMPDIR/evil.tar"
        run_nroot 125 run "$BATS_TEST_TMPDIR/img.$fmt" true
        assert_nroot_error 'esc/pwned'
        assert_store_has_no_image "$STORE"
    done
    run ls -A "$target"
    assert_output ""
}

@test "images: a symlink to a host directory in a lower layer is resolved inside the image" {
    local target=$BATS_TEST_TMPDIR/target s=$BATS_TEST_TMPDIR/s fmt
    mkdir -p "$target" "$s/data/x"
    ln -s "$target" "$s/data/abs"
    ln -s "../../../../../../../../..$target" "$s/data/rel"
    (cd "$s" && "${TAR[@]}" -cf "$BATS_TEST_TMPDIR/l2.tar" ./data/abs ./data/rel)
    echo pwned >"$s/data/x/f"
    (cd "$s" && "${TAR[@]}" -cf "$BATS_TEST_TMPDIR/l3.tar" \
        --transform 's|^\./data/x/f$|./data/abs/via-abs|' ./data/x/f &&
        "${TAR[@]}" -rf "$BATS_TEST_TMPDIR/l3.tar" --transform 's|^\./data/x/f$|./data/rel/via-rel|' ./data/x/f)
    for fmt in oci docker; do
        craft "$fmt" "$BATS_TEST_TMPDIR/img.$fmt" '{}' "$IMAGES/rootfs.tar" \
            "$BATS_TEST_TMPDIR/l2.tar" "$BATS_TEST_TMPDIR/l3.tar"
        # writing inside the image is allowed, failing too; the host must not change
        run_nroot any run "$BATS_TEST_TMPDIR/img.$fmt" cat "$target/via-abs" "$target/via-rel"
        if [ "$status" = 0 ]; then
            assert_output "pwned
pwned"
        else
            assert_nroot_error 'via-(abs|rel)'
            assert_store_has_no_image "$STORE"
        fi
        run ls -A "$target"
        assert_output ""
    done
}

@test "images: a hard link to a file outside the image: 125 naming the entry, the file untouched" {
    local victim=$BATS_TEST_TMPDIR/victim s=$BATS_TEST_TMPDIR/s fmt to evil=$BATS_TEST_TMPDIR/evil.tar
    echo victim >"$victim"
    mkdir -p "$s"
    echo decoy >"$s/decoy"
    ln "$s/decoy" "$s/hardpwn"
    echo pwned >"$s/payload"
    for to in "../../../../../../../../..$victim" "$victim" "../../../../../../../../../etc/passwd"; do
        # ./decoy, then ./hardpwn: a hard link to TO; then ./hardpwn again,
        # a regular file that would write through the link
        "${TAR[@]}" -C "$s" -cPf "$evil" --transform "flags=h;s|^\\./decoy\$|$to|" ./decoy ./hardpwn
        "${TAR[@]}" -C "$s" -rPf "$evil" --transform 's|^\./payload$|./hardpwn|' ./payload
        tar -tvPf "$evil" | grep -q "hardpwn link to $to\$" || fail "tar did not store the link: $(tar -tvPf "$evil")"
        for fmt in oci docker; do
            craft "$fmt" "$BATS_TEST_TMPDIR/img.$fmt" '{}' "$evil"
            run_nroot 125 run "$BATS_TEST_TMPDIR/img.$fmt" true
            assert_nroot_error 'hardpwn'
            assert_store_has_no_image "$STORE"
            assert_equal "$(cat "$victim")" "victim"
            assert_equal "$(stat -c %h "$victim")" 1
        done
    done
}

@test "images: writing through a symlink loop: 125 naming the entry, no hang" {
    local s=$BATS_TEST_TMPDIR/s fmt
    mkdir -p "$s/x"
    ln -s loop2 "$s/loop1"
    ln -s loop1 "$s/loop2"
    echo f >"$s/x/f"
    (cd "$s" && "${TAR[@]}" -cf "$BATS_TEST_TMPDIR/loops.tar" ./loop1 ./loop2)
    (cd "$s" && "${TAR[@]}" -cf "$BATS_TEST_TMPDIR/through.tar" --transform 's|^\./x/f$|./loop1/f|' ./x/f)
    for fmt in oci docker; do
        # in the layer that made the loop
        cat "$BATS_TEST_TMPDIR/loops.tar" >"$BATS_TEST_TMPDIR/same.tar"
        (cd "$s" && "${TAR[@]}" -rf "$BATS_TEST_TMPDIR/same.tar" --transform 's|^\./x/f$|./loop1/f|' ./x/f)
        craft "$fmt" "$BATS_TEST_TMPDIR/img1.$fmt" '{}' "$IMAGES/rootfs.tar" "$BATS_TEST_TMPDIR/same.tar"
        run_nroot 125 run "$BATS_TEST_TMPDIR/img1.$fmt" true
        assert_nroot_error 'loop1/f'
        assert_store_has_no_image "$STORE"
        # through a loop of a lower layer
        craft "$fmt" "$BATS_TEST_TMPDIR/img2.$fmt" '{}' "$IMAGES/rootfs.tar" \
            "$BATS_TEST_TMPDIR/loops.tar" "$BATS_TEST_TMPDIR/through.tar"
        run_nroot 125 run "$BATS_TEST_TMPDIR/img2.$fmt" true
        assert_nroot_error 'loop1/f'
        assert_store_has_no_image "$STORE"
    done
}

@test "images: a symlink loop nothing writes through is just two symlinks" {
    local s=$BATS_TEST_TMPDIR/s fmt
    mkdir -p "$s"
    ln -s loop2 "$s/loop1"
    ln -s loop1 "$s/loop2"
    (cd "$s" && "${TAR[@]}" -cf "$BATS_TEST_TMPDIR/loops.tar" ./loop1 ./loop2)
    for fmt in oci docker; do
        craft "$fmt" "$BATS_TEST_TMPDIR/img.$fmt" '{}' "$IMAGES/rootfs.tar" "$BATS_TEST_TMPDIR/loops.tar"
        nrun "$BATS_TEST_TMPDIR/img.$fmt" sh -c 'readlink /loop1; readlink /loop2'
        assert_output "loop2
loop1"
    done
}

# ------------------------------------------------------------ progress --

@test "images: with stderr on a terminal the first import shows a progress bar, the cached run none" {
    need_oci
    local t
    t=$(oci_copy busybox.docker.tar)
    run_on_tty run "$t" true
    assert_equal "$status" 0
    assert_output --partial 'MiB/s'
    assert_output --partial 'MiB'
    run_on_tty run "$t" true
    assert_equal "$status" 0
    refute_output --partial 'MiB'
}

@test "images: nroot import on a terminal shows the progress bar too" {
    need_oci
    local t
    t=$(oci_copy busybox.oci.tar)
    run_on_tty import "$t"
    assert_equal "$status" 0
    assert_output --partial 'MiB/s'
}

@test "images: -q: no progress bar even on a terminal" {
    need_oci
    local t
    t=$(oci_copy busybox.docker.tar.gz)
    run_on_tty run -q "$t" echo ran
    assert_equal "$status" 0
    refute_output --partial 'MiB'
    assert_output --partial 'ran'
}

@test "images: with stderr not a terminal nothing about progress is printed" {
    need_oci
    local t
    t=$(oci_copy busybox.docker.tar)
    nrun "$t" true
    [[ $stderr != *MiB* && $stderr != *$'\r'* ]] || fail "progress on a stderr that is no terminal: $stderr"
    run_nroot 0 import "$OCI/busybox.oci.tar"
    [[ $stderr != *MiB* && $stderr != *$'\r'* ]] || fail "progress on a stderr that is no terminal: $stderr"
}
