#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# cli-trailing.bats — options where users write them: between IMAGE (or
# exec's CONTAINER) and a `--`, nroot's options, as if written before it;
# without that `--`, docker's rule: everything after IMAGE is the command.

load helpers

teardown() {
    teardown_containers
}

# ------------------------------------------------------------------ run --

@test "cli-trailing: --net=none, -v, -e, -w and --hostname after IMAGE with -- take effect" {
    echo shared > "$BATS_TEST_TMPDIR/file"
    nrun -q "$IMG" --net=none -v "$BATS_TEST_TMPDIR:/w" -e K=v -w /srv --hostname trail -- \
        sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; cat /w/file; echo "$K"; pwd; hostname'
    assert_equal "${lines[*]}" "lo shared v /srv trail"
}

@test "cli-trailing: short options, option clusters and separate values after IMAGE" {
    nrun -q "$IMG" -e A=1 --env B=2 --env=C=3 -w/tmp -- sh -c 'echo "$A$B$C"; pwd'
    assert_equal "${lines[*]}" "123 /tmp"
    run bash -c "echo piped | '$NROOT' run -q '$IMG' -i -- cat"
    assert_output piped
}

@test "cli-trailing: options before and after IMAGE combine as if all were before" {
    nrun -q -e A=1 -w /tmp "$IMG" -e B=2 -w /srv -- sh -c 'echo "$A $B"; pwd'
    assert_equal "${lines[*]}" "1 2 /srv"
    # the capability set is computed from both: drop ALL before, add one after
    nrun -q --cap-drop ALL "$IMG" --cap-add CHOWN -- grep CapEff /proc/self/status
    assert_output --regexp 'CapEff:\s+0+1$'
    # --publish with --net=none is refused across the two places as well
    run_nroot 125 run -p 8080:80 "$IMG" --net=none -- true
    assert_nroot_error 'publish'
}

@test "cli-trailing: --name and --rm after IMAGE" {
    nrun -q "$IMG" --name kept -- true
    run_nroot 0 ps -a --format json
    assert_output --partial '"kept"'
    nrun -q "$IMG" --name gone --rm -- true
    run_nroot 0 ps -a --format json
    refute_output --partial '"gone"'
    # the options after IMAGE are part of what the container keeps
    nrun -q "$IMG" --name again -e K=kept-env -- sh -c 'echo "$K"'
    run_nroot 0 start -a again
    assert_output kept-env
}

@test "cli-trailing: the command after -- keeps its own dashes and its own --" {
    nrun -q "$IMG" -e X=1 -- sh -c 'echo "$X" "$@"' x -- -y --net=none
    assert_output "1 -- -y --net=none"
    # after --, nothing is nroot's: a second -- is the command
    run_nroot 127 run -q "$IMG" -- --
    nrun -q "$IMG" -- sh -c 'printf "[%s]" "$@"' x -e Y -- z
    assert_output -- "[-e][Y][--][z]"
}

@test "cli-trailing: without -- after IMAGE everything after it is the command" {
    nrun -q "$IMG" echo --net=none -v x
    assert_output -- "--net=none -v x"
    nrun -q "$IMG" ls -ld /
    assert_output --regexp '^d.* /$'
    # a command whose own arguments hold a --: the word after IMAGE is no
    # option, so the words up to that -- are the command's
    nrun -q "$IMG" sh -c 'echo "$@"' x --net=none -- y
    assert_output -- "--net=none -- y"
    nrun -q "$IMG" printf '[%s]' -e -- -w
    assert_output -- "[-e][--][-w]"
    # an option-like first word with no -- anywhere: the command (docker's rule)
    run_nroot 127 run -q "$IMG" --net=none
    run_nroot 127 run -q "$IMG" --hostname x
    # a -- before IMAGE ends nroot's options for good, as in getopt
    run_nroot 127 run -q -- "$IMG" --net=none -- true
}

@test "cli-trailing: an unknown option or a stray word between IMAGE and -- is a 125 naming it" {
    run_nroot 125 run "$IMG" --no-such-option -- true
    assert_nroot_error "unknown option '--no-such-option'"
    assert_output ""
    run_nroot 125 run "$IMG" -Z -- true
    assert_nroot_error "unknown option '-Z'"
    run_nroot 125 run "$IMG" --net=none sh -- true
    assert_nroot_error "'sh' is not an option"
    run_nroot 125 run "$IMG" --net=bogus -- true
    assert_nroot_error "bogus"
    run_nroot 125 run "$IMG" -w relative -- true
    assert_nroot_error "workdir"
    # the -- taken as -e's value leaves none to end the options
    run_nroot 125 run "$IMG" -e --
    assert_nroot_error "no '--' ends the options"
}

@test "cli-trailing: --help between IMAGE and -- shows the help; without -- it is the command" {
    run_nroot 0 run "$IMG" --help --
    assert_line --index 0 --partial "Usage: nroot run"
    run_nroot 127 run -q "$IMG" --help
}

@test "cli-trailing: run IMAGE -- runs the image's default command, as run IMAGE does" {
    need_oci
    nrun -q "$OCI/busybox" --
    assert_output original
    nrun -q "$OCI/busybox" -e X=1 --
    assert_output original
    # the entrypoint's own dashed arguments go after --
    nrun -q --image-ref entry "$OCI/variants" --
    assert_output "entry default cmd"
    nrun -q "$OCI/variants" --image-ref entry -- --flag -- x
    assert_output -- "entry --flag -- x"
}

@test "cli-trailing: the usage shows both forms" {
    run_nroot 0 run --help
    assert_line --index 0 "Usage: nroot run [OPTIONS] IMAGE [[OPTIONS] --] [COMMAND [ARG...]]"
    run_nroot 0 exec --help
    assert_line --index 0 "Usage: nroot exec [OPTIONS] CONTAINER [[OPTIONS] --] COMMAND [ARG...]"
}

# ----------------------------------------------------------------- exec --

@test "cli-trailing: exec takes options after CONTAINER with --, and -- alone" {
    run_nroot 0 run -d --name x -e FROM_RUN=1 "$IMG" sleep 1000
    run_nroot 0 exec x -- sh -c 'echo ran'
    assert_output ran
    run_nroot 0 exec x -e X=y -w /tmp -- sh -c 'echo "$X $FROM_RUN"; pwd'
    assert_equal "${lines[*]}" "y 1 /tmp"
    run_nroot 0 exec -e A=1 x -e B=2 -- sh -c 'echo "$A$B"'
    assert_output 12
    run bash -c "echo piped | '$NROOT' exec x -i -- cat"
    assert_output piped
    # the command's own -- and dashes
    run_nroot 0 exec x -- sh -c 'echo "$@"' x -- -y
    assert_output -- "-- -y"
    run_nroot 0 exec x sh -c 'printf "[%s]" "$@"' x -e z -- -y
    assert_output -- "[-e][z][--][-y]"
}

@test "cli-trailing: exec: an unknown option after CONTAINER, or no command after --, is a 125" {
    run_nroot 0 run -d --name x "$IMG" sleep 1000
    run_nroot 125 exec x --no-such-option -- true
    assert_nroot_error "unknown option '--no-such-option'"
    run_nroot 125 exec x -e A=1 true -- false
    assert_nroot_error "'true' is not an option"
    run_nroot 125 exec x --
    assert_nroot_error "missing COMMAND"
    run_nroot 125 exec x -e A=1 --
    assert_nroot_error "missing COMMAND"
    # without --, still the command
    run_nroot 127 exec x --no-such-option
}
