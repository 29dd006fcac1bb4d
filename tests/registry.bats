#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Registry pulls through the launcher (issue 14): `nroot pull`, `nroot run
# REF` and `nroot import REF` against the registry fixture (tests/
# registry.bash): auth modes, --pull policies, platforms, layer
# compressions, the shared blob cache, corrupt blobs, concurrent pulls,
# redirects, TLS, and the id of a pulled image against the import of the
# same image as an archive.  The import streams (nroot-unpack follows the
# layers nroot-pull still downloads): tests/pull-stream.bats watches that.

load helpers
load registry

setup_file() {
    [ -f "$OCI/ok" ] || skip "no OCI test images: $(cat "$OCI/unavailable" 2>/dev/null || echo "tests/run did not build them")"
    reg_start plain
    reg_push_test_images
    reg_start htpasswd
    reg_push_test_images
    reg_start token --redirect
    reg_push_test_images
}

teardown_file() {
    reg_stop
}

# helpers.bash's setup, under another name
eval "$(declare -f setup | sed '1s/^setup/helpers_setup/')"

setup() {
    reg_need
    helpers_setup
    # a HOME of the test's own (auth files)
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset REGISTRY_AUTH_FILE DOCKER_CONFIG
}

# images_count: the images in the store
images_count() { "$NROOT" images -q | wc -l; }

@test "registry: nroot pull of the plain registry (--tls-verify=false) names and records the image" {
    reg_use plain
    run_nroot 0 pull --tls-verify=false "$REG_HOST/nroot-test/busybox:latest"
    local id=$output
    [[ $id =~ ^[0-9a-f]{64}$ ]] || fail "not an id: $id"
    run_nroot 0 images --format=json
    assert_equal "$(jq -r '.[0].ref' <<<"$output")" "$REG_HOST/nroot-test/busybox:latest"
    assert_equal "$(jq -r '.[0].manifest' <<<"$output")" "$(reg_digest nroot-test/busybox latest)"
    assert_equal "$(jq -r '.[0].names[0]' <<<"$output")" "$REG_HOST/nroot-test/busybox:latest"
    assert_equal "$(jq -r '.[0].format' <<<"$output")" registry
    run_nroot 0 images --digests
    assert_output --partial "$(reg_digest nroot-test/busybox latest)"
    # the blob cache is an OCI layout in the store
    [ -f "$STORE/oci-layout" ]
    [ -f "$STORE/blobs/sha256/${REG_BASE_LAYER#sha256:}" ]
}

@test "registry: plain HTTP without --tls-verify=false says how to allow it" {
    reg_use plain
    run_nroot 125 pull "$REG_HOST/nroot-test/busybox:latest"
    [[ $stderr == *"--tls-verify=false"* ]] || fail "$stderr"
}

@test "registry: an authenticated pull (htpasswd, auth.json, certs.d)" {
    reg_use htpasswd
    reg_certs_d
    reg_auth_json
    run_nroot 0 pull -q "$REG_HOST/nroot-test/busybox:latest"
    run_nroot 0 run "$REG_HOST/nroot-test/busybox:latest" /bin/sh -c 'echo hello'
    assert_output hello
}

@test "registry: token mode, anonymous for public/ and with credentials for others" {
    reg_use token
    reg_certs_d
    run_nroot 0 pull -q "$REG_HOST/public/busybox:latest"
    run_nroot 125 pull -q "$REG_HOST/nroot-test/busybox:latest"
    reg_auth_json
    run_nroot 0 pull -q "$REG_HOST/nroot-test/busybox:latest"
}

@test "registry: a wrong password is one line naming the registry, 125" {
    reg_use htpasswd
    reg_certs_d
    reg_auth_json "" "$REG_USER" wrong-password
    run_nroot 125 pull "$REG_HOST/nroot-test/busybox:latest"
    [ "$(grep -c 'error:' <<<"$stderr")" = 1 ] || fail "not one error line: $stderr"
    [[ $stderr == *"$REG_HOST"* ]] || fail "the registry is not named: $stderr"
    [ "$(images_count)" = 0 ]
}

@test "registry: a tag the registry does not have is one line, 125" {
    reg_use plain
    run_nroot 125 pull --tls-verify=false "$REG_HOST/nroot-test/busybox:no-such-tag"
    [ "$(grep -c 'error:' <<<"$stderr")" = 1 ] || fail "not one error line: $stderr"
    [[ $stderr == *no-such-tag* ]]
}

@test "registry: run REF pulls on first use; the second run asks no registry" {
    reg_use plain
    local ref=$REG_HOST/nroot-test/busybox:latest
    reg_mark
    run_nroot 0 run --tls-verify=false "$ref" /bin/sh -c 'echo first'
    assert_output first
    [ "$(reg_requests GET '/blobs/')" -ge 1 ]
    reg_mark
    run_nroot 0 run "$ref" /bin/sh -c 'echo second'
    assert_output second
    assert_equal "$(reg_requests '*' '.')" 0
}

@test "registry: --pull=always asks again (no blob downloaded twice), --pull=never does not" {
    reg_use plain
    local ref=$REG_HOST/nroot-test/busybox:latest
    run_nroot 125 run --pull=never "$ref" /bin/true
    [[ $stderr == *never* ]]
    [ "$(images_count)" = 0 ]
    run_nroot 0 run --tls-verify=false "$ref" /bin/true
    reg_mark
    run_nroot 0 run --pull=always --tls-verify=false "$ref" /bin/true
    [ "$(reg_requests GET '/manifests/')" -ge 1 ]
    assert_equal "$(reg_requests GET '/blobs/')" 0
    reg_mark
    run_nroot 0 run --pull=never "$ref" /bin/true
    assert_equal "$(reg_requests '*' '.')" 0
    [ "$(images_count)" = 1 ]
}

@test "registry: a re-pull of a cached image (TLS, auth) fetches no blob and runs no import" {
    reg_use htpasswd
    reg_certs_d
    reg_auth_json
    local ref=$REG_HOST/nroot-test/busybox:latest
    run_nroot 0 pull -q "$ref"
    local id=$output
    reg_mark
    # an import would run nroot-unpack: here one that fails
    printf '#!/bin/sh\necho "nroot-unpack ran" >&2\nexit 1\n' >"$BATS_TEST_TMPDIR/no-unpack"
    chmod +x "$BATS_TEST_TMPDIR/no-unpack"
    NROOT_UNPACK=$BATS_TEST_TMPDIR/no-unpack run_nroot 0 pull -q "$ref"
    assert_output "$id"
    [ "$(reg_requests GET '/manifests/')" -ge 1 ]
    assert_equal "$(reg_requests GET '/blobs/')" 0
    [ "$(images_count)" = 1 ]
}

@test "registry: --pull=newer asks the registry, and keeps the local image when it cannot" {
    reg_use plain
    local ref=$REG_HOST/nroot-test/busybox:latest
    run_nroot 0 pull --tls-verify=false "$ref"
    reg_mark
    run_nroot 0 run --pull=newer --tls-verify=false "$ref" /bin/sh -c 'echo ok'
    assert_output ok
    [ "$(reg_requests GET '/manifests/')" -ge 1 ]
    assert_equal "$(reg_requests GET '/blobs/')" 0
    # a registry of its own, stopped after the pull: it cannot be asked
    reg_start plain --name gone
    reg_push "$OCI/busybox:latest" nroot-test/busybox:latest
    ref=$REG_HOST/nroot-test/busybox:latest
    run_nroot 0 pull -q --tls-verify=false "$ref"
    reg_stop gone
    run_nroot 0 run --pull=newer --tls-verify=false "$ref" /bin/sh -c 'echo still'
    assert_output still
    [[ $stderr == *notice:* ]] || fail "no notice: $stderr"
    run_nroot 125 run --pull=always --tls-verify=false "$ref" /bin/true
}

@test "registry: a multi-platform index: the host's platform, or --platform" {
    [ "$(uname -m)" = x86_64 ] || skip "the default platform test assumes amd64"
    reg_use plain
    run_nroot 0 run --tls-verify=false "$REG_HOST/nroot-test/multi:latest" cat /etc/nroot-platform
    assert_output --partial linux/amd64
    run_nroot 0 run --tls-verify=false --platform linux/arm64 "$REG_HOST/nroot-test/multi:latest" cat /etc/nroot-platform
    assert_output --partial linux/arm64
    run_nroot 0 run --tls-verify=false --platform linux/arm64 "$REG_HOST/nroot-test/multi-docker:latest" cat /etc/nroot-platform
    assert_output --partial linux/arm64
    run_nroot 125 run --platform linux-arm64 "$REG_HOST/nroot-test/multi:latest" /bin/true
}

@test "registry: zstd and uncompressed layers, a docker schema 2 image" {
    reg_use plain
    local n
    for n in zstd uncompressed busybox-docker; do
        run_nroot 0 run --tls-verify=false "$REG_HOST/nroot-test/$n:latest" /bin/sh -c 'echo ok'
        assert_output ok
    done
}

@test "registry: a shared base layer is downloaded once" {
    reg_use plain
    run_nroot 0 pull -q --tls-verify=false "$REG_HOST/nroot-test/busybox:latest"
    reg_mark
    run_nroot 0 pull -q --tls-verify=false "$REG_HOST/nroot-test/layers:latest"
    assert_equal "$(reg_requests GET "/blobs/$REG_BASE_LAYER")" 0
    [ "$(reg_requests GET '/blobs/sha256:')" -ge 2 ]
    run_nroot 0 run "$REG_HOST/nroot-test/layers:latest" /bin/sh -c 'echo ok'
}

@test "registry: a corrupt blob is 125 and changes nothing in the store" {
    reg_use plain
    run_nroot 125 pull --tls-verify=false "$REG_HOST/nroot-test/corrupt:latest"
    [ "$(grep -c 'error:' <<<"$stderr")" = 1 ] || fail "not one error line: $stderr"
    [ "$(images_count)" = 0 ]
    [ ! -e "$STORE/blobs/sha256/${REG_CORRUPT_BLOB#sha256:}" ]
    run_nroot 125 run --pull=never "$REG_HOST/nroot-test/corrupt:latest" /bin/true
}

@test "registry: four concurrent pulls of one image download each blob once" {
    reg_use plain
    local ref=$REG_HOST/nroot-test/layers:latest i pids=() rc=0
    reg_mark
    for i in 1 2 3 4; do
        "$NROOT" pull -q --tls-verify=false "$ref" >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || rc=$?; done
    [ "$rc" = 0 ] || { cat "$BATS_TEST_TMPDIR"/out.*; fail "a pull failed"; }
    local d
    for d in $(reg_manifest nroot-test/layers latest | jq -r '.config.digest, .layers[].digest'); do
        assert_equal "$(reg_requests GET "/blobs/$d" '^2')" 1
    done
    [ "$(images_count)" = 1 ]
    assert_equal "$(sort -u "$BATS_TEST_TMPDIR"/out.* | wc -l)" 1
}

@test "registry: a redirect to the blob server carries no Authorization" {
    reg_use token
    reg_certs_d
    reg_auth_json
    reg_mark
    run_nroot 0 pull -q "$REG_HOST/nroot-test/busybox:latest"
    [ -n "$(reg_redirect_log)" ] || fail "no blob came from the blob server"
    run reg_redirect_headers
    refute_line --regexp '^[Aa]uthorization$'
}

@test "registry: --tls-verify=false without the CA; the CA in certs.d without it" {
    reg_use htpasswd
    reg_auth_json
    run_nroot 125 pull -q "$REG_HOST/nroot-test/busybox:latest"
    [[ $stderr == *TLS* || $stderr == *certificate* ]] || fail "$stderr"
    run_nroot 0 pull -q --tls-verify=false "$REG_HOST/nroot-test/busybox:latest"
    rm -rf "$STORE"
    reg_certs_d
    run_nroot 0 pull -q "$REG_HOST/nroot-test/busybox:latest"
}

@test "registry: a pulled image has the id of the import of the same image as an archive" {
    reg_use plain
    run_nroot 0 pull -q --tls-verify=false "$REG_HOST/nroot-test/layers:latest"
    local pulled=$output
    reg_skopeo copy --src-tls-verify=false "docker://$REG_HOST/nroot-test/layers:latest" \
        "oci-archive:$BATS_TEST_TMPDIR/layers.oci.tar"
    run_nroot 0 import "$BATS_TEST_TMPDIR/layers.oci.tar"
    assert_equal "$output" "$pulled"
}

@test "registry: nroot import REF pulls; rmi removes the image and its reference; prune the blobs" {
    reg_use plain
    local ref=$REG_HOST/nroot-test/busybox:latest
    run_nroot 0 import --tls-verify=false "$ref"
    [ -n "$(ls "$STORE/by-ref")" ]
    run_nroot 0 rmi "$ref"
    [ -z "$(ls "$STORE/by-ref")" ]
    [ -n "$(ls "$STORE/blobs/sha256")" ]
    : >"$STORE/blobs/sha256/$(printf '%064d' 0).partial"
    run_nroot 0 prune
    [ -z "$(ls "$STORE/blobs/sha256")" ]
    run_nroot 125 run --pull=never "$ref" /bin/true
}

@test "registry: a registry asking a client certificate (mTLS) gets the one in certs.d" {
    reg_start htpasswd --mtls --name mtls
    reg_push "$OCI/busybox:latest" nroot-test/busybox:latest
    reg_auth_json
    # the CA alone: the registry refuses the handshake
    local d=$XDG_CONFIG_HOME/containers/certs.d/$REG_HOST
    mkdir -p "$d"
    cp "$REG_CA" "$d/ca.crt"
    run_nroot 125 pull -q "$REG_HOST/nroot-test/busybox:latest"
    [ "$(grep -c 'error:' <<<"$stderr")" = 1 ] || fail "not one error line: $stderr"
    [[ $stderr == *"$REG_HOST"* ]] || fail "the registry is not named: $stderr"
    [[ $stderr == *"hint: the registry may ask a client certificate"* ]] || fail "no hint: $stderr"
    # the client pair beside it (client.cert + client.key, as podman's certs.d)
    reg_certs_d
    [ -f "$d/client.cert" ]
    [ -f "$d/client.key" ]
    run_nroot 0 pull -q "$REG_HOST/nroot-test/busybox:latest"
    run_nroot 0 run "$REG_HOST/nroot-test/busybox:latest" /bin/sh -c 'echo mtls'
    assert_output mtls
    reg_stop mtls
}

@test "registry: credentials from a credential helper (credHelpers, then credsStore); a failing one is one line" {
    reg_use htpasswd
    reg_certs_d
    local bin=$BATS_TEST_TMPDIR/bin ref=$REG_HOST/nroot-test/busybox:latest
    mkdir -p "$bin" "$HOME/.docker"
    cat >"$bin/docker-credential-nrtest" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 3
read -r server
echo "\$server" >>"$BATS_TEST_TMPDIR/helper.log"
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$REG_USER" "$REG_PASS"
EOF
    printf '#!/bin/sh\necho "credentials not found in native keychain"\nexit 1\n' >"$bin/docker-credential-empty"
    printf '#!/bin/sh\necho "the keyring is locked" >&2\nexit 1\n' >"$bin/docker-credential-broken"
    chmod +x "$bin"/docker-credential-*
    export PATH=$bin:$PATH
    printf '{"credHelpers": {"%s": "nrtest"}, "auths": {"%s": {"auth": "eDp5"}}}\n' \
        "$REG_HOST" "$REG_HOST" >"$HOME/.docker/config.json"
    run_nroot 0 pull -q "$ref"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/helper.log")" "$REG_HOST"
    # the default store for every registry
    rm_tree "$STORE"
    printf '{"credsStore": "nrtest"}\n' >"$HOME/.docker/config.json"
    run_nroot 0 pull -q "$ref"
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/helper.log")" 2
    # a helper without this registry's credentials: anonymous, refused
    rm_tree "$STORE"
    printf '{"credsStore": "empty"}\n' >"$HOME/.docker/config.json"
    run_nroot 125 pull -q "$ref"
    assert_nroot_error "requires authentication"
    # a helper that fails: one line naming it
    printf '{"credHelpers": {"%s": "broken"}}\n' "$REG_HOST" >"$HOME/.docker/config.json"
    run_nroot 125 pull -q "$ref"
    [ "$(grep -c 'error:' <<<"$stderr")" = 1 ] || fail "not one error line: $stderr"
    [[ $stderr == *docker-credential-broken* ]] || fail "the helper is not named: $stderr"
    # a helper that is not installed
    printf '{"credHelpers": {"%s": "absent"}}\n' "$REG_HOST" >"$HOME/.docker/config.json"
    run_nroot 125 pull -q "$ref"
    assert_nroot_error "docker-credential-absent for $REG_HOST is not in PATH"
    [ "$(images_count)" = 0 ]
}

@test "registry: HTTPS_PROXY is honoured (the proxy sees the tunnel), NO_PROXY bypasses it" {
    reg_use htpasswd
    reg_certs_d
    reg_auth_json
    local ref=$REG_HOST/nroot-test/busybox:latest port i
    python3 "$BATS_TEST_DIRNAME/helper/connect-proxy.py" "$BATS_TEST_TMPDIR/proxy.port" \
        "$BATS_TEST_TMPDIR/proxy.log" &
    BG_PIDS+=($!)
    for i in $(seq 1 100); do
        [ -f "$BATS_TEST_TMPDIR/proxy.port" ] && break
        sleep 0.05
    done
    port=$(cat "$BATS_TEST_TMPDIR/proxy.port")
    HTTPS_PROXY=http://127.0.0.1:$port NO_PROXY='' run_nroot 0 pull -q "$ref"
    grep -qx "CONNECT $REG_HOST" "$BATS_TEST_TMPDIR/proxy.log" ||
        fail "the proxy saw no tunnel to $REG_HOST: $(cat "$BATS_TEST_TMPDIR/proxy.log" 2>/dev/null)"
    # a proxy that is down: one line, 125
    rm_tree "$STORE"
    https_proxy=http://127.0.0.1:1 NO_PROXY='' run_nroot 125 pull -q "$ref"
    [ "$(grep -c 'error:' <<<"$stderr")" = 1 ] || fail "not one error line: $stderr"
    assert_nroot_error
    [[ $stderr == *'hint: the connection goes through the proxy http://127.0.0.1:1 ($https_proxy)'* ]] || fail "the proxy is not named: $stderr"
    [ "$(images_count)" = 0 ]
    # NO_PROXY names the registry: no proxy
    https_proxy=http://127.0.0.1:1 NO_PROXY=127.0.0.1 run_nroot 0 pull -q "$ref"
}
