#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# --net=slirp (the default): tap0, addresses, routes, DNS, host access,
# published ports; --net=none and --net=host beside it.

load helpers

HOST_TEST=${NROOT_TEST_IMAGES:-}/nr-test   # the static helper, run on the host

need_tun() {
    [ -c /dev/net/tun ] && [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        skip "/dev/net/tun is not read-writable by $(id -un)"
}

# a port number for this test, unlikely to be taken: below the ephemeral
# range, where no client connection (or its TIME_WAIT) holds one
port() {
    local lo span
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || lo=0
    span=$(( ${lo:-0} > 12000 ? lo - 10000 : 30000 ))
    echo $(( 10000 + ($$ * 13 + BATS_TEST_NUMBER * 101 + ${1:-0}) % span ))
}

# busybox httpd on the host serving DIR at ADDR:PORT, in the background
host_httpd() {
    busybox httpd -f -p "$1" -h "$2" &
    BG_PIDS+=($!)
}

# a page "from-the-host" served on the host's 127.0.0.1:$HOST_PORT
serve_on_host_loopback() {
    HOST_PORT=$(port)
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo from-the-host >"$BATS_TEST_TMPDIR/www/index.html"
    host_httpd "127.0.0.1:$HOST_PORT" "$BATS_TEST_TMPDIR/www"
    wait_for 50 busybox wget -q -O /dev/null "http://127.0.0.1:$HOST_PORT/" || fail "the host httpd did not start"
}

# httpd -f -p 8080 in a container published with -p SPEC, answering on
# 127.0.0.1:HOSTPORT; the first page it served lands in $BATS_TEST_TMPDIR/got
publish_httpd() {   # SPEC HOSTPORT
    start_nroot "$BATS_TEST_TMPDIR/out" run -p "$1" "$IMG" httpd -f -p 8080 -h /data
    wait_for 100 busybox wget -q -O "$BATS_TEST_TMPDIR/got" "http://127.0.0.1:$2/unchanged.txt" ||
        fail "no answer on 127.0.0.1:$2: $(cat "$BATS_TEST_TMPDIR/out.err")"
}

@test "net: the default network is slirp: tap0 10.0.2.100/24, MTU 65520, default route via 10.0.2.2" {
    need_tun
    nrun "$IMG" sh -c 'ip -4 -o addr show tap0; cat /sys/class/net/tap0/mtu; ip route show default'
    assert_line --index 0 --partial "inet 10.0.2.100/24"
    assert_line --index 1 65520
    assert_line --index 2 --partial "default via 10.0.2.2 dev tap0"
}

@test "net: IPv6: fd00::100/64 and a default route via fd00::2, static (no second address or route from slirp's RA)" {
    need_tun
    [ -d /proc/sys/net/ipv6 ] || skip "the kernel has no IPv6"
    # time for a router solicitation and slirp's advertisement, were they on
    nrun "$IMG" sh -c 'sleep 2; ip -6 -o addr show tap0 scope global; ip -6 route show default'
    assert_line --index 0 --partial "inet6 fd00::100/64"
    assert_line --index 1 --partial "default via fd00::2 dev tap0"
    [ "${#lines[@]}" = 2 ] || fail "expected one global address and one default route"
}

@test "net: every route of tap0 acknowledges each segment at once (quickack)" {
    need_tun
    need_tool nsenter
    need_tool ip
    start_nroot "$BATS_TEST_TMPDIR/out" run "$IMG" nr-test sleep 10
    # the payload (PID 1 is not dumpable: its namespaces cannot be opened)
    local init= payload=
    wait_for 100 eval 'init=$(pgrep -P "$NROOT_PID" -x nroot-init) && payload=$(pgrep -P "$init" -x nr-test) && [ -n "$payload" ]'
    # the host's ip, in the container's user and network namespaces
    run nsenter --preserve-credentials -U -n -t "$payload" sh -c 'ip route show dev tap0; ip -6 route show dev tap0'
    echo "$output"
    assert_line --regexp '^default via 10\.0\.2\.2 .*quickack 1'
    assert_line --regexp '^10\.0\.2\.0/24 .*quickack 1'
    if [ -d /proc/sys/net/ipv6 ]; then
        assert_line --regexp '^fd00::/64 .*quickack 1'
        assert_line --regexp '^default via fd00::2 .*quickack 1'
    fi
}

@test "net: /etc/resolv.conf names slirp's DNS forwarder 10.0.2.3 only" {
    need_tun
    nrun "$IMG" grep '^nameserver' /etc/resolv.conf
    assert_output "nameserver 10.0.2.3"
}

@test "net: --host-loopback: a service on the host's loopback is reachable at 10.0.2.2" {
    need_tun
    serve_on_host_loopback
    nrun --host-loopback "$IMG" wget -q -O - "http://10.0.2.2:$HOST_PORT/"
    assert_output from-the-host
}

@test "net: by default (and with --no-host-loopback) 10.0.2.2 does not reach the host's loopback" {
    need_tun
    serve_on_host_loopback
    # (nc, not wget -T: busybox wget -T crashes whether it connects or not)
    local get="printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 10.0.2.2 $HOST_PORT"
    nrun "$IMG" sh -c "$get || echo refused"
    refute_output --partial from-the-host
    assert_output --partial refused
    nrun --no-host-loopback "$IMG" sh -c "$get || echo refused"
    refute_output --partial from-the-host
    assert_output --partial refused
}

@test "net: ping works without raw sockets (ping_group_range covers the container's groups)" {
    need_tun
    nrun "$IMG" sh -c 'cat /proc/sys/net/ipv4/ping_group_range; nr-test ping 127.0.0.1'
    assert_line --index 0 --regexp '^0[[:space:]]+[0-9]+$'
    assert_line --index 1 "ping: reply from 127.0.0.1"
}

@test "net: -p publishes a container's TCP port on the host, IPv4 and IPv6" {
    need_tun
    local p
    p=$(port)
    publish_httpd "$p:8080" "$p"
    [ "$(cat "$BATS_TEST_TMPDIR/got")" = original ]
    if [ -d /proc/sys/net/ipv6 ] && ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
        busybox wget -q -O - "http://[::1]:$p/unchanged.txt" >"$BATS_TEST_TMPDIR/got6"
        [ "$(cat "$BATS_TEST_TMPDIR/got6")" = original ] || fail "no answer on [::1]:$p"
    fi
}

@test "net: -p HOSTIP:HOSTPORT:PORT binds only that address" {
    need_tun
    local p
    p=$(port)
    publish_httpd "127.0.0.1:$p:8080" "$p"
    run ss -Hltn "sport = :$p"
    assert_output --partial "127.0.0.1:$p"
    refute_output --partial "*:$p"
}

@test "net: -p PORT/udp forwards UDP" {
    need_tun
    local p
    p=$(port)
    start_nroot "$BATS_TEST_TMPDIR/out" run -p "$p:9999/udp" "$IMG" nr-test udp-echo 9999
    wait_for 100 file_has "$BATS_TEST_TMPDIR/out" ready || fail "udp-echo did not start: $(cat "$BATS_TEST_TMPDIR/out.err")"
    run "$HOST_TEST" udp-send 127.0.0.1 "$p" hello
    assert_output "echo:hello"
}

@test "net: a host port in use fails with 125 naming it" {
    need_tun
    local p
    p=$(port)
    mkdir -p "$BATS_TEST_TMPDIR/www"
    host_httpd "$p" "$BATS_TEST_TMPDIR/www"
    wait_for 50 sh -c "ss -Hltn 'sport = :$p' | grep -q ." || fail "the host httpd did not start"
    run_nroot 125 run -p "$p:80" "$IMG" true
    assert_nroot_error "port '$p:80'.*in use"
}

@test "net: two containers publishing the same port: the second fails with 125" {
    need_tun
    local p
    p=$(port)
    publish_httpd "$p:8080" "$p"
    run_nroot 125 run -p "$p:8080" "$IMG" true
    assert_nroot_error "port '$p:8080'"
}

@test "net: malformed -p specs fail with 125 before anything runs" {
    local spec
    for spec in 80 abc:80 0:80 70000:80 80:0 80:80/sctp 1.2.3:80:80 '[::1:80:80' 'x:80:80' ''; do
        run_nroot 125 run -p "$spec" "$IMG" echo ran
        assert_nroot_error "port"
        refute_output ran
    done
}

@test "net: -p needs the slirp network" {
    run_nroot 125 run --net=none -p 8080:80 "$IMG" true
    assert_nroot_error "publish"
    run_nroot 125 run --net=host -p 8080:80 "$IMG" true
    assert_nroot_error "publish"
}

@test "net: --net=none has no route out" {
    nrun --net=none "$IMG" sh -c 'ip route; ip -6 route; if wget -q -T 2 -O /dev/null http://10.0.2.2/; then echo reached; fi; true'
    refute_output --partial default
    refute_output --partial reached
}

@test "net: the container's exit status comes back and its ports are released" {
    need_tun
    local p
    p=$(port)
    run_nroot 7 run -p "$p:80" "$IMG" sh -c 'exit 7'
    run ss -Hltn "sport = :$p"
    assert_output ""
    run_nroot 0 run -p "$p:80" "$IMG" true
}

@test "net: an idle container's nroot sleeps (no CPU, no wake-ups while nothing moves)" {
    need_tun
    start_nroot "$BATS_TEST_TMPDIR/out" run "$IMG" nr-test sleep 7
    # the first second or two carry the container kernel's own traffic (MLD)
    sleep 2.5
    local t0 t1 w0 w1
    t0=$(awk '{print $14 + $15}' "/proc/$NROOT_PID/stat")
    w0=$(awk '$1 == "voluntary_ctxt_switches:" {print $2}' "/proc/$NROOT_PID/status")
    sleep 3
    t1=$(awk '{print $14 + $15}' "/proc/$NROOT_PID/stat")
    w1=$(awk '$1 == "voluntary_ctxt_switches:" {print $2}' "/proc/$NROOT_PID/status")
    # clock ticks (1/100 s): at most 1 in 3 s; and no timer waking the
    # loop (libslirp's 1-second cap would show as 3)
    [ $((t1 - t0)) -le 1 ] || fail "nroot used $((t1 - t0)) ticks in 3 s of idling"
    [ $((w1 - w0)) -le 1 ] || fail "nroot woke up $((w1 - w0)) times in 3 s of idling"
}

@test "net: a name served by a resolver on the host's loopback resolves through 10.0.2.3" {
    need_tun
    need_tool dnsmasq
    skip_if_mode single
    [ -n "$(subid_range /etc/subuid)" ] || skip "needs a subordinate id range (for dnsmasq's setgroups)"
    # a "host" of its own: new user, mount and network namespaces, with
    # dnsmasq on its 127.0.0.1:53 and a resolv.conf naming only that
    cat >"$BATS_TEST_TMPDIR/host.sh" <<'SCRIPT'
set -e
ip link set lo up
dnsmasq --port=53 --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --user=root --group=root --pid-file="$1/dnsmasq.pid" --address=/nroot-test.example/192.0.2.7
echo "nameserver 127.0.0.1" >"$1/resolv.conf"
mount --bind "$1/resolv.conf" /etc/resolv.conf
trap 'kill "$(cat "$1/dnsmasq.pid")"' EXIT
"$2" run --userns=single "$3" nslookup nroot-test.example
SCRIPT
    run timeout 30 env PATH="$NROOT_TEST_SYS_PATH" unshare --map-auto --map-root-user --mount --net \
        sh "$BATS_TEST_TMPDIR/host.sh" "$BATS_TEST_TMPDIR" "$NROOT" "$IMG"
    echo "$output"
    assert_output --partial "Server:"
    assert_output --partial "10.0.2.3"
    assert_output --partial "Address: 192.0.2.7"
}
