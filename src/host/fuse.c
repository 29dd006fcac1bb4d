/* SPDX-License-Identifier: Apache-2.0 */
/* fuse.c — the parent's side of the fuse daemons the child asks for:
 * fuse-overlayfs (NR_SYNC_FUSE, #3a) and nroot-squashfs (or squashfuse_ll)
 * for a squashfs image (NR_SYNC_SQUASHFS, #3s).  Each is started by nroot, outside the
 * container's pid namespace, in the container's user namespace and a mount
 * namespace of its own that is a peer of the container's; nroot reaps it,
 * and flushes a kept layer before fuse-overlayfs goes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-fuse.h"
#include "nr-plan.h"
#include "nr-rootfs.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

/* an id other than 0 loses its capabilities at exec: CAP_SYS_ADMIN (of
 * the container's user namespace) is kept as an ambient one, for the
 * daemon's mount */
static int keep_mount_cap(void)
{
    cap_t c = cap_get_proc();
    cap_value_t v = CAP_SYS_ADMIN;
    int r = c && cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET) == 0 && cap_set_proc(c) == 0 &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) == 0
                ? 0
                : -1;
    cap_free(c);
    return r;
}

/* parent: the helper that becomes a fuse daemon (fuse-overlayfs,
 * squashfuse_ll).  It must not carry anything of nroot's into the
 * container's namespaces: it is not dumpable until its exec, keeps no fd
 * but the mount namespace's, and dies with nroot.  It runs `argv` from the
 * scratch dir, its stdout and stderr on the scratch's `log`. */
static _Noreturn void daemon_helper(pid_t nroot, int mntfd, const char *scratch, const char *log,
                                    bool as_child, const char *prog, char *const argv[])
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
     * scratch dir: the mount propagates there, and goes with this process
     * (no other holds the namespace), even when nroot is killed */
    if (unshare(CLONE_NEWNS) < 0 || chdir(scratch) < 0)
        _exit(NR_EXIT_FAILURE);
    int lfd = open(log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
        _exit(NR_EXIT_FAILURE);
    close(lfd);
    /* fuse-overlayfs runs as root of the namespace; squashfuse_ll as the
     * container's child does (`as_child`: our own ids, root but with
     * --userns=keep-id), for the only process it lets in without
     * allow_other is the one whose ids are those it mounted with */
    if (!as_child)
        nr_spawn_become_root();
    else if (getuid() != 0 && keep_mount_cap() < 0)
        _exit(NR_EXIT_FAILURE);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != nroot)
        _exit(NR_EXIT_FAILURE);
    /* in the foreground: nroot is its parent, reaps it, and its death
     * signal stays armed */
    execv(prog, argv);
    dprintf(2, "cannot run '%s': %s\n", prog, strerror(errno));
    _exit(errno == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_CANNOT);
}

/* fork the helper for the child's request: its mount namespace in
 * req->fd, the scratch dir in req->err.hint */
static pid_t start_daemon(const NrSyncMsg *req, const char *name, const char *prog, const char *log,
                          bool as_child, char *argv[], NrError *err)
{
    if (req->fd < 0)
        return nr_error_msg(err, "%s: no mount namespace came with the request", name);
    pid_t nroot = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return nr_error_errno(err, "cannot start %s", name);
    if (pid == 0)
        daemon_helper(nroot, req->fd, req->err.hint, log, as_child, prog, argv);
    return pid;
}

pid_t nr_fuse_start(const NrSyncMsg *req, NrError *err)
{
    char prog[PATH_MAX];
    const char *why = NULL;
    if (!nr_userns_find_program("fuse-overlayfs", prog, sizeof prog, &why))
        return nr_error_msg(err, "fuse-overlayfs %s", why);
    char *argv[] = { "fuse-overlayfs", "-f", "-o", (char *)req->err.msg, NR_FUSE_ROOT, NULL };
    return start_daemon(req, "fuse-overlayfs", prog, NR_FUSE_LOG, false, argv, err);
}

pid_t nr_squashfuse_start(const NrSyncMsg *req, const NrRunConfig *cfg, NrError *err)
{
    char prog[PATH_MAX];
    const char *why = NULL;
    const char *name = nr_userns_find_squashfs(prog, sizeof prog, &why);
    if (!name)
        return nr_error_msg(err, "squashfuse_ll %s", why);
    if (!cfg->squashfs)
        return nr_error_msg(err, "%s: the container has no squashfs image", name);
    /* read-only.  The ids the image records are the container's: the
     * daemon is in its user namespace, so 0 is the container's root and an
     * id the mapping lacks shows as nobody.  The overlay reads it with its
     * mounter's credentials, the child's, which the daemon has too
     * (daemon_helper): no allow_other, but where the child is not root
     * there (--userns=keep-id), as fuse-overlayfs, which is, must read it
     * too; it lets in the processes of the container's user namespace
     * only, none of which has the mount in its table.  The kernel keeps
     * what it read (both answer with endless entry and attribute timeouts
     * and keep files' page cache), and their worker threads come as
     * requests do.  nroot-squashfs takes squashfuse_ll's command line. */
    char *argv[] = { (char *)name,
                     "-f",
                     "-o",
                     cfg->map.user_uid != 0 ? "ro,nodev,nosuid,noatime,allow_other"
                                            : "ro,nodev,nosuid,noatime",
                     cfg->squashfs,
                     NR_SQUASHFUSE_ROOT,
                     NULL };
    return start_daemon(req, name, prog, NR_SQUASHFUSE_LOG, true, argv, err);
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
