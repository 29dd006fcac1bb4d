#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# --time-offset: the container's CLOCK_BOOTTIME and CLOCK_MONOTONIC shifted
# in a time namespace of its own (uptime inside shows it); exec and --join
# enter it, a named container keeps it, bad values are one line and 125,
# the host's clocks are untouched.  A kernel without time namespaces (no
# /proc/self/ns/time: one line, 125) is not tested: nroot has no seam to
# fake that file's absence.

load helpers

# tests/helper/clock-probe.c, static: it runs on the host and, bound in
# with -v, in the busybox image; prints "monotonic S" and "boottime S"
setup_file() {
    if command -v gcc >/dev/null; then
        gcc -static -O2 -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/clock-probe" \
            "$BATS_TEST_DIRNAME/helper/clock-probe.c" 2>"$BATS_FILE_TMPDIR/cc.err" || true
    fi
}

eval "$(declare -f setup | sed '1s/^setup/setup_default/')"
setup() {
    setup_default
    [ -e /proc/self/ns/time ] || skip "no time namespaces in this kernel (Linux 5.6+, CONFIG_TIME_NS)"
    PROBE=$BATS_FILE_TMPDIR/clock-probe
    [ -x "$PROBE" ] || skip "tests/helper/clock-probe.c does not build: $(tail -n 1 "$BATS_FILE_TMPDIR/cc.err" 2>/dev/null || echo 'no gcc')"
    PROBE_VOL=(-v "$PROBE:/probe:ro")
}

teardown() {
    teardown_containers
}

# clock NAME [OUTPUT]: the whole seconds the probe printed for clock NAME
clock() { awk -v c="$1" '$1 == c { print $2 }' <<<"${2:-$output}"; }
host_clock() { clock "$1" "$("$PROBE")"; }

# near GOT WANT [SLACK]: GOT is WANT, or up to SLACK seconds (default 20) later
near() {
    local got=$1 want=$2 slack=${3:-20}
    [ -n "$got" ] && [ "$got" -ge "$want" ] && [ "$got" -le $((want + slack)) ] ||
        fail "clock reads '$got', expected $want (+ at most $slack s)"
}

@test "timens: --time-offset=boottime shifts /proc/uptime inside; the host's clocks are untouched" {
    local before mono
    before=$(cut -d. -f1 /proc/uptime)
    mono=$(host_clock monotonic)
    nrun --time-offset=boottime=864000 "$IMG" cut -d. -f1 /proc/uptime
    near "$output" $((before + 864000))
    # the host's clocks: as they were, run for a few seconds more
    near "$(cut -d. -f1 /proc/uptime)" "$before"
    near "$(host_clock monotonic)" "$mono"
    # the container's own time namespace, not the host's
    nrun --time-offset=boottime=1 "$IMG" readlink /proc/self/ns/time
    [ "$output" != "$(readlink /proc/self/ns/time)" ] || fail "the host's time namespace: $output"
}

@test "timens: without --time-offset the container is in the host's time namespace" {
    nrun "$IMG" readlink /proc/self/ns/time
    assert_output "$(readlink /proc/self/ns/time)"
}

@test "timens: both clocks, negative and fractional; repeated, the last value of a clock wins" {
    local mono boot
    mono=$(host_clock monotonic) boot=$(host_clock boottime)
    [ "$mono" -gt 200 ] || skip "the host's monotonic clock reads only $mono s"
    nrun "${PROBE_VOL[@]}" --time-offset=monotonic=-100.5,boottime=1000 "$IMG" /probe
    # -100.5 s: 100 or 101 s less, by where the fraction falls
    near "$(clock monotonic)" $((mono - 101))
    near "$(clock boottime)" $((boot + 1000))
    nrun "${PROBE_VOL[@]}" --time-offset=boottime=100 --time-offset=monotonic=50 \
        --time-offset boottime=7200 "$IMG" /probe
    near "$(clock monotonic)" $((mono + 50))
    near "$(clock boottime)" $((boot + 7200))
    # the payload's children and its shell see the same
    nrun "${PROBE_VOL[@]}" --time-offset=boottime=7200 "$IMG" sh -c '/probe | grep boottime; (cut -d. -f1 /proc/uptime)'
    local b
    b=$(clock boottime)
    near "${lines[1]}" "$b" 2
}

@test "timens: exec and --join joiners enter the container's time namespace" {
    local boot
    boot=$(host_clock boottime)
    run_nroot 0 run -d --name t "${PROBE_VOL[@]}" --time-offset=boottime=86400,monotonic=3600 "$IMG" \
        sh -c 'readlink /proc/self/ns/time >/tmp/ns; exec sleep 1000'
    wait_for 50 run_nroot 0 exec t test -s /tmp/ns
    run_nroot 0 exec t /probe
    near "$(clock boottime)" $((boot + 86400))
    near "$(clock monotonic)" $(($(host_clock monotonic) + 3600 - 20))
    run_nroot 0 exec t sh -c 'readlink /proc/self/ns/time | cmp - /tmp/ns && echo same-timens'
    assert_output same-timens
    # the live state keeps it, for exec
    grep -q '^ns_time=' "$XDG_RUNTIME_DIR"/nroot/containers/*/state || fail "no ns_time in the live state"

    # --join: the second command enters the first's container
    local out=$BATS_TEST_TMPDIR/first
    start_nroot "$out" run -q --join=tk --time-offset=boottime=86400 "$IMG" sh -c 'echo up; exec sleep 30'
    wait_for 100 file_has "$out" up || fail "the first did not start: $(cat "$out.err")"
    run_nroot 0 run -q --join=tk "$IMG" cut -d. -f1 /proc/uptime
    near "$output" $((boot + 86400)) 40
}

@test "timens: a container started again keeps its offsets (config key time_offset)" {
    local boot
    boot=$(host_clock boottime)
    nrun --name keep "${PROBE_VOL[@]}" --time-offset=monotonic=-1.5 --time-offset=boottime=86400 "$IMG" /probe
    near "$(clock boottime)" $((boot + 86400))
    file_has "$STORE/containers/keep/config" '^time_offset=monotonic=-1.5,boottime=86400$' ||
        fail "no time_offset: $(cat "$STORE/containers/keep/config")"
    run_nroot 0 start -a keep
    near "$(clock boottime)" $((boot + 86400))
    run_nroot 0 start keep
    run_nroot 0 wait keep
    run_nroot 0 logs keep
    near "$(clock boottime)" $((boot + 86400))
    # a damaged value is one line and 125, for start
    sed -i 's/^time_offset=.*/time_offset=boot=1/' "$STORE/containers/keep/config"
    run_nroot 125 start -a keep
    assert_nroot_error "damaged: the value of 'time_offset' is not valid"
}

@test "timens: bad values are one line and 125, and nothing is made" {
    local v
    for v in boot=1 mono=1 realtime=5 boottime= =5 boottime monotonic=abc boottime=1e3 \
        boottime=0x10 boottime=1.1234567891 boottime=1. boottime=.5 boottime=--1 \
        'boottime=1,' 'boottime=1,,monotonic=2' '' boottime=99999999999 boottime=-4611686019; do
        run_nroot 125 run --time-offset="$v" "$IMG" true
        assert_nroot_error "invalid --time-offset '"
    done
    # a clock of the container would read below 0
    run_nroot 125 run --time-offset=monotonic=-4000000000 "$IMG" true
    assert_nroot_error "^nroot: error: --time-offset: monotonic=-4000000000 would set the container's monotonic clock below 0"
    run_nroot 125 run --name bad --time-offset=boottime=-4000000000.5 "$IMG" true
    assert_nroot_error "boottime=-4000000000.5 would set"
    run_nroot 0 ps -a -q
    assert_output ""
}

@test "timens: --time-offset with an OCI bundle is refused: its config.json's linux.timeOffsets decide" {
    need_oci
    [ -f "$BATS_TEST_DIRNAME/oci-helpers.bash" ] || skip "no OCI helpers"
    mkdir -p "$BATS_TEST_TMPDIR/b"
    printf '{}' >"$BATS_TEST_TMPDIR/b/config.json"
    run_nroot 125 run --time-offset=boottime=1 "$BATS_TEST_TMPDIR/b" true
    assert_nroot_error "--time-offset cannot be used with an OCI bundle"
}
