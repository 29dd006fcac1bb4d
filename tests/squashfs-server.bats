#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# squashfs-server.bats — nroot-squashfs, nroot's own FUSE server for
# `nroot run IMAGE.sqsh` (issue 16): what it does differently from
# squashfuse_ll (no open state: reads by node id; READDIRPLUS; cached
# negative entries; its own caches) must read every kind of file back as
# mksquashfs stored it, and a corrupt image must give errors, not a crash.
# The server is mounted here directly (fusermount3), and through nroot.

load helpers

eval "helpers_$(declare -f setup)"

SERVER=${NROOT%/*}/nroot-squashfs

setup() {
    helpers_setup
    [ -x "$SERVER" ] || skip "nroot-squashfs is not built (libsquashfuse-dev, libfuse3-dev)"
    need_tool mksquashfs fusermount3 python3
    [ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse is not usable"
    MNT=$BATS_TEST_TMPDIR/mnt
    mkdir -p "$MNT"
    SERVER_PID=
}

teardown() {
    if [ -n "$SERVER_PID" ]; then
        fusermount3 -u "$MNT" 2>/dev/null || true
        kill "$SERVER_PID" 2>/dev/null || true
    fi
    teardown_containers
}

# a tree with every kind of file: hard links, a symlink, a sparse file with
# holes, a file of several MB, a fifo, an xattr, a long name; mksquashfs adds
# devices and ids (pseudo definitions: no root needed)
make_image() {
    local d=$BATS_TEST_TMPDIR/tree
    mkdir -p "$d/data/empty" "$d/bin"
    cp "$NROOT_TEST_IMAGES/rootfs/bin/busybox" "$d/bin/"
    printf 'hello\n' >"$d/data/file"
    ln "$d/data/file" "$d/data/hard"
    ln -s file "$d/data/link"
    truncate -s 6M "$d/data/sparse"
    printf x | dd of="$d/data/sparse" bs=1 seek=1048576 conv=notrunc status=none
    printf y | dd of="$d/data/sparse" bs=1 seek=5242880 conv=notrunc status=none
    head -c 3000000 /dev/urandom >"$d/data/big"
    mkfifo "$d/data/fifo"
    printf owned >"$d/data/owned"
    LONG=$(printf 'n%.0s' $(seq 1 255))
    printf long >"$d/data/$LONG"
    python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.nroot", b"value")' "$d/data/file" ||
        skip "no user xattrs on $BATS_TEST_TMPDIR"
    mksquashfs "$d" "$BATS_TEST_TMPDIR/all.sqsh" -noappend -quiet -no-progress -xattrs \
        -p "data/null2 c 666 0 0 1 3" -p "data/loop9 b 660 0 6 7 9" -p "data/owned m 640 42 43" \
        >/dev/null
    (cd "$d/data" && sha256sum file sparse big) >"$BATS_TEST_TMPDIR/sums"
}

# start the server on IMAGE at $MNT: 0 once mounted, 1 if it ended first
mount_server() {
    "$SERVER" -f -o ro,nodev,nosuid,noatime "$1" "$MNT" 2>"$BATS_TEST_TMPDIR/server.err" &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        mountpoint -q "$MNT" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    fail "nroot-squashfs did not mount $1 in 5 s"
}

unmount_server() {
    fusermount3 -u "$MNT"
    local st=0
    wait "$SERVER_PID" || st=$?
    SERVER_PID=
    [ "$st" -lt 128 ] || fail "nroot-squashfs was killed by signal $((st - 128))"
}

@test "nroot-squashfs: every kind of file reads back as mksquashfs stored it" {
    make_image
    mount_server "$BATS_TEST_TMPDIR/all.sqsh" || fail "it did not mount: $(cat "$BATS_TEST_TMPDIR/server.err")"
    (cd "$MNT/data" && sha256sum -c --quiet "$BATS_TEST_TMPDIR/sums") || fail "the contents differ"
    # twice: the second from the kernel's cache (no OPEN, the cache kept)
    (cd "$MNT/data" && sha256sum -c --quiet "$BATS_TEST_TMPDIR/sums") || fail "the contents differ"
    run stat -c '%h %i' "$MNT/data/file" "$MNT/data/hard"
    [ "${lines[0]}" = "${lines[1]}" ] && [ "${lines[0]%% *}" = 2 ] || fail "not one inode: $output"
    [ "$(readlink "$MNT/data/link")" = file ]
    [ "$(cat "$MNT/data/link")" = hello ]
    [ "$(stat -c '%F %t:%T' "$MNT/data/null2")" = "character special file 1:3" ]
    [ "$(stat -c '%F %t:%T %g' "$MNT/data/loop9")" = "block special file 7:9 6" ]
    [ "$(stat -c %F "$MNT/data/fifo")" = fifo ]
    [ "$(stat -c '%u:%g %a %s' "$MNT/data/owned")" = "42:43 640 5" ]
    [ "$(stat -c %s "$MNT/data/sparse")" = 6291456 ]
    [ "$(cat "$MNT/data/$LONG")" = long ]
    run python3 -c 'import os, sys
print(os.getxattr(sys.argv[1], "user.nroot").decode(), os.listxattr(sys.argv[1]))
try:
    os.getxattr(sys.argv[1], "user.none")
except OSError as e:
    print(e.errno)' "$MNT/data/file"
    assert_output "value ['user.nroot']
61"
    # a listing brings the attributes (READDIRPLUS); a name that is not
    # there stays not there (a cached negative entry)
    run ls -ln "$MNT/data"
    assert_line --regexp '^-rw-r----- +1 +42 +43 +5 .* owned$'
    [ ! -e "$MNT/data/none" ]
    [ ! -e "$MNT/data/none" ]
    [ "$(ls "$MNT/data/empty" | wc -l)" = 0 ]
    run df -P "$MNT"
    assert_success
    unmount_server
}

@test "nroot-squashfs: nroot run reads the image through it (overlay lower layer)" {
    make_image
    nrun "$BATS_TEST_TMPDIR/all.sqsh" /bin/busybox sh -c \
        'cd /data && /bin/busybox sha256sum file sparse big && /bin/busybox stat -c "%h %i" file hard &&
         /bin/busybox readlink link && /bin/busybox ls /data/none 2>/dev/null; echo end'
    [ "$(head -n 3 <<<"$output")" = "$(cat "$BATS_TEST_TMPDIR/sums")" ] || fail "the contents differ"
    [ "${lines[3]}" = "${lines[4]}" ] || fail "not one inode: ${lines[3]} ${lines[4]}"
    assert_line --index 5 file
    assert_line --index 6 end
}

@test "nroot-squashfs: a corrupt image is an error, never a crash" {
    local img=$BATS_TEST_TMPDIR/busybox.sqsh bad=$BATS_TEST_TMPDIR/bad.sqsh size pos n=0 started=0
    mksquashfs "$NROOT_TEST_IMAGES/rootfs" "$img" -all-root -noappend -quiet -no-progress >/dev/null
    size=$(stat -c %s "$img")
    # truncated at a quarter, half, three quarters and one byte short
    for pos in $((size / 4)) $((size / 2)) $((size * 3 / 4)) $((size - 1)) \
        $(seq 97 $((size / 23)) "$size"); do
        n=$((n + 1))
        cp "$img" "$bad"
        if [ $n -le 4 ]; then
            truncate -s "$pos" "$bad"
        else
            # one byte flipped, through the superblock, tables, inodes and data
            printf '\xa5' | dd of="$bad" bs=1 seek="$pos" conv=notrunc status=none
        fi
        if mount_server "$bad"; then
            started=$((started + 1))
            tar -cf /dev/null -C "$MNT" . 2>/dev/null || true
            find "$MNT" -xdev -type f -exec cat {} + >/dev/null 2>&1 || true
            kill -0 "$SERVER_PID" 2>/dev/null || fail "nroot-squashfs died reading $pos: $(cat "$BATS_TEST_TMPDIR/server.err")"
            stat "$MNT" >/dev/null || fail "the mount does not answer after $pos"
            unmount_server
        else
            local st=0
            wait "$SERVER_PID" || st=$?
            SERVER_PID=
            [ "$st" -lt 128 ] || fail "nroot-squashfs was killed by signal $((st - 128)) at $pos"
            grep -q '^nroot-squashfs: ' "$BATS_TEST_TMPDIR/server.err" ||
                fail "no error line at $pos: $(cat "$BATS_TEST_TMPDIR/server.err")"
        fi
    done
    echo "# $n corrupt images, $started mounted" >&3
}
