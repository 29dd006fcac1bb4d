/* SPDX-License-Identifier: Apache-2.0 */
/* bypass-probe.c — TCP and UDP probes for tests/bypass.bats, static: it
 * runs in the test image and, as the server, on the host.
 *
 *   bypass-probe serve PORT [ADDR]    TCP on 127.0.0.1:PORT (or ADDR:PORT,
 *                                     then "bound=ADDR:PORT" first): a line
 *                                     "peer=ADDR:PORT" per connection,
 *                                     answers "pong"
 *   bypass-probe userve PORT          UDP on 127.0.0.1:PORT: echoes
 *   bypass-probe connect ADDR PORT [nb][ce]  connect (nb: nonblocking,
 *                                     poll; ce: SOCK_CLOEXEC), "local=A:P
 *                                     peer=A:P got=pong nonblock=N cloexec=N"
 *   bypass-probe iouring              io_uring_setup: "io_uring=E"
 *   bypass-probe thread ADDR PORT     connect from a second thread: "thread=E"
 *   bypass-probe detach ADDR PORT     connect, then SO_DETACH_FILTER: "detach=E"
 *   bypass-probe reuse ADDR PORT ADDR2 PORT2  connect, disconnect
 *                                     (AF_UNSPEC), connect again:
 *                                     "unspec=E reconnect=E"
 *   bypass-probe fastopen ADDR PORT   sendto(MSG_FASTOPEN): "fastopen=E"
 *   bypass-probe udp ADDR PORT        one datagram and its echo
 *   bypass-probe many ADDR PORT N     N connects, each closed: "ok N"
 *   bypass-probe userver PATH         a unix stream server on PATH: one
 *                                     client, "client pid=P uid=U" (its
 *                                     SO_PEERCRED), answers "pong"
 *   bypass-probe uclient PATH         connects to PATH: "server pid=P uid=U
 *                                     got=pong" (SO_PEERCRED: the server's,
 *                                     as its listen() recorded it)
 *   bypass-probe nestbind PORT        in a user namespace of its own (full
 *                                     capabilities there), bind to any:PORT:
 *                                     "nestbind=E"
 *   bypass-probe unspectime ADDR PORT N  N times: connect, then time
 *                                     connect(AF_UNSPEC): "unspec=E
 *                                     avg=MICROSECONDS"
 *   bypass-probe stuck PORT           TCP on 127.0.0.1:PORT, backlog 0, one
 *                                     connection of its own in the queue,
 *                                     never accepted: the SYNs that come
 *                                     then get no answer; "stuck=E"
 *   bypass-probe hostlisten ADDR PORT [BPORT [block]]  a nonblocking
 *                                     (block: blocking) connect;
 *                                     refused: "connect=E", still under
 *                                     way after 0.3 s: shutdown,
 *                                     "shutdown=E"; then bind to any:BPORT
 *                                     (BPORT given: "bind=E"), listen
 *                                     ("listen=E local=A:P"), "ready"; then
 *                                     "accepted=A:P" per connection until
 *                                     killed
 *
 * E is "ok" or the errno's name; a failed connect prints "error=E" and
 * exits 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

static const char *ename(int e)
{
    if (!e)
        return "ok";
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static socklen_t addr_of(const char *host, const char *port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)atoi(port));
        return sizeof *in;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)atoi(port));
        return sizeof *in6;
    }
    fprintf(stderr, "bypass-probe: bad address %s\n", host);
    exit(2);
}

static const char *show(const struct sockaddr_storage *ss)
{
    static char buf[2][80];
    static int k;
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    k ^= 1;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        port = ntohs(in6->sin6_port);
    }
    snprintf(buf[k], sizeof buf[k], "%s:%u", a, port);
    return buf[k];
}

/* 0 or the errno of a connect (nb: nonblocking, waited for with poll) */
static int do_connect(int s, const struct sockaddr_storage *to, socklen_t len, int nb)
{
    if (connect(s, (const struct sockaddr *)to, len) == 0)
        return 0;
    if (!nb || errno != EINPROGRESS)
        return errno;
    struct pollfd p = { .fd = s, .events = POLLOUT };
    if (poll(&p, 1, 10000) != 1)
        return ETIMEDOUT;
    int e = 0;
    socklen_t l = sizeof e;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l);
    return e;
}

static int serve(const char *port, int udp, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = addr_of(addr ? addr : "127.0.0.1", port, &ss);
    int s = socket(ss.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&ss, len) < 0 || (!udp && listen(s, 128) < 0)) {
        perror("bypass-probe: serve");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (addr) {
        /* the address the socket has: the host's, where nroot swapped it */
        struct sockaddr_storage me;
        socklen_t ml = sizeof me;
        if (getsockname(s, (struct sockaddr *)&me, &ml) == 0)
            printf("bound=%s\n", show(&me));
    }
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        char buf[512];
        if (udp) {
            ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&peer, &pl);
            if (n > 0)
                sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&peer, pl);
            continue;
        }
        int c = accept(s, (struct sockaddr *)&peer, &pl);
        if (c < 0)
            continue;
        printf("peer=%s\n", show(&peer));
        (void)!write(c, "pong\n", 5);
        close(c);
    }
}

static struct sockaddr_storage thread_to;
static socklen_t thread_len;

static void *thread_main(void *arg)
{
    int s = socket(thread_to.ss_family, SOCK_STREAM, 0);
    *(int *)arg = do_connect(s, &thread_to, thread_len, 0);
    close(s);
    return NULL;
}

/* a socket that left the connecting state (refused, or shut down while
 * its SYN goes unanswered), then bound and listening: where does it
 * listen? */
__attribute__((noreturn)) static void hostlisten(const struct sockaddr_storage *to, socklen_t len,
                                                 const char *bport, int block)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int s = socket(to->ss_family, SOCK_STREAM | (block ? 0 : SOCK_NONBLOCK), 0);
    int e = connect(s, (const struct sockaddr *)to, len) == 0 ? 0 : errno;
    if (e == EINPROGRESS) {
        struct pollfd p = { .fd = s, .events = POLLOUT };
        if (poll(&p, 1, 300) == 1) {
            socklen_t l = sizeof e;
            getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l);
            printf("connect=%s\n", ename(e));
        } else
            printf("shutdown=%s\n", ename(shutdown(s, SHUT_RDWR) == 0 ? 0 : errno));
    } else
        printf("connect=%s\n", ename(e));
    if (bport) {
        struct sockaddr_storage any;
        socklen_t al = addr_of(to->ss_family == AF_INET ? "0.0.0.0" : "::", bport, &any);
        printf("bind=%s\n", ename(bind(s, (struct sockaddr *)&any, al) == 0 ? 0 : errno));
    }
    e = listen(s, 8) == 0 ? 0 : errno;
    struct sockaddr_storage me;
    socklen_t ml = sizeof me;
    memset(&me, 0, sizeof me);
    getsockname(s, (struct sockaddr *)&me, &ml);
    printf("listen=%s local=%s\nready\n", ename(e), show(&me));
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        int c = accept(s, (struct sockaddr *)&peer, &pl);
        if (c < 0) {
            pause();
            continue;
        }
        printf("accepted=%s\n", show(&peer));
        close(c);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "serve") == 0)
        return serve(argv[2], 0, argc > 3 ? argv[3] : NULL);
    if (argc >= 3 && (strcmp(argv[1], "userver") == 0 || strcmp(argv[1], "uclient") == 0)) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        snprintf(un.sun_path, sizeof un.sun_path, "%s", argv[2]);
        int s = socket(AF_UNIX, SOCK_STREAM, 0), server = argv[1][1] == 's';
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (server && (bind(s, (struct sockaddr *)&un, sizeof un) < 0 || listen(s, 8) < 0)) {
            printf("userver=%s\n", ename(errno));
            return 1;
        }
        if (!server && connect(s, (struct sockaddr *)&un, sizeof un) < 0) {
            printf("uclient=%s\n", ename(errno));
            return 1;
        }
        int c = server ? accept(s, NULL, NULL) : s;
        struct ucred cr = { 0 };
        socklen_t cl = sizeof cr;
        getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
        char got[16] = "";
        if (server)
            (void)!write(c, "pong\n", 5);
        else {
            ssize_t n = read(c, got, sizeof got - 1);
            got[n > 0 ? n - 1 : 0] = '\0';
        }
        printf("%s pid=%d uid=%u%s%s\n", server ? "client" : "server", (int)cr.pid,
               (unsigned)cr.uid, server ? "" : " got=", got);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "nestbind") == 0) {
        if (unshare(CLONE_NEWUSER) < 0) {
            printf("nestbind=unshare:%s\n", ename(errno));
            return 0;
        }
        struct sockaddr_storage ss;
        socklen_t len = addr_of("0.0.0.0", argv[2], &ss);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        printf("nestbind=%s\n", ename(bind(s, (struct sockaddr *)&ss, len) == 0 ? 0 : errno));
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "stuck") == 0) {
        struct sockaddr_storage ss;
        socklen_t len = addr_of("127.0.0.1", argv[2], &ss);
        int s = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        int e = bind(s, (struct sockaddr *)&ss, len) == 0 && listen(s, 0) == 0 &&
                        connect(c, (struct sockaddr *)&ss, len) == 0
                    ? 0
                    : errno;
        printf("stuck=%s\n", ename(e));
        fflush(stdout);
        for (;;)
            pause();
    }
    if (argc >= 3 && strcmp(argv[1], "userve") == 0)
        return serve(argv[2], 1, NULL);
    /* sink PORT: on the host's 127.0.0.1:PORT, accepts and never reads */
    if (argc >= 3 && strcmp(argv[1], "sink") == 0) {
        struct sockaddr_storage ss;
        socklen_t len = addr_of("127.0.0.1", argv[2], &ss);
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 16) < 0) {
            printf("sink=%s\n", ename(errno));
            return 1;
        }
        for (;;)
            (void)accept(s, NULL, NULL); /* held open, never read */
    }
    if (argc >= 2 && strcmp(argv[1], "iouring") == 0) {
        unsigned char params[120] = { 0 }; /* struct io_uring_params */
        long r = syscall(SYS_io_uring_setup, 1, params);
        printf("io_uring=%s\n", ename(r < 0 ? errno : 0));
        return 0;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: bypass-probe serve|userve PORT | connect|reuse|fastopen|udp|many "
                        "ADDR PORT ...\n");
        return 2;
    }
    struct sockaddr_storage to;
    socklen_t len = addr_of(argv[2], argv[3], &to);
    const char *cmd = argv[1];
    if (strcmp(cmd, "connect") == 0) {
        int nb = argc > 4 && strstr(argv[4], "nb") != NULL;
        int ce = argc > 4 && strstr(argv[4], "ce") != NULL;
        int s = socket(to.ss_family,
                       SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0) | (ce ? SOCK_CLOEXEC : 0), 0);
        int e = do_connect(s, &to, len, nb);
        if (e) {
            printf("error=%s\n", ename(e));
            return 1;
        }
        struct sockaddr_storage a, b;
        socklen_t la = sizeof a, lb = sizeof b;
        getsockname(s, (struct sockaddr *)&a, &la);
        getpeername(s, (struct sockaddr *)&b, &lb);
        int fl = fcntl(s, F_GETFL), cl = fcntl(s, F_GETFD);
        char got[64] = "";
        if (nb) {
            struct pollfd p = { .fd = s, .events = POLLIN };
            poll(&p, 1, 5000);
        }
        ssize_t n = read(s, got, sizeof got - 1);
        got[n > 0 ? n - 1 : 0] = '\0';
        printf("local=%s peer=%s got=%s nonblock=%d cloexec=%d\n", show(&a), show(&b), got,
               (fl & O_NONBLOCK) != 0, (cl & FD_CLOEXEC) != 0);
        return 0;
    }
    /* linger ADDR PORT: a swapped socket with SO_LINGER set and unsent
     * data, disconnected with AF_UNSPEC; then how long one more connect
     * takes (nroot's loop answers it) */
    if (strcmp(cmd, "linger") == 0) {
        int s = socket(to.ss_family, SOCK_STREAM, 0);
        int e = do_connect(s, &to, len, 0);
        if (e) {
            printf("error=%s\n", ename(e));
            return 1;
        }
        struct linger lg = { .l_onoff = 1, .l_linger = 8 };
        setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
        static char buf[65536];
        while (write(s, buf, sizeof buf) > 0)
            ;
        struct sockaddr un = { .sa_family = AF_UNSPEC };
        e = connect(s, &un, sizeof un) == 0 ? 0 : errno;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct sockaddr_storage own;
        socklen_t ol = addr_of("10.0.2.100", "1", &own);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        (void)!connect(c, (struct sockaddr *)&own, ol);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        printf("unspec=%s ms=%ld\n", ename(e), ms);
        return 0;
    }
    if (strcmp(cmd, "reuse") == 0 && argc >= 6) {
        struct sockaddr_storage to2;
        socklen_t len2 = addr_of(argv[4], argv[5], &to2);
        int s = socket(to.ss_family, SOCK_STREAM, 0);
        int e = do_connect(s, &to, len, 0);
        if (e) {
            printf("error=%s\n", ename(e));
            return 1;
        }
        struct sockaddr un = { .sa_family = AF_UNSPEC };
        int u = connect(s, &un, sizeof un) == 0 ? 0 : errno;
        int r = do_connect(s, &to2, len2, 0);
        printf("unspec=%s reconnect=%s\n", ename(u), ename(r));
        return 0;
    }
    if (strcmp(cmd, "thread") == 0) {
        pthread_t t;
        int e = -1;
        thread_to = to;
        thread_len = len;
        if (pthread_create(&t, NULL, thread_main, &e) != 0 || pthread_join(t, NULL) != 0)
            return 1;
        printf("thread=%s\n", ename(e));
        return 0;
    }
    if (strcmp(cmd, "detach") == 0) {
        int s = socket(to.ss_family, SOCK_STREAM, 0);
        int e = do_connect(s, &to, len, 0);
        if (e) {
            printf("error=%s\n", ename(e));
            return 1;
        }
        int one = 1;
        e = setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof one) == 0 ? 0 : errno;
        printf("detach=%s\n", ename(e));
        return 0;
    }
    if (strcmp(cmd, "fastopen") == 0) {
        int s = socket(to.ss_family, SOCK_STREAM, 0);
        ssize_t n = sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, len);
        printf("fastopen=%s\n", ename(n < 0 ? errno : 0));
        return 0;
    }
    if (strcmp(cmd, "udp") == 0) {
        /* as a UDP client does: the ping again every 0.5 s, for 5 s (the
         * test's server, started in the background, may not be bound yet) */
        int s = socket(to.ss_family, SOCK_DGRAM, 0);
        struct timeval tv = { .tv_usec = 500000 };
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[64] = "";
        ssize_t n = -1;
        for (int i = 0; i < 10 && n < 0; i++) {
            if (sendto(s, "udp-ping", 8, 0, (struct sockaddr *)&to, len) != 8) {
                printf("error=%s\n", ename(errno));
                return 1;
            }
            n = recv(s, buf, sizeof buf - 1, 0);
            if (n < 0 && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR)
                break;
        }
        if (n < 0) {
            printf("error=%s\n", ename(errno));
            return 1;
        }
        buf[n] = '\0';
        printf("udp=%s\n", buf);
        return 0;
    }
    if (strcmp(cmd, "many") == 0 && argc >= 5) {
        int n = atoi(argv[4]);
        for (int i = 0; i < n; i++) {
            int s = socket(to.ss_family, SOCK_STREAM, 0);
            int e = do_connect(s, &to, len, 0);
            if (e) {
                printf("error=%s at %d\n", ename(e), i);
                return 1;
            }
            close(s);
        }
        printf("ok %d\n", n);
        return 0;
    }
    if (strcmp(cmd, "unspectime") == 0 && argc >= 5) {
        int n = atoi(argv[4]), e = 0;
        double total = 0;
        for (int i = 0; i < n && !e; i++) {
            int s = socket(to.ss_family, SOCK_STREAM, 0);
            if ((e = do_connect(s, &to, len, 0)))
                break;
            struct sockaddr un = { .sa_family = AF_UNSPEC };
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            e = connect(s, &un, sizeof un) == 0 ? 0 : errno;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            total +=
                (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
            close(s);
        }
        printf("unspec=%s avg=%.1f\n", ename(e), n > 0 ? total / n : 0);
        return 0;
    }
    if (strcmp(cmd, "hostlisten") == 0)
        hostlisten(&to, len, argc > 4 ? argv[4] : NULL, argc > 5 && strcmp(argv[5], "block") == 0);
    fprintf(stderr, "bypass-probe: unknown command %s\n", cmd);
    return 2;
}
