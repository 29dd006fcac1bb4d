#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The root filesystem: images (directories and tarballs), the store, the
# ephemeral writable layer, --read-only, pivot_root.

load helpers

# a payload that creates, modifies, renames and deletes, and checks that it
# saw its own changes
MUTATE='set -e
echo new > /data/new.txt
echo more >> /data/existing.txt
rm /data/todelete.txt
rm -r /data/dir
mkdir -p /data/newdir/sub && echo x > /data/newdir/sub/f
mv /data/unchanged.txt /data/renamed.txt && mv /data/renamed.txt /data/unchanged.txt
chmod 600 /data/existing.txt
ln -sf /nowhere /data/link
touch /bin/busybox
echo root > /root/f
test "$(cat /data/new.txt)" = new
test ! -e /data/todelete.txt && test ! -e /data/dir
test "$(tail -n1 /data/existing.txt)" = more
echo mutated'

@test "rootfs: writes vanish when the container exits" {
    nrun "$IMG" sh -c 'echo hi > /data/new.txt && echo hi > /etc/new && rm /data/todelete.txt && cat /data/new.txt'
    assert_output "hi"
    nrun "$IMG" sh -c 'ls /data; test ! -e /etc/new && test -e /data/todelete.txt && echo clean'
    refute_line "new.txt"
    assert_line "clean"
}

@test "rootfs: an image directory is byte-for-byte unchanged after a mutating run" {
    local img before
    img=$(copy_image)
    before=$(tree_sum "$img")
    local list
    list=$(tree_list "$img")
    nrun "$img" sh -c "$MUTATE"
    assert_output "mutated"
    [ "$(tree_sum "$img")" = "$before" ] ||
        fail "the image directory changed: $(diff <(echo "$list") <(tree_list "$img"))"
}

@test "rootfs: the imported store image is byte-for-byte unchanged after a mutating run" {
    nrun "$IMAGES/rootfs.tar.gz" true
    local root before list
    root=$(store_image_root "$STORE") || fail "no image found in the store $STORE"
    before=$(tree_sum "$root")
    list=$(tree_list "$root")
    nrun "$IMAGES/rootfs.tar.gz" sh -c "$MUTATE"
    assert_output "mutated"
    [ "$(tree_sum "$root")" = "$before" ] ||
        fail "the store image changed: $(diff <(echo "$list") <(tree_list "$root"))"
    nrun "$IMAGES/rootfs.tar.gz" cat /data/unchanged.txt /data/todelete.txt
    assert_output "original
doomed"
}

@test "rootfs: --read-only makes the root filesystem unwritable" {
    nrun --read-only "$IMG" sh -c 'nr-test write /data/new.txt; nr-test write /etc/x; nr-test write /data/existing.txt; true'
    assert_equal "$output" "EROFS
EROFS
EROFS"
}

@test "rootfs: --read-only keeps /tmp and /dev/shm writable" {
    nrun --read-only "$IMG" sh -c 'nr-test write /tmp/x && nr-test write /dev/shm/x'
    assert_output "ok
ok"
}

@test "rootfs: --read-only leaves the image unchanged and runs" {
    local img before
    img=$(copy_image)
    before=$(tree_sum "$img")
    nrun --read-only "$img" cat /data/unchanged.txt
    assert_output "original"
    assert_equal "$(tree_sum "$img")" "$before"
}

@test "rootfs: the root is an overlay (kernel or fuse-overlayfs as asked)" {
    nrun "$IMG" nr-test mnt /
    if [ "$NROOT_TEST_MODE" = fuse ]; then
        assert_output --regexp '^fuse(\.fuse-overlayfs)? '
    else
        assert_output --regexp '^(overlay|fuse(\.fuse-overlayfs)?) '
    fi
    nrun --overlay=kernel "$IMG" nr-test mnt /
    assert_output --regexp '^overlay '
    nrun --overlay=auto "$IMG" nr-test mnt /
    assert_output --regexp '^(overlay|fuse(\.fuse-overlayfs)?) '
}

@test "rootfs: the writable layer leaves no trace on the host" {
    local tag=upper-marker-$$-$RANDOM
    nrun "$IMG" sh -c "head -c 1048576 /dev/zero > /data/$tag && echo $tag > /root/$tag && ls /data/$tag"
    assert_output "/data/$tag"
    # (directories of other users are not searched: find's errors go)
    run --separate-stderr find "$BATS_TEST_TMPDIR" "$IMAGES" /tmp "$HOME" -name "$tag" -print
    assert_output ""
}

@test "rootfs: --overlay=fuse uses fuse-overlayfs" {
    fuse_usable || skip "$FUSE_WHY"
    nrun --overlay=fuse "$IMG" sh -c 'nr-test mnt /; echo x > /data/new.txt; cat /data/new.txt'
    assert_line --index 0 --regexp '^fuse(\.fuse-overlayfs)? '
    assert_line --index 1 "x"
    NROOT_OVERLAY=fuse nrun "$IMG" nr-test mnt /
    assert_output --regexp '^fuse(\.fuse-overlayfs)? '
}

@test "rootfs: a plain tarball runs" {
    nrun "$IMAGES/rootfs.tar" cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: a gzip tarball runs" {
    nrun "$IMAGES/rootfs.tar.gz" cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: an xz tarball runs" {
    nrun "$IMAGES/rootfs.tar.xz" cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: a zstd tarball runs" {
    nrun "$IMAGES/rootfs.tar.zst" cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: the compression is detected by content, not by name" {
    cp "$IMAGES/rootfs.tar.zst" "$BATS_TEST_TMPDIR/image.tar.gz"
    cp "$IMAGES/rootfs.tar.xz" "$BATS_TEST_TMPDIR/image"
    nrun "$BATS_TEST_TMPDIR/image.tar.gz" cat /data/unchanged.txt
    assert_output "original"
    nrun "$BATS_TEST_TMPDIR/image" cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: a tarball keeps modes, symlinks and executables" {
    nrun "$IMAGES/rootfs.tar.xz" sh -c 'stat -c "%a %n" /tmp /root /bin/noexec; readlink /data/link; readlink /bin/sh'
    assert_equal "$output" "1777 /tmp
700 /root
644 /bin/noexec
unchanged.txt
/bin/busybox"
}

@test "rootfs: a tarball keeps hard links" {
    nrun "$IMAGES/rootfs.tar.gz" sh -c 'stat -c %i /data/hardlink /data/dir/a; cat /data/hardlink'
    assert_equal "${#lines[@]}" 3
    assert_equal "${lines[0]}" "${lines[1]}"
    assert_equal "${lines[2]}" "a"
    # (fuse-overlayfs reports a link count of 1: count the links in the store)
    local root
    root=$(store_image_root "$STORE") || fail "no image in the store"
    run as_mapped_root stat -c %h "$root/data/hardlink"
    assert_output "2"
}

@test "rootfs: device nodes in a tarball do not stop the import" {
    local t=$BATS_TEST_TMPDIR/withdev.tar
    tar -C "$IMG" -cf "$t" . -C / ./dev/null ./dev/zero
    tar -tvf "$t" | grep -q '^c' || skip "tar did not store the device nodes"
    nrun "$t" cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: a relative image path works" {
    cd "$(dirname "$IMG")"
    nrun "./$(basename "$IMG")" cat /data/unchanged.txt
    assert_output "original"
    cd "$IMAGES"
    nrun rootfs.tar.gz cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: image paths with spaces, commas and colons work" {
    local weird="$BATS_TEST_TMPDIR/my image,v1:x"
    mkdir -p "$weird"
    cp -a "$IMG" "$weird/root fs,2"
    cp "$IMAGES/rootfs.tar.gz" "$weird/image,1:x.tar.gz"
    nrun "$weird/root fs,2" sh -c 'echo w > /data/new && cat /data/new /data/unchanged.txt'
    assert_output "w
original"
    nrun "$weird/image,1:x.tar.gz" sh -c 'echo w > /data/new && cat /data/new /data/unchanged.txt'
    assert_output "w
original"
}

@test "rootfs: a store path with spaces, commas and colons works" {
    export XDG_DATA_HOME="$BATS_TEST_TMPDIR/da ta,1:x"
    nrun "$IMAGES/rootfs.tar.gz" sh -c 'echo w > /data/new && cat /data/new /data/unchanged.txt'
    assert_output "w
original"
}

@test "rootfs: a runtime directory with spaces, commas and colons works" {
    export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run time,1:x"
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
    nrun "$IMG" sh -c 'echo w > /data/new && cat /data/new /data/unchanged.txt'
    assert_output "w
original"
}

@test "rootfs: two containers at once with the same XDG directories are isolated" {
    local o1=$BATS_TEST_TMPDIR/o1 o2=$BATS_TEST_TMPDIR/o2
    start_nroot "$o1" run -q "$IMG" sh -c 'echo one > /data/who; while [ ! -e /tmp/go ]; do
        [ "$(cat /data/who)" = one ] || { echo clobbered; exit 1; }; sleep 0.1; n=$((n+1)); [ $n -gt 30 ] && break; done; cat /data/who'
    local p1=$NROOT_PID
    start_nroot "$o2" run -q "$IMG" sh -c 'echo two > /data/who; sleep 1; cat /data/who'
    local p2=$NROOT_PID
    wait_exit "$p2" 200 || fail "the second container did not finish"
    assert_equal "$WAIT_STATUS" 0
    wait_exit "$p1" 200 || fail "the first container did not finish"
    assert_equal "$WAIT_STATUS" 0
    assert_equal "$(cat "$o1")" "one"
    assert_equal "$(cat "$o2")" "two"
}

@test "rootfs: the store defaults to ~/.local/share/nroot without XDG_DATA_HOME" {
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset XDG_DATA_HOME
    nrun "$IMAGES/rootfs.tar.gz" cat /data/unchanged.txt
    assert_output "original"
    store_image_root "$HOME/.local/share/nroot" >/dev/null || fail "no image in ~/.local/share/nroot"
}

@test "rootfs: without a command, /bin/sh runs" {
    echo "\$ echo 'echo from-sh' | nroot run -i IMG"
    run --separate-stderr "$NROOT" run -q -i "$IMG" <<<'echo from-sh; exit 4'
    assert_equal "$status" 4
    assert_output "from-sh"
}

@test "rootfs: a tarball is imported into \$XDG_DATA_HOME/nroot" {
    nrun "$IMAGES/rootfs.tar.gz" true
    store_image_root "$STORE" >/dev/null || fail "no image in $STORE"
}

@test "rootfs: NROOT_STORE moves the store" {
    export NROOT_STORE=$BATS_TEST_TMPDIR/other-store
    nrun "$IMAGES/rootfs.tar.gz" cat /data/unchanged.txt
    assert_output "original"
    store_image_root "$NROOT_STORE" >/dev/null || fail "no image in $NROOT_STORE"
    ! store_image_root "$STORE" >/dev/null || fail "the image went to $STORE despite NROOT_STORE"
}

@test "rootfs: a second run of the same tarball does not read it again" {
    local t=$BATS_TEST_TMPDIR/image.tar.zst
    cp "$IMAGES/rootfs.tar.zst" "$t"
    nrun "$t" cat /data/unchanged.txt
    assert_output "original"
    chmod 000 "$t"
    nrun "$t" cat /data/unchanged.txt
    assert_output "original"
    chmod 644 "$t"
}

# a plain tarball of the test image plus /data/version holding $2
make_versioned_tar() {
    local out=$1 v=$BATS_TEST_TMPDIR/v$2
    mkdir -p "$v/data"
    echo "$2" >"$v/data/version"
    tar -C "$IMG" --numeric-owner --owner=0 --group=0 -cf "$out.new" . -C "$v" ./data/version
    # rewrite in place: same inode, so only size or mtime can tell
    cat "$out.new" >"$out"
    rm "$out.new"
}

@test "rootfs: two concurrent first runs of one tarball both succeed" {
    local t=$BATS_TEST_TMPDIR/image.tar.xz
    cp "$IMAGES/rootfs.tar.xz" "$t"
    start_nroot "$BATS_TEST_TMPDIR/out1" run -q "$t" cat /data/unchanged.txt
    local p1=$NROOT_PID
    start_nroot "$BATS_TEST_TMPDIR/out2" run -q "$t" cat /data/unchanged.txt
    local p2=$NROOT_PID
    wait_exit "$p1" 300 || fail "the first run did not finish"
    assert_equal "$WAIT_STATUS" 0
    wait_exit "$p2" 300 || fail "the second run did not finish"
    assert_equal "$WAIT_STATUS" 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/out1")" "original"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/out2")" "original"
    # one image, not two
    run as_mapped_root find "$STORE" -path '*/data/unchanged.txt'
    assert_equal "${#lines[@]}" 1
}

@test "rootfs: a tarball with a new mtime is imported again" {
    local t=$BATS_TEST_TMPDIR/image.tar
    make_versioned_tar "$t" 1
    touch -d '2020-01-01 00:00:00' "$t"
    nrun "$t" cat /data/version
    assert_output "1"
    local size
    size=$(stat -c %s "$t")
    make_versioned_tar "$t" 2
    # same size: only the mtime tells the two apart
    assert_equal "$(stat -c %s "$t")" "$size"
    touch -d '2021-01-01 00:00:00' "$t"
    nrun "$t" cat /data/version
    assert_output "2"
}

@test "rootfs: a tarball with a new size is imported again" {
    local t=$BATS_TEST_TMPDIR/image.tar
    make_versioned_tar "$t" 1
    touch -d '2020-01-01 00:00:00' "$t"
    nrun "$t" cat /data/version
    assert_output "1"
    make_versioned_tar "$t" 2
    gzip -c "$t" >"$t.gz" && cat "$t.gz" >"$t" && rm "$t.gz"
    touch -d '2020-01-01 00:00:00' "$t"
    nrun "$t" cat /data/version
    assert_output "2"
}

@test "rootfs: a truncated gzip tarball fails with 125 and leaves no image" {
    local t=$BATS_TEST_TMPDIR/trunc.tar.gz size
    size=$(stat -c %s "$IMAGES/rootfs.tar.gz")
    head -c $((size * 2 / 3)) "$IMAGES/rootfs.tar.gz" >"$t"
    run_nroot 125 run "$t" true
    assert_nroot_error
    assert_store_has_no_image "$STORE"
}

@test "rootfs: a truncated plain tarball fails with 125 and leaves no image" {
    local t=$BATS_TEST_TMPDIR/trunc.tar size
    size=$(stat -c %s "$IMAGES/rootfs.tar")
    # cut inside busybox's data, not at a header boundary
    head -c $((size / 2 + 1000)) "$IMAGES/rootfs.tar" >"$t"
    run_nroot 125 run "$t" true
    assert_nroot_error
    assert_store_has_no_image "$STORE"
}

@test "rootfs: a corrupt xz tarball fails with 125 and leaves no image" {
    local t=$BATS_TEST_TMPDIR/corrupt.tar.xz size
    cp "$IMAGES/rootfs.tar.xz" "$t"
    size=$(stat -c %s "$t")
    # overwrite 4 KiB in the middle of the compressed stream
    head -c 4096 /dev/urandom | dd of="$t" bs=1 seek=$((size / 2)) conv=notrunc status=none
    run_nroot 125 run "$t" true
    assert_nroot_error
    assert_store_has_no_image "$STORE"
}

@test "rootfs: a good import still works after a failed one" {
    local t=$BATS_TEST_TMPDIR/image.tar.gz size
    size=$(stat -c %s "$IMAGES/rootfs.tar.gz")
    head -c $((size / 2)) "$IMAGES/rootfs.tar.gz" >"$t"
    run_nroot 125 run "$t" true
    assert_nroot_error
    cp "$IMAGES/rootfs.tar.gz" "$t"
    nrun "$t" cat /data/unchanged.txt
    assert_output "original"
}

@test "rootfs: an import killed half way is redone by the next run" {
    local big=$BATS_TEST_TMPDIR/big t=$BATS_TEST_TMPDIR/big.tar.gz
    cp -a "$IMG" "$big"
    mkdir "$big/many"
    head -c 3000000 /dev/urandom | (cd "$big/many" && split -a 3 -b 1000 - f)
    tar -C "$big" -czf "$t" .
    rm -rf "$big"
    start_nroot "$BATS_TEST_TMPDIR/out" run -q "$t" true
    # kill it once unpacking has begun
    wait_for 100 eval "as_mapped_root find '$STORE' -maxdepth 5 -path '*/many/*' 2>/dev/null | grep -q ." ||
        echo "# the import was never seen in progress"
    kill -KILL "$NROOT_PID"
    wait "$NROOT_PID" 2>/dev/null || true
    wait_for 50 eval "! pgrep -f '$BATS_TEST_TMPDIR' >/dev/null" ||
        fail "left behind after SIGKILL of nroot during an import: $(pgrep -af "$BATS_TEST_TMPDIR")"
    nrun "$t" sh -c 'ls /data/unchanged.txt >/dev/null && ls /many | wc -l'
    assert_output "3000"
}

@test "rootfs: a random file is not an image: 125" {
    head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/random.img"
    run_nroot 125 run "$BATS_TEST_TMPDIR/random.img" true
    assert_nroot_error
    assert_store_has_no_image "$STORE"
}

@test "rootfs: a text file and an empty file are not images: 125" {
    echo "hello world" >"$BATS_TEST_TMPDIR/text"
    run_nroot 125 run "$BATS_TEST_TMPDIR/text" true
    assert_nroot_error
    : >"$BATS_TEST_TMPDIR/empty"
    run_nroot 125 run "$BATS_TEST_TMPDIR/empty" true
    assert_nroot_error
    assert_store_has_no_image "$STORE"
}

@test "rootfs: unpacking cannot write outside the store (../, absolute names, symlinks)" {
    local evil=$BATS_TEST_TMPDIR/evil target=$BATS_TEST_TMPDIR/target
    mkdir -p "$evil/w" "$target"
    echo pwned >"$evil/payload"
    # ../../../<target>/dotdot, /<target>/abs, and a symlink to <target>
    # followed by a file through it
    ln -s "$target" "$evil/w/link"
    (
        cd "$evil/w"
        tar -cf ../evil.tar -C "$IMG" . -C "$evil/w" ./link
        tar -rPf ../evil.tar --transform "s|.*payload\$|link/via-symlink|" "$evil/payload"
        tar -rPf ../evil.tar --transform "s|.*payload\$|../../../../../../../..$target/dotdot|" "$evil/payload"
        tar -rPf ../evil.tar --transform "s|.*payload\$|$target/abs|" "$evil/payload"
    )
    tar -tPf "$evil/evil.tar" | grep -q '\.\./' || skip "tar refused to store ../ names"
    run_nroot any run "$evil/evil.tar" true
    [ "$status" = 0 ] || assert_nroot_error
    run ls -A "$target"
    assert_output ""
}

@test "rootfs: a chroot escape from inside does not reach the host's root" {
    local marker=$BATS_TEST_TMPDIR/host-marker-$$
    touch "$marker"
    nrun -w /tmp "$IMG" nr-test chroot-escape "$marker" /etc/debian_version /data/unchanged.txt
    local before after
    before=$(sed -n 's/^root-before //p' <<<"$output")
    after=$(sed -n 's/^root-after //p' <<<"$output")
    [ -n "$after" ] || fail "the escape attempt did not complete: $output"
    assert_equal "$after" "$before"
    assert_line "$marker hidden"
    assert_line "/etc/debian_version hidden"
    assert_line "/data/unchanged.txt visible"
}
