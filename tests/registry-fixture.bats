#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The registry fixture of the pull tests (tests/registry.bash) checked with
# curl and skopeo alone: the registries, the token server, the redirecting
# blob server, the test images, the request counting and the client files
# are what the nroot pull tests will believe them to be.

load helpers
load registry

setup_file() {
    [ -f "$OCI/ok" ] || skip "no OCI test images: $(cat "$OCI/unavailable" 2>/dev/null || echo "tests/run did not build them")"
    reg_start htpasswd
    reg_push_test_images
    reg_start token --redirect
    reg_push_test_images
    reg_start plain
    reg_push "$OCI/busybox:latest" nroot-test/busybox:latest
}

teardown_file() {
    reg_stop
}

b64url_decode() {
    local s
    s=$(tr _- /+ <<<"$1")
    while ((${#s} % 4)); do s+==; done
    base64 -d <<<"$s"
}

# http_code ARGS...: the status of reg_curl ARGS
http_code() {
    reg_curl "$@" -o /dev/null -w '%{http_code}'
}

@test "registry fixture: htpasswd refuses anonymous requests with a Basic challenge" {
    reg_use htpasswd
    run reg_curl --anon /v2/ -o /dev/null -D -
    assert_success
    assert_line --regexp '^HTTP/[0-9.]+ 401'
    assert_line --regexp '^[Ww]ww-[Aa]uthenticate: Basic realm="nroot-test"'
}

@test "registry fixture: htpasswd with the right password lists the tags, a wrong one gets 401" {
    reg_use htpasswd
    run reg_curl /v2/nroot-test/busybox/tags/list -f
    assert_success
    assert_equal "$(jq -c .tags <<<"$output")" '["latest"]'
    run http_code --user "$REG_USER:wrong" /v2/nroot-test/busybox/tags/list
    assert_output 401
    run http_code --user "$REG_READER:$REG_READER_PASS" /v2/nroot-test/busybox/tags/list
    assert_output 200
    run http_code /v2/nroot-test/busybox/manifests/no-such-tag -H "Accept: $REG_ACCEPT"
    assert_output 404
}

@test "registry fixture: TLS needs the test CA (skopeo with and without the cert dir)" {
    reg_use htpasswd
    run reg_skopeo inspect --raw --creds "$REG_USER:$REG_PASS" "docker://$REG_HOST/nroot-test/busybox:latest"
    assert_failure
    assert_output --partial 'x509'
    run reg_skopeo inspect --raw --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERT_DIR" \
        "docker://$REG_HOST/nroot-test/busybox:latest"
    assert_success
    assert_equal "$(jq -r .config.mediaType <<<"$output")" application/vnd.oci.image.config.v1+json
}

@test "registry fixture: token auth — challenge, token from the realm, manifest with the token" {
    reg_use token
    local repo=nroot-test/busybox hdr realm service scope body tok
    # 1. anonymous: 401 and the Bearer challenge
    hdr=$(curl -sS --cacert "$REG_CA" -o /dev/null -D - -H "Accept: $REG_ACCEPT" \
        "$REG_URL/v2/$repo/manifests/latest" | tr -d '\r')
    grep -qE '^HTTP/[0-9.]+ 401' <<<"$hdr" || fail "no 401: $hdr"
    hdr=$(grep -i '^www-authenticate: Bearer ' <<<"$hdr") || fail "no Bearer challenge"
    realm=$(sed -E 's/.*realm="([^"]*)".*/\1/' <<<"$hdr")
    service=$(sed -E 's/.*service="([^"]*)".*/\1/' <<<"$hdr")
    scope=$(sed -E 's/.*scope="([^"]*)".*/\1/' <<<"$hdr")
    assert_equal "$realm" "$REG_REALM"
    assert_equal "$service" "$REG_SERVICE"
    assert_equal "$scope" "repository:$repo:pull"
    # 2. the token, with Basic credentials
    body=$(curl -sSf --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" -G "$realm" \
        --data-urlencode "service=$service" --data-urlencode "scope=$scope")
    tok=$(jq -er .token <<<"$body")
    assert_equal "$(jq -r .access_token <<<"$body")" "$tok"
    # an RS256 JWT whose x5c names the signer, with the claims the registry checks
    local h c
    h=$(b64url_decode "$(cut -d. -f1 <<<"$tok")")
    c=$(b64url_decode "$(cut -d. -f2 <<<"$tok")")
    assert_equal "$(jq -r .alg <<<"$h")" RS256
    assert_equal "$(jq -r '.x5c | length' <<<"$h")" 1
    assert_equal "$(jq -r .iss <<<"$c")" "$REG_ISSUER"
    assert_equal "$(jq -r .aud <<<"$c")" "$REG_SERVICE"
    assert_equal "$(jq -cS .access <<<"$c")" "[{\"actions\":[\"pull\"],\"name\":\"$repo\",\"type\":\"repository\"}]"
    # 3. the manifest with the token
    run curl -sSf --cacert "$REG_CA" -H "Authorization: Bearer $tok" -H "Accept: $REG_ACCEPT" \
        -D "$BATS_TEST_TMPDIR/h" "$REG_URL/v2/$repo/manifests/latest"
    assert_success
    assert_equal "$(jq -r .schemaVersion <<<"$output")" 2
    grep -qi '^docker-content-digest: sha256:' "$BATS_TEST_TMPDIR/h" || fail "no Docker-Content-Digest"
}

@test "registry fixture: token server — anonymous pulls public/ only, a wrong password gets 401" {
    reg_use token
    run http_code --anon /v2/public/busybox/manifests/latest -H "Accept: $REG_ACCEPT"
    assert_output 200
    # anonymous on a private repository: a token without access, then 401
    run reg_curl --anon /v2/nroot-test/busybox/manifests/latest -H "Accept: $REG_ACCEPT" -o /dev/null -D -
    assert_line --regexp '^HTTP/[0-9.]+ 401'
    assert_line --regexp 'error="insufficient_scope"'
    # the reader may pull, not push
    run reg_token --user "$REG_READER:$REG_READER_PASS" "repository:nroot-test/busybox:pull,push"
    assert_success
    run http_code --user "$REG_READER:$REG_READER_PASS" /v2/nroot-test/busybox/manifests/latest -H "Accept: $REG_ACCEPT"
    assert_output 200
    run http_code --user "$REG_READER:$REG_READER_PASS" /v2/nroot-test/busybox/blobs/uploads/ -X POST
    assert_output 401
    # a wrong password: the token server refuses
    run curl -sS --cacert "$REG_CA" -u "$REG_USER:wrong" -o /dev/null -w '%{http_code}' -G "$REG_REALM" \
        --data-urlencode "service=$REG_SERVICE" --data-urlencode "scope=repository:nroot-test/busybox:pull"
    assert_output 401
}

@test "registry fixture: the multi-platform images are an OCI index and a docker list of amd64 and arm64/v8" {
    local m
    for m in htpasswd token; do
        reg_use "$m"
        run reg_manifest nroot-test/multi latest
        assert_success
        assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.oci.image.index.v1+json
        assert_equal "$(jq -c '[.manifests[].platform | [.os, .architecture, .variant // ""] | join("/")]' <<<"$output")" \
            '["linux/amd64/","linux/arm64/v8"]'
        run reg_manifest nroot-test/multi-docker latest
        assert_success
        assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.docker.distribution.manifest.list.v2+json
        assert_equal "$(jq -r '.manifests | length' <<<"$output")" 2
        assert_equal "$(jq -r '[.manifests[].mediaType] | unique | .[]' <<<"$output")" \
            application/vnd.docker.distribution.manifest.v2+json
    done
}

@test "registry fixture: layer media types — gzip, zstd, uncompressed; docker schema 2; a shared base layer" {
    reg_use htpasswd
    assert_equal "$(reg_manifest nroot-test/busybox latest | jq -c '[.layers[].mediaType]')" \
        '["application/vnd.oci.image.layer.v1.tar+gzip"]'
    assert_equal "$(reg_manifest nroot-test/zstd latest | jq -c '[.layers[].mediaType]')" \
        '["application/vnd.oci.image.layer.v1.tar+zstd"]'
    assert_equal "$(reg_manifest nroot-test/uncompressed latest | jq -c '[.layers[].mediaType]')" \
        '["application/vnd.oci.image.layer.v1.tar"]'
    assert_equal "$(reg_manifest nroot-test/busybox-docker latest | jq -r .mediaType)" \
        application/vnd.docker.distribution.manifest.v2+json
    run reg_manifest nroot-test/layers latest
    assert_equal "$(jq -r '.layers | length' <<<"$output")" 3
    assert_equal "$(jq -r '.layers[0].digest' <<<"$output")" "$REG_BASE_LAYER"
    # the uncompressed layer is rootfs.tar itself
    assert_equal "$(reg_manifest nroot-test/uncompressed latest | jq -r '.layers[0].digest')" \
        "sha256:$(sha256sum <"$IMAGES/rootfs.tar" | cut -d' ' -f1)"
}

@test "registry fixture: the request counter sees each blob GET of a skopeo copy" {
    reg_use htpasswd
    local dst=$BATS_TEST_TMPDIR/pulled
    mapfile -t src < <(reg_skopeo_args src)
    reg_mark
    run reg_requests GET '/blobs/sha256:'
    assert_output 0
    run reg_skopeo copy -q "${src[@]}" "docker://$REG_HOST/nroot-test/layers:latest" "oci:$dst:layers"
    assert_success
    # three layers and the config, once each
    run reg_requests GET '^/v2/nroot-test/layers/blobs/sha256:[0-9a-f]{64}$' '^200$'
    assert_output 4
    run reg_requests GET "/blobs/$REG_BASE_LAYER\$"
    assert_output 1
    run reg_requests GET '/manifests/latest$'
    assert_output 1
    # the same image into the same layout: skopeo has every layer already
    # and fetches the config alone
    local config
    config=$(reg_manifest nroot-test/layers latest | jq -r .config.digest)
    reg_mark
    run reg_skopeo copy -q "${src[@]}" "docker://$REG_HOST/nroot-test/layers:latest" "oci:$dst:layers"
    assert_success
    run reg_requests GET '/blobs/sha256:[0-9a-f]{64}$'
    assert_output 1
    run reg_requests GET "/blobs/$config\$"
    assert_output 1
}

@test "registry fixture: blob GETs are redirected to another host that gets no Authorization header" {
    reg_use token
    local dst=$BATS_TEST_TMPDIR/pulled
    mapfile -t src < <(reg_skopeo_args src)
    reg_mark
    run reg_skopeo copy -q "${src[@]}" "docker://$REG_HOST/nroot-test/busybox:latest" "oci:$dst:x"
    assert_success
    run reg_requests GET '/blobs/sha256:' '^307$'
    assert_output 2
    run reg_redirect_log
    assert_equal "${#lines[@]}" 2
    assert_equal "$(reg_redirect_log | jq -r '"\(.method) \(.status) \(.headers.Host)"' | sort -u)" \
        "GET 200 ${REG_BLOB_URL#https://}"
    run reg_redirect_headers
    assert_line User-Agent
    refute_line --regexp '^[Aa]uthorization$'
    # curl following the redirect with the registry's token: the blob server
    # sees it (the test would catch a client that forwards it)
    reg_mark
    run reg_curl "/v2/nroot-test/busybox/blobs/$REG_BASE_LAYER" -L --location-trusted -o /dev/null
    assert_success
    run reg_redirect_headers
    assert_line Authorization
    # the blob server serves ranges (resume)
    run reg_curl "/v2/nroot-test/busybox/blobs/$REG_BASE_LAYER" -L -r 100- -o /dev/null -w '%{http_code} %{size_download}'
    local size
    size=$(stat -c %s "$(reg_blob_file "$REG_BASE_LAYER")")
    assert_output "206 $((size - 100))"
    # the token server was asked for tokens
    run reg_token_requests
    [ "$output" -ge 1 ] || fail "no token request since the mark: $output"
}

@test "registry fixture: the corrupt image's blob no longer matches its digest" {
    local m size
    for m in htpasswd token; do
        reg_use "$m"
        run reg_manifest nroot-test/corrupt latest
        assert_success
        assert_equal "$(jq -r '.layers[-1].digest' <<<"$output")" "$REG_CORRUPT_BLOB"
        assert_equal "$(jq -r '.layers[0].digest' <<<"$output")" "$REG_BASE_LAYER"
        size=$(jq -r '.layers[-1].size' <<<"$output")
        reg_curl "/v2/nroot-test/corrupt/blobs/$REG_CORRUPT_BLOB" -fL -o "$BATS_TEST_TMPDIR/blob"
        # same size, still a valid gzip'd tar, another digest
        assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/blob")" "$size"
        run tar -tzf "$BATS_TEST_TMPDIR/blob"
        assert_success
        assert_line ./corrupt/payload
        refute [ "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)" = "$REG_CORRUPT_BLOB" ]
        mapfile -t src < <(reg_skopeo_args src)
        run reg_skopeo copy -q "${src[@]}" "docker://$REG_HOST/nroot-test/corrupt:latest" "oci:$BATS_TEST_TMPDIR/c:x"
        assert_failure
        assert_output --regexp 'digest|Digest'
    done
}

@test "registry fixture: certs.d, auth.json and docker config.json files work for skopeo" {
    reg_use htpasswd
    reg_certs_d
    local d=$XDG_CONFIG_HOME/containers/certs.d/$REG_HOST
    [ -f "$d/ca.crt" ] || fail "no $d/ca.crt"
    reg_auth_json
    local a=$XDG_RUNTIME_DIR/containers/auth.json
    assert_equal "$(stat -c %a "$a")" 600
    assert_equal "$(jq -r --arg h "$REG_HOST" '.auths[$h].auth' "$a" | base64 -d)" "$REG_USER:$REG_PASS"
    run reg_skopeo inspect --raw --authfile "$a" --cert-dir "$d" "docker://$REG_HOST/nroot-test/busybox:latest"
    assert_success
    export HOME=$BATS_TEST_TMPDIR/home
    reg_docker_config "$HOME/.docker/config.json" "$REG_USER" wrong
    run reg_skopeo inspect --raw --authfile "$HOME/.docker/config.json" --cert-dir "$d" \
        "docker://$REG_HOST/nroot-test/busybox:latest"
    assert_failure
    # a second registry's entry joins the first
    reg_use token
    reg_auth_json "$a" "$REG_READER" "$REG_READER_PASS"
    assert_equal "$(jq -r '.auths | length' "$a")" 2
}

@test "registry fixture: plain HTTP registry — http works, skopeo needs --tls-verify=false" {
    reg_use plain
    run http_code /v2/
    assert_output 200
    run reg_skopeo inspect --raw "docker://$REG_HOST/nroot-test/busybox:latest"
    assert_failure
    run reg_skopeo inspect --raw --tls-verify=false "docker://$REG_HOST/nroot-test/busybox:latest"
    assert_success
}

@test "registry fixture: mTLS registry refuses a client without its certificate" {
    reg_start htpasswd --mtls --name mtls
    run curl -sS --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" -o /dev/null "$REG_URL/v2/"
    assert_failure
    run http_code /v2/
    assert_output 200
    run reg_push "$OCI/busybox:latest" nroot-test/busybox:latest
    assert_success
    reg_stop mtls
}

@test "registry fixture: reg_stop leaves no process; a registry dies with the process that started it" {
    reg_start token --redirect --name stopme
    local dir=$REG_DIR
    run pgrep -f "$dir"
    assert_equal "${#lines[@]}" 3
    run reg_stop stopme
    assert_success
    run pgrep -f "$dir"
    assert_failure
    assert_output ''

    # started in a subshell that ends: setpriv's parent-death signal
    (reg_start plain --name orphan >/dev/null)
    dir=$REG_ROOT/orphan
    [ -s "$dir/pids" ] || fail "nothing was started"
    wait_for 50 eval "! pgrep -f '$dir' >/dev/null" || fail "left running: $(pgrep -af "$dir")"
}
