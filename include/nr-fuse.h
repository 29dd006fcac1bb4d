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
/* the squashfs image's mount, for one container */
typedef struct NrSquashfs {
    pid_t pid; /* a server of its own (a child of ours), else 0 */
    int conn;  /* the connection to the shared server, else -1 */
} NrSquashfs;
#define NR_SQUASHFS_INIT \
    { \
        .pid = 0, .conn = -1 \
    }
/* parent, on NR_SYNC_SQUASHFS (#3s): mount cfg->squashfs read-only for the
 * child and answer it on `sync_fd`.  Shared (nroot-squashfs, the
 * container's root the user, squashfs-linger not off): the user's server
 * for this image file and id map, started if none runs, gives a clone of
 * its mount, passed to the child in NR_SYNC_SQUASHFS to attach at the
 * scratch's NR_SQUASHFUSE_ROOT; sq->conn holds the server while the
 * container runs.  Else a server of the container's own mounts it there
 * (sq->pid) and the child is told NR_SYNC_GO. */
int nr_fuse_squashfs_start(const struct NrSyncMsg *req, const NrRunConfig *cfg, int sync_fd,
                           NrSquashfs *sq, NrError *err);
/* once the container has ended: its own server killed and reaped, or the
 * shared one let go */
void nr_fuse_squashfs_stop(NrSquashfs *sq, const char *scratch);
/* the linger of a shared server (nroot.conf squashfs-linger,
 * $NROOT_SQUASHFS_LINGER): seconds after its last container, default 10;
 * -1 ("off"): no sharing, a server per container */
int nr_fuse_squashfs_linger(int *ret_secs, const char **ret_from, NrError *err);
/* parent, once the container has ended: flush a kept layer (`keep`), then
 * kill and reap the daemon (either) */
void nr_fuse_stop(pid_t pid, const char *scratch, bool keep);
