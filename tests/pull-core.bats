#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nroot-pull, the registry client, on its own: against Debian's
# docker-registry (distribution) started here on 127.0.0.1, once in plain
# HTTP and once with TLS (a CA made by openssl) and htpasswd auth, filled
# with the suite's OCI images by skopeo.  nroot-pull does not depend on the
# id-mapping mode: the same checks hold in each.

load helpers

PULL=${NROOT_PULL:-$(dirname "$NROOT")/nroot-pull}

# a port nobody listens on (bash's /dev/tcp connects or not)
free_port() {
    local p i
    for i in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

# start_registry NAME CONFIG-EXTRA: the registry NAME on a free port, its
# access log in $BATS_FILE_TMPDIR/NAME.log; sets PORT_NAME and PID_NAME
start_registry() {
    local name=$1 extra=$2 d=$BATS_FILE_TMPDIR port pid i scheme=http try
    [ -n "$extra" ] && scheme=https
    for try in 1 2 3; do
        port=$(free_port) || return 1
        cat >"$d/$name.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $d/$name-store
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$extra
EOF
        docker-registry serve "$d/$name.yml" >"$d/$name.log" 2>&1 &
        pid=$!
        for i in $(seq 1 100); do
            curl -sk -o /dev/null "$scheme://127.0.0.1:$port/v2/" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            printf -v "PORT_$name" %s "$port"
            printf -v "PID_$name" %s "$pid"
            echo "$pid" >>"$d/pids"
            return 0
        fi
    done
    cat "$d/$name.log" >&2
    return 1
}

setup_file() {
    local d=$BATS_FILE_TMPDIR
    command -v docker-registry skopeo openssl htpasswd curl >/dev/null ||
        skip "docker-registry, skopeo, openssl, htpasswd and curl are needed"
    [ -d "$OCI/busybox" ] && [ -d "$OCI/layers" ] || skip "the suite's OCI images are missing"
    # a CA and the registry's certificate for 127.0.0.1, signed by it
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nroot-test-ca \
        -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
        -keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null || return 1
    printf 'subjectAltName=IP:127.0.0.1\n' >"$d/srv.ext"
    openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/srv.ext" -out "$d/srv.crt" 2>/dev/null || return 1
    htpasswd -Bbn tester secret >"$d/htpasswd" || return 1

    start_registry plain "" || return 1
    start_registry tls "  tls:
    certificate: $d/srv.crt
    key: $d/srv.key
auth:
  htpasswd:
    realm: nroot-test
    path: $d/htpasswd" || return 1

    local sk=(skopeo --insecure-policy copy -q --dest-tls-verify=false)
    "${sk[@]}" "oci:$OCI/layers:latest" "docker://127.0.0.1:$PORT_plain/test/layers:v1" || return 1
    "${sk[@]}" "oci:$OCI/busybox:latest" "docker://127.0.0.1:$PORT_plain/test/busybox:latest" ||
        return 1
    "${sk[@]}" --dest-creds tester:secret "oci:$OCI/layers:latest" \
        "docker://127.0.0.1:$PORT_tls/test/layers:v1" || return 1
    export PORT_plain PORT_tls
}

teardown_file() {
    local p
    [ -f "$BATS_FILE_TMPDIR/pids" ] || return 0
    while read -r p; do
        kill "$p" 2>/dev/null
    done <"$BATS_FILE_TMPDIR/pids"
    return 0
}

# pull [ARGS...]: nroot-pull from the plain registry into $CACHE, the
# status lines in $BATS_TEST_TMPDIR/status
pull_plain() {
    run "$PULL" --registry "127.0.0.1:$PORT_plain" --plain-http --cache "$CACHE" \
        --status-fd 3 "$@" 3>"$BATS_TEST_TMPDIR/status"
}

# the number of blob GETs of the plain registry so far
blob_gets() {
    grep -c '"GET /v2/[^ ]*/blobs/sha256:' "$BATS_FILE_TMPDIR/${1:-plain}.log" || true
}

# every file of the cache is named by its own digest
cache_verified() {
    local f n=0
    for f in "$CACHE"/blobs/sha256/*; do
        [ "$(basename "$f")" = "$(sha256sum <"$f" | cut -c1-64)" ] ||
            { echo "$f does not match its name"; return 1; }
        n=$((n + 1))
    done
    [ "$n" -gt 0 ]
}

setup() {
    setup_default_pull
}

setup_default_pull() {
    if [ "$(id -u)" = 0 ]; then
        echo "refusing to run nroot's tests as root: use tests/run" >&2
        return 1
    fi
    [ -x "$PULL" ] || { echo "$PULL is missing: make nroot-pull" >&2; return 1; }
    export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$XDG_CONFIG_HOME" "$HOME" && mkdir -m 0700 "$XDG_RUNTIME_DIR"
    unset REGISTRY_AUTH_FILE DOCKER_CONFIG
    CACHE=$BATS_TEST_TMPDIR/cache
}

teardown() {
    rm -rf "${BATS_TEST_TMPDIR:?}"/*
}

@test "pull-core: an anonymous pull of a tag fills the cache with verified blobs" {
    pull_plain --repo test/layers --reference v1
    assert_success
    local s=$BATS_TEST_TMPDIR/status
    run cat "$s"
    assert_line --regexp '^manifest sha256:[0-9a-f]{64} application/vnd\.oci\.image\.manifest\.v1\+json$'
    assert_line --regexp '^config sha256:[0-9a-f]{64}$'
    assert_line --regexp '^layer 1 sha256:[0-9a-f]{64} [0-9]+$'
    assert_line --regexp '^layer 3 sha256:[0-9a-f]{64} [0-9]+$'
    assert_equal "$(grep -c '^blob sha256:.* done$' "$s")" 4
    assert_equal "$(tail -n 1 "$s")" done
    # the manifest line comes before the first layer is whole
    [ "$(grep -n '^manifest ' "$s" | cut -d: -f1)" -lt "$(grep -n '^layer 1 ' "$s" | cut -d: -f1)" ]
    [ -f "$CACHE/oci-layout" ]
    cache_verified
    assert_equal "$(ls "$CACHE/blobs/sha256" | wc -l)" 5
    run ls "$CACHE/blobs/sha256"
    refute_output --partial .partial
}

@test "pull-core: a pull by digest verifies the manifest and names it" {
    pull_plain --repo test/busybox --reference latest
    assert_success
    local m
    m=$(awk '$1 == "manifest" { print $2 }' "$BATS_TEST_TMPDIR/status")
    CACHE=$BATS_TEST_TMPDIR/cache2
    pull_plain --repo test/busybox --reference "$m"
    assert_success
    run grep '^manifest ' "$BATS_TEST_TMPDIR/status"
    assert_output --partial "manifest $m "
    cache_verified
    [ -f "$CACHE/blobs/sha256/${m#sha256:}" ]
}

@test "pull-core: a second pull downloads no blob, concurrent pulls download each blob once" {
    local before
    before=$(blob_gets)
    "$PULL" --registry "127.0.0.1:$PORT_plain" --plain-http --cache "$CACHE" \
        --repo test/layers --reference v1 &
    local p1=$!
    "$PULL" --registry "127.0.0.1:$PORT_plain" --plain-http --cache "$CACHE" \
        --repo test/layers --reference v1 &
    local p2=$!
    wait "$p1" && wait "$p2"
    # config + 3 layers, each fetched by one of the two
    assert_equal "$(($(blob_gets) - before))" 4
    cache_verified
    before=$(blob_gets)
    pull_plain --repo test/layers --reference v1
    assert_success
    assert_equal "$(blob_gets)" "$before"
}

@test "pull-core: a truncated .partial is resumed with a Range request" {
    pull_plain --repo test/layers --reference v1
    assert_success
    local big size
    big=$(awk '$1 == "layer" && $2 == 1 { print $3 }' "$BATS_TEST_TMPDIR/status")
    big=${big#sha256:}
    size=$(stat -c %s "$CACHE/blobs/sha256/$big")
    mkdir -p "$BATS_TEST_TMPDIR/c2/blobs/sha256"
    head -c $((size / 2)) "$CACHE/blobs/sha256/$big" >"$BATS_TEST_TMPDIR/c2/blobs/sha256/$big.partial"
    CACHE=$BATS_TEST_TMPDIR/c2
    pull_plain --repo test/layers --reference v1
    assert_success
    grep -q "GET /v2/test/layers/blobs/sha256:$big HTTP/1.1\" 206 $((size - size / 2)) " \
        "$BATS_FILE_TMPDIR/plain.log"
    cache_verified
    [ ! -e "$CACHE/blobs/sha256/$big.partial" ]
}

@test "pull-core: a damaged .partial of full size is fetched again" {
    pull_plain --repo test/busybox --reference latest
    assert_success
    local l
    l=$(awk '$1 == "layer" && $2 == 1 { print $3 }' "$BATS_TEST_TMPDIR/status")
    l=${l#sha256:}
    mkdir -p "$BATS_TEST_TMPDIR/c2/blobs/sha256"
    head -c "$(stat -c %s "$CACHE/blobs/sha256/$l")" /dev/zero >"$BATS_TEST_TMPDIR/c2/blobs/sha256/$l.partial"
    CACHE=$BATS_TEST_TMPDIR/c2
    pull_plain --repo test/busybox --reference latest
    assert_success
    cache_verified
}

@test "pull-core: a tag the registry lacks is one line and 125" {
    pull_plain --repo test/layers --reference nosuchtag
    assert_failure 125
    assert_output "nroot: error: registry 127.0.0.1:$PORT_plain has no image test/layers:nosuchtag"
    run tail -n 1 "$BATS_TEST_TMPDIR/status"
    assert_output --partial "error registry 127.0.0.1:$PORT_plain has no image"
}

@test "pull-core: bad arguments are one line and 125" {
    run "$PULL" --registry 127.0.0.1:1 --repo Test/UPPER --reference v1 --cache "$CACHE"
    assert_failure 125
    assert_output --partial "invalid repository"
    run "$PULL" --registry 127.0.0.1:1 --repo test/x --reference sha256:abc --cache "$CACHE"
    assert_failure 125
    assert_output --partial "invalid reference"
}

@test "pull-core: TLS with a self-signed CA: refused, --tls-verify=false, certs.d" {
    local reg=127.0.0.1:$PORT_tls
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$reg" "$(printf tester:secret | base64)" \
        >"$BATS_TEST_TMPDIR/auth.json"
    export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
    run "$PULL" --registry "$reg" --repo test/layers --reference v1 --cache "$CACHE"
    assert_failure 125
    assert_line --partial "nroot: error: registry $reg: TLS:"
    run "$PULL" --registry "$reg" --repo test/layers --reference v1 --cache "$CACHE" \
        --tls-verify=false
    assert_success
    cache_verified
    # the CA in the user's certs.d (--config-dir), verification on
    mkdir -p "$BATS_TEST_TMPDIR/conf/certs.d/$reg"
    cp "$BATS_FILE_TMPDIR/ca.crt" "$BATS_TEST_TMPDIR/conf/certs.d/$reg/ca.crt"
    CACHE=$BATS_TEST_TMPDIR/c2
    run "$PULL" --registry "$reg" --repo test/layers --reference v1 --cache "$CACHE" \
        --config-dir "$BATS_TEST_TMPDIR/conf"
    assert_success
    cache_verified
    # and in $XDG_CONFIG_HOME/containers/certs.d, the default config dir
    mkdir -p "$XDG_CONFIG_HOME/containers"
    mv "$BATS_TEST_TMPDIR/conf/certs.d" "$XDG_CONFIG_HOME/containers/"
    CACHE=$BATS_TEST_TMPDIR/c3
    run "$PULL" --registry "$reg" --repo test/layers --reference v1 --cache "$CACHE"
    assert_success
}

@test "pull-core: credentials from the auth files; none or a wrong password is one line" {
    local reg=127.0.0.1:$PORT_tls v=--tls-verify=false
    run "$PULL" --registry "$reg" --repo test/layers --reference v1 --cache "$CACHE" $v
    assert_failure 125
    assert_output - <<EOF
nroot: error: registry $reg requires authentication for test/layers
nroot: hint: log in with: nroot login $reg
EOF
    mkdir -p "$XDG_RUNTIME_DIR/containers"
    printf '{"auths":{"https://%s/v1/":{"auth":"%s"}}}\n' "$reg" \
        "$(printf tester:wrong | base64)" >"$XDG_RUNTIME_DIR/containers/auth.json"
    run "$PULL" --registry "$reg" --repo test/layers --reference v1 --cache "$CACHE" $v \
        --status-fd 3 3>"$BATS_TEST_TMPDIR/status"
    assert_failure 125
    assert_line "nroot: error: registry $reg refused the credentials of 'tester' for test/layers"
    assert_line "nroot: hint: log in with: nroot login $reg"
    run tail -n 1 "$BATS_TEST_TMPDIR/status"
    assert_output --partial "error registry $reg refused the credentials"
    # docker's config.json, found when the containers files do not name it
    rm "$XDG_RUNTIME_DIR/containers/auth.json"
    mkdir -p "$HOME/.docker"
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$reg" "$(printf tester:secret | base64)" \
        >"$HOME/.docker/config.json"
    run "$PULL" --registry "$reg" --repo test/layers --reference v1 --cache "$CACHE" $v
    assert_success
    cache_verified
}

@test "pull-core: NROOT_PULL_PARALLEL sets the parallel downloads (1 to 32); --parallel wins" {
    NROOT_PULL_PARALLEL=1 pull_plain --repo test/layers --reference v1
    assert_success
    cache_verified
    rm -rf "$CACHE"
    NROOT_PULL_PARALLEL=0 pull_plain --repo test/layers --reference v1
    assert_failure 125
    assert_output "nroot: error: \$NROOT_PULL_PARALLEL takes 1 to 32, not '0'"
    NROOT_PULL_PARALLEL=many pull_plain --repo test/layers --reference v1
    assert_failure 125
    [ ! -e "$CACHE/blobs" ] || [ -z "$(ls "$CACHE/blobs/sha256")" ]
    NROOT_PULL_PARALLEL=many pull_plain --repo test/layers --reference v1 --parallel 2
    assert_success
    cache_verified
}
