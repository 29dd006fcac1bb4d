# SPDX-License-Identifier: Apache-2.0
# tests/helpers.bash — loaded by every tests/*.bats file.
#
# Environment from tests/run:
#   NROOT                 the launcher under test
#   NROOT_TEST_MODE       subids | single | fuse
#   NROOT_TEST_IMAGES     rootfs/, rootfs.tar{,.gz,.xz,.zst}, oci/ (OCI layouts
#                         and docker/oci archives: see build_oci_images in
#                         tests/run)
#   NROOT_TEST_NOMAP_PATH a PATH without newuidmap/newgidmap
#   NROOT_TEST_SYS_PATH   the normal system PATH

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

: "${NROOT:=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}/nroot}"
: "${NROOT_TEST_MODE:=subids}"
: "${NROOT_TEST_SYS_PATH:=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"
IMAGES=${NROOT_TEST_IMAGES:-}
IMG=$IMAGES/rootfs
OCI=$IMAGES/oci
# seconds one nroot invocation may take before the test fails
NROOT_TEST_TIMEOUT=${NROOT_TEST_TIMEOUT:-30}

# The default capability set of a container root (podman's):
# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE SYS_CHROOT SETFCAP
DEFAULT_CAPS=00000000800405fb

setup() {
    if [ "$(id -u)" = 0 ]; then
        echo "refusing to run nroot's tests as root: use tests/run" >&2
        return 1
    fi
    [ -n "$IMAGES" ] && [ -x "$IMG/bin/nr-test" ] ||
        { echo "test images missing: run the suite through tests/run" >&2; return 1; }
    if [ "$NROOT_TEST_MODE" = fuse ]; then
        fuse_usable || skip "fuse mode: $FUSE_WHY"
    fi
    export XDG_DATA_HOME=$BATS_TEST_TMPDIR/data
    export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
    export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
    unset NROOT_STORE
    STORE=$XDG_DATA_HOME/nroot
    BG_PIDS=()
}

teardown() {
    teardown_default
}

# what every test leaves: its background nroots and its files
teardown_default() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm_tree "${NROOT_STORE:-}" "$BATS_TEST_TMPDIR"/*
    return 0
}

# the teardown of files that start detached containers: they are no
# children of the test, so they are removed before the rest
teardown_containers() {
    local id
    # only the test's own runtime directory: a setup that skipped before
    # making it leaves the user's real one in XDG_RUNTIME_DIR
    if [[ ${XDG_RUNTIME_DIR:-} != "$BATS_TEST_TMPDIR"/* ]]; then
        teardown_default
        return
    fi
    for id in $("$NROOT" ps -q 2>/dev/null); do
        timeout 20 "$NROOT" rm -f "$id" >/dev/null 2>&1
    done
    teardown_default
}

# ----------------------------------------------------------------- modes --

skip_unless_mode() {
    local m
    for m in "$@"; do [ "$NROOT_TEST_MODE" = "$m" ] && return 0; done
    skip "only in mode $*"
}

skip_if_mode() {
    local m
    for m in "$@"; do
        [ "$NROOT_TEST_MODE" = "$m" ] && skip "not in mode $m"
    done
    return 0
}

# the user's subordinate range, as "START COUNT", from /etc/sub{u,g}id
subid_range() {
    local file=$1 name uid
    name=$(id -un) uid=$(id -u)
    awk -F: -v n="$name" -v u="$uid" '($1 == n || $1 == u) { print $2, $3; exit }' "$file"
}

# tests that need the full subordinate range
skip_unless_subids() {
    skip_if_mode single
    [ -n "$(subid_range /etc/subuid)" ] && [ -n "$(subid_range /etc/subgid)" ] ||
        skip "no subordinate id range for $(id -un) in /etc/subuid and /etc/subgid"
    PATH=$NROOT_TEST_SYS_PATH command -v newuidmap >/dev/null ||
        skip "newuidmap is not installed (uidmap package)"
}

fuse_usable() {
    FUSE_WHY=
    if ! command -v fuse-overlayfs >/dev/null; then
        FUSE_WHY="fuse-overlayfs is not installed"
    elif [ ! -c /dev/fuse ] || [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ]; then
        FUSE_WHY="/dev/fuse is missing or not read-writable by $(id -un)"
    fi
    [ -z "$FUSE_WHY" ]
}

# tests that need the OCI images and archives: they skip when tests/run
# could not make them for want of umoci, skopeo or jq, and fail when making
# them went wrong
need_oci() {
    [ -f "$OCI/ok" ] && return 0
    [ -f "$OCI/unavailable" ] && skip "no OCI test images: $(cat "$OCI/unavailable")"
    fail "the OCI test images were not built: $(cat "$OCI/failed" 2>/dev/null || echo "no $OCI")"
}

# tests that use a tool of their own
need_tool() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || skip "$t is not installed"
    done
}

# ------------------------------------------------------------ run nroot --

# run_nroot EXPECTED_RC ARGS...   runs "$NROOT ARGS..." with bats' run;
# $output holds stdout, $stderr stderr.  Fails, printing both, when the
# status is not EXPECTED_RC ("any" accepts every status).
run_nroot() {
    local want=$1
    shift
    echo "\$ nroot ${*@Q}  # expect $want"
    local check=()
    # bats warns about an unchecked 127 unless run is told to expect it
    [ "$want" = 127 ] && check=(-127)
    local t0=$SECONDS
    run "${check[@]}" --separate-stderr timeout -k 5 "$NROOT_TEST_TIMEOUT" "$NROOT" "$@"
    if [ "$want" != any ] && [ "$status" != "$want" ]; then
        {
            echo "nroot exited $status, expected $want"
            [ $((SECONDS - t0)) -ge "$NROOT_TEST_TIMEOUT" ] &&
                echo "(it hung: stopped by the ${NROOT_TEST_TIMEOUT} s test timeout)"
            echo "--- stdout"
            printf '%s\n' "$output"
            echo "--- stderr"
            printf '%s\n' "$stderr"
        } >&2
        return 1
    fi
}

# run IMAGE CMD... through run_nroot with status 0 (the common case)
nrun() {
    run_nroot 0 run "$@"
}

# assert_nroot_error [REGEX]: the last run_nroot failed the way nroot must
# fail: status 125, stderr is one "nroot: error: ..." line, optionally
# followed by one "nroot: hint: ..." line (notices about the id mapping may
# come before).  REGEX, if given, must match the error line.
assert_nroot_error() {
    local errl=() l
    [ "$status" = 125 ] || fail "status is $status, expected 125"
    for l in "${stderr_lines[@]}"; do
        case $l in "nroot: notice: "*) ;; *) errl+=("$l") ;; esac
    done
    [ ${#errl[@]} -ge 1 ] || fail "stderr has no error line"
    [[ ${errl[0]} == "nroot: error: "* ]] || fail "first stderr line is not 'nroot: error: ...': ${errl[0]}"
    if [ ${#errl[@]} -eq 2 ]; then
        [[ ${errl[1]} == "nroot: hint: "* ]] || fail "second stderr line is not 'nroot: hint: ...': ${errl[1]}"
    elif [ ${#errl[@]} -gt 2 ]; then
        fail "stderr has ${#errl[@]} lines, expected an error line and at most a hint: $stderr"
    fi
    if [ $# -gt 0 ]; then
        [[ ${errl[0]} =~ $1 ]] || fail "error line does not match /$1/: ${errl[0]}"
    fi
    return 0
}

# the hint line of the last failed run, or nothing
nroot_hint() {
    printf '%s\n' "${stderr_lines[@]}" | grep '^nroot: hint: ' || true
}

# ------------------------------------------------------------- processes --

# ps as JSON, checked to be JSON, field $2 of container $1 ("absent": none)
ps_field() {
    "$NROOT" ps -a --format json | python3 -c '
import json, sys
want, field = sys.argv[1], sys.argv[2]
for c in json.load(sys.stdin):
    if c["name"] == want or c["id"] == want:
        print(json.dumps(c[field]))
        break
else:
    print("absent")' "$1" "$2"
}

# a detached container named $1 running a shell loop that stays up (its
# options after the name; teardown_containers removes it)
start_bg() {
    local name=$1
    shift
    run_nroot 0 run -d --name "$name" "$@" "$IMG" sh -c 'echo up; exec sleep 1000'
    [ "$output" = "$name" ] || fail "run -d printed '$output', not the name"
}

# start_nroot OUTFILE ARGS...: nroot in the background, stdout to OUTFILE,
# stderr to OUTFILE.err; sets NROOT_PID.  teardown kills what is left.
start_nroot() {
    local out=$1
    shift
    echo "\$ nroot ${*@Q} &"
    "$NROOT" "$@" >"$out" 2>"$out.err" 3>&- </dev/null &
    NROOT_PID=$!
    BG_PIDS+=("$NROOT_PID")
}

# wait_for TRIES CMD...: retry CMD every 0.1 s, at most TRIES times
wait_for() {
    local tries=$1 i
    shift
    for ((i = 0; i < tries; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# wait_exit PID TRIES: wait (bounded) for a background child to end; its
# status in $WAIT_STATUS.  Fails if it is still running.
wait_exit() {
    local pid=$1 tries=${2:-100}
    wait_for "$tries" eval "! kill -0 $pid 2>/dev/null" || return 1
    wait "$pid"
    WAIT_STATUS=$?
}

file_has() { grep -q -- "$2" "$1" 2>/dev/null; }

# ----------------------------------------------------------------- trees --

# run a command as root of a user namespace with the user's full
# subordinate range (files owned by subordinate ids), else as is
as_mapped_root() {
    if [ -z "${MAPPED_ROOT_OK:-}" ]; then
        MAPPED_ROOT_OK=no
        [ -n "$(subid_range /etc/subuid)" ] &&
            PATH=$NROOT_TEST_SYS_PATH unshare --map-auto --map-root-user true 2>/dev/null &&
            MAPPED_ROOT_OK=yes
    fi
    if [ "$MAPPED_ROOT_OK" = yes ]; then
        PATH=$NROOT_TEST_SYS_PATH unshare --map-auto --map-root-user "$@"
    else
        "$@"
    fi
}

# rm_tree DIR...: remove trees that may hold files of subordinate ids
rm_tree() {
    local d
    for d in "$@"; do
        [ -n "$d" ] && [ -e "$d" ] || continue
        as_mapped_root rm -rf "$d" 2>/dev/null
        if [ -e "$d" ]; then
            chmod -R u+rwX "$d" 2>/dev/null
            rm -rf "$d"
        fi
    done
    return 0
}

# tree_sum DIR: one checksum over names, types, modes, owners, sizes, link
# targets and contents of every file below DIR
tree_sum() {
    as_mapped_root sh -c '
        cd "$1" || exit 1
        find . -printf "%y %m %U:%G %s %p -> %l\n" | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
    ' sh "$1" | sha256sum | cut -d" " -f1
}

# tree_list DIR: the listing tree_sum hashes (for failure messages)
tree_list() {
    as_mapped_root sh -c 'cd "$1" && find . -printf "%y %m %U:%G %s %p -> %l\n" | LC_ALL=C sort' sh "$1"
}

# store_image_root STORE: the imported rootfs inside the store (the
# directory that holds data/unchanged.txt)
store_image_root() {
    local f
    f=$(as_mapped_root find "$1" -path '*/data/unchanged.txt' -type f 2>/dev/null | head -n1)
    [ -n "$f" ] || return 1
    dirname "$(dirname "$f")"
}

# assert_store_has_no_image STORE: nothing but empty bookkeeping is left
# (no regular file with content, no symlink, nothing deeper than 2 levels)
assert_store_has_no_image() {
    local store=$1 left
    [ -e "$store" ] || return 0
    left=$(as_mapped_root find "$store" -mindepth 1 \( ! -type d ! \( -type f -empty \) -o -mindepth 3 \) -print 2>&1)
    [ -z "$left" ] || fail "the store holds more than empty bookkeeping:
$left"
}

# a private copy of the image directory (for tests that check it is unchanged)
copy_image() {
    local dst=$BATS_TEST_TMPDIR/scratch-image
    cp -a "$IMG" "$dst"
    echo "$dst"
}

# The Debian minbase image tests/run builds (debian.bats, rootemu.bats,
# cdi.bats): one store per file, so the image is unpacked once, not per
# test; the file's teardown_file removes it (teardown_debian_store)
DEBIAN=${NROOT_TEST_IMAGES:-}/debian.tar.zst
need_debian() {
    [ -s "$DEBIAN" ] || skip "no Debian image: $(cat "${DEBIAN%.tar.zst}.unavailable" 2>/dev/null || echo "not built")"
    export XDG_DATA_HOME=$BATS_FILE_TMPDIR/data
    STORE=$XDG_DATA_HOME/nroot
    mkdir -p "$XDG_DATA_HOME"
}
teardown_debian_store() {
    rm_tree "$BATS_FILE_TMPDIR/data"
}
