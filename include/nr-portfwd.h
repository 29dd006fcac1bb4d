/* SPDX-License-Identifier: Apache-2.0 */
/* nr-portfwd.h — published ports, TCP and UDP: nroot binds the host port
 * and relays to a socket PID 1 makes in the container's network namespace
 * (portfwd.c). */
#pragma once
#include <poll.h>
#include <stdbool.h>

#include "nr-error.h"
#include "nr-spawn.h"

struct NrRunConfig;
struct NrPort;
typedef struct NrPortfwd NrPortfwd;

/* bind (and for TCP listen on) the host side of every port of cfg, before
 * the container starts: a port in use fails the run at once */
NrPortfwd *nr_portfwd_new(const struct NrRunConfig *cfg, NrError *err);
void nr_portfwd_free(NrPortfwd *f);
/* relay from here on, asking PID 1 through sync_fd for the other ends;
 * takes the descriptor limit nroot runs with now */
void nr_portfwd_start(NrPortfwd *f, int sync_fd);
/* put the fds to wait for into (*pfd)[first..], growing it; lowers
 * *timeout_ms (-1: infinite) to the next flow's expiry; returns how many */
int nr_portfwd_fill(NrPortfwd *f, struct pollfd **pfd, int *cap, int first, int *timeout_ms);
void nr_portfwd_dispatch(NrPortfwd *f, const struct pollfd *pfd);
/* PID 1's answer: NR_SYNC_CONNECTED with the socket (or without: refused) */
void nr_portfwd_connected(NrPortfwd *f, const NrSyncMsg *msg);
/* --tcp-bypass: the relay's TCP listeners of p that a host socket of
 * `family` (AF_INET6: v6only or not) bound to p's host address and port
 * would collide with are closed: the container's server takes the port
 * itself.  Returns what was released, for nr_portfwd_restore */
unsigned nr_portfwd_release(NrPortfwd *f, const struct NrPort *p, int family, bool v6only);
/* the listeners released (mask) bound and listening again: a swap that
 * failed.  One that cannot be bound again leaves the port unserved */
void nr_portfwd_restore(NrPortfwd *f, unsigned mask);
/* "cannot publish port 'SPEC': ..." for a bind that failed with errnum */
int nr_port_error(const struct NrPort *p, int errnum, NrError *err);

/* the poll set of nroot's loop (host/supervise.c), shared by slirp, the ports and
 * the terminal: at least `need` entries, grown by doubling */
void nr_portfwd_poll_grow(struct pollfd **pfd, int *cap, int need);
