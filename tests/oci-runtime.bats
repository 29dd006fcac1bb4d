#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nroot-oci: nroot under the name tools that drive runc take for a runtime
# binary (podman --runtime, containerd's shims): `nroot-oci CMD ...` is
# `nroot oci CMD ...` (make install links it next to nroot).

load helpers
load oci-helpers

eval "$(declare -f setup | sed '1s/^setup/setup_default/')"
setup() {
    setup_default
    oci_cli_setup
    # the link, as make install makes it: relative, next to the binary
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    cp "$NROOT" "$BATS_TEST_TMPDIR/bin/nroot"
    for h in nroot-unpack nroot-pull nroot-squashfs; do
        [ ! -e "$(dirname "$NROOT")/$h" ] || cp "$(dirname "$NROOT")/$h" "$BATS_TEST_TMPDIR/bin/"
    done
    ln -s nroot "$BATS_TEST_TMPDIR/bin/nroot-oci"
    OCI=$BATS_TEST_TMPDIR/bin/nroot-oci
}

teardown() {
    oci_cli_teardown
    teardown_default
}

@test "nroot-oci: the link runs nroot oci: create, start, state, delete --force, run" {
    make_busybox_bundle "$B" /bin/sleep 100
    "$OCI" --root "$OCIROOT" create --bundle "$B" --pid-file "$BATS_TEST_TMPDIR/pid" e1 \
        </dev/null >/dev/null 2>&1 || fail "create failed"
    [ "$("$OCI" --root "$OCIROOT" state e1 | jq -r .status)" = created ]
    # the same container through `nroot oci`
    [ "$("$NROOT" oci --root "$OCIROOT" list -q)" = e1 ]
    [ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$("$OCI" --root "$OCIROOT" state e1 | jq -r .pid)" ]
    "$OCI" --root "$OCIROOT" start e1
    [ "$("$OCI" --root "$OCIROOT" state e1 | jq -r .status)" = running ]
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    # delete --force of a running container: killed and gone when it returns
    "$OCI" --root "$OCIROOT" delete --force e1
    ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]
    [ -z "$("$OCI" --root "$OCIROOT" list -q)" ]
    make_busybox_bundle "$BATS_TEST_TMPDIR/b2" /bin/sh -c 'exit 3'
    run "$OCI" --root "$OCIROOT" run --bundle "$BATS_TEST_TMPDIR/b2" e2 </dev/null
    [ "$status" -eq 3 ]
}

@test "nroot-oci: runc's errors, --help and --version of nroot oci, not nroot's" {
    run "$OCI" --root "$OCIROOT" state nosuch
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$OCI" frobnicate
    [ "$status" -eq 1 ]
    [[ $output == *"oci: unknown command 'frobnicate'"* ]]
    run "$OCI" --help
    [ "$status" -eq 0 ]
    [[ $output == *"oci"* ]]
    run "$OCI" --version
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "nroot-oci version "* ]]
    [[ ${lines[1]} == "spec: 1."* ]]
    # nroot's own commands are not reachable through the link
    run "$OCI" images
    [ "$status" -eq 1 ]
}
