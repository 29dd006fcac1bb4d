#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The command line: version, help, option errors.

load helpers

@test "cli: --version prints 'nroot X.Y.Z'" {
    run_nroot 0 --version
    assert_output --regexp '^nroot [0-9]+\.[0-9]+\.[0-9]+$'
    assert_equal "$stderr" ""
}

@test "cli: --help describes the run command and exits 0" {
    run_nroot 0 --help
    assert_output --partial "run"
    assert_output --partial "Usage"
}

@test "cli: run --help lists every run option" {
    run_nroot 0 run --help
    local opt
    for opt in --userns --net --overlay --read-only --volume --env --env-file \
               --workdir --hostname --user --cap-add --cap-drop --quiet \
               -v -e -w -u -q; do
        [[ $output == *"$opt"* ]] || fail "run --help does not mention $opt"
    done
    for opt in auto subids single keep-id none host kernel fuse; do
        [[ $output == *"$opt"* ]] || fail "run --help does not mention the value $opt"
    done
}

@test "cli: unknown global option fails with 125 and one error line" {
    run_nroot 125 --no-such-option
    assert_nroot_error
}

@test "cli: unknown run option fails with 125 and one error line" {
    run_nroot 125 run --no-such-option "$IMG" true
    assert_nroot_error 'no-such-option'
}

@test "cli: unknown command fails with 125" {
    run_nroot 125 frobnicate
    assert_nroot_error
}

@test "cli: run without an image fails with 125" {
    run_nroot 125 run
    assert_nroot_error
}

@test "cli: a missing image fails with 125 and names it" {
    run_nroot 125 run "$BATS_TEST_TMPDIR/no-such-image" true
    assert_nroot_error 'no-such-image'
    assert_output ""
}

@test "cli: unknown --net value fails with 125" {
    run_nroot 125 run --net=bogus "$IMG" true
    assert_nroot_error 'bogus'
}

@test "cli: unknown --userns value fails with 125" {
    run_nroot 125 run --userns=bogus "$IMG" true
    assert_nroot_error 'bogus'
}

@test "cli: unknown --overlay value fails with 125" {
    run_nroot 125 run --overlay=bogus "$IMG" true
    assert_nroot_error 'bogus'
}

@test "cli: an option that needs a value fails with 125 without one" {
    run_nroot 125 run --hostname
    assert_nroot_error
    # after the image, "--hostname" is the command: not found
    run_nroot 127 run "$IMG" --hostname
}

@test "cli: options after the image belong to the command" {
    nrun "$IMG" echo --version -v x
    assert_output -- "--version -v x"
}

@test "cli: -- separates nroot's options from the command" {
    nrun -q "$IMG" -- echo hello
    assert_output "hello"
}
