/* SPDX-License-Identifier: Apache-2.0 */
/* nr-network.h — user networks as records (state/network.c): what
 * `nroot network` writes and `nroot run --net=NAME` reads.
 *
 *   STORE/networks/NAME/config   key=value: version=1, name=NAME,
 *                                subnet=10.89.1.0/24, internal=0|1,
 *                                created=EPOCH (written once, atomically)
 *   STORE/networks/NAME/lock     flock(LOCK_SH) by each attached
 *                                container's nroot for its life
 *                                (nr_network_hold); `network rm` takes
 *                                LOCK_EX|LOCK_NB to refuse one in use
 *   RT/net/hosts-NAME/hosts      the holder's hosts file of the network
 *                                (part N1's: dnsmasq's --hostsdir): lines
 *                                "ADDRESS NAME ID ALIAS..."; `network
 *                                inspect` reads a container's address there
 *
 * The addresses follow from the subnet S alone: the bridge S.1 (also the
 * DNS server the containers use), libslirp S.2 (the gateway, the default
 * route), libslirp's DNS forwarder S.3, the containers from S.10 up. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nr-error.h"
#include "nr-util.h"

/* the format of STORE/networks/NAME/config this nroot writes */
#define NR_NETWORK_CONFIG_VERSION 1
/* the longest network name (NrNetwork.name holds it) */
#define NR_NETWORK_NAME_MAX 63
/* host numbers in the subnet (nr_network_host) */
#define NR_NETWORK_BRIDGE 1    /* nr0 in the holder's netns; dnsmasq listens there */
#define NR_NETWORK_GATEWAY 2   /* libslirp: the way out (not on --internal networks) */
#define NR_NETWORK_SLIRP_DNS 3 /* libslirp's DNS forwarder, dnsmasq's upstream */
#define NR_NETWORK_FIRST_HOST 10
/* the subnets `network create --subnet` takes: prefixes /16 to /28 */
#define NR_NETWORK_PREFIX_MIN 16
#define NR_NETWORK_PREFIX_MAX 28

typedef struct NrNetwork {
    char name[64];
    struct in_addr net; /* network byte order, host bits zero */
    int prefix;
    bool internal;
    int64_t created;
} NrNetwork;

/* a network name: as a container name (letters, digits, '_', '.', '-',
 * starting with a letter or digit), at most NR_NETWORK_NAME_MAX, and none
 * of run's --net modes (none, host, slirp) */
bool nr_network_name_valid(const char *name);

/* ---- subnets (pure) ---- */

/* "A.B.C.D/P" -> network and prefix: an IPv4 private range (10/8,
 * 172.16/12, 192.168/16) with a prefix from /16 to /28, its host bits zero,
 * not overlapping 10.0.2.0/24 (the address of --net=slirp) */
int nr_network_parse_subnet(const char *s, struct in_addr *ret_net, int *ret_prefix, NrError *err);
/* do the two subnets share an address? */
bool nr_network_overlaps(struct in_addr a, int prefix_a, struct in_addr b, int prefix_b);
/* the first 10.89.N.0/24 (N from 1) that overlaps none of `used` */
int nr_network_pick_subnet(const NrNetwork *used, size_t n, struct in_addr *ret_net,
                           int *ret_prefix, NrError *err);
/* host number `host` of the network (NR_NETWORK_BRIDGE, ...) */
struct in_addr nr_network_host(const NrNetwork *n, uint32_t host);
/* "10.89.1.0/24" */
void nr_network_subnet_text(const NrNetwork *n, char *buf, size_t size);

/* ---- the records ---- */

/* STORE/networks/NAME/config, checked (a damaged one fails, naming it) */
int nr_network_load(const char *name, NrNetwork *ret, NrError *err);
/* the fd of STORE/networks/NAME/lock, flock(LOCK_SH) taken: held by each
 * attached container's nroot for its lifetime (network rm takes
 * LOCK_EX|LOCK_NB to refuse a network in use).  A network removed
 * meanwhile is an error naming `nroot network create` */
int nr_network_hold(const char *name, NrError *err);
/* every network, sorted by name; a damaged record is one warning and is
 * skipped (`nroot network rm NAME` removes it) */
int nr_network_list(NrNetwork **ret, size_t *ret_n, NrError *err);
/* a new network (under the store lock): `subnet` NULL picks the first
 * free 10.89.N.0/24, a given one must overlap no other network's */
int nr_network_create(const char *name, const char *subnet, bool internal, NrNetwork *ret,
                      NrError *err);
/* is there a record of NAME (damaged or not)? */
bool nr_network_exists(const char *name);
/* remove the network (under the store lock); 1 if a running container
 * holds it (nothing removed), -1 if it is no network (or on an error) */
int nr_network_remove(const char *name, NrError *err);

/* ---- what runs on a network ---- */

/* RT/net/hosts-NAME/hosts: the holder's hosts file of network NAME
 * (malloc()ed; nothing is created) */
char *nr_network_hosts_file(const char *name, NrError *err);

typedef struct NrNetworkMember {
    char network[64];
    char name[129]; /* "" for an unnamed container */
    char id[13];
    char address[16]; /* "" when the holder has not recorded it */
} NrNetworkMember;

/* the running containers on networks: one member per container and
 * network its config names (net=NAME), with its address from the holder's
 * hosts file of that network */
int nr_network_members(NrNetworkMember **ret, size_t *ret_n, NrError *err);
