/* SPDX-License-Identifier: Apache-2.0 */
/* nr-fuse.h — the fuse daemons the parent starts for the child
 * (host/fuse.c): fuse-overlayfs, and squashfuse_ll for a squashfs image. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-plan.h"

/* parent, on NR_SYNC_FUSE (#3a): start fuse-overlayfs for the child,
 * outside its pid namespace; returns the daemon's pid (a child of ours) */
struct NrSyncMsg;
pid_t nr_fuse_start(const struct NrSyncMsg *req, NrError *err);
/* parent, on NR_SYNC_SQUASHFS (#3s): start squashfuse_ll for the child,
 * mounting cfg->squashfs read-only at the scratch's NR_SQUASHFUSE_ROOT;
 * returns the daemon's pid (a child of ours) */
pid_t nr_squashfuse_start(const struct NrSyncMsg *req, const NrRunConfig *cfg, NrError *err);
/* parent, once the container has ended: flush a kept layer (`keep`), then
 * kill and reap the daemon (either) */
void nr_fuse_stop(pid_t pid, const char *scratch, bool keep);
