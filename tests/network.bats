#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# User networks (run --net=NAME): containers on one network reach each
# other by address, name and alias; other networks do not; --internal has
# no way out; -p; one holder per user that leaves nothing behind.

load helpers

need_tun() {
    [ -c /dev/net/tun ] && [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        skip "/dev/net/tun is not read-writable by $(id -un)"
}

# helpers.bash's setup, then this file's
eval "helpers_setup() $(declare -f setup | tail -n +2)"
setup() {
    helpers_setup || return
    RT=$XDG_RUNTIME_DIR/nroot
    need_tun
}

teardown() {
    teardown_containers
}

# make_network NAME SUBNET [--internal]: `nroot network create` (part N2's
# command), else its record written as N2 writes it
make_network() {
    "$NROOT" network create "$1" --subnet "$2" ${3:+"$3"} >/dev/null 2>&1 && return 0
    mkdir -p "$STORE/networks/$1"
    printf 'version=1\nname=%s\nsubnet=%s\ninternal=%s\ncreated=%s\n' "$1" "$2" \
        "$([ "${3:-}" = --internal ] && echo 1 || echo 0)" "$(date +%s)" >"$STORE/networks/$1/config"
}

port() {
    local lo span
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || lo=0
    span=$(( ${lo:-0} > 12000 ? lo - 10000 : 30000 ))
    echo $(( 10000 + ($$ * 13 + BATS_TEST_NUMBER * 101 + ${1:-0}) % span ))
}

# a container NAME on the networks given (--net=... options) serving its
# /etc at :8080 with busybox httpd, in the background; waits for its address
serve() {   # NAME OPTIONS...
    local name=$1
    shift
    start_nroot "$BATS_TEST_TMPDIR/$name.out" run --name "$name" "$@" "$IMG" \
        sh -c 'mkdir -p /tmp/www; echo served-by-$(hostname) >/tmp/www/who; exec httpd -f -p 8080 -h /tmp/www'
    wait_for 100 file_has "$RT/net/holder.log" "^.* $name attached" ||
        fail "$name was not attached: $(cat "$BATS_TEST_TMPDIR/$name.out.err" "$RT/net/holder.log" 2>&1)"
}

# the address the holder gave container NAME (on its first network)
addr_of() {
    sed -n "s/^.* $1 attached to [^ ]* at \([0-9.]*\) .*/\1/p" "$RT/net/holder.log" | tail -1
}

# no holder, no dnsmasq, no socket, no hosts file: pids from the holder's log
assert_nothing_left() {
    local pids p
    pids=$(sed -n 's/.*\(nroot-net-holder\|dnsmasq\)\[\([0-9]*\)\].*/\2/p' "$RT/net/holder.log" | sort -u)
    wait_for 100 eval '! ls "$RT/net/sock" >/dev/null 2>&1' || fail "RT/net/sock is left"
    for p in $pids; do
        wait_for 100 eval "! kill -0 $p 2>/dev/null" || fail "process $p of the holder is left: $(ps -o pid,comm -p "$p")"
    done
    run ls "$RT/net"
    refute_output --partial hosts-
    refute_output --partial sock
}

@test "network: two containers on a network: by name, by alias and by address; resolv.conf and hosts" {
    make_network web 10.89.1.0/24
    serve a --net=web --network-alias www
    nrun --net=web "$IMG" sh -c 'timeout 5 wget -q -O- http://a:8080/who; timeout 5 wget -q -O- http://www:8080/who;
        timeout 5 wget -q -O- http://10.89.1.10:8080/who; cat /etc/resolv.conf; grep 10.89.1 /etc/hosts;
        ip -4 -o addr show eth0; ip route | grep ^default'
    assert_line --index 0 --regexp '^served-by-'
    assert_line --index 1 "${lines[0]}"
    assert_line --index 2 "${lines[0]}"
    assert_line "nameserver 10.89.1.1"
    assert_line --regexp '^10\.89\.1\.11[[:space:]]'
    assert_line --partial "inet 10.89.1.11/24"
    assert_line --partial "default via 10.89.1.2 dev eth0"
}

@test "network: a container on another network reaches neither" {
    make_network web 10.89.1.0/24
    make_network other 10.89.2.0/24
    serve a --net=web
    run_nroot any run --net=other "$IMG" sh -c 'timeout 2 wget -q -O- http://10.89.1.10:8080/who || echo unreachable;
        nslookup a 2>&1 | grep -c 10.89.1.10'
    assert_line --index 0 unreachable
    refute_line served-by-
}

@test "network: --net=A --net=B: eth0 and eth1, each network's containers reached, the default route through the first" {
    make_network web 10.89.1.0/24
    make_network db 10.89.2.0/24
    serve a --net=web
    serve b --net=db
    nrun --net=web --net=db "$IMG" sh -c 'ip -4 -o addr show eth0; ip -4 -o addr show eth1; ip route | grep ^default;
        timeout 5 wget -q -O- http://a:8080/who; timeout 5 wget -q -O- http://10.89.2.10:8080/who'
    assert_line --index 0 --partial "inet 10.89.1.11/24"
    assert_line --index 1 --partial "inet 10.89.2.11/24"
    assert_line --index 2 --partial "default via 10.89.1.2 dev eth0"
    assert_line --index 3 --regexp '^served-by-'
    assert_line --index 4 --regexp '^served-by-'
}

# a page served on the host's first global IPv4 address (not loopback)
serve_on_host() {
    HOST_IP=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
    [ -n "$HOST_IP" ] || skip "the host has no global IPv4 address"
    HOST_PORT=$(port 1)
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo from-the-host >"$BATS_TEST_TMPDIR/www/index.html"
    busybox httpd -f -p "$HOST_IP:$HOST_PORT" -h "$BATS_TEST_TMPDIR/www" &
    BG_PIDS+=($!)
    busybox httpd -f -p "127.0.0.1:$HOST_PORT" -h "$BATS_TEST_TMPDIR/www" &
    BG_PIDS+=($!)
    wait_for 50 busybox wget -q -O /dev/null "http://$HOST_IP:$HOST_PORT/" || fail "the host httpd did not start"
}

@test "network: the way out is libslirp (S.2): the host's address answers, its loopback does not" {
    make_network web 10.89.1.0/24
    serve_on_host
    run_nroot 0 run --net=web "$IMG" sh -c "timeout 5 wget -q -O- http://$HOST_IP:$HOST_PORT/;
        timeout 2 wget -q -O- http://10.89.1.2:$HOST_PORT/ || echo no-loopback"
    assert_line --index 0 from-the-host
    assert_line --index 1 no-loopback
}

@test "network: --internal: no default route, neither S.2 nor the host is reached; names still resolve" {
    make_network sealed 10.89.3.0/24 --internal
    serve_on_host
    serve a --net=sealed
    run_nroot 0 run --net=sealed "$IMG" sh -c "ip route | grep -c ^default;
        timeout 2 wget -q -O- http://$HOST_IP:$HOST_PORT/ || echo no-way-out;
        timeout 2 wget -q -O- http://10.89.3.2:$HOST_PORT/ || echo no-gateway;
        timeout 5 wget -q -O- http://a:8080/who"
    assert_line --index 0 0
    assert_line --index 1 no-way-out
    assert_line --index 2 no-gateway
    assert_line --index 3 --regexp '^served-by-'
}

@test "network: -p publishes a port of a container on a network" {
    make_network web 10.89.1.0/24
    local p
    p=$(port 2)
    serve a --net=web -p "127.0.0.1:$p:8080"
    wait_for 100 busybox wget -q -O "$BATS_TEST_TMPDIR/got" "http://127.0.0.1:$p/who" ||
        fail "no answer on 127.0.0.1:$p: $(cat "$BATS_TEST_TMPDIR/a.out.err")"
    grep -q '^served-by-' "$BATS_TEST_TMPDIR/got"
}

@test "network: exec into a container on a network sees its eth0" {
    make_network web 10.89.1.0/24
    serve a --net=web
    run_nroot 0 exec a ip -4 -o addr show eth0
    assert_output --partial "inet 10.89.1.10/24"
}

@test "network: after the last container ends nothing is left: no holder, no dnsmasq, no socket" {
    make_network web 10.89.1.0/24
    nrun --net=web "$IMG" true
    nrun --rm --name b --net=web "$IMG" true
    assert_nothing_left
    # and it comes back for the next one
    nrun --net=web "$IMG" ip -4 -o addr show eth0
    assert_output --partial "inet 10.89.1.10/24"
    assert_nothing_left
}

@test "network: SIGKILL of each nroot detaches its container; the last one's ends the holder" {
    make_network web 10.89.1.0/24
    serve a --net=web
    local pa=$NROOT_PID
    serve b --net=web
    local pb=$NROOT_PID
    kill -9 "$pa"
    wait_for 100 file_has "$RT/net/holder.log" "nrv0" || true
    # a's address is free again: the next container takes it
    wait_for 100 eval '[ "$(grep -c "^10\.89\.1\.10 " "$RT/net/hosts-web/hosts" 2>/dev/null)" = 0 ]' ||
        fail "a's entry stayed in the hosts file"
    nrun --net=web "$IMG" sh -c 'ip -4 -o addr show eth0; timeout 5 wget -q -O- http://b:8080/who'
    assert_line --index 0 --partial "inet 10.89.1.10/24"
    assert_line --index 1 --regexp '^served-by-'
    kill -9 "$pb"
    assert_nothing_left
}

@test "network: a named container keeps its networks and aliases: start attaches it again" {
    make_network web 10.89.1.0/24
    nrun --name keep --net=web --network-alias kept "$IMG" true
    grep -qx 'net=web' "$STORE/containers/keep/config" || fail "no net=web in the config: $(cat "$STORE/containers/keep/config")"
    grep -qx 'network_alias=kept' "$STORE/containers/keep/config"
    run_nroot 0 start -a keep
    start_nroot "$BATS_TEST_TMPDIR/s.out" start -a keep
    BG_PIDS+=("$NROOT_PID")
    wait_exit "$NROOT_PID" 100
    grep -q 'keep attached to web' "$RT/net/holder.log"
}

@test "network: bad --net and --network-alias values are one line, 125" {
    run_nroot 125 run --net=missing "$IMG" true
    assert_nroot_error "no network 'missing'"
    [[ $(nroot_hint) == *"nroot network create missing"* ]] || fail "no hint naming nroot network create: $stderr"
    run_nroot 125 run --net=web --net=host "$IMG" true
    assert_nroot_error "cannot be combined"
    run_nroot 125 run --net=host --net=web "$IMG" true
    assert_nroot_error "cannot be combined"
    run_nroot 125 run --net='bad/name' "$IMG" true
    assert_nroot_error "invalid value 'bad/name' for --net"
    run_nroot 125 run --network-alias x "$IMG" true
    assert_nroot_error "--network-alias needs --net=NAME"
    run_nroot 125 run --net=web --network-alias 'no good' "$IMG" true
    assert_nroot_error "invalid --network-alias"
    run_nroot 125 run --net=web --net=web "$IMG" true
    assert_nroot_error "given twice"
    [ ! -e "$RT/net/sock" ]
}

@test "network: the holder killed: one notice, the container runs on cut off" {
    make_network web 10.89.1.0/24
    serve a --net=web
    local holder
    holder=$(sed -n 's/.*nroot-net-holder\[\([0-9]*\)\]: started.*/\1/p' "$RT/net/holder.log" | tail -1)
    [ -n "$holder" ] || fail "no holder pid in its log"
    kill -9 "$holder"
    wait_for 100 file_has "$BATS_TEST_TMPDIR/a.out.err" "network holder ended" ||
        fail "no notice: $(cat "$BATS_TEST_TMPDIR/a.out.err")"
    [ "$(grep -c "network holder ended" "$BATS_TEST_TMPDIR/a.out.err")" = 1 ]
    kill -0 "$NROOT_PID"
    run_nroot 0 exec a true
    # the next container starts a holder of its own
    nrun --net=web "$IMG" true
}
