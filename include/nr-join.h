/* SPDX-License-Identifier: Apache-2.0 */
/* nr-join.h — the keys of `nroot run --join` (state/join.c): which
 * container the processes of one KEY share on this host, and how long it
 * lives.  All of it lives in the runtime directory, RT/join/, never in the
 * store (which may be on a network file system):
 *
 *   BASE.lock   the key's lock (flock, exclusive): held by a creator from
 *               before its start until its container is ready, by a joiner
 *               while it looks, by a creator while it ends
 *   BASE.ctr    the id of the live container of the key (its record)
 *   BASE.users  a shared flock per participant while its command runs: a
 *               killed participant releases its share with its fds
 *   BASE.count  how many have come (the creator included)
 *
 * BASE is RT/join/key-KEY, or RT/join/name-NAME with --name. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "nr-error.h"

typedef struct NrJoin {
    char *base;       /* RT/join/key-KEY or RT/join/name-NAME */
    int lock_fd;      /* BASE.lock while held, else -1 */
    int users_fd;     /* a joiner's share of BASE.users, else -1 */
    unsigned count;   /* participants to wait for, 0: unknown */
    int64_t deadline; /* the creator waits for them until then (ms, CLOCK_MONOTONIC) */
} NrJoin;

/* letters, digits, '_', '.', '-', starting with a letter or digit, at most 128 */
bool nr_join_key_valid(const char *key);

/* The key (KEY, else under Slurm slurm-$SLURM_JOB_ID.$SLURM_STEP_ID; a
 * --name NAME makes the named container the shared one) and the count
 * (count, else under Slurm the step's tasks on this node) of a run. */
int nr_join_open(const char *key, const char *name, unsigned count, NrJoin *ret, NrError *err);

/* Take the key: 0, create the container (the key's lock held until
 * nr_join_ready); 1, join the running container ret_id (NAME or id), a
 * share of BASE.users held until nroot ends. */
int nr_join_enter(NrJoin *j, char ret_id[129], NrError *err);

/* the creator's container runs and is recorded (id): joiners may come */
int nr_join_ready(NrJoin *j, const char *id, NrError *err);

/* the creator, once its command ended: true when the container may end
 * (the count reached or its wait over, and nobody holds a share); the
 * key's files are then removed and no one can join any more */
bool nr_join_may_end(NrJoin *j);

/* a creator that did not start its container (an error before
 * nr_join_ready): the key's files go while its lock is still held, so
 * that nothing is left and the next comer creates */
void nr_join_abandon(NrJoin *j);

/* a joiner whose command ended: the key's files are removed if their
 * container is gone (its creator was killed) */
void nr_join_leave(NrJoin *j);

/* how long a creator waits for --join-count participants: $NROOT_JOIN_TIMEOUT
 * seconds, else 60 */
unsigned nr_join_timeout(void);
