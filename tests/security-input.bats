#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# security-input.bats — what nroot reads back and shows (issue 12, items 9
# to 12): files of the store and the runtime directory are checked before
# they become paths or pids; a runtime directory nobody else can squat,
# read or replace; image and container data never reach the terminal raw;
# --env-file and the image's /etc/passwd are bounded.

load helpers

teardown() {
    local id
    for id in $("$NROOT" ps -q 2>/dev/null); do
        timeout 20 "$NROOT" rm -f "$id" >/dev/null 2>&1
    done
    rm_tree "$BATS_TEST_TMPDIR"/*
    return 0
}

# docker-archive OUT with one layer (the test rootfs tarball) and CONFIG as
# the image's "config" object (JSON)
craft_archive() {
    local out=$1 cfg=$2 d h arch
    need_tool jq
    d=$(mktemp -d "$BATS_TEST_TMPDIR/docker.XXXXXX")
    case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
    h=$(sha256sum "$IMAGES/rootfs.tar" | cut -d' ' -f1)
    mkdir "$d/$h"
    cp "$IMAGES/rootfs.tar" "$d/$h/layer.tar"
    jq -nc --arg a "$arch" --argjson c "$cfg" --arg l "sha256:$h" \
        '{architecture: $a, os: "linux", config: $c, rootfs: {type: "layers", diff_ids: [$l]}}' \
        >"$d/config"
    local ch
    ch=$(sha256sum "$d/config" | cut -d' ' -f1)
    mv "$d/config" "$d/$ch.json"
    jq -nc --arg c "$ch.json" --arg l "$h/layer.tar" \
        '[{Config: $c, RepoTags: ["nroot-test/escape:latest"], Layers: [$l]}]' >"$d/manifest.json"
    (cd "$d" && tar --numeric-owner --owner=0 --group=0 -cf "$out" -- *) || return 1
    rm -rf "$d"
}

# fail if $1 (text) holds a control character or a C1 sequence
assert_no_controls() {
    local what=$2
    if printf '%s' "$1" | LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]'; then
        fail "$what holds raw control characters: $(printf '%s' "$1" | od -c | head -20)"
    fi
}

# ------------------------------------------- 9: damaged container files --

@test "security-input: a config with id=../../victim makes rm delete nothing outside nroot's directories" {
    nrun --name good "$IMG" true
    nrun --name bad "$IMG" true
    # the victim: where RT/containers/../../victim and STORE/tmp/container-../../victim lead
    mkdir -p "$XDG_RUNTIME_DIR/victim" "$STORE/victim"
    echo precious >"$XDG_RUNTIME_DIR/victim/file"
    echo precious >"$STORE/victim/file"
    sed -i 's|^id=.*|id=../../victim|' "$STORE/containers/bad/config"

    run_nroot any rm bad
    [ "$(cat "$XDG_RUNTIME_DIR/victim/file" 2>&1)" = precious ] || fail "rm deleted the runtime victim"
    [ "$(cat "$STORE/victim/file" 2>&1)" = precious ] || fail "rm deleted the store victim"
    assert_nroot_error "containers/bad/config' is damaged: the value of 'id' is not valid"
    nroot_hint | grep -q "nroot rm -f bad" || fail "no hint to rm -f: $stderr"

    # ps -a: the damaged one is skipped with one warning, the others listed
    run_nroot 0 ps -a
    assert_line --partial good
    refute_line --partial bad
    [[ $stderr == "nroot: warning: "*"containers/bad/config' is damaged"*"skipped"* ]] ||
        fail "no warning about the damaged container: $stderr"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "more than one warning line: $stderr"

    run_nroot 0 rm -f bad
    assert_output bad
    [ ! -e "$STORE/containers/bad" ] || fail "the damaged container is still there"
    [ "$(cat "$XDG_RUNTIME_DIR/victim/file")" = precious ] || fail "the runtime victim was touched"
    [ "$(cat "$STORE/victim/file")" = precious ] || fail "the store victim was touched"
    run_nroot 0 ps -a
    assert_line --partial good
    run_nroot 0 rm good
}

@test "security-input: every field of a config and state is checked: 125 naming the file" {
    nrun --name c "$IMG" true
    local cfg=$STORE/containers/c/config st=$STORE/containers/c/state bad
    cp "$cfg" "$BATS_TEST_TMPDIR/config.good"
    cp "$st" "$BATS_TEST_TMPDIR/state.good"
    for bad in 'name=../x' 'name=other' 'image_key=../../etc' 'image_key=ABC' 'tty=2' \
               'interactive=yes' 'created=-5' 'created=12x' 'overlay=../x' 'id='; do
        cp "$BATS_TEST_TMPDIR/config.good" "$cfg"
        echo "$bad" >>"$cfg"
        run_nroot 125 start c
        assert_nroot_error "containers/c/config' is damaged"
    done
    cp "$BATS_TEST_TMPDIR/config.good" "$cfg"
    for bad in 'exit_code=300' 'finished=abc' 'status=pwned' 'id=0123456789ab'; do
        cp "$BATS_TEST_TMPDIR/state.good" "$st"
        echo "$bad" >>"$st"
        run_nroot 125 wait c
        assert_nroot_error "containers/c/state' is damaged"
    done
    cp "$BATS_TEST_TMPDIR/state.good" "$st"
    run_nroot 0 wait c
    assert_output 0
}

@test "security-input: a damaged live state is ignored with a warning, never signalled" {
    nrun --name c "$IMG" true
    local id
    id=$(sed -n 's/^id=//p' "$STORE/containers/c/config")
    mkdir -p "$XDG_RUNTIME_DIR/nroot/containers/$id"
    printf 'id=%s\npid=-1\ninit_pid=1\npid_start=1\ninit_start=1\nns_user=99999999\n' "$id" \
        >"$XDG_RUNTIME_DIR/nroot/containers/$id/state"
    run_nroot 0 ps -a
    assert_line --partial "Exited (0)"
    [[ $stderr == *"containers/$id/state' is damaged: the value of 'pid' is not valid; ignored"* ]] ||
        fail "no warning: $stderr"
}

# ----------------------------------------------- 10: the runtime directory --

# in a mount namespace of its own with a fresh /tmp (the real one is
# shared with other users of this machine): sh -c SCRIPT, nroot as $N,
# the store in /tmp/store.  Inside, the user is uid 0 and other users'
# files show as nobody.  nroot's directory (which may itself be under
# /tmp, as in a CI checkout) is bound on /mnt first, so the new /tmp does
# not hide it; nroot finds nroot-unpack beside itself there.
in_private_tmp() {
    PATH=$NROOT_TEST_SYS_PATH unshare -Urm true 2>/dev/null ||
        skip "unshare -Urm does not work here"
    local bindir
    bindir=$(dirname "$(realpath "$NROOT")")
    run --separate-stderr env -u XDG_RUNTIME_DIR N="/mnt/$(basename "$NROOT")" B="$bindir" \
        NROOT_STORE=/tmp/store PATH=$NROOT_TEST_SYS_PATH unshare -Urm sh -euc "
            mount --bind \"\$B\" /mnt
            mount -t tmpfs tmpfs /tmp
            cd /tmp
            $1"
    echo "status $status"
    echo "--- stdout"
    printf '%s\n' "$output"
    echo "--- stderr"
    printf '%s\n' "$stderr"
}

@test "security-input: /tmp/nroot-UID made by another user: nroot goes on in a private directory it remembers" {
    # the squat: a directory of someone else's (root's, seen as nobody)
    in_private_tmp '
        mkdir /tmp/nroot-0
        mount --bind /usr/share /tmp/nroot-0
        "$N" ps -a
        "$N" ps -a
        echo "remembered=$(cat /tmp/store/runtime-dir.*)"
        stat -c "file=%a" /tmp/store/runtime-dir.*
        d=$(cat /tmp/store/runtime-dir.*)
        stat -c "dir=%a %F" "$d"
        ls -d /tmp/nroot-0.* | wc -l | sed "s/^/dirs=/"
        test -d "$d/containers" && echo state-in-private'
    [ "$status" = 0 ] || fail "nroot failed in front of a squatted /tmp/nroot-UID"
    assert_line --regexp '^remembered=/tmp/nroot-0\.[A-Za-z0-9]{6}$'
    assert_line file=600
    assert_line "dir=700 directory"
    assert_line dirs=1
    assert_line state-in-private
    # said once, when the directory was made
    [ "$(grep -c "notice: '/tmp/nroot-0' is not a private directory" <<<"$stderr")" = 1 ] ||
        fail "the notice is not there exactly once: $stderr"
}

@test "security-input: a symlink or an open directory at /tmp/nroot-UID is not used" {
    in_private_tmp '
        mkdir /tmp/elsewhere
        ln -s /tmp/elsewhere /tmp/nroot-0
        "$N" ps -a >/dev/null
        test -z "$(ls -A /tmp/elsewhere)" && echo symlink-not-followed
        rm /tmp/nroot-0 /tmp/store/runtime-dir.*
        mkdir -m 0777 /tmp/nroot-0
        "$N" ps -a >/dev/null
        test -z "$(ls -A /tmp/nroot-0)" && echo open-dir-not-used'
    [ "$status" = 0 ] || fail "nroot failed"
    assert_line symlink-not-followed
    assert_line open-dir-not-used
}

@test "security-input: XDG_RUNTIME_DIR that others can write (/tmp) is ignored with a notice" {
    in_private_tmp '
        mkdir /tmp/nroot-0
        chmod 0700 /tmp/nroot-0
        XDG_RUNTIME_DIR=/tmp "$N" ps -a
        test ! -e /tmp/nroot && echo no-shared-dir
        test -d /tmp/nroot-0/containers && echo fallback-used'
    [ "$status" = 0 ] || fail "nroot failed"
    assert_line no-shared-dir
    assert_line fallback-used
    [[ $stderr == *"notice: XDG_RUNTIME_DIR '/tmp' is not a directory of yours that only you can write: ignored"* ]] ||
        fail "no notice: $stderr"
}

@test "security-input: the fallback runtime directory runs containers and finds them again" {
    # without XDG_RUNTIME_DIR (a batch job): run -d, ps, exec and stop meet
    # in /run/user/UID or /tmp/nroot-UID, whichever is private
    unset XDG_RUNTIME_DIR
    run_nroot 0 run -d --name fb "$IMG" sleep 100
    run_nroot 0 ps
    assert_line --partial fb
    run_nroot 0 exec fb echo inside
    assert_output inside
    run_nroot 0 rm -f fb
}

# ---------------------------------------------------- 11: terminal escapes --

@test "security-input: an image's Cmd with escape sequences is shown escaped by ps, and valid JSON" {
    local a=$BATS_TEST_TMPDIR/esc.tar
    craft_archive "$a" '{"Cmd": ["/bin/true", "x", "\u001b[2J\u001b]0;pwned\u0007 \u009b31m"]}'
    nrun --name esc "$a"
    run_nroot 0 ps -a --no-trunc
    assert_no_controls "$output" "ps"
    assert_line --partial '/bin/true x \x1b[2J\x1b]0;pwned\x07 \xc2\x9b31m'
    run_nroot 0 ps -a --format json
    python3 -c 'import json,sys; c=json.loads(sys.stdin.buffer.read())[0]; assert c["command"][2].startswith("\x1b[2J"), c' <<<"$output" ||
        fail "ps --format json is not the JSON of the command"
    assert_no_controls "$output" "ps --format json"
}

@test "security-input: bytes that are not UTF-8 keep ps --format json valid" {
    nrun --name raw "$IMG" true "$(printf '\xff\xfe')"
    run_nroot 0 ps -a --format json
    python3 -c 'import json,sys; c=json.loads(sys.stdin.buffer.read().decode("utf-8"))[0]; assert any("\ufffd" in x for x in c["command"]), c' <<<"$output" ||
        fail "not valid JSON"
}

@test "security-input: error messages escape C1 controls and bytes that are not UTF-8" {
    run_nroot 125 rm "$(printf 'x\xc2\x9b2J\xff\x1b]0;t\x07')"
    assert_no_controls "$stderr" "the error"
    [[ $stderr == *'x\xc2\x9b2J\xff\x1b]0;t\x07'* ]] || fail "not escaped as \\xNN: $stderr"
}

@test "security-input: image names in the store with control characters are not listed raw" {
    nrun "$IMAGES/rootfs.tar" true
    local target
    target=$(readlink "$STORE"/by-file/* | head -n1)
    ln -s "$target" "$STORE/names/$(printf 'evil\x1b[2J\xc2\x9b')"
    run_nroot 0 images
    assert_no_controls "$output" "images"
    run_nroot 0 __complete run ''
    assert_no_controls "$output" "completion"
}

# ------------------------------------------------ 12: --env-file and reads --

@test "security-input: --env-file takes regular files of at most 1 MiB, every failure a 125" {
    local f=$BATS_TEST_TMPDIR
    mkfifo "$f/fifo"
    head -c 1048577 /dev/zero | tr '\0' a >"$f/big"
    printf 'A=1\0B=2\n' >"$f/nul"
    # bounded memory for this test: the old reader took /dev/zero until
    # the machine ran out (and, under this limit, ran the container anyway);
    # a sanitizer build reserves terabytes of shadow address space up front
    grep -q __asan_init "$NROOT" || ulimit -v 2000000
    local bad
    for bad in /dev/zero "$f" "$f/fifo" "$f/big" "$f/nul"; do
        NROOT_TEST_TIMEOUT=10 run_nroot 125 run --env-file "$bad" "$IMG" true
        assert_nroot_error "env-file.*'$bad'"
    done
}

@test "security-input: --env-file still reads comments, blank lines and CRLF; exec takes the same rules" {
    printf '# comment\n\nA=1\r\n  B=two words\nC\n' >"$BATS_TEST_TMPDIR/env"
    C=from-host nrun --env-file "$BATS_TEST_TMPDIR/env" "$IMG" sh -c 'echo "$A|$B|$C"'
    assert_output "1|two words|from-host"
    run_nroot 0 run -d --name ef "$IMG" sleep 100
    run_nroot 125 exec --env-file "$BATS_TEST_TMPDIR" ef true
    assert_nroot_error "not a regular file"
    run_nroot 0 exec --env-file "$BATS_TEST_TMPDIR/env" ef sh -c 'echo "$B"'
    assert_output "two words"
    run_nroot 0 rm -f ef
}

@test "security-input: an image's /etc/passwd that is a FIFO does not hang the start" {
    mkfifo "$BATS_TEST_TMPDIR/passwd"
    NROOT_TEST_TIMEOUT=15 run_nroot 0 run -v "$BATS_TEST_TMPDIR/passwd:/etc/passwd" "$IMG" echo ok
    assert_output ok
}
