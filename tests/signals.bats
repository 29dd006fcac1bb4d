#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Signals and PID 1: forwarding, SIGKILL of nroot, zombie reaping.

load helpers

# start `nr-test sig-wait` in the background and wait until it is ready
start_sig_wait() {
    OUT=$BATS_TEST_TMPDIR/out
    # emptied here: the background job's own truncation comes later, and
    # the last round's "ready" must not count
    : >"$OUT"
    start_nroot "$OUT" run -q "$IMG" nr-test sig-wait
    wait_for 100 file_has "$OUT" '^ready$' ||
        fail "the payload never got ready: $(cat "$OUT" "$OUT.err")"
}

@test "signals: SIGTERM to nroot reaches the command" {
    start_sig_wait
    kill -TERM "$NROOT_PID"
    wait_exit "$NROOT_PID" 100 || fail "nroot did not exit after SIGTERM: $(cat "$OUT")"
    assert_equal "$(cat "$OUT")" "ready
got SIGTERM"
    assert_equal "$WAIT_STATUS" 0
}

@test "signals: SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGWINCH are forwarded" {
    local sig
    for sig in INT HUP QUIT USR1 USR2 WINCH; do
        start_sig_wait
        kill -"$sig" "$NROOT_PID"
        wait_exit "$NROOT_PID" 100 || fail "nroot did not exit after SIG$sig: $(cat "$OUT")"
        assert_equal "$(cat "$OUT")" "ready
got SIG$sig"
        assert_equal "$WAIT_STATUS" 0
    done
}

@test "signals: SIGTERM to nroot kills a command that does not catch it: 143" {
    OUT=$BATS_TEST_TMPDIR/out
    start_nroot "$OUT" run -q "$IMG" sh -c 'echo ready; exec sleep 300'
    wait_for 100 file_has "$OUT" '^ready$' || fail "no ready: $(cat "$OUT.err")"
    # whether SIGTERM meets the shell or the sleep it execs, it ends with it
    kill -TERM "$NROOT_PID"
    wait_exit "$NROOT_PID" 100 || fail "nroot did not exit after SIGTERM"
    assert_equal "$WAIT_STATUS" 143
}

@test "signals: SIGKILL to nroot leaves no container process behind" {
    local tag=nroot-test-orphan-$$-$RANDOM
    OUT=$BATS_TEST_TMPDIR/out
    start_nroot "$OUT" run -q "$IMG" sh -c "nr-test sleep 1000 $tag & nr-test sleep 1000 $tag-2 & echo started; wait"
    wait_for 100 file_has "$OUT" '^started$' || fail "no start: $(cat "$OUT.err")"
    # the container's sleeps are visible from the host
    wait_for 50 pgrep -f "nr-test sleep 1000 $tag-2" >/dev/null ||
        fail "the container's process is not found from the host"
    kill -KILL "$NROOT_PID"
    wait "$NROOT_PID" 2>/dev/null || true
    wait_for 50 eval "! pgrep -f '$tag' >/dev/null" ||
        fail "left behind after SIGKILL of nroot: $(pgrep -af "$tag")"
    # nor a helper (fuse-overlayfs, ...) working on this test's directories
    wait_for 50 eval "! pgrep -f '$BATS_TEST_TMPDIR' >/dev/null" ||
        fail "helpers left behind after SIGKILL of nroot: $(pgrep -af "$BATS_TEST_TMPDIR")"
}

@test "signals: SIGKILL to nroot while the command ignores SIGTERM leaves nothing" {
    local tag=nroot-test-stubborn-$$-$RANDOM
    OUT=$BATS_TEST_TMPDIR/out
    start_nroot "$OUT" run -q "$IMG" sh -c "trap '' TERM HUP INT; echo started; nr-test sleep 1000 $tag"
    wait_for 100 file_has "$OUT" '^started$' || fail "no start: $(cat "$OUT.err")"
    wait_for 50 pgrep -f "nr-test sleep 1000 $tag" >/dev/null || fail "the command is not running"
    kill -KILL "$NROOT_PID"
    wait "$NROOT_PID" 2>/dev/null || true
    wait_for 50 eval "! pgrep -f '$tag' >/dev/null" ||
        fail "left behind after SIGKILL of nroot: $(pgrep -af "$tag")"
}

@test "signals: orphaned zombies are reaped by PID 1" {
    nrun "$IMG" sh -c 'nr-test zombies 5 || exit 1
        for i in $(seq 50); do ps -o stat | grep -q "^ *Z" || { echo none; exit 0; }; sleep 0.1; done
        ps -o pid,stat,args; exit 1'
    assert_line "reaped 5"
    assert_line "none"
}

@test "signals: no helper process outlives a container" {
    nrun "$IMG" true
    nrun "$IMAGES/rootfs.tar.gz" true
    wait_for 50 eval "! pgrep -f '$BATS_TEST_TMPDIR' >/dev/null" ||
        fail "left behind after the container exited: $(pgrep -af "$BATS_TEST_TMPDIR")"
}

@test "signals: the command's exit ends the container even with children left" {
    local tag=nroot-test-bgchild-$$-$RANDOM
    nrun "$IMG" sh -c "nr-test sleep 1000 $tag & echo parent-done"
    assert_output "parent-done"
    wait_for 50 eval "! pgrep -f '$tag' >/dev/null" ||
        fail "a background child survived the container: $(pgrep -af "$tag")"
}

@test "signals: a command that ignores SIGINT still gets SIGTERM through nroot" {
    OUT=$BATS_TEST_TMPDIR/out
    start_nroot "$OUT" run -q "$IMG" sh -c 'trap "" INT; trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
    wait_for 100 file_has "$OUT" '^ready$' || fail "no ready: $(cat "$OUT.err")"
    kill -INT "$NROOT_PID"
    sleep 0.3
    kill -0 "$NROOT_PID" || fail "SIGINT ended the container although the command ignores it"
    kill -TERM "$NROOT_PID"
    wait_exit "$NROOT_PID" 100 || fail "nroot did not exit after SIGTERM"
    assert_equal "$WAIT_STATUS" 7
    assert_equal "$(cat "$OUT")" "ready
got-term"
}

@test "signals: PID 1 holds no inherited fd, only CAP_KILL, and cannot be read by the payload" {
    # fd 5 on the host's root directory: an inherited fd must not reach the container
    run_nroot 0 run --cap-add SYS_PTRACE "$IMG" sh -c \
        'ls /proc/1/fd 2>&1; grep CapEff /proc/1/status; ls /proc/self/fd' 5</
    refute_output --partial "No such"
    assert_output --partial "CapEff:	0000000000000020"
    refute_line "5"
}

@test "signals: the command starts with no signal ignored or blocked, whatever nroot's caller ignored" {
    # a shell's background job ignores SIGINT and SIGQUIT, nohup SIGHUP;
    # glibc's own two (32, 33) can be ignored too, by a caller that used
    # the system call (glibc refuses them).  The command gets every
    # signal at its default action, with the set-up's thread (default
    # network) and without it (--net=host); SIGCHLD ignored by the caller
    # does not keep nroot from its children's status
    local host_test=$NROOT_TEST_IMAGES/nr-test net
    [ -x "$host_test" ] || skip "no host nr-test"
    for net in none host; do
        run timeout -k 5 "$NROOT_TEST_TIMEOUT" "$host_test" ignore 1,2,3,10,13,17,32,33 \
            "$NROOT" run -q --net="$net" "$IMG" sh -c 'grep -E "^Sig(Ign|Blk):" /proc/self/status; exit 3'
        assert_equal "$status" 3
        assert_line --regexp '^SigIgn:[[:space:]]+0+$'
        assert_line --regexp '^SigBlk:[[:space:]]+0+$'
    done
}

@test "signals: nroot works with stdin, stdout or stderr closed" {
    run_nroot 0 run "$IMAGES/rootfs.tar.gz" true <&-
    run_nroot 0 run "$IMAGES/rootfs.tar.xz" true 2>&-
    "$NROOT" run "$IMG" true >&-
}
