/* SPDX-License-Identifier: Apache-2.0 */
/* netholder.c — the network holder of user networks (nr-usernet.h): one
 * process per user, `nroot _net-holder`, alive while containers are
 * attached.
 *
 * It makes U (unshare, then newuidmap/newgidmap by a child left outside,
 * else the single id), stays in the host's network namespace (libslirp's
 * sockets are the host's), and does every network change in a short-lived
 * child that enters the namespace concerned (setns is per process, and
 * the host's network namespace could not be entered again).
 *
 *   per network S/prefix:  netns (fd kept) -- nr0 S.1 -- tap0 (libslirp:
 *                          S.2 gateway, S.3 DNS) -- nrvN <veth> ethK of a
 *                          container at S.N (N >= 10); dnsmasq on S.1:53
 *                          reading RT/net/hosts-NAME/ (--hostsdir: new
 *                          entries are read when written, no signal) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-fs.h"
#include "nr-net.h"
#include "nr-network.h"
#include "nr-portfwd.h"
#include "nr-rtnl.h"
#include "nr-runtime.h"
#include "nr-slirp.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-usernet.h"
#include "nr-util.h"

#define MAX_NETS 64
#define MAX_CLIENTS 512
#define MAX_ATT 8
#define NET_MTU NR_SLIRP_MTU

typedef struct Net {
    bool used;
    char name[64];
    struct in_addr net;
    int prefix;
    bool internal;
    int nsfd;
    NrSlirp *slirp;
    pid_t dns;
    char hostsdir[PATH_MAX];
    uint8_t *taken; /* one bit per host number */
    int refs;
} Net;

typedef struct Att {
    int net;
    uint32_t host;
    char veth[IF_NAMESIZE];
    char line[900];
} Att;

typedef struct Client {
    int fd;
    Att att[MAX_ATT];
    int n_att;
} Client;

static Net nets[MAX_NETS];
static Client *clients[MAX_CLIENTS];
static int n_clients;
static const char *rt;
static unsigned veth_seq;
static bool have_dnsmasq = true;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nr_log_linev("nroot-net-holder", fmt, ap);
    va_end(ap);
}

/* ---- U: this process's own user namespace ---- */

static int make_userns(NrError *err)
{
    NrIdMap map;
    if (nr_userns_plan(NR_USERNS_AUTO, NR_USERNS_QUIET, &map, err) < 0)
        return -1;
    if (nr_userns_unshare(&map, err) < 0) {
        nr_error_prefix(err, "the network holder's user namespace");
        return -1;
    }
    logmsg("user namespace made (%s mapping)", map.rung);
    return 0;
}

/* ---- work in another network namespace: a child does it ---- */

typedef int (*NsFn)(void *arg, int sock, NrError *err);

/* run fn in a child in network namespace nsfd (-1: a new one); the fds it
 * sends (NR_SYNC_RESULT with an fd) land in ret_fds[0..] */
static int in_netns(int nsfd, NsFn fn, void *arg, int *ret_fds, int max_fds, NrError *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return nr_error_errno(err, "socketpair");
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return nr_error_errno(err, "fork");
    }
    if (pid == 0) {
        close(sv[0]);
        NrError e = { 0 };
        int rc;
        if (nsfd >= 0 ? setns(nsfd, CLONE_NEWNET) < 0 : unshare(CLONE_NEWNET) < 0)
            rc = nr_error_errno(&e, "cannot enter a network namespace");
        else
            rc = fn(arg, sv[1], &e);
        if (rc < 0)
            nr_sync_send(sv[1], NR_SYNC_ERROR, &e);
        _exit(rc < 0 ? 1 : 0);
    }
    close(sv[1]);
    int n = 0, rc = 0;
    NrSyncMsg m;
    while (nr_sync_recv(sv[0], &m) == 1) {
        if (m.type == NR_SYNC_ERROR) {
            *err = m.err;
            rc = -1;
        }
        if (m.fd >= 0) {
            if (n < max_fds)
                ret_fds[n++] = m.fd;
            else
                close(m.fd);
        }
    }
    close(sv[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (rc == 0 && (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0))
        rc = nr_error_msg(err, "a network set-up step failed");
    if (rc < 0)
        for (int i = 0; i < n; i++)
            close(ret_fds[i]);
    return rc;
}

static struct in_addr host_addr(const Net *n, uint32_t host)
{
    return (struct in_addr){ .s_addr = htonl(ntohl(n->net.s_addr) + host) };
}

static int lo_up(NrError *err)
{
    nr_autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return nr_error_errno(err, "cannot read the flags of lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return nr_error_errno(err, "cannot bring lo up");
    return 0;
}

/* in the network's new namespace: nr0 at S.1, tap0 on it unless internal;
 * sends the namespace's fd, then the tap's */
static int build_net(void *arg, int sock, NrError *err)
{
    const Net *n = arg;
    nr_autoclose int s = nr_rtnl_open(err);
    if (s < 0 || lo_up(err) < 0 || nr_rtnl_bridge(s, "nr0", err) < 0 ||
        nr_rtnl_addr(s, "nr0", host_addr(n, 1), n->prefix, err) < 0)
        return -1;
    nr_autoclose int tap = -1;
    if (!n->internal) {
        tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (tap < 0)
            return nr_error_errno(err, "cannot open /dev/net/tun");
        struct ifreq ifr = { 0 };
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "tap0");
        if (ioctl(tap, TUNSETIFF, &ifr) < 0)
            return nr_error_errno(err, "cannot create tap0");
        if (nr_rtnl_link_up(s, "tap0", "nr0", NET_MTU, err) < 0)
            return -1;
    }
    if (nr_rtnl_link_up(s, "nr0", NULL, 0, err) < 0)
        return -1;
    nr_autoclose int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns < 0 || nr_sync_send_fd(sock, NR_SYNC_RESULT, ns) < 0 ||
        (tap >= 0 && nr_sync_send_fd(sock, NR_SYNC_RESULT, tap) < 0))
        return nr_error_errno(err, "cannot hand the network's namespace over");
    return 0;
}

static pid_t start_dnsmasq(const Net *n)
{
    const char *prog = nr_usernet_dnsmasq();
    if (!prog) {
        if (have_dnsmasq)
            logmsg("dnsmasq is not installed: container names do not resolve (apt-get install "
                   "dnsmasq-base)");
        have_dnsmasq = false;
        return 0;
    }
    char server[64], hostsdir[PATH_MAX + 16], listen[64];
    char s1[INET_ADDRSTRLEN], s3[INET_ADDRSTRLEN];
    struct in_addr a1 = host_addr(n, 1), a3 = host_addr(n, 3);
    inet_ntop(AF_INET, &a1, s1, sizeof s1);
    inet_ntop(AF_INET, &a3, s3, sizeof s3);
    snprintf(server, sizeof server, "--server=%s", s3);
    snprintf(listen, sizeof listen, "--listen-address=%s", s1);
    snprintf(hostsdir, sizeof hostsdir, "--hostsdir=%s", n->hostsdir);
    const char *argv[] = { "dnsmasq",
                           "--keep-in-foreground",
                           "--conf-file=/dev/null",
                           "--no-hosts",
                           hostsdir,
                           "--no-resolv",
                           "--user=root",
                           "--group=", /* no setgroups: a single-id U denies it */
                           "--bind-interfaces",
                           "--interface=nr0",
                           listen,
                           "--pid-file=",
                           "--log-facility=-",
                           "--domain-needed",
                           n->internal ? NULL : server,
                           NULL };
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent || setns(n->nsfd, CLONE_NEWNET) < 0)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* every container of the network talks to it: it keeps the right
         * to bind port 53 and nothing else of U's (root of U owns every
         * network and container namespace of the holder) */
        umask(077);
        if (chdir("/") < 0 || nr_caps_keep_only(CAP_NET_BIND_SERVICE) < 0)
            _exit(127);
        execv(prog, (char **)argv);
        _exit(127);
    }
    if (pid < 0)
        logmsg("cannot start dnsmasq: %s", strerror(errno));
    return pid < 0 ? 0 : pid;
}

static void write_hosts(const Net *n)
{
    int idx = (int)(n - nets);
    char tmp[PATH_MAX + 16], dst[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s/hosts-%s.tmp", rt, n->name);
    snprintf(dst, sizeof dst, "%s/hosts", n->hostsdir);
    FILE *f = fopen(tmp, "we");
    if (!f) {
        logmsg("cannot write '%s': %s", tmp, strerror(errno));
        return;
    }
    for (int c = 0; c < n_clients; c++)
        for (int i = 0; i < clients[c]->n_att; i++)
            if (clients[c]->att[i].net == idx)
                fprintf(f, "%s\n", clients[c]->att[i].line);
    if (fclose(f) != 0 || rename(tmp, dst) < 0)
        logmsg("cannot write '%s': %s", dst, strerror(errno));
}

static void net_down(Net *n)
{
    if (n->dns > 0) {
        kill(n->dns, SIGTERM);
        while (waitpid(n->dns, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    nr_slirp_free(n->slirp);
    if (n->nsfd >= 0)
        close(n->nsfd);
    char f[PATH_MAX + 16];
    snprintf(f, sizeof f, "%s/hosts", n->hostsdir);
    unlink(f);
    rmdir(n->hostsdir);
    free(n->taken);
    logmsg("network %s down", n->name);
    memset(n, 0, sizeof *n);
    n->nsfd = -1;
}

/* the network NAME NET/PREFIX, brought up if no container uses it yet */
static int net_up(const char *name, struct in_addr net, int prefix, bool internal, NrError *err)
{
    int free_slot = -1;
    for (int i = 0; i < MAX_NETS; i++) {
        if (nets[i].used && strcmp(nets[i].name, name) == 0) {
            if (nets[i].net.s_addr != net.s_addr || nets[i].prefix != prefix ||
                nets[i].internal != internal)
                return nr_error_msg(err,
                                    "network '%s' is in use with another subnet or mode: its "
                                    "containers must end before it changes",
                                    name);
            return i;
        }
        if (!nets[i].used && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0)
        return nr_error_msg(err, "too many networks in use (%d)", MAX_NETS);
    Net *n = &nets[free_slot];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->net = net;
    n->prefix = prefix;
    n->internal = internal;
    n->nsfd = -1;
    snprintf(n->hostsdir, sizeof n->hostsdir, "%s/hosts-%s", rt, name);
    int fds[2] = { -1, -1 };
    if (in_netns(-1, build_net, n, fds, 2, err) < 0)
        return -1;
    n->nsfd = fds[0];
    n->used = true;
    n->taken = calloc(((size_t)1 << (32 - prefix)) / 8 + 1, 1);
    if (!n->taken) {
        net_down(n);
        return nr_error_msg(err, "out of memory");
    }
    if (!internal && !(n->slirp = nr_slirp_new_net(fds[1], net, prefix, err))) {
        close(fds[1]);
        net_down(n);
        return -1;
    }
    if (mkdir(n->hostsdir, 0700) < 0 && errno != EEXIST) {
        nr_error_errno(err, "cannot create '%s'", n->hostsdir);
        net_down(n);
        return -1;
    }
    write_hosts(n);
    n->dns = start_dnsmasq(n);
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &net, a, sizeof a);
    logmsg("network %s up: %s/%d%s", name, a, prefix, internal ? ", internal" : "");
    return free_slot;
}

/* ---- attaching a container ---- */

typedef struct Plug {
    const Net *n;
    int ctr_ns;
    const char *veth, *ifname;
    uint32_t host;
    bool route;
} Plug;

/* in the network's namespace: the veth pair, its end on nr0; then in the
 * container's: its end addressed, up, routed */
static int plug(void *arg, int sock, NrError *err)
{
    const Plug *p = arg;
    nr_autoclose int s = nr_rtnl_open(err);
    if (s < 0 || nr_rtnl_veth(s, p->veth, p->ifname, p->ctr_ns, NET_MTU, err) < 0 ||
        nr_rtnl_link_up(s, p->veth, "nr0", 0, err) < 0)
        return -1;
    if (setns(p->ctr_ns, CLONE_NEWNET) < 0)
        return nr_error_errno(err, "cannot enter the container's network namespace");
    nr_autoclose int c = nr_rtnl_open(err);
    if (c < 0 || nr_rtnl_addr(c, p->ifname, host_addr(p->n, p->host), p->n->prefix, err) < 0 ||
        nr_rtnl_link_up(c, p->ifname, NULL, 0, err) < 0 ||
        (p->route && nr_rtnl_default_route(c, p->ifname, host_addr(p->n, 2), err) < 0))
        return -1;
    return 0;
}

static int unplug(void *arg, int sock, NrError *err)
{
    nr_autoclose int s = nr_rtnl_open(err);
    return s < 0 ? -1 : nr_rtnl_link_del(s, arg, err);
}

static bool taken(const Net *n, uint32_t h)
{
    return n->taken[h / 8] & (1u << (h % 8));
}

static void set_taken(Net *n, uint32_t h, bool on)
{
    if (on)
        n->taken[h / 8] |= (uint8_t)(1u << (h % 8));
    else
        n->taken[h / 8] &= (uint8_t) ~(1u << (h % 8));
}

static void release(Client *c, Att *a)
{
    Net *n = &nets[a->net];
    NrError e = { 0 };
    if (a->veth[0] && n->nsfd >= 0 && in_netns(n->nsfd, unplug, a->veth, NULL, 0, &e) < 0)
        logmsg("%s", e.msg);
    set_taken(n, a->host, false);
    a->line[0] = '\0';
    /* the entry leaves the file before the network may go */
    *a = c->att[--c->n_att];
    write_hosts(n);
    if (--n->refs == 0)
        net_down(n);
}

/* a container's name, id, host name or alias: letters, digits, '.', '_', '-' */
static bool host_word(const char *w)
{
    size_t n = strlen(w);
    if (!n || n > 253)
        return false;
    for (const char *p = w; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

static int attach(Client *c, NrSyncMsg *m, char *ret_addr, size_t size, NrError *err)
{
    char *f[8 + 16];
    int nf = 0;
    char *rest = m->err.msg, *t;
    while ((t = strsep(&rest, "\t")) && nf < (int)(sizeof f / sizeof f[0]))
        f[nf++] = t;
    struct in_addr net;
    uint32_t prefix;
    if (nf < 8 || !nr_network_name_valid(f[0]) || inet_pton(AF_INET, f[1], &net) != 1 ||
        !nr_parse_u32(f[2], &prefix) || prefix < 8 || prefix > 30 || m->fd < 0 ||
        ioctl(m->fd, NS_GET_NSTYPE) != CLONE_NEWNET || strlen(f[5]) >= IF_NAMESIZE ||
        strncmp(f[5], "eth", 3) != 0)
        return nr_error_msg(err, "bad ATTACH message");
    /* the names go into dnsmasq's hosts file: name-like words only */
    for (int i = 6; i < nf; i++)
        if (f[i][0] && !host_word(f[i]))
            f[i] = "";
    if (c->n_att == MAX_ATT)
        return nr_error_msg(err, "at most %d networks per container", MAX_ATT);
    int idx = net_up(f[0], net, (int)prefix, strcmp(f[3], "1") == 0, err);
    if (idx < 0)
        return -1;
    Net *n = &nets[idx];
    n->refs++;
    uint32_t last = (1u << (32 - prefix)) - 2, h;
    for (h = NR_USERNET_FIRST_HOST; h <= last && taken(n, h); h++)
        ;
    if (h > last) {
        if (--n->refs == 0)
            net_down(n);
        return nr_error_msg(err, "network '%s' has no address left", n->name);
    }
    Att *a = &c->att[c->n_att++];
    memset(a, 0, sizeof *a);
    a->net = idx;
    a->host = h;
    set_taken(n, h, true);
    snprintf(a->veth, sizeof a->veth, "nrv%u", veth_seq++);
    Plug p = { .n = n,
               .ctr_ns = m->fd,
               .veth = a->veth,
               .ifname = f[5],
               .host = h,
               .route = strcmp(f[4], "1") == 0 && !n->internal };
    if (in_netns(n->nsfd, plug, &p, NULL, 0, err) < 0) {
        release(c, a);
        return -1;
    }
    struct in_addr addr = host_addr(n, h);
    char s[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, s, sizeof s);
    int off = snprintf(a->line, sizeof a->line, "%s", s);
    for (int i = 6; i < nf && off < (int)sizeof a->line; i++)
        if (f[i][0])
            off += snprintf(a->line + off, sizeof a->line - (size_t)off, " %s", f[i]);
    write_hosts(n);
    snprintf(ret_addr, size, "%s", s);
    logmsg("%s attached to %s at %s (%s, %s)", f[6][0] ? f[6] : f[7], n->name, s, a->veth, f[7]);
    return 0;
}

static void drop_client(int i)
{
    Client *c = clients[i];
    while (c->n_att > 0)
        release(c, &c->att[c->n_att - 1]);
    close(c->fd);
    free(c);
    clients[i] = clients[--n_clients];
}

static void on_client(int i)
{
    Client *c = clients[i];
    NrSyncMsg m;
    int r = nr_sync_recv(c->fd, &m);
    if (r != 1) {
        drop_client(i);
        return;
    }
    NrError e = { 0 };
    char addr[64] = "";
    if (m.type == NR_NET_ATTACH && attach(c, &m, addr, sizeof addr, &e) == 0) {
        NrError ok = { 0 };
        snprintf(ok.msg, sizeof ok.msg, "%s", addr);
        nr_sync_send(c->fd, NR_NET_ATTACHED, &ok);
    } else {
        if (!e.code)
            nr_error_msg(&e, "unexpected message %u", m.type);
        logmsg("%s", e.msg);
        nr_sync_send(c->fd, NR_SYNC_ERROR, &e);
    }
    if (m.fd >= 0)
        close(m.fd);
}

static int userns_fd = -1;

static void accept_clients(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (n_clients == MAX_CLIENTS) {
            NrError e = { 0 };
            nr_error_msg(&e, "the network holder serves %d containers at most", MAX_CLIENTS);
            nr_sync_send(fd, NR_SYNC_ERROR, &e);
            close(fd);
            continue;
        }
        Client *c = nr_xmalloc(sizeof *c);
        memset(c, 0, sizeof *c);
        c->fd = fd;
        clients[n_clients++] = c;
        nr_sync_send_fd(fd, NR_NET_HELLO, userns_fd);
    }
}

/* no client left: end, unless one came meanwhile (under the clients' lock) */
static bool may_end(int lfd, int lockfd, const char *sock)
{
    if (flock(lockfd, LOCK_EX | LOCK_NB) < 0)
        return false;
    accept_clients(lfd);
    bool end = n_clients == 0;
    if (end)
        unlink(sock);
    flock(lockfd, LOCK_UN);
    return end;
}

/* RT/net/hosts-NAME/ and hosts-NAME.tmp of a holder that was killed: no
 * network is up yet, none is this holder's */
static void sweep_hosts(const char *dir)
{
    static const char *const hosts[] = { "hosts-", NULL };
    nr_fs_sweep(dir, hosts);
}

int nr_netholder_main(void)
{
    NrError err = { 0 };
    prctl(PR_SET_NAME, "nroot-netholder", 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    for (int i = 0; i < MAX_NETS; i++)
        nets[i].nsfd = -1;
    int lfd = 3;
    fcntl(lfd, F_SETFD, FD_CLOEXEC);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    rt = nr_runtime_subdir("net", &err);
    if (!rt) {
        logmsg("%s", err.msg);
        return NR_EXIT_FAILURE;
    }
    char sock[PATH_MAX + 8], lock[PATH_MAX + 8];
    snprintf(sock, sizeof sock, "%s/sock", rt);
    snprintf(lock, sizeof lock, "%s/lock", rt);
    int lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0)
        nr_error_errno(&err, "cannot open '%s'", lock); /* it could never end */
    else
        sweep_hosts(rt); /* what a killed holder left */
    if (lockfd < 0 || make_userns(&err) < 0 ||
        (userns_fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC)) < 0) {
        if (!err.code)
            nr_error_errno(&err, "cannot open the holder's user namespace");
        logmsg("%s", err.msg);
        /* the waiting clients hear why */
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
            nr_sync_send(fd, NR_SYNC_ERROR, &err);
            close(fd);
        }
        unlink(sock);
        return NR_EXIT_FAILURE;
    }
    logmsg("started");
    struct pollfd *pfd = NULL;
    int cap = 0;
    for (;;) {
        int timeout = -1;
        nr_portfwd_poll_grow(&pfd, &cap, 1 + n_clients);
        pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        for (int i = 0; i < n_clients; i++)
            pfd[1 + i] = (struct pollfd){ .fd = clients[i]->fd, .events = POLLIN };
        int n = 1 + n_clients, nc = n_clients;
        for (int i = 0; i < MAX_NETS; i++) {
            if (nets[i].used && nets[i].slirp)
                n += nr_slirp_fill(nets[i].slirp, &pfd, &cap, n, &timeout);
        }
        if (n_clients == 0 && (timeout < 0 || timeout > 50))
            timeout = 50; /* the lock was busy: a client is coming */
        int pr = poll(pfd, (nfds_t)n, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        for (int i = 0; i < MAX_NETS; i++)
            if (nets[i].used && nets[i].slirp)
                nr_slirp_dispatch(nets[i].slirp, pr < 0);
        if (pr > 0) {
            /* from the last: a dropped client takes the last one's place */
            for (int i = nc - 1; i >= 0; i--)
                if (pfd[1 + i].revents)
                    on_client(i);
            if (pfd[0].revents & POLLIN)
                accept_clients(lfd);
        }
        /* dnsmasq that died (reaped; its network goes on without names) */
        int ws;
        pid_t dead;
        while ((dead = waitpid(-1, &ws, WNOHANG)) > 0)
            for (int i = 0; i < MAX_NETS; i++)
                if (nets[i].used && nets[i].dns == dead) {
                    logmsg("dnsmasq of network %s ended (status %d)", nets[i].name, ws);
                    nets[i].dns = 0;
                }
        if (n_clients == 0 && may_end(lfd, lockfd, sock))
            break;
    }
    free(pfd);
    for (int i = 0; i < MAX_NETS; i++)
        if (nets[i].used)
            net_down(&nets[i]);
    logmsg("no container left: exiting");
    return 0;
}
