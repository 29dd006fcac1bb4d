/* net.c — the container's network namespace: loopback for --net=none; the
 * host's stack for --net=host (nothing to do). */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "nr-run.h"

int nr_net_setup(const NrRunConfig *cfg, NrError *err)
{
    if (cfg->net == NR_NET_HOST)
        return 0;
    nr_autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return nr_error_errno(err, "socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return nr_error_errno(err, "cannot read the flags of lo");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return nr_error_errno(err, "cannot bring lo up");
    return 0;
}
