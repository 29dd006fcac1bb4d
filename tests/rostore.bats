#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# tests/rostore.bats — shared read-only image stores ($NROOT_READONLY_STORES,
# readonly-stores in nroot.conf): an nroot store published with
# `NROOT_STORE=DIR nroot import` and made read-only, a directory of loose
# images (NAME/ trees, NAME.sqsh files), one owned by another user; runs
# find their images by name and id, nothing is ever written there, a
# missing or unreadable store is one warning and the run goes on.

load helpers

# RO: an nroot store holding `shared` (rootfs.tar, with /marker "ro"),
# published as a test's administrator would, then made read-only; RO_ID
# its image id
make_ro_store() {
    RO=$BATS_TEST_TMPDIR/ro
    local src=$BATS_TEST_TMPDIR/ro-src.tar
    marked_tar "$src" ro
    NROOT_STORE=$RO run_nroot 0 import -q --name shared "$src"
    RO_ID=$output
    [[ $RO_ID =~ ^[0-9a-f]{64}$ ]] || fail "import printed '$RO_ID'"
    rm -f "$src" # the source is gone: nothing can be imported again
    chmod -R a-w "$RO" 2>/dev/null || true
    export NROOT_READONLY_STORES=$RO
}

# marked_tar FILE WORD: the test rootfs as a tarball with /marker holding WORD
marked_tar() {
    local d=$BATS_TEST_TMPDIR/marker.$$
    mkdir -p "$d"
    echo "$2" >"$d/marker"
    tar -C "$IMG" -cf "$1" . && tar -C "$d" -rf "$1" ./marker
    rm -rf "$d"
}

# a listing of everything under DIR that a write would change: names,
# types, modes, owners, sizes, mtimes and ctimes (atimes change on reads)
snapshot() {
    as_mapped_root find "$1" -printf '%p %y %m %U:%G %s %T@ %C@\n' 2>&1 | LC_ALL=C sort
}

assert_unchanged() {
    local now
    now=$(snapshot "$1")
    [ "$now" = "$2" ] || fail "the read-only store changed:
$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$now"))"
}

# the lines of $stderr matching REGEX
count_lines() {
    printf '%s\n' "$stderr" | grep -c -- "$1" || true
}

@test "rostore: an image of a read-only nroot store runs by name, full id and id prefix" {
    make_ro_store
    nrun shared cat /marker
    assert_output ro
    nrun "$RO_ID" cat /marker
    assert_output ro
    nrun "${RO_ID:0:12}" cat /marker
    assert_output ro
    # nothing was imported into the user's own store
    assert_store_has_no_image "$STORE"
}

@test "rostore: nothing is written to the store: runs, writes inside, images, rmi, prune, info" {
    make_ro_store
    local before
    before=$(snapshot "$RO")
    nrun shared sh -c 'echo changed > /marker; mkdir /data/new; echo x > /data/new/f; rm /data/unchanged.txt; cat /marker'
    assert_output changed
    # the writes went to the run's own layer: gone with it
    nrun shared sh -c 'cat /marker; test -e /data/unchanged.txt && ! test -e /data/new'
    assert_output ro
    run_nroot 0 images
    run_nroot 0 images --format json
    run_nroot 125 rmi shared
    run_nroot 0 prune
    run_nroot 0 info
    # a named container from it, started again
    run_nroot 0 run --name keep shared true
    run_nroot 0 start -a keep
    run_nroot 0 rm keep
    assert_unchanged "$RO" "$before"
}

@test "rostore: a named container's image is found in the read-only store by start" {
    make_ro_store
    run_nroot 3 run --name c1 shared sh -c 'cat /marker; exit 3'
    assert_output ro
    run_nroot 3 start -a c1
    assert_output ro
    run_nroot 0 rm c1
}

@test "rostore: the user's own store wins on a name clash" {
    make_ro_store
    local mine=$BATS_TEST_TMPDIR/mine.tar
    marked_tar "$mine" mine
    run_nroot 0 import -q --name shared "$mine"
    nrun shared cat /marker
    assert_output mine
    # and the id of the read-only one still reaches it
    nrun "$RO_ID" cat /marker
    assert_output ro
}

@test "rostore: the stores are searched in their order; the first that has the name wins" {
    make_ro_store
    local second=$BATS_TEST_TMPDIR/second
    mkdir -p "$second/shared" "$second/only2"
    cp -a "$IMG/." "$second/shared/"
    cp -a "$IMG/." "$second/only2/"
    echo second >"$second/shared/marker"
    echo second >"$second/only2/marker"
    export NROOT_READONLY_STORES=$RO:$second
    nrun shared cat /marker
    assert_output ro
    nrun only2 cat /marker
    assert_output second
    export NROOT_READONLY_STORES=$second:$RO
    nrun shared cat /marker
    assert_output second
}

@test "rostore: readonly-stores in nroot.conf; \$NROOT_READONLY_STORES wins over it" {
    make_ro_store
    unset NROOT_READONLY_STORES
    mkdir -p "$XDG_CONFIG_HOME/nroot"
    printf '# shared images\nreadonly-stores = "%s"\n' "$RO" >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    nrun shared cat /marker
    assert_output ro
    run_nroot 0 info
    assert_output --regexp "read-only store +ok +$RO: an nroot store, 1 image \(from $XDG_CONFIG_HOME/nroot/nroot.conf\)"
    # an empty variable: no read-only store at all (the key's default)
    NROOT_READONLY_STORES= run_nroot 125 run shared true
    assert_nroot_error "no such file, directory or image name"
    NROOT_READONLY_STORES= run_nroot 0 info
    assert_output --regexp 'read-only stores +ok +none \(\$NROOT_READONLY_STORES is empty\)'
    # an empty value in the file: the default too
    echo 'readonly-stores =' >>"$XDG_CONFIG_HOME/nroot/nroot.conf"
    run_nroot 0 info
    assert_output --regexp "read-only stores +ok +none \($XDG_CONFIG_HOME/nroot/nroot.conf: readonly-stores is empty\)"
    run_nroot 125 run shared true
}

@test "rostore: a missing and an unreadable store: one warning each, once, and the run goes on" {
    make_ro_store
    local locked=$BATS_TEST_TMPDIR/locked
    mkdir "$locked"
    chmod 000 "$locked"
    export NROOT_READONLY_STORES=$BATS_TEST_TMPDIR/missing:$locked:$RO
    nrun shared cat /marker
    assert_output ro
    [ "$(count_lines "read-only store '$BATS_TEST_TMPDIR/missing': no such directory; left out")" = 1 ]
    [ "$(count_lines "read-only store '$locked': Permission denied; left out")" = 1 ]
    [ "$(count_lines warning)" = 2 ] || fail "more warnings than the two: $stderr"
    # images and info say it too, once
    run_nroot 0 images
    assert_line --regexp "^shared +${RO_ID:0:12} .* $RO\$"
    [ "$(count_lines warning)" = 2 ]
    run_nroot 0 info
    assert_output --regexp "read-only store +warning +$BATS_TEST_TMPDIR/missing: no such directory"
    assert_output --regexp "read-only store +warning +$locked: Permission denied"
    # an image in no store: the usual error, after the two warnings
    run_nroot 125 run --pull=never nosuchimage true
    [ "$(count_lines warning)" = 2 ]
    [[ ${stderr_lines[-1]} == "nroot: error: image 'nosuchimage' is not in the store, and --pull=never" ]] ||
        [[ ${stderr_lines[-2]} == "nroot: error: image 'nosuchimage' is not in the store, and --pull=never" ]] ||
        fail "no error line: $stderr"
    chmod 700 "$locked"
}

@test "rostore: a store of loose images: a root tree by its directory name" {
    local loose=$BATS_TEST_TMPDIR/loose
    mkdir -p "$loose/tree"
    cp -a "$IMG/." "$loose/tree/"
    echo loose >"$loose/tree/marker"
    chmod -R a-w "$loose"
    export NROOT_READONLY_STORES=$loose
    local before
    before=$(snapshot "$loose")
    nrun tree sh -c 'cat /marker; echo w > /marker; mkdir /data/x'
    assert_output loose
    nrun tree cat /marker
    assert_output loose
    run_nroot 0 images
    assert_line --regexp "^tree +- +- .* $loose\$"
    run_nroot 125 rmi tree
    assert_nroot_error "image 'tree' is in the read-only store $loose: nroot never removes anything there"
    assert_unchanged "$loose" "$before"
    assert_store_has_no_image "$STORE"
}

@test "rostore: loose squashfs files are images of their name; a .sqsh that is not squashfs: 125" {
    need_tool mksquashfs
    local loose=$BATS_TEST_TMPDIR/loose
    mkdir -p "$loose"
    mksquashfs "$IMG" "$loose/sq.sqsh" -noappend -no-progress -quiet >/dev/null
    mksquashfs "$IMG" "$loose/other.squashfs" -noappend -no-progress -quiet >/dev/null
    echo 'not squashfs' >"$loose/fake.sqsh"
    echo 'not an image' >"$loose/README"
    chmod -R a-w "$loose"
    export NROOT_READONLY_STORES=$loose
    run_nroot 0 images --format json
    # what resolve returns for them: squashfs files, by name
    assert_output --partial "\"names\": [\"sq\"], \"size\": $(stat -c %s "$loose/sq.sqsh")"
    assert_output --regexp '"names": \["sq"\].*"source": "'"$loose"'/sq.sqsh".*"format": "squashfs".*"store": "'"$loose"'"'
    assert_output --partial '"names": ["other"]'
    refute_output --partial fake
    refute_output --partial README
    run_nroot 125 run fake true
    assert_nroot_error "'$loose/fake.sqsh' in the read-only store is not a squashfs image"
}

# a squashfs file records the container's ids: published with -all-root, as
# a tree of the publisher's own files would be
@test "rostore: a loose squashfs image runs by name, nothing written" {
    need_tool mksquashfs squashfuse_ll
    local loose=$BATS_TEST_TMPDIR/loose
    mkdir -p "$loose" "$BATS_TEST_TMPDIR/src"
    cp -a "$IMG/." "$BATS_TEST_TMPDIR/src/"
    echo sqsh >"$BATS_TEST_TMPDIR/src/marker"
    mksquashfs "$BATS_TEST_TMPDIR/src" "$loose/sq.sqsh" -all-root -noappend -no-progress -quiet >/dev/null
    chmod -R a-w "$loose"
    export NROOT_READONLY_STORES=$loose
    local before
    before=$(snapshot "$loose")
    nrun sq sh -c 'cat /marker; echo w > /marker'
    assert_output sqsh
    nrun sq cat /marker
    assert_output sqsh
    assert_unchanged "$loose" "$before"
    assert_store_has_no_image "$STORE"
}

@test "rostore: a store owned by another user runs; in single mode its files are nobody's, with a notice" {
    make_ro_store
    local other=$BATS_TEST_TMPDIR/other
    # another user: a subordinate id of nroottest's range (uid 1000 of a
    # user namespace that maps it), which nroottest is not
    # published for others: nroot keeps its own store private (0700)
    as_mapped_root sh -c 'cp -a "$1" "$2" && chmod -R a+rX "$2" && chown -R 1000:1000 "$2"' \
        sh "$RO" "$other" ||
        skip "no user namespace with a subordinate range to make another user's files"
    [ "$(stat -c %u "$other")" != "$(id -u)" ] || skip "cannot make files of another user here"
    export NROOT_READONLY_STORES=$other
    local before
    before=$(snapshot "$other")
    nrun shared cat /marker
    assert_output ro
    if [ "$NROOT_TEST_MODE" = single ]; then
        assert_equal "$(count_lines "belongs to ids this run does not map")" 1
        nrun -q shared stat -c %u /marker
        assert_output 65534
    else
        nrun shared stat -c %u /marker
        assert_output 1000
    fi
    nrun "${RO_ID:0:12}" true
    assert_unchanged "$other" "$before"
}

@test "rostore: rmi refuses an image of a read-only store with one line; prune leaves the stores alone" {
    make_ro_store
    run_nroot 125 rmi shared
    assert_nroot_error "image 'shared' is in the read-only store $RO: nroot never removes anything there"
    run_nroot 125 rmi "${RO_ID:0:12}"
    assert_nroot_error "in the read-only store $RO"
    run_nroot 0 prune
    assert_equal "$stderr" "nroot: notice: the read-only stores are left as they are: prune removes only from $STORE"
    nrun shared true
}

@test "rostore: images lists the read-only stores' images with a STORE column; json names the store" {
    make_ro_store
    # without read-only images: the usual table
    NROOT_READONLY_STORES= run_nroot 0 images
    assert_line --index 0 --regexp '^NAME +ID +SIZE +CREATED$'
    run_nroot 0 images
    assert_line --index 0 --regexp '^NAME +ID +SIZE +CREATED +STORE$'
    assert_line --index 1 --regexp "^shared +${RO_ID:0:12} +[0-9.]+[kM]?B +.* ago +$RO\$"
    run_nroot 0 images -q
    assert_output "${RO_ID:0:12}"
    run_nroot 0 images --format json
    assert_output --partial "\"store\": \"$RO\""
    # the user's own images have no store key, and show '-'
    run_nroot 0 import -q --name mine "$IMAGES/rootfs.tar"
    run_nroot 0 images
    assert_line --regexp "^mine +[0-9a-f]{12} .* ago +-\$"
    run_nroot 0 images --format json
    [ "$(grep -c '"store"' <<<"$output")" = 1 ]
}

@test "rostore: a registry reference published in the store (by-ref/) is found, with --platform too, never pulled" {
    make_ro_store
    # what `NROOT_STORE=DIR nroot pull` leaves: by-ref/<maptag>-<canonical
    # reference, '/' as '%'>[+<platform>] -> ../images/<dirname>
    local dirname
    dirname=$(basename "$(dirname "$(readlink -f "$RO/names/shared")/x")")
    chmod u+w "$RO" "$RO/by-ref"
    ln -s "../images/$dirname" "$RO/by-ref/0123456789abcdef-docker.io%library%pubimg:1"
    ln -s "../images/$dirname" "$RO/by-ref/0123456789abcdef-quay.io%org%app:2+linux%amd64"
    ln -s "../images/$dirname" "$RO/by-ref/0123456789abcdef-localhost:1%app:3"
    chmod a-w "$RO" "$RO/by-ref"
    nrun --pull=never pubimg:1 cat /marker
    assert_output ro
    nrun docker.io/library/pubimg:1 cat /marker
    assert_output ro
    nrun --platform linux/amd64 quay.io/org/app:2 cat /marker
    assert_output ro
    assert_store_has_no_image "$STORE"
    nrun --pull=never localhost:1/app:3 cat /marker
    assert_output ro
    # --pull=always asks the registry (none listens on port 1), not the
    # read-only stores
    run_nroot 125 run --pull=always localhost:1/app:3 cat /marker
    refute_output --partial ro
}

@test "rostore: the user's own image of a reference and platform wins over a read-only store's, --pull=missing" {
    make_ro_store
    local dirname
    dirname=$(basename "$(dirname "$(readlink -f "$RO/names/shared")/x")")
    chmod u+w "$RO" "$RO/by-ref"
    ln -s "../images/$dirname" "$RO/by-ref/0123456789abcdef-quay.io%org%app:2+linux%amd64"
    chmod a-w "$RO" "$RO/by-ref"
    # the same reference and platform in the user's own store, as a pull
    # would have left it (the link under the run's map tag)
    local mine=$BATS_TEST_TMPDIR/mine.tar own
    marked_tar "$mine" mine
    run_nroot 0 import -q --name mine "$mine"
    own=$(basename "$(readlink "$STORE/names/mine")")
    mkdir -p "$STORE/by-ref"
    ln -s "../images/$own" "$STORE/by-ref/${own#*-}-quay.io%org%app:2+linux%amd64"
    nrun --pull=missing --platform linux/amd64 quay.io/org/app:2 cat /marker
    assert_output mine
    nrun --pull=never --platform linux/amd64 quay.io/org/app:2 cat /marker
    assert_output mine
    # without it, the read-only store's
    rm "$STORE/by-ref/${own#*-}-quay.io%org%app:2+linux%amd64"
    nrun --pull=missing --platform linux/amd64 quay.io/org/app:2 cat /marker
    assert_output ro
}

@test "rostore: a FIFO named info in a read-only store is one line, not a hang" {
    make_ro_store
    local dirname
    dirname=$(basename "$(dirname "$(readlink -f "$RO/names/shared")/x")")
    chmod u+w "$RO/images/$dirname"
    rm -f "$RO/images/$dirname/info"
    mkfifo "$RO/images/$dirname/info"
    chmod a-w "$RO/images/$dirname"
    NROOT_TEST_TIMEOUT=10 run_nroot 125 run shared true
    assert_nroot_error "info is not a file"
    NROOT_TEST_TIMEOUT=10 run_nroot 125 run "${RO_ID:0:12}" true
    assert_nroot_error "info is not a file"
}

@test "rostore: a by-ref link to something not an image's directory name is ignored" {
    make_ro_store
    local dirname bogus
    dirname=$(basename "$(dirname "$(readlink -f "$RO/names/shared")/x")")
    bogus=$(printf 'z%.0s' {1..81})
    chmod u+w "$RO" "$RO/by-ref" "$RO/images"
    mkdir "$RO/images/$bogus"
    : >"$RO/images/$bogus/info"
    ln -s "../$dirname/rootfs" "$RO/images/$bogus/rootfs"
    ln -s "../images/$bogus" "$RO/by-ref/0123456789abcdef-docker.io%library%bogus:1"
    chmod -R a-w "$RO" 2>/dev/null || true
    run_nroot 125 run --pull=never bogus:1 cat /marker
    assert_nroot_error "not in the store"
    refute_output ro
}

@test "rostore: export of a read-only store's image, tar and squashfs; a failure keeps its own message" {
    need_tool mksquashfs unsquashfs
    make_ro_store
    local before
    before=$(snapshot "$RO")
    run_nroot 0 export -o "$BATS_TEST_TMPDIR/ro.tar" shared
    tar -xOf "$BATS_TEST_TMPDIR/ro.tar" ./marker | grep -qx ro
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/ro.sqsh" shared
    unsquashfs -cat "$BATS_TEST_TMPDIR/ro.sqsh" marker | grep -qx ro
    # a mksquashfs that fails: its failure is said, not "no such image"
    local bin=$BATS_TEST_TMPDIR/fakebin
    mkdir -p "$bin"
    printf '#!/bin/sh\necho "fake mksquashfs: disk full" >&2\nexit 1\n' >"$bin/mksquashfs"
    chmod +x "$bin/mksquashfs"
    PATH=$bin:$PATH run_nroot any export --format=squashfs -o "$BATS_TEST_TMPDIR/bad.sqsh" shared
    [ "$status" -ne 0 ] || fail "the failed export exited 0"
    [[ $stderr == *"fake mksquashfs: disk full"* ]] || fail "mksquashfs's message is lost: $stderr"
    [[ $stderr != *"no image of that name"* ]] || fail "the failure was said as a missing image: $stderr"
    [ ! -e "$BATS_TEST_TMPDIR/bad.sqsh" ]
    assert_unchanged "$RO" "$before"
}
