/* portfwd.c — published TCP ports without slirp's TCP stack.
 *
 * nroot listens on the host port itself.  For each connection it asks
 * PID 1 of the container (over the sync socket) for a socket connected to
 * the container's port: a socket belongs to the network namespace it was
 * made in, so PID 1 makes it and hands the fd back with SCM_RIGHTS.  nroot
 * then moves the bytes between the two kernel sockets with splice(2),
 * never through user-mode TCP.  UDP ports stay with slirp. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nr-portfwd.h"
#include "nr-run.h"
#include "nr-spawn.h"

#define MAX_LISTEN 32
#define MAX_CONN   128
#define PIPE_SIZE  (1 << 20)

typedef struct Half {
    int    pipe[2];     /* bytes read from one socket, not yet written to the other */
    size_t queued;
    bool   eof;         /* the reading side said EOF */
    bool   done;        /* shut down for writing on the other side */
} Half;

typedef struct Conn {
    int      host, ctr;     /* ctr -1 while PID 1 has not answered */
    uint32_t id;
    Half     up, down;      /* host -> ctr, ctr -> host */
    bool     used;
} Conn;

struct NrPortfwd {
    int      listen[MAX_LISTEN];
    uint16_t ctr_port[MAX_LISTEN];
    int      n_listen;
    Conn     conn[MAX_CONN];
    uint32_t next_id;
    int      sync_fd;
    /* poll slots of the last fill, per listener and connection */
    int      slot_listen[MAX_LISTEN];
    int      slot_host[MAX_CONN], slot_ctr[MAX_CONN];
};

static int listen_on(NrPortfwd *f, const NrPort *p, int family, const void *addr, NrError *err)
{
    if (f->n_listen == MAX_LISTEN)
        return nr_error_msg(err, "too many published ports (at most %d)", MAX_LISTEN);
    int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(p->host_port);
        memcpy(&a->sin6_addr, addr, sizeof a->sin6_addr);
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(p->host_port);
        memcpy(&a->sin_addr, addr, sizeof a->sin_addr);
        len = sizeof *a;
    }
    if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 128) < 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    f->listen[f->n_listen] = s;
    f->ctr_port[f->n_listen++] = p->ctr_port;
    return 0;
}

int nr_port_error(const NrPort *p, int errnum, NrError *err)
{
    nr_error_msg(err, "cannot publish port '%s': %s", p->spec,
                 errnum == EADDRINUSE || errnum == 0 ? "the host port is in use" : strerror(errnum));
    if (errnum == EACCES)
        nr_error_hint(err, "ports below net.ipv4.ip_unprivileged_port_start need privileges");
    return -1;
}

NrPortfwd *nr_portfwd_new(const NrRunConfig *cfg, NrError *err)
{
    NrPortfwd *f = nr_xmalloc(sizeof *f);
    for (size_t i = 0; i < cfg->n_ports; i++) {
        const NrPort *p = &cfg->ports[i];
        if (p->udp)
            continue;
        int r;
        if (p->host_family == AF_UNSPEC) {
            struct in_addr any4 = { .s_addr = htonl(INADDR_ANY) };
            r = listen_on(f, p, AF_INET, &any4, err);
            /* IPv6 where the host has it */
            if (r == 0 && listen_on(f, p, AF_INET6, &in6addr_any, err) < 0 &&
                errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL)
                r = -1;
        } else if (p->host_family == AF_INET6)
            r = listen_on(f, p, AF_INET6, &p->host_addr6, err);
        else
            r = listen_on(f, p, AF_INET, &p->host_addr4, err);
        if (r < 0) {
            if (!err->code)
                nr_port_error(p, errno, err);
            nr_portfwd_free(f);
            return NULL;
        }
    }
    return f;
}

static void half_close(Half *h)
{
    for (int i = 0; i < 2; i++)
        if (h->pipe[i] > 0)
            close(h->pipe[i]);
}

static void conn_close(Conn *c)
{
    if (c->host >= 0)
        close(c->host);
    if (c->ctr >= 0)
        close(c->ctr);
    half_close(&c->up);
    half_close(&c->down);
    memset(c, 0, sizeof *c);
}

void nr_portfwd_free(NrPortfwd *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_listen; i++)
        close(f->listen[i]);
    for (int i = 0; i < MAX_CONN; i++)
        if (f->conn[i].used)
            conn_close(&f->conn[i]);
    free(f);
}

void nr_portfwd_start(NrPortfwd *f, int sync_fd)
{
    f->sync_fd = sync_fd;
}

int nr_portfwd_fill(NrPortfwd *f, struct pollfd *pfd, int first, int max)
{
    int n = first;
    for (int i = 0; i < f->n_listen; i++) {
        f->slot_listen[i] = -1;
        if (n < max && f->sync_fd > 0) {
            f->slot_listen[i] = n;
            pfd[n++] = (struct pollfd){ .fd = f->listen[i], .events = POLLIN };
        }
    }
    for (int i = 0; i < MAX_CONN; i++) {
        Conn *c = &f->conn[i];
        f->slot_host[i] = f->slot_ctr[i] = -1;
        if (!c->used || c->ctr < 0 || n + 2 > max)
            continue;
        short he = 0, ce = 0;
        if (!c->up.eof && c->up.queued < PIPE_SIZE)
            he |= POLLIN;
        if (c->down.queued)
            he |= POLLOUT;
        if (!c->down.eof && c->down.queued < PIPE_SIZE)
            ce |= POLLIN;
        if (c->up.queued)
            ce |= POLLOUT;
        f->slot_host[i] = n;
        pfd[n++] = (struct pollfd){ .fd = c->host, .events = he };
        f->slot_ctr[i] = n;
        pfd[n++] = (struct pollfd){ .fd = c->ctr, .events = ce };
    }
    return n - first;
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
        return errno == EAGAIN ? 0 : -1;
    }
}

/* pipe -> socket; at EOF with nothing queued, shut the socket for writing */
static int push(int to, Half *h)
{
    while (h->queued) {
        ssize_t w = splice(h->pipe[0], NULL, to, NULL, h->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (w > 0) {
            h->queued -= (size_t)w;
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

static void accept_one(NrPortfwd *f, int li)
{
    int s = accept4(f->listen[li], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0)
        return;
    Conn *c = NULL;
    for (int i = 0; i < MAX_CONN && !c; i++)
        if (!f->conn[i].used)
            c = &f->conn[i];
    if (!c) {
        close(s);   /* too many at once: refused like a full backlog */
        return;
    }
    memset(c, 0, sizeof *c);
    c->used = true;
    c->host = s;
    c->ctr = -1;
    c->id = ++f->next_id;
    if (pipe2(c->up.pipe, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(c->down.pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        conn_close(c);
        return;
    }
    fcntl(c->up.pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
    fcntl(c->down.pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
    /* PID 1 answers with NR_SYNC_CONNECTED carrying the socket */
    NrError req = { .code = f->ctr_port[li], .errnum = (int)c->id };
    if (nr_sync_send(f->sync_fd, NR_SYNC_CONNECT, &req) < 0)
        conn_close(c);
}

void nr_portfwd_connected(NrPortfwd *f, const NrSyncMsg *msg)
{
    for (int i = 0; i < MAX_CONN; i++) {
        Conn *c = &f->conn[i];
        if (!c->used || c->id != (uint32_t)msg->err.errnum || c->ctr >= 0)
            continue;
        if (msg->fd < 0)
            conn_close(c);   /* the container refused: so does the host side */
        else
            c->ctr = msg->fd;
        return;
    }
    if (msg->fd >= 0)
        close(msg->fd);
}

void nr_portfwd_dispatch(NrPortfwd *f, struct pollfd *pfd)
{
    for (int i = 0; i < f->n_listen; i++)
        if (f->slot_listen[i] >= 0 && (pfd[f->slot_listen[i]].revents & POLLIN))
            accept_one(f, i);
    for (int i = 0; i < MAX_CONN; i++) {
        Conn *c = &f->conn[i];
        if (!c->used || f->slot_host[i] < 0)
            continue;
        short hr = pfd[f->slot_host[i]].revents, cr = pfd[f->slot_ctr[i]].revents;
        int bad = 0;
        if (hr & (POLLIN | POLLHUP | POLLERR))
            bad |= pull(c->host, &c->up);
        if (cr & (POLLIN | POLLHUP | POLLERR))
            bad |= pull(c->ctr, &c->down);
        bad |= push(c->ctr, &c->up);
        bad |= push(c->host, &c->down);
        if (bad || (c->up.done && c->down.done))
            conn_close(c);
    }
}
