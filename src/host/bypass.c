/* SPDX-License-Identifier: Apache-2.0 */
/* bypass.c — --tcp-bypass: the payload's TCP connections to the outside
 * carried by sockets of the host's network namespace, at host speed, not
 * by libslirp's user-mode TCP (the way bypass4netns does it).
 *
 * The payload runs under one more seccomp filter (seccomp/bypass.c) whose
 * connect answer is USER_NOTIF; its listener came over the sync socket.
 * Here, in nroot's loop, for each notification:
 *   1. the target's socket (pidfd_getfd) and sockaddr (process_vm_readv),
 *      then SECCOMP_IOCTL_NOTIF_ID_VALID: the pid was still the caller's;
 *   2. a socket of the container's namespace, TCP, unbound, unconnected,
 *      to an address outside the container (nr_bypass_classify): a new
 *      socket here, the options that matter copied, connected by nroot to
 *      the address it checked (never CONTINUE after a check: the caller
 *      could rewrite the sockaddr before the kernel reads it again), put
 *      in place of the old with ADDFD/SETFD, the answer the connect's;
 *      a blocking connect is waited for in the loop, not here;
 *   3. a socket of the host's namespace (swapped before): never
 *      CONTINUE, which would reach anything the host reaches; nroot
 *      connects a fresh host socket itself with the same checks, or
 *      refuses (EPERM); connect(AF_UNSPEC) on it gives the caller a
 *      fresh socket of the container's in its place (unspec_swap, made
 *      by the maker, a process of nroot's in the container's user and
 *      network namespaces), so no host socket is ever unconnected by it;
 *   4. anything else (UDP, unix, an address inside): the container's own
 *      socket, connected by nroot to the address read; a non-INET
 *      socket's connect is CONTINUEd (see below).
 * bind and listen come to nroot too, always (seccomp/bypass.c).  A host
 * socket can leave the connecting state in the caller's hands without
 * any race: a nonblocking connect refused (RST), or shut down while its
 * SYN is unanswered; the kernel would then bind it to any address and
 * port of the host's, and listen on it in the host's namespace
 * (autobound to 0.0.0.0), taking the host's and the LAN's clients.
 *   bind (handle_bind): a host socket is never bound for the caller
 *   (EPERM, or the kernel's EINVAL for one connected or listening).
 *   Where the run publishes TCP ports, a TCP socket of the container's,
 *   unbound, bound to a published port's CPORT at an address the relay
 *   reaches (any, 10.0.2.100, fd00::100) gets a host socket bound by
 *   nroot to the published host address and port, whose relay listeners
 *   are released to it (portfwd.c): the server accepts the host's
 *   clients itself.  Every other bind of an INET socket is nroot's bind
 *   of the caller's own socket to the address read (the caller's
 *   CAP_NET_BIND_SERVICE, in the user namespace owning the socket's
 *   network namespace, checked below 1024).
 *   listen (handle_listen): nroot's own listen(2) of the INET socket it
 *   looked at, never CONTINUE (the kernel would look the descriptor up
 *   again, where another thread may have dup2()ed a host socket); a host
 *   socket listens only if swap_bind bound it for a published port (its
 *   SO_COOKIE, never reused; the last N_PUBLISHED remembered), every
 *   other one is EPERM.
 * CONTINUE stays for the connect, bind and listen of non-INET sockets:
 * a unix path resolves in the caller's root and a bind creates it with
 * the caller's credentials, and listen() records its caller's
 * credentials in the listener (unix_listen: SO_PEERCRED that clients
 * read; nroot's listen would show them nroot's pid, 0 inside, and its
 * uid).  The kernel looks the descriptor up again after a CONTINUE: a
 * second thread may have put a host socket there (dup2) meanwhile.  What
 * that race can do is bounded: the only host sockets that are not
 * connecting, connected or listening are those that left that state
 * (above: refused, or shut down during SYN_SENT; AF_UNSPEC no longer
 * makes one), and such a socket, raced into a unix connect, is connected
 * unchecked once; raced into a bind, takes a host address and port; raced
 * into a listen, listens on the host.  Every host socket nroot swaps for
 * a connect carries a locked socket filter (lock_to_peer) that takes
 * packets from the checked peer's address only, and the kernel runs it
 * for a listener too (tcp_filter before the state): that connection, or
 * that listener, answers nothing but the peer the command was allowed to
 * reach, where the kernel lets users attach socket filters.  (Linux 6.18
 * refuses the listen of a socket that was connecting anyway, EINVAL;
 * older kernels may not.) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nr-bypass.h"
#include "nr-plan.h"
#include "nr-portfwd.h"
#include "nr-spawn.h"
#include "nr-util.h"

#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif
#define I386_SOCKETCALL 102 /* i386's multiplexer; SYS_BIND is its call 2, SYS_CONNECT 3 */
#define I386_SYS_BIND 2
#define I386_SYS_CONNECT 3
#define I386_SYS_LISTEN 4
#define MAX_PENDING 1024
#define N_PUBLISHED 64 /* the published ports' host sockets remembered */
#define NR_UNPRIVILEGED_PORT_START 1024

typedef struct Pending {
    uint64_t id;
    int host;     /* our descriptor of the host socket, nonblocking while under way */
    int target;   /* the caller's fd number */
    bool swap;    /* put host at target when connected (else it is there already) */
    bool cloexec; /* the caller's fd had FD_CLOEXEC */
    bool block;   /* the caller's socket was blocking: restored before the answer */
    struct sockaddr_storage to;
    socklen_t to_len;
} Pending;

struct NrBypass {
    int listener;
    bool host_loopback;
    const NrPort *ports; /* the published ports (bind: the TCP ones) */
    size_t n_ports;
    NrPortfwd *fwd;              /* their relay: a port's listeners released to a swap */
    struct stat ctr_ns, host_ns; /* the container's network namespace, nroot's */
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    size_t req_size;
    Pending *pending;
    size_t n_pending;
    size_t max_pending; /* MAX_PENDING, or less where RLIMIT_NOFILE is low */
    int first;          /* the listener's index in the poll set; the pending follow */
    time_t next_check;
    /* the host sockets swap_bind bound for a published port (their
     * SO_COOKIE, the last N_PUBLISHED): the only host sockets that listen */
    uint64_t published[N_PUBLISHED];
    unsigned n_published;
    int userns, netns; /* the container's (ours), for the maker */
    int maker;         /* the maker's socket (-1: not started), its pid */
    pid_t maker_pid;
    int spare[2]; /* a TCP socket of the container's made ahead, v4 and v6 (-1: none) */
};

/* ---- where a connection goes ---- */

static bool v4_inside(uint32_t a /* host order */)
{
    return (a >> 24) == 127 || (a >> 24) == 0 || (a & 0xffffff00U) == 0x0a000200U;
}

static bool v6_inside(const struct in6_addr *a)
{
    static const uint8_t fd00[8] = { 0xfd, 0 };
    return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
           memcmp(a->s6_addr, fd00, sizeof fd00) == 0;
}

NrBypassDest nr_bypass_classify(const struct sockaddr_storage *sa, socklen_t len,
                                bool host_loopback, struct sockaddr_storage *ret_to,
                                socklen_t *ret_len)
{
    memcpy(ret_to, sa, sizeof *ret_to);
    *ret_len = len;
    if (sa->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in *in = (struct sockaddr_in *)ret_to;
        uint32_t a = ntohl(in->sin_addr.s_addr);
        if (a == 0x0a000202U && host_loopback) {
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return NR_BYPASS_HOST;
        }
        return v4_inside(a) ? NR_BYPASS_PLAIN : NR_BYPASS_HOST;
    }
    if (sa->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret_to;
        struct in6_addr *a = &in6->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            uint32_t v4;
            memcpy(&v4, &a->s6_addr[12], 4);
            v4 = ntohl(v4);
            if (v4 == 0x0a000202U && host_loopback) {
                uint32_t lo = htonl(INADDR_LOOPBACK);
                memcpy(&a->s6_addr[12], &lo, 4);
                return NR_BYPASS_HOST;
            }
            return v4_inside(v4) ? NR_BYPASS_PLAIN : NR_BYPASS_HOST;
        }
        static const uint8_t fd00_2[16] = { 0xfd, [15] = 2 };
        if (memcmp(a->s6_addr, fd00_2, 16) == 0 && host_loopback) {
            *a = in6addr_loopback;
            return NR_BYPASS_HOST;
        }
        return v6_inside(a) ? NR_BYPASS_PLAIN : NR_BYPASS_HOST;
    }
    return NR_BYPASS_PLAIN;
}

/* ---- the kernel ---- */

const char *nr_bypass_unsupported(void)
{
    struct seccomp_notif_sizes sizes;
    if (seccomp_api_get() < 5)
        return "libseccomp's API level is below 5 (no user notification)";
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
        return "the kernel has no seccomp user notification (Linux 5.0)";
    /* SECCOMP_IOCTL_NOTIF_ADDFD with SETFD came in 5.9: nothing to ask
     * the kernel without a listener, so its version */
    struct utsname u;
    unsigned major = 0, minor = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2 ||
        (major < 5 || (major == 5 && minor < 9)))
        return "the kernel has no SECCOMP_IOCTL_NOTIF_ADDFD (Linux 5.9)";
    return NULL;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9 */
#endif

/* a pidfd of the calling thread (its own fd table, where a thread unshared
 * it); before Linux 6.9 only a thread group's leader has one, so the
 * group's (its threads share the table but for CLONE_FILES-less ones) */
static int pidfd_open_(pid_t tid)
{
    int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
    if (fd >= 0 || errno != EINVAL)
        return fd;
    fd = (int)syscall(SYS_pidfd_open, tid, 0);
    if (fd >= 0 || errno != EINVAL)
        return fd;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    nr_autoclose int f = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = f >= 0 ? read(f, buf, sizeof buf - 1) : -1;
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *t = strstr(buf, "\nTgid:");
    long tgid = t ? strtol(t + 6, NULL, 10) : 0;
    /* the leader's table must be the thread's: a thread with a table of
     * its own (CLONE_FILES unshared) would show nroot one socket and have
     * the kernel use another */
    if (tgid <= 0 || syscall(SYS_kcmp, tid, (pid_t)tgid, KCMP_FILES, 0, 0) != 0) {
        errno = EPERM;
        return -1;
    }
    return (int)syscall(SYS_pidfd_open, (pid_t)tgid, 0);
}

static int pidfd_getfd_(int pidfd, int fd)
{
    return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static void answer(NrBypass *b, uint64_t id, int error, bool cont)
{
    struct seccomp_notif_resp *r = b->resp;
    memset(r, 0, sizeof *r);
    r->id = id;
    r->error = cont ? 0 : error ? -error : 0;
    r->val = 0;
    r->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
    /* ENOENT: the caller died or was interrupted; nothing to tell */
    (void)seccomp_notify_respond(b->listener, r);
}

/* the caller's fd had FD_CLOEXEC (its fdinfo's flags, octal) */
static bool target_cloexec(pid_t pid, int fd)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
    nr_autoclose int f = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = f >= 0 ? read(f, buf, sizeof buf - 1) : -1;
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *p = strstr(buf, "flags:");
    unsigned long flags = p ? strtoul(p + 6, NULL, 8) : 0;
    return (flags & O_CLOEXEC) != 0;
}

/* which namespace the socket lives in: 1 the container's, 2 the host's
 * (or one nroot may not look at, which only the host's can be), 0 another
 * (a namespace the container made itself) */
enum { NS_OTHER, NS_CTR, NS_HOST };
static int socket_ns(NrBypass *b, int sock)
{
    int ns = ioctl(sock, SIOCGSKNS);
    if (ns < 0)
        return NS_HOST;
    struct stat st;
    int rc = fstat(ns, &st);
    close(ns);
    if (rc < 0)
        return NS_HOST;
    if (st.st_dev == b->ctr_ns.st_dev && st.st_ino == b->ctr_ns.st_ino)
        return NS_CTR;
    if (st.st_dev == b->host_ns.st_dev && st.st_ino == b->host_ns.st_ino)
        return NS_HOST;
    return NS_OTHER;
}

/* ---- the new socket ---- */

typedef struct Opt {
    int level, name;
    bool buf; /* SO_SNDBUF, SO_RCVBUF: read back doubled */
} Opt;

static const Opt opts[] = {
    { SOL_SOCKET, SO_REUSEADDR, false },      { SOL_SOCKET, SO_REUSEPORT, false },
    { SOL_SOCKET, SO_KEEPALIVE, false },      { SOL_SOCKET, SO_OOBINLINE, false },
    { SOL_SOCKET, SO_SNDBUF, true },          { SOL_SOCKET, SO_RCVBUF, true },
    { SOL_SOCKET, SO_RCVLOWAT, false },       { SOL_SOCKET, SO_PRIORITY, false },
    { IPPROTO_TCP, TCP_NODELAY, false },      { IPPROTO_TCP, TCP_KEEPIDLE, false },
    { IPPROTO_TCP, TCP_KEEPINTVL, false },    { IPPROTO_TCP, TCP_KEEPCNT, false },
    { IPPROTO_TCP, TCP_USER_TIMEOUT, false }, { IPPROTO_TCP, TCP_CORK, false },
    { IPPROTO_TCP, TCP_MAXSEG, false },
};

/* what differs from a fresh socket's value is copied; a value that cannot
 * be taken over sends the call down the plain path.  From a host socket
 * (a reconnect), whose values the kernel set too (the MSS it negotiated),
 * what cannot be taken over is left (lenient) */
static int copy_opts(int from, int to, int family, bool lenient)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        int a = 0, z = 0;
        socklen_t la = sizeof a, lz = sizeof z;
        if (getsockopt(from, opts[i].level, opts[i].name, &a, &la) < 0 ||
            getsockopt(to, opts[i].level, opts[i].name, &z, &lz) < 0)
            return -1;
        if (a == z)
            continue;
        int v = opts[i].buf ? a / 2 : a;
        if (setsockopt(to, opts[i].level, opts[i].name, &v, sizeof v) < 0 && !lenient)
            return -1;
    }
    struct linger lg = { 0 };
    socklen_t ll = sizeof lg;
    if (getsockopt(from, SOL_SOCKET, SO_LINGER, &lg, &ll) < 0)
        return -1;
    if (lg.l_onoff && setsockopt(to, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
        return -1;
    static const int timeouts[] = { SO_SNDTIMEO, SO_RCVTIMEO };
    for (size_t i = 0; i < 2; i++) {
        struct timeval tv = { 0 };
        socklen_t lt = sizeof tv;
        if (getsockopt(from, SOL_SOCKET, timeouts[i], &tv, &lt) < 0)
            return -1;
        if ((tv.tv_sec || tv.tv_usec) &&
            setsockopt(to, SOL_SOCKET, timeouts[i], &tv, sizeof tv) < 0)
            return -1;
    }
    if (family == AF_INET6) {
        int a = 0;
        socklen_t la6 = sizeof a;
        if (getsockopt(from, IPPROTO_IPV6, IPV6_V6ONLY, &a, &la6) < 0 ||
            setsockopt(to, IPPROTO_IPV6, IPV6_V6ONLY, &a, sizeof a) < 0)
            return -1;
    }
    char dev[IFNAMSIZ + 1] = "";
    socklen_t ld = sizeof dev;
    if (getsockopt(from, SOL_SOCKET, SO_BINDTODEVICE, dev, &ld) < 0 || (ld > 0 && dev[0]))
        return -1; /* bound to a device of the container's */
    return 0;
}

/* The swapped socket takes packets from the checked peer's address only:
 * a classic BPF socket filter on the source address, locked
 * (SO_LOCK_FILTER: the command can neither remove nor replace it).  If
 * the socket is ever connected behind nroot's back (a connect the kernel
 * made after a CONTINUE, when another thread had put the socket at the
 * descriptor checked), the answer of whatever it reached is dropped: no
 * connection is made.  The address alone is enough: every port of an
 * address nroot let the command reach is reachable anyway.  Where the
 * kernel refuses users socket filters, -1 and no lock. */
static int lock_to_peer(int sock, const struct sockaddr_storage *to)
{
    struct sock_filter f[16];
    unsigned n = 0;
#define INS(c, k) (f[n++] = (struct sock_filter)BPF_STMT((c), (k)))
#define CMP(k) (f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), 0, 0))
    uint32_t want[4];
    unsigned words, at;
    uint8_t version;
    if (to->ss_family == AF_INET) {
        want[0] = ntohl(((const struct sockaddr_in *)to)->sin_addr.s_addr);
        words = 1, at = 12, version = 0x40;
    } else {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)to)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(&want[0], &a->s6_addr[12], 4);
            want[0] = ntohl(want[0]);
            words = 1, at = 12, version = 0x40;
        } else {
            for (unsigned i = 0; i < 4; i++) {
                memcpy(&want[i], &a->s6_addr[4 * i], 4);
                want[i] = ntohl(want[i]);
            }
            words = 4, at = 8, version = 0x60;
        }
    }
    /* the IP version, then the source address word by word; every
     * comparison that fails jumps to the drop at the end */
    INS(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF);
    INS(BPF_ALU | BPF_AND | BPF_K, 0xf0);
    CMP(version);
    for (unsigned i = 0; i < words; i++) {
        INS(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + (int)(at + 4 * i)));
        CMP(want[i]);
    }
    INS(BPF_RET | BPF_K, 0xffffffffU);
    INS(BPF_RET | BPF_K, 0);
    for (unsigned i = 0; i < n; i++)
        if (BPF_CLASS(f[i].code) == BPF_JMP)
            f[i].jf = (uint8_t)(n - 2 - i); /* to the last instruction */
#undef INS
#undef CMP
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
    int one = 1;
    if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0 ||
        setsockopt(sock, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof one) < 0)
        return -1;
    return 0;
}

/* a TCP socket: true, and its local name in ss */
static bool tcp_name(int sock, struct sockaddr_storage *ss)
{
    int type = 0, proto = 0;
    socklen_t l = sizeof type;
    if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM)
        return false;
    l = sizeof proto;
    if (getsockopt(sock, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0 || proto != IPPROTO_TCP)
        return false;
    socklen_t sl = sizeof *ss;
    return getsockname(sock, (struct sockaddr *)ss, &sl) == 0;
}

/* TCP, of the container's namespace, not bound to an address or port,
 * not connected */
static bool swappable(int sock, int family)
{
    struct sockaddr_storage ss;
    if (!tcp_name(sock, &ss))
        return false;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        if (in->sin_port || in->sin_addr.s_addr != htonl(INADDR_ANY))
            return false;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (in6->sin6_port || !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            return false;
    }
    socklen_t sl = sizeof ss;
    return getpeername(sock, (struct sockaddr *)&ss, &sl) < 0 && errno == ENOTCONN;
}

/* ---- answers ---- */

static int addfd(NrBypass *b, uint64_t id, int host, int target, bool cloexec)
{
    struct seccomp_notif_addfd a = { .id = id,
                                     .flags = SECCOMP_ADDFD_FLAG_SETFD,
                                     .srcfd = (uint32_t)host,
                                     .newfd = (uint32_t)target,
                                     .newfd_flags = cloexec ? O_CLOEXEC : 0 };
    return ioctl(b->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 ? -1 : 0;
}

/* a connect that ended (error: its errno, 0 connected) */
static void conclude(NrBypass *b, const Pending *p, int error)
{
    /* a blocking connect leaves the socket SS_CONNECTED (the kernel's own
     * does): a later connect is EISCONN, not a new connection */
    if (p->block && error == 0)
        (void)connect(p->host, (const struct sockaddr *)&p->to, p->to_len);
    if (p->block) {
        int fl = fcntl(p->host, F_GETFL);
        if (fl >= 0)
            fcntl(p->host, F_SETFL, fl & ~O_NONBLOCK);
    }
    if (p->swap && (error == 0 || error == EINPROGRESS) &&
        addfd(b, p->id, p->host, p->target, p->cloexec) < 0) {
        /* ENOENT: the caller is gone, or was interrupted (and asks
         * again), the answer goes nowhere; else (EMFILE...) it is the
         * answer */
        error = errno;
    }
    close(p->host);
    answer(b, p->id, error, false);
}

/* nroot connects `host` (ours; swap: to be put at the caller's fd) to `to` */
static void start_connect(NrBypass *b, uint64_t id, int host, const struct sockaddr_storage *to,
                          socklen_t len, int target, bool swap, bool cloexec, bool block)
{
    Pending p = {
        .id = id, .host = host, .target = target, .swap = swap, .cloexec = cloexec, .block = block
    };
    if (block) {
        int fl = fcntl(host, F_GETFL);
        if (fl < 0 || fcntl(host, F_SETFL, fl | O_NONBLOCK) < 0) {
            close(host);
            answer(b, id, errno, false);
            return;
        }
    }
    int rc = connect(host, (const struct sockaddr *)to, len);
    int e = rc < 0 ? errno : 0;
    if (rc < 0 && e == EALREADY && block)
        e = EINPROGRESS; /* a blocking connect asked again (restarted): it waits */
    if (rc < 0 && e == EINPROGRESS && block && b->n_pending < b->max_pending) {
        Pending *grown = realloc(b->pending, (b->n_pending + 1) * sizeof *b->pending);
        if (grown) {
            b->pending = grown;
            b->pending[b->n_pending++] = p;
            return;
        }
        e = ENOMEM;
    } else if (rc < 0 && e == EINPROGRESS && block)
        e = EAGAIN; /* too many under way: nroot keeps descriptors for the rest */
    if (swap && e && e != EINPROGRESS)
        p.swap = false; /* failed at once: the caller's socket stays as it was */
    conclude(b, &p, e);
}

/* ---- the maker: fresh sockets of the container's namespace ---- */

/* The maker is a process of nroot's, forked the first time one is needed,
 * that joined the container's user and network namespaces (nroot owns
 * the user namespace; nroot itself cannot join it and come back: setns()
 * to the network namespace alone needs CAP_SYS_ADMIN in nroot's own user
 * namespace too) and then dropped every capability: it makes sockets
 * there and sends them to nroot, nothing else.  It is outside the container's pid namespace (no
 * process of the container's sees it), not dumpable, holds no descriptor
 * but its socket, and ends with nroot (its socket's EOF, PDEATHSIG). */
static __attribute__((noreturn)) void maker_main(int sock, int userns, int netns, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(1);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    /* nroot's descriptors (host sockets, the seccomp listener) are closed
     * before it enters the container's namespaces: the three it needs
     * are kept */
    int keep[3] = { sock, userns, netns };
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (keep[j] < keep[i]) {
                int t = keep[i];
                keep[i] = keep[j];
                keep[j] = t;
            }
    unsigned from = 0;
    for (int i = 0; i < 3; i++) {
        if ((unsigned)keep[i] > from)
            syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0U);
        from = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, from, ~0U, 0U);
    if (prctl(PR_SET_DUMPABLE, 0) < 0 || setns(userns, CLONE_NEWUSER) < 0 ||
        setns(netns, CLONE_NEWNET) < 0)
        _exit(1);
    close(userns);
    close(netns);
    cap_t none = cap_init();
    if (!none || cap_set_proc(none) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit(1);
    cap_free(none);
    /* a change of credentials may clear the parent-death signal: again */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0 ||
        getppid() != parent)
        _exit(1);
    for (;;) {
        int req[3], e;
        ssize_t n = recv(sock, req, sizeof req, 0);
        if (n == 0 || (n < 0 && errno != EINTR))
            _exit(0);
        if (n != (ssize_t)sizeof req)
            continue;
        int s = socket(req[0], req[1] | SOCK_CLOEXEC, req[2]), zero = 0;
        if (s >= 0 && nr_send_fd(sock, &zero, sizeof zero, s) == 0) {
            close(s);
            continue;
        }
        e = s < 0 ? errno : EIO;
        if (s >= 0)
            close(s);
        (void)!send(sock, &e, sizeof e, MSG_NOSIGNAL);
    }
}

static int maker_start(NrBypass *b)
{
    if (b->userns < 0 || b->netns < 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t parent = getpid(), pid = fork();
    if (pid == 0)
        maker_main(sv[1], b->userns, b->netns, parent);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -1;
    }
    b->maker = sv[0];
    b->maker_pid = pid;
    return 0;
}

static void maker_stop(NrBypass *b)
{
    if (b->maker < 0)
        return;
    close(b->maker);
    b->maker = -1;
    while (waitpid(b->maker_pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* a new socket of the container's network namespace (nonblocking or not
 * as asked; CLOEXEC in nroot), or -1 and errno */
static int ctr_socket(NrBypass *b, int family, int type, int protocol)
{
    if (b->maker < 0 && maker_start(b) < 0)
        return -1;
    int req[3] = { family, type, protocol }, e = EIO;
    struct iovec iov = { &e, sizeof e };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
    };
    if (send(b->maker, req, sizeof req, MSG_NOSIGNAL) != (ssize_t)sizeof req) {
        maker_stop(b); /* gone: started again next time */
        errno = EAGAIN;
        return -1;
    }
    ssize_t n;
    do
        n = recvmsg(b->maker, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int s;
        memcpy(&s, CMSG_DATA(c), sizeof s);
        /* the maker's word is checked: a socket of the container's */
        if (socket_ns(b, s) == NS_CTR)
            return s;
        close(s);
        errno = EIO;
        return -1;
    }
    if (n <= 0) {
        maker_stop(b);
        errno = EAGAIN;
        return -1;
    }
    errno = n == (ssize_t)sizeof e && e > 0 ? e : EIO; /* the maker's socket() failed */
    return -1;
}

/* connect(AF_UNSPEC) on a host socket: the kernel would disconnect it and
 * leave an unconnected socket of the host's in the command's hands (one
 * that bind or listen in the host's namespace, had they not come to
 * nroot); instead the command gets a fresh socket of the container's, of
 * the same family, type, protocol and blocking mode, with the options
 * that can be taken over, at the same descriptor (FD_CLOEXEC kept): its
 * next connect is swapped as a first one.  The host socket goes (a dup()
 * of it elsewhere in the command stays connected: a socket it had) */
static void unspec_swap(NrBypass *b, uint64_t id, pid_t pid, int target, int sock, int family)
{
    int type = 0, proto = 0, fl = fcntl(sock, F_GETFL);
    socklen_t l = sizeof type;
    if (fl < 0 || getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
        (l = sizeof proto, getsockopt(sock, SOL_SOCKET, SO_PROTOCOL, &proto, &l)) < 0) {
        answer(b, id, errno, false);
        return;
    }
    /* a TCP socket made ahead, so the caller does not wait for the maker */
    int *spare = type == SOCK_STREAM && proto == IPPROTO_TCP ? &b->spare[family == AF_INET6] : NULL;
    int fresh = spare && *spare >= 0 ? *spare : ctr_socket(b, family, type, proto);
    if (spare)
        *spare = -1;
    if (fresh < 0 || fcntl(fresh, F_SETFL, fl & O_NONBLOCK) < 0) {
        answer(b, id, errno, false);
        if (fresh >= 0)
            close(fresh);
        return;
    }
    (void)copy_opts(sock, fresh, family, true);
    int e = addfd(b, id, fresh, target, target_cloexec(pid, target)) < 0 ? errno : 0;
    close(fresh);
    answer(b, id, e, false);
    if (spare)
        *spare = ctr_socket(b, family, type, proto); /* the next one, the caller answered */
}

/* a connect on a socket of the host's namespace (swapped earlier) */
static bool swap_connect(NrBypass *b, uint64_t id, pid_t pid, int target, int old, int family,
                         const struct sockaddr_storage *to, socklen_t tolen);

static void host_connect(NrBypass *b, uint64_t id, pid_t pid, int target, int sock, int family,
                         const struct sockaddr_storage *sa, socklen_t len)
{
    if (len >= sizeof(sa_family_t) && sa->ss_family == AF_UNSPEC) {
        unspec_swap(b, id, pid, target, sock, family);
        /* nroot's may be the last reference: a close that lingers
         * (SO_LINGER, set by the command) would hold nroot's loop; reset
         * instead, as the kernel's own disconnect does */
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(sock);
        return;
    }
    struct sockaddr_storage to;
    socklen_t tolen;
    if (nr_bypass_classify(sa, len, b->host_loopback, &to, &tolen) != NR_BYPASS_HOST) {
        close(sock);
        answer(b, id, EPERM, false);
        return;
    }
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_state == TCP_CLOSE) {
        /* a new connection: the socket's filter takes its first peer
         * only, so a fresh socket in its place, as for a first swap; an
         * error of the last one is told first, as the kernel does */
        if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err) {
            close(sock);
            answer(b, id, err, false);
            return;
        }
        bool ok = swap_connect(b, id, pid, target, sock, family, &to, tolen);
        close(sock);
        if (!ok)
            answer(b, id, EPERM, false);
        return;
    }
    /* under way or connected: the kernel's answer (EALREADY, EISCONN, 0) */
    int fl = fcntl(sock, F_GETFL);
    start_connect(b, id, sock, &to, tolen, -1, false, false, fl >= 0 && !(fl & O_NONBLOCK));
}

/* the container's TCP socket `old` (ours) to `to`: a host socket instead */
static bool swap_connect(NrBypass *b, uint64_t id, pid_t pid, int target, int old, int family,
                         const struct sockaddr_storage *to, socklen_t tolen)
{
    int fl = fcntl(old, F_GETFL);
    if (fl < 0)
        return false;
    int host = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (host < 0)
        return false;
    if (copy_opts(old, host, family, socket_ns(b, old) == NS_HOST) < 0) {
        close(host);
        return false;
    }
    /* a hardening, where the kernel lets users attach socket filters
     * (some refuse even classic ones: EPERM); the checks hold without */
    (void)lock_to_peer(host, to);
    bool block = !(fl & O_NONBLOCK);
    /* the blocking mode the caller's socket had (restored once connected) */
    start_connect(b, id, host, to, tolen, target, true, target_cloexec(pid, target), block);
    return true;
}

/* ---- bind: a published port's server on a host socket ---- */

/* the published TCP port a bind of the container's to `sa` would serve
 * through the relay: CPORT published, at an address the relay reaches
 * (any, 10.0.2.100, fd00::100; never loopback: a server bound there
 * stays private, as with the relay) */
static const NrPort *published(const NrBypass *b, const struct sockaddr_storage *sa, socklen_t len)
{
    uint16_t port;
    if (sa->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uint32_t a = ntohl(in->sin_addr.s_addr);
        if (a != INADDR_ANY && a != 0x0a000264U)
            return NULL;
        port = ntohs(in->sin_port);
    } else if (sa->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        static const uint8_t fd00_100[16] = { 0xfd, [14] = 1, [15] = 0 };
        static const uint8_t mapped_100[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 2, 100 };
        const uint8_t *a = in6->sin6_addr.s6_addr;
        if (!IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) && memcmp(a, fd00_100, 16) != 0 &&
            memcmp(a, mapped_100, 16) != 0)
            return NULL;
        port = ntohs(in6->sin6_port);
    } else
        return NULL;
    for (size_t i = 0; port && i < b->n_ports; i++)
        if (!b->ports[i].udp && b->ports[i].ctr_port == port)
            return &b->ports[i]; /* the first: one host socket takes one host port */
    return NULL;
}

/* the host address and port of p for a socket of `family` (v6only):
 * false where that socket cannot take it (a v4 host address and a
 * v6-only socket, a v6 host address and a v4 socket) */
static bool host_addr(const NrPort *p, int family, bool v6only, struct sockaddr_storage *ret,
                      socklen_t *ret_len)
{
    memset(ret, 0, sizeof *ret);
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ret;
        if (p->host_family == AF_INET6)
            return false;
        in->sin_family = AF_INET;
        in->sin_port = htons(p->host_port);
        in->sin_addr =
            p->host_family == AF_INET ? p->host_addr4 : (struct in_addr){ htonl(INADDR_ANY) };
        *ret_len = sizeof *in;
        return true;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(p->host_port);
    if (p->host_family == AF_INET) {
        if (v6only)
            return false;
        in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&in6->sin6_addr.s6_addr[12], &p->host_addr4, 4);
    } else if (p->host_family == AF_INET6)
        in6->sin6_addr = p->host_addr6;
    else
        in6->sin6_addr = in6addr_any;
    *ret_len = sizeof *in6;
    return true;
}

/* the container's unbound TCP socket `old` (ours), bound by the caller to
 * published port p: a host socket bound to p's host address and port in
 * its place, the relay's listeners of p released to it.  false: not
 * answered (the plain bind follows) */
static bool swap_bind(NrBypass *b, uint64_t id, pid_t pid, int target, int old, int family,
                      const NrPort *p)
{
    int v6only = 0;
    socklen_t vl = sizeof v6only;
    if (family == AF_INET6 && getsockopt(old, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &vl) < 0)
        return false;
    struct sockaddr_storage to;
    socklen_t tolen = 0;
    if (!host_addr(p, family, v6only != 0, &to, &tolen))
        return false;
    int fl = fcntl(old, F_GETFL);
    if (fl < 0)
        return false;
    int host = socket(family, SOCK_STREAM | SOCK_CLOEXEC | (fl & O_NONBLOCK ? SOCK_NONBLOCK : 0),
                      IPPROTO_TCP);
    if (host < 0)
        return false;
    /* SO_REUSEADDR as the relay's listener has it: the relay's accepted
     * connections and a last server's TIME_WAIT hold the port too */
    int one = 1;
    if (copy_opts(old, host, family, false) < 0 ||
        setsockopt(host, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        close(host);
        return false;
    }
    /* the relay's listener and this bind cannot share the port: it is
     * released first, and bound again if the bind or the hand-over fails */
    unsigned released = nr_portfwd_release(b->fwd, p, family, v6only != 0);
    int e = 0;
    uint64_t cookie = 0;
    socklen_t cl = sizeof cookie;
    if (bind(host, (const struct sockaddr *)&to, tolen) < 0 ||
        getsockopt(host, SOL_SOCKET, SO_COOKIE, &cookie, &cl) < 0 ||
        addfd(b, id, host, target, target_cloexec(pid, target)) < 0)
        e = errno;
    else
        b->published[b->n_published++ % N_PUBLISHED] = cookie;
    close(host);
    if (e)
        nr_portfwd_restore(b->fwd, released);
    answer(b, id, e, false);
    return true;
}

/* the caller is in the user namespace that owns sock's network
 * namespace (the one the kernel asks for CAP_NET_BIND_SERVICE) */
static bool in_owner_userns(pid_t pid, int sock)
{
    nr_autoclose int ns = ioctl(sock, SIOCGSKNS);
    nr_autoclose int owner = ns >= 0 ? ioctl(ns, NS_GET_USERNS) : -1;
    struct stat o, c;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    return owner >= 0 && fstat(owner, &o) == 0 && stat(path, &c) == 0 && o.st_dev == c.st_dev &&
           o.st_ino == c.st_ino;
}

/* the kernel's check that nroot's own bind would skip (nroot owns the
 * container's user namespace): a port below ip_unprivileged_port_start
 * needs the caller's CAP_NET_BIND_SERVICE in the user namespace that owns
 * the socket's network namespace, the container's (not the full set of a
 * user namespace the command made inside, which counts for nothing
 * there; a caller in the parent of the owner, which the kernel lets
 * through as the owner's creator, is refused too: EACCES).  The
 * container's value of the sysctl is not nroot's to read (a sysctl of
 * the reader's namespace): the kernel's default, 1024 */
static bool may_bind(pid_t pid, int sock, const struct sockaddr_storage *sa, socklen_t len)
{
    uint16_t port = 0;
    if (sa->ss_family == AF_INET && len >= sizeof(struct sockaddr_in))
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    else if (sa->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    if (port == 0 || port >= NR_UNPRIVILEGED_PORT_START)
        return true;
    if (!in_owner_userns(pid, sock))
        return false;
    cap_flag_value_t v = CAP_CLEAR;
    cap_t c = cap_get_pid(pid);
    if (c) {
        (void)cap_get_flag(c, CAP_NET_BIND_SERVICE, CAP_EFFECTIVE, &v);
        cap_free(c);
    }
    return v == CAP_SET;
}

/* TCP, not bound */
static bool unbound_tcp(int sock, int family)
{
    struct sockaddr_storage ss;
    if (!tcp_name(sock, &ss))
        return false;
    return family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port == 0
                             : ((struct sockaddr_in6 *)&ss)->sin6_port == 0;
}

/* a bind of an INET socket (`sock`, ours): never CONTINUE, as for
 * connect (the kernel would look the descriptor and the address up
 * again); a published port's server gets a host socket, every other bind
 * is nroot's bind of the caller's own socket to the address read */
static void handle_bind(NrBypass *b, uint64_t id, pid_t pid, int target, int sock, int ns,
                        int family, const struct sockaddr_storage *sa, socklen_t len)
{
    if (ns == NS_HOST) {
        /* a socket swapped before: connected, connecting or listening
         * (the kernel's EINVAL), or out of that state (refused, shut
         * down while connecting), where a bind would take an address
         * and port of the host's: EPERM (its local name tells nothing:
         * a disconnect leaves the old port there, unbound) */
        struct tcp_info ti;
        socklen_t tl = sizeof ti;
        bool closed =
            getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0 || ti.tcpi_state == TCP_CLOSE;
        answer(b, id, closed ? EPERM : EINVAL, false);
        return;
    }
    if (!may_bind(pid, sock, sa, len)) {
        answer(b, id, EACCES, false);
        return;
    }
    const NrPort *p;
    if (ns == NS_CTR && sa->ss_family == family && unbound_tcp(sock, family) &&
        (p = published(b, sa, len)) && swap_bind(b, id, pid, target, sock, family, p))
        return;
    int rc = bind(sock, (const struct sockaddr *)sa, len);
    answer(b, id, rc < 0 ? errno : 0, false);
}

/* ---- listen ---- */

static bool published_socket(const NrBypass *b, int sock)
{
    uint64_t cookie = 0;
    socklen_t cl = sizeof cookie;
    if (getsockopt(sock, SOL_SOCKET, SO_COOKIE, &cookie, &cl) < 0 || cookie == 0)
        return false;
    unsigned n = b->n_published < N_PUBLISHED ? b->n_published : N_PUBLISHED;
    for (unsigned i = 0; i < n; i++)
        if (b->published[i] == cookie)
            return true;
    return false;
}

/* a listen of an INET socket (`sock`, ours): nroot's own listen(2) of
 * the socket it looked at, never CONTINUE (the kernel would look the
 * descriptor up again); a host socket listens only where nroot bound it
 * for a published port (swap_bind), every other one is EPERM: it would
 * listen in the host's namespace, on an address nroot never checked */
static void handle_listen(NrBypass *b, uint64_t id, int sock, int ns, int backlog)
{
    if (ns == NS_HOST && !published_socket(b, sock)) {
        answer(b, id, EPERM, false);
        return;
    }
    answer(b, id, listen(sock, backlog) < 0 ? errno : 0, false);
}

static void handle(NrBypass *b, const struct seccomp_notif *req)
{
    pid_t pid = (pid_t)req->pid;
    uint64_t fdarg = req->data.args[0], addr = req->data.args[1], len = req->data.args[2];
    bool i386 = req->data.arch == SCMP_ARCH_X86;
    nr_autoclose int pidfd = pidfd_open_(pid);
    if (pidfd < 0) {
        /* it is gone, or its fd table is not one nroot can read */
        answer(b, req->id, errno == EPERM ? EPERM : ESRCH, false);
        return;
    }
    bool is_bind, is_listen;
    if (i386 && req->data.nr == I386_SOCKETCALL) {
        /* socketcall(SYS_CONNECT, SYS_BIND or SYS_LISTEN, args): the
         * arguments in memory, three (listen's two) */
        uint32_t a[3] = { 0 };
        is_bind = fdarg == I386_SYS_BIND;
        is_listen = fdarg == I386_SYS_LISTEN;
        size_t want = is_listen ? 2 * sizeof a[0] : sizeof a;
        struct iovec lo = { a, want }, re = { (void *)(uintptr_t)addr, want };
        if ((fdarg != I386_SYS_CONNECT && !is_bind && !is_listen) ||
            process_vm_readv(pid, &lo, 1, &re, 1, 0) != (ssize_t)want) {
            answer(b, req->id, EFAULT, false);
            return;
        }
        fdarg = a[0];
        addr = a[1]; /* listen: the backlog */
        len = a[2];
    } else {
        is_bind = req->data.nr == seccomp_syscall_resolve_name_arch(req->data.arch, "bind");
        is_listen = req->data.nr == seccomp_syscall_resolve_name_arch(req->data.arch, "listen");
        if (i386)
            addr = (uint32_t)addr;
    }
    int backlog = (int)(uint32_t)addr; /* listen's int backlog */
    if (is_listen)
        addr = len = 0;
    /* the kernel's int fd and int addrlen: their low 32 bits */
    int target = (int)(uint32_t)fdarg;
    len = (uint32_t)len;
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof sa);
    socklen_t salen = (socklen_t)(len > sizeof sa ? sizeof sa : len);
    struct iovec lo = { &sa, salen }, re = { (void *)(uintptr_t)addr, salen };
    bool have_addr = salen > 0 && process_vm_readv(pid, &lo, 1, &re, 1, 0) == (ssize_t)salen;
    nr_autoclose int sock = target >= 0 ? pidfd_getfd_(pidfd, target) : -1;
    int getfd_errno = target >= 0 ? errno : EBADF;
    /* what was read is the caller's: the pid was not reused meanwhile */
    if (seccomp_notify_id_valid(b->listener, req->id) != 0)
        return;
    /* CONTINUE only where it cannot matter: the kernel finds the
     * descriptor again, and another thread may have put a host socket
     * there by then (dup2); so nroot answers what it can itself */
    if (sock < 0) {
        answer(b, req->id, getfd_errno, false); /* EBADF, as the kernel would */
        return;
    }
    struct stat st;
    int domain = 0;
    socklen_t dl = sizeof domain;
    if (fstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        answer(b, req->id, ENOTSOCK, false);
        return;
    }
    if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0 ||
        (domain != AF_INET && domain != AF_INET6)) {
        /* unix, netlink, ...: the plain path, their connect, bind and
         * listen are the kernel's (a path resolves in the caller's root
         * and is made with its credentials, a unix peer sees the
         * credentials of the caller of connect and of listen); see the
         * head comment for why this CONTINUE is safe enough */
        answer(b, req->id, 0, true);
        return;
    }
    if (is_listen) {
        handle_listen(b, req->id, sock, socket_ns(b, sock), backlog);
        return;
    }
    if (len > sizeof sa || !have_addr) {
        answer(b, req->id, len > sizeof sa || len == 0 ? EINVAL : EFAULT, false);
        return;
    }
    int ns = socket_ns(b, sock);
    if (is_bind) {
        handle_bind(b, req->id, pid, target, sock, ns, domain, &sa, salen);
        return;
    }
    if (ns == NS_HOST) {
        host_connect(b, req->id, pid, target, sock, domain, &sa, salen);
        sock = -1; /* host_connect took it */
        return;
    }
    struct sockaddr_storage to;
    socklen_t tolen;
    if (ns == NS_CTR && sa.ss_family == domain &&
        nr_bypass_classify(&sa, salen, b->host_loopback, &to, &tolen) == NR_BYPASS_HOST &&
        swappable(sock, domain) && swap_connect(b, req->id, pid, target, sock, domain, &to, tolen))
        return;
    /* the plain path: the container's own socket, connected by nroot to
     * the address read (the kernel would read it again, and find the
     * descriptor again: by then another thread may have put a host
     * socket there) */
    int fl = fcntl(sock, F_GETFL);
    start_connect(b, req->id, sock, &sa, salen, -1, false, false, fl >= 0 && !(fl & O_NONBLOCK));
    sock = -1;
}

static void on_listener(NrBypass *b)
{
    /* one notification per wake-up: the loop comes back while more wait */
    memset(b->req, 0, b->req_size);
    if (seccomp_notify_receive(b->listener, b->req) < 0)
        return;
    handle(b, b->req);
}

/* ---- the loop's side ---- */

NrBypass *nr_bypass_new(int listener, const NrRunConfig *cfg, const struct stat *ctr_net,
                        int ctr_userns, int ctr_netns, NrPortfwd *ports, NrError *err)
{
    NrBypass *b = nr_xmalloc(sizeof *b);
    memset(b, 0, sizeof *b);
    b->listener = listener;
    b->userns = ctr_userns;
    b->netns = ctr_netns;
    b->maker = -1;
    b->spare[0] = b->spare[1] = -1;
    /* a blocking connect under way holds a descriptor of nroot's: at most
     * a quarter of nroot's limit (raised to the hard one), the rest for
     * the relays, slirp and the sockets in hand */
    struct rlimit rl;
    b->max_pending = MAX_PENDING;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 < MAX_PENDING)
        b->max_pending = rl.rlim_cur / 4;
    b->ports = cfg->ports;
    b->n_ports = cfg->n_ports;
    b->fwd = ports;
    b->host_loopback = cfg->host_loopback;
    b->ctr_ns = *ctr_net;
    struct seccomp_notif_sizes sizes;
    if (stat("/proc/self/ns/net", &b->host_ns) < 0) {
        nr_error_errno(err, "--tcp-bypass: cannot tell the container's network namespace");
        nr_bypass_free(b);
        return NULL;
    }
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0 ||
        seccomp_notify_alloc(&b->req, &b->resp) < 0) {
        nr_error_errno(err, "--tcp-bypass: seccomp notifications");
        nr_bypass_free(b);
        return NULL;
    }
    b->req_size = sizes.seccomp_notif > sizeof *b->req ? sizes.seccomp_notif : sizeof *b->req;
    fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
    return b;
}

void nr_bypass_free(NrBypass *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_pending; i++)
        close(b->pending[i].host);
    free(b->pending);
    maker_stop(b);
    for (int i = 0; i < 2; i++)
        if (b->spare[i] >= 0)
            close(b->spare[i]);
    if (b->userns >= 0)
        close(b->userns);
    if (b->netns >= 0)
        close(b->netns);
    if (b->req)
        seccomp_notify_free(b->req, b->resp);
    if (b->listener >= 0)
        close(b->listener);
    free(b);
}

int nr_bypass_fill(NrBypass *b, struct pollfd **pfd, int *cap, int first, int *timeout_ms)
{
    nr_portfwd_poll_grow(pfd, cap, first + 1 + (int)b->n_pending);
    b->first = first;
    (*pfd)[first] = (struct pollfd){ .fd = b->listener, .events = POLLIN }; /* -1: ignored */
    for (size_t i = 0; i < b->n_pending; i++)
        (*pfd)[first + 1 + (int)i] = (struct pollfd){ .fd = b->pending[i].host, .events = POLLOUT };
    /* a caller interrupted or killed while its connect is under way: its
     * notification is gone; looked for once a second */
    if (b->n_pending && (*timeout_ms < 0 || *timeout_ms > 1000))
        *timeout_ms = 1000;
    return 1 + (int)b->n_pending;
}

void nr_bypass_dispatch(NrBypass *b, const struct pollfd *pfd)
{
    size_t n = b->n_pending, kept = 0;
    time_t now = time(NULL);
    bool check = now >= b->next_check;
    if (check)
        b->next_check = now + 1;
    for (size_t i = 0; i < n; i++) {
        Pending *p = &b->pending[i];
        short ev = pfd[b->first + 1 + (int)i].revents;
        if (ev) {
            int e = 0;
            socklen_t l = sizeof e;
            if (getsockopt(p->host, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
                e = errno;
            conclude(b, p, e);
        } else if (check && seccomp_notify_id_valid(b->listener, p->id) != 0) {
            /* the caller was interrupted (it asks again) or is gone: the
             * container's own socket gets its blocking mode back */
            if (p->block && !p->swap) {
                int fl = fcntl(p->host, F_GETFL);
                if (fl >= 0)
                    fcntl(p->host, F_SETFL, fl & ~O_NONBLOCK);
            }
            close(p->host);
        } else
            b->pending[kept++] = *p;
    }
    b->n_pending = kept;
    short lev = pfd[b->first].revents;
    if (lev & POLLIN)
        on_listener(b);
    else if (lev & (POLLHUP | POLLERR)) {
        /* no process is left under the filter: nothing more will come,
         * and a listener in the poll set would wake it at once */
        for (size_t i = 0; i < b->n_pending; i++)
            close(b->pending[i].host);
        b->n_pending = 0;
        close(b->listener);
        b->listener = -1;
    }
}
