/* SPDX-License-Identifier: Apache-2.0 */
/* nr-net.h — the container's network, set up in the child (inside/net.c). */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"

/* the user-mode network of --net=slirp: the container's side (net.c) and
 * the stack in the parent (host/slirp.c) agree on these */
#define NR_SLIRP_MTU 65520
#define NR_SLIRP_GUEST "10.0.2.100"
#define NR_SLIRP_GUEST6 "fd00::100"

/* The container's own network namespace (every --net but host and
 * container:NAME; not for OCI bundles, whose clone makes theirs): made on
 * a thread of the child, loopback brought up there, while the child
 * mounts the root; creating it takes ~0.5 ms of kernel time, about a
 * tenth of a start.  The thread starts once the child has closed the fds
 * it does not keep (its fd would be among them). */
int nr_net_begin(const NrRunConfig *cfg, NrError *err);

/* the child enters the namespace of nr_net_begin (waiting for its
 * thread); then loopback; with slirp, tap0 configured and its fd sent
 * (#3); with user networks, the network namespace's fd sent and the
 * holder's answer awaited (#3n) */
int nr_net_setup(const NrRunConfig *cfg, int sync_fd, NrError *err);

/* with user networks, once nr_net_setup returned: the name server of the
 * first network and the container's address on it ("" before) */
const char *nr_net_user_nameserver(void);
const char *nr_net_user_address(void);
