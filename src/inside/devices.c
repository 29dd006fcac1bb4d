/* SPDX-License-Identifier: Apache-2.0 */
/* devices.c — the devices of --device and --gpus in the child (nr-devices.h):
 * after mounts.c and before pivot_root, each device node is the host's
 * node bound over an empty file made in the new root (an unprivileged
 * user cannot mknod, the user namespace's root neither), each mount of a
 * CDI spec a bind with its flags; then the hooks: createRuntime by the
 * parent (asked over the sync socket, it answers GO), createContainer here
 * in the container's mount namespace; startContainer in the command's
 * process (payload.c) once it is the command's user, capabilities and
 * seccomp filters, just before its exec, as runc runs them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-devices.h"
#include "nr-error.h"
#include "nr-fs.h"
#include "nr-hook.h"
#include "nr-mounts.h"
#include "nr-spawn.h"
#include "nr-util.h"

static int setup_nodes(const NrDevices *dev, int rootfd, NrError *err)
{
    for (size_t i = 0; i < dev->n_nodes; i++) {
        const NrDevNode *n = &dev->nodes[i];
        /* an empty file (in /dev's tmpfs, or the root's upper layer) */
        nr_autoclose int fd = nr_fs_open_in_root(rootfd, n->path, true, false, err);
        if (fd < 0) {
            nr_error_prefix(err, "device '%s'", n->path);
            return -1;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            return nr_error_msg(err, "device '%s': a directory is there", n->path);
        if (nr_mounts_on(fd, n->host, NULL, MS_BIND, NULL) < 0)
            return nr_error_errno(err, "cannot bind the device '%s' on '%s'", n->host, n->path);
    }
    return 0;
}

static int setup_mounts(const NrDevices *dev, int rootfd, NrError *err)
{
    for (size_t i = 0; i < dev->n_mounts; i++) {
        const NrDevMount *m = &dev->mounts[i];
        struct stat st;
        if (stat(m->host, &st) < 0)
            return nr_error_errno(err, "cannot mount '%s'", m->host);
        nr_autoclose int fd = nr_fs_open_in_root(rootfd, m->path, true, S_ISDIR(st.st_mode), err);
        if (fd < 0) {
            nr_error_prefix(err, "mount '%s'", m->path);
            return -1;
        }
        if (nr_mounts_on(fd, m->host, NULL, MS_BIND | (m->rec ? MS_REC : 0), NULL) < 0)
            return nr_error_errno(err, "cannot mount '%s' on '%s'", m->host, m->path);
        if (!m->flags)
            continue;
        /* the bind just made, on top of what fd saw */
        nr_autoclose int nfd = nr_fs_open_in_root(rootfd, m->path, false, false, err);
        if (nfd < 0 || nr_mounts_restrict(nfd, m->flags, m->path, err) < 0)
            return -1;
    }
    return 0;
}

static bool has_stage(const NrDevices *dev, NrHookStage stage)
{
    for (size_t i = 0; i < dev->n_hooks; i++)
        if (dev->hooks[i].stage == stage)
            return true;
    return false;
}

static int run_stage(const NrDevices *dev, const char *cid, NrHookStage stage, const char *status,
                     NrError *err)
{
    if (!has_stage(dev, stage))
        return 0;
    /* the process's pid in the container: 1 before pivot_root, the
     * command's for startContainer */
    nr_autofree char *state = nr_hook_state(dev->state_id ? dev->state_id : cid, status, getpid(),
                                            dev->bundle, dev->annotations);
    return nr_hooks_run(dev->hooks, dev->n_hooks, stage, state ? state : "{}", err);
}

int nr_devices_setup(const NrDevices *dev, const char *cid, const char *root, int sync_fd,
                     NrError *err)
{
    if (!dev->n_nodes && !dev->n_mounts && !dev->n_hooks)
        return 0;
    nr_autoclose int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return nr_error_errno(err, "cannot open the new root '%s'", root);
    if (setup_nodes(dev, rootfd, err) < 0 || setup_mounts(dev, rootfd, err) < 0)
        return -1;
    if (has_stage(dev, NR_HOOK_CREATE_RUNTIME) || has_stage(dev, NR_HOOK_PRESTART)) {
        /* the parent runs them in its namespaces and answers GO; a failure
         * there kills this process */
        NrSyncMsg m = { .fd = -1 };
        if (nr_sync_send(sync_fd, NR_SYNC_HOOKS, NULL) < 0)
            return nr_error_errno(err, "cannot ask nroot to run the createRuntime hooks");
        if (nr_sync_recv(sync_fd, &m) != 1 || m.type != NR_SYNC_GO) {
            if (m.fd >= 0)
                close(m.fd);
            _exit(NR_EXIT_FAILURE);
        }
    }
    return run_stage(dev, cid, NR_HOOK_CREATE_CONTAINER, "creating", err);
}

int nr_devices_start_hooks(const NrDevices *dev, const char *cid, NrError *err)
{
    return run_stage(dev, cid, NR_HOOK_START_CONTAINER, "created", err);
}
