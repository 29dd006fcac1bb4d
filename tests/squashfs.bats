#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# squashfs.bats — `nroot run IMAGE.sqsh`: a squashfs file (told by its
# magic) mounted read-only by nroot-squashfs (nroot's own server, else
# squashfuse_ll) as the overlay's lower layer,
# nothing unpacked into the store; the runs of one image share one server
# (squashfs-linger: it goes that long after its last container, even after
# kill -9; the tests set 0 unless they test the linger); named containers,
# --join, --read-only, the kernel overlay and fuse-overlayfs.  The .sqsh
# files are made here with mksquashfs from the busybox test image.

load helpers

eval "helpers_$(declare -f setup)"

setup_file() {
    command -v mksquashfs >/dev/null && command -v squashfuse_ll >/dev/null || return 0
    # the busybox image, every file owned by root, as an image would be
    mksquashfs "$NROOT_TEST_IMAGES/rootfs" "$BATS_FILE_TMPDIR/busybox.sqsh" -all-root -noappend \
        -quiet -no-progress >/dev/null
}

setup() {
    helpers_setup
    need_tool mksquashfs squashfuse_ll
    SQ=$BATS_FILE_TMPDIR/busybox.sqsh
    [ -f "$SQ" ] || fail "mksquashfs did not make $SQ"
    export NROOT_SQUASHFS_LINGER=0
}

teardown() {
    teardown_containers
    # a lingering shared server of this test's (its directory is gone with
    # the test's, and it would go at the end of its linger)
    local p
    for p in $(pgrep -u "$(id -u)" -x nroot-squashfs); do
        if grep -qF "share=" "/proc/$p/cmdline" 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
    done
}

# the servers that mount FILE, nroot-squashfs or squashfuse_ll: a
# container's own or the shared one, FILE on the command line (zombies left
# out: a killed nroot's are reaped by whoever inherits them)
squashfuse_of() {
    local p
    for p in $(pgrep -u "$(id -u)" -x 'squashfuse_ll|nroot-squashfs'); do
        case $(ps -o stat= -p "$p" 2>/dev/null) in Z* | "") continue ;; esac
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- " $1 " && echo "$p"
    done
    return 0
}

# the processes of ours whose mount table holds a squashfs mount of this
# test's runtime directory: a container's lower layer, or a shared server's
squashfuse_mounts() {
    grep -lE -- "$XDG_RUNTIME_DIR/nroot/(mnt/lower|squashfs/[0-9a-f]{16}/mnt) " \
        /proc/[0-9]*/mountinfo 2>/dev/null |
        xargs -r grep -lE 'fuse\.(squashfuse_ll|nroot-squashfs)' 2>/dev/null || true
}

# the shared server needs nroot-squashfs
need_shared() {
    [ -x "${NROOT%/*}/nroot-squashfs" ] || skip "no nroot-squashfs next to nroot: no shared server"
}

# the overlays to try: the kernel's, and fuse-overlayfs where it can be used
overlays() {
    echo kernel
    if fuse_usable; then echo fuse; else echo "# no fuse-overlayfs: $FUSE_WHY" >&3; fi
}

# named containers keep files in the store, images none
assert_no_images() {
    [ -z "$(ls -A "$STORE/images" 2>/dev/null)" ] || fail "the store has images: $(ls -la "$STORE/images")"
}

assert_nothing_left() {
    wait_for 50 eval '[ -z "$(squashfuse_of "$1")" ]' ||
        fail "the squashfs server still runs: $(squashfuse_of "$1")"
    wait_for 50 eval '[ -z "$(squashfuse_mounts)" ]' ||
        fail "a squashfs mount is left in: $(squashfuse_mounts)"
    ! findmnt -rn -t fuse.squashfuse_ll,fuse.nroot-squashfs | grep -qF "$BATS_TEST_TMPDIR" ||
        fail "a squashfs mount is left on the host"
}

@test "squashfs: a .sqsh runs with an empty store, and no tree appears in it" {
    nrun "$SQ" sh -c 'cat /data/unchanged.txt; stat -c "%u %g" /bin/busybox; ls /data'
    assert_line --index 0 original
    assert_line --index 1 "0 0"
    assert_line todelete.txt
    assert_store_has_no_image "$STORE"
    assert_nothing_left "$SQ"
}

@test "squashfs: writes go to the throw-away layer and vanish after the run" {
    nrun "$SQ" sh -c 'echo hi > /data/new.txt && echo more >> /data/existing.txt &&
        rm /data/todelete.txt && rm -r /data/dir && touch /bin/busybox && cat /data/new.txt'
    assert_output hi
    nrun "$SQ" sh -c 'test ! -e /data/new.txt && test -e /data/todelete.txt && test -d /data/dir &&
        ! grep -q more /data/existing.txt && echo clean'
    assert_output clean
}

@test "squashfs: --read-only has no writable layer" {
    run_nroot 0 run --read-only "$SQ" sh -c 'touch /x 2>/dev/null && echo wrote || echo refused
        cat /data/unchanged.txt; echo tmp > /tmp/t && cat /tmp/t'
    assert_output "refused
original
tmp"
}

@test "squashfs: a squashfs file is told by its content, not its name" {
    cp "$SQ" "$BATS_TEST_TMPDIR/busybox"
    cd "$BATS_TEST_TMPDIR"
    nrun busybox cat /data/unchanged.txt
    assert_output original
    assert_store_has_no_image "$STORE"
}

@test "squashfs: the kernel overlay and fuse-overlayfs both take it as the lower layer" {
    local o
    for o in $(overlays); do
        nrun --overlay="$o" "$SQ" sh -c 'echo x > /data/w && cat /data/w /data/unchanged.txt &&
            grep " / / " /proc/self/mountinfo'
        assert_line --index 0 x
        assert_line --index 1 original
        if [ "$o" = fuse ]; then
            assert_line --partial " - fuse.fuse-overlayfs "
        else
            assert_line --partial " - overlay overlay "
        fi
    done
    assert_nothing_left "$SQ"
}

@test "squashfs: a command not run as root reads it too (-u, --userns=keep-id), with either overlay" {
    local o
    for o in $(overlays); do
        # a single id has no user 1000
        if [ "$NROOT_TEST_MODE" != single ]; then
            nrun --overlay="$o" -u 1000 "$SQ" sh -c 'id -u; cat /data/unchanged.txt; ls /root 2>/dev/null || echo denied'
            assert_output "1000
original
denied"
        fi
        # fuse-overlayfs cannot mount as anything but root of the namespace,
        # which --userns=keep-id with a single id lacks
        [ "$o" = fuse ] && [ "$NROOT_TEST_MODE" = single ] && continue
        nrun --overlay="$o" --userns=keep-id "$SQ" sh -c 'id -u; cat /data/unchanged.txt'
        assert_output "$(id -u)
original"
    done
    assert_nothing_left "$SQ"
}

@test "squashfs: ids are the image's: 0 is root, an id the mapping lacks is nobody" {
    as_mapped_root true
    [ "$MAPPED_ROOT_OK" = yes ] || skip "no subordinate range to make a file owned by 42"
    local t=$BATS_TEST_TMPDIR/tree
    # made as root of a user namespace with the range: the ids it records
    # are 0 and 42
    as_mapped_root sh -c 'cp -a "$1" "$2" && chown -R 0:0 "$2" && mkdir "$2/o42" &&
        chown 42:42 "$2/o42" && mksquashfs "$2" "$3" -noappend -quiet -no-progress >/dev/null' \
        sh "$IMG" "$t" "$BATS_TEST_TMPDIR/ids.sqsh"
    nrun "$BATS_TEST_TMPDIR/ids.sqsh" stat -c "%n %u %g" /bin/busybox /o42
    assert_line --index 0 "/bin/busybox 0 0"
    if [ "$NROOT_TEST_MODE" = single ]; then
        assert_line --index 1 "/o42 65534 65534"
    else
        assert_line --index 1 "/o42 42 42"
    fi
}

@test "squashfs: kill -9 of nroot leaves no mount and no squashfs server process" {
    local linger
    # shared (the linger 0: it goes with its last run), and a server per run
    for linger in 0 off; do
        export NROOT_SQUASHFS_LINGER=$linger
        start_nroot "$BATS_TEST_TMPDIR/out" run "$SQ" sh -c 'echo up; exec sleep 60'
        wait_for 100 file_has "$BATS_TEST_TMPDIR/out" up || fail "it did not start: $(cat "$BATS_TEST_TMPDIR/out.err")"
        # what is checked after the kill is there while it runs (the shared
        # server's mount is detached: no path shows it)
        [ -n "$(squashfuse_of "$SQ")" ] || fail "no squashfs server runs for $SQ"
        [ "$linger" = 0 ] || [ -n "$(squashfuse_mounts)" ] || fail "no process of ours sees the squashfs mount"
        kill -9 "$NROOT_PID"
        wait "$NROOT_PID" 2>/dev/null || true
        assert_nothing_left "$SQ"
    done
    # the shared server's directory went with it
    [ -z "$(ls -A "$XDG_RUNTIME_DIR/nroot/squashfs" 2>/dev/null)" ] ||
        fail "left in the runtime directory: $(ls -la "$XDG_RUNTIME_DIR/nroot/squashfs"/*)"
}

@test "squashfs: 16 concurrent runs of one .sqsh" {
    local i pids=()
    for i in $(seq 1 16); do
        "$NROOT" run -q "$SQ" sh -c "cat /data/unchanged.txt && echo $i > /data/n && cat /data/n" \
            >"$BATS_TEST_TMPDIR/o$i" 2>"$BATS_TEST_TMPDIR/e$i" </dev/null &
        pids[i]=$!
        BG_PIDS+=("$!")
    done
    for i in $(seq 1 16); do
        wait_exit "${pids[i]}" 600 || fail "run $i did not end"
        [ "$WAIT_STATUS" = 0 ] || fail "run $i: status $WAIT_STATUS: $(cat "$BATS_TEST_TMPDIR/e$i")"
        [ "$(cat "$BATS_TEST_TMPDIR/o$i")" = "original
$i" ] || fail "run $i wrote: $(cat "$BATS_TEST_TMPDIR/o$i")"
    done
    assert_store_has_no_image "$STORE"
    assert_nothing_left "$SQ"
}

@test "squashfs: a corrupt file is one line and 125, and the store is untouched" {
    head -c 100000 "$SQ" >"$BATS_TEST_TMPDIR/truncated.sqsh"
    { printf hsqs; head -c 4096 /dev/zero | tr '\0' x; } >"$BATS_TEST_TMPDIR/garbage.sqsh"
    local f
    for f in truncated garbage; do
        run_nroot 125 run "$BATS_TEST_TMPDIR/$f.sqsh" true
        assert_nroot_error "cannot mount the squashfs image '.*/$f.sqsh': (squashfuse_ll|nroot-squashfs) failed: ."
        assert_nothing_left "$BATS_TEST_TMPDIR/$f.sqsh"
    done
    assert_store_has_no_image "$STORE"
    # a failed shared server leaves nothing in the runtime directory
    [ -z "$(ls -A "$XDG_RUNTIME_DIR/nroot/squashfs" 2>/dev/null)" ] ||
        fail "left in the runtime directory: $(ls -la "$XDG_RUNTIME_DIR/nroot/squashfs"/*)"
    # and a good one still runs
    nrun "$SQ" true
}

@test "squashfs: without nroot-squashfs and squashfuse_ll, one line naming the package" {
    local bin=$BATS_TEST_TMPDIR/bin p
    mkdir "$bin"
    for p in newuidmap newgidmap fuse-overlayfs; do
        p=$(PATH=$NROOT_TEST_SYS_PATH:$PATH command -v "$p") && ln -s "$p" "$bin/"
    done
    run --separate-stderr env PATH="$bin" NROOT_SQUASHFS=/nonexistent "$NROOT" run "$SQ" true
    assert_nroot_error "squashfuse_ll .*\(install the package squashfuse\)"
    assert_store_has_no_image "$STORE"
}

@test "squashfs: import of a .sqsh says to run it, nothing is imported" {
    run_nroot 125 import "$SQ"
    assert_nroot_error "is a squashfs image: run it directly"
    assert_store_has_no_image "$STORE"
}

@test "squashfs: a named container keeps the path: start mounts it again, exec joins" {
    nrun --name sq "$SQ" sh -c 'echo a >> /f; cat /f'
    assert_output a
    grep -qx "image_key=$SQ" "$STORE/containers/sq/config" ||
        fail "the recorded key is not the path: $(grep image "$STORE/containers/sq/config")"
    run_nroot 0 start -a sq
    assert_output "a
a"
    run_nroot 0 run -d --name sqd "$SQ" sleep 60
    run_nroot 0 exec sqd sh -c 'cat /data/unchanged.txt; echo e > /e'
    assert_output original
    run_nroot 0 exec sqd cat /e
    assert_output e
    run_nroot 0 rm -f sqd
    assert_nothing_left "$SQ"
    assert_no_images
}

@test "squashfs: --join tasks share one container and one squashfs mount" {
    local i pids=() ctl=$BATS_TEST_TMPDIR/ctl
    mkdir "$ctl"
    export NROOT_JOIN_TIMEOUT=20
    for i in 1 2 3 4; do
        "$NROOT" run -q --join=sqk --join-count 4 -v "$ctl:/ctl" "$SQ" sh -c "
            touch /rank$i /ctl/rank$i
            i=0; while [ ! -e /ctl/go ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done
            ls / | grep -c rank" >"$BATS_TEST_TMPDIR/o$i" 2>"$BATS_TEST_TMPDIR/e$i" </dev/null &
        pids[i]=$!
        BG_PIDS+=("$!")
    done
    wait_for 300 eval '[ "$(ls "$ctl" | grep -c rank)" = 4 ]' ||
        fail "the tasks did not start: $(cat "$BATS_TEST_TMPDIR"/e*)"
    [ "$(squashfuse_of "$SQ" | wc -l)" = 1 ] ||
        fail "not one squashfs server for the 4 tasks: $(squashfuse_of "$SQ")"
    touch "$ctl/go"
    for i in 1 2 3 4; do
        wait_exit "${pids[i]}" 300 || fail "task $i did not end"
        [ "$WAIT_STATUS" = 0 ] || fail "task $i: status $WAIT_STATUS: $(cat "$BATS_TEST_TMPDIR/e$i")"
        # one root for all: each saw the others' files
        [ "$(cat "$BATS_TEST_TMPDIR/o$i")" = 4 ] || fail "task $i saw: $(cat "$BATS_TEST_TMPDIR/o$i")"
    done
    assert_nothing_left "$SQ"
}

@test "squashfs: nroot info names the server: nroot-squashfs, squashfuse_ll and its version, or the package" {
    run_nroot 0 info
    if [ -x "${NROOT%/*}/nroot-squashfs" ]; then
        assert_line --regexp '^nroot-squashfs +ok +/.*nroot-squashfs: squashfs images run'
        assert_line --regexp '^squashfs sharing +ok +one server per image file and id map, kept 0 s after its last run \(\$NROOT_SQUASHFS_LINGER\)'
        NROOT_SQUASHFS_LINGER=off run_nroot 0 info
        assert_line --regexp '^squashfs sharing +ok +off: a server per run'
        NROOT_SQUASHFS_LINGER=x run_nroot 0 info
        assert_line --regexp "^squashfs sharing +warning +.*squashfs-linger 'x' is neither"
    else
        assert_line --regexp '^squashfuse_ll +ok +/.*squashfuse_ll \(squashfuse [0-9][0-9.]*\)'
    fi
    NROOT_SQUASHFS=/nonexistent run_nroot 0 info
    assert_line --regexp '^squashfuse_ll +ok +/.*squashfuse_ll \(squashfuse [0-9][0-9.]*\)'
    run env PATH=/nonexistent NROOT_SQUASHFS=/nonexistent "$NROOT" info
    assert_line --regexp '^squashfuse_ll +warning +not installed'
    assert_line --regexp 'fix: apt-get install squashfuse$'
}

@test "squashfs: runs of one image share one server; it goes the linger after the last" {
    need_shared
    export NROOT_SQUASHFS_LINGER=3
    nrun "$SQ" cat /data/unchanged.txt
    assert_output original
    local p1
    p1=$(squashfuse_of "$SQ")
    [ -n "$p1" ] || fail "no server lingers after the run"
    [ "$(echo "$p1" | wc -l)" = 1 ] || fail "more than one server: $p1"
    # the next run, and two at once, take the same one
    nrun "$SQ" true
    [ "$(squashfuse_of "$SQ")" = "$p1" ] || fail "another server: $(squashfuse_of "$SQ"), not $p1"
    start_nroot "$BATS_TEST_TMPDIR/out" run "$SQ" sh -c 'echo up; exec sleep 60'
    wait_for 100 file_has "$BATS_TEST_TMPDIR/out" up || fail "it did not start: $(cat "$BATS_TEST_TMPDIR/out.err")"
    nrun "$SQ" sh -c 'echo w > /data/n && cat /data/unchanged.txt /data/n'
    assert_output "original
w"
    [ "$(squashfuse_of "$SQ")" = "$p1" ] || fail "another server: $(squashfuse_of "$SQ"), not $p1"
    # outside every container: the host's pid namespace, a session of its own
    [ "$(readlink /proc/"$p1"/ns/pid)" = "$(readlink /proc/self/ns/pid)" ] ||
        fail "the server is not in the host's pid namespace"
    [ "$(ps -o sid= -p "$p1")" != "$(ps -o sid= -p "$NROOT_PID")" ] || fail "the server is in nroot's session"
    # kill -9 of the last nroot: the server stays for the linger, then goes
    kill -9 "$NROOT_PID"
    wait "$NROOT_PID" 2>/dev/null || true
    sleep 1
    [ "$(squashfuse_of "$SQ")" = "$p1" ] || fail "the server did not linger"
    assert_nothing_left "$SQ"
    # and the next run starts a new one
    nrun "$SQ" cat /data/unchanged.txt
    assert_output original
}

@test "squashfs: a killed shared server (TERM, KILL): the next run starts another" {
    need_shared
    export NROOT_SQUASHFS_LINGER=60
    nrun "$SQ" true
    local p1 p2 sig
    for sig in TERM KILL; do
        p1=$(squashfuse_of "$SQ")
        [ -n "$p1" ] || fail "no server lingers after the run"
        kill -"$sig" "$p1"
        wait_for 50 eval '[ -z "$(squashfuse_of "$SQ")" ]' || fail "the server did not end on $sig"
        nrun "$SQ" cat /data/unchanged.txt
        assert_output original
        p2=$(squashfuse_of "$SQ")
        [ -n "$p2" ] && [ "$p2" != "$p1" ] || fail "no new server after $sig: '$p2'"
    done
    # a run that comes while the server ends gets either it or the next
    nrun "$SQ" true
    p1=$(squashfuse_of "$SQ")
    local i pids=()
    for i in 1 2 3 4; do
        "$NROOT" run -q "$SQ" cat /data/unchanged.txt >"$BATS_TEST_TMPDIR/o$i" 2>&1 </dev/null &
        pids[i]=$!
        BG_PIDS+=("$!")
    done
    kill -TERM "$p1"
    for i in 1 2 3 4; do
        wait_exit "${pids[i]}" 300 || fail "run $i did not end"
        # one that got the ending server's mount may fail (135: SIGBUS, a
        # page of cat's own binary read from the server that went); none
        # may hang or leave a mount
        [ "$WAIT_STATUS" = 0 ] || [ "$WAIT_STATUS" = 125 ] || [ "$WAIT_STATUS" = 127 ] ||
            [ "$WAIT_STATUS" = 1 ] || [ "$WAIT_STATUS" = 135 ] || fail "run $i: status $WAIT_STATUS: $(cat "$BATS_TEST_TMPDIR/o$i")"
    done
    nrun "$SQ" cat /data/unchanged.txt
    assert_output original
}

@test "squashfs: a new file under the image's name gets a server of its own" {
    need_shared
    export NROOT_SQUASHFS_LINGER=60
    local x=$BATS_TEST_TMPDIR/x.sqsh t=$BATS_TEST_TMPDIR/tree
    cp "$SQ" "$x"
    nrun "$x" cat /data/unchanged.txt
    assert_output original
    cp -a "$IMG" "$t"
    echo changed >"$t/data/unchanged.txt"
    mksquashfs "$t" "$x.new" -all-root -noappend -quiet -no-progress >/dev/null
    mv "$x.new" "$x"
    nrun "$x" cat /data/unchanged.txt
    assert_output changed
    [ "$(pgrep -u "$(id -u)" -x nroot-squashfs | wc -l)" -ge 2 ] || fail "one server for two files"
}

@test "squashfs: squashfs-linger off: a server per run, nroot's child, gone with it" {
    need_shared
    export NROOT_SQUASHFS_LINGER=off
    start_nroot "$BATS_TEST_TMPDIR/out" run "$SQ" sh -c 'echo up; exec sleep 60'
    wait_for 100 file_has "$BATS_TEST_TMPDIR/out" up || fail "it did not start: $(cat "$BATS_TEST_TMPDIR/out.err")"
    local p
    p=$(squashfuse_of "$SQ")
    [ -n "$p" ] || fail "no server"
    [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$NROOT_PID" ] || fail "the server is not nroot's child"
    ! grep -q share= "/proc/$p/cmdline" || fail "a shared server: $(tr '\0' ' ' <"/proc/$p/cmdline")"
    kill -9 "$NROOT_PID"
    wait "$NROOT_PID" 2>/dev/null || true
    assert_nothing_left "$SQ"
}

@test "squashfs: a bad squashfs-linger is one line and 125" {
    NROOT_SQUASHFS_LINGER=soon run_nroot 125 run "$SQ" true
    assert_nroot_error "squashfs-linger 'soon' is neither a number of seconds"
    printf 'squashfs-linger = -5\n' >"$BATS_TEST_TMPDIR/c.conf"
    unset NROOT_SQUASHFS_LINGER
    NROOT_CONFIG=$BATS_TEST_TMPDIR/c.conf run_nroot 125 run "$SQ" true
    assert_nroot_error "c.conf: squashfs-linger '-5' is neither"
    assert_store_has_no_image "$STORE"
}

@test "squashfs: another id map gets another server" {
    need_shared
    [ "$NROOT_TEST_MODE" = subids ] || skip "needs a subordinate range besides the single id"
    export NROOT_SQUASHFS_LINGER=60
    nrun "$SQ" true
    nrun --userns=single "$SQ" stat -c %u /bin/busybox
    assert_output 0
    [ "$(squashfuse_of "$SQ" | wc -l)" = 2 ] || fail "not two servers: $(squashfuse_of "$SQ")"
}

@test "squashfs: a shared server's lock held too long is one line and 125, not a hang" {
    need_shared
    export NROOT_SQUASHFS_LINGER=60
    nrun "$SQ" true
    local lock
    lock=$(ls "$XDG_RUNTIME_DIR"/nroot/squashfs/*/lock)
    [ -f "$lock" ] || fail "no lock file: $(ls -R "$XDG_RUNTIME_DIR/nroot/squashfs")"
    flock "$lock" sleep 30 &
    BG_PIDS+=("$!")
    sleep 0.3
    local t0=$SECONDS
    run_nroot 125 run "$SQ" true
    assert_nroot_error "held by another nroot"
    [ $((SECONDS - t0)) -lt 20 ] || fail "it waited $((SECONDS - t0)) s"
}

@test "squashfs: the shared server keeps nothing of the run that started it" {
    need_shared
    export NROOT_SQUASHFS_LINGER=60
    NR_SECRET_OF_THE_FIRST_RUN=x nrun "$SQ" true
    local p
    p=$(squashfuse_of "$SQ")
    [ -n "$p" ] || fail "no server lingers"
    # no capability but CAP_SYS_ADMIN (of the first container's user
    # namespace), no_new_privs, no environment, nothing of the host's mounts
    [ ! -s "/proc/$p/environ" ] || fail "the server has an environment"
    [ "$(wc -l <"/proc/$p/mountinfo")" = 1 ] || fail "the server's mounts: $(cat "/proc/$p/mountinfo")"
    grep -qx "CapBnd:[[:space:]]*0000000000200000" "/proc/$p/status" || fail "$(grep Cap "/proc/$p/status")"
    grep -qx "CapEff:[[:space:]]*0000000000200000" "/proc/$p/status" || fail "$(grep Cap "/proc/$p/status")"
    grep -qx "NoNewPrivs:[[:space:]]*1" "/proc/$p/status" || fail "no no_new_privs"
    # in a session of its own: a ^C on the terminal of a run does not reach it
    [ "$(ps -o sid= -p "$p")" != "$(ps -o sid= -p $$)" ] || fail "in the caller's session"
}
