#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# completion.bats — the shell completions come from `nroot __complete`,
# which reads the option tables: drive the bash one as bash does (COMP_WORDS,
# COMP_CWORD), and check that the zsh and fish ones load and answer.

load helpers

teardown() {
    teardown_containers
}

REPO_DIR=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}

# complete WORD... : COMPREPLY for the command line "nroot WORD...", the
# last WORD being the one under the cursor, one per line in $output
complete_bash() {
    run bash -c '
        source "$1/completions/nroot.bash"
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        _nroot
        printf "%s\n" "${COMPREPLY[@]}"' sh "$REPO_DIR" "$NROOT" "$@"
    [ "$status" = 0 ] || fail "completion failed: $output"
}

@test "completion: bash completes commands" {
    complete_bash r
    assert_output "$(printf 'run\nrmi\nrm')"
    complete_bash ''
    assert_line run
    assert_line export
    assert_line info
    refute_line __complete
    # nroot oci's own commands (runc's)
    complete_bash oci s
    assert_output "$(printf 'start\nstate\nspec')"
    complete_bash oci --root /x ''
    assert_line create
    assert_line features
}

@test "completion: bash completes every option of every command's --help, and no other" {
    local cmd opts want
    for cmd in $("$NROOT" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }'); do
        want=$("$NROOT" "$cmd" --help | grep -oE '(^|[ ,])--[a-z][a-z-]+' | sed 's/^[ ,]*//' | sort -u)
        complete_bash "$cmd" --
        opts=$(printf '%s\n' "${lines[@]}" | sort -u)
        [ "$opts" = "$want" ] || fail "nroot $cmd: completion offers '$opts', --help has '$want'"
    done
}

@test "completion: bash completes option values, also after --opt=" {
    complete_bash run --net ''
    assert_output "$(printf 'none\nhost\nslirp')"
    complete_bash run --net = s
    assert_output slirp
    complete_bash run --overlay f
    assert_output fuse
    complete_bash run --userns ''
    assert_line keep-id
    complete_bash ps --format ''
    assert_output "$(printf 'table\njson')"
}

@test "completion: bash completes image names for run and rmi, container names for the container commands" {
    run_nroot 0 import --name compimage "$IMAGES/rootfs.tar"
    nrun --name compctr "$IMG" true
    complete_bash run comp
    assert_line compimage
    complete_bash rmi ''
    assert_output compimage
    local cmd
    for cmd in start stop wait logs rm export exec; do
        complete_bash "$cmd" c
        assert_output compctr
    done
    # options before the image still count as options
    complete_bash run --net none comp
    assert_line compimage
}

@test "completion: --net offers container:NAME for the running containers" {
    run_nroot 0 run -d --name compnet --net=none "$IMG" sleep 1000
    nrun --name compstopped --net=none "$IMG" true
    complete_bash run --net c
    assert_output container:compnet
    complete_bash run --net = ''
    assert_line container:compnet
    # bash splits "--net=container:co" at the colon too: the names alone
    complete_bash run --net = container : co
    assert_output compnet
    complete_bash run --network container : ''
    assert_output compnet
    run_nroot 0 __complete run --net=container:c
    assert_output --net=container:compnet
}

@test "completion: bash completes files where a file is wanted" {
    cd "$BATS_TEST_TMPDIR"
    touch image-file.tar
    complete_bash import image-f
    assert_output image-file.tar
    complete_bash run --env-file image-f
    assert_output image-file.tar
    # after IMAGE: the command's own arguments
    complete_bash run "$IMG" image-f
    assert_output image-file.tar
}

@test "completion: bash offers options after IMAGE or CONTAINER, until -- or the command" {
    cd "$BATS_TEST_TMPDIR"
    touch -- --vol-file
    complete_bash run "$IMG" --ne
    assert_output $'--net\n--network-alias'
    complete_bash run "$IMG" -
    assert_line --volume
    assert_line --net
    complete_bash run "$IMG" --net ''
    assert_output "$(printf 'none\nhost\nslirp')"
    complete_bash run "$IMG" --net = s
    assert_output slirp
    complete_bash run "$IMG" --net=s
    assert_output --net=slirp
    complete_bash run --rm "$IMG" -e X=1 --vol
    assert_output -- --volume
    complete_bash exec somectr --e
    assert_output "$(printf -- '--env\n--env-file\n--env-host')"
    # after '--', or after a word that is no option, the words are the
    # command's: files, not nroot's options
    complete_bash run "$IMG" -- --vol
    assert_output -- --vol-file
    complete_bash run "$IMG" --net none -- --vol
    assert_output -- --vol-file
    complete_bash run "$IMG" sh --vol
    assert_output -- --vol-file
    complete_bash run -- "$IMG" --vol
    assert_output -- --vol-file
    complete_bash run "$IMG" sh --net = s
    refute_output slirp
    complete_bash exec somectr ps --vol
    assert_output -- --vol-file
}

@test "completion: the zsh completion loads and registers _nroot" {
    need_tool zsh
    run zsh -f -c 'autoload -Uz compinit && compinit -u -d "$2/zcompdump" && source "$1/completions/_nroot" &&
                   whence -w _nroot && print -r -- $_comps[nroot]' sh "$REPO_DIR" "$BATS_TEST_TMPDIR"
    [ "$status" = 0 ] || fail "zsh: $output"
    assert_line '_nroot: function'
    assert_line _nroot
}

@test "completion: the fish completion loads and completes" {
    need_tool fish
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -s "$NROOT" "$BATS_TEST_TMPDIR/bin/nroot"
    run env PATH="$BATS_TEST_TMPDIR/bin:$PATH" HOME="$BATS_TEST_TMPDIR" \
        fish --no-config -c "source '$REPO_DIR/completions/nroot.fish'; complete -C 'nroot ru'; complete -C 'nroot run --net='; complete -C 'nroot run img --host'"
    [ "$status" = 0 ] || fail "fish: $output"
    assert_line run
    assert_line --regexp '^--net=slirp'
    assert_line --regexp '^--hostname'
}
