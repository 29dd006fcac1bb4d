/* SPDX-License-Identifier: Apache-2.0 */
/* nr-devices.h — the devices a container gets (--device, --gpus): the
 * container edits of the CDI specs merged in the parent (host/cdi.c), as
 * plain data of the plan; the child applies them (inside/devices.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-hook.h"
#include "nr-util.h"

/* a device node: the host's node bound over an empty file (rootless
 * cannot mknod) */
typedef struct NrDevNode {
    char *path; /* inside the container, absolute */
    char *host; /* the host's node */
} NrDevNode;

/* a bind mount of a host path */
typedef struct NrDevMount {
    char *host, *path;
    unsigned long flags; /* MS_RDONLY MS_NOSUID MS_NODEV MS_NOEXEC, applied by a remount */
    bool rec;            /* rbind */
} NrDevMount;

typedef struct NrDevices {
    NrDevNode *nodes;
    size_t n_nodes;
    NrDevMount *mounts;
    size_t n_mounts;
    NrHook *hooks;
    size_t n_hooks;
    NrStrv env;  /* K=V, under the command line's -e */
    gid_t *gids; /* additional groups of the command (mapped ones only) */
    size_t n_gids;
    char *bundle; /* a directory holding config.json for the hooks (NULL: no hooks) */
    /* the hooks' state: the OCI container id (NULL: the cid) and the
     * bundle's annotations (NULL-terminated "key=value", NULL: none) */
    const char *state_id;
    char **annotations;
} NrDevices;

/* the child, in the container's mount namespace, before pivot_root: the
 * nodes and mounts under `root`, then the createRuntime hooks (run by the
 * parent: asked over sync_fd) and the createContainer hooks */
int nr_devices_setup(const NrDevices *dev, const char *cid, const char *root, int sync_fd,
                     NrError *err);
/* the container's first command (payload.c), as its user with its caps
 * and seccomp filters, just before its exec: the startContainer hooks */
int nr_devices_start_hooks(const NrDevices *dev, const char *cid, NrError *err);
