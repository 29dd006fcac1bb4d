/* SPDX-License-Identifier: Apache-2.0 */
/* export.c — `nroot export`: a container's file system as a tar stream,
 * running (entered like exec) or stopped (its layer mounted again). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "cmd.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-fuse.h"
#include "nr-plan.h"
#include "nr-rootfs.h"
#include "nr-runtime.h"
#include "nr-spawn.h"
#include "nr-store.h"
#include "nr-util.h"

/* ---- export ---- */

/* in the container's user namespace as its root, with the tree to write
 * as the working directory: the helper writes the tarball to `out` */
static _Noreturn void exec_export_helper(int out, const char *name, NrError *err)
{
    nr_autofree char *helper = nr_helper_path("nroot-unpack", "NROOT_UNPACK");
    if (dup2(out, STDOUT_FILENO) < 0) {
        nr_error_errno(err, "dup2");
        _exit(NR_EXIT_FAILURE);
    }
    nr_close_fds_except(-1);
    nr_spawn_become_root();
    char *argv[] = { "nroot-unpack", "--export", (char *)name, NULL };
    execv(helper, argv);
    nr_error_errno(err, "cannot run the helper '%s'", helper);
    nr_error_print(err);
    _exit(NR_EXIT_FAILURE);
}

typedef struct ExportJob {
    NrRunConfig *cfg;
    int out;
    const char *name;
} ExportJob;

/* a stopped named container: its layer over its image, mounted read-only
 * in a mount namespace of this child's own */
static int export_child(void *data, int sync_fd, NrError *err)
{
    ExportJob *j = data;
    /* nothing of the caller's reaches fuse-overlayfs or the helper */
    int keep[2] = { sync_fd < j->out ? sync_fd : j->out, sync_fd < j->out ? j->out : sync_fd };
    nr_close_range_except(3U, keep, 2);
    char *root = NULL;
    if (nr_rootfs_mount(j->cfg, sync_fd, &root, err) < 0)
        return -1;
    if (chdir(root) < 0)
        return nr_error_errno(err, "cannot enter '%s'", root);
    free(root);
    /* errors of the helper reach stderr, in its own words */
    close(sync_fd);
    exec_export_helper(j->out, j->name, err);
}

static int export_stopped(NrCtr *c, int out, NrError *err)
{
    if (!c->in_store)
        return nr_error_msg(err,
                            "container '%s' has ended and left no files: unnamed containers "
                            "are removed when they end",
                            c->id);
    int lock = -1;
    int held = nr_ctr_lock(c->store_dir, &lock, err);
    if (held)
        return held > 0
                   ? nr_error_msg(err, "container '%s' was started meanwhile: try again", c->name)
                   : -1;
    static NrRunConfig cfg;
    int rc = -1;
    if (nr_cmd_ctr_resolved(c, &cfg, err) < 0)
        goto out;
    cfg.overlay = c->overlay;
    cfg.ctr_dir = c->store_dir;
    cfg.read_only = true;
    cfg.n_volumes = 0;
    char *scratch = nr_runtime_subdir("mnt", err);
    if (!scratch)
        goto out;
    cfg.scratch = scratch;
    ExportJob j = { .cfg = &cfg, .out = out, .name = c->name };
    int sync_fd = -1, status = 0;
    /* a pid namespace too: the helper is its process 1 */
    pid_t pid = nr_spawn(CLONE_NEWNS | CLONE_NEWPID, &cfg.map, export_child, &j, &sync_fd, err);
    if (pid >= 0) {
        /* #3a: a fuse-overlayfs layer is mounted by a daemon of ours, #3s
         * a squashfs image too; the child closes the socket when it runs
         * the helper */
        pid_t fuse = 0, squashfuse = 0;
        NrError cerr = { 0 };
        NrSyncMsg msg;
        while (!cerr.code && nr_sync_recv(sync_fd, &msg) == 1) {
            if (msg.type == NR_SYNC_FUSE && fuse == 0 && (fuse = nr_fuse_start(&msg, &cerr)) < 0)
                kill(pid, SIGKILL);
            else if (msg.type == NR_SYNC_SQUASHFS && squashfuse == 0 &&
                     (squashfuse = nr_squashfuse_start(&msg, &cfg, &cerr)) < 0)
                kill(pid, SIGKILL);
            else if (msg.type == NR_SYNC_ERROR)
                cerr = msg.err;
            if (msg.fd >= 0)
                close(msg.fd);
        }
        rc = nr_spawn_wait(pid, sync_fd, &status, NULL, err);
        close(sync_fd);
        nr_fuse_stop(fuse, cfg.scratch, false);
        nr_fuse_stop(squashfuse, cfg.scratch, false);
        if (cerr.code) {
            *err = cerr;
            rc = -1;
        } else if (rc == 0 && status != 0)
            rc = nr_error_set(err, status, 0, "the export of container '%s' failed", c->name);
    }
    free(scratch);
out:
    close(lock);
    return rc;
}

static int export_running(NrCtr *c, int out, NrError *err)
{
    int fds[NR_NS_SLOTS]; /* the outer ones: the files as the layer has them */
    if (nr_ctr_open_namespaces(c, fds, err) < 0)
        return -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return nr_error_errno(err, "socketpair");
    /* a child enters the container's mounts and hands back its root: the
     * helper itself must run from the host's files */
    pid_t a = fork();
    if (a == 0) {
        NrError e = { 0 };
        int root = -1;
        /* a detached copy of the root mount alone: the container's files
         * as its layer and image make them, not what is mounted on top
         * (/proc, /dev, volumes, the generated /etc/hosts) */
        if (nr_ns_join(fds, NR_NS_USER, NR_NS_UTS, &e) == 0)
            root = (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        nr_sync_send_fd(sv[1], NR_SYNC_RESULT, root);
        _exit(root >= 0 ? 0 : 1);
    }
    close(sv[1]);
    NrSyncMsg msg = { .fd = -1 };
    int got = a > 0 ? nr_sync_recv(sv[0], &msg) : -1;
    close(sv[0]);
    while (a > 0 && waitpid(a, NULL, 0) < 0 && errno == EINTR)
        ;
    if (got != 1 || msg.fd < 0) {
        for (int i = 0; i < NR_NS_SLOTS; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        return nr_error_msg(err, "cannot enter the root of container '%s'", nr_ctr_display_name(c));
    }
    fflush(NULL);
    pid_t b = fork();
    if (b == 0) {
        NrError e = { 0 };
        if (nr_ns_join(fds, NR_NS_USER, NR_NS_MNT, &e) < 0 || fchdir(msg.fd) < 0) {
            nr_error_print(&e);
            _exit(NR_EXIT_FAILURE);
        }
        exec_export_helper(out, nr_ctr_display_name(c), &e);
    }
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(msg.fd);
    int status = 0;
    while (b > 0 && waitpid(b, &status, 0) < 0 && errno == EINTR)
        ;
    if (b < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return nr_error_set(err, NR_EXIT_FAILURE, 0, "the export of container '%s' failed",
                            nr_ctr_display_name(c));
    return 0;
}

int nr_cmd_export(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = nr_ctr_args_parse("export", argc, argv, &a, 1, 1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    if (!a.output && isatty(STDOUT_FILENO)) {
        nr_error_msg(&err, "refusing to write a tarball to a terminal");
        nr_error_hint(&err, "redirect stdout, or give -o FILE");
        return nr_cmd_fail(&err);
    }
    NrCtr c;
    if (nr_ctr_find(a.operands[0], &c, &err) < 0)
        return nr_cmd_fail(&err);
    int out = STDOUT_FILENO;
    char tmp[PATH_MAX] = "";
    if (a.output) {
        /* written beside, renamed when complete: a failed export leaves
         * no half tarball under the name asked for */
        snprintf(tmp, sizeof tmp, "%s.XXXXXX", a.output);
        out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0) {
            nr_error_errno(&err, "cannot create '%s'", a.output);
            nr_ctr_clear(&c);
            return nr_cmd_fail(&err);
        }
        mode_t mask = umask(0);
        umask(mask);
        fchmod(out, 0666 & ~mask);
    }
    int rc = c.running ? export_running(&c, out, &err) : export_stopped(&c, out, &err);
    if (a.output) {
        if (rc == 0 && (fsync(out) < 0 || rename(tmp, a.output) < 0))
            rc = nr_error_errno(&err, "cannot write '%s'", a.output);
        if (rc < 0)
            unlink(tmp);
        close(out);
    }
    nr_ctr_clear(&c);
    return rc < 0 ? nr_cmd_fail(&err) : 0;
}
