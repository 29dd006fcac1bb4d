#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The image store's commands (issue 3): nroot import, images, rmi, prune,
# and running an image by name or ID.

load helpers

HEX64='^[0-9a-f]{64}$'

# nimport ARGS...: nroot import ARGS, which must print one image ID; in $ID
nimport() {
    run_nroot 0 import "$@"
    [[ $output =~ $HEX64 ]] || fail "nroot import printed no image ID on stdout: '$output'"
    ID=$output
}

# a private copy of a test image file (for tests that delete or change it)
copy_file() {
    local dst=$BATS_TEST_TMPDIR/${2:-${1##*/}}
    cp "$1" "$dst"
    chmod u+w "$dst"
    echo "$dst"
}

# the full IDs of the images in the store, sorted
store_ids() {
    "$NROOT" images -q --no-trunc | sort
}

# the JSON object of one image (by full ID) from nroot images --format json
image_json() {
    "$NROOT" images --format json | jq -c --arg id "$1" '.[] | select(.id == $id)'
}

# the names of one image, one per line, sorted
image_names() {
    "$NROOT" images --format json | jq -r --arg id "$1" '.[] | select(.id == $id) | .names[]' | sort
}

# no by-file link points nowhere, tmp/ is empty, and images/ holds as many
# trees as `nroot images` lists images
assert_store_consistent() {
    local dangling n_dirs n_ids
    dangling=$(find "$STORE/by-file" -xtype l 2>/dev/null)
    [ -z "$dangling" ] || fail "dangling file-cache links: $dangling"
    [ -z "$(ls -A "$STORE/tmp" 2>/dev/null)" ] || fail "tmp/ is not empty: $(ls -A "$STORE/tmp")"
    n_dirs=$(find "$STORE/images" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
    n_ids=$(store_ids | wc -l)
    [ "$n_dirs" = "$n_ids" ] || fail "images/ holds $n_dirs trees, nroot images lists $n_ids images"
}

# start_blocked IMAGE: a container of IMAGE that runs until stop_blocked
start_blocked() {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir -p "$vol"
    start_nroot "$BATS_TEST_TMPDIR/bg.out" run -q -v "$vol:/vol" "$1" /bin/sh -c \
        'touch /vol/started; n=0; while [ ! -e /vol/stop ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done'
    wait_for 300 test -e "$vol/started" ||
        fail "the container did not start: $(cat "$BATS_TEST_TMPDIR/bg.out.err")"
}

stop_blocked() {
    touch "$BATS_TEST_TMPDIR/vol/stop"
    wait_exit "$NROOT_PID" 100 || fail "the container did not stop"
}

# --------------------------------------------------------------- import --

@test "import: prints the 64-hex image ID and nothing else on stdout" {
    need_oci
    nimport "$OCI/busybox.docker.tar"
    assert_equal "${#lines[@]}" 1
    local first=$ID
    # a second import finds the image: the same ID
    nimport "$OCI/busybox.docker.tar"
    assert_equal "$ID" "$first"
    nrun "$ID" cat /data/unchanged.txt
    assert_output "original"
}

@test "import: every kind of image imports (tarball, archives, layouts, docker directory)" {
    need_oci
    local d=$BATS_TEST_TMPDIR/saved f
    mkdir -p "$d"
    tar -C "$d" -xf "$OCI/busybox.docker.tar"
    for f in "$IMAGES/rootfs.tar.gz" "$OCI/busybox.docker.tar" "$OCI/busybox.docker.tar.gz" \
             "$OCI/busybox.oci.tar" "$OCI/busybox" "$d"; do
        nimport "$f"
        nrun "$ID" cat /data/unchanged.txt
        assert_output "original"
    done
}

@test "import --name: the image runs by that name" {
    need_oci
    nimport --name mybox "$OCI/busybox.oci.tar"
    nrun mybox sh -c 'cat /data/unchanged.txt; echo $FOO'
    assert_output "original
from-image"
    nimport --name plain "$IMAGES/rootfs.tar.zst"
    nrun plain cat /data/unchanged.txt
    assert_output "original"
}

@test "import --name: good names are accepted" {
    local n long
    long=a$(printf 'b%.0s' {1..127})
    for n in a Z9 "my.box_1-2:3/4" "registry.example.com:5000/team/app:v1.2" "$long"; do
        nimport --name "$n" "$IMAGES/rootfs.tar.gz"
        nrun "$n" cat /data/unchanged.txt
        assert_output "original"
    done
}

@test "import --name: a bad name fails with 125 and imports nothing" {
    local n long
    long=a$(printf 'b%.0s' {1..128})
    for n in "" "-x" ".x" "_x" ":x" "/x" "a b" 'a$b' "a;b" "a*" "a=b" "$long"; do
        run_nroot 125 import --name "$n" "$IMAGES/rootfs.tar.gz"
        assert_nroot_error
        assert_store_has_no_image "$STORE"
    done
}

@test "import --name: a name with control characters: 125 and still one error line" {
    local n
    for n in $'a\nb' $'a\tb' $'a\rb' $'a\eb'; do
        run_nroot 125 import --name "$n" "$IMAGES/rootfs.tar.gz"
        assert_nroot_error
        assert_store_has_no_image "$STORE"
    done
}

@test "import: the RepoTags of a docker-archive become names; busybox finds docker.io/library/busybox:latest" {
    need_oci
    need_tool jq
    nimport "$OCI/busybox.docker.tar"
    run image_names "$ID"
    assert_output "docker.io/library/busybox:latest"
    local n
    for n in busybox busybox:latest docker.io/library/busybox:latest; do
        nrun "$n" sh -c 'echo $FOO'
        assert_output "from-image"
    done
}

@test "run NAME: busybox finds busybox:latest and localhost/busybox:latest" {
    local n
    for n in busybox:latest localhost/busybox:latest; do
        export NROOT_STORE=$BATS_TEST_TMPDIR/store-${n//[\/:]/-}
        nimport --name "$n" "$IMAGES/rootfs.tar.gz"
        nrun busybox cat /data/unchanged.txt
        assert_output "original"
        nrun "$n" cat /data/unchanged.txt
        assert_output "original"
    done
}

@test "import --name: the archive's RepoTags do not become names as well" {
    need_oci
    need_tool jq
    nimport --name mine "$OCI/busybox.docker.tar"
    run image_names "$ID"
    assert_output "mine"
    run_nroot 125 run busybox true
    assert_nroot_error "image 'busybox': no such file, directory or image name"
}

@test "import --name: a name that exists moves to the new image" {
    need_oci
    need_tool jq
    nimport --name x "$IMAGES/rootfs.tar.gz"
    local old=$ID
    nimport --name x "$OCI/busybox.docker.tar"
    [ "$ID" != "$old" ] || fail "two different images got the same ID"
    nrun x sh -c 'echo "[$FOO]"'
    assert_output "[from-image]"
    run image_names "$old"
    assert_output ""
    # the old image is still there, under its ID
    nrun "$old" sh -c 'echo "[$FOO]"'
    assert_output "[]"
}

@test "import: an image imported again with another name keeps both names" {
    need_tool jq
    nimport --name one "$IMAGES/rootfs.tar.gz"
    local first=$ID
    nimport --name two "$IMAGES/rootfs.tar.gz"
    assert_equal "$ID" "$first"
    run image_names "$ID"
    assert_output "one
two"
}

@test "import --image-ref: one image of a multi-image archive, named by its own tags only" {
    need_oci
    need_tool jq
    nimport --image-ref nroot-test/entry:v1 "$OCI/multi.docker.tar"
    run image_names "$ID"
    assert_output "nroot-test/entry:v1"
    nrun nroot-test/entry:v1 x
    assert_output "entry x"
    run_nroot 125 run nroot-test/user:v1 true
    assert_nroot_error "no such file, directory or image name"
}

@test "import: a multi-image archive without --image-ref fails with 125 listing the references" {
    need_oci
    run_nroot 125 import "$OCI/multi.docker.tar"
    assert_nroot_error
    [[ $stderr == *nroot-test/entry:v1* && $stderr == *nroot-test/user:v1* ]] ||
        fail "the error does not list the references: $stderr"
    assert_output ""
    assert_store_has_no_image "$STORE"
}

@test "import: a missing file or a broken archive fails with 125, prints no ID, imports nothing" {
    run_nroot 125 import "$BATS_TEST_TMPDIR/nonexistent.tar"
    assert_nroot_error
    assert_output ""
    local t=$BATS_TEST_TMPDIR/half.tar.gz size
    size=$(stat -c %s "$IMAGES/rootfs.tar.gz")
    head -c $((size / 2)) "$IMAGES/rootfs.tar.gz" >"$t"
    run_nroot 125 import --name half "$t"
    assert_nroot_error
    assert_output ""
    assert_store_has_no_image "$STORE"
}

# ------------------------------------------------------------ run IMAGE --

@test "run: an image by its full ID and by a unique prefix of 4 or more hex digits" {
    need_oci
    nimport "$OCI/busybox.docker.tar"
    local p
    for p in "$ID" "${ID:0:12}" "${ID:0:4}"; do
        nrun "$p" sh -c 'echo $FOO'
        assert_output "from-image"
    done
    run_nroot 125 run "${ID:0:3}" true
    assert_nroot_error "image '${ID:0:3}': no such file, directory or image name"
}

@test "run: an unknown image name fails with 125" {
    local n
    for n in nosuchimage nosuch:tag example.com/no/such:1 deadbeef; do
        run_nroot 125 run "$n" true
        assert_nroot_error "image '$n': no such file, directory or image name"
    done
    nimport --name known "$IMAGES/rootfs.tar.gz"
    run_nroot 125 run nosuchimage true
    assert_nroot_error "image 'nosuchimage': no such file, directory or image name"
}

@test "run: an existing path wins over an image name" {
    need_oci
    nimport --name mybox "$OCI/busybox.docker.tar"
    mkdir "$BATS_TEST_TMPDIR/cwd"
    ln -s "$IMG" "$BATS_TEST_TMPDIR/cwd/mybox"
    cd "$BATS_TEST_TMPDIR/cwd"
    # the rootfs directory has no Env: FOO is empty
    nrun mybox sh -c 'echo "[$FOO]"'
    assert_output "[]"
    cd "$BATS_TEST_TMPDIR"
    nrun mybox sh -c 'echo "[$FOO]"'
    assert_output "[from-image]"
}

# --------------------------------------------------------------- images --

@test "images: an empty store: the header only, nothing with -q, [] in json" {
    need_tool jq
    # the store does not even exist yet
    run_nroot 0 images
    assert_equal "${#lines[@]}" 1
    assert_line --index 0 --regexp '^NAME +ID +SIZE +CREATED *$'
    run_nroot 0 images -q
    assert_output ""
    run_nroot 0 images --format json
    jq -e 'type == "array" and length == 0' <<<"$output" || fail "not []: $output"
    # a store that exists and is empty again
    nimport --name x "$IMAGES/rootfs.tar.gz"
    run_nroot 0 rmi x
    run_nroot 0 images
    assert_equal "${#lines[@]}" 1
    run_nroot 0 images --format json
    jq -e 'length == 0' <<<"$output" || fail "not []: $output"
}

@test "images: one row per name, <none> for an unnamed image, 12-hex ID, decimal size, relative time" {
    need_oci
    nimport --name one "$OCI/busybox.docker.tar"
    local a=$ID
    nimport --name two "$OCI/busybox.docker.tar"
    assert_equal "$ID" "$a"
    nimport "$IMAGES/rootfs.tar.gz"
    local b=$ID
    run_nroot 0 images
    assert_line --index 0 --regexp '^NAME +ID +SIZE +CREATED *$'
    assert_equal "${#lines[@]}" 4
    local size='[0-9]+(\.[0-9]+)? ?[kMG]?B'
    assert_line --regexp "^one +${a:0:12} +$size +.*ago *\$"
    assert_line --regexp "^two +${a:0:12} +$size +.*ago *\$"
    assert_line --regexp "^<none> +${b:0:12} +$size +.*ago *\$"
    refute_output --partial "${a:0:13}"
}

@test "images: SIZE is in decimal units and agrees with the json size" {
    need_oci
    need_tool jq
    nimport --name one "$OCI/busybox.docker.tar"
    local bytes shown num unit
    bytes=$(image_json "$ID" | jq -r .size)
    [ "$bytes" -gt 1000000 ] && [ "$bytes" -lt 1000000000 ] ||
        fail "the busybox image should be a few MB, json says $bytes bytes"
    run_nroot 0 images
    shown=$(awk -v id="${ID:0:12}" '$2 == id { print $3 $4 }' <<<"$output" | sed 's/ago$//')
    [[ $shown =~ ^([0-9]+(\.[0-9]+)?)(MB) ]] || fail "SIZE of a few MB is not shown as N.NMB: '$shown' in $output"
    num=${BASH_REMATCH[1]}
    # within 10% of bytes / 10^6
    awk -v n="$num" -v b="$bytes" 'BEGIN { e = b / 1e6; exit !(n > e * 0.9 && n < e * 1.1) }' ||
        fail "SIZE $num MB does not match $bytes bytes"
}

@test "images -q: unique 12-hex IDs; --no-trunc: full IDs" {
    need_oci
    nimport --name one "$OCI/busybox.docker.tar"
    local a=$ID
    nimport --name two "$OCI/busybox.docker.tar"
    nimport "$IMAGES/rootfs.tar.gz"
    local b=$ID
    run_nroot 0 images -q
    assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "${a:0:12}" "${b:0:12}" | sort)"
    run_nroot 0 images -q --no-trunc
    assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "$a" "$b" | sort)"
    run_nroot 0 images --no-trunc
    assert_line --regexp "^one +$a "
    assert_line --regexp "^<none> +$b "
}

@test "images --format json: id, names, size, created, source and format of every image" {
    need_oci
    need_tool jq
    local d=$BATS_TEST_TMPDIR/saved f json now c
    mkdir -p "$d"
    tar -C "$d" -xf "$OCI/busybox.docker.tar"
    declare -A want=(
        ["$IMAGES/rootfs.tar.gz"]=rootfs-tar
        ["$OCI/busybox.docker.tar"]=docker-archive
        ["$OCI/busybox.oci.tar"]=oci-archive
        ["$OCI/busybox"]=oci-layout
        ["$d"]=docker-dir
    )
    declare -A ids=()
    # (one store each: the same image in two formats may be one image)
    for f in "${!want[@]}"; do
        export NROOT_STORE=$BATS_TEST_TMPDIR/store-${want[$f]}
        nimport "$f"
        ids[$f]=$ID
        now=$(date +%s)
        run_nroot 0 images --format json
        json=$output
        jq -e 'type == "array" and length == 1' <<<"$json" >/dev/null || fail "not an array of one image: $json"
        run jq -ce --arg id "${ids[$f]}" --arg src "$f" --arg real "$(realpath "$f")" --arg fmt "${want[$f]}" '
            [.[] | select(.id == $id)] | length == 1 and
            (.[0] | (.names | type == "array") and (.size | type == "number" and . > 1000000)
                and (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"))
                and (.source == $src or .source == $real) and .format == $fmt)' <<<"$json"
        [ "$status" = 0 ] || fail "image from $f (${want[$f]}) is not right in: $json"
        # created within the last 10 minutes
        c=$(jq -r --arg id "${ids[$f]}" '.[] | select(.id == $id) | .created' <<<"$json")
        c=$(date -d "$c" +%s) || fail "created is no date: $c"
        [ "$c" -le $((now + 5)) ] && [ "$c" -ge $((now - 600)) ] || fail "created $c is not about now ($now)"
        # the names: the RepoTag of the docker-archive, none for the tarball
        case ${want[$f]} in
            docker-archive)
                jq -e '.[0].names == ["docker.io/library/busybox:latest"]' <<<"$json" ||
                    fail "names of the docker-archive image: $json" ;;
            rootfs-tar)
                jq -e '.[0].names == []' <<<"$json" || fail "names of the tarball image: $json" ;;
        esac
    done
}

@test "images: bad options fail with 125" {
    run_nroot 125 images --format xml
    assert_nroot_error
    run_nroot 125 images --bogus
    assert_nroot_error
    run_nroot 125 images extra-argument
    assert_nroot_error
}

# ------------------------------------------------------------------ rmi --

@test "rmi NAME removes the name; the last name removes the image" {
    nimport --name a "$IMAGES/rootfs.tar.gz"
    nimport --name b "$IMAGES/rootfs.tar.gz"
    run_nroot 0 rmi a
    assert_output "Untagged: a"
    nrun b cat /data/unchanged.txt
    assert_output "original"
    run_nroot 125 run a true
    assert_nroot_error
    run_nroot 0 rmi b
    assert_line "Untagged: b"
    assert_line "Deleted: $ID"
    assert_equal "${#lines[@]}" 2
    assert_store_has_no_image "$STORE"
    assert_equal "$(store_ids)" ""
}

@test "rmi ID and rmi a unique prefix remove the image and all its names" {
    need_oci
    nimport --name a "$IMAGES/rootfs.tar.gz"
    nimport --name b "$IMAGES/rootfs.tar.gz"
    run_nroot 0 rmi "${ID:0:12}"
    assert_line "Untagged: a"
    assert_line "Untagged: b"
    assert_line "Deleted: $ID"
    assert_equal "${#lines[@]}" 3
    run_nroot 125 run b true
    assert_nroot_error
    assert_store_has_no_image "$STORE"
    nimport "$OCI/busybox.docker.tar"
    run_nroot 0 rmi "$ID"
    assert_line "Untagged: docker.io/library/busybox:latest"
    assert_line "Deleted: $ID"
    nimport "$OCI/busybox.docker.tar"
    run_nroot 0 rmi "${ID:0:4}"
    assert_line "Deleted: $ID"
    assert_store_has_no_image "$STORE"
}

@test "rmi: an unknown name or ID fails with 125 after removing the others" {
    nimport --name a "$IMAGES/rootfs.tar.gz"
    nimport --name keep "$IMAGES/rootfs.tar.xz"
    local keep=$ID
    run_nroot 125 rmi nosuch a
    assert_line "Untagged: a"
    assert_nroot_error "no such image 'nosuch'"
    run_nroot 125 run a true
    assert_nroot_error
    nrun keep cat /data/unchanged.txt
    assert_output "original"
    assert_equal "$(store_ids)" "$keep"
    assert_store_consistent
    run_nroot 125 rmi
    assert_nroot_error
}

@test "rmi removes image trees holding files of subordinate ids, without root" {
    skip_unless_subids
    local s=$BATS_TEST_TMPDIR/s t=$BATS_TEST_TMPDIR/locked.tar
    mkdir -p "$s/locked/deeper"
    echo secret >"$s/locked/deeper/f"
    chmod 0400 "$s/locked/deeper/f"
    chmod 0500 "$s/locked/deeper" "$s/locked"
    tar -C "$IMG" --numeric-owner --owner=0 --group=0 -cf "$t" .
    tar -C "$s" --numeric-owner --owner=1000 --group=1000 -rf "$t" ./locked
    chmod -R u+w "$s"
    nimport --name locked "$t"
    local root
    root=$(store_image_root "$STORE") || fail "no image in the store"
    [ "$(stat -c %u "$root/locked")" != "$(id -u)" ] || fail "locked/ is not owned by a subordinate id"
    run_nroot 0 rmi locked
    assert_line "Deleted: $ID"
    # nothing left, as seen by the user without any namespace
    run find "$STORE/images" -mindepth 1
    assert_output ""
    assert_store_has_no_image "$STORE"
}

@test "rmi leaves the rest of the store consistent" {
    need_oci
    local ta tb a
    ta=$(copy_file "$IMAGES/rootfs.tar.gz")
    tb=$(copy_file "$OCI/busybox.docker.tar")
    nrun "$ta" true
    a=$(store_ids)
    nimport --name b "$tb"
    run_nroot 0 rmi "$a"
    assert_line "Deleted: $a"
    assert_equal "$(store_ids)" "$ID"
    assert_store_consistent
    nrun b sh -c 'echo $FOO'
    assert_output "from-image"
    nrun "${ID:0:12}" sh -c 'echo $FOO'
    assert_output "from-image"
    # the tarball's file-cache link went with its image: it is imported again
    nrun "$ta" cat /data/unchanged.txt
    assert_output "original"
    assert_equal "$(store_ids | wc -l)" 2
    assert_store_consistent
}

@test "rmi: an image a running container uses: 125 'in use'; -f removes it" {
    nimport --name busy "$IMAGES/rootfs.tar.gz"
    start_blocked busy
    run_nroot 125 rmi busy
    assert_nroot_error 'in use'
    run_nroot 125 rmi "$ID"
    assert_nroot_error 'in use'
    nrun busy true
    run_nroot 0 rmi -f busy
    assert_line "Deleted: $ID"
    stop_blocked
    assert_equal "$(store_ids)" ""
}

# ---------------------------------------------------------------- prune --

# leftover_import DIR [CHOWN]: what an import killed half way leaves: a tree
# with read-only directories, owned by uid and gid CHOWN inside the
# namespace of the subordinate ids, if given
leftover_import() {
    local run=(sh -c)
    [ -n "${2:-}" ] && run=(as_mapped_root sh -c)
    "${run[@]}" 'set -e; mkdir -p "$1/rootfs/etc/sub"; echo x >"$1/rootfs/etc/sub/f"
        if [ -n "$2" ]; then chown -R "$2" "$1/rootfs/etc"; fi
        chmod 0500 "$1/rootfs/etc/sub" "$1/rootfs/etc"' sh "$1" "${2:-}"
}

@test "prune removes the remains of an interrupted import" {
    nimport --name keep "$IMAGES/rootfs.tar.gz"
    local left=$STORE/tmp/import-Ab12Cd
    leftover_import "$left"
    run_nroot 0 prune
    [ ! -e "$left" ] || fail "prune left $left: $(find "$left")"
    run ls -A "$STORE/tmp"
    assert_output ""
    nrun keep cat /data/unchanged.txt
    assert_output "original"
    assert_store_consistent
}

@test "prune removes the remains of an interrupted import owned by subordinate ids" {
    skip_unless_subids
    nimport --name keep "$IMAGES/rootfs.tar.gz"
    local left=$STORE/tmp/import-Ab12Cd
    leftover_import "$left" 1000:1000
    [ "$(stat -c %u "$left/rootfs/etc")" != "$(id -u)" ] || fail "the leftover is not owned by a subordinate id"
    run_nroot 0 prune
    [ ! -e "$left" ] || fail "prune left $left: $(as_mapped_root find "$left")"
    run ls -A "$STORE/tmp"
    assert_output ""
    nrun keep cat /data/unchanged.txt
    assert_output "original"
    assert_store_consistent
}

@test "prune removes an image whose file is gone and keeps one whose file is there" {
    need_oci
    local ta tb a b
    ta=$(copy_file "$IMAGES/rootfs.tar.gz")
    tb=$(copy_file "$OCI/busybox.docker.tar")
    nrun "$ta" true
    a=$(store_ids)
    nrun "$tb" true
    b=$(comm -13 <(echo "$a") <(store_ids))
    [[ $b =~ $HEX64 ]] || fail "the second image has no ID of its own: $(store_ids)"
    rm "$ta"
    run_nroot 0 prune
    assert_line "Deleted: $a"
    refute_line "Deleted: $b"
    assert_line --regexp '^Total reclaimed space: [0-9]'
    assert_equal "$(store_ids)" "$b"
    assert_store_consistent
    # the link of the file that is there is kept: not read again
    chmod 000 "$tb"
    nrun "$tb" sh -c 'echo $FOO'
    assert_output "from-image"
    chmod 644 "$tb"
}

@test "prune removes an image whose file changed" {
    local t a
    t=$(copy_file "$IMAGES/rootfs.tar.gz")
    touch -d '2020-01-01 00:00:00' "$t"
    nrun "$t" true
    a=$(store_ids)
    touch -d '2021-01-01 00:00:00' "$t"
    run_nroot 0 prune
    assert_line "Deleted: $a"
    assert_equal "$(store_ids)" ""
    nrun "$t" cat /data/unchanged.txt
    assert_output "original"
}

@test "prune keeps named images, even when their file is gone" {
    need_oci
    local t
    t=$(copy_file "$OCI/busybox.docker.tar")
    nimport "$t"
    local a=$ID
    t=$(copy_file "$IMAGES/rootfs.tar.gz")
    nimport --name keep "$t"
    local b=$ID
    rm "$BATS_TEST_TMPDIR/busybox.docker.tar" "$t"
    run_nroot 0 prune
    refute_output --partial "Deleted:"
    assert_equal "$(store_ids)" "$(printf '%s\n' "$a" "$b" | sort)"
    nrun keep cat /data/unchanged.txt
    assert_output "original"
    nrun busybox sh -c 'echo $FOO'
    assert_output "from-image"
}

@test "prune keeps an unnamed image a running container uses" {
    local t a
    t=$(copy_file "$IMAGES/rootfs.tar.gz")
    start_blocked "$t"
    a=$(store_ids)
    [[ $a =~ $HEX64 ]] || fail "no image in the store: $a"
    rm "$t"
    run_nroot 0 prune
    refute_line "Deleted: $a"
    assert_equal "$(store_ids)" "$a"
    stop_blocked
    assert_equal "$WAIT_STATUS" 0
    run_nroot 0 prune
    assert_line "Deleted: $a"
}

@test "prune with nothing to do, and on a store that does not exist: exit 0" {
    run_nroot 0 prune
    refute_output --partial "Deleted:"
    nimport --name keep "$IMAGES/rootfs.tar.gz"
    run_nroot 0 prune
    refute_output --partial "Deleted:"
    assert_equal "$(store_ids)" "$ID"
}
