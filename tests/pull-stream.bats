#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Streamed pulls (issue 14): nroot-unpack imports from the blob cache while
# nroot-pull still downloads the layers (nroot-unpack --follow).  The
# registry's blobs come through the fixture's slowed blob server
# (reg_start --redirect --throttle), so a pull can be watched midway.

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
    helpers_setup
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset REGISTRY_AUTH_FILE DOCKER_CONFIG NROOT_PULL_STREAM
}

images_count() { "$NROOT" images -q | wc -l; }

# the first layer's digest of NAME:latest
first_layer() { reg_manifest "$1" latest | jq -r '.layers[0].digest'; }

@test "pull-stream: the first layer is unpacked while it still downloads" {
    local ref=$REG_HOST/nroot-test/layers:latest first i seen=''
    first=$(first_layer nroot-test/layers)
    "$NROOT" pull -q --tls-verify=false "$ref" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
    local pid=$!
    for i in $(seq 1 1200); do
        if [ ! -e "$STORE/blobs/sha256/${first#sha256:}" ] &&
            [ -n "$(ls -A "$STORE"/tmp/import-*/rootfs 2>/dev/null)" ]; then
            seen=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    wait "$pid" || fail "the pull failed: $(cat "$BATS_TEST_TMPDIR/err")"
    [ -n "$seen" ] || fail "nothing was unpacked before the first layer was whole"
    [ "$(images_count)" = 1 ]
    run_nroot 0 run "$ref" /bin/sh -c 'echo ok'
    assert_output ok
}

@test "pull-stream: a corrupt blob while streaming is 125, the store as before" {
    run_nroot 125 pull --tls-verify=false "$REG_HOST/nroot-test/corrupt:latest"
    [ "$(grep -c 'error:' <<<"$stderr")" = 1 ] || fail "not one error line: $stderr"
    [ "$(images_count)" = 0 ]
    [ ! -e "$STORE/blobs/sha256/${REG_CORRUPT_BLOB#sha256:}" ]
    [ -z "$(ls "$STORE/tmp" 2>/dev/null | grep '^import-')" ] || fail "an import was left: $(ls "$STORE/tmp")"
    [ -z "$(ls "$STORE/by-ref" 2>/dev/null)" ]
}

@test "pull-stream: a pull killed midway leaves no image; the next resumes the download" {
    local ref=$REG_HOST/nroot-test/busybox:latest first i size=0
    first=$(first_layer nroot-test/busybox)
    local partial=$STORE/blobs/sha256/${first#sha256:}.partial
    "$NROOT" pull -q --tls-verify=false "$ref" >/dev/null 2>&1 &
    local pid=$!
    for i in $(seq 1 1200); do
        size=$(stat -c %s "$partial" 2>/dev/null || echo 0)
        [ "$size" -gt 100000 ] && break
        sleep 0.05
    done
    [ "$size" -gt 100000 ] || fail "the download did not start"
    kill -9 "$pid"
    wait "$pid" || true
    sleep 1 # nroot-pull and nroot-unpack die with nroot (PDEATHSIG)
    [ "$(images_count)" = 0 ]
    [ -z "$(ls "$STORE/by-ref" 2>/dev/null)" ]
    [ -e "$partial" ]
    reg_mark
    run_nroot 0 pull -q --tls-verify=false "$ref"
    [ "$(images_count)" = 1 ]
    run reg_redirect_log
    local range
    range=$(jq -r --arg h "${first#sha256:}" \
        'select(.path | contains($h)) | .headers | to_entries[] | select(.key | ascii_downcase == "range") | .value' <<<"$output")
    [[ $range == bytes=[1-9]* ]] || fail "the first layer was not resumed: '$range' $output"
}

@test "pull-stream: NROOT_PULL_STREAM=0 imports after the download, the same image" {
    local ref=$REG_HOST/nroot-test/busybox:latest
    run_nroot 0 pull -q --tls-verify=false "$ref"
    local streamed=$output
    rm -rf "$STORE"
    NROOT_PULL_STREAM=0 run_nroot 0 pull -q --tls-verify=false "$ref"
    assert_equal "$output" "$streamed"
}

@test "pull-stream: a pull waiting for another nroot's store lock downloads meanwhile, then imports" {
    local ref=$REG_HOST/nroot-test/layers:latest d i whole=''
    mkdir -p "$STORE"
    # another nroot holding the store (an import, a prune) for a while
    # (the subshell becomes the sleep: killing it lets the lock go)
    (
        exec 9>>"$STORE/lock"
        flock 9
        exec sleep 60
    ) &
    local holder=$!
    sleep 0.2
    "$NROOT" pull --tls-verify=false "$ref" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
    local pid=$!
    mapfile -t blobs < <(reg_manifest nroot-test/layers latest | jq -r '.layers[].digest')
    for i in $(seq 1 1200); do
        whole=1
        for d in "${blobs[@]}"; do
            [ -f "$STORE/blobs/sha256/${d#sha256:}" ] || whole=''
        done
        [ -n "$whole" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null || fail "the pull ended while the lock was held: $(cat "$BATS_TEST_TMPDIR/err")"
    [ -n "$whole" ] || fail "the layers did not download while the store was locked"
    [ "$(images_count)" = 0 ]
    kill "$holder"
    wait "$holder" || true
    wait "$pid" || fail "the pull failed: $(cat "$BATS_TEST_TMPDIR/err")"
    grep -q 'waiting for another nroot' "$BATS_TEST_TMPDIR/err" || fail "no notice: $(cat "$BATS_TEST_TMPDIR/err")"
    [ "$(images_count)" = 1 ]
    run_nroot 0 run "$ref" /bin/sh -c 'echo ok'
    assert_output ok
}
