/* SPDX-License-Identifier: Apache-2.0 */
/* rtnl.c — the rtnetlink requests of user networks (nr-rtnl.h): one
 * request, one acknowledgement, on a socket of the caller's network
 * namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-rtnl.h"

typedef struct Req {
    struct nlmsghdr *h;
    char buf[1024];
} Req;

static void *req_init(Req *r, uint16_t type, uint16_t flags, size_t body)
{
    memset(r->buf, 0, sizeof r->buf);
    r->h = (struct nlmsghdr *)r->buf;
    r->h->nlmsg_len = NLMSG_LENGTH(body);
    r->h->nlmsg_type = type;
    r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    return NLMSG_DATA(r->h);
}

static struct rtattr *attr(Req *r, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)(r->buf + NLMSG_ALIGN(r->h->nlmsg_len));
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    r->h->nlmsg_len = NLMSG_ALIGN(r->h->nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}

static struct rtattr *nest(Req *r, unsigned short type)
{
    return attr(r, type, NULL, 0);
}

static void nest_end(Req *r, struct rtattr *a)
{
    a->rta_len = (unsigned short)(r->buf + r->h->nlmsg_len - (char *)a);
}

static int talk(int s, Req *r, const char *what, NrError *err)
{
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    if (sendto(s, r->buf, r->h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
        return nr_error_errno(err, "%s", what);
    char ans[4096];
    for (;;) {
        ssize_t n = recv(s, ans, sizeof ans, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nr_error_errno(err, "%s", what);
        for (struct nlmsghdr *h = (struct nlmsghdr *)ans; NLMSG_OK(h, (unsigned)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                if (e->error == 0)
                    return 0;
                errno = -e->error;
                return nr_error_errno(err, "%s", what);
            }
        }
    }
}

int nr_rtnl_open(NrError *err)
{
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0)
        return nr_error_errno(err, "cannot open an rtnetlink socket");
    return s;
}

static void put_name(Req *r, const char *name)
{
    attr(r, IFLA_IFNAME, name, strlen(name) + 1);
}

int nr_rtnl_bridge(int s, const char *name, NrError *err)
{
    Req r;
    struct ifinfomsg *i = req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof *i);
    i->ifi_family = AF_UNSPEC;
    put_name(&r, name);
    struct rtattr *li = nest(&r, IFLA_LINKINFO);
    attr(&r, IFLA_INFO_KIND, "bridge", 7);
    nest_end(&r, li);
    char what[64];
    snprintf(what, sizeof what, "cannot create the bridge %s", name);
    return talk(s, &r, what, err);
}

int nr_rtnl_veth(int s, const char *name, const char *peer, int peer_ns, int mtu, NrError *err)
{
    Req r;
    struct ifinfomsg *i = req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof *i);
    i->ifi_family = AF_UNSPEC;
    uint32_t m = (uint32_t)mtu;
    put_name(&r, name);
    attr(&r, IFLA_MTU, &m, sizeof m);
    struct rtattr *li = nest(&r, IFLA_LINKINFO);
    attr(&r, IFLA_INFO_KIND, "veth", 5);
    struct rtattr *data = nest(&r, IFLA_INFO_DATA);
    struct rtattr *pi = nest(&r, VETH_INFO_PEER);
    struct ifinfomsg pm = { .ifi_family = AF_UNSPEC };
    /* the peer's ifinfomsg is the attribute's payload, its attributes follow */
    memcpy(r.buf + r.h->nlmsg_len, &pm, sizeof pm);
    r.h->nlmsg_len += NLMSG_ALIGN(sizeof pm);
    put_name(&r, peer);
    attr(&r, IFLA_MTU, &m, sizeof m);
    uint32_t fd = (uint32_t)peer_ns;
    attr(&r, IFLA_NET_NS_FD, &fd, sizeof fd);
    nest_end(&r, pi);
    nest_end(&r, data);
    nest_end(&r, li);
    return talk(s, &r, "cannot create a veth pair", err);
}

static int index_of(const char *name, NrError *err)
{
    unsigned idx = if_nametoindex(name);
    if (!idx)
        return nr_error_errno(err, "no network link %s", name);
    return (int)idx;
}

int nr_rtnl_link_up(int s, const char *name, const char *master, int mtu, NrError *err)
{
    int idx = index_of(name, err), midx = 0;
    if (idx < 0 || (master && (midx = index_of(master, err)) < 0))
        return -1;
    Req r;
    struct ifinfomsg *i = req_init(&r, RTM_NEWLINK, 0, sizeof *i);
    i->ifi_family = AF_UNSPEC;
    i->ifi_index = idx;
    i->ifi_flags = IFF_UP;
    i->ifi_change = IFF_UP;
    if (midx) {
        uint32_t m = (uint32_t)midx;
        attr(&r, IFLA_MASTER, &m, sizeof m);
    }
    if (mtu) {
        uint32_t m = (uint32_t)mtu;
        attr(&r, IFLA_MTU, &m, sizeof m);
    }
    char what[64];
    snprintf(what, sizeof what, "cannot set up the link %s", name);
    return talk(s, &r, what, err);
}

int nr_rtnl_link_del(int s, const char *name, NrError *err)
{
    unsigned idx = if_nametoindex(name);
    if (!idx)
        return 0;
    Req r;
    struct ifinfomsg *i = req_init(&r, RTM_DELLINK, 0, sizeof *i);
    i->ifi_family = AF_UNSPEC;
    i->ifi_index = (int)idx;
    NrError e = { 0 };
    if (talk(s, &r, "cannot remove a link", &e) < 0 && e.errnum != ENODEV) {
        *err = e;
        return -1;
    }
    return 0;
}

int nr_rtnl_addr(int s, const char *name, struct in_addr addr, int prefix, NrError *err)
{
    int idx = index_of(name, err);
    if (idx < 0)
        return -1;
    Req r;
    struct ifaddrmsg *a = req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof *a);
    a->ifa_family = AF_INET;
    a->ifa_prefixlen = (unsigned char)prefix;
    a->ifa_index = (unsigned)idx;
    attr(&r, IFA_LOCAL, &addr, sizeof addr);
    attr(&r, IFA_ADDRESS, &addr, sizeof addr);
    uint32_t host = 32 - prefix >= 32 ? 0xffffffffu : (1u << (32 - prefix)) - 1;
    struct in_addr brd = { .s_addr = addr.s_addr | htonl(host) };
    attr(&r, IFA_BROADCAST, &brd, sizeof brd);
    char what[64];
    snprintf(what, sizeof what, "cannot address the link %s", name);
    return talk(s, &r, what, err);
}

int nr_rtnl_default_route(int s, const char *name, struct in_addr gw, NrError *err)
{
    int idx = index_of(name, err);
    if (idx < 0)
        return -1;
    Req r;
    struct rtmsg *m = req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof *m);
    m->rtm_family = AF_INET;
    m->rtm_table = RT_TABLE_MAIN;
    m->rtm_protocol = RTPROT_BOOT;
    m->rtm_scope = RT_SCOPE_UNIVERSE;
    m->rtm_type = RTN_UNICAST;
    uint32_t oif = (uint32_t)idx;
    attr(&r, RTA_GATEWAY, &gw, sizeof gw);
    attr(&r, RTA_OIF, &oif, sizeof oif);
    return talk(s, &r, "cannot add the default route", err);
}
