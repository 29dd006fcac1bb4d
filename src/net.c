/* net.c — the container's side of its network namespace: loopback for
 * every private network; for --net=slirp also tap0, addressed and routed
 * with plain ioctls (no netlink library), whose fd goes to the parent (#3);
 * for --net=host the host's stack (nothing to do). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "nr-run.h"
#include "nr-slirp.h"
#include "nr-spawn.h"

/* linux/ipv6.h's, which clashes with netinet/in.h */
struct nr_in6_ifreq {
    struct in6_addr addr;
    uint32_t        prefixlen;
    int             ifindex;
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

static int route_ipv4(int s, const char *dev, NrError *err)
{
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
    struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
    struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
    dst->sin_family = gw->sin_family = mask->sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.2.2", &gw->sin_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = (char *)dev;
    if (ioctl(s, SIOCADDRT, &rt) < 0)
        return nr_error_errno(err, "cannot add the default route");
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

/* fd00::100/64 and a default route via fd00::2; quietly nothing on a
 * kernel without IPv6 */
static int set_ipv6(const char *dev, NrError *err)
{
    nr_autoclose int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return errno == EAFNOSUPPORT ? 0 : nr_error_errno(err, "socket");
    int index = (int)if_nametoindex(dev);
    struct nr_in6_ifreq r = { .prefixlen = 64, .ifindex = index };
    inet_pton(AF_INET6, NR_SLIRP_GUEST6, &r.addr);
    if (ioctl(s, SIOCSIFADDR, &r) < 0)
        return nr_error_errno(err, "cannot set the IPv6 address of %s", dev);
    struct in6_rtmsg rt;
    memset(&rt, 0, sizeof rt);
    inet_pton(AF_INET6, "fd00::2", &rt.rtmsg_gateway);
    rt.rtmsg_flags = RTF_UP | RTF_GATEWAY;
    rt.rtmsg_metric = 1;
    rt.rtmsg_ifindex = index;
    if (ioctl(s, SIOCADDRT, &rt) < 0)
        return nr_error_errno(err, "cannot add the IPv6 default route");
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
    if (link_up(s, "tap0", NR_SLIRP_MTU, err) < 0 || set_ipv4(s, "tap0", err) < 0 ||
        route_ipv4(s, "tap0", err) < 0 || set_ipv6("tap0", err) < 0)
        return -1;
    ping_groups(cfg);
    /* #3 child: the parent runs the stack on the other end of tap0 */
    if (nr_sync_send_fd(sync_fd, NR_SYNC_TAP, tap) < 0)
        return nr_error_errno(err, "cannot hand the tap device to nroot");
    return 0;
}

int nr_net_setup(const NrRunConfig *cfg, int sync_fd, NrError *err)
{
    if (cfg->net == NR_NET_HOST)
        return 0;
    nr_autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return nr_error_errno(err, "socket");
    if (link_up(s, "lo", 0, err) < 0)
        return -1;
    return cfg->net == NR_NET_SLIRP ? tap_setup(cfg, sync_fd, err) : 0;
}
