/* SPDX-License-Identifier: Apache-2.0 */
/* nr-fuse.h — fuse-overlayfs, started by the parent for the child
 * (host/fuse.c). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "nr-error.h"

/* parent, on NR_SYNC_FUSE (#3a): start fuse-overlayfs for the child,
 * outside its pid namespace; returns the daemon's pid (a child of ours) */
struct NrSyncMsg;
pid_t nr_fuse_start(const struct NrSyncMsg *req, NrError *err);
/* parent, once the container has ended: flush a kept layer (`keep`), then
 * kill and reap the daemon */
void nr_fuse_stop(pid_t pid, const char *scratch, bool keep);
