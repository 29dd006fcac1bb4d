/* SPDX-License-Identifier: Apache-2.0 */
/* fuse.c — the parent's side of fuse-overlayfs (NR_SYNC_FUSE, #3a): the
 * daemon is started by nroot, outside the container's pid namespace, in a
 * mount namespace of its own that is a peer of the container's; nroot
 * reaps it, and flushes a kept layer before it goes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-fuse.h"
#include "nr-rootfs.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

/* parent: the helper that becomes fuse-overlayfs.  It must not carry
 * anything of nroot's into the container's namespaces: it is not dumpable
 * until its exec, keeps no fd but the mount namespace's, and dies with
 * nroot. */
static _Noreturn void fuse_helper(pid_t nroot, int mntfd, const char *prog, const char *opts,
                                  const char *scratch)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != nroot)
        _exit(NR_EXIT_FAILURE);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* not the caller's terminal, not the sync socket, the tap, published
     * ports or the state lock */
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 || dup2(mntfd, 3) < 0)
        _exit(NR_EXIT_FAILURE);
    mntfd = 3;
    if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close(fd);
    }
    nr_signals_default();
    int user = ioctl(mntfd, NS_GET_USERNS);
    if (user < 0 || setns(user, CLONE_NEWUSER) < 0 || setns(mntfd, CLONE_NEWNS) < 0)
        _exit(NR_EXIT_FAILURE);
    close(user);
    close(mntfd);
    /* a mount namespace of its own, a peer of the container's at the
     * scratch dir */
    if (unshare(CLONE_NEWNS) < 0 || chdir(scratch) < 0)
        _exit(NR_EXIT_FAILURE);
    int log = open(NR_FUSE_LOG, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
        _exit(NR_EXIT_FAILURE);
    close(log);
    nr_spawn_become_root();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != nroot)
        _exit(NR_EXIT_FAILURE);
    /* in the foreground: nroot is its parent, reaps it, and its death
     * signal stays armed */
    execl(prog, "fuse-overlayfs", "-f", "-o", opts, NR_FUSE_ROOT, (char *)NULL);
    dprintf(2, "cannot run '%s': %s\n", prog, strerror(errno));
    _exit(errno == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_CANNOT);
}

pid_t nr_fuse_start(const NrSyncMsg *req, NrError *err)
{
    char prog[PATH_MAX];
    const char *why = NULL;
    if (req->fd < 0)
        return nr_error_msg(err, "fuse-overlayfs: no mount namespace came with the request");
    if (!nr_userns_find_program("fuse-overlayfs", prog, sizeof prog, &why))
        return nr_error_msg(err, "fuse-overlayfs %s", why);
    pid_t nroot = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return nr_error_errno(err, "cannot start fuse-overlayfs");
    if (pid == 0)
        fuse_helper(nroot, req->fd, prog, req->err.msg, req->err.hint);
    return pid;
}

void nr_fuse_stop(pid_t pid, const char *scratch, bool keep)
{
    if (pid <= 0)
        return;
    if (keep) {
        /* a kept layer: what the kernel still caches for the overlay
         * (fuse-overlayfs asks for a writeback cache) reaches it first */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%d/root%s/" NR_FUSE_ROOT, (int)pid, scratch);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            syncfs(fd);
            close(fd);
        }
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}
