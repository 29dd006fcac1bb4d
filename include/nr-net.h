/* SPDX-License-Identifier: Apache-2.0 */
/* nr-net.h — the container's network, set up in the child (inside/net.c). */
#pragma once
#include <stdbool.h>

#include "nr-error.h"
#include "nr-plan.h"

/* the user-mode network of --net=slirp: the container's side (net.c) and
 * the stack in the parent (host/slirp.c) agree on these */
#define NR_SLIRP_MTU 65520
#define NR_SLIRP_GUEST "10.0.2.100"
#define NR_SLIRP_GUEST6 "fd00::100"

/* whether the child makes a network namespace of its own (every --net but
 * host and container:NAME; not an OCI bundle, whose clone makes it):
 * aside.c makes it, on a thread */
bool nr_net_own(const NrRunConfig *cfg);
/* unshare(CLONE_NEWNET), and its loopback up, on the calling thread */
int nr_net_new_netns(NrError *err);
int nr_net_loopback_up(NrError *err);

/* the child enters the namespace aside.c made (waiting for it); then
 * loopback; with slirp, tap0 configured and its fd sent (#3); with user
 * networks, the network namespace's fd sent and the holder's answer
 * awaited (#3n) */
int nr_net_setup(const NrRunConfig *cfg, int sync_fd, NrError *err);

/* with user networks, once nr_net_setup returned: the name server of the
 * first network and the container's address on it ("" before) */
const char *nr_net_user_nameserver(void);
const char *nr_net_user_address(void);
