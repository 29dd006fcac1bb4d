/* SPDX-License-Identifier: Apache-2.0 */
/* nr-mounts.h — what the child mounts under the new root before
 * pivot_root (inside/mounts.c), the two mount helpers devices.c shares, and
 * the lock of those mounts for a payload with SYS_ADMIN. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-plan.h"

/* mount(2) onto the file or directory open as `fd` (an O_PATH fd
 * resolved in the root); -1 with errno */
int nr_mounts_on(int fd, const char *src, const char *type, unsigned long flags, const char *data);
/* MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC of `flags` set on the mount at
 * `fd` and those below it (mount_setattr, else a remount); `what` names it
 * in the error */
int nr_mounts_restrict(int fd, unsigned long flags, const char *what, NrError *err);
/* everything mounted under the new root before pivot_root: /proc, /dev,
 * /tmp and /etc's files; then, once the container is in its network
 * namespace (sysfs is mounted by its owner), /sys, the masks and the
 * volumes (and /etc's files for a user network: they hold its address) */
int nr_mounts_setup(const NrRunConfig *cfg, const char *root, NrError *err);
int nr_mounts_setup_late(const NrRunConfig *cfg, const char *root, NrError *err);
/* with SYS_ADMIN the payload gets a nested user and mount
 * namespace, in which every mount nroot made is locked by the kernel:
 * the payload's side (just after the fork) and PID 1's (writes its maps,
 * passes both namespaces on to nroot over sync_fd for exec) */
bool nr_mounts_lock_wanted(const NrRunConfig *cfg);
int nr_mounts_lock_enter(int sock, NrError *err);
void nr_mounts_lock_map(pid_t pid, int sock, int sync_fd);
