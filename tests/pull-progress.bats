#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The per-layer progress of a pull (issue 14): one line a layer on a
# terminal (`script` gives nroot one), redrawn in place; nothing off a
# terminal or with -q.  The blobs come slowly (reg_start --throttle), so a
# download is seen midway.

load helpers
load registry

setup_file() {
    [ -f "$OCI/ok" ] || skip "no OCI test images: $(cat "$OCI/unavailable" 2>/dev/null || echo "tests/run did not build them")"
    reg_start plain --redirect --throttle 300000
    reg_push_test_images
}

teardown_file() {
    reg_stop
}

eval "$(declare -f setup | sed '1s/^setup/helpers_setup/')"

setup() {
    reg_need
    command -v script >/dev/null || skip "script is not installed (apt-get install util-linux)"
    helpers_setup
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset REGISTRY_AUTH_FILE DOCKER_CONFIG NROOT_PULL_STREAM
    REF=$REG_HOST/nroot-test/layers:latest
}

# nroot ARGS... on a terminal: what the terminal got (stdout and stderr),
# its escape sequences removed and each \r a line break, to $BATS_TEST_TMPDIR/tty
on_tty() {
    local cmd q
    printf -v q '%q ' "$NROOT" "$@"
    cmd="timeout -k 5 $NROOT_TEST_TIMEOUT $q"
    script -qfec "$cmd" /dev/null >"$BATS_TEST_TMPDIR/raw" ||
        fail "nroot $* failed on a terminal: $(cat -v "$BATS_TEST_TMPDIR/raw")"
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$BATS_TEST_TMPDIR/raw" | tr '\r' '\n' | grep -v '^$' \
        >"$BATS_TEST_TMPDIR/tty" || true
}

# the short digests of the image's layers, in order
short_layers() { reg_manifest nroot-test/layers latest | jq -r '.layers[].digest' | cut -c8-19; }

# the last frame: the lines before the image id that pull prints last
last_frame() {
    local n
    n=$(short_layers | wc -l)
    tail -n $((n + 1)) "$BATS_TEST_TMPDIR/tty" | head -n "$n"
}

@test "pull-progress: on a terminal, one line a layer, each done at the end" {
    on_tty pull --tls-verify=false "$REF"
    local shorts frame i=0 s
    mapfile -t shorts < <(short_layers)
    [ "${#shorts[@]}" -ge 2 ] || fail "the test image has ${#shorts[@]} layers"
    mapfile -t frame < <(last_frame)
    for s in "${shorts[@]}"; do
        [[ ${frame[i]} =~ ^$s\ \ done\ \ [0-9.]+[kMG]?B$ ]] ||
            fail "line $i of the last frame is not '$s  done SIZE': ${frame[i]}
$(cat "$BATS_TEST_TMPDIR/tty")"
        i=$((i + 1))
    done
    # midway: a layer's bar, percentage, bytes done of its size
    grep -Eq "^(${shorts[0]}|${shorts[1]})  \[[=> ]+\] +[0-9]+%  [0-9.]+[kMG]?B / [0-9.]+[kMG]?B" \
        "$BATS_TEST_TMPDIR/tty" || fail "no layer seen midway: $(cat "$BATS_TEST_TMPDIR/tty")"
    # redrawn in place: the cursor goes up over the layers
    grep -q $'\x1b\['"${#shorts[@]}A" "$BATS_TEST_TMPDIR/raw" || fail "no redraw in place"
    # a frame's lines fit the terminal (script's default 80 columns)
    local alt
    alt=$(IFS='|' && echo "${shorts[*]}")
    [ "$(grep -E "^($alt)  " "$BATS_TEST_TMPDIR/tty" |
        awk '{ if (length($0) > m) m = length($0) } END { print m }')" -lt 80 ]
    [ "$("$NROOT" images -q | wc -l)" = 1 ]
}

@test "pull-progress: layers in the cache are already present" {
    run_nroot 0 pull --tls-verify=false "$REF"
    on_tty pull --tls-verify=false "$REF"
    local shorts frame i=0 s
    mapfile -t shorts < <(short_layers)
    mapfile -t frame < <(last_frame)
    for s in "${shorts[@]}"; do
        [ "${frame[i]}" = "$s  already present" ] ||
            fail "line $i is not '$s  already present': $(cat "$BATS_TEST_TMPDIR/tty")"
        i=$((i + 1))
    done
}

@test "pull-progress: off a terminal, and with -q, no progress at all" {
    run_nroot 0 pull --tls-verify=false "$REF"
    # (a notice of the id mapping may come, as in every mode)
    [ -z "$(grep -v '^nroot: notice: ' <<<"$stderr")" ] || fail "stderr off a terminal: $stderr"
    [[ $output =~ ^[0-9a-f]{64}$ ]] || fail "stdout is not the image id: $output"
    on_tty pull -q --tls-verify=false "$REG_HOST/nroot-test/busybox:latest"
    run grep -v '^nroot: notice: ' "$BATS_TEST_TMPDIR/tty"
    [[ $output =~ ^[0-9a-f]{64}$ ]] || fail "more than the image id with -q: $(cat -v "$BATS_TEST_TMPDIR/raw")"
}
