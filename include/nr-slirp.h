/* SPDX-License-Identifier: Apache-2.0 */
/* nr-slirp.h — the user-mode network of --net=slirp, run in nroot's own
 * process on the tap fd the child hands over (host/slirp.c). */
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>

#include "nr-error.h"
#include "nr-net.h"

struct NrRunConfig;
typedef struct NrSlirp NrSlirp;

/* load libslirp and start the stack on `tap` (taken over); published
 * ports are portfwd.c's */
NrSlirp *nr_slirp_new(int tap, const struct NrRunConfig *cfg, NrError *err);
/* the egress of a user network S/prefix (nr-usernet.h): gateway S.2, DNS
 * forwarder S.3, no DHCP, no IPv6, never the host's loopback */
NrSlirp *nr_slirp_new_net(int tap, struct in_addr net, int prefix, NrError *err);
void nr_slirp_free(NrSlirp *s);
/* put the stack's fds into (*pfd)[first..], growing it (*cap entries);
 * lowers *timeout_ms (-1: infinite) to the next timer; returns how many
 * fds it added.  dispatch reads *pfd, wherever later fills moved it. */
int nr_slirp_fill(NrSlirp *s, struct pollfd **pfd, int *cap, int first, int *timeout_ms);
/* after poll(): move frames and data, run due timers */
void nr_slirp_dispatch(NrSlirp *s, bool poll_error);
