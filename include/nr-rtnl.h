/* SPDX-License-Identifier: Apache-2.0 */
/* nr-rtnl.h — the few rtnetlink requests of user networks (host/rtnl.c),
 * made on a socket of the network namespace the caller is in: a bridge, a
 * veth pair (its peer in another namespace), a link's master and state,
 * an IPv4 address, a default route.  Built by hand, as inside/net.c
 * builds its routes: a library for five messages would cost every start. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>

#include "nr-error.h"

/* a NETLINK_ROUTE socket of the current network namespace */
int nr_rtnl_open(NrError *err);
/* a bridge `name` */
int nr_rtnl_bridge(int s, const char *name, NrError *err);
/* a veth pair: `name` here, `peer` in the network namespace `peer_ns`
 * (an fd), both with `mtu` */
int nr_rtnl_veth(int s, const char *name, const char *peer, int peer_ns, int mtu, NrError *err);
/* link `name`: its master (0: unchanged), mtu (0: unchanged), up */
int nr_rtnl_link_up(int s, const char *name, const char *master, int mtu, NrError *err);
/* remove link `name` (gone already: fine) */
int nr_rtnl_link_del(int s, const char *name, NrError *err);
/* `addr`/`prefix` on link `name` */
int nr_rtnl_addr(int s, const char *name, struct in_addr addr, int prefix, NrError *err);
/* the default route via `gw` on link `name` */
int nr_rtnl_default_route(int s, const char *name, struct in_addr gw, NrError *err);
