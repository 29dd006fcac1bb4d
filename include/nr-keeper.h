/* SPDX-License-Identifier: Apache-2.0 */
/* nr-keeper.h — the user-namespace keeper (host/keeper.c): one process per
 * user, `nroot _userns-keeper`, that holds a user namespace U mapped as
 * the default subordinate-id plan (newuidmap/newgidmap run once, when it
 * starts) and hands U's fd to the runs that would otherwise run the two
 * setuid helpers per container.  Such a run joins U (nr_userns_join) and
 * makes the container's user namespace as a child of U, writing its maps
 * itself (the identity of U's ids).
 *
 * Rendezvous: RT/userns/sock and RT/userns/lock (nr_runtime_meet); the
 * keeper greets each connection with NR_KEEPER_HELLO (U's fd, err.msg U's
 * map as nr_userns_map_text writes it) and closes it; it ends
 * `userns-linger` seconds after the last one.  RT/userns/keeper.pid names
 * it while it runs (for `nroot info` and the tests), RT/userns/keeper.log
 * holds its lines. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-userns.h"

enum {
    NR_KEEPER_HELLO = 120, /* keeper -> client: U's fd (SCM_RIGHTS), err.msg its map */
};

#define NR_KEEPER_LINGER_DEFAULT 30

/* nroot.conf userns-linger, $NROOT_USERNS_LINGER: seconds, -1 for off */
int nr_keeper_linger(int *ret_secs, const char **ret_from, NrError *err);
/* Before the container is made, for a run whose plan is `map` and that has
 * no other user namespace to be in: join the keeper's U when `map` is the
 * default subordinate-id plan and U has that map; `map` is then in U's
 * ids.  A run that finds no keeper (0) maps its own namespace and starts
 * one for the runs after it with nr_keeper_start once its command runs.  1: joined; 0: not (linger
 * off, another plan, or no keeper to be had: the run maps its namespace
 * with the helpers as before, quietly); -1: a bad userns-linger, or U
 * joined but unusable. */
int nr_keeper_join(NrIdMap *map, NrError *err);
/* the first half of nr_keeper_join's meeting, for a run with more to
 * prepare: connected, the keeper answers meanwhile (nothing when the run
 * would not join) */
void nr_keeper_begin(const NrIdMap *map);
/* the keeper nr_keeper_join found missing, started (not waited for) */
void nr_keeper_start(void);
/* the pid of the user's running keeper, 0 if none */
pid_t nr_keeper_running(void);
/* `nroot _userns-keeper LINGER` (fd 3: the listening socket, RT/userns/sock) */
int nr_keeper_main(int argc, char **argv);
