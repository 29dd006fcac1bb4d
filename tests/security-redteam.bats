#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# security-redteam.bats — issue 12, a second look as an attacker: what the
# review's fixes themselves opened or left open.  Each test fails on the
# baseline (b2b1341) or on the first integration of the fixes, and passes
# after the fix named in it.

load helpers

teardown() {
    teardown_containers
}

# a detached container NAME with --cap-add=SYS_ADMIN and VOL at /vol:ro,
# whose payload mounted a tmpfs of its own on /mnt
start_sysadmin() {
    local name=$1 vol=$2
    nrun -d --name "$name" --net=none --cap-add=SYS_ADMIN -v "$vol:/vol:ro" "$IMG" \
        sh -c 'mount -t tmpfs none /mnt && touch /mnt/payload-mount && exec sleep 600'
    wait_for 50 "$NROOT" exec "$name" test -e /mnt/payload-mount
}

@test "security-redteam: --cap-add=SYS_ADMIN starts (the nested namespace is mapped while the payload is not dumpable)" {
    nrun --net=none --cap-add=SYS_ADMIN "$IMG" sh -c 'cat /proc/self/uid_map | wc -l; id -u'
    assert_line --index 1 0
}

@test "security-redteam: exec into a SYS_ADMIN container lands in the payload's locked namespaces" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir -p "$vol"
    echo orig >"$vol/f"
    start_sysadmin lk "$vol"
    # the command sees what the payload mounted: the same mount namespace
    run_nroot 0 exec lk sh -c 'ls /mnt; readlink /proc/self/ns/mnt; readlink /proc/self/ns/user'
    assert_line --index 0 payload-mount
    local ns_cmd=("${lines[@]:1}")
    run_nroot 0 exec lk sh -c 'p=$(pidof sleep); readlink /proc/$p/ns/mnt; readlink /proc/$p/ns/user'
    assert_equal "${lines[*]}" "${ns_cmd[*]}"
    # and its mounts are as locked as the payload's
    run_nroot any exec lk sh -c '
        mount -o remount,rw,bind /vol 2>/dev/null && echo remounted
        umount /vol 2>/dev/null && echo unmounted
        umount /proc/kcore 2>/dev/null && echo unmasked
        echo changed 2>/dev/null >/vol/f && echo written
        true'
    refute_output --regexp 'remounted|unmounted|unmasked|written'
    assert_equal "$(cat "$vol/f")" orig
}

# a reader that takes 64 KiB every 10 ms: nroot blocks on it, and a writer
# in the container refills the pipe meanwhile.  It gives up after 8 s (the
# writer in the container may outlive nroot, on b2b1341 it held the pipe).
slow_reader() {
    python3 -c '
import sys, time
end = time.time() + 8
while time.time() < end and sys.stdin.buffer.read1(65536):
    time.sleep(0.01)'
}

@test "security-redteam: a process left writing in the container does not keep exec (pipes)" {
    nrun -d --name w "$IMG" sleep 600
    echo "\$ nroot exec w sh -c 'yes & sleep 0.3' | slow_reader"
    local t0=$SECONDS
    run -0 bash -c "timeout -k 1 10 '$NROOT' exec w sh -c 'yes & sleep 0.3' | { $(declare -f slow_reader); slow_reader; }; echo \${PIPESTATUS[0]}"
    assert_output 0
    [ $((SECONDS - t0)) -lt 5 ] || fail "exec took $((SECONDS - t0)) s after its command ended"
}

@test "security-redteam: a process left writing in the container does not keep exec -t" {
    need_tool script
    nrun -d --name w "$IMG" sleep 600
    echo "\$ script -c 'nroot exec -t w sh -c \"trap \\\"\\\" HUP; yes & sleep 0.3\"' | slow_reader"
    local t0=$SECONDS
    run -0 bash -c "timeout -k 1 10 script -qec \"'$NROOT' exec -t w sh -c 'trap \\\"\\\" HUP; yes & sleep 0.3'\" /dev/null | { $(declare -f slow_reader); slow_reader; }; echo \${PIPESTATUS[0]}"
    assert_output 0
    [ $((SECONDS - t0)) -lt 5 ] || fail "exec -t took $((SECONDS - t0)) s after its command ended"
}

@test "security-redteam: ps shows bidirectional and invisible characters escaped" {
    local rlo=$'\u202e' zwsp=$'\u200b'
    nrun --name bidi "$IMG" true "evil${rlo}gpj.exe" "a${zwsp}b"
    run_nroot 0 ps -a --no-trunc
    assert_output --partial 'evil\u202egpj.exe'
    assert_output --partial 'a\u200bb'
    refute_output --partial "$rlo"
    refute_output --partial "$zwsp"
}
