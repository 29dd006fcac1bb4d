/* SPDX-License-Identifier: Apache-2.0 */
/* portfwd.c — published ports, TCP and UDP, without slirp's stacks.
 *
 * nroot binds the host port itself.  A socket belongs to the network
 * namespace it was made in, so for the container's end nroot asks PID 1
 * (over the sync socket) for a socket connected to 10.0.2.100:PORT, made
 * inside the container's namespace and handed back with SCM_RIGHTS.
 *
 * TCP: nroot accepts, and moves the bytes between the two kernel sockets
 * with splice(2), never through user-mode TCP.
 *
 * UDP: one flow per client address (and host socket): a connected UDP
 * socket in the container for it, datagrams relayed both ways, the answers
 * sent from the published socket (from the address the client wrote to).
 * A flow idle for UDP_TIMEOUT_MS ends (docker-proxy's and rootlesskit's
 * 90 s); at most UDP_MAX_FLOWS live at once, the least recently used gives
 * way to a new one.  The host socket is bound without SO_REUSEADDR: no
 * other user can bind the same port beside it and take the datagrams.
 *
 * Many connections: no fixed cap.  The tables grow; nroot's soft
 * RLIMIT_NOFILE is raised to the hard one (supervise.c).  The sockets wait
 * in an epoll set of their own, one entry of the loop's poll set, so an
 * idle connection costs nothing per wake-up.  When descriptors
 * run short, nroot stops accepting (clients wait in the listen backlog)
 * until a connection ends, rather than accepting and resetting; an
 * unexpected EMFILE pauses accepting for RETRY_MS, never spins. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-plan.h"
#include "nr-portfwd.h"
#include "nr-spawn.h"
#include "nr-util.h"

#define MAX_LISTEN 32
#define PIPE_SIZE (1 << 20)
#define CONN_FDS 6     /* two sockets, two pipes */
#define FD_RESERVE 128 /* left to slirp's sockets, the terminal, ... */
#define MAX_PENDING 32 /* requests PID 1 has not answered (both queues stay short) */
#define ACCEPT_BATCH 16
#define RETRY_MS 1000 /* accepting paused after an unexpected EMFILE */
#define UDP_MAX_FLOWS 1024
#define UDP_TIMEOUT_MS (90 * 1000)
#define UDP_QUEUE 8 /* datagrams kept while PID 1 makes a flow's socket */
#define UDP_BATCH 64
#define FLOW_BUCKETS 2048
#define EP_BATCH 256

/* what an epoll event is for: the struct it is embedded in */
typedef enum { TAG_LISTEN, TAG_HOST, TAG_CTR, TAG_FLOW } TagKind;
typedef struct Tag {
    TagKind kind;
    uint32_t armed; /* the events registered; 0: not in the set */
} Tag;
#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct Listener {
    Tag tag;
    uint32_t rev; /* events of the last dispatch */
    int fd;
    uint16_t ctr_port;
    bool udp;
    bool pktinfo; /* bound to every address: answers go from the one the client used */
    int family;
    const NrPort *port; /* the published port it serves */
} Listener;

typedef struct Half {
    int pipe[2]; /* bytes read from one socket, not yet written to the other */
    size_t queued;
    bool full; /* the pipe took no more: read again once it drained some */
    bool eof;  /* the reading side said EOF */
    bool done; /* shut down for writing on the other side */
} Half;

typedef struct Conn {
    Tag tag_host, tag_ctr;
    uint32_t rev_host, rev_ctr;
    int host, ctr; /* ctr -1 while PID 1 has not answered */
    uint32_t id;
    Half up, down; /* host -> ctr, ctr -> host */
} Conn;

typedef struct Dgram {
    struct Dgram *next;
    size_t len;
    unsigned char data[];
} Dgram;

typedef struct Flow {
    Tag tag;
    uint32_t rev;
    struct Flow *prev, *next; /* least recently used last */
    struct Flow *hnext;       /* hash chain */
    int li;                   /* its host socket */
    int ctr;                  /* -1 while PID 1 has not answered */
    uint32_t id;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    union {
        struct in_pktinfo v4;
        struct in6_pktinfo v6;
    } local; /* where the client's datagrams went */
    bool has_local;
    int64_t last_ms;
    Dgram *queue, **queue_tail;
    int n_queued;
} Flow;

struct NrPortfwd {
    Listener listen[MAX_LISTEN];
    int n_listen;
    int ep;      /* epoll: every socket below */
    int slot_ep; /* its place in the poll set of the last fill */
    Conn **conn;
    size_t n_conn, cap_conn;
    Half spare_up, spare_down; /* pipes made before an accept, so none is reset */
    bool have_spare;
    Flow *lru_head, *lru_tail;
    Flow *bucket[FLOW_BUCKETS];
    size_t n_flows;
    uint32_t next_id;
    int sync_fd;
    int n_pending;
    long fd_limit;
    int fd_base;      /* nroot's own descriptors when it started */
    int64_t retry_ms; /* accepting paused until then; 0: not */
    unsigned char buf[65536];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("nroot: error: out of memory\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    return q;
}

void nr_portfwd_poll_grow(struct pollfd **pfd, int *cap, int need)
{
    if (need <= *cap)
        return;
    int n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    *pfd = xrealloc(*pfd, (size_t)n * sizeof **pfd);
    *cap = n;
}

/* ---- the epoll set ---- */

/* register fd for `want` (0: take it out, so a hang-up cannot spin) */
static void arm(NrPortfwd *f, Tag *t, int fd, uint32_t want)
{
    if (t->armed == want)
        return;
    struct epoll_event ev = { .events = want, .data.ptr = t };
    int op = !want ? EPOLL_CTL_DEL : t->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(f->ep, op, fd, &ev) == 0 || op == EPOLL_CTL_DEL)
        t->armed = want;
}

/* ---- binding ---- */

/* a socket of the host bound to HOST:HPORT of p (TCP: listening), or -1 */
static int open_port(const NrPort *p, int family, const void *addr, bool any)
{
    int s = socket(family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    int one = 1;
    /* TCP: a listening socket cannot be bound again, SO_REUSEADDR or not,
     * and a restart must not wait for TIME_WAIT.  UDP: SO_REUSEADDR would
     * let anyone bind the port beside nroot and take the datagrams */
    if (!p->udp)
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(p->host_port);
        memcpy(&a->sin6_addr, addr, sizeof a->sin6_addr);
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (p->udp && any)
            setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(p->host_port);
        memcpy(&a->sin_addr, addr, sizeof a->sin_addr);
        if (p->udp && any)
            setsockopt(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        len = sizeof *a;
    }
    if (bind(s, (struct sockaddr *)&ss, len) < 0 || (!p->udp && listen(s, SOMAXCONN) < 0)) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

static int bind_port(NrPortfwd *f, const NrPort *p, int family, const void *addr, bool any,
                     NrError *err)
{
    if (f->n_listen == MAX_LISTEN)
        return nr_error_msg(err, "too many published ports (at most %d)", MAX_LISTEN);
    int s = open_port(p, family, addr, any);
    if (s < 0)
        return -1;
    f->listen[f->n_listen++] = (Listener){ .tag.kind = TAG_LISTEN,
                                           .fd = s,
                                           .ctr_port = p->ctr_port,
                                           .udp = p->udp,
                                           .pktinfo = p->udp && any,
                                           .family = family,
                                           .port = p };
    return 0;
}

/* ---- --tcp-bypass: a published port served by a host socket ---- */

/* the listeners of p that a socket of `family` bound to p's host address
 * would collide with: an AF_INET6 one not IPV6_V6ONLY takes v4 too */
static bool collides(const Listener *l, const NrPort *p, int family, bool v6only)
{
    return l->port == p && !l->udp && (l->family == family || (family == AF_INET6 && !v6only));
}

unsigned nr_portfwd_release(NrPortfwd *f, const NrPort *p, int family, bool v6only)
{
    unsigned mask = 0;
    for (int i = 0; f && i < f->n_listen && i < 32; i++) {
        Listener *l = &f->listen[i];
        if (l->fd < 0 || !collides(l, p, family, v6only))
            continue;
        arm(f, &l->tag, l->fd, 0);
        close(l->fd);
        l->fd = -1;
        l->rev = 0;
        mask |= 1U << i;
    }
    return mask;
}

void nr_portfwd_restore(NrPortfwd *f, unsigned mask)
{
    for (int i = 0; f && i < f->n_listen && i < 32; i++) {
        Listener *l = &f->listen[i];
        if (!(mask & (1U << i)) || l->fd >= 0)
            continue;
        const NrPort *p = l->port;
        bool any = p->host_family == AF_UNSPEC;
        struct in_addr any4 = { .s_addr = htonl(INADDR_ANY) };
        const void *addr = l->family == AF_INET6
                               ? (any ? (const void *)&in6addr_any : &p->host_addr6)
                               : (any ? (const void *)&any4 : &p->host_addr4);
        l->fd = open_port(p, l->family, addr, any); /* -1: the port stays unserved */
    }
}

int nr_port_error(const NrPort *p, int errnum, NrError *err)
{
    nr_error_msg(err, "cannot publish port '%s': %s", p->spec,
                 errnum == EADDRINUSE || errnum == 0 ? "the host port is in use"
                                                     : strerror(errnum));
    if (errnum == EACCES)
        nr_error_hint(err, "ports below net.ipv4.ip_unprivileged_port_start need privileges");
    return -1;
}

NrPortfwd *nr_portfwd_new(const NrRunConfig *cfg, NrError *err)
{
    NrPortfwd *f = nr_xmalloc(sizeof *f);
    f->sync_fd = -1;
    if ((f->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        nr_error_errno(err, "epoll_create1");
        free(f);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_ports; i++) {
        const NrPort *p = &cfg->ports[i];
        int r;
        if (p->host_family == AF_UNSPEC) {
            struct in_addr any4 = { .s_addr = htonl(INADDR_ANY) };
            r = bind_port(f, p, AF_INET, &any4, true, err);
            /* IPv6 where the host has it */
            if (r == 0 && bind_port(f, p, AF_INET6, &in6addr_any, true, err) < 0 &&
                errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL)
                r = -1;
        } else if (p->host_family == AF_INET6)
            r = bind_port(f, p, AF_INET6, &p->host_addr6, false, err);
        else
            r = bind_port(f, p, AF_INET, &p->host_addr4, false, err);
        if (r < 0) {
            if (!err->code)
                nr_port_error(p, errno, err);
            nr_portfwd_free(f);
            return NULL;
        }
    }
    return f;
}

/* ---- descriptors ---- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 64;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own */
}

/* can nroot open `more` descriptors and keep FD_RESERVE for the rest? */
static bool fds_left(const NrPortfwd *f, int more)
{
    long used =
        f->fd_base + (long)f->n_conn * CONN_FDS + (long)f->n_flows + (f->have_spare ? 4 : 0);
    return used + more + FD_RESERVE <= f->fd_limit;
}

static bool out_of_fds(int e)
{
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

static void pause_accepting(NrPortfwd *f)
{
    f->retry_ms = now_ms() + RETRY_MS;
}

static bool paused(NrPortfwd *f)
{
    if (f->retry_ms && now_ms() >= f->retry_ms)
        f->retry_ms = 0;
    return f->retry_ms != 0;
}

void nr_portfwd_start(NrPortfwd *f, int sync_fd)
{
    f->sync_fd = sync_fd;
    struct rlimit rl;
    f->fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                      ? (long)rl.rlim_cur
                      : 1024;
    f->fd_base = count_fds();
}

static int request(NrPortfwd *f, uint32_t type, uint16_t port, uint32_t *ret_id)
{
    *ret_id = ++f->next_id;
    /* PID 1 answers with NR_SYNC_CONNECTED carrying the socket */
    NrError req = { .code = port, .errnum = (int)*ret_id };
    if (nr_sync_send(f->sync_fd, type, &req) < 0)
        return -1;
    f->n_pending++;
    return 0;
}

/* ---- TCP ---- */

static void half_close(Half *h)
{
    for (int i = 0; i < 2; i++)
        if (h->pipe[i] >= 0)
            close(h->pipe[i]);
    h->pipe[0] = h->pipe[1] = -1;
}

static int half_open(Half *h)
{
    *h = (Half){ .pipe = { -1, -1 } };
    if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    /* a user past fs/pipe-user-pages-soft keeps the default size: fine */
    fcntl(h->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
    return 0;
}

static void conn_drop(NrPortfwd *f, size_t i)
{
    Conn *c = f->conn[i];
    arm(f, &c->tag_host, c->host, 0);
    if (c->ctr >= 0)
        arm(f, &c->tag_ctr, c->ctr, 0);
    close(c->host);
    if (c->ctr >= 0)
        close(c->ctr);
    half_close(&c->up);
    half_close(&c->down);
    free(c);
    f->conn[i] = f->conn[--f->n_conn];
    f->retry_ms = 0; /* a descriptor came free */
}

/* the pipes of the next connection, made before it is accepted */
static bool spare_pipes(NrPortfwd *f)
{
    if (f->have_spare)
        return true;
    if (half_open(&f->spare_up) < 0)
        return false;
    if (half_open(&f->spare_down) < 0) {
        int e = errno;
        half_close(&f->spare_up);
        errno = e;
        return false;
    }
    f->have_spare = true;
    return true;
}

static bool may_accept(NrPortfwd *f)
{
    return f->sync_fd >= 0 && f->n_pending < MAX_PENDING && !paused(f) && fds_left(f, CONN_FDS);
}

static void accept_some(NrPortfwd *f, Listener *l)
{
    for (int k = 0; k < ACCEPT_BATCH && may_accept(f); k++) {
        if (!spare_pipes(f)) {
            if (out_of_fds(errno))
                pause_accepting(f);
            return;
        }
        int s = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (s < 0) {
            if (out_of_fds(errno))
                pause_accepting(f); /* the client waits in the backlog */
            return;
        }
        if (f->n_conn == f->cap_conn) {
            f->cap_conn = f->cap_conn ? 2 * f->cap_conn : 64;
            f->conn = xrealloc(f->conn, f->cap_conn * sizeof *f->conn);
        }
        Conn *c = nr_xmalloc(sizeof *c);
        *c = (Conn){ .tag_host.kind = TAG_HOST,
                     .tag_ctr.kind = TAG_CTR,
                     .host = s,
                     .ctr = -1,
                     .up = f->spare_up,
                     .down = f->spare_down };
        f->conn[f->n_conn++] = c;
        f->have_spare = false;
        if (request(f, NR_SYNC_CONNECT, l->ctr_port, &c->id) < 0) {
            conn_drop(f, f->n_conn - 1);
            return;
        }
    }
}

/* wait for what each side can do next */
static void arm_conn(NrPortfwd *f, Conn *c)
{
    short he = 0, ce = 0;
    if (!c->up.eof && !c->up.full && c->up.queued < PIPE_SIZE)
        he |= POLLIN;
    if (c->down.queued)
        he |= POLLOUT;
    if (!c->down.eof && !c->down.full && c->down.queued < PIPE_SIZE)
        ce |= POLLIN;
    if (c->up.queued)
        ce |= POLLOUT;
    arm(f, &c->tag_host, c->host, (uint32_t)he);
    arm(f, &c->tag_ctr, c->ctr, (uint32_t)ce);
}

/* socket -> pipe as far as it goes; -1 on a broken connection */
static int pull(int from, Half *h)
{
    for (;;) {
        ssize_t r = splice(from, NULL, h->pipe[1], NULL, PIPE_SIZE - h->queued,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (r > 0) {
            h->queued += (size_t)r;
            if (h->queued >= PIPE_SIZE)
                return 0;
            continue;
        }
        if (r == 0) {
            h->eof = true;
            return 0;
        }
        if (errno != EAGAIN)
            return -1;
        /* the socket is empty or the pipe full (it may hold less than
         * PIPE_SIZE): with bytes queued, wait until some are written */
        h->full = h->queued > 0;
        return 0;
    }
}

/* pipe -> socket; at EOF with nothing queued, shut the socket for writing */
static int push(int to, Half *h)
{
    while (h->queued) {
        ssize_t w =
            splice(h->pipe[0], NULL, to, NULL, h->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (w > 0) {
            h->queued -= (size_t)w;
            h->full = false;
            continue;
        }
        return w < 0 && errno == EAGAIN ? 0 : -1;
    }
    if (h->eof && !h->done) {
        shutdown(to, SHUT_WR);
        h->done = true;
    }
    return 0;
}

/* false: the connection ended */
static bool relay_conn(Conn *c)
{
    uint32_t hr = c->rev_host, cr = c->rev_ctr;
    c->rev_host = c->rev_ctr = 0;
    int bad = 0;
    if (hr & (EPOLLIN | EPOLLHUP | EPOLLERR))
        bad |= pull(c->host, &c->up);
    if (cr & (EPOLLIN | EPOLLHUP | EPOLLERR))
        bad |= pull(c->ctr, &c->down);
    bad |= push(c->ctr, &c->up);
    bad |= push(c->host, &c->down);
    return !bad && !(c->up.done && c->down.done);
}

/* ---- UDP ---- */

static size_t flow_hash(int li, const struct sockaddr_storage *peer, socklen_t len)
{
    return (size_t)(nr_fnv1a(peer, len, NR_FNV_INIT ^ (uint64_t)li) % FLOW_BUCKETS);
}

static Flow *flow_find(NrPortfwd *f, int li, const struct sockaddr_storage *peer, socklen_t len)
{
    for (Flow *w = f->bucket[flow_hash(li, peer, len)]; w; w = w->hnext)
        if (w->li == li && w->peer_len == len && memcmp(&w->peer, peer, len) == 0)
            return w;
    return NULL;
}

static void lru_unlink(NrPortfwd *f, Flow *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        f->lru_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        f->lru_tail = w->prev;
    w->prev = w->next = NULL;
}

static void lru_push(NrPortfwd *f, Flow *w)
{
    w->next = f->lru_head;
    if (f->lru_head)
        f->lru_head->prev = w;
    f->lru_head = w;
    if (!f->lru_tail)
        f->lru_tail = w;
}

static void flow_touch(NrPortfwd *f, Flow *w)
{
    w->last_ms = now_ms();
    if (f->lru_head != w) {
        lru_unlink(f, w);
        lru_push(f, w);
    }
}

static void flow_free(NrPortfwd *f, Flow *w)
{
    lru_unlink(f, w);
    if (w->ctr >= 0)
        arm(f, &w->tag, w->ctr, 0);
    for (Flow **pp = &f->bucket[flow_hash(w->li, &w->peer, w->peer_len)]; *pp; pp = &(*pp)->hnext)
        if (*pp == w) {
            *pp = w->hnext;
            break;
        }
    if (w->ctr >= 0)
        close(w->ctr);
    for (Dgram *d = w->queue, *nx; d; d = nx) {
        nx = d->next;
        free(d);
    }
    free(w);
    f->n_flows--;
    f->retry_ms = 0;
}

static Flow *flow_new(NrPortfwd *f, int li, const struct sockaddr_storage *peer, socklen_t len)
{
    if (f->n_pending >= MAX_PENDING || paused(f))
        return NULL;
    /* the least recently used flow gives way */
    while (f->lru_tail && (f->n_flows >= UDP_MAX_FLOWS || !fds_left(f, 1)))
        flow_free(f, f->lru_tail);
    if (!fds_left(f, 1))
        return NULL;
    Flow *w = nr_xmalloc(sizeof *w);
    w->tag.kind = TAG_FLOW;
    w->li = li;
    w->ctr = -1;
    memcpy(&w->peer, peer, len);
    w->peer_len = len;
    w->queue_tail = &w->queue;
    if (request(f, NR_SYNC_CONNECT_UDP, f->listen[li].ctr_port, &w->id) < 0) {
        free(w);
        return NULL;
    }
    size_t h = flow_hash(li, peer, len);
    w->hnext = f->bucket[h];
    f->bucket[h] = w;
    lru_push(f, w);
    w->last_ms = now_ms();
    f->n_flows++;
    return w;
}

static void to_container(Flow *w, const void *data, size_t len)
{
    /* an earlier datagram's ICMP error comes back on the next send: once more */
    for (int tries = 0; tries < 2; tries++)
        if (send(w->ctr, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || errno != ECONNREFUSED)
            return;
}

static void queue_dgram(Flow *w, const void *data, size_t len)
{
    if (w->n_queued >= UDP_QUEUE)
        return; /* dropped, as a full queue would */
    Dgram *d = nr_xmalloc(sizeof *d + len);
    d->len = len;
    memcpy(d->data, data, len);
    *w->queue_tail = d;
    w->queue_tail = &d->next;
    w->n_queued++;
}

/* the local address a datagram was sent to, from IP(V6)_PKTINFO */
static void take_local(Flow *w, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            w->local.v4 = (struct in_pktinfo){ .ipi_spec_dst = pi.ipi_addr };
            w->has_local = true;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            memcpy(&w->local.v6, CMSG_DATA(c), sizeof w->local.v6);
            w->has_local = true;
        }
    }
}

static void from_clients(NrPortfwd *f, int li)
{
    Listener *l = &f->listen[li];
    for (int k = 0; k < UDP_BATCH; k++) {
        struct sockaddr_storage peer;
        memset(&peer, 0, sizeof peer);
        union {
            char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
            struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = f->buf, .iov_len = sizeof f->buf };
        struct msghdr mh = { .msg_name = &peer,
                             .msg_namelen = sizeof peer,
                             .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof u.buf };
        ssize_t n = recvmsg(l->fd, &mh, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            continue; /* an ICMP error for an earlier answer: not this socket's end */
        }
        Flow *w = flow_find(f, li, &peer, mh.msg_namelen);
        if (!w && !(w = flow_new(f, li, &peer, mh.msg_namelen)))
            continue; /* dropped: no room for a new flow now */
        if (l->pktinfo)
            take_local(w, &mh);
        flow_touch(f, w);
        if (w->ctr < 0)
            queue_dgram(w, f->buf, (size_t)n);
        else
            to_container(w, f->buf, (size_t)n);
    }
}

static void to_client(NrPortfwd *f, Flow *w, const void *data, size_t len)
{
    const Listener *l = &f->listen[w->li];
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
    struct msghdr mh = {
        .msg_name = &w->peer, .msg_namelen = w->peer_len, .msg_iov = &iov, .msg_iovlen = 1
    };
    if (l->pktinfo && w->has_local) {
        struct cmsghdr *c = (struct cmsghdr *)u.buf;
        if (l->family == AF_INET6) {
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof w->local.v6);
            memcpy(CMSG_DATA(c), &w->local.v6, sizeof w->local.v6);
            mh.msg_controllen = CMSG_SPACE(sizeof w->local.v6);
        } else {
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof w->local.v4);
            memcpy(CMSG_DATA(c), &w->local.v4, sizeof w->local.v4);
            mh.msg_controllen = CMSG_SPACE(sizeof w->local.v4);
        }
        mh.msg_control = u.buf;
    }
    if (sendmsg(l->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && mh.msg_control && errno == EINVAL) {
        /* sent to a broadcast or multicast address: answer from the default */
        mh.msg_control = NULL;
        mh.msg_controllen = 0;
        sendmsg(l->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

static void from_container(NrPortfwd *f, Flow *w)
{
    for (int k = 0; k < UDP_BATCH; k++) {
        ssize_t n = recv(w->ctr, f->buf, sizeof f->buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ECONNREFUSED)
                continue; /* nothing listened for an earlier datagram */
            return;
        }
        flow_touch(f, w);
        to_client(f, w, f->buf, (size_t)n);
    }
}

/* ---- the loop ---- */

void nr_portfwd_free(NrPortfwd *f)
{
    if (!f)
        return;
    while (f->n_conn)
        conn_drop(f, f->n_conn - 1);
    free(f->conn);
    while (f->lru_head)
        flow_free(f, f->lru_head);
    for (int i = 0; i < f->n_listen; i++)
        if (f->listen[i].fd >= 0)
            close(f->listen[i].fd);
    if (f->have_spare) {
        half_close(&f->spare_up);
        half_close(&f->spare_down);
    }
    close(f->ep);
    free(f);
}

int nr_portfwd_fill(NrPortfwd *f, struct pollfd **pfd, int *cap, int first, int *timeout_ms)
{
    int64_t now = now_ms();
    while (f->lru_tail && now - f->lru_tail->last_ms >= UDP_TIMEOUT_MS)
        flow_free(f, f->lru_tail);
    /* what to wait for, in the epoll set: changes only, so idle costs nothing */
    bool tcp_ok = may_accept(f), udp_ok = f->sync_fd >= 0 && f->n_pending < MAX_PENDING;
    for (int i = 0; i < f->n_listen; i++) {
        Listener *l = &f->listen[i];
        if (l->fd >= 0) /* -1: released to a host socket (--tcp-bypass) */
            arm(f, &l->tag, l->fd, (l->udp ? udp_ok : tcp_ok) ? EPOLLIN : 0);
    }
    for (size_t i = 0; i < f->n_conn; i++)
        if (f->conn[i]->ctr >= 0)
            arm_conn(f, f->conn[i]);
    /* the loop waits for the epoll set as one fd */
    nr_portfwd_poll_grow(pfd, cap, first + 1);
    f->slot_ep = first;
    (*pfd)[first] = (struct pollfd){ .fd = f->ep, .events = POLLIN };
    /* wake for the oldest flow's end, and after a pause */
    int64_t wake = -1;
    if (f->lru_tail)
        wake = f->lru_tail->last_ms + UDP_TIMEOUT_MS - now;
    if (f->retry_ms && (wake < 0 || f->retry_ms - now < wake))
        wake = f->retry_ms - now;
    if (wake >= 0) {
        int ms = wake > 60000 ? 60000 : (int)wake + 1;
        if (*timeout_ms < 0 || ms < *timeout_ms)
            *timeout_ms = ms;
    }
    return 1;
}

void nr_portfwd_dispatch(NrPortfwd *f, const struct pollfd *pfd)
{
    if (!(pfd[f->slot_ep].revents & POLLIN))
        return;
    /* first note every event on its owner: nothing is freed meanwhile */
    struct epoll_event ev[EP_BATCH];
    int n = epoll_wait(f->ep, ev, EP_BATCH, 0);
    for (int i = 0; i < n; i++) {
        Tag *t = ev[i].data.ptr;
        switch (t->kind) {
        case TAG_LISTEN: OWNER(t, Listener, tag)->rev |= ev[i].events; break;
        case TAG_HOST: OWNER(t, Conn, tag_host)->rev_host |= ev[i].events; break;
        case TAG_CTR: OWNER(t, Conn, tag_ctr)->rev_ctr |= ev[i].events; break;
        case TAG_FLOW: OWNER(t, Flow, tag)->rev |= ev[i].events; break;
        }
    }
    for (size_t i = 0; i < f->n_conn;) {
        Conn *c = f->conn[i];
        if (!(c->rev_host | c->rev_ctr) || relay_conn(c))
            i++;
        else
            conn_drop(f, i); /* the last one moved to i */
    }
    /* from the oldest: a flow touched here moves to the head, not seen again */
    for (Flow *w = f->lru_tail, *prev; w; w = prev) {
        prev = w->prev;
        if (w->rev) {
            w->rev = 0;
            from_container(f, w);
        }
    }
    /* last: a new flow may evict an old one */
    for (int i = 0; i < f->n_listen; i++) {
        Listener *l = &f->listen[i];
        if (!l->rev || l->fd < 0)
            continue;
        l->rev = 0;
        if (l->udp)
            from_clients(f, i);
        else
            accept_some(f, l);
    }
}

void nr_portfwd_connected(NrPortfwd *f, const NrSyncMsg *msg)
{
    uint32_t id = (uint32_t)msg->err.errnum;
    if (f->n_pending > 0)
        f->n_pending--;
    for (size_t i = 0; i < f->n_conn; i++) {
        Conn *c = f->conn[i];
        if (c->id != id || c->ctr >= 0)
            continue;
        if (msg->fd < 0)
            conn_drop(f, i); /* the container refused: so does the host side */
        else
            c->ctr = msg->fd;
        return;
    }
    for (Flow *w = f->lru_head; w; w = w->next) {
        if (w->id != id || w->ctr >= 0)
            continue;
        if (msg->fd < 0) {
            flow_free(f, w);
            return;
        }
        w->ctr = msg->fd;
        arm(f, &w->tag, w->ctr, EPOLLIN);
        for (Dgram *d = w->queue, *nx; d; d = nx) {
            nx = d->next;
            to_container(w, d->data, d->len);
            free(d);
        }
        w->queue = NULL;
        w->queue_tail = &w->queue;
        w->n_queued = 0;
        return;
    }
    if (msg->fd >= 0)
        close(msg->fd); /* its flow gave way meanwhile */
}
