/* SPDX-License-Identifier: Apache-2.0 */
/* rootfs.c — the container's root: a scratch tmpfs holding the overlay's
 * upper and work directories (throw-away: it vanishes with the mount
 * namespace, even after SIGKILL), the overlay itself (kernel overlayfs in the
 * user namespace, fuse-overlayfs as fallback), and pivot_root.
 *
 * Layout of the scratch tmpfs (mounted over cfg->scratch, which only this
 * mount namespace sees):  lower/ (bind of the image, or the squashfs image
 * squashfuse_ll mounts)  upper/ work/  root/
 * (the overlay)  etc/ (generated hosts, hostname, resolv.conf)  skel/
 * (mount points the image lacks: with --read-only all, a lower layer over
 * the image; else only root emulation's apt drop-in's, under it). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "nr-error.h"
#include "nr-fs.h"
#include "nr-plan.h"
#include "nr-rootfs.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

#define FUSE_SUPER_MAGIC 0x65735546

/* overlayfs option values escape ',' ':' and '\' with a backslash */
void nr_rootfs_ovl_escape(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (; *in && o + 2 < size; in++) {
        if (*in == ',' || *in == ':' || *in == '\\')
            out[o++] = '\\';
        out[o++] = *in;
    }
    out[o] = '\0';
}

/* `in` escaped for overlayfs' options, on the heap */
static char *escaped(const char *in)
{
    size_t size = 2 * strlen(in) + 1;
    char *out = nr_xmalloc(size);
    nr_rootfs_ovl_escape(in, out, size);
    return out;
}

static int skel_entry(int sk, const char *path, bool dir, NrError *err)
{
    int fd = nr_fs_open_in_root(sk, path, true, dir, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* the mount points of the devices (--device, --gpus): their nodes and
 * the mounts of their CDI specs (devices.c binds them), as for volumes */
static int skel_devices(const NrDevices *dev, int img, int sk, NrError *err)
{
    for (size_t i = 0; i < dev->n_nodes; i++)
        if (!nr_fs_exists_in_root(img, dev->nodes[i].path) &&
            skel_entry(sk, dev->nodes[i].path, false, err) < 0)
            return -1;
    for (size_t i = 0; i < dev->n_mounts; i++) {
        const NrDevMount *m = &dev->mounts[i];
        struct stat st;
        bool dir = stat(m->host, &st) == 0 && S_ISDIR(st.st_mode);
        if (!nr_fs_exists_in_root(img, m->path) && skel_entry(sk, m->path, dir, err) < 0)
            return -1;
    }
    return 0;
}

/* Root emulation's apt drop-in (mounts.c binds it) needs a file to be
 * mounted on.  Where the image has /etc/apt/apt.conf.d but not the file,
 * it is made in the skeleton, not in the writable layer: a named
 * container's layer would keep it, and `nroot export` ship it.  1: made. */
static int skel_apt(const NrRunConfig *cfg, int img, int sk, NrError *err)
{
    const char *file = NR_ROOTEMU_APT_DIR "/" NR_ROOTEMU_APT_FILE;
    if (cfg->root_emulation != NR_ROOTEMU_ON || !nr_fs_exists_in_root(img, NR_ROOTEMU_APT_DIR) ||
        nr_fs_exists_in_root(img, file))
        return 0;
    return skel_entry(sk, file, false, err) < 0 ? -1 : 1;
}

/* the skeleton of a writable root: only what skel_apt makes (the other
 * mount points go to the writable layer, which needs no skeleton); 1: the
 * skeleton is used */
static int make_writable_skel(const NrRunConfig *cfg, const char *lower, const char *skel,
                              NrError *err)
{
    nr_autoclose int img = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
    nr_autoclose int sk = open(skel, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (img < 0 || sk < 0)
        return nr_error_errno(err, "cannot open '%s'", img < 0 ? lower : skel);
    return skel_apt(cfg, img, sk, err);
}

/* Mount points a read-only image lacks are provided by an extra lower
 * layer on the scratch tmpfs, so the image needs no writable layer. */
static int make_skel(const NrRunConfig *cfg, const char *lower, const char *skel, NrError *err)
{
    nr_autoclose int img = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
    nr_autoclose int sk = open(skel, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (img < 0 || sk < 0)
        return nr_error_errno(err, "cannot open '%s'", img < 0 ? lower : skel);
    static const char *const dirs[] = { "proc", "dev", "sys", "tmp", "etc" };
    static const char *const files[] = { "etc/hosts", "etc/hostname", "etc/resolv.conf" };
    /* existence is judged inside the image's root: its symlinks must not
     * be followed on the host */
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (!nr_fs_exists_in_root(img, dirs[i]) && skel_entry(sk, dirs[i], true, err) < 0)
            return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!nr_fs_exists_in_root(img, files[i]) && skel_entry(sk, files[i], false, err) < 0)
            return -1;
    if (skel_apt(cfg, img, sk, err) < 0)
        return -1;
    for (size_t i = 0; i < cfg->n_volumes; i++) {
        const NrVolume *v = &cfg->volumes[i];
        if (!nr_fs_exists_in_root(img, v->dst) && skel_entry(sk, v->dst, v->src_is_dir, err) < 0)
            return -1;
    }
    return skel_devices(&cfg->dev, img, sk, err);
}

static int mount_kernel(const char *opts, const char *root, NrError *err)
{
    if (mount("overlay", root, "overlay", 0, opts) < 0)
        return nr_error_errno(err, "kernel overlayfs refused to mount");
    return 0;
}

/* The fuse daemons run outside the container's pid namespace: fuse-overlayfs
 * for the overlay (#3a), squashfuse_ll for a squashfs image's lower layer
 * (#3s).  The child asks nroot, which starts each in the child's user
 * namespace and in a copy of its mount namespace, a peer of ours at the
 * scratch dir (its mount propagates here, and our pivot_root, which moves
 * the root of every process of a namespace that sits on the old root,
 * leaves it alone).  No process of the container can see, signal or trace
 * it, or reach the host's files through its /proc/PID/root. */
#define FUSE_WAIT_MS 10000

/* the daemon's log (its stdout and stderr): the last line says why it
 * failed; earlier ones are warnings */
static int fuse_failed(const char *name, const char *log, NrError *err)
{
    char buf[4096] = "", *msg = buf;
    nr_autoclose int fd = open(log, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
    buf[n > 0 ? n : 0] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    char *nl = strrchr(buf, '\n');
    if (nl)
        msg = nl + 1;
    return nr_error_msg(err, "%s failed%s%s", name, msg[0] ? ": " : "", msg);
}

static bool fuse_mounted(const char *mnt)
{
    struct statfs sf;
    return statfs(mnt, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

/* #3b child: the daemon's file system is there when its mount propagates
 * into this namespace (a poll on mountinfo wakes on every change of its
 * mount table); the daemon is gone when its log is closed, for the last
 * time */
static int wait_fuse(const char *name, const char *mnt, const char *log, NrError *err)
{
    nr_autoclose int mi = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    nr_autoclose int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (mi < 0 || in < 0 || inotify_add_watch(in, log, IN_CLOSE_WRITE) < 0)
        return nr_error_errno(err, "cannot watch the start of %s", name);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (fuse_mounted(mnt))
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left =
            FUSE_WAIT_MS - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return nr_error_msg(err, "%s did not mount within %d s", name, FUSE_WAIT_MS / 1000);
        struct pollfd p[2] = { { .fd = mi, .events = POLLPRI }, { .fd = in, .events = POLLIN } };
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            return nr_error_errno(err, "poll");
        if (p[1].revents & POLLIN)
            return fuse_mounted(mnt) ? 0 : fuse_failed(name, log, err);
    }
}

static int check_fuse_dev(const char *what, NrError *err)
{
    if (access("/dev/fuse", R_OK | W_OK) == 0)
        return 0;
    nr_error_errno(err, "cannot use %s: /dev/fuse", what);
    nr_error_hint(err, errno == ENOENT
                           ? "an administrator can run 'modprobe fuse' (see 'nroot info')"
                           : "an administrator can run 'chmod 0666 /dev/fuse' "
                             "(distributions ship it so; see 'nroot info')");
    return -1;
}

/* #3s child: nroot's answer.  A shared server's mount comes as a detached
 * clone, attached here; else nroot started a server for this container,
 * whose mount propagates */
static int squashfs_answer(int sync_fd, const char *name, const char *mnt, const char *log,
                           NrError *err)
{
    NrSyncMsg m;
    if (nr_sync_recv(sync_fd, &m) != 1)
        return nr_error_msg(err, "%s: nroot did not answer", name);
    if (m.type == NR_SYNC_GO && m.fd < 0)
        return wait_fuse(name, mnt, log, err);
    int r = m.type == NR_SYNC_SQUASHFS && m.fd >= 0
                ? (int)syscall(SYS_move_mount, m.fd, "", AT_FDCWD, mnt, MOVE_MOUNT_F_EMPTY_PATH)
                : (errno = EPROTO, -1);
    if (m.fd >= 0)
        close(m.fd);
    return r < 0 ? nr_error_errno(err, "cannot attach the mount of %s", name) : 0;
}

/* #3a/#3s child: ask nroot for the daemon `name` (message `type`, with
 * its options `opts` and the scratch dir they are relative to) and wait
 * until it has mounted at `mnt`; `log` (in the scratch dir) takes what it
 * says */
static int ask_daemon(const NrRunConfig *cfg, int sync_fd, uint32_t type, const char *name,
                      const char *opts, const char *mnt, const char *logname, NrError *err)
{
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/%s", cfg->scratch, logname);
    /* made here and closed before it is watched: the daemon's close is
     * the only one seen */
    int lfd = open(log, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lfd < 0)
        return nr_error_errno(err, "cannot create '%s'", log);
    close(lfd);
    if (mount(NULL, cfg->scratch, NULL, MS_SHARED, NULL) < 0)
        return nr_error_errno(err, "cannot share '%s'", cfg->scratch);
    /* child -> parent: our mount namespace (the user namespace is its
     * owner), the options, and the scratch dir they are relative to */
    NrError req = { 0 };
    if (snprintf(req.msg, sizeof req.msg, "%s", opts) >= (int)sizeof req.msg ||
        snprintf(req.hint, sizeof req.hint, "%s", cfg->scratch) >= (int)sizeof req.hint)
        return nr_error_msg(err, "%s: the runtime directory '%s' has too long a path", name,
                            cfg->scratch);
    nr_autoclose int mnt_ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (mnt_ns < 0 || nr_sync_send_fd_err(sync_fd, type, mnt_ns, &req) < 0)
        return nr_error_errno(err, "cannot ask nroot to start %s", name);
    int r = type == NR_SYNC_SQUASHFS ? squashfs_answer(sync_fd, name, mnt, log, err)
                                     : wait_fuse(name, mnt, log, err);
    /* pivot_root wants no shared mount under the new root's parent */
    if (mount(NULL, cfg->scratch, NULL, MS_PRIVATE | MS_REC, NULL) < 0 && r == 0)
        return nr_error_errno(err, "cannot make '%s' private", cfg->scratch);
    return r;
}

static int mount_fuse(const NrRunConfig *cfg, int sync_fd, const char *opts, const char *root,
                      NrError *err)
{
    if (check_fuse_dev("fuse-overlayfs", err) < 0)
        return -1;
    char prog[PATH_MAX];
    const char *why = NULL;
    if (!nr_userns_find_program("fuse-overlayfs", prog, sizeof prog, &why)) {
        nr_error_msg(err, "fuse-overlayfs is not installed");
        nr_error_hint(err, "install it (apt-get install fuse-overlayfs)");
        return -1;
    }
    /* #3a */
    return ask_daemon(cfg, sync_fd, NR_SYNC_FUSE, "fuse-overlayfs", opts, root, NR_FUSE_LOG, err);
}

/* a squashfs image: nroot-squashfs (else squashfuse_ll) mounts it read-only at `lower` (#3s),
 * for the overlay to take as its lower layer as it would a directory */
static int mount_squashfs(const NrRunConfig *cfg, int sync_fd, const char *lower, NrError *err)
{
    char prog[PATH_MAX];
    const char *why = NULL;
    const char *name = nr_userns_find_squashfs(prog, sizeof prog, &why);
    if (!name)
        return nr_error_msg(err,
                            "cannot mount the squashfs image '%s': squashfuse_ll %s (install "
                            "the package squashfuse)",
                            cfg->squashfs, why);
    if (check_fuse_dev("the squashfs image", err) < 0 ||
        ask_daemon(cfg, sync_fd, NR_SYNC_SQUASHFS, name, "", lower, NR_SQUASHFUSE_LOG, err) < 0) {
        nr_error_prefix(err, "cannot mount the squashfs image '%s'", cfg->squashfs);
        return -1;
    }
    return 0;
}

/* a named container's layer is read back by the overlay that made it:
 * the parent records which (NR_SYNC_OVERLAY; the file is the container
 * module's) */
static void record_overlay(const NrRunConfig *cfg, int sync_fd, NrOverlayMode kind)
{
    if (cfg->ctr_dir && !cfg->read_only)
        nr_sync_send(sync_fd, NR_SYNC_OVERLAY, &(NrError){ .code = (int)kind });
}

int nr_rootfs_mount(const NrRunConfig *cfg, int sync_fd, char **ret_root, NrError *err)
{
    const char *s = cfg->scratch;
    /* nothing mounted from here on propagates back to the host */
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot make the mount namespace private");
    if (mount("tmpfs", s, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        return nr_error_errno(err, "cannot mount the scratch tmpfs on '%s'", s);
    /* on the heap: a frame of PATH_MAX buffers is a page fault per page
     * in this fresh process (the stack probes touch every one) */
    nr_autofree char *lower = nr_strdup_printf("%s/lower", s);
    nr_autofree char *ctr = nr_strdup_printf("%s/ctr", s);
    /* a named container's layer is in the store, the others' here */
    nr_autofree char *upper = nr_strdup_printf("%s%s/upper", s, cfg->ctr_dir ? "/ctr" : "");
    nr_autofree char *work = nr_strdup_printf("%s%s/work", s, cfg->ctr_dir ? "/ctr" : "");
    nr_autofree char *root = nr_strdup_printf("%s/root", s);
    nr_autofree char *skel = nr_strdup_printf("%s/skel", s);
    const char *dirs[] = { lower, root, skel, cfg->ctr_dir ? ctr : upper,
                           cfg->ctr_dir ? NULL : work };
    for (size_t i = 0; i < 5 && dirs[i]; i++)
        if (mkdir(dirs[i], 0755) < 0)
            return nr_error_errno(err, "cannot create '%s'", dirs[i]);
    /* a bind gives the lower layer a short name: the legacy mount data
     * string is one page, and fuse-overlayfs has no escaping; a squashfs
     * image is mounted there */
    if (cfg->squashfs) {
        if (mount_squashfs(cfg, sync_fd, lower, err) < 0)
            return -1;
    } else if (mount(cfg->lower, lower, NULL, MS_BIND | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot bind the image '%s'", cfg->lower);
    if (cfg->ctr_dir) {
        if (mount(cfg->ctr_dir, ctr, NULL, MS_BIND, NULL) < 0)
            return nr_error_errno(err, "cannot bind the container's layer '%s'", cfg->ctr_dir);
        /* made here, as root of the namespace, like a throw-away layer */
        if ((mkdir(upper, 0755) < 0 && errno != EEXIST) ||
            (mkdir(work, 0755) < 0 && errno != EEXIST))
            return nr_error_errno(err, "cannot create the container's layer in '%s'", cfg->ctr_dir);
    }

    nr_autofree char *el = escaped(lower), *eu = escaped(upper), *ew = escaped(work),
                     *es = escaped(skel), *opts = NULL;
    char fopts[128];
    /* fuse-overlayfs gets names relative to the scratch dir: it has no
     * escaping, and they travel in one sync message */
    const char *ru = cfg->ctr_dir ? "ctr/upper" : "upper", *rw = cfg->ctr_dir ? "ctr/work" : "work";
    if (cfg->read_only) {
        if (make_skel(cfg, lower, skel, err) < 0)
            return -1;
        /* a named container's files, read-only too */
        if (cfg->ctr_dir) {
            opts = nr_strdup_printf("lowerdir=%s:%s:%s", es, eu, el);
            snprintf(fopts, sizeof fopts, "lowerdir=skel:%s:lower", ru);
        } else {
            opts = nr_strdup_printf("lowerdir=%s:%s", es, el);
            snprintf(fopts, sizeof fopts, "lowerdir=skel:lower");
        }
    } else {
        /* a skeleton, if any, goes under the image: the directories it
         * shares with the image keep the image's owner, mode and times,
         * also when a copy-up brings them into the writable layer */
        int sk = make_writable_skel(cfg, lower, skel, err);
        if (sk < 0)
            return -1;
        opts = nr_strdup_printf("lowerdir=%s%s%s,upperdir=%s,workdir=%s", el, sk ? ":" : "",
                                sk ? es : "", eu, ew);
        snprintf(fopts, sizeof fopts, "lowerdir=lower%s,upperdir=%s,workdir=%s", sk ? ":skel" : "",
                 ru, rw);
    }

    NrError kerr = { 0 };
    if (cfg->overlay != NR_OVERLAY_FUSE) {
        /* a throw-away layer needs no syncs; a kept one must survive a crash */
        nr_autofree char *kopts = nr_strdup_printf(
            "%s,userxattr%s", opts, cfg->read_only || cfg->ctr_dir ? "" : ",volatile");
        if (mount_kernel(kopts, root, &kerr) == 0) {
            record_overlay(cfg, sync_fd, NR_OVERLAY_KERNEL);
            goto mounted;
        }
        if (cfg->overlay == NR_OVERLAY_KERNEL) {
            *err = kerr;
            nr_error_hint(err,
                          "overlayfs in a user namespace needs Linux 5.11 or later; "
                          "--overlay=fuse uses fuse-overlayfs; 'nroot info' shows what works here");
            return -1;
        }
    }
    /* a squashfs lower layer has no POSIX ACLs, and as a fuse mount in a
     * user namespace it refuses to be asked (EOPNOTSUPP), which
     * fuse-overlayfs would pass on to every command not run as root */
    if (cfg->squashfs)
        snprintf(fopts + strlen(fopts), sizeof fopts - strlen(fopts), ",noacl");
    if (mount_fuse(cfg, sync_fd, fopts, root, err) < 0) {
        if (kerr.code) {
            /* both refused: say why the kernel did too */
            char both[sizeof err->msg];
            if (snprintf(both, sizeof both, "%s (and %s: %s)", err->msg, kerr.msg,
                         strerror(kerr.errnum)) >= (int)sizeof both)
                both[sizeof both - 1] = '\0';
            memcpy(err->msg, both, sizeof err->msg);
            err->errnum = 0;
        }
        return -1;
    }
    if (kerr.code)
        nr_notice("%s (%s); using fuse-overlayfs", kerr.msg, strerror(kerr.errnum));
    record_overlay(cfg, sync_fd, NR_OVERLAY_FUSE);
mounted:
    *ret_root = nr_xstrdup(root);
    return 0;
}

int nr_rootfs_pivot(const char *root, NrError *err)
{
    if (chdir(root) < 0)
        return nr_error_errno(err, "cannot enter the new root '%s'", root);
    /* the old root is stacked on the new one, then lazily detached: no
     * directory is needed for it and no path to the host stays behind */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return nr_error_errno(err, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return nr_error_errno(err, "cannot detach the old root");
    if (chdir("/") < 0)
        return nr_error_errno(err, "chdir /");
    return 0;
}
