#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The fixtures of issue 17 (tests/oci-helpers.bash) against the peers: the
# probes under runc (and crun) on a `runc spec --rootless` busybox bundle and
# on an `umoci unpack --rootless` one, as the unprivileged test user.  No
# nroot here: these prove the fixtures the nroot oci tests will compare with.

load helpers
load oci-helpers

teardown() {
    oci_teardown_containers
    teardown_default
}

# the sane output every probe run must give, whatever the runtime
check_probes() {
    local cwd=$1
    [[ $(oci_section id) == uid=0\(root\)\ gid=0\(root\)* ]] || fail "id: $(oci_section id)"
    [ -n "$(oci_section hostname)" ] || fail "no hostname"
    oci_section mounts | grep -q '^/ ' || fail "no / in mountinfo: $(oci_section mounts)"
    oci_section mounts | grep -q '^/proc proc ' || fail "no /proc: $(oci_section mounts)"
    [ "$(oci_section caps | wc -l)" = 5 ] || fail "caps: $(oci_section caps)"
    oci_section ulimit | grep -qi 'open files\|nofiles\|-n:' || fail "ulimit: $(oci_section ulimit)"
    oci_section env | grep -q '^PATH=' || fail "env: $(oci_section env)"
    [ "$(oci_section pwd)" = "$cwd" ] || fail "pwd: $(oci_section pwd), expected $cwd"
    oci_section masked | grep -q '^/proc/kcore \(char\|absent\) empty$' || fail "masked: $(oci_section masked)"
    [ "$(oci_section exit)" = "${OCI_PROBE_EXIT:-0}" ] || fail "exit: $(oci_section exit)"
}

probe() {   # RUNTIME KIND: the probes, checked, output in $BATS_TEST_TMPDIR/RUNTIME-KIND.out
    local rt=$1 kind=$2 b=$BATS_TEST_TMPDIR/$1-$2 cwd=/
    case $kind in
        spec) make_busybox_bundle "$b" ;;
        umoci) make_umoci_bundle "$b"; cwd=/data ;;
    esac
    oci_run_probes "$rt" "$b"
    [ "$status" = "${OCI_PROBE_EXIT:-0}" ] ||
        fail "$rt run exited $status (expected ${OCI_PROBE_EXIT:-0}): $stderr"
    check_probes "$cwd"
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/$rt-$kind.out"
}

@test "oci-peers: runc runs the probes in a runc spec --rootless bundle" {
    need_runc
    probe runc spec
    [ "$(oci_section hostname)" = runc ]
    # the spec's three capabilities, in all sets but inheritable
    oci_section caps | grep -qx 'CapBnd:[[:space:]]*0000000020000420'
    oci_section caps | grep -qx 'CapInh:[[:space:]]*0000000000000000'
    # root.readonly: the root is read-only
    oci_section mounts | grep -q '^/ [a-z0-9]* ro[,$]\|^/ [a-z0-9]* ro$'
}

@test "oci-peers: runc runs the probes in an umoci unpack --rootless bundle" {
    need_runc
    probe runc umoci
    oci_section env | grep -qx 'FOO=from-image'
    oci_section env | grep -qx 'SPACED=a b=c'
}

@test "oci-peers: runc returns the container's exit code" {
    need_runc
    OCI_PROBE_EXIT=7 probe runc spec
}

@test "oci-peers: the stored runc spec --rootless equals runc's own (with the caller's ids)" {
    need_runc
    need_tool jq
    local d=$BATS_TEST_TMPDIR/s
    mkdir -p "$d"
    (cd "$d" && runc spec --rootless)
    diff <(jq -S . "$d/config.json") \
         <(jq -n --argjson uid "$(id -u)" --argjson gid "$(id -g)" "$OCI_STORED_SPEC" | jq -S .)
}

@test "oci-peers: crun runs the probes in both bundles, as runc does" {
    need_crun
    probe crun spec
    probe crun umoci
    if command -v runc >/dev/null; then
        probe runc spec
        probe runc umoci
        local k s
        for k in spec umoci; do
            # what must agree between two runtimes running one spec
            for s in id hostname caps env pwd masked exit; do
                diff <(oci_section "$s" "$(cat "$BATS_TEST_TMPDIR/runc-$k.out")") \
                     <(oci_section "$s" "$(cat "$BATS_TEST_TMPDIR/crun-$k.out")") ||
                    fail "runc and crun differ in $s ($k bundle)"
            done
        done
    fi
}

@test "oci-peers: runc create, start, state, delete: the create/start split" {
    need_runc
    local b=$BATS_TEST_TMPDIR/b id=split-$$
    make_busybox_bundle "$b" /bin/sh -c 'echo started >/tmp/started; sleep 30'
    oci_edit "$b" '.root.readonly = false'
    # not through bats' run: the created container's init holds its stdio
    # until start
    timeout -k 5 "$NROOT_TEST_TIMEOUT" $(runc_cmd) create --bundle "$b" "$id" \
        </dev/null >"$BATS_TEST_TMPDIR/create.out" 2>&1 ||
        fail "create: $(cat "$BATS_TEST_TMPDIR/create.out")"
    run_runc state "$id"
    [ "$(jq -r .status <<<"$output")" = created ]
    sleep 0.2
    [ ! -e "$b/rootfs/tmp/started" ] || fail "the process ran before start"
    run_runc start "$id"
    [ "$status" = 0 ] || fail "start: $stderr"
    wait_for 50 test -s "$b/rootfs/tmp/started" ||
        fail "the process did not run after start: $(cat "$BATS_TEST_TMPDIR/create.out"; ls -la "$b/rootfs/tmp"; jq -c .process "$b/config.json")"
    run_runc state "$id"
    [ "$(jq -r .status <<<"$output")" = running ]
    run_runc kill "$id" KILL
    wait_for 50 sh -c "$(runc_cmd) state $id | jq -e '.status == \"stopped\"' >/dev/null"
    run_runc delete "$id"
    [ "$status" = 0 ] || fail "delete: $stderr"
    run_runc state "$id"
    [ "$status" != 0 ]
}

@test "oci-peers: the runtime-tools validation programs run against runc rootless" {
    need_runc
    [ -n "${NROOT_TEST_OCI_TOOLS:-}" ] && [ -x "$NROOT_TEST_OCI_TOOLS/runtimetest" ] ||
        skip "no runtime-tools validation programs (NROOT_TEST_OCI_TOOLS: tests/peers/oci-tools DIR as root)"
    # a few that pass under runc here (tests/peers/oci-validation-baseline.txt)
    run --separate-stderr env OUT="$BATS_TEST_TMPDIR/tap" \
        "$BATS_TEST_DIRNAME/peers/oci-validate" "$NROOT_TEST_OCI_TOOLS" runc create state kill
    printf '%s\n' "$output" "$stderr"
    [ "$status" = 0 ]
    [ "${lines[-1]%% (*}" = "3 pass, 0 fail, 0 skip" ]
}
