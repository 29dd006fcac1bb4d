/* nr-filter.h — the seccomp filter of a run (seccomp/filter.c): compiled
 * or taken from the cache in the parent, loaded by the payload. */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"

/* in the parent, before the clone: cfg->seccomp from the
 * profile, recorded in the container's runtime directory rt_dir (run,
 * start); exec takes the filter its container recorded */
int  nr_seccomp_prepare(NrRunConfig *cfg, const char *rt_dir, NrError *err);
int  nr_seccomp_recorded(NrRunConfig *cfg, const char *rt_dir, NrError *err);
/* in the payload, the last step before exec: load the filters */
int  nr_seccomp_apply(const NrRunConfig *cfg, NrError *err);
