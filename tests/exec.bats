#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Running the command: exit status, environment, working directory, user,
# capabilities, no_new_privs.

load helpers

@test "exec: the command's exit status is nroot's" {
    nrun "$IMG" nr-test exit 0
    run_nroot 3 run "$IMG" nr-test exit 3
    run_nroot 1 run "$IMG" false
    run_nroot 124 run "$IMG" sh -c 'exit 124'
    run_nroot 255 run "$IMG" nr-test exit 255
}

@test "exec: the command's output passes through; with -i stdin is the caller's" {
    echo "from stdin" >"$BATS_TEST_TMPDIR/in"
    echo "\$ nroot run -i IMG cat < in"
    run --separate-stderr "$NROOT" run -q -i "$IMG" sh -c 'cat; echo to-stderr >&2' <"$BATS_TEST_TMPDIR/in"
    assert_success
    assert_output "from stdin"
    assert_equal "$stderr" "to-stderr"
}

@test "exec: without -i stdin is /dev/null, as in podman" {
    echo "from stdin" >"$BATS_TEST_TMPDIR/in"
    echo "\$ nroot run IMG sh -c 'cat; readlink /proc/self/fd/0' < in"
    run --separate-stderr "$NROOT" run -q "$IMG" sh -c 'cat; echo end; readlink /proc/self/fd/0' <"$BATS_TEST_TMPDIR/in"
    assert_success
    assert_line --index 0 end
    assert_line --index 1 /dev/null
}

@test "exec: -i with a pipe: the command reads it to the end" {
    echo "\$ seq 100000 | nroot run -i IMG wc -l"
    run --separate-stderr bash -c 'seq 100000 | "$1" run -q -i "$2" wc -l' _ "$NROOT" "$IMG"
    assert_success
    assert_output --regexp '^ *100000$'
}

@test "exec: a file that is not executable gives 126" {
    run_nroot 126 run "$IMG" /bin/noexec
    refute_output --partial "this-must-not-run"
    run_nroot 126 run "$IMG" /etc
}

@test "exec: a missing command gives 127" {
    run_nroot 127 run "$IMG" no-such-command-xyz
    run_nroot 127 run "$IMG" /bin/no-such-command-xyz
}

@test "exec: a command killed by a signal gives 128+N" {
    run_nroot 137 run "$IMG" sh -c 'kill -9 $$'
    run_nroot 143 run "$IMG" sh -c 'kill -15 $$'
    run_nroot 138 run "$IMG" sh -c 'kill -USR1 $$'
}

@test "exec: the default environment" {
    local h
    export NROOT_TEST_SECRET=host-only
    nrun --hostname envhost "$IMG" env
    assert_line --regexp '^PATH=.*/bin'
    assert_line "HOME=/root"
    assert_line "HOSTNAME=envhost"
    assert_line "container=nroot"
    refute_line --partial "NROOT_TEST_SECRET"
    refute_line --regexp '^XDG_'
}

@test "exec: TERM only when stdin is a tty" {
    TERM=xterm-test nrun "$IMG" env </dev/null
    refute_line --regexp '^TERM='
    command -v script >/dev/null || skip "script (util-linux) missing"
    echo "\$ script -qec 'nroot run IMG env' /dev/null"
    TERM=xterm-test run timeout 30 script -qec "'$NROOT' run -q '$IMG' env" /dev/null
    assert_success
    assert_line --regexp '^TERM=xterm-test.?$'
}

@test "exec: -e K=V and --env K=V set variables" {
    nrun -e FOO=bar --env "BAZ=two words" -e EMPTY= "$IMG" env
    assert_line "FOO=bar"
    assert_line "BAZ=two words"
    assert_line "EMPTY="
}

@test "exec: -e K copies the host's value" {
    export NROOT_TEST_PASS="passed through"
    nrun -e NROOT_TEST_PASS "$IMG" env
    assert_line "NROOT_TEST_PASS=passed through"
}

@test "exec: -e overrides a default variable" {
    nrun -e HOME=/elsewhere -e PATH=/usr/bin:/bin "$IMG" env
    assert_line "HOME=/elsewhere"
    assert_line "PATH=/usr/bin:/bin"
}

@test "exec: --env-file reads K=V lines, skips comments and blanks, copies bare K" {
    export NROOT_TEST_FROMHOST=hostval
    cat >"$BATS_TEST_TMPDIR/env" <<'EOF'
# a comment
A=1

B=two words
C=with=equals
NROOT_TEST_FROMHOST
EOF
    nrun --env-file "$BATS_TEST_TMPDIR/env" "$IMG" env
    assert_line "A=1"
    assert_line "B=two words"
    assert_line "C=with=equals"
    assert_line "NROOT_TEST_FROMHOST=hostval"
    refute_line --partial "comment"
}

@test "exec: a missing --env-file fails with 125" {
    run_nroot 125 run --env-file "$BATS_TEST_TMPDIR/nope" "$IMG" true
    assert_nroot_error 'nope'
}

@test "exec: -w sets the working directory, creating it if missing" {
    nrun -w /data "$IMG" pwd
    assert_output "/data"
    nrun --workdir /new/work/dir "$IMG" sh -c 'pwd; nr-test write x'
    assert_output "/new/work/dir
ok"
}

@test "exec: the default working directory is /" {
    nrun "$IMG" pwd
    assert_output "/"
}

@test "exec: -u 1000 runs as uid 1000" {
    skip_unless_subids
    nrun -u 1000 "$IMG" nr-test ids
    assert_output --regexp '^uid=1000 gid=[0-9]+ euid=1000 '
    nrun -u 1000:1000 "$IMG" nr-test ids
    assert_output --regexp '^uid=1000 gid=1000 euid=1000 egid=1000 '
}

@test "exec: -u NAME takes uid and gid from the image's /etc/passwd" {
    skip_unless_subids
    nrun --user tester "$IMG" nr-test ids
    assert_output --regexp '^uid=1000 gid=1000 euid=1000 egid=1000 '
}

@test "exec: -u 1000 fails with 125 when only one id is mapped" {
    skip_unless_mode single
    run_nroot 125 run -u 1000 "$IMG" true
    assert_nroot_error
    run_nroot 125 run -u tester "$IMG" true
    assert_nroot_error
}

@test "exec: malformed or unknown -u fails with 125" {
    local u
    for u in nosuchuser "" "abc:" ":1000" "1000:nosuchgroup" "-5" "1:2:3"; do
        run_nroot 125 run -u "$u" "$IMG" true
        assert_nroot_error
    done
}

@test "exec: root gets the default capability set" {
    nrun "$IMG" nr-test caps
    assert_line "CapEff=$DEFAULT_CAPS"
    assert_line "CapPrm=$DEFAULT_CAPS"
    assert_line "CapBnd=$DEFAULT_CAPS"
    assert_line "CapAmb=0000000000000000"
}

@test "exec: --cap-drop ALL leaves no capability" {
    nrun --cap-drop ALL "$IMG" nr-test caps
    assert_line "CapEff=0000000000000000"
    assert_line "CapPrm=0000000000000000"
    assert_line "CapBnd=0000000000000000"
    # and chown of a file to another owner is refused
    nrun --cap-drop=ALL "$IMG" sh -c 'touch /tmp/f; chown 1:1 /tmp/f 2>/dev/null || echo refused'
    assert_output "refused"
}

@test "exec: --cap-add NET_ADMIN and CAP_NET_RAW add to the set" {
    nrun --cap-add NET_ADMIN --cap-add CAP_NET_RAW "$IMG" nr-test caps
    # NET_ADMIN is bit 12, NET_RAW bit 13
    assert_line "CapEff=00000000800435fb"
    assert_line "CapBnd=00000000800435fb"
}

@test "exec: --cap-drop removes one capability" {
    nrun --cap-drop CHOWN --cap-drop CAP_KILL "$IMG" nr-test caps
    # CHOWN is bit 0, KILL bit 5
    assert_line "CapEff=00000000800405da"
}

@test "exec: --cap-drop ALL --cap-add one gives just that one" {
    nrun --cap-drop ALL --cap-add SYS_CHROOT "$IMG" nr-test caps
    assert_line "CapEff=0000000000040000"
}

@test "exec: --cap-add ALL gives every capability the kernel knows" {
    # a new user namespace starts with a full bounding set
    local last bnd
    last=$(cat /proc/sys/kernel/cap_last_cap)
    bnd=$(printf '%016x' $(( (1 << (last + 1)) - 1 )))
    nrun --cap-add ALL "$IMG" nr-test caps
    assert_line "CapEff=$bnd"
    assert_line "CapBnd=$bnd"
}

@test "exec: an unknown capability fails with 125" {
    run_nroot 125 run --cap-add NOT_A_CAP "$IMG" true
    assert_nroot_error 'NOT_A_CAP'
}

@test "exec: a non-root -u user has no capabilities" {
    skip_unless_subids
    nrun -u 1000 "$IMG" nr-test caps
    assert_line "CapEff=0000000000000000"
    assert_line "CapPrm=0000000000000000"
    assert_line "CapAmb=0000000000000000"
}

@test "exec: no_new_privs is set" {
    nrun "$IMG" nr-test nnp
    assert_output "NoNewPrivs=1"
    nrun "$IMG" grep NoNewPrivs /proc/self/status
    assert_output --regexp '^NoNewPrivs:[[:space:]]+1$'
}

@test "exec: only stdio is open in the command" {
    nrun "$IMG" ls /proc/self/fd
    # 0 1 2 and the fd ls uses to read the directory
    [ "${#lines[@]}" -le 4 ] || fail "extra fds open in the container: $output"
}
