/* SPDX-License-Identifier: Apache-2.0 */
/* usernet.c — a container's side of user networks (nr-usernet.h): the
 * networks' records and locks, the holder found or started, its user
 * namespace joined before the container is made, and the container's
 * network namespace handed over once the child made it (#3n). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-network.h"
#include "nr-plan.h"
#include "nr-runtime.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-usernet.h"
#include "nr-util.h"

extern char **environ;

const char *nr_usernet_dnsmasq(void)
{
    static char path[PATH_MAX];
    const char *why;
    if (nr_userns_find_program("dnsmasq", path, sizeof path, &why))
        return path;
    /* a user's PATH often lacks the sbin directories */
    static const char *const known[] = { "/usr/sbin/dnsmasq", "/sbin/dnsmasq",
                                         "/usr/local/sbin/dnsmasq" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (access(known[i], X_OK) == 0)
            return known[i];
    return NULL;
}

struct NrUsernet {
    int sock;
    size_t n;
    NrNetwork *nets;
    int *holds;
};

void nr_usernet_close(NrUsernet *u)
{
    if (!u)
        return;
    if (u->sock >= 0)
        close(u->sock);
    for (size_t i = 0; i < u->n; i++)
        if (u->holds[i] >= 0)
            close(u->holds[i]);
    free(u->holds);
    free(u->nets);
    free(u);
}

int nr_usernet_fd(const NrUsernet *u)
{
    return u ? u->sock : -1;
}

/* connected to the holder (started if none answers), greeted: U's fd */
static int meet_holder(NrUsernet *u, int *ret_userns, NrError *err)
{
    nr_autofree char *rt = nr_runtime_subdir("net", err);
    if (!rt)
        return -1;
    char *const argv[] = { "nroot", "_net-holder", NULL };
    NrSyncMsg m = { .fd = -1 };
    /* the holder greets once it made U (a few ms; its log says why not) */
    u->sock = nr_runtime_meet(rt, "holder.log", "the network holder", argv, environ, 10000,
                              NR_MEET_WAIT, &m, err);
    if (u->sock < 0)
        return -1;
    if (m.type == NR_SYNC_ERROR) {
        *err = m.err;
        nr_error_prefix(err, "the network holder");
        return -1;
    }
    if (m.type != NR_NET_HELLO || m.fd < 0) {
        if (m.fd >= 0)
            close(m.fd);
        nr_error_msg(err, "the network holder did not answer");
        nr_error_hint(err, "its log is '%s/holder.log'", rt);
        return -1;
    }
    *ret_userns = m.fd;
    return 0;
}

NrUsernet *nr_usernet_open(NrRunConfig *cfg, NrError *err)
{
    NrUsernet *u = nr_xmalloc(sizeof *u);
    u->sock = -1;
    u->n = cfg->networks.n;
    u->nets = nr_xmalloc(sizeof *u->nets * u->n);
    u->holds = nr_xmalloc(sizeof *u->holds * u->n);
    for (size_t i = 0; i < u->n; i++)
        u->holds[i] = -1;
    for (size_t i = 0; i < u->n; i++)
        /* held first, then read: a network removed and made again
         * meanwhile is read as it is now */
        if ((u->holds[i] = nr_network_hold(cfg->networks.v[i], err)) < 0 ||
            nr_network_load(cfg->networks.v[i], &u->nets[i], err) < 0)
            goto fail;
    if (!nr_usernet_dnsmasq())
        nr_notice("dnsmasq is not installed: the containers of user networks reach each other "
                  "by address, not by name (apt-get install dnsmasq-base)");
    int userns = -1;
    if (meet_holder(u, &userns, err) < 0)
        goto fail;
    int rc = nr_userns_join(userns, &cfg->map, err);
    close(userns);
    if (rc < 0)
        goto fail;
    return u;
fail:
    nr_usernet_close(u);
    return NULL;
}

int nr_usernet_attach(NrUsernet *u, const NrRunConfig *cfg, int netns, char *ret_info, size_t size,
                      NrError *err)
{
    size_t off = 0;
    bool route = false;
    char ns[INET_ADDRSTRLEN];
    for (size_t i = 0; i < u->n; i++) {
        const NrNetwork *n = &u->nets[i];
        char net[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &n->net, net, sizeof net);
        if (i == 0) {
            /* dnsmasq on S.1; without it libslirp's forwarder on S.3 answers
             * the outside names (an internal network has none) */
            uint32_t dns = nr_usernet_dnsmasq() || n->internal ? 1 : 3;
            struct in_addr a = { .s_addr = htonl(ntohl(n->net.s_addr) + dns) };
            inet_ntop(AF_INET, &a, ns, sizeof ns);
            off += (size_t)snprintf(ret_info, size, "%s", ns);
        }
        /* the default route: through the first network with a way out */
        bool r = !route && !n->internal;
        route |= r;
        NrError m = { 0 };
        const char *host = cfg->hostname ? cfg->hostname : "";
        int k = snprintf(m.msg, sizeof m.msg, "%s\t%s\t%d\t%d\t%d\teth%zu\t%s\t%s\t%s", n->name,
                         net, n->prefix, n->internal, r, i, cfg->name ? cfg->name : "", cfg->cid,
                         strcmp(host, cfg->cid) ? host : "");
        for (size_t j = 0; j < cfg->net_aliases.n && k < (int)sizeof m.msg; j++)
            k += snprintf(m.msg + k, sizeof m.msg - (size_t)k, "\t%s", cfg->net_aliases.v[j]);
        NrSyncMsg a;
        if (nr_sync_send_fd_err(u->sock, NR_NET_ATTACH, netns, &m) < 0 ||
            nr_sync_recv(u->sock, &a) != 1)
            return nr_error_msg(err, "the network holder ended while container %s joined %s",
                                cfg->cid, n->name);
        if (a.fd >= 0)
            close(a.fd);
        if (a.type == NR_SYNC_ERROR) {
            *err = a.err;
            nr_error_prefix(err, "network '%s'", n->name);
            return -1;
        }
        if (off < size)
            off += (size_t)snprintf(ret_info + off, size - off, "\t%s", a.err.msg);
    }
    return 0;
}
