# SPDX-License-Identifier: Apache-2.0
# tests/registry.bash — a real registry for the pull tests (issue 14): Debian's
# docker-registry (distribution 2.8) on 127.0.0.1, a token server and a blob
# server written for the tests (tests/helper/reg-fixture.py, Debian's
# /usr/bin/python3 with python3-jwt), filled with skopeo.  Load it after
# helpers:   load helpers; load registry
#
# A bats file starts its registries once, in setup_file, and stops them in
# teardown_file:
#
#   setup_file() {
#       reg_start htpasswd          # TLS + htpasswd users; or token, plain
#       reg_push_test_images        # the images below, into that registry
#   }
#   teardown_file() { reg_stop; }
#
# Every server runs under `setpriv --pdeathsig TERM`, a child of the process
# that started it: if bats dies, they die with it.  Do not call reg_start
# under `run` or in $(...): the subshell's end would stop the registry.
#
# reg_start MODE [--name NAME] [--redirect [--throttle BYTES_PER_S]] [--mtls]
#   MODE htpasswd: HTTPS (a certificate of the test CA for 127.0.0.1,
#        127.0.0.2 and localhost), Basic auth of the users below.
#   MODE token: HTTPS, token auth; the realm is reg-fixture.py's token
#        server (HTTPS on 127.0.0.1, another port).  Anonymous pulls of
#        repositories named public/... get a token, others get an empty one.
#   MODE plain: HTTP, no auth.
#   --redirect: blob GETs get a 307 from the registry (its "redirect" storage
#        middleware) to reg-fixture.py's blob server on 127.0.0.2 — another
#        host — which serves the bytes and logs every request's headers.
#   --mtls: the registry requires a client certificate of the test CA.
#   --throttle BYTES_PER_S (with --redirect): the blob server sends every
#        blob at that rate (a slow download, to watch a pull midway).
#   NAME (default MODE) tells several registries of one file apart;
#   reg_use NAME makes one the current registry again.
# It exports, for the current registry:
#   REG_NAME REG_MODE REG_DIR   its name, mode and directory
#   REG_HOST                    127.0.0.1:PORT (what an image reference uses)
#   REG_URL                     https://REG_HOST (http:// for plain)
#   REG_CA                      the CA certificate (PEM) of every server
#   REG_CERT_DIR                a directory with ca.crt (and, with --mtls,
#                               client.cert and client.key): skopeo's
#                               --*-cert-dir, one certs.d/HOST:PORT directory
#   REG_REALM                   token mode: https://127.0.0.1:PORT/token
#   REG_BLOB_URL                --redirect: https://127.0.0.2:PORT
# and always (constants): REG_USER/REG_PASS (tester: pull and push
# everywhere), REG_READER/REG_READER_PASS (reader: pull only in token mode),
# REG_SERVICE, REG_ISSUER.
#
# reg_stop [NAME...]          stop the named registries (default: all of the
#                             file) and their servers, by pid; fails if one
#                             survives
# reg_pids [NAME]             the pids of a registry's processes
# reg_mark                    remember the current end of the logs: the
#                             counters below count what came after
# reg_requests METHOD ERE [STATUS_ERE]
#                             how many requests METHOD ("*": any) whose
#                             path+query matches ERE (and status STATUS_ERE)
#                             the registry served since reg_mark, e.g.
#                             reg_requests GET '/blobs/sha256:'
# reg_token_requests [JQ_FILTER]  token server requests since reg_mark
# reg_redirect_log            the blob server's requests since reg_mark, one
#                             JSON object a line {method, path, status, headers}
# reg_redirect_headers        the header names the blob server received
# reg_curl [--anon|--user U:P] PATH [CURL ARGS]
#                             curl of REG_URL/PATH with the CA and the mode's
#                             credentials (token mode: a token for PATH's
#                             repository, fetched first)
# reg_token [--anon|--user U:P] SCOPE...   a token from the token server
# reg_digest NAME REF         the manifest digest the registry serves
# reg_manifest NAME REF       the manifest (any media type)
# reg_blob_file DIGEST        the file of a blob in the registry's storage
# reg_corrupt_blob DIGEST [FILE]
#                             replace the blob's bytes with FILE's (same
#                             size) or flip one byte in its middle: its
#                             digest no longer matches
# reg_push SRC NAME:TAG [SKOPEO OPTIONS]
#                             skopeo copy of SRC (an OCI layout DIR[:REF],
#                             an .oci.tar, a .docker.tar, or a transport:ref)
#                             to docker://REG_HOST/NAME:TAG
# reg_push_raw LAYOUT REF NAME:TAG
#                             push verbatim (no recompression, indexes too)
# reg_skopeo ARGS...          skopeo --insecure-policy ARGS, with a blob
#                             info cache of its own
# reg_skopeo_args src|dest    skopeo's credential/TLS options for the current
#                             registry, one per line
# reg_push_test_images        build (once per file) and push the test images:
#   nroot-test/busybox:latest        one gzip layer (tests/run's busybox
#                                    layout: its id is the one of busybox.oci.tar)
#   nroot-test/busybox-docker:latest the same as a docker schema 2 image
#   nroot-test/layers:latest         three layers, the first busybox's
#   nroot-test/zstd:latest           busybox with a zstd layer
#   nroot-test/uncompressed:latest   busybox with an uncompressed layer
#   nroot-test/multi:latest          OCI index: linux/amd64 and linux/arm64/v8,
#                                    each busybox plus a layer with
#                                    /etc/nroot-platform holding its platform
#   nroot-test/multi-docker:latest   the same as a docker manifest list
#   nroot-test/corrupt:latest        busybox plus a layer (gzip, 4 KiB file
#                                    corrupt/payload) whose blob in the
#                                    storage was swapped for another valid
#                                    gzip of the same size: REG_CORRUPT_BLOB
#   public/busybox:latest            busybox again (token mode: anonymous pull)
#   and exports REG_BASE_LAYER (busybox's layer digest) and REG_CORRUPT_BLOB.
# reg_push_debian NAME:TAG [gzip|zstd|none]
#                             the Debian minbase of tests/run (debian.tar.zst)
#                             as a one-layer image (for bench/pull and the
#                             Debian tests; status 2 when it was not built)
#
# Client configuration for nroot (XDG_CONFIG_HOME, XDG_RUNTIME_DIR, HOME are
# per test, see helpers.bash's setup):
# reg_certs_d [DIR]           DIR/REG_HOST/ca.crt (+ client.cert/key with
#                             --mtls); default $XDG_CONFIG_HOME/containers/certs.d
# reg_auth_json [FILE [USER PASS]]   add REG_HOST's credentials to a containers
#                             auth.json (default ${XDG_RUNTIME_DIR}/containers/
#                             auth.json, user REG_USER), mode 0600
# reg_docker_config [FILE [USER PASS]]   the same in a docker config.json
#                             (default $HOME/.docker/config.json)

REG_PY=/usr/bin/python3
REG_FIXTURE=$BATS_TEST_DIRNAME/helper/reg-fixture.py
REG_SERVICE=nroot-test-registry
REG_ISSUER=nroot-test-issuer
REG_USER=tester
REG_PASS=tester-pass-1
REG_READER=reader
REG_READER_PASS=reader-pass-2

# reg_tool NAME: the command's path on the system PATH (the single mode's
# PATH is a snapshot of it)
reg_tool() {
    PATH=${NROOT_TEST_SYS_PATH:-/usr/sbin:/usr/bin:/sbin:/bin}:$PATH command -v "$1"
}

# reg_need: skip, naming the package, when a part of the fixture is missing
reg_need() {
    local t
    for t in docker-registry:docker-registry htpasswd:apache2-utils openssl:openssl \
             curl:curl skopeo:skopeo jq:jq setpriv:util-linux zstd:zstd; do
        reg_tool "${t%%:*}" >/dev/null || skip "${t%%:*} is not installed (apt-get install ${t#*:})"
    done
    [ -x "$REG_PY" ] || skip "$REG_PY is not installed (apt-get install python3)"
    "$REG_PY" -c 'import jwt, cryptography' 2>/dev/null ||
        skip "python3-jwt with python3-cryptography is not installed for $REG_PY"
}

reg_root() {
    : "${REG_ROOT:=${BATS_FILE_TMPDIR:?}/reg}"
    export REG_ROOT
}

# the test CA, the servers' certificate, a client pair, the token signing
# key and the users: once per file
reg_pki() {
    reg_root
    local d=$REG_ROOT/pki openssl htpasswd
    [ -f "$d/done" ] && return 0
    openssl=$(reg_tool openssl) htpasswd=$(reg_tool htpasswd)
    mkdir -p "$d" || return 1
    if ! (
        set -e
        cd "$d"
        ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
        "$openssl" req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 7 -subj /CN=nroot-test-ca \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
        "$openssl" req "${ec[@]}" -keyout server.key -out server.csr -subj /CN=127.0.0.1
        printf '%s\n' 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost' \
            'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' >server.ext
        "$openssl" x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 7 -extfile server.ext
        "$openssl" req "${ec[@]}" -keyout client.key -out client.csr -subj /CN=nroot-test-client
        printf '%s\n' 'extendedKeyUsage=clientAuth' 'basicConstraints=CA:FALSE' >client.ext
        "$openssl" x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out client.cert -days 7 -extfile client.ext
        # the token signer: RS256, its certificate is the registry's
        # rootcertbundle and rides in each token's x5c header
        "$openssl" req -x509 -newkey rsa:2048 -nodes -keyout token.key -out token.crt -days 7 \
            -subj /CN=nroot-test-token-signer
        "$htpasswd" -Bbc -C 5 htpasswd "$REG_USER" "$REG_PASS"
        "$htpasswd" -Bb -C 5 htpasswd "$REG_READER" "$REG_READER_PASS"
        mkdir certs certs-mtls
        cp ca.crt certs/ca.crt
        cp ca.crt client.cert client.key certs-mtls/
    ) >"$d/log" 2>&1; then
        cat "$d/log" >&2
        echo "reg_pki: making the test certificates failed" >&2
        return 1
    fi
    touch "$d/done"
}

# reg_spawn DIR OUT ERR CMD...: a server in the background that dies with
# its parent; its pid goes to DIR/pids
reg_spawn() {
    local dir=$1 out=$2 err=$3
    shift 3
    "$(reg_tool setpriv)" --pdeathsig TERM "$@" </dev/null >"$out" 2>"$err" 3>&- &
    echo $! >>"$dir/pids"
}

# reg_wait_port FILE PID: the port a fixture server wrote to FILE
reg_wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ -s "$1" ] && { cat "$1"; return 0; }
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

reg_start() {
    local mode=${1:-} name='' redirect='' mtls='' throttle=0
    shift || true
    while [ $# -gt 0 ]; do
        case $1 in
            --name) name=$2; shift 2 ;;
            --redirect) redirect=1; shift ;;
            --mtls) mtls=1; shift ;;
            --throttle) throttle=$2; shift 2 ;;
            *) echo "reg_start: unknown option $1" >&2; return 1 ;;
        esac
    done
    case $mode in
        htpasswd | token | plain) ;;
        *) echo "reg_start: MODE is htpasswd, token or plain" >&2; return 1 ;;
    esac
    reg_need
    reg_pki || return 1
    name=${name:-$mode}
    local dir=$REG_ROOT/$name pki=$REG_ROOT/pki
    [ -e "$dir" ] && { echo "reg_start: a registry named $name exists already" >&2; return 1; }
    mkdir -p "$dir/storage" || return 1
    : >"$dir/pids"
    : >"$dir/access.log"
    : >"$dir/token.log"
    : >"$dir/blobs.log"
    local scheme=https port pid realm='' blob_url='' tls=() i
    [ "$mode" = plain ] && scheme=http
    [ "$scheme" = https ] && tls=(--cert "$pki/server.crt" --key "$pki/server.key")

    if [ "$mode" = token ]; then
        reg_spawn "$dir" "$dir/token.out" "$dir/token.err" "$REG_PY" "$REG_FIXTURE" token \
            --portfile "$dir/token.port" --log "$dir/token.log" "${tls[@]}" \
            --sign-key "$pki/token.key" --sign-cert "$pki/token.crt" \
            --issuer "$REG_ISSUER" --service "$REG_SERVICE" --users "$pki/htpasswd"
        pid=$(tail -n 1 "$dir/pids")
        port=$(reg_wait_port "$dir/token.port" "$pid") ||
            { cat "$dir/token.err" >&2; echo "reg_start: the token server did not start" >&2; reg_stop "$name"; return 1; }
        realm=https://127.0.0.1:$port/token
    fi
    if [ -n "$redirect" ]; then
        reg_spawn "$dir" "$dir/blobs.out" "$dir/blobs.err" "$REG_PY" "$REG_FIXTURE" blobs \
            --addr 127.0.0.2 --portfile "$dir/blobs.port" --log "$dir/blobs.log" "${tls[@]}" \
            --root "$dir/storage" --throttle "$throttle"
        pid=$(tail -n 1 "$dir/pids")
        port=$(reg_wait_port "$dir/blobs.port" "$pid") ||
            { cat "$dir/blobs.err" >&2; echo "reg_start: the blob server did not start" >&2; reg_stop "$name"; return 1; }
        blob_url=$scheme://127.0.0.2:$port
    fi

    {
        cat <<EOF
version: 0.1
log:
  level: info
  formatter: json
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:0
  secret: nroot-test-secret-$name
EOF
        if [ "$scheme" = https ]; then
            printf '  tls:\n    certificate: %s\n    key: %s\n' "$pki/server.crt" "$pki/server.key"
            [ -n "$mtls" ] && printf '    clientcas:\n      - %s\n' "$pki/ca.crt"
        fi
        case $mode in
            htpasswd)
                printf 'auth:\n  htpasswd:\n    realm: nroot-test\n    path: %s\n' "$pki/htpasswd" ;;
            token)
                printf 'auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n' \
                    "$realm" "$REG_SERVICE" "$REG_ISSUER" "$pki/token.crt" ;;
        esac
        [ -n "$redirect" ] &&
            printf 'middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: %s\n' "$blob_url"
    } >"$dir/config.yml"

    # stdout: the access log (one line a request), stderr: logrus's JSON
    reg_spawn "$dir" "$dir/access.log" "$dir/registry.log" "$(reg_tool docker-registry)" serve "$dir/config.yml"
    pid=$(tail -n 1 "$dir/pids")
    local addr=''
    for ((i = 0; i < 200; i++)); do
        addr=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$dir/registry.log" | head -n 1)
        [ -n "$addr" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$addr" ]; then
        tail -n 20 "$dir/registry.log" >&2
        echo "reg_start: docker-registry did not start (config $dir/config.yml)" >&2
        reg_stop "$name"
        return 1
    fi

    REG_NAME=$name REG_MODE=$mode REG_DIR=$dir REG_HOST=${addr#listening on }
    REG_URL=$scheme://$REG_HOST REG_CA=$pki/ca.crt REG_CERT_DIR=$pki/certs
    [ -n "$mtls" ] && REG_CERT_DIR=$pki/certs-mtls
    REG_REALM=$realm REG_BLOB_URL=$blob_url REG_MTLS=$mtls
    local v
    for v in REG_NAME REG_MODE REG_DIR REG_HOST REG_URL REG_CA REG_CERT_DIR REG_REALM REG_BLOB_URL REG_MTLS; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done >"$dir/env"
    reg_use "$name"
    reg_mark
}

# reg_use NAME: make a started registry the current one
reg_use() {
    reg_root
    [ -f "$REG_ROOT/$1/env" ] || { echo "reg_use: no registry named $1" >&2; return 1; }
    # shellcheck disable=SC1090
    . "$REG_ROOT/$1/env"
}

# reg_alive PID DIR: PID is a live (not zombie) process of the registry in DIR
reg_alive() {
    local stat cmd
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
    [[ $cmd == *"$2"* ]]
}

reg_pids() {
    reg_root
    local d=$REG_ROOT/${1:-$REG_NAME} pid
    [ -f "$d/pids" ] || return 0
    while read -r pid; do
        reg_alive "$pid" "$d" && echo "$pid"
    done <"$d/pids"
    return 0
}

reg_stop() {
    reg_root
    local names=("$@") n d pid i rc=0
    if [ ${#names[@]} -eq 0 ]; then
        for d in "$REG_ROOT"/*/pids; do
            [ -f "$d" ] && names+=("$(basename "$(dirname "$d")")")
        done
    fi
    for n in "${names[@]}"; do
        d=$REG_ROOT/$n
        [ -f "$d/pids" ] || continue
        while read -r pid; do
            reg_alive "$pid" "$d" && kill -TERM "$pid" 2>/dev/null
        done <"$d/pids"
        while read -r pid; do
            for ((i = 0; i < 50; i++)); do
                reg_alive "$pid" "$d" || break
                sleep 0.1
            done
            if reg_alive "$pid" "$d"; then
                kill -KILL "$pid" 2>/dev/null
                sleep 0.2
            fi
            wait "$pid" 2>/dev/null || true
            if reg_alive "$pid" "$d"; then
                echo "reg_stop: process $pid of $n survived SIGKILL" >&2
                rc=1
            fi
        done <"$d/pids"
        mv "$d/pids" "$d/pids.stopped"
    done
    return $rc
}

# ------------------------------------------------------------------ logs --

reg_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# reg_settle FILE: wait until FILE stops growing (the registry writes its
# access log line after the response)
reg_settle() {
    local a b i
    b=$(stat -c %s "$1" 2>/dev/null || echo 0)
    for ((i = 0; i < 20; i++)); do
        sleep 0.1
        a=$b
        b=$(stat -c %s "$1" 2>/dev/null || echo 0)
        [ "$a" = "$b" ] && return 0
    done
    return 0
}

reg_mark() {
    local f
    for f in access token blobs; do
        reg_lines "$REG_DIR/$f.log" >"$REG_DIR/mark.$f"
    done
}

# reg_since NAME: the lines of REG_DIR/NAME.log after the mark
reg_since() {
    local f=$REG_DIR/$1.log m
    reg_settle "$f"
    m=$(cat "$REG_DIR/mark.$1" 2>/dev/null || echo 0)
    tail -n +$((m + 1)) "$f"
}

reg_requests() {
    local m=$1 re=$2 st=${3:-.} n=0 method path status
    # the access log's lines: HOST - USER [DATE] "METHOD PATH PROTO" STATUS ...
    while read -r method path status; do
        [ "$m" = "*" ] || [ "$m" = "$method" ] || continue
        [[ $path =~ $re ]] && [[ $status =~ $st ]] && n=$((n + 1))
    done < <(reg_since access | sed -nE 's/^[^"]*"([A-Z]+) ([^ "]*) [^"]*" ([0-9]+) .*/\1 \2 \3/p')
    echo "$n"
}

reg_token_requests() {
    reg_since token | jq -c "${1:-.}" | grep -cv '^null$' || true
}

reg_redirect_log() { reg_since blobs; }

reg_redirect_headers() { reg_since blobs | jq -r '.headers | keys[]' | sort -u; }

# ------------------------------------------------------------------ http --

# reg_token [--anon|--user U:P] SCOPE...
reg_token() {
    local user=$REG_USER:$REG_PASS args=() s
    case ${1:-} in
        --anon) user=; shift ;;
        --user) user=$2; shift 2 ;;
    esac
    [ -n "$REG_REALM" ] || { echo "reg_token: $REG_NAME has no token server" >&2; return 1; }
    for s in "$@"; do args+=(--data-urlencode "scope=$s"); done
    [ -n "$user" ] && args+=(-u "$user")
    local body
    body=$(curl -sSf --cacert "$REG_CA" -G "$REG_REALM" --data-urlencode "service=$REG_SERVICE" "${args[@]}") ||
        return 1
    jq -er .token <<<"$body"
}

# the scope a registry path needs
reg_scope_of() {
    local p=${1%%\?*}
    case $p in
        /v2/_catalog*) echo 'registry:catalog:*' ;;
        /v2/*/manifests/* | /v2/*/blobs/* | /v2/*/tags/*)
            p=${p#/v2/}
            p=$(sed -E 's#/(manifests|blobs|tags)/.*##' <<<"$p")
            echo "repository:$p:pull,push,delete" ;;
    esac
}

# reg_auth_header [--anon|--user U:P] PATH: the Authorization header the
# current registry wants for PATH, or nothing
reg_auth_header() {
    local user=$REG_USER:$REG_PASS scope tok
    case ${1:-} in
        --anon) user=; shift ;;
        --user) user=$2; shift 2 ;;
    esac
    case $REG_MODE in
        htpasswd) [ -n "$user" ] && echo "Authorization: Basic $(printf %s "$user" | base64 -w0)" ;;
        token)
            scope=$(reg_scope_of "$1")
            if [ -n "$user" ]; then
                tok=$(reg_token --user "$user" ${scope:+"$scope"}) || return 1
            else
                tok=$(reg_token --anon ${scope:+"$scope"}) || return 1
            fi
            echo "Authorization: Bearer $tok" ;;
    esac
    return 0
}

reg_curl() {
    local who=() h args=(-sS --cacert "$REG_CA")
    case ${1:-} in
        --anon) who=(--anon); shift ;;
        --user) who=(--user "$2"); shift 2 ;;
    esac
    local path=$1
    shift
    h=$(reg_auth_header "${who[@]}" "$path") || return 1
    [ -n "$h" ] && args+=(-H "$h")
    [ -n "$REG_MTLS" ] && args+=(--cert "$REG_CERT_DIR/client.cert" --key "$REG_CERT_DIR/client.key")
    curl "${args[@]}" "$@" "$REG_URL$path"
}

REG_ACCEPT="application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json"

reg_manifest() {
    reg_curl "/v2/$1/manifests/$2" -f -H "Accept: $REG_ACCEPT"
}

reg_digest() {
    reg_curl "/v2/$1/manifests/$2" -f -I -H "Accept: $REG_ACCEPT" |
        tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p'
}

reg_blob_file() {
    local hex=${1#sha256:}
    echo "$REG_DIR/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

reg_corrupt_blob() {
    local f
    f=$(reg_blob_file "$1")
    [ -f "$f" ] || { echo "reg_corrupt_blob: no blob $1 in $REG_NAME" >&2; return 1; }
    if [ -n "${2:-}" ]; then
        [ "$(stat -c %s "$2")" = "$(stat -c %s "$f")" ] ||
            { echo "reg_corrupt_blob: $2 is not as big as $1" >&2; return 1; }
        cat "$2" >"$f"
    else
        "$REG_PY" - "$f" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0, 2)
    mid = f.tell() // 2
    f.seek(mid)
    b = f.read(1)
    f.seek(mid)
    f.write(bytes([b[0] ^ 0xFF]))
EOF
    fi
    [ "sha256:$(sha256sum <"$f" | cut -d' ' -f1)" != "$1" ]
}

# ---------------------------------------------------------------- skopeo --

reg_skopeo_args() {
    local p=$1
    case $REG_MODE in
        plain) echo "--$p-tls-verify=false" ;;
        *)
            echo "--$p-cert-dir=$REG_CERT_DIR"
            echo "--$p-creds=$REG_USER:$REG_PASS" ;;
    esac
}

reg_push() {
    local src=$1 dst=$2 p ref='' opts
    shift 2
    if ! [[ $src =~ ^(oci|oci-archive|docker-archive|dir|docker): ]]; then
        p=$src
        if [ ! -e "$p" ] && [[ $p == *:* ]]; then ref=${p##*:} p=${p%:*}; fi
        if [ -d "$p" ]; then src=oci:$p${ref:+:$ref}
        elif [[ $p == *.docker.tar* ]]; then src=docker-archive:$p
        else src=oci-archive:$p${ref:+:$ref}
        fi
    fi
    mapfile -t opts < <(reg_skopeo_args dest)
    reg_skopeo copy -q "${opts[@]}" "$@" "$src" "docker://$REG_HOST/$dst"
}

# reg_skopeo ARGS...: skopeo with a blob info cache of its own for this
# call: with the user's cache it reuses a blob it saw pushed elsewhere
# instead of doing what it is told (a zstd copy would keep the gzip layer)
reg_skopeo() {
    local data rc
    reg_root
    data=$(mktemp -d "$REG_ROOT/skopeo.XXXXXX") || return 1
    XDG_DATA_HOME=$data "$(reg_tool skopeo)" --insecure-policy "$@"
    rc=$?
    rm -rf "$data"
    return $rc
}

reg_push_raw() {
    local layout=$1 ref=$2 name=${3%:*} tag=${3##*:} h args=()
    h=$(reg_auth_header "/v2/$name/manifests/$tag") || return 1
    [ -n "$h" ] && args+=(--header "$h")
    [ "$REG_MODE" != plain ] && args+=(--cacert "$REG_CA")
    "$REG_PY" "$REG_FIXTURE" push --layout "$layout" --ref "$ref" \
        --url "$REG_URL/v2/$name" --tag "$tag" "${args[@]}"
}

# --------------------------------------------------------------- images --

# reg_layer_tar DIR OUT ENTRY...: an uncompressed layer of DIR's ENTRY...
reg_layer_tar() {
    local dir=$1 out=$2
    shift 2
    tar -C "$dir" --numeric-owner --owner=0 --group=0 --mtime=@1700000000 \
        --no-recursion -cf "$out" "$@"
}

# the test images' layouts, once per file: $REG_ROOT/images/oci
reg_build_test_images() {
    reg_root
    local d=$REG_ROOT/images o
    o=$d/oci
    [ -f "$d/done" ] && return 0
    [ -f "${OCI:?}/ok" ] || { echo "reg_build_test_images: no OCI test images in $OCI" >&2; return 1; }
    rm -rf "$d"
    mkdir -p "$d/src/amd64/etc" "$d/src/arm64/etc" "$d/src/c1/corrupt" "$d/src/c2/corrupt" || return 1
    local mk=("$REG_PY" "$REG_FIXTURE")
    (
        set -e
        cp -a "$OCI/busybox" "$o"
        echo linux/amd64 >"$d/src/amd64/etc/nroot-platform"
        echo linux/arm64/v8 >"$d/src/arm64/etc/nroot-platform"
        head -c 4096 /dev/zero | tr '\0' a >"$d/src/c1/corrupt/payload"
        head -c 4096 /dev/zero | tr '\0' b >"$d/src/c2/corrupt/payload"
        for x in amd64 arm64; do
            reg_layer_tar "$d/src/$x" "$d/$x.tar" ./etc ./etc/nroot-platform
        done
        for x in c1 c2; do
            reg_layer_tar "$d/src/$x" "$d/$x.tar" ./corrupt ./corrupt/payload
        done
        "${mk[@]}" mkimage --layout "$o" --ref amd64 --base "$o:latest" --layer "$d/amd64.tar" \
            --platform linux/amd64 >/dev/null
        "${mk[@]}" mkimage --layout "$o" --ref arm64 --base "$o:latest" --layer "$d/arm64.tar" \
            --platform linux/arm64/v8 >/dev/null
        "${mk[@]}" mkindex --layout "$o" --ref multi --manifest amd64 --manifest arm64 >/dev/null
        # gzip of stored blocks: c1 and c2 give blobs of one size
        "${mk[@]}" mkimage --layout "$o" --ref corrupt --base "$o:latest" --layer "$d/c1.tar" \
            --compress gzip0 >/dev/null
        "${mk[@]}" mkimage --layout "$d/swap" --ref swap --layer "$d/c2.tar" --compress gzip0 >/dev/null
        # the uncompressed layer of busybox is tests/run's rootfs.tar itself
        "${mk[@]}" mkimage --layout "$d/plain" --ref uncompressed --base "$o:latest" --no-base-layers \
            --layer "$IMAGES/rootfs.tar" --compress none >/dev/null
    ) >"$d/log" 2>&1 || { cat "$d/log" >&2; return 1; }
    touch "$d/done"
}

# the digest of layer N (0 first, -1 last) of the layout's REF
reg_layout_layer() {
    local m
    m=$(jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' \
            "$1/index.json")
    jq -r ".layers[$3].digest" "$1/blobs/sha256/${m#sha256:}"
}

reg_push_test_images() {
    reg_build_test_images || return 1
    local o=$REG_ROOT/images/oci d=$REG_ROOT/images swap
    reg_push "$o:latest" nroot-test/busybox:latest || return 1
    reg_push "$o:latest" nroot-test/busybox-docker:latest --format v2s2 || return 1
    reg_push "$OCI/layers:latest" nroot-test/layers:latest || return 1
    reg_push "$o:latest" nroot-test/zstd:latest --dest-compress-format zstd || return 1
    reg_push_raw "$d/plain" uncompressed nroot-test/uncompressed:latest || return 1
    reg_push "$o:multi" nroot-test/multi:latest --all || return 1
    reg_push "$o:multi" nroot-test/multi-docker:latest --all --format v2s2 || return 1
    reg_push "$o:latest" public/busybox:latest || return 1
    reg_push_raw "$o" corrupt nroot-test/corrupt:latest || return 1
    REG_BASE_LAYER=$(reg_layout_layer "$o" latest 0)
    REG_CORRUPT_BLOB=$(reg_layout_layer "$o" corrupt -1)
    swap=$(reg_layout_layer "$d/swap" swap 0)
    reg_corrupt_blob "$REG_CORRUPT_BLOB" "$d/swap/blobs/sha256/${swap#sha256:}" || return 1
    export REG_BASE_LAYER REG_CORRUPT_BLOB
    reg_mark
}

# reg_push_debian NAME:TAG [gzip|zstd|none]: tests/run's Debian minbase
# (debian.tar.zst, made when debian.bats is among the files run) as a
# one-layer image, pushed verbatim; status 2 when there is none
reg_push_debian() {
    local f=$IMAGES/debian.tar.zst how=${2:-gzip} d
    [ -s "$f" ] || { echo "reg_push_debian: no $f (tests/run makes it for debian.bats)" >&2; return 2; }
    reg_root
    d=$REG_ROOT/images/debian-$how
    if [ ! -f "$d/done" ]; then
        mkdir -p "$d" && zstd -q -dc "$f" >"$d/layer.tar" &&
            "$REG_PY" "$REG_FIXTURE" mkimage --layout "$d/oci" --ref latest --layer "$d/layer.tar" \
                --compress "$how" --platform "linux/$(dpkg --print-architecture)" >/dev/null &&
            rm -f "$d/layer.tar" && touch "$d/done" || return 1
    fi
    reg_push_raw "$d/oci" latest "$1"
}

# ---------------------------------------------------------- client files --

reg_certs_d() {
    local d=${1:-$XDG_CONFIG_HOME/containers/certs.d}/$REG_HOST
    mkdir -p "$d" && cp "$REG_CERT_DIR"/* "$d/"
}

# reg_auths_add FILE USER PASS: FILE's auths map gets REG_HOST
reg_auths_add() {
    local f=$1 auth old='{}'
    auth=$(printf '%s:%s' "$2" "$3" | base64 -w0)
    mkdir -p "$(dirname "$f")"
    [ -s "$f" ] && old=$(cat "$f")
    jq --arg h "$REG_HOST" --arg a "$auth" '.auths[$h] = {auth: $a}' <<<"$old" >"$f.tmp" &&
        chmod 0600 "$f.tmp" && mv "$f.tmp" "$f"
}

reg_auth_json() {
    reg_auths_add "${1:-$XDG_RUNTIME_DIR/containers/auth.json}" "${2:-$REG_USER}" "${3:-$REG_PASS}"
}

reg_docker_config() {
    reg_auths_add "${1:-$HOME/.docker/config.json}" "${2:-$REG_USER}" "${3:-$REG_PASS}"
}
