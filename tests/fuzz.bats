#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# fuzz.bats — the fuzzing corpus as a regression (issue 12, "Proof").
#
# Every input of fuzz/corpus/NAME (the afl++ campaign's minimised queue) and
# fuzz/regress/NAME (inputs that once crashed a harness, kept after the fix)
# runs through the replay build of its harness (ASan+UBSan): any crash or
# sanitizer report fails the test.  The replay programs are built once per
# source state into NROOT_TEST_CACHE (shared by the modes); see
# fuzz/README.md.  The harnesses that write files run in a user and mount
# namespace pivoted into a tmpfs: the last test checks that this holds.

load helpers

REPO=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}

setup_file() {
    local hash dir tmp
    hash=$(cd "$REPO" && cat Makefile fuzz/fuzz.mk fuzz/*.c fuzz/*.h src/*.c include/*.h |
           sha256sum | cut -c1-16)
    dir=${NROOT_TEST_CACHE:-$BATS_FILE_TMPDIR}/fuzz-replay-$hash
    if [ ! -x "$dir/fuzz/replay-kv" ]; then
        tmp=$(mktemp -d "${NROOT_TEST_CACHE:-$BATS_FILE_TMPDIR}/fuzz-replay.XXXXXX")
        make -s -C "$REPO" -j2 fuzz-replay-build BUILD="$tmp" >"$BATS_FILE_TMPDIR/build.log" 2>&1 ||
            { cat "$BATS_FILE_TMPDIR/build.log" >&2; rm -rf "$tmp"; return 1; }
        rm -rf "$tmp"/fuzz/replay
        mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"   # another mode got there first
    fi
    export FUZZ_BIN=$dir/fuzz
}

replay() {
    local n=$1 dirs=("$REPO/fuzz/corpus/$1")
    [ -d "$REPO/fuzz/regress/$n" ] && dirs+=("$REPO/fuzz/regress/$n")
    run timeout 120 env UBSAN_OPTIONS=print_stacktrace=1 "$FUZZ_BIN/replay-$n" "${dirs[@]}"
    assert_success
    assert_output --regexp "[1-9][0-9]* inputs replayed"
}

@test "fuzz: the rootfs tar corpus replays without a crash" {
    replay layer
}

@test "fuzz: the whiteout corpus replays without a crash" {
    replay whiteout
}

@test "fuzz: the image JSON corpus replays without a crash" {
    replay json
}

@test "fuzz: the store files corpus replays without a crash" {
    replay kv
}

@test "fuzz: the OCI records corpus replays without a crash" {
    replay ocirec
}

@test "fuzz: a harness's writes stay in its sandbox" {
    local t=$BATS_TEST_TMPDIR
    mkdir "$t/victim"
    # absolute names, a symlink out, a hard link in: all onto this test's
    # own directory if the sandbox did not hold
    python3 - "$t" <<'PY'
import io, sys, tarfile
t = sys.argv[1]
def tar(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as f:
        for name, kind, arg in entries:
            i = tarfile.TarInfo(name)
            data = None
            if kind == "f":
                data = b"pwned"; i.size = len(data)
            elif kind == "l":
                i.type, i.linkname = tarfile.SYMTYPE, arg
            elif kind == "d":
                i.type = tarfile.DIRTYPE
            f.addfile(i, io.BytesIO(data) if data else None)
    return b.getvalue()
open(t + "/abs.tar", "wb").write(tar([(t + "/victim/abs", "f", None), (t + "/victim/dir", "d", None)]))
open(t + "/layers", "wb").write(tar([("out", "l", t + "/victim")]) + b"\n--nroot-layer--\n" +
                                tar([("out/through-lower-link", "f", None)]))
PY
    run "$FUZZ_BIN/replay-layer" "$t/abs.tar"
    assert_success
    run "$FUZZ_BIN/replay-whiteout" "$t/layers"
    assert_success
    run ls -A "$t/victim"
    assert_success
    assert_output ""
}
