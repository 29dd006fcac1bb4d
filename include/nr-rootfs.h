/* SPDX-License-Identifier: Apache-2.0 */
/* nr-rootfs.h — the container's root: the scratch tmpfs and the overlay
 * (kernel or fuse-overlayfs) mounted in the child (inside/rootfs.c), and
 * pivot_root; the parent starts fuse-overlayfs for it (nr-fuse.h). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-plan.h"

/* in the scratch directory: fuse-overlayfs's log and mount point */
#define NR_FUSE_LOG "fuse-overlayfs.log"
#define NR_FUSE_ROOT "root"
/* ... squashfuse_ll's log, and its mount point: the overlay's lower layer */
#define NR_SQUASHFUSE_LOG "squashfuse.log"
#define NR_SQUASHFUSE_ROOT "lower"

/* scratch tmpfs + overlay (kernel or fuse) at <scratch>/root */
int nr_rootfs_mount(const NrRunConfig *cfg, int sync_fd, char **ret_root, NrError *err);
int nr_rootfs_pivot(const char *root, NrError *err);
/* `in` as an overlayfs option value: ',' ':' and '\' escaped with a
 * backslash; cut short (never mid-escape) to fit `size` */
void nr_rootfs_ovl_escape(const char *in, char *out, size_t size);
