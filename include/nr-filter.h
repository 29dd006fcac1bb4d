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

/* in the parent, before the clone: cfg->seccomp from the profile, recorded
 * in the container's runtime directory (run, start); exec takes the filter
 * its container recorded */
int nr_seccomp_prepare(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err);
int nr_seccomp_recorded(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err);
/* --root-emulation=auto made on or off for the id map: on where root is
 * the one id mapped (the single rung) */
NrRootEmu nr_rootemu_resolve(NrRootEmu mode, const NrIdMap *map);
/* in the payload, the last step before exec: load the filters; root
 * emulation's only for a command that starts as root (`root`) */
int nr_seccomp_apply(const NrRunConfig *cfg, bool root, NrError *err);
