#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Security of the network (issue 12): published UDP ports no other local
# user can take over, TCP ports that cannot be taken over either, many
# connections through a published port, and the host's loopback closed to
# a container unless --host-loopback.  Every socket is on loopback or in a
# namespace the test made.

load helpers

need_tun() {
    [ -c /dev/net/tun ] && [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        skip "/dev/net/tun is not read-writable by $(id -un)"
}

have_ipv6_lo() {
    [ -d /proc/sys/net/ipv6 ] && ip -6 addr show lo 2>/dev/null | grep -q '::1'
}

setup_file() {
    # the container's servers: a static probe bound in with -v
    cat >"$BATS_FILE_TMPDIR/probe.c" <<'EOF'
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* a socket on PORT of every address, IPv6 and IPv4 where possible */
static int listen_any(int type, int port)
{
    int one = 1, zero = 0;
    int s = socket(AF_INET6, type, 0);
    if (s >= 0) {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, (struct sockaddr *)&a, sizeof a) == 0)
            return s;
        close(s);
    }
    s = socket(AF_INET, type, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bind");
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "nofile")) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        printf("%llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
        return 0;
    }
    if (argc != 3)
        return 2;
    int port = atoi(argv[2]);
    if (!strcmp(argv[1], "udp-echo")) {
        /* every datagram back to its sender, with "echo:" before it */
        int s = listen_any(SOCK_DGRAM, port);
        printf("ready\n");
        fflush(stdout);
        for (;;) {
            char buf[65536], out[65536 + 8];
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n < 0)
                continue;
            memcpy(out, "echo:", 5);
            memcpy(out + 5, buf, (size_t)n > sizeof buf - 5 ? sizeof buf - 5 : (size_t)n);
            sendto(s, out, (size_t)n + 5 > sizeof buf ? sizeof buf : (size_t)n + 5, 0,
                   (struct sockaddr *)&from, fl);
        }
    }
    if (!strcmp(argv[1], "tcp-hold")) {
        /* "hi" to every connection, then its bytes back; held until closed */
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        int s = listen_any(SOCK_STREAM, port);
        listen(s, 4096);
        printf("ready\n");
        fflush(stdout);
        size_t n = 1, cap = 1024;
        struct pollfd *p = calloc(cap, sizeof *p);
        p[0] = (struct pollfd){ .fd = s, .events = POLLIN };
        for (;;) {
            if (poll(p, n, -1) < 0)
                continue;
            for (size_t i = n; i-- > 1;) {
                if (!p[i].revents)
                    continue;
                char buf[4096];
                ssize_t r = read(p[i].fd, buf, sizeof buf);
                if (r > 0 && write(p[i].fd, buf, (size_t)r) == r)
                    continue;
                close(p[i].fd);
                p[i] = p[--n];
            }
            if (p[0].revents & POLLIN) {
                int c = accept(s, NULL, NULL);
                if (c < 0)
                    continue;
                if (write(c, "hi\n", 3) != 3) {
                    close(c);
                    continue;
                }
                if (n == cap)
                    p = realloc(p, (cap *= 2) * sizeof *p);
                p[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
            }
        }
    }
    return 2;
}
EOF
    gcc -static -O2 -o "$BATS_FILE_TMPDIR/probe" "$BATS_FILE_TMPDIR/probe.c"

    # the host's side: clients and a would-be hijacker
    cat >"$BATS_FILE_TMPDIR/host.py" <<'EOF'
import errno, os, resource, select, socket, sys, time

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def fam(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET

def hijack(proto, addr, port, opt):
    """bind ADDR:PORT beside the published one; print bound or the errno name"""
    s = socket.socket(fam(addr), socket.SOCK_DGRAM if proto == 'udp' else socket.SOCK_STREAM)
    if fam(addr) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT if opt == 'reuseport' else socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
    except OSError as e:
        print(f'{proto} {addr} {opt}: {errno.errorcode[e.errno]}')
        return
    if proto == 'tcp':
        try:
            s.listen(1)
        except OSError as e:
            print(f'{proto} {addr} {opt}: listen {errno.errorcode[e.errno]}')
            return
    print(f'{proto} {addr} {opt}: bound')
    # what does it get meanwhile?  (the caller sends on the published port)
    s.settimeout(3)
    try:
        if proto == 'udp':
            data, _ = s.recvfrom(65536)
            print(f'hijacked: {data!r}')
        else:
            c, _ = s.accept()
            print('hijacked: a connection')
    except OSError:
        print('hijacker got nothing')

def udp_echo(addr, port, count, size=16):
    """COUNT round trips from one socket; the answers must come from ADDR:PORT"""
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(0.3)
    ok = 0
    for i in range(count):
        msg = (f'm{i}-' + 'x' * size)[:max(size, 3)].encode()
        for attempt in range(10):
            s.send(msg)
            try:
                data = s.recv(65536)
            except (socket.timeout, ConnectionRefusedError):
                continue
            if data == b'echo:' + msg:
                ok += 1
                break
    print(f'udp {addr} {ok}/{count}')

def udp_clients(addr, port, n):
    """N client sockets one after the other; each must get its own answer"""
    raise_nofile()
    socks, ok = [], 0
    for i in range(n):
        s = socket.socket(fam(addr), socket.SOCK_DGRAM)
        s.connect((addr, port))
        s.settimeout(0.5)
        socks.append(s)
        msg = f'client-{i}'.encode()
        for attempt in range(5):
            s.send(msg)
            try:
                if s.recv(100) == b'echo:' + msg:
                    ok += 1
                    break
            except (socket.timeout, ConnectionRefusedError):
                pass
    # the first ones again: their flows may have given way, not their answers
    for i in range(3):
        s, msg = socks[i], f'again-{i}'.encode()
        for attempt in range(5):
            s.send(msg)
            try:
                if s.recv(100) == b'echo:' + msg:
                    ok += 1
                    break
            except (socket.timeout, ConnectionRefusedError):
                pass
    print(f'clients {ok}/{n + 3}')

def hold(port, n, pidfile):
    """N idle connections, each answered; then a new one must be answered
    within 5 s; prints nroot's CPU ticks over 3 s of idling"""
    raise_nofile()
    conns, bad = [], 0
    for i in range(n):
        c = socket.create_connection(('127.0.0.1', port), timeout=10)
        conns.append(c)
    for c in conns:
        try:
            c.settimeout(10)
            if c.recv(3) != b'hi\n':
                bad += 1
        except OSError:
            bad += 1
    print(f'held {n - bad}/{n}')
    pid = open(pidfile).read().strip()
    def ticks():
        f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        return int(f[11]) + int(f[12])
    t0 = ticks(); time.sleep(3); t1 = ticks()
    print(f'idle ticks {t1 - t0}')
    t = time.monotonic()
    c = socket.create_connection(('127.0.0.1', port), timeout=5)
    c.settimeout(5)
    ans = c.recv(3)
    c.sendall(b'ping\n')
    echo = c.recv(5)
    print(f'new client: {ans!r} {echo!r} in {time.monotonic() - t:.1f} s')

def starve(port, n, pidfile):
    """N connections where nroot has descriptors for fewer: some answered,
    none reset; as the answered ones close, the others are answered"""
    conns = [socket.create_connection(('127.0.0.1', port), timeout=10) for i in range(n)]
    answered, waiting, reset = [], [], 0
    deadline = time.monotonic() + 3
    for c in conns:
        c.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            d = c.recv(3)
            if d == b'hi\n':
                answered.append(c)
            else:
                reset += 1
        except socket.timeout:
            waiting.append(c)
        except OSError:
            reset += 1
    print(f'answered {len(answered)} waiting {len(waiting)} reset {reset}')
    pid = open(pidfile).read().strip()
    def ticks():
        f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        return int(f[11]) + int(f[12])
    t0 = ticks(); time.sleep(2); t1 = ticks()
    print(f'waiting ticks {t1 - t0}')
    for c in answered:
        c.close()
    # each answered one closes in turn, making room for the next
    later = 0
    for c in waiting:
        c.settimeout(10)
        try:
            if c.recv(3) == b'hi\n':
                later += 1
        except OSError:
            pass
        c.close()
    print(f'later {later}/{len(waiting)}')

cmd = sys.argv[1]
args = [int(a) if a.isdigit() else a for a in sys.argv[2:]]
globals()[cmd.replace('-', '_')](*args)
EOF
}

# a port number for this test, unlikely to be taken: below the ephemeral
# range, where no client connection (or its TIME_WAIT) holds one
port() {
    local lo span
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || lo=0
    span=$(( ${lo:-0} > 12000 ? lo - 10000 : 30000 ))
    echo $(( 10000 + ($$ * 17 + BATS_TEST_NUMBER * 211 + ${1:-0}) % span ))
}

host_py() {
    run timeout 60 python3 "$BATS_FILE_TMPDIR/host.py" "$@"
    echo "$output"
}

# the probe in a container publishing -p SPEC, until it says ready
start_probe() {   # SPEC PROBE-ARGS...
    local spec=$1
    shift
    start_nroot "$BATS_TEST_TMPDIR/out" run "${NR_ARGS[@]}" -p "$spec" \
        -v "$BATS_FILE_TMPDIR/probe:/probe:ro" "$IMG" /probe "$@"
    echo "$NROOT_PID" >"$BATS_TEST_TMPDIR/nroot.pid"
    wait_for 100 file_has "$BATS_TEST_TMPDIR/out" ready ||
        fail "the probe did not start: $(cat "$BATS_TEST_TMPDIR/out.err")"
}

# ---------------------------------------------------------------- UDP --

@test "security-net: another process cannot bind a published UDP port beside nroot (SO_REUSEADDR, SO_REUSEPORT) and the datagrams still reach the container" {
    need_tun
    need_tool python3
    local p addr opt
    p=$(port)
    NR_ARGS=()
    start_probe "$p:9999/udp" udp-echo 9999
    for addr in 0.0.0.0 127.0.0.1 $(have_ipv6_lo && echo :: ::1); do
        for opt in reuseaddr reuseport; do
            # the hijacker tries, while a client sends on the published port
            (sleep 0.5; python3 "$BATS_FILE_TMPDIR/host.py" udp-echo 127.0.0.1 "$p" 3 >/dev/null) &
            local sender=$!
            host_py hijack udp "$addr" "$p" "$opt"
            wait "$sender"
            assert_output "udp $addr $opt: EADDRINUSE"
        done
    done
    host_py udp-echo 127.0.0.1 "$p" 20
    assert_output "udp 127.0.0.1 20/20"
}

@test "security-net: a published UDP port answers IPv4 and IPv6 loopback clients from the address they wrote to" {
    need_tun
    need_tool python3
    local p
    p=$(port)
    NR_ARGS=()
    start_probe "$p:9999/udp" udp-echo 9999
    host_py udp-echo 127.0.0.1 "$p" 50
    assert_output "udp 127.0.0.1 50/50"
    # a datagram near the largest size
    host_py udp-echo 127.0.0.1 "$p" 3 60000
    assert_output "udp 127.0.0.1 3/3"
    if have_ipv6_lo; then
        host_py udp-echo ::1 "$p" 50
        assert_output "udp ::1 50/50"
    fi
}

@test "security-net: -p IP:HOSTPORT:PORT/udp binds only that address, without SO_REUSEADDR" {
    need_tun
    need_tool python3
    local p
    p=$(port)
    NR_ARGS=()
    start_probe "127.0.0.1:$p:9999/udp" udp-echo 9999
    run ss -Hlun "sport = :$p"
    assert_output --partial "127.0.0.1:$p"
    refute_output --partial "0.0.0.0:$p"
    host_py hijack udp 127.0.0.1 "$p" reuseaddr
    assert_output "udp 127.0.0.1 reuseaddr: EADDRINUSE"
    host_py udp-echo 127.0.0.1 "$p" 5
    assert_output "udp 127.0.0.1 5/5"
    if have_ipv6_lo; then
        local p6=$((p + 1))
        run_nroot 0 run -p "[::1]:$p6:9999/udp" "$IMG" true
    fi
}

@test "security-net: more UDP clients than the flow table: every one is answered, its own answer" {
    need_tun
    need_tool python3
    local p
    p=$(port)
    NR_ARGS=()
    start_probe "$p:9999/udp" udp-echo 9999
    host_py udp-clients 127.0.0.1 "$p" 1100
    assert_output "clients 1103/1103"
}

@test "security-net: a UDP port in use on the host fails the run with 125 naming it" {
    need_tun
    need_tool python3
    local p
    p=$(port)
    python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
print("bound", flush=True); time.sleep(30)' "$p" >"$BATS_TEST_TMPDIR/holder" &
    BG_PIDS+=($!)
    wait_for 50 file_has "$BATS_TEST_TMPDIR/holder" bound || fail "the holder did not bind"
    run_nroot 125 run -p "$p:53/udp" "$IMG" true
    assert_nroot_error "port '$p:53/udp'.*in use"
}

# ---------------------------------------------------------------- TCP --

@test "security-net: a published TCP port cannot be bound beside nroot either" {
    need_tun
    need_tool python3
    local p addr opt
    p=$(port)
    NR_ARGS=()
    start_probe "$p:8080" tcp-hold 8080
    for addr in 0.0.0.0 127.0.0.1 $(have_ipv6_lo && echo :: ::1); do
        for opt in reuseaddr reuseport; do
            host_py hijack tcp "$addr" "$p" "$opt"
            assert_output "tcp $addr $opt: EADDRINUSE"
        done
    done
}

@test "security-net: 1000 idle connections to a published port: a new client is still answered, and nroot idles" {
    need_tun
    need_tool python3
    local p hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] || [ "$hard" -ge 7000 ] ||
        skip "the hard RLIMIT_NOFILE ($hard) holds fewer than 1000 relayed connections"
    p=$(port)
    NR_ARGS=()
    start_probe "$p:8080" tcp-hold 8080
    host_py hold "$p" 1000 "$BATS_TEST_TMPDIR/nroot.pid"
    assert_line "held 1000/1000"
    assert_line --regexp "^new client: b'hi\\\\n' b'ping\\\\n' in [0-4]\.[0-9] s$"
    # clock ticks (1/100 s) in 3 s with 1000 connections idle
    local t
    t=$(sed -n 's/^idle ticks //p' <<<"$output")
    [ "$t" -le 5 ] || fail "nroot used $t ticks in 3 s with idle connections"
}

@test "security-net: out of descriptors, nroot stops accepting (clients wait, none reset) and goes on when some close" {
    need_tun
    need_tool python3
    local p
    p=$(port)
    NR_ARGS=()
    # a limit nroot cannot raise: room for some 20 relayed connections
    ulimit -n 256
    start_probe "$p:8080" tcp-hold 8080
    host_py starve "$p" 60 "$BATS_TEST_TMPDIR/nroot.pid"
    local a w r
    read -r _ a _ w _ r < <(grep '^answered' <<<"$output")
    [ "$r" = 0 ] || fail "$r connections were reset"
    [ "$a" -ge 5 ] || fail "only $a connections were answered"
    [ "$w" -ge 1 ] || fail "no connection had to wait: the limit did not bite"
    local t
    t=$(sed -n 's/^waiting ticks //p' <<<"$output")
    [ "$t" -le 5 ] || fail "nroot used $t ticks in 2 s while clients waited"
    assert_line "later $w/$w"
}

@test "security-net: the container keeps the descriptor limit it was started with" {
    need_tun
    ulimit -S -n 1000
    run_nroot 0 run -p "$(port):80" -v "$BATS_FILE_TMPDIR/probe:/probe:ro" "$IMG" /probe nofile
    assert_output "1000 $(ulimit -H -n)"
}

# ------------------------------------------------------- host loopback --

# a page served by python on the host's 127.0.0.1 (and ::1) at $HOST_PORT
serve_on_host_loopback() {
    HOST_PORT=$(port 7)
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo from-the-host >"$BATS_TEST_TMPDIR/www/index.html"
    busybox httpd -f -p "127.0.0.1:$HOST_PORT" -h "$BATS_TEST_TMPDIR/www" &
    BG_PIDS+=($!)
    if have_ipv6_lo; then
        busybox httpd -f -p "[::1]:$HOST_PORT" -h "$BATS_TEST_TMPDIR/www" &
        BG_PIDS+=($!)
    fi
    wait_for 50 busybox wget -q -O /dev/null "http://127.0.0.1:$HOST_PORT/" ||
        fail "the host httpd did not start"
}

# a shell command that fetches / from ADDR:$HOST_PORT inside the container
http_get() {
    printf "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 %s %s" "$1" "$HOST_PORT"
}

@test "security-net: by default a container does not reach the host's loopback services (10.0.2.2, fd00::2)" {
    need_tun
    serve_on_host_loopback
    # (nc, not wget -T: busybox wget -T crashes, connected or not)
    nrun "$IMG" sh -c "$(http_get 10.0.2.2) || echo refused4; $(http_get fd00::2) || echo refused6"
    refute_output --partial from-the-host
    assert_line refused4
    assert_line refused6
}

@test "security-net: --host-loopback opens the host's loopback at 10.0.2.2 (and fd00::2); --no-host-loopback is accepted" {
    need_tun
    serve_on_host_loopback
    nrun --host-loopback "$IMG" wget -q -O - "http://10.0.2.2:$HOST_PORT/"
    assert_output from-the-host
    if have_ipv6_lo; then
        nrun --host-loopback "$IMG" wget -q -O - "http://[fd00::2]:$HOST_PORT/"
        assert_output from-the-host
    fi
    nrun --no-host-loopback "$IMG" sh -c "$(http_get 10.0.2.2) || echo refused"
    refute_output --partial from-the-host
    # the last of the two wins
    nrun --no-host-loopback --host-loopback "$IMG" wget -q -O - "http://10.0.2.2:$HOST_PORT/"
    assert_output from-the-host
}

@test "security-net: a named container started again keeps --host-loopback" {
    need_tun
    serve_on_host_loopback
    nrun --name hl --host-loopback "$IMG" wget -q -O - "http://10.0.2.2:$HOST_PORT/"
    assert_output from-the-host
    run_nroot 0 start -a hl
    assert_output --partial from-the-host
}
