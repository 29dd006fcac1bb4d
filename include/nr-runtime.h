/* SPDX-License-Identifier: Apache-2.0 */
/* nr-runtime.h — nroot's runtime directory (state/runtime.c): what lives
 * only while containers run. */
#pragma once
#include "nr-error.h"
#include "nr-spawn.h"

/* RT, nroot's runtime directory: private to the user (a directory of
 * theirs that nobody else can write, never a symlink):
 * $XDG_RUNTIME_DIR/nroot when XDG_RUNTIME_DIR is such a directory, else
 * /run/user/UID/nroot when that is, else /tmp/nroot-UID, else (someone
 * else holds that name) a private /tmp/nroot-UID.XXXXXX that every nroot
 * of the user on this host finds through STORE/runtime-dir.HOST */
const char *nr_runtime_dir(NrError *err);
/* RT/name, created (0700) if missing; malloc()ed */
char *nr_runtime_subdir(const char *name, NrError *err);

/* A helper of the user's that outlives the runs that started it (the
 * network holder, the user-namespace keeper), reached at RT_SUB/sock with
 * the rendezvous lock RT_SUB/lock (RT_SUB a subdirectory of RT): connect
 * under LOCK_EX; if nothing answers, start `/proc/self/exe argv...` with
 * `envp`, the listening socket as its fd 3 and no other fd but stdio, not
 * our child, in a session of its own, cwd /, stdin /dev/null, its output
 * appended to RT_SUB/LOG; wait up to `wait_ms` for its first message, then
 * unlock.  Returns the connected socket with that message in *ret_msg
 * (NR_SYNC_ERROR: the helper's failure, prefixed with `what`), or -1.  The
 * helper, with no client left, takes the lock without waiting, accepts
 * what came meanwhile, or else removes the socket and ends: a client never
 * reaches one that is ending, and two never start two.  `mode`:
 * NR_MEET_WAIT as said; NR_MEET_CONNECT: none answers, none is started,
 * NR_RUNTIME_NONE is returned; NR_MEET_START: only a start, if none
 * answers, for the clients after this one (NR_RUNTIME_NONE, nothing
 * read). */
typedef enum NrMeetMode { NR_MEET_WAIT, NR_MEET_CONNECT, NR_MEET_START } NrMeetMode;
#define NR_RUNTIME_NONE (-2)
int nr_runtime_meet(const char *rt_sub, const char *log, const char *what, char *const argv[],
                    char *const envp[], int wait_ms, NrMeetMode mode, NrSyncMsg *ret_msg,
                    NrError *err);
/* NR_MEET_CONNECT in two halves, for a client with other work to do while
 * the helper answers: begin connects under the lock and drops it (0;
 * NR_RUNTIME_NONE: none answers; -1), end waits for the first message as
 * nr_runtime_meet does (m->lfd stays -1). */
typedef struct NrMeet {
    int lfd, sock;
} NrMeet;
#define NR_MEET_INIT \
    { \
        .lfd = -1, .sock = -1 \
    }
int nr_runtime_meet_begin(const char *rt_sub, NrMeet *m, NrError *err);
int nr_runtime_meet_end(NrMeet *m, const char *rt_sub, const char *log, const char *what,
                        int wait_ms, NrSyncMsg *ret_msg, NrError *err);
