/* SPDX-License-Identifier: Apache-2.0 */
/* net.c — the container's side of its network namespace: loopback for
 * every private network; for --net=slirp also tap0, addressed with ioctls
 * and routed with one rtnetlink request per route, whose fd goes to the
 * parent (#3); for --net=host the host's stack (nothing to do).
 *
 * The four route requests are built here rather than with libmnl: loading
 * one more shared library costs every start 0.15-0.2 ms (hyperfine, nroot
 * --version with and without it), which is a third of nroot's lead over
 * bwrap, for a message of three structures. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nr-aside.h"
#include "nr-error.h"
#include "nr-net.h"
#include "nr-plan.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

/* linux/ipv6.h's, which clashes with netinet/in.h */
struct nr_in6_ifreq {
    struct in6_addr addr;
    uint32_t prefixlen;
    int ifindex;
};

static int link_up(int s, const char *name, int mtu, NrError *err)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (mtu > 0) {
        ifr.ifr_mtu = mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
            return nr_error_errno(err, "cannot set the MTU of %s", name);
    }
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return nr_error_errno(err, "cannot read the flags of %s", name);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return nr_error_errno(err, "cannot bring %s up", name);
    return 0;
}

static int set_ipv4(int s, const char *dev, NrError *err)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, NR_SLIRP_GUEST, &a->sin_addr);
    if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
        return nr_error_errno(err, "cannot set the address of %s", dev);
    inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
    if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
        return nr_error_errno(err, "cannot set the netmask of %s", dev);
    return 0;
}

/* Every route of tap0 carries RTAX_QUICKACK: the container's TCP
 * acknowledges each segment at once instead of delaying the ACK.  libslirp
 * keeps what it sent in a small socket buffer until it is acknowledged, a
 * few 64 KiB segments, so a delayed ACK stalls it; measured with iperf3,
 * host -> container through slirp went from 5.2 to 6.7 Gbit/s.  The
 * kernel's own prefix routes are replaced by the same with the flag. */
typedef struct Route {
    int family;
    const char *dst; /* NULL: the default route */
    unsigned char dst_len;
    const char *gw;  /* NULL: on the link */
    const char *src; /* preferred source, or NULL */
    uint32_t priority;
    unsigned char protocol, scope;
} Route;

typedef struct NlReq {
    struct nlmsghdr nh;
    struct rtmsg rt;
    char attrs[256];
} NlReq;

static struct rtattr *attr_put(NlReq *q, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->nh.nlmsg_len));
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    q->nh.nlmsg_len = NLMSG_ALIGN(q->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}

static int route_set(int nl, unsigned ifindex, const Route *r, NrError *err)
{
    NlReq q;
    memset(&q, 0, sizeof q);
    q.nh.nlmsg_len = NLMSG_LENGTH(sizeof q.rt);
    q.nh.nlmsg_type = RTM_NEWROUTE;
    q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    q.nh.nlmsg_seq = 1;
    q.rt.rtm_family = (unsigned char)r->family;
    q.rt.rtm_dst_len = r->dst_len;
    q.rt.rtm_table = RT_TABLE_MAIN;
    q.rt.rtm_protocol = r->protocol;
    q.rt.rtm_scope = r->scope;
    q.rt.rtm_type = RTN_UNICAST;
    size_t alen = r->family == AF_INET ? 4 : 16;
    unsigned char a[16];
    const struct {
        unsigned short type;
        const char *addr;
    } addrs[] = {
        { RTA_DST, r->dst },
        { RTA_GATEWAY, r->gw },
        { RTA_PREFSRC, r->src },
    };
    for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++)
        if (addrs[i].addr && inet_pton(r->family, addrs[i].addr, a) == 1)
            attr_put(&q, addrs[i].type, a, alen);
    attr_put(&q, RTA_OIF, &ifindex, sizeof ifindex);
    if (r->priority)
        attr_put(&q, RTA_PRIORITY, &r->priority, sizeof r->priority);
    /* RTA_METRICS holds the metrics as attributes of their own */
    struct rtattr *metrics = attr_put(&q, RTA_METRICS, NULL, 0);
    uint32_t one = 1;
    attr_put(&q, RTAX_QUICKACK, &one, sizeof one);
    metrics->rta_len = (unsigned short)((char *)&q + q.nh.nlmsg_len - (char *)metrics);

    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(nl, &q, q.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return nr_error_errno(err, "cannot set the routes of tap0 (netlink)");
    /* the kernel's answer: an NLMSG_ERROR with 0 for success */
    union {
        struct nlmsghdr nh;
        char buf[512];
    } ans;
    ssize_t n;
    do
        n = recv(nl, &ans, sizeof ans, 0);
    while (n < 0 && errno == EINTR);
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ans.nh.nlmsg_type != NLMSG_ERROR)
        return nr_error_msg(err, "cannot set the routes of tap0: no answer from the kernel");
    const struct nlmsgerr *e = NLMSG_DATA(&ans.nh);
    if (e->error) {
        errno = -e->error;
        return nr_error_errno(err, "cannot set the route to %s of tap0",
                              r->dst ? r->dst : "the default");
    }
    return 0;
}

static int routes(unsigned ifindex, bool ipv6, NrError *err)
{
    static const Route table[] = {
        { AF_INET, "10.0.2.0", 24, NULL, NR_SLIRP_GUEST, 0, RTPROT_KERNEL, RT_SCOPE_LINK },
        { AF_INET, NULL, 0, "10.0.2.2", NULL, 0, RTPROT_BOOT, RT_SCOPE_UNIVERSE },
        { AF_INET6, "fd00::", 64, NULL, NULL, 256, RTPROT_KERNEL, RT_SCOPE_UNIVERSE },
        { AF_INET6, NULL, 0, "fd00::2", NULL, 1, RTPROT_BOOT, RT_SCOPE_UNIVERSE },
    };
    nr_autoclose int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl < 0)
        return nr_error_errno(err, "cannot open a netlink socket");
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if ((table[i].family == AF_INET || ipv6) && route_set(nl, ifindex, &table[i], err) < 0)
            return -1;
    return 0;
}

/* IPv6 on a static address: no duplicate address detection (the address
 * is usable at once), no router advertisements and no solicitations (slirp's
 * RA would only add a second, SLAAC, address and route, and solicitations
 * would wake nroot for nothing).  Set before the link is up, when the
 * kernel would otherwise start both. */
static void ipv6_static(const char *dev)
{
    static const char *const off[] = { "accept_dad", "accept_ra", "router_solicitations" };
    for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
        char path[96];
        NrError ignored = { 0 };
        snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/%s", dev, off[i]);
        nr_write_file_at(AT_FDCWD, path, "0", 0644, &ignored);
    }
}

/* fd00::100/64; on a kernel without IPv6, quietly nothing (and *ipv6
 * false) */
static int set_ipv6(const char *dev, unsigned ifindex, bool *ipv6, NrError *err)
{
    nr_autoclose int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    *ipv6 = s >= 0;
    if (s < 0)
        return errno == EAFNOSUPPORT ? 0 : nr_error_errno(err, "socket");
    struct nr_in6_ifreq r = { .prefixlen = 64, .ifindex = (int)ifindex };
    inet_pton(AF_INET6, NR_SLIRP_GUEST6, &r.addr);
    if (ioctl(s, SIOCSIFADDR, &r) < 0)
        return nr_error_errno(err, "cannot set the IPv6 address of %s", dev);
    return 0;
}

/* ping without raw sockets: every group of the container may open ICMP
 * sockets (the range must be mapped in this user namespace) */
static void ping_groups(const NrRunConfig *cfg)
{
    uint32_t high = 0;
    for (bool grown = true; grown;) {
        grown = false;
        for (int i = 0; i < cfg->map.n_gid; i++) {
            const NrIdRange *r = &cfg->map.gid[i];
            if (r->inside <= high + 1 && r->inside + r->count - 1 > high) {
                high = r->inside + r->count - 1;
                grown = true;
            }
        }
    }
    if (!nr_userns_gid_mapped(&cfg->map, 0))
        return;
    char v[32];
    snprintf(v, sizeof v, "0 %u", high);
    NrError ignored = { 0 };
    nr_write_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ping_group_range", v, 0644, &ignored);
}

static int tap_setup(const NrRunConfig *cfg, int sync_fd, NrError *err)
{
    nr_autoclose int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (tap < 0) {
        nr_error_errno(err, "--net=slirp: cannot open /dev/net/tun");
        nr_error_hint(err, "the tun device must be read-writable by you (mode 0666); "
                           "or run with --net=none or --net=host");
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "tap0");
    if (ioctl(tap, TUNSETIFF, &ifr) < 0)
        return nr_error_errno(err, "--net=slirp: cannot create tap0");
    nr_autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return nr_error_errno(err, "socket");
    ipv6_static("tap0");
    bool ipv6;
    unsigned ifindex = if_nametoindex("tap0");
    if (link_up(s, "tap0", NR_SLIRP_MTU, err) < 0 || set_ipv4(s, "tap0", err) < 0 ||
        set_ipv6("tap0", ifindex, &ipv6, err) < 0 || routes(ifindex, ipv6, err) < 0)
        return -1;
    ping_groups(cfg);
    /* #3 child: the parent runs the stack on the other end of tap0 */
    if (nr_sync_send_fd(sync_fd, NR_SYNC_TAP, tap) < 0)
        return nr_error_errno(err, "cannot hand the tap device to nroot");
    return 0;
}

static char user_ns[64], user_addr[64];

const char *nr_net_user_nameserver(void)
{
    return user_ns;
}

const char *nr_net_user_address(void)
{
    return user_addr;
}

/* #3n child: the holder plugs this namespace into the networks (the
 * parent relays it) before anything of the container runs */
static int user_setup(const NrRunConfig *cfg, int sync_fd, NrError *err)
{
    nr_autoclose int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns < 0 || nr_sync_send_fd(sync_fd, NR_SYNC_NETNS, ns) < 0)
        return nr_error_errno(err, "cannot hand the network namespace to nroot");
    NrSyncMsg m;
    for (;;) {
        if (nr_sync_recv(sync_fd, &m) != 1)
            return nr_error_msg(err, "nroot ended before the networks were attached");
        if (m.fd >= 0)
            close(m.fd);
        if (m.type == NR_SYNC_ERROR) {
            *err = m.err;
            return -1;
        }
        if (m.type == NR_SYNC_GO)
            break;
    }
    char *tab = strchr(m.err.msg, '\t');
    if (tab) {
        *tab = '\0';
        char *end = strchr(tab + 1, '\t');
        if (end)
            *end = '\0';
        snprintf(user_addr, sizeof user_addr, "%.63s", tab + 1);
    }
    snprintf(user_ns, sizeof user_ns, "%.63s", m.err.msg);
    ping_groups(cfg);
    return 0;
}

int nr_net_new_netns(NrError *err)
{
    if (unshare(CLONE_NEWNET) == 0)
        return 0;
    int e = errno;
    nr_error_errno(err, "cannot create the network namespace");
    if (e == ENOSPC)
        nr_error_hint(err, "the limit of network namespaces is reached (sysctl "
                           "user.max_net_namespaces)");
    else if (e == EINVAL)
        nr_error_hint(err, "the kernel lacks network namespaces (CONFIG_NET_NS)");
    return -1;
}

int nr_net_loopback_up(NrError *err)
{
    nr_autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return nr_error_errno(err, "socket");
    return link_up(s, "lo", 0, err);
}

bool nr_net_own(const NrRunConfig *cfg)
{
    /* container:NAME: NAME's network, set up by NAME (its lo is up) */
    return !cfg->oci && cfg->net != NR_NET_HOST && cfg->net != NR_NET_CONTAINER;
}

int nr_net_setup(const NrRunConfig *cfg, int sync_fd, NrError *err)
{
    if (cfg->net == NR_NET_HOST || cfg->net == NR_NET_CONTAINER)
        return 0;
    int lo_up = nr_aside_enter_netns(err);
    if (lo_up < 0 || (!lo_up && nr_net_loopback_up(err) < 0))
        return -1;
    return cfg->net == NR_NET_SLIRP  ? tap_setup(cfg, sync_fd, err)
           : cfg->net == NR_NET_USER ? user_setup(cfg, sync_fd, err)
                                     : 0;
}
