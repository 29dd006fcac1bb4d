/* SPDX-License-Identifier: Apache-2.0 */
/* nr-filter.h — the seccomp filter of a run (seccomp/filter.c): compiled
 * or taken from the cache in the parent, loaded by the payload. */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"

/* where the parent's side finds and keeps filters: the caller (cmd) knows
 * the runtime directory and the helper, this module does not */
typedef struct NrFilterDirs {
    const char *rt_dir;    /* the container's runtime directory: its filter */
    const char *cache_dir; /* compiled default filters (NULL: no cache) */
    const char *helper;    /* nroot-unpack, which compiles a JSON profile */
} NrFilterDirs;

/* in the parent, before the clone: cfg->seccomp (and cfg->rootemu) from
 * the profile (run, start); exec takes the filter its container recorded */
int nr_seccomp_prepare(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err);
/* the filters of nr_seccomp_prepare recorded in the container's runtime
 * directory, for exec: run writes them after the clone, while the child
 * mounts (they are not on the start-up path), before the container is
 * recorded as running */
int nr_seccomp_record(const NrRunConfig *cfg, const NrFilterDirs *at, NrError *err);
int nr_seccomp_recorded(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err);
/* --root-emulation=auto made on or off for the id map: on where root is
 * the one id mapped (the single rung) */
NrRootEmu nr_rootemu_resolve(NrRootEmu mode, const NrIdMap *map);
/* in the payload, the last step before exec: load the filters; root
 * emulation's only for a command that starts as root (`root`).  The
 * thread that starts the payload (inside/aside.c) may have loaded them
 * ahead: nr_seccomp_early's profile, then, for a root command alone in
 * its mapping (nr_payload_root_alone), root emulation's */
int nr_seccomp_apply(const NrRunConfig *cfg, bool root, NrError *err);
/* The profile the payload's start may load ahead, on the thread that
 * starts it (inside/aside.c), or NULL: nroot's default profile only (it
 * allows every call of the payload's set-up: a JSON profile may not), not
 * under --tcp-bypass (whose filter goes first).  nr_seccomp_load loads it
 * on the calling thread; nr_seccomp_apply_rest is nr_seccomp_apply
 * without it. */
const struct NrBpf *nr_seccomp_early(const NrRunConfig *cfg);
int nr_seccomp_load(const struct NrBpf *b);
int nr_seccomp_apply_rest(const NrRunConfig *cfg, bool root, NrError *err);
/* --tcp-bypass, in the payload before nr_seccomp_apply: load its filter
 * and send the listener to nroot on sync_fd (NR_SYNC_NOTIFY) */
int nr_seccomp_apply_bypass(const NrRunConfig *cfg, int sync_fd, NrError *err);

/* run nroot-unpack (`helper`, argv[0] its name) with out3 on fd 3, a new
 * sync socket on fd 4 and out5 (-1: none) on fd 5, nothing else; wait for
 * it.  A failure it reports (or that it cannot run: `what` names what it
 * was run for) is err; else *ret_status is its exit status and `result`
 * the text of its NR_SYNC_RESULT ("" if none). */
int nr_seccomp_run_helper(const char *helper, char *const argv[], int out3, int out5,
                          const char *what, int *ret_status, char result[1024], NrError *err);
/* the raw program (struct sock_filter[]) in the file at fd, from offset 0,
 * to be loaded with the SECCOMP_FILTER_FLAG_* `flags`; free() it */
struct NrBpf *nr_bpf_read_fd(int fd, uint32_t flags, NrError *err);
