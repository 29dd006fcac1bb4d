/* SPDX-License-Identifier: Apache-2.0 */
/* nr-usernet.h — user networks (`run --net=NAME`): the network holder, one
 * process per user (`nroot _net-holder`, host/netholder.c), and its clients,
 * the nroots of the containers attached (host/usernet.c).
 *
 * The holder owns a user namespace U (mapped as a container's) and, per
 * network in use, a network namespace of U's with the bridge nr0 (S.1),
 * unless --internal a tap on it served by libslirp in the holder's loop
 * (S.2 the gateway, S.3 its DNS forwarder), and dnsmasq on S.1:53 answering
 * the names of the network's containers.  A client joins U before it makes
 * the container (whose user namespace is a child of U: the holder may then
 * move a veth end into the container's network namespace), and hands the
 * holder that namespace (ATTACH); its connection lasts the container's
 * life, and its end (nroot ended, killed too) detaches the container.
 *
 * Rendezvous: RT/net/sock (unix stream), RT/net/lock: a client connects
 * under LOCK_EX (and starts the holder, handing it the listening socket, if
 * none answers) and releases it once the holder greeted it; the holder,
 * with no client left, takes the lock (never waiting), accepts what came
 * meanwhile, or else removes the socket and exits.
 *
 * Messages are NrSyncMsg (nr-spawn.h) with these types: */
#pragma once
#include <stddef.h>

#include "nr-error.h"

struct NrRunConfig;

enum {
    NR_NET_HELLO = 100, /* holder -> client: U's fd (SCM_RIGHTS), or NR_SYNC_ERROR */
    NR_NET_ATTACH,      /* client -> holder: the container's netns fd; err.msg:
                         * NAME NET PREFIX INTERNAL ROUTE IFNAME CTRNAME ID [ALIAS...]
                         * separated by tabs */
    NR_NET_ATTACHED,    /* holder -> client: err.msg the container's address, or
                         * NR_SYNC_ERROR */
};

/* the holder's address on a network S/prefix: bridge S.1, slirp S.2
 * (gateway), its DNS S.3, containers from S.10 */
#define NR_USERNET_FIRST_HOST 10

/* dnsmasq's path (PATH, then the sbin directories), or NULL: not installed */
const char *nr_usernet_dnsmasq(void);
/* `nroot _net-holder` (fd 3: the listening socket) */
int nr_netholder_main(void);

typedef struct NrUsernet NrUsernet;
/* before the container is made: the records of cfg's networks and their
 * locks (held until nr_usernet_close), the holder (started if none), its
 * user namespace joined; cfg->map is then in its ids (nr_userns_join) */
NrUsernet *nr_usernet_open(struct NrRunConfig *cfg, NrError *err);
/* #3n: the container's network namespace onto each network (eth0, eth1,
 * ...); ret_info, for the child: "NAMESERVER\tADDR0\tADDR1..." */
int nr_usernet_attach(NrUsernet *u, const struct NrRunConfig *cfg, int netns, char *ret_info,
                      size_t size, NrError *err);
/* the connection to the holder: readable (EOF) when the holder ended */
int nr_usernet_fd(const NrUsernet *u);
void nr_usernet_close(NrUsernet *u);
