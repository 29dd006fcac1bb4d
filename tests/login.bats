#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nroot login and nroot logout against the registry fixture
# (tests/registry.bash): the credentials checked with the registry (Basic
# auth and the token flow), the containers auth.json written as podman
# writes it, and nroot-pull finding what login stored.

load helpers
load registry

PULL=${NROOT_PULL:-$(dirname "$NROOT")/nroot-pull}

setup_file() {
    [ -f "$OCI/ok" ] || skip "no OCI test images: $(cat "$OCI/unavailable" 2>/dev/null || echo "tests/run did not build them")"
    reg_start htpasswd
    reg_push "$OCI/busybox:latest" nroot-test/busybox:latest
    reg_start token
    reg_push "$OCI/busybox:latest" nroot-test/busybox:latest
    reg_start plain
}

teardown_file() {
    reg_stop
}

setup() {
    setup_default_login
}

setup_default_login() {
    # as helpers.bash's setup: XDG_CONFIG_HOME, XDG_RUNTIME_DIR (and HOME) per test
    [ -x "$PULL" ] || { echo "$PULL is missing: make nroot-pull" >&2; return 1; }
    if [ "$(id -u)" = 0 ]; then
        echo "refusing to run nroot's tests as root: use tests/run" >&2
        return 1
    fi
    export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$XDG_CONFIG_HOME" "$HOME" && mkdir -m 0700 "$XDG_RUNTIME_DIR"
    unset REGISTRY_AUTH_FILE DOCKER_CONFIG
    reg_use token && reg_certs_d
    reg_use htpasswd && reg_certs_d
    AUTH=$XDG_RUNTIME_DIR/containers/auth.json
}

teardown() {
    rm -rf "${BATS_TEST_TMPDIR:?}"/*
}

# login_stdin [USER [PASS [ARGS...]]]: nroot login --password-stdin to
# REG_HOST (stdout in $output, stderr in $stderr)
login_stdin() {
    local user=${1:-$REG_USER} pass=${2:-$REG_PASS}
    shift 2 || shift $#
    run --separate-stderr "$NROOT" login -u "$user" --password-stdin "$@" "$REG_HOST" <<<"$pass"
}

# pull_busybox: nroot-pull of nroot-test/busybox from REG_HOST with
# whatever credentials the auth files hold
pull_busybox() {
    run --separate-stderr "$PULL" --registry "$REG_HOST" --repo nroot-test/busybox \
        --reference latest --cache "$BATS_TEST_TMPDIR/cache"
}

stored_auth() {
    jq -r --arg h "$1" '.auths[$h].auth' "${2:-$AUTH}" | base64 -d
}

@test "login: the right password writes auth.json 0600, and a pull then needs nothing else" {
    pull_busybox
    assert_nroot_error "registry $REG_HOST requires authentication"
    login_stdin
    assert_success
    assert_output 'Login Succeeded!'
    [ -z "$stderr" ] || fail "stderr: $stderr"
    assert_equal "$(stat -c %a "$AUTH")" 600
    assert_equal "$(stat -c %a "$(dirname "$AUTH")")" 700
    assert_equal "$(stored_auth "$REG_HOST")" "$REG_USER:$REG_PASS"
    # one entry, as podman writes it
    assert_equal "$(jq -c '.auths[] | keys' "$AUTH")" '["auth"]'
    pull_busybox
    assert_success
    # no temporary file left beside it
    assert_equal "$(ls -A "$(dirname "$AUTH")")" auth.json
}

@test "login: a wrong password is 125 with one line naming the registry; the file is unchanged" {
    # no file: none is made
    login_stdin "$REG_USER" wrong-password
    assert_nroot_error "registry $REG_HOST refused the credentials of '$REG_USER'"
    assert_equal "${#stderr_lines[@]}" 1
    [ ! -e "$AUTH" ] || fail "a refused login wrote $AUTH"
    # a file: not touched
    login_stdin
    assert_success
    local before
    before=$(sha256sum <"$AUTH")
    login_stdin "$REG_USER" wrong-password
    assert_nroot_error "$REG_HOST"
    assert_equal "${#stderr_lines[@]}" 1
    assert_equal "$(sha256sum <"$AUTH")" "$before"
    # an unknown user too
    login_stdin nosuchuser "$REG_PASS"
    assert_nroot_error "refused the credentials of 'nosuchuser'"
}

@test "login: --password-stdin takes one line, -p warns, and the password needs a user" {
    # a trailing newline is not part of the password ("<<<" adds one)
    login_stdin
    assert_success
    assert_equal "$(stored_auth "$REG_HOST")" "$REG_USER:$REG_PASS"
    rm -f "$AUTH"
    run --separate-stderr "$NROOT" login --password-stdin "$REG_HOST" <<<"$REG_PASS"
    assert_nroot_error "--password-stdin needs --username"
    run --separate-stderr "$NROOT" login -u "$REG_USER" -p "$REG_PASS" --password-stdin "$REG_HOST" </dev/null
    assert_nroot_error "exclude each other"
    # not a terminal and no password: an error, not a hang
    run --separate-stderr "$NROOT" login -u "$REG_USER" "$REG_HOST" </dev/null
    assert_nroot_error "no password for $REG_HOST"
    [ ! -e "$AUTH" ]
    run --separate-stderr "$NROOT" login -u "$REG_USER" -p "$REG_PASS" "$REG_HOST" </dev/null
    assert_success
    assert_output 'Login Succeeded!'
    assert_equal "$stderr" "nroot: warning: a password on the command line can be read by other users: use --password-stdin"
    assert_equal "$(stored_auth "$REG_HOST")" "$REG_USER:$REG_PASS"
    run_nroot 125 login "$REG_HOST" extra
    assert_nroot_error "too many arguments"
    run_nroot 125 login
    assert_nroot_error "missing REGISTRY"
}

@test "login: --authfile and \$REGISTRY_AUTH_FILE choose the file; without XDG_RUNTIME_DIR it is XDG_CONFIG_HOME's" {
    local f=$BATS_TEST_TMPDIR/other/dir/auth.json
    login_stdin "$REG_USER" "$REG_PASS" --authfile "$f"
    assert_success
    [ ! -e "$AUTH" ]
    assert_equal "$(stored_auth "$REG_HOST" "$f")" "$REG_USER:$REG_PASS"
    assert_equal "$(stat -c %a "$f")" 600
    assert_equal "$(stat -c %a "$(dirname "$f")")" 700
    run_nroot 0 login --get-login --authfile "$f" "$REG_HOST"
    assert_output "$REG_USER"
    rm -f "$f"
    REGISTRY_AUTH_FILE=$f login_stdin
    assert_success
    [ -f "$f" ]
    [ ! -e "$AUTH" ]
    # XDG_RUNTIME_DIR unset, or not a directory: the config home's file
    (unset XDG_RUNTIME_DIR && login_stdin && [ "$status" = 0 ])
    [ -f "$XDG_CONFIG_HOME/containers/auth.json" ]
    rm -f "$XDG_CONFIG_HOME/containers/auth.json"
    XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/nonexistent login_stdin
    assert_success
    [ -f "$XDG_CONFIG_HOME/containers/auth.json" ]
    pull_busybox
    assert_success
}

@test "logout: removes only that registry's entry; other entries and keys stay" {
    mkdir -p "$(dirname "$AUTH")"
    printf '%s\n' '{"auths": {"other.example:5000": {"auth": "dTpw"}}, "credHelpers": {}, "x-nroot-test": [1, "two"]}' >"$AUTH"
    login_stdin
    assert_success
    assert_equal "$(jq -r '.auths | keys | join(" ")' "$AUTH")" "$REG_HOST other.example:5000"
    assert_equal "$(jq -c '."x-nroot-test"' "$AUTH")" '[1,"two"]'
    run_nroot 0 logout "$REG_HOST"
    assert_output "Removed login credentials for $REG_HOST"
    assert_equal "$(jq -r '.auths | keys | join(" ")' "$AUTH")" other.example:5000
    assert_equal "$(jq -c '."x-nroot-test"' "$AUTH")" '[1,"two"]'
    assert_equal "$(jq -c .credHelpers "$AUTH")" '{}'
    assert_equal "$(stat -c %a "$AUTH")" 600
    pull_busybox
    assert_nroot_error "requires authentication"
}

@test "logout: a registry not logged into is 125 'not logged into'; the file is unchanged" {
    run_nroot 125 logout "$REG_HOST"
    assert_nroot_error "^nroot: error: not logged into $REG_HOST\$"
    [ ! -e "$AUTH" ]
    reg_use token
    login_stdin
    assert_success
    local before
    before=$(sha256sum <"$AUTH")
    reg_use htpasswd
    run_nroot 125 logout "$REG_HOST"
    assert_nroot_error "not logged into $REG_HOST"
    assert_equal "$(sha256sum <"$AUTH")" "$before"
    run_nroot 125 logout
    assert_nroot_error "missing REGISTRY"
    run_nroot 125 logout --all "$REG_HOST"
    assert_nroot_error "--all takes no REGISTRY"
}

@test "logout --all: every registry's credentials go, the file's other keys stay" {
    login_stdin
    assert_success
    reg_use token
    login_stdin
    assert_success
    jq '. + {"credHelpers": {"example.org": "none"}}' "$AUTH" >"$AUTH.new" && mv "$AUTH.new" "$AUTH"
    run_nroot 0 logout --all
    assert_output "Removed login credentials for all registries"
    assert_equal "$(jq -c .auths "$AUTH")" '{}'
    assert_equal "$(jq -c .credHelpers "$AUTH")" '{"example.org":"none"}'
    pull_busybox
    assert_failure 125
    # no file at all: nothing to do
    rm -f "$AUTH"
    run_nroot 0 logout -a
    [ ! -e "$AUTH" ]
}

@test "login --get-login: the stored user; 125 when there is none" {
    run_nroot 125 login --get-login "$REG_HOST"
    assert_nroot_error "not logged into $REG_HOST"
    login_stdin "$REG_READER" "$REG_READER_PASS"
    assert_success
    run_nroot 0 login --get-login "$REG_HOST"
    assert_output "$REG_READER"
    # it contacts no registry and takes no credentials
    run_nroot 125 login --get-login -u x "$REG_HOST"
    assert_nroot_error "takes no credentials"
}

@test "login: Docker Hub's names are one registry, stored as docker.io" {
    # no network: what was stored by docker under its legacy key
    mkdir -p "$(dirname "$AUTH")"
    printf '{"auths": {"https://index.docker.io/v1/": {"auth": "%s"}, "quay.io": {"auth": "%s"}}}\n' \
        "$(printf 'hubuser:pw' | base64 -w0)" "$(printf 'quser:pw' | base64 -w0)" >"$AUTH"
    local r
    for r in docker.io index.docker.io https://index.docker.io/v1/ registry-1.docker.io; do
        run_nroot 0 login --get-login "$r"
        assert_output hubuser
    done
    run_nroot 0 logout index.docker.io
    assert_output "Removed login credentials for docker.io"
    assert_equal "$(jq -r '.auths | keys | join(" ")' "$AUTH")" quay.io
    run_nroot 125 logout https://index.docker.io/v1/
    assert_nroot_error "not logged into docker.io"
    run_nroot 125 logout quay.io/some/namespace
    assert_nroot_error "a registry is HOST\[:PORT\]"
}

@test "login: token auth (the Bearer flow), right and wrong password" {
    reg_use token
    pull_busybox
    assert_failure 125
    login_stdin "$REG_USER" wrong-password
    assert_nroot_error "registry $REG_HOST refused the credentials of '$REG_USER'"
    assert_equal "${#stderr_lines[@]}" 1
    [ ! -e "$AUTH" ]
    reg_mark
    login_stdin
    assert_success
    assert_output 'Login Succeeded!'
    # the check asked the token server for the service, with the user
    [ "$(reg_token_requests "select(.status == 200 and .user == \"$REG_USER\")")" -ge 1 ] ||
        fail "no token was issued to $REG_USER"
    assert_equal "$(stored_auth "$REG_HOST")" "$REG_USER:$REG_PASS"
    pull_busybox
    assert_success
}

@test "login: --tls-verify=false logs in without the CA; without it the CA is needed" {
    rm -rf "$XDG_CONFIG_HOME/containers/certs.d"
    login_stdin
    assert_nroot_error "TLS"
    [ ! -e "$AUTH" ]
    login_stdin "$REG_USER" "$REG_PASS" --tls-verify=false
    assert_success
    assert_equal "$(stored_auth "$REG_HOST")" "$REG_USER:$REG_PASS"
}

@test "login: --tls-verify=false on a registry that answers plain HTTP logs in over HTTP" {
    reg_use plain
    login_stdin
    assert_nroot_error "TLS"
    [ ! -e "$AUTH" ]
    login_stdin "$REG_USER" "$REG_PASS" --tls-verify=false
    assert_success
    assert_equal "$(stored_auth "$REG_HOST")" "$REG_USER:$REG_PASS"
}

@test "login: the password reaches nroot-pull on its stdin, never in an argv" {
    local fake=$BATS_TEST_TMPDIR/fake-pull
    printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s.argv"\ncat >"%s.stdin"\n' "$fake" "$fake" >"$fake"
    chmod +x "$fake"
    NROOT_PULL=$fake login_stdin "$REG_USER" 'pa ss:w$rd'
    assert_success
    assert_equal "$(cat "$fake.argv")" "$(printf '%s\n' --login --registry "$REG_HOST")"
    assert_equal "$(cat "$fake.stdin")" "$(printf '%s\n' "$REG_USER" 'pa ss:w$rd')"
    NROOT_PULL=$fake run --separate-stderr "$NROOT" login -u "$REG_USER" -p secret-word \
        --tls-verify=false --authfile "$BATS_TEST_TMPDIR/a.json" "$REG_HOST" </dev/null
    assert_success
    run grep -c secret-word "$fake.argv"
    assert_output 0
    assert_equal "$(tail -n 1 "$fake.stdin")" secret-word
    grep -qx -- --tls-verify=false "$fake.argv"
    grep -qx -- "$BATS_TEST_TMPDIR/a.json" "$fake.argv"
}
