/* SPDX-License-Identifier: Apache-2.0 */
/* export.c — `nroot export`: a container's file system as a tar stream or
 * a squashfs file, running (entered like exec) or stopped (its layer
 * mounted again); or an image's root filesystem.  The tree is always read
 * as root of the user namespace it belongs to: the owners written are the
 * container's ids. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include "nr-fs.h"
#include "nr-fuse.h"
#include "nr-plan.h"
#include "nr-rootfs.h"
#include "nr-rostore.h"
#include "nr-runtime.h"
#include "nr-spawn.h"
#include "nr-squashfs.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

/* ---- export ---- */

/* what the export writes: a tarball to `out`, or with `mksquashfs` (its
 * path) a squashfs file at `dest` (absolute: the writer runs in the tree) */
typedef struct Writer {
    int out;
    const char *mksquashfs, *dest;
} Writer;

/* in the container's user namespace as its root, with the tree to write
 * as the working directory: the helper writes the tarball to w->out, or
 * mksquashfs the squashfs file w->dest */
static _Noreturn void exec_export_helper(const Writer *w, const char *name, NrError *err)
{
    if (w->mksquashfs) {
        nr_close_fds_except(-1);
        nr_spawn_become_root();
        nr_squashfs_exec(w->mksquashfs, ".", w->dest, isatty(STDERR_FILENO), err);
        nr_error_print(err);
        _exit(NR_EXIT_FAILURE);
    }
    int out = w->out;
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
    const Writer *w;
    const char *name;
} ExportJob;

/* The skeleton layer a read-only mount puts on top (mount points and
 * /etc files the image lacks, made now) would give the export the time of
 * the export: each of its entries gets the time the container's layer or
 * image has for that path, or 0 if neither has it, so that two exports of
 * one container are the same bytes. */
static int skel_fds[2] = { -1, -1 }; /* the layer, the image */
static const char *skel_root;

static int skel_time(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *rel = path + strlen(skel_root);
    rel = *rel == '/' ? rel + 1 : *rel ? rel : ".";
    struct timespec t[2] = { { 0, 0 }, { 0, 0 } };
    for (int i = 0; i < 2; i++) {
        struct stat have;
        nr_autoclose int fd =
            skel_fds[i] < 0 ? -1 : nr_fs_openat_in_root(skel_fds[i], rel, O_PATH | O_NOFOLLOW);
        if (fd >= 0 && fstat(fd, &have) == 0 &&
            !(S_ISCHR(have.st_mode) && have.st_rdev == 0)) { /* a whiteout: gone */
            t[0] = have.st_atim;
            t[1] = have.st_mtim;
            break;
        }
    }
    utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
    return 0;
}

static void skel_times(const char *scratch)
{
    char skel[PATH_MAX], p[PATH_MAX];
    snprintf(skel, sizeof skel, "%s/skel", scratch);
    snprintf(p, sizeof p, "%s/ctr/upper", scratch);
    skel_fds[0] = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(p, sizeof p, "%s/lower", scratch);
    skel_fds[1] = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    skel_root = skel;
    nftw(skel, skel_time, 8, FTW_PHYS | FTW_DEPTH | FTW_MOUNT);
    for (int i = 0; i < 2; i++)
        if (skel_fds[i] >= 0)
            close(skel_fds[i]);
}

/* a stopped named container: its layer over its image, mounted read-only
 * in a mount namespace of this child's own */
static int export_child(void *data, int sync_fd, NrError *err)
{
    ExportJob *j = data;
    /* nothing of the caller's reaches fuse-overlayfs or the helper */
    int out = j->w->out;
    int keep[2] = { sync_fd < out ? sync_fd : out, sync_fd < out ? out : sync_fd };
    nr_close_range_except(3U, keep, 2);
    char *root = NULL;
    if (nr_rootfs_mount(j->cfg, sync_fd, &root, err) < 0)
        return -1;
    skel_times(j->cfg->scratch);
    if (chdir(root) < 0)
        return nr_error_errno(err, "cannot enter '%s'", root);
    free(root);
    /* errors of the helper reach stderr, in its own words */
    close(sync_fd);
    exec_export_helper(j->w, j->name, err);
}

static int export_stopped(NrCtr *c, const Writer *w, NrError *err)
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
    /* nor the mount point of root emulation's apt drop-in (rootfs.c) */
    cfg.root_emulation = NR_ROOTEMU_OFF;
    char *scratch = nr_runtime_subdir("mnt", err);
    if (!scratch)
        goto out;
    cfg.scratch = scratch;
    ExportJob j = { .cfg = &cfg, .w = w, .name = c->name };
    int sync_fd = -1, status = 0;
    /* a pid namespace too: the helper is its process 1 */
    pid_t pid = nr_spawn(CLONE_NEWNS | CLONE_NEWPID, &cfg.map, export_child, &j, &sync_fd, err);
    if (pid >= 0) {
        /* #3a: a fuse-overlayfs layer is mounted by a daemon of ours, #3s
         * a squashfs image too; the child closes the socket when it runs
         * the helper */
        pid_t fuse = 0;
        NrSquashfs sqfs = NR_SQUASHFS_INIT;
        NrError cerr = { 0 };
        NrSyncMsg msg;
        while (!cerr.code && nr_sync_recv(sync_fd, &msg) == 1) {
            if (msg.type == NR_SYNC_FUSE && fuse == 0 && (fuse = nr_fuse_start(&msg, &cerr)) < 0)
                kill(pid, SIGKILL);
            else if (msg.type == NR_SYNC_SQUASHFS &&
                     nr_fuse_squashfs_start(&msg, &cfg, sync_fd, &sqfs, &cerr) < 0)
                kill(pid, SIGKILL);
            else if (msg.type == NR_SYNC_ERROR)
                cerr = msg.err;
            if (msg.fd >= 0)
                close(msg.fd);
        }
        rc = nr_spawn_wait(pid, sync_fd, &status, NULL, err);
        close(sync_fd);
        nr_fuse_stop(fuse, cfg.scratch, false);
        nr_fuse_squashfs_stop(&sqfs, cfg.scratch);
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

static int export_running(NrCtr *c, const Writer *w, NrError *err)
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
        exec_export_helper(w, nr_ctr_display_name(c), &e);
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

/* ---- an image's root filesystem ---- */

typedef struct ImageJob {
    const char *lower;
    const Writer *w;
    const char *name;
} ImageJob;

static int image_child(void *data, int sync_fd, NrError *err)
{
    ImageJob *j = data;
    if (chdir(j->lower) < 0)
        return nr_error_errno(err, "cannot enter '%s'", j->lower);
    close(sync_fd);
    exec_export_helper(j->w, j->name, err);
}

/* copy the squashfs file of an image kept as one to `out` */
static int copy_squashfs(const char *from, int out, NrError *err)
{
    nr_autoclose int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return nr_error_errno(err, "cannot open '%s'", from);
    static char buf[256 * 1024];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || nr_write_all(out, buf, (size_t)n) < 0)
            return nr_error_errno(err, "cannot copy '%s'", from);
    }
    return 0;
}

/* IMAGE as `nroot run` takes it, never pulled: its tree read in the user
 * namespace the store unpacked it with */
static int export_image(const char *spec, const Writer *w, NrError *err)
{
    NrIdMap run, map;
    if (nr_userns_plan(NR_USERNS_AUTO, true, &run, err) < 0)
        return -1;
    nr_userns_unpack_map(&run, &map);
    NrImportOpts opts = { .pull = NR_PULL_NEVER };
    NrImage img;
    if (nr_store_resolve(spec, &run, &opts, &img, err) < 0)
        return -1;
    int rc = -1;
    if (img.squashfs) {
        if (w->mksquashfs)
            rc = copy_squashfs(img.squashfs, w->out, err);
        else {
            nr_error_msg(err, "image '%s' is kept as a squashfs file: it exports as squashfs only",
                         spec);
            nr_error_hint(err, "nroot export --format=squashfs -o FILE %s", spec);
        }
        nr_image_clear(&img);
        return rc;
    }
    ImageJob j = { .lower = img.lower, .w = w, .name = spec };
    int sync_fd = -1, status = 0;
    pid_t pid = nr_spawn(0, &map, image_child, &j, &sync_fd, err);
    if (pid >= 0) {
        rc = nr_spawn_wait(pid, sync_fd, &status, NULL, err);
        close(sync_fd);
        if (rc == 0 && status != 0)
            rc = nr_error_set(err, status, 0, "the export of image '%s' failed", spec);
    }
    nr_image_clear(&img);
    return rc;
}

/* is `spec` a path, or a name or id in the user's store or a read-only
 * one?  (else the operand was neither a container nor an image, and the
 * export's own error says less than that) */
static bool image_known(const char *spec)
{
    struct stat st;
    NrError e = { 0 };
    nr_autofree char *store = nr_store_dir(&e);
    char d[128];
    return stat(spec, &st) == 0 || !store ||
           nr_store_lookup(store, spec, "", d, sizeof d, NULL, 0, &e) != 0 ||
           nr_rostore_holder(spec, "") != NULL;
}

int nr_cmd_export(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = nr_ctr_args_parse("export", argc, argv, &a, 1, 1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    char mksquashfs[PATH_MAX];
    if (a.squashfs && (!a.output || strcmp(a.output, "-") == 0)) {
        nr_error_msg(&err, "--format=squashfs needs -o FILE: mksquashfs cannot write to a pipe");
        return nr_cmd_fail(&err);
    }
    if (a.squashfs && nr_squashfs_find(mksquashfs, sizeof mksquashfs, &err) < 0)
        return nr_cmd_fail(&err);
    if (a.output && strcmp(a.output, "-") == 0)
        a.output = NULL;
    if (!a.output && isatty(STDOUT_FILENO)) {
        nr_error_msg(&err, "refusing to write a tarball to a terminal");
        nr_error_hint(&err, "redirect stdout, or give -o FILE");
        return nr_cmd_fail(&err);
    }
    NrCtr c;
    NrError cerr = { 0 };
    /* a container of that name or id, else an image */
    bool ctr = nr_ctr_find(a.operands[0], &c, &cerr) == 0;
    if (!ctr && !strstr(cerr.msg, "no such container"))
        return nr_cmd_fail(&cerr);
    /* mksquashfs reads the tree by name, in the host's mount namespace:
     * a running container could swap a directory for a symlink to the
     * user's files between its scan and its read (the tarball's own walk
     * never follows one) */
    if (ctr && c.running && a.squashfs) {
        nr_error_msg(&err,
                     "container '%s' is running: --format=squashfs exports stopped "
                     "containers only",
                     nr_ctr_display_name(&c));
        nr_error_hint(&err, "stop it first (nroot stop %s), or export the tar format",
                      nr_ctr_display_name(&c));
        nr_ctr_clear(&c);
        return nr_cmd_fail(&err);
    }
    int out = STDOUT_FILENO;
    char tmp[PATH_MAX] = "", dest[PATH_MAX] = "";
    if (a.output) {
        /* written beside, renamed when complete: a failed export leaves
         * no half tarball under the name asked for */
        snprintf(tmp, sizeof tmp, "%s.XXXXXX", a.output);
        out = mkostemp(tmp, O_CLOEXEC);
        /* mksquashfs writes it by name, from the tree */
        if (out >= 0 && !realpath(tmp, dest)) {
            unlink(tmp);
            close(out);
            out = -1;
        }
        if (out < 0) {
            nr_error_errno(&err, "cannot create '%s'", a.output);
            if (ctr)
                nr_ctr_clear(&c);
            return nr_cmd_fail(&err);
        }
        mode_t mask = umask(0);
        umask(mask);
        fchmod(out, 0666 & ~mask);
    }
    Writer w = { .out = out, .mksquashfs = a.squashfs ? mksquashfs : NULL, .dest = dest };
    int rc = !ctr        ? export_image(a.operands[0], &w, &err)
             : c.running ? export_running(&c, &w, &err)
                         : export_stopped(&c, &w, &err);
    if (rc < 0 && !ctr && !image_known(a.operands[0])) {
        memset(&err, 0, sizeof err);
        nr_error_msg(&err, "no such container '%s', and no image of that name", a.operands[0]);
        nr_error_hint(&err, "see 'nroot ps -a' and 'nroot images'");
    }
    if (a.output) {
        if (rc == 0 && (fsync(out) < 0 || rename(tmp, a.output) < 0))
            rc = nr_error_errno(&err, "cannot write '%s'", a.output);
        if (rc < 0)
            unlink(tmp);
        close(out);
    }
    if (ctr)
        nr_ctr_clear(&c);
    return rc < 0 ? nr_cmd_fail(&err) : 0;
}
