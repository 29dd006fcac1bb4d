/* SPDX-License-Identifier: Apache-2.0 */
/* nr-network.h — user networks' records: STORE/networks/NAME/config.
 *
 * PART N1 STAND-IN: the minimal reader `run --net=NAME` needs, with the
 * signatures of issue 18's brief.  Part N2 (branch h/netcli) owns this
 * header and src/state/network.c: at the merge, drop this file and
 * src/state/network.c for N2's. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "nr-error.h"

typedef struct NrNetwork {
    char name[64];
    struct in_addr net; /* S: bridge S.1, libslirp S.2 (gateway), its DNS S.3 */
    int prefix;
    bool internal;
    int64_t created;
} NrNetwork;

/* the record of network `name`; a missing one is a 125 naming `nroot
 * network create` */
int nr_network_load(const char *name, NrNetwork *ret, NrError *err);
/* the fd of STORE/networks/NAME/lock, flock(LOCK_SH) taken: held by each
 * attached container's nroot for its lifetime (network rm takes
 * LOCK_EX|LOCK_NB to refuse a network in use) */
int nr_network_hold(const char *name, NrError *err);
