#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# run --tcp-bypass: the command's TCP connections to the outside get
# sockets of the host's network namespace (host/bypass.c); loopback, the
# slirp subnet, UDP and exec'd commands stay on the plain path.

load helpers

PROBE=${NROOT_TEST_IMAGES:-}/bypass-probe # the static probe, run on the host as the server

need_tun() {
    [ -c /dev/net/tun ] && [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        skip "/dev/net/tun is not read-writable by $(id -un)"
}

need_bypass() {
    need_tun
    [ -x "$PROBE" ] || skip "tests/helper/bypass-probe was not built"
    run_nroot any run --tcp-bypass "$IMG" true
    [ "$status" = 0 ] || skip "--tcp-bypass is not available here: $stderr"
}

teardown() {
    teardown_containers
}

# a port number for this test, below the ephemeral range (as net.bats)
port() {
    local lo span
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || lo=0
    span=$(( ${lo:-0} > 12000 ? lo - 10000 : 30000 ))
    echo $(( 10000 + ($$ * 17 + BATS_TEST_NUMBER * 103 + ${1:-0}) % span ))
}

# the probe's TCP server on the host's 127.0.0.1:$HOST_PORT, logging each
# peer to $BATS_TEST_TMPDIR/peers
serve_on_host() {
    HOST_PORT=$(port)
    "$PROBE" serve "$HOST_PORT" >>"$BATS_TEST_TMPDIR/peers" 2>&1 &
    BG_PIDS+=($!)
    wait_for 50 "$PROBE" connect 127.0.0.1 "$HOST_PORT" >/dev/null || fail "the host's server did not start"
    : >"$BATS_TEST_TMPDIR/peers"
}

@test "bypass: with --host-loopback, 10.0.2.2 is the host's loopback through a host socket: the server sees the container's own port" {
    need_bypass
    serve_on_host
    nrun --tcp-bypass --host-loopback "$IMG" bypass-probe connect 10.0.2.2 "$HOST_PORT"
    echo "$output"
    # the container sees the host's side: 127.0.0.1 both ways (slirp would show 10.0.2.100 -> 10.0.2.2)
    [[ $output =~ ^local=127\.0\.0\.1:([0-9]+)\ peer=127\.0\.0\.1:$HOST_PORT\ got=pong\ nonblock=0 ]] ||
        fail "not a host socket: $output"
    local local_port=${BASH_REMATCH[1]}
    run cat "$BATS_TEST_TMPDIR/peers"
    assert_line "peer=127.0.0.1:$local_port"
    # busybox nc, a program of the image's own
    nrun --tcp-bypass --host-loopback "$IMG" sh -c "nc 10.0.2.2 $HOST_PORT </dev/null"
    assert_output pong
}

@test "bypass: without --host-loopback, neither 10.0.2.2 nor 127.0.0.1 reaches the host; the container's own loopback service does" {
    need_bypass
    serve_on_host
    nrun --tcp-bypass "$IMG" sh -c "
        bypass-probe connect 10.0.2.2 $HOST_PORT
        bypass-probe connect 127.0.0.1 $HOST_PORT
        bypass-probe serve $HOST_PORT & sleep 0.3
        bypass-probe connect 127.0.0.1 $HOST_PORT
        kill \$!"
    echo "$output"
    assert_line --index 0 --regexp '^error=(ENETUNREACH|ECONNREFUSED|EHOSTUNREACH)$'
    assert_line --index 1 error=ECONNREFUSED
    # the container's own server, on its own loopback: its peer is its own
    assert_line --regexp '^peer=127\.0\.0\.1:[0-9]+$'
    assert_line --regexp '^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:'"$HOST_PORT"' got=pong'
    run cat "$BATS_TEST_TMPDIR/peers"
    assert_output ""
}

@test "bypass: a nonblocking connect answers EINPROGRESS and completes; the socket keeps O_NONBLOCK and FD_CLOEXEC" {
    need_bypass
    serve_on_host
    nrun --tcp-bypass --host-loopback "$IMG" sh -c "
        bypass-probe connect 10.0.2.2 $HOST_PORT nb
        bypass-probe connect 10.0.2.2 $HOST_PORT nbce
        bypass-probe connect 10.0.2.2 $HOST_PORT ce"
    echo "$output"
    assert_line --index 0 --regexp "^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:$HOST_PORT got=pong nonblock=1 cloexec=0\$"
    assert_line --index 1 --regexp "^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:$HOST_PORT got=pong nonblock=1 cloexec=1\$"
    assert_line --index 2 --regexp "^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:$HOST_PORT got=pong nonblock=0 cloexec=1\$"
}

@test "bypass: a connect from a second thread is swapped too" {
    need_bypass
    serve_on_host
    nrun --tcp-bypass --host-loopback "$IMG" bypass-probe thread 10.0.2.2 "$HOST_PORT"
    assert_output thread=ok
    run cat "$BATS_TEST_TMPDIR/peers"
    assert_line --regexp '^peer=127\.0\.0\.1:[0-9]+$'
}

@test "bypass: a closed port is ECONNREFUSED, blocking and nonblocking" {
    need_bypass
    local closed
    closed=$(port 7)
    nrun --tcp-bypass --host-loopback "$IMG" sh -c "
        bypass-probe connect 10.0.2.2 $closed
        bypass-probe connect 10.0.2.2 $closed nb
        true"
    assert_line --index 0 error=ECONNREFUSED
    assert_line --index 1 error=ECONNREFUSED
}

@test "bypass: UDP stays on slirp" {
    need_bypass
    local p
    p=$(port 3)
    "$PROBE" userve "$p" >/dev/null 2>&1 &
    BG_PIDS+=($!)
    nrun --tcp-bypass --host-loopback "$IMG" bypass-probe udp 10.0.2.2 "$p"
    assert_output udp=udp-ping
}

@test "bypass: a swapped socket disconnected with AF_UNSPEC becomes a socket of the container's: the host's loopback is out of reach, an address outside is swapped again" {
    need_bypass
    serve_on_host
    nrun --tcp-bypass --host-loopback "$IMG" sh -c "
        bypass-probe reuse 10.0.2.2 $HOST_PORT 127.0.0.1 $HOST_PORT
        bypass-probe reuse 10.0.2.2 $HOST_PORT 10.0.2.100 $HOST_PORT
        bypass-probe reuse 10.0.2.2 $HOST_PORT 10.0.2.2 $HOST_PORT"
    echo "$output"
    # a fresh socket of the container's in its place (nroot's): 127.0.0.1
    # and 10.0.2.100 are the container's own, where nothing listens
    assert_line --index 0 "unspec=ok reconnect=ECONNREFUSED"
    assert_line --index 1 "unspec=ok reconnect=ECONNREFUSED"
    # an address outside is checked again and swapped again
    assert_line --index 2 "unspec=ok reconnect=ok"
    run grep -c '^peer=127.0.0.1:' "$BATS_TEST_TMPDIR/peers"
    assert_output 4 # three first connects and the one reconnect
    # the container's own server on its loopback takes the reconnect
    nrun --tcp-bypass --host-loopback "$IMG" sh -c "
        bypass-probe serve $HOST_PORT >/dev/null & sleep 0.3
        bypass-probe reuse 10.0.2.2 $HOST_PORT 127.0.0.1 $HOST_PORT
        kill \$!"
    assert_output "unspec=ok reconnect=ok"
    # a swapped socket takes packets from its checked peer only, and the
    # command cannot lift that (a connect made behind nroot's back gets no
    # answer): EPERM; ENOENT (no filter) where the kernel refuses users
    # socket filters (some do, with kernel.unprivileged_bpf_disabled)
    nrun --tcp-bypass --host-loopback "$IMG" bypass-probe detach 10.0.2.2 "$HOST_PORT"
    assert_output --regexp '^detach=(EPERM|ENOENT)$'
    # reconnected after AF_UNSPEC: a fresh host socket (the filter of the
    # first takes its first peer only), which works
    nrun --tcp-bypass --host-loopback "$IMG" sh -c "
        bypass-probe reuse 10.0.2.2 $HOST_PORT 10.0.2.2 $HOST_PORT
        bypass-probe reuse 10.0.2.2 $HOST_PORT 10.0.2.2 $HOST_PORT"
    assert_line --index 0 "unspec=ok reconnect=ok"
    nrun --tcp-bypass "$IMG" sh -c "
        bypass-probe serve $HOST_PORT & sleep 0.3
        bypass-probe reuse 127.0.0.1 $HOST_PORT 127.0.0.1 $HOST_PORT
        kill \$!"
    # a container socket (its own loopback) is not swapped: plain reconnect
    assert_line "unspec=ok reconnect=ok"
}

@test "bypass: a swapped socket disconnected with SO_LINGER set and data unsent does not hold nroot's loop" {
    need_bypass
    local p
    p=$(port 11)
    "$PROBE" sink "$p" &
    BG_PIDS+=($!)
    wait_for 50 eval "exec 9<>/dev/tcp/127.0.0.1/$p" || fail "the host's sink did not start"
    exec 9>&-
    nrun --tcp-bypass --host-loopback "$IMG" bypass-probe linger 10.0.2.2 "$p"
    [[ $output =~ ^unspec=ok\ ms=([0-9]+)$ ]] || fail "unexpected: $output"
    # the command set an 8 s linger: nroot, dropping that socket, resets it
    [ "${BASH_REMATCH[1]}" -lt 3000 ] || fail "the next connect waited ${BASH_REMATCH[1]} ms on nroot"
}

@test "bypass: TCP Fast Open (sendto MSG_FASTOPEN) is refused, and io_uring, also with seccomp=unconfined" {
    need_bypass
    nrun --tcp-bypass --host-loopback "$IMG" sh -c 'bypass-probe fastopen 10.0.2.2 9; bypass-probe iouring'
    assert_line fastopen=EOPNOTSUPP
    # the default profile's answer (it has no io_uring) comes first
    assert_line --regexp '^io_uring=(ENOSYS|EPERM)$'
    nrun --tcp-bypass --security-opt seccomp=unconfined "$IMG" sh -c 'bypass-probe fastopen 10.0.2.2 9; bypass-probe iouring'
    assert_line fastopen=EOPNOTSUPP
    assert_line io_uring=EPERM
}

@test "bypass: --tcp-bypass without the slirp network or with an OCI bundle is one line and 125" {
    local n
    for n in none host; do
        run_nroot 125 run --tcp-bypass --net=$n "$IMG" true
        assert_nroot_error "^nroot: error: --tcp-bypass: it needs the default slirp network, not --net=$n\$"
    done
    run_nroot 125 run --tcp-bypass --net=container:nosuch "$IMG" true
    assert_nroot_error "--tcp-bypass: it needs the default slirp network, not --net=container:NAME"
    # --no-tcp-bypass undoes it
    nrun --tcp-bypass --no-tcp-bypass --net=none "$IMG" true
    # an OCI bundle (nroot oci's path) has no slirp network
    mkdir "$BATS_TEST_TMPDIR/bundle"
    echo '{}' >"$BATS_TEST_TMPDIR/bundle/config.json"
    run_nroot 125 run --tcp-bypass --bundle "$BATS_TEST_TMPDIR/bundle"
    assert_nroot_error "^nroot: error: --tcp-bypass: an OCI bundle runs without it\$"
    run_nroot 125 run --tcp-bypass "$BATS_TEST_TMPDIR/bundle"
    assert_nroot_error "^nroot: error: --tcp-bypass: an OCI bundle runs without it\$"
}

@test "bypass: nroot.conf tcp-bypass = true sets the default, --no-tcp-bypass overrides; a bad value is 125" {
    need_bypass
    serve_on_host
    mkdir -p "$XDG_CONFIG_HOME/nroot"
    echo "tcp-bypass = true" >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    nrun --host-loopback "$IMG" bypass-probe connect 10.0.2.2 "$HOST_PORT"
    assert_output --regexp "^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:$HOST_PORT got=pong"
    nrun --host-loopback --no-tcp-bypass "$IMG" bypass-probe connect 10.0.2.2 "$HOST_PORT"
    assert_output --regexp "^local=10\.0\.2\.100:[0-9]+ peer=10\.0\.2\.2:$HOST_PORT got=pong"
    # the default does not make other networks fail
    nrun --net=none "$IMG" true
    echo "tcp-bypass = maybe" >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    run_nroot 125 run "$IMG" true
    assert_nroot_error "nroot.conf: tcp-bypass: 'maybe' is not true or false"
}

@test "bypass: a named container keeps --tcp-bypass for nroot start" {
    need_bypass
    serve_on_host
    nrun --name bpn --tcp-bypass --host-loopback "$IMG" bypass-probe connect 10.0.2.2 "$HOST_PORT"
    assert_output --regexp "^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:$HOST_PORT got=pong"
    run_nroot 0 start -a bpn
    assert_output --regexp "^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:$HOST_PORT got=pong"
    run_nroot 0 rm bpn
}

@test "bypass: nroot exec into a bypassing container takes the plain path (slirp)" {
    need_bypass
    serve_on_host
    start_bg bp1 --tcp-bypass --host-loopback
    run_nroot 0 exec bp1 bypass-probe connect 10.0.2.2 "$HOST_PORT"
    assert_output --regexp "^local=10\.0\.2\.100:[0-9]+ peer=10\.0\.2\.2:$HOST_PORT got=pong"
}

@test "bypass: 200 connects in a loop (busybox wget), and a program that connects 1000 times" {
    need_bypass
    serve_on_host
    nrun --tcp-bypass --host-loopback "$IMG" sh -c "
        i=0; ok=0
        while [ \$i -lt 200 ]; do
            wget -q -O /dev/null http://10.0.2.2:$HOST_PORT/ 2>/dev/null; ok=\$((ok + 1)); i=\$((i + 1))
        done
        echo \$ok; bypass-probe many 10.0.2.2 $HOST_PORT 1000"
    assert_line --index 1 "ok 1000"
    run grep -c '^peer=127.0.0.1:' "$BATS_TEST_TMPDIR/peers"
    [ "$output" -ge 1200 ] || fail "the server saw $output connections, expected 1200"
}

@test "bypass: nroot info says whether --tcp-bypass can be used, and its default" {
    run_nroot 0 info
    assert_line --regexp '^tcp bypass +(ok +available; off \(the default\)|warning +cannot be used: .*)$'
    NROOT_TCP_BYPASS=true run_nroot 0 info
    assert_line --regexp '^tcp bypass +(ok +available; on \(\$NROOT_TCP_BYPASS\)|warning +cannot be used: .*)$'
}

# ---- published ports (-p) with --tcp-bypass: the server's bind gets a host socket ----

# the TCP listener on the host's port $1: its owner's command (ss -p, the
# test user's own processes), empty if none
listener_of() {
    ss -Hltnp "sport = :$1" | sed -n 's/.*users:(("\([^"]*\)".*/\1/p' | head -n 1
}

# wait (bounded) for the file $1, made by the container through -v
wait_file() {
    wait_for 100 test -e "$1" || fail "$1 never came: $(cat "$BATS_TEST_TMPDIR/out.err" 2>/dev/null)"
}

@test "bypass: -p with --tcp-bypass: busybox httpd's bind of the published port gets a host socket; the host's wget reaches it without the relay, the container's own loopback no longer does" {
    need_bypass
    local p t=$BATS_TEST_TMPDIR/t
    p=$(port)
    mkdir -p "$t"
    start_nroot "$BATS_TEST_TMPDIR/out" run --tcp-bypass -p "127.0.0.1:$p:8080" -v "$t:/t" "$IMG" sh -c '
        httpd -f -p 8080 -h /data & touch /t/up
        while [ ! -e /t/go ]; do sleep 0.1; done
        wget -q -O /dev/null http://127.0.0.1:8080/unchanged.txt && echo inside-lo=reached || echo inside-lo=refused
        wget -q -O /dev/null http://10.0.2.100:8080/unchanged.txt && echo inside-own=reached || echo inside-own=refused
        kill $!'
    wait_file "$t/up"
    wait_for 100 busybox wget -q -O "$BATS_TEST_TMPDIR/got" "http://127.0.0.1:$p/unchanged.txt" ||
        fail "no answer on 127.0.0.1:$p: $(cat "$BATS_TEST_TMPDIR/out.err")"
    [ -s "$BATS_TEST_TMPDIR/got" ]
    # the listener on the host's port is httpd's own: nroot's relay let it go
    run listener_of "$p"
    echo "listener: $output"
    assert_output httpd
    touch "$t/go"
    wait_exit "$NROOT_PID" 100
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line inside-lo=refused
    assert_line inside-own=refused
}

@test "bypass: -p with --tcp-bypass: the server sees the host's client (127.0.0.1) and the host's address; restarted, it binds the port again" {
    need_bypass
    local p t=$BATS_TEST_TMPDIR/t
    p=$(port)
    mkdir -p "$t"
    start_nroot "$BATS_TEST_TMPDIR/out" run --tcp-bypass -p "127.0.0.1:$p:8080" -v "$t:/t" "$IMG" sh -c '
        bypass-probe serve 8080 0.0.0.0 & touch /t/up1
        while [ ! -e /t/go1 ]; do sleep 0.1; done
        kill $!; wait $!
        bypass-probe serve 8080 10.0.2.100 & touch /t/up2
        while [ ! -e /t/go2 ]; do sleep 0.1; done
        kill $!'
    wait_file "$t/up1"
    wait_for 100 eval "'$PROBE' connect 127.0.0.1 '$p' | grep -q got=pong" || fail "no answer: $(cat "$BATS_TEST_TMPDIR/out.err")"
    touch "$t/go1"
    wait_file "$t/up2"
    wait_for 100 eval "'$PROBE' connect 127.0.0.1 '$p' | grep -q got=pong" || fail "the restarted server took no connection"
    run "$PROBE" connect 127.0.0.1 "$p"
    [[ $output =~ ^local=127\.0\.0\.1:([0-9]+)\ .*got=pong ]] || fail "$output"
    local client=${BASH_REMATCH[1]}
    touch "$t/go2"
    wait_exit "$NROOT_PID" 100
    run cat "$BATS_TEST_TMPDIR/out"
    # both binds got the host's address and port, not 0.0.0.0:8080 or 10.0.2.100:8080
    [ "$(grep -c "^bound=127\.0\.0\.1:$p\$" <<<"$output")" = 2 ] || fail "not bound on the host twice"
    assert_line "peer=127.0.0.1:$client"
    refute_line --regexp '^peer=10\.0\.2\.'
}

@test "bypass: -p with --tcp-bypass: a server bound to the container's loopback is not swapped (the relay stays, reaching nothing), nor a port not published" {
    need_bypass
    local p t=$BATS_TEST_TMPDIR/t
    p=$(port)
    mkdir -p "$t"
    start_nroot "$BATS_TEST_TMPDIR/out" run --tcp-bypass -p "127.0.0.1:$p:8080" -v "$t:/t" "$IMG" sh -c '
        bypass-probe serve 8080 127.0.0.1 & a=$!
        bypass-probe serve 8081 0.0.0.0 & b=$!
        sleep 0.3; touch /t/up
        bypass-probe connect 127.0.0.1 8080
        bypass-probe connect 10.0.2.100 8081
        while [ ! -e /t/go ]; do sleep 0.1; done
        kill $a $b'
    wait_file "$t/up"
    run listener_of "$p"
    assert_output nroot
    run "$PROBE" connect 127.0.0.1 "$p"
    echo "$output"
    refute_output --partial got=pong
    touch "$t/go"
    wait_exit "$NROOT_PID" 100
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line bound=127.0.0.1:8080
    assert_line bound=0.0.0.0:8081
    assert_line --regexp '^local=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:8080 got=pong'
    assert_line --regexp '^local=10\.0\.2\.100:[0-9]+ peer=10\.0\.2\.100:8081 got=pong'
}

@test "bypass: -p PORT (every address) with --tcp-bypass: a dual-stack server on :: takes v4 and v6 clients" {
    need_bypass
    [ -d /proc/sys/net/ipv6 ] || skip "the kernel has no IPv6"
    "$PROBE" connect ::1 1 2>&1 | grep -q EADDRNOTAVAIL && skip "no ::1 on the host"
    local p t=$BATS_TEST_TMPDIR/t
    p=$(port)
    mkdir -p "$t"
    start_nroot "$BATS_TEST_TMPDIR/out" run --tcp-bypass -p "$p:8080" -v "$t:/t" "$IMG" sh -c '
        bypass-probe serve 8080 :: & touch /t/up
        while [ ! -e /t/go ]; do sleep 0.1; done
        kill $!'
    wait_file "$t/up"
    wait_for 100 eval "'$PROBE' connect 127.0.0.1 '$p' | grep -q got=pong" || fail "no v4 answer"
    run "$PROBE" connect ::1 "$p"
    assert_output --partial got=pong
    touch "$t/go"
    wait_exit "$NROOT_PID" 100
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line "bound=:::$p"
    assert_line --regexp '^peer=::ffff:127\.0\.0\.1:[0-9]+$'
    assert_line --regexp '^peer=::1:[0-9]+$'
}

@test "bypass: -p without --tcp-bypass: the relay as before (the server keeps its own address, sees the relay's peer)" {
    need_tun
    [ -x "$PROBE" ] || skip "tests/helper/bypass-probe was not built"
    local p t=$BATS_TEST_TMPDIR/t
    p=$(port)
    mkdir -p "$t"
    start_nroot "$BATS_TEST_TMPDIR/out" run -p "127.0.0.1:$p:8080" -v "$t:/t" "$IMG" sh -c '
        bypass-probe serve 8080 0.0.0.0 & touch /t/up
        while [ ! -e /t/go ]; do sleep 0.1; done
        kill $!'
    wait_file "$t/up"
    wait_for 100 eval "'$PROBE' connect 127.0.0.1 '$p' | grep -q got=pong" || fail "no answer"
    run listener_of "$p"
    assert_output nroot
    touch "$t/go"
    wait_exit "$NROOT_PID" 100
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line bound=0.0.0.0:8080
    assert_line --regexp '^peer=10\.0\.2\.'
}

@test "bypass: -p with --tcp-bypass: a bind below 1024 needs CAP_NET_BIND_SERVICE, as the kernel's" {
    need_bypass
    local p
    p=$(port)
    nrun --tcp-bypass -p "127.0.0.1:$p:80" --cap-drop NET_BIND_SERVICE "$IMG" sh -c '
        bypass-probe serve 80 0.0.0.0 2>&1 & sleep 0.5; kill $! 2>/dev/null
        bypass-probe serve 8080 0.0.0.0 & sleep 0.5; kill $!'
    echo "$output"
    assert_line --partial "Permission denied"
    assert_line bound=0.0.0.0:8080
}

@test "bypass: -p with --tcp-bypass: a second server on the published port while the first listens is EADDRINUSE, as in the container's own namespace" {
    need_bypass
    local p
    p=$(port)
    nrun --tcp-bypass -p "127.0.0.1:$p:8080" "$IMG" sh -c '
        bypass-probe serve 8080 0.0.0.0 & sleep 0.5
        bypass-probe serve 8080 0.0.0.0 2>&1
        kill $!'
    echo "$output"
    assert_line "bound=127.0.0.1:$p"
    assert_line --partial "Address already in use"
}

@test "bypass: a named container with -p and --tcp-bypass swaps the published port's bind again on nroot start" {
    need_bypass
    local p
    p=$(port)
    nrun --name bpp --tcp-bypass -p "127.0.0.1:$p:8080" "$IMG" sh -c '
        bypass-probe serve 8080 0.0.0.0 & sleep 0.3; kill $!'
    assert_line "bound=127.0.0.1:$p"
    run_nroot 0 start -a bpp
    assert_line "bound=127.0.0.1:$p"
    run_nroot 0 rm bpp
}

# ---- host sockets out of the connecting state: never bound, never listening ----

# a TCP listener on the host's port $1 (any owner): its line, empty if none
host_listener() {
    ss -Hltn "sport = :$1"
}

@test "bypass: a host socket that left the connecting state (shut down during SYN_SENT, or refused) neither binds nor listens: nothing listens on the host" {
    need_bypass
    local t=$BATS_TEST_TMPDIR/t p p2 p3 sp closed
    p=$(port)
    p2=$(port 1)
    p3=$(port 3)
    sp=$(port 2)
    closed=$(port 5)
    mkdir -p "$t"
    # the host's 127.0.0.1:$sp answers no SYN (its queue is full): a
    # connect to it stays in SYN_SENT until the shutdown, which leaves an
    # unconnected socket; $closed refuses (RST)
    "$PROBE" stuck "$sp" >"$BATS_TEST_TMPDIR/stuck" &
    BG_PIDS+=($!)
    wait_for 50 grep -q stuck=ok "$BATS_TEST_TMPDIR/stuck" || fail "the stuck listener: $(cat "$BATS_TEST_TMPDIR/stuck")"
    start_nroot "$BATS_TEST_TMPDIR/out" run --tcp-bypass --host-loopback -v "$t:/t" "$IMG" sh -c "
        bypass-probe hostlisten 10.0.2.2 $sp >/t/a & pids=\$!
        bypass-probe hostlisten 10.0.2.2 $sp $p >/t/b & pids=\"\$pids \$!\"
        bypass-probe hostlisten 10.0.2.2 $closed $p2 >/t/c & pids=\"\$pids \$!\"
        bypass-probe hostlisten 10.0.2.2 $closed $p3 block >/t/d & pids=\"\$pids \$!\"
        for f in a b c d; do while ! grep -q ready /t/\$f 2>/dev/null; do sleep 0.1; done; done
        touch /t/up
        while [ ! -e /t/go ]; do sleep 0.1; done
        kill \$pids"
    wait_file "$t/up"
    local a b c d lp listeners="" taken=""
    a=$(cat "$t/a")
    # what listens on the host meanwhile (a: its autobound port), and
    # whether the host can still bind p and p2 (a bound host socket of
    # the container's would hold them: Linux 6.18 refuses the listen of a
    # socket that was connecting, EINVAL, but not its bind)
    lp=$(sed -n 's/^listen=.* local=.*:\([0-9]*\)$/\1/p' <<<"$a")
    [ -n "$lp" ] && [ "$lp" != 0 ] && listeners+=$(host_listener "$lp")
    listeners+=$(host_listener "$p")$(host_listener "$p2")$(host_listener "$p3")
    "$PROBE" connect 127.0.0.1 "$p" || true
    for x in "$p" "$p2"; do
        timeout 1 "$PROBE" serve "$x" 0.0.0.0 2>&1 | grep -q "^bound=0.0.0.0:$x\$" || taken+=" $x"
    done
    touch "$t/go"
    wait_exit "$NROOT_PID" 100
    a=$(cat "$t/a") b=$(cat "$t/b") c=$(cat "$t/c") d=$(cat "$t/d")
    printf 'a: %s\nb: %s\nc: %s\nd: %s\n' "$a" "$b" "$c" "$d"
    echo "host listeners: $listeners"
    [ -z "$listeners" ] || fail "the container listens on the host: $listeners"
    [ -z "$taken" ] || fail "the container holds the host's port(s)$taken"
    [[ "$a$b$c" != *accepted=* ]] || fail "the container accepted the host's client"
    # the socket was a host socket (its connect swapped), then unconnected
    assert_equal "$(printf '%s\n%s\n' "$a" "$b" | grep -c '^shutdown=ok$')" 2
    [[ $a =~ listen=EPERM ]] || fail "a: $a"
    [[ $b =~ bind=EPERM ]] && [[ $b =~ listen=EPERM ]] || fail "b: $b"
    [[ $c =~ connect=ECONNREFUSED ]] && [[ $c =~ bind=EPERM ]] && [[ $c =~ listen=EPERM ]] || fail "c: $c"
    # a blocking connect that failed leaves the container's own socket,
    # which binds and listens in the container's namespace
    [[ $d =~ connect=ECONNREFUSED ]] && [[ $d =~ bind=ok ]] && [[ $d =~ listen=ok\ local=0\.0\.0\.0:$p3 ]] || fail "d: $d"
}

@test "bypass: bind and listen come to nroot with seccomp=unconfined too; a container's own server listens (nroot's listen), a bind below 1024 from a user namespace made inside is EACCES" {
    need_bypass
    local closed p
    closed=$(port 5)
    p=$(port)
    # -p: a published port nothing binds (nroot took binds for -p before)
    nrun --tcp-bypass --host-loopback -p "127.0.0.1:$(port 9):9999" --security-opt seccomp=unconfined "$IMG" sh -c "
        bypass-probe hostlisten 10.0.2.2 $closed $p & sleep 0.5; kill \$!
        bypass-probe serve 8080 0.0.0.0 & sleep 0.3
        bypass-probe connect 10.0.2.100 8080; kill \$!
        bypass-probe nestbind 80
        bypass-probe serve 80 0.0.0.0 & sleep 0.3; kill \$!"
    echo "$output"
    assert_line connect=ECONNREFUSED
    assert_line bind=EPERM
    assert_line --regexp '^listen=EPERM '
    assert_line bound=0.0.0.0:8080
    assert_line --regexp '^local=10\.0\.2\.100:[0-9]+ peer=10\.0\.2\.100:8080 got=pong'
    # the kernel's answer in the container's own namespace: a user
    # namespace made inside has no capability in the container's
    assert_line --regexp '^nestbind=(EACCES|unshare:.*)$'
    assert_line bound=0.0.0.0:80
    # without CAP_NET_BIND_SERVICE, and without -p: EACCES from nroot
    nrun --tcp-bypass --cap-drop NET_BIND_SERVICE "$IMG" sh -c '
        bypass-probe serve 80 0.0.0.0 2>&1 & sleep 0.5; kill $! 2>/dev/null
        bypass-probe serve 8080 0.0.0.0 & sleep 0.5; kill $!'
    echo "$output"
    assert_line --partial "Permission denied"
    assert_line bound=0.0.0.0:8080
}

@test "bypass: a unix server in a --tcp-bypass container binds, listens and accepts; both sides see the other's credentials (SO_PEERCRED) as without it" {
    need_bypass
    local o
    for o in --tcp-bypass --no-tcp-bypass; do
        nrun "$o" "$IMG" sh -c '
            bypass-probe userver /tmp/s & s=$!
            i=0; while [ ! -S /tmp/s ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
            bypass-probe uclient /tmp/s & c=$!
            wait $c; wait $s; echo "spid=$s cpid=$c"'
        echo "$o: $output"
        [[ $output =~ spid=([0-9]+)\ cpid=([0-9]+) ]] || fail "no pids: $output"
        # the listener's credentials are its listen()'s caller's, the server's
        assert_line "server pid=${BASH_REMATCH[1]} uid=0 got=pong"
        assert_line "client pid=${BASH_REMATCH[2]} uid=0"
    done
}
