#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# squashfs out (issue 16): `nroot export --format=squashfs` of images and
# containers, images kept as squashfs files in the store (import --format,
# the image-format setting), and what the image commands do with them.
#
# The contents are checked with unsquashfs -lln, and by running them
# (squashfuse_ll, tests/squashfs.bats).

load helpers

need_squashfs_tools() {
    need_tool mksquashfs unsquashfs
}

need_sqsh_run() {
    need_tool squashfuse_ll
}

# the listing of a squashfs file as "MODE UID/GID PATH[ -> TARGET]" (sizes of
# regular files and links too), paths from "."
sqsh_list() {
    unsquashfs -lln -d R "$1" |
        awk '$NF != "" && $6 ~ /^R/ { sub(/^R/, ".", $6); size = ($1 ~ /^d/) ? "-" : $3;
             line = $1 " " $2 " " size " " $6; for (i = 7; i <= NF; i++) line = line " " $i;
             print line }' | LC_ALL=C sort
}

# the same of a tree, read as the root of its user namespace
tree_list_sqsh() {
    as_mapped_root sh -c 'cd "$1" && find . \( -type d -printf "%M %U/%G - %p\n" \) -o \
        \( -type l -printf "%M %U/%G %s %p -> %l\n" \) -o -printf "%M %U/%G %s %p\n"' sh "$1" |
        LC_ALL=C sort
}

# a rootfs tarball with data/owned owned by 42:42 (made as 0 of a mapped
# namespace would not keep it: tar writes the ids given)
owned_tar() {
    local d=$BATS_TEST_TMPDIR/owned
    mkdir -p "$d/data"
    echo owned >"$d/data/owned"
    tar -C "$IMG" -cf "$BATS_TEST_TMPDIR/owned.tar" --owner=0 --group=0 .
    tar -C "$d" -rf "$BATS_TEST_TMPDIR/owned.tar" --owner=42 --group=42 ./data/owned
    echo "$BATS_TEST_TMPDIR/owned.tar"
}

@test "squashfs-out: two exports of an image are byte-identical, and hold the image's tree" {
    need_squashfs_tools
    run_nroot 0 import --name img "$IMAGES/rootfs.tar"
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/a.sqsh" img
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/b.sqsh" img
    cmp "$BATS_TEST_TMPDIR/a.sqsh" "$BATS_TEST_TMPDIR/b.sqsh"
    [ "$(head -c 4 "$BATS_TEST_TMPDIR/a.sqsh")" = hsqs ]
    # zstd
    unsquashfs -s "$BATS_TEST_TMPDIR/a.sqsh" | grep -q 'Compression zstd'
    local root
    root=$(store_image_root "$STORE")
    diff <(tree_list_sqsh "$root") <(sqsh_list "$BATS_TEST_TMPDIR/a.sqsh")
    # nothing left beside the output
    [ "$(ls "$BATS_TEST_TMPDIR" | grep -c 'sqsh\.')" = 0 ]
}

@test "squashfs-out: SOURCE_DATE_EPOCH sets the creation time, and the export stays reproducible" {
    need_squashfs_tools
    run_nroot 0 import --name img "$IMAGES/rootfs.tar"
    SOURCE_DATE_EPOCH=1000000000 run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/a.sqsh" img
    SOURCE_DATE_EPOCH=1000000000 run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/b.sqsh" img
    cmp "$BATS_TEST_TMPDIR/a.sqsh" "$BATS_TEST_TMPDIR/b.sqsh"
    unsquashfs -s "$BATS_TEST_TMPDIR/a.sqsh" | grep -q 'Sun Sep  9 01:46:40 2001'
}

@test "squashfs-out: a stopped named container exports with its changes, twice the same" {
    need_squashfs_tools
    nrun --name c "$IMG" sh -c 'echo new >/data/new; rm /data/todelete.txt'
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/a.sqsh" c
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/b.sqsh" c
    cmp "$BATS_TEST_TMPDIR/a.sqsh" "$BATS_TEST_TMPDIR/b.sqsh"
    run unsquashfs -lln "$BATS_TEST_TMPDIR/a.sqsh"
    assert_output --partial 'squashfs-root/data/new'
    refute_output --partial 'todelete.txt'
    refute_output --partial 'squashfs-root/proc/'
    run_nroot 0 rm c
}

@test "squashfs-out: a running container is refused (mksquashfs reads by name), store and container unchanged" {
    need_squashfs_tools
    start_nroot "$BATS_TEST_TMPDIR/out" run --name r "$IMG" sh -c 'echo x >/data/live; sleep 60'
    wait_for 10 "$NROOT" exec r test -f /data/live
    local before
    before=$(tree_sum "$STORE")
    run_nroot 125 export --format=squashfs -o "$BATS_TEST_TMPDIR/r.sqsh" r
    assert_nroot_error "container 'r' is running: --format=squashfs exports stopped containers only"
    [[ $(nroot_hint) == *"stop it first (nroot stop r), or export the tar format"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/r.sqsh" ]
    [ "$(ls "$BATS_TEST_TMPDIR" | grep -c 'sqsh\.')" = 0 ]
    [ "$(tree_sum "$STORE")" = "$before" ]
    run_nroot 0 exec r cat /data/live
    assert_output x
    # the tarball is still there for it
    run_nroot 0 export -o "$BATS_TEST_TMPDIR/r.tar" r
    tar -tf "$BATS_TEST_TMPDIR/r.tar" | grep -qx './data/live'
    run_nroot 0 rm -f r
}

@test "squashfs-out: ids are the container's (a file of 42 shows 42 in unsquashfs -lln)" {
    skip_unless_subids
    need_squashfs_tools
    local tar
    tar=$(owned_tar)
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/o.sqsh" "$tar"
    run unsquashfs -lln "$BATS_TEST_TMPDIR/o.sqsh"
    assert_line --regexp '^-rw-r--r-- 42/42 .* squashfs-root/data/owned$'
    assert_line --regexp '^-rwxr-xr-x 0/0 .* squashfs-root/bin/busybox$'
    # kept as squashfs in the store: the same ids
    run_nroot 0 import --format=squashfs --name o "$tar"
    run unsquashfs -lln "$STORE"/images/*-squashfs/rootfs.sqsh
    assert_line --regexp '^-rw-r--r-- 42/42 .* squashfs-root/data/owned$'
    # a container's chown too
    nrun --name c "$IMG" chown 42:42 /data/existing.txt
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/c.sqsh" c
    run unsquashfs -lln "$BATS_TEST_TMPDIR/c.sqsh"
    assert_line --regexp '^-rw-r--r-- 42/42 .* squashfs-root/data/existing.txt$'
    run_nroot 0 rm c
}

@test "squashfs-out: import --format=squashfs keeps one file; images shows it; rmi removes it" {
    need_squashfs_tools
    run_nroot 0 import --format=squashfs --name sq "$IMAGES/rootfs.tar"
    local id=$output
    [ -f "$STORE/images/$id-squashfs/rootfs.sqsh" ]
    [ -f "$STORE/images/$id-squashfs/info" ]
    [ ! -e "$STORE/images/$id-squashfs/rootfs" ]
    [ -z "$(ls "$STORE/tmp")" ]
    unsquashfs -lln "$STORE/images/$id-squashfs/rootfs.sqsh" | grep -q 'squashfs-root/data/unchanged.txt$'
    run_nroot 0 images
    assert_line --index 0 --regexp '^NAME +ID +SIZE +STORAGE +CREATED *$'
    assert_line --index 1 --regexp "^sq +${id:0:12} +[0-9.]+[kM]?B +squashfs +"
    run_nroot 0 images --format json
    [ "$(jq -r '.[0].storage' <<<"$output")" = squashfs ]
    [ "$(jq -r '.[0].idmap' <<<"$output")" = squashfs ]
    # the export of an image kept as squashfs is that file
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/x.sqsh" sq
    cmp "$BATS_TEST_TMPDIR/x.sqsh" "$STORE/images/$id-squashfs/rootfs.sqsh"
    # a tarball of it is not made (yet): one line
    run_nroot 125 export -o "$BATS_TEST_TMPDIR/x.tar" sq
    assert_nroot_error 'kept as a squashfs file'
    run_nroot 0 rmi sq
    assert_output --partial "Deleted: $id"
    [ ! -e "$STORE/images/$id-squashfs" ]
    run_nroot 0 images -q
    assert_output ''
}

@test "squashfs-out: import --format=tree and squashfs of one file make two images; by id, both go" {
    need_squashfs_tools
    run_nroot 0 import --format=squashfs "$IMAGES/rootfs.tar"
    local id=$output
    run_nroot 0 import --format=tree "$IMAGES/rootfs.tar"
    [ "$output" = "$id" ]
    [ "$(ls "$STORE/images" | grep -c "^$id-")" = 2 ]
    # a second import of either is the cached one
    run_nroot 0 import --format=squashfs "$IMAGES/rootfs.tar"
    [ "$(ls "$STORE/images" | wc -l)" = 2 ]
    run_nroot 0 rmi "${id:0:12}"
    [ -z "$(ls "$STORE/images")" ]
}

@test "squashfs-out: the image-format setting: nroot.conf, \$NROOT_IMAGE_FORMAT over it, --format over both" {
    need_squashfs_tools
    mkdir -p "$XDG_CONFIG_HOME/nroot"
    echo 'image-format = squashfs' >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    run_nroot 0 info
    assert_output --regexp "image format +ok +squashfs \\($XDG_CONFIG_HOME/nroot/nroot.conf\\)"
    assert_output --regexp 'mksquashfs +ok +/.*mksquashfs [0-9]'
    run_nroot 0 import "$IMAGES/rootfs.tar"
    local id=$output
    [ -f "$STORE/images/$id-squashfs/rootfs.sqsh" ]
    NROOT_IMAGE_FORMAT=tree run_nroot 0 import "$IMAGES/rootfs.tar.gz"
    local id2=$output
    ls -d "$STORE/images/$id2"-* | grep -qv squashfs
    NROOT_IMAGE_FORMAT=tree run_nroot 0 import --format=squashfs "$IMAGES/rootfs.tar.zst"
    [ -f "$STORE/images/$output-squashfs/rootfs.sqsh" ]
    NROOT_IMAGE_FORMAT=bogus run_nroot 125 import "$IMAGES/rootfs.tar.xz"
    assert_nroot_error "invalid \\\$NROOT_IMAGE_FORMAT 'bogus'"
    run_nroot 125 import --format=bogus "$IMAGES/rootfs.tar.xz"
    assert_nroot_error
    # an empty variable is the key's default (tree), over the file
    NROOT_IMAGE_FORMAT= run_nroot 0 info
    assert_output --regexp 'image format +ok +tree \(\$NROOT_IMAGE_FORMAT\)'
    echo 'image-format = bogus' >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    run_nroot 125 import "$IMAGES/rootfs.tar.xz"
    assert_nroot_error "invalid image-format 'bogus' in $XDG_CONFIG_HOME/nroot/nroot.conf"
}

@test "squashfs-out: --format=squashfs needs -o; a bad -o path is one line and leaves the store as it was" {
    need_squashfs_tools
    run_nroot 0 import --name img "$IMAGES/rootfs.tar"
    local before
    before=$(ls -R "$STORE")
    run_nroot 125 export --format=squashfs img
    assert_nroot_error 'needs -o FILE'
    run_nroot 125 export --format=squashfs -o - img
    assert_nroot_error 'needs -o FILE'
    run_nroot 125 export --format=squashfs -o "$BATS_TEST_TMPDIR/no/such/dir/x.sqsh" img
    assert_nroot_error "cannot create '.*/no/such/dir/x.sqsh'"
    run_nroot 125 export --format=squashfs -o "$BATS_TEST_TMPDIR/x.sqsh" no-such-thing
    assert_nroot_error "no such container 'no-such-thing', and no image of that name"
    [ ! -e "$BATS_TEST_TMPDIR/x.sqsh" ]
    [ "$(ls -R "$STORE")" = "$before" ]
}

@test "squashfs-out: without mksquashfs: one line naming squashfs-tools, nothing written" {
    # the system's PATH but for mksquashfs
    local bin=$BATS_TEST_TMPDIR/bin d f
    mkdir -p "$bin"
    for d in ${NROOT_TEST_SYS_PATH//:/ }; do
        for f in "$d"/*; do
            [ "${f##*/}" = mksquashfs ] || [ -e "$bin/${f##*/}" ] || ln -s "$f" "$bin/${f##*/}"
        done
    done
    run_nroot 0 import --name img "$IMAGES/rootfs.tar"
    local before
    before=$(ls -R "$STORE")
    PATH=$bin run_nroot 125 export --format=squashfs -o "$BATS_TEST_TMPDIR/x.sqsh" img
    assert_nroot_error 'mksquashfs is not in PATH'
    nroot_hint | grep -q squashfs-tools
    [ -z "$(ls "$BATS_TEST_TMPDIR" | grep sqsh)" ]
    PATH=$bin run_nroot 125 import --format=squashfs "$IMAGES/rootfs.tar.gz"
    assert_nroot_error 'mksquashfs is not in PATH'
    [ "$(ls -R "$STORE")" = "$before" ]
    PATH=$bin run_nroot 0 info
    assert_output --regexp 'mksquashfs +warning +not found'
}

@test "squashfs-out: a squashfs file is not imported: run it directly" {
    need_squashfs_tools
    mksquashfs "$IMG" "$BATS_TEST_TMPDIR/i.sqsh" -quiet -no-progress >/dev/null
    run_nroot 125 import "$BATS_TEST_TMPDIR/i.sqsh"
    assert_nroot_error 'is a squashfs image: run it directly'
    assert_store_has_no_image "$STORE"
}

@test "squashfs-out: export -> run round trip lists the same files as the source" {
    need_squashfs_tools
    need_sqsh_run
    local list='find / -xdev -type d | sort | xargs stat -c "%n %a %u"; find / -xdev ! -type d | sort | xargs stat -c "%n %a %s %u"'
    nrun --net=none "$IMG" sh -c "$list"
    local want=$output
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/i.sqsh" "$IMG"
    nrun --net=none "$BATS_TEST_TMPDIR/i.sqsh" sh -c "$list"
    [ "$output" = "$want" ] || diff <(echo "$want") <(echo "$output")
}

@test "squashfs-out: an image kept as squashfs runs under every mapping" {
    need_squashfs_tools
    need_sqsh_run
    NROOT_IMAGE_FORMAT=squashfs nrun --name c "$IMAGES/rootfs.tar" cat /data/unchanged.txt
    [ -z "$(ls -d "$STORE"/images/*/rootfs 2>/dev/null)" ]
    nrun --userns=single --rm "$IMAGES/rootfs.tar" true
    # still the one squashfs image: the setting is not needed to find it again
    [ "$(ls "$STORE/images" | wc -l)" = 1 ]
    run_nroot 0 export --format=squashfs -o "$BATS_TEST_TMPDIR/c.sqsh" c
    run_nroot 0 rm c
}
