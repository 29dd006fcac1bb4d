/* SPDX-License-Identifier: Apache-2.0 */
/* nr-bypass.h — --tcp-bypass (host/bypass.c): the payload's connect calls
 * come to nroot as seccomp user notifications; a TCP connection to an
 * address outside the container gets a socket of the host's network
 * namespace, connected by nroot, in place of the container's. */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "nr-error.h"

struct NrRunConfig;
struct NrPortfwd;
typedef struct NrBypass NrBypass;

/* what a connect to an address becomes */
typedef enum NrBypassDest {
    NR_BYPASS_PLAIN, /* the container's own network: its loopback, slirp's subnet */
    NR_BYPASS_HOST,  /* a socket of the host's namespace, to *ret_to */
} NrBypassDest;

/* the destination `sa` (len bytes) decided: outside the container, or
 * 10.0.2.2 (fd00::2) with host_loopback, mapped to the host's loopback as
 * slirp maps it (*ret_to, *ret_len: the address to connect to) */
NrBypassDest nr_bypass_classify(const struct sockaddr_storage *sa, socklen_t len,
                                bool host_loopback, struct sockaddr_storage *ret_to,
                                socklen_t *ret_len);

/* can this kernel and libseccomp do it: NULL, or why not */
const char *nr_bypass_unsupported(void);

/* the listener (taken over) of the payload's filter; ctr_net: the
 * container's network namespace (fstat of PID 1's, NR_SYNC_NS);
 * ctr_userns, ctr_netns: fds of the container's user and network
 * namespaces (taken over, -1 if none), where nroot makes a socket for a
 * host socket disconnected with AF_UNSPEC; ports: the relay of cfg's
 * published ports (or NULL), whose TCP listeners a server's bind of a
 * published port takes over.  On failure the fds are closed too */
NrBypass *nr_bypass_new(int listener, const struct NrRunConfig *cfg, const struct stat *ctr_net,
                        int ctr_userns, int ctr_netns, struct NrPortfwd *ports, NrError *err);
void nr_bypass_free(NrBypass *b);
/* as nr_slirp_fill: the listener and the connects under way */
int nr_bypass_fill(NrBypass *b, struct pollfd **pfd, int *cap, int first, int *timeout_ms);
void nr_bypass_dispatch(NrBypass *b, const struct pollfd *pfd);
