/* SPDX-License-Identifier: Apache-2.0 */
/* netctr.c — `run --net=container:NAME`: the new container joins the
 * network namespace of the running container NAME (a pod).
 *
 * NAME's network namespace belongs to NAME's user namespace, where only
 * NAME's processes and NAME's owner (the user, from outside) have rights.
 * So nroot enters NAME's user namespace before the clone (it keeps all the
 * owner's rights there), joins the network, and creates the new
 * container's user namespace as a child of NAME's, with an identity map of
 * the ids the new container's own mapping has (written by nroot directly:
 * root of NAME's user namespace may; nr_userns_write_maps).  That gives
 * the new container the host ids it would have had on its own, which is
 * why NAME's map must cover them (same --userns for both).
 *
 *   prepare (before the image is resolved):  nr_netctr_open
 *     NAME found and running, its user and network namespaces opened from
 *     the fds its nroot keeps, its map checked, a pidfd of its nroot taken
 *   right before the clone:                    nr_netctr_enter
 *     setns(user), setns(net): the clone then makes no network namespace
 *   while it runs (supervise's watch):          nr_netctr_ended
 *     NAME's nroot ended: told once; the network stays, with NAME's lo
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-plan.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

static bool same_ns(int a, int b)
{
    struct stat x, y;
    return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

int nr_netctr_check_map(const NrRunConfig *cfg, const NrNetPeer *p, NrError *err)
{
    NrIdRange u[NR_MAX_RANGES], g[NR_MAX_RANGES];
    int nu = 0, ng = 0;
    char path[64];
    /* as the host sees it (NAME's PID 1 is in NAME's user namespace) */
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)p->init_pid);
    if (nr_userns_read_map(path, u, &nu, err) < 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)p->init_pid);
    if (nr_userns_read_map(path, g, &ng, err) < 0)
        return -1;
    if (nr_userns_map_covers(u, nu, cfg->map.uid, cfg->map.n_uid) &&
        nr_userns_map_covers(g, ng, cfg->map.gid, cfg->map.n_gid))
        return 0;
    nr_error_msg(err,
                 "--net=container:%s: the user namespace of '%s' does not map the ids of this "
                 "container (%s mapping)",
                 cfg->net_ctr, cfg->net_ctr, cfg->map.rung ? cfg->map.rung : "its");
    nr_error_hint(err, "without --userns this container takes the mapping of '%s'", cfg->net_ctr);
    return -1;
}

int nr_netctr_open(NrRunConfig *cfg, NrNetPeer *ret, NrError *err)
{
    NrCtr c;
    int fds[NR_NS_SLOTS];
    const char *name = cfg->net_ctr;
    *ret = (NrNetPeer){ .user = -1, .net = -1, .watch = -1 };
    if (nr_ctr_find(name, &c, err) < 0) {
        nr_error_prefix(err, "--net=container:%s", name);
        return -1;
    }
    if (!c.running) {
        nr_error_msg(err, "--net=container:%s: container '%s' is not running", name, name);
        if (c.in_store)
            nr_error_hint(err, "'nroot start %s' starts it", name);
        nr_ctr_clear(&c);
        return -1;
    }
    if (cfg->name && strcmp(c.name, cfg->name) == 0) {
        nr_ctr_clear(&c);
        return nr_error_msg(err, "--net=container:%s: a container cannot join its own network",
                            name);
    }
    if (nr_ctr_open_namespaces(&c, fds, err) < 0) {
        nr_error_prefix(err, "--net=container:%s", name);
        nr_ctr_clear(&c);
        return -1;
    }
    int rc = -1;
    int owner = ioctl(fds[NR_NS_NET], NS_GET_USERNS);
    if (nr_ns_is_current(fds[NR_NS_NET], NR_NS_NET)) {
        nr_error_msg(err, "--net=container:%s: '%s' uses the host's network", name, name);
        nr_error_hint(err, "--net=host gives this container the host's network too");
    } else if (owner < 0 || !same_ns(owner, fds[NR_NS_USER])) {
        const char *other = c.plan && c.plan->net_ctr ? c.plan->net_ctr : NULL;
        nr_error_msg(err, "--net=container:%s: '%s' shares the network of another container%s%s",
                     name, name, other ? ", " : "", other ? other : "");
        nr_error_hint(err, "name the container that owns the network in --net=container:");
    } else {
        /* a mapping not given is NAME's: the same ids, no 125 for a
         * NAME run with --userns=single on a machine with a range */
        if (cfg->userns == NR_USERNS_AUTO)
            cfg->userns = c.userns;
        cfg->net_shared = c.plan && c.plan->net != NR_NET_CONTAINER ? c.plan->net : NR_NET_NONE;
        if (c.plan && !c.plan->net_given)
            cfg->net_shared = NR_NET_SLIRP;
        ret->user = fds[NR_NS_USER];
        ret->net = fds[NR_NS_NET];
        fds[NR_NS_USER] = fds[NR_NS_NET] = -1;
        ret->watch = nr_ctr_pidfd(c.pid, c.pid_start);
        ret->init_pid = c.init_pid;
        snprintf(ret->name, sizeof ret->name, "%s", name);
        rc = 0;
    }
    if (owner >= 0)
        close(owner);
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    nr_ctr_clear(&c);
    return rc;
}

int nr_netctr_enter(NrNetPeer *p, NrError *err)
{
    if (nr_userns_enter(p->user, err) < 0 || setns(p->net, CLONE_NEWNET) < 0) {
        if (!err->code)
            nr_error_errno(err, "cannot join the network namespace");
        nr_error_prefix(err, "--net=container:%s", p->name);
        return -1;
    }
    close(p->user);
    close(p->net);
    p->user = p->net = -1;
    return 0;
}

void nr_netctr_ended(NrNetPeer *p)
{
    if (p->watch < 0)
        return;
    close(p->watch);
    p->watch = -1;
    /* not a notice -q silences: the container has lost its network */
    fprintf(stderr, "nroot: container %s, whose network this one shares, ended\n", p->name);
    fflush(stderr);
}

void nr_netctr_close(NrNetPeer *p)
{
    int *fds[] = { &p->user, &p->net, &p->watch };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}
