/* rootfs.c — the container's root: a scratch tmpfs holding the overlay's
 * upper and work directories (throw-away: it vanishes with the mount
 * namespace, even after SIGKILL), the overlay itself (kernel overlayfs in the
 * user namespace, fuse-overlayfs as fallback), and pivot_root.
 *
 * Layout of the scratch tmpfs (mounted over cfg->scratch, which only this
 * mount namespace sees):  lower/ (bind of the image)  upper/ work/  root/
 * (the overlay)  etc/ (generated hosts, hostname, resolv.conf)  skel/
 * (mount points a read-only image lacks). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "nr-run.h"
#include "nr-spawn.h"

#define FUSE_SUPER_MAGIC 0x65735546

/* overlayfs option values escape ',' ':' and '\' with a backslash */
static void ovl_escape(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (; *in && o + 2 < size; in++) {
        if (*in == ',' || *in == ':' || *in == '\\')
            out[o++] = '\\';
        out[o++] = *in;
    }
    out[o] = '\0';
}

static int skel_entry(int sk, const char *path, bool dir, NrError *err)
{
    int fd = nr_mounts_open_in_root(sk, path, true, dir, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Mount points a read-only image lacks are provided by an extra lower
 * layer on the scratch tmpfs, so the image needs no writable layer. */
static int make_skel(const NrRunConfig *cfg, const char *skel, NrError *err)
{
    nr_autoclose int img = open(cfg->lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
    nr_autoclose int sk = open(skel, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (img < 0 || sk < 0)
        return nr_error_errno(err, "cannot open '%s'", img < 0 ? cfg->lower : skel);
    static const char *const dirs[] = { "proc", "dev", "sys", "tmp", "etc" };
    static const char *const files[] = { "etc/hosts", "etc/hostname", "etc/resolv.conf" };
    /* existence is judged inside the image's root: its symlinks must not
     * be followed on the host */
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (!nr_mounts_exists_in_root(img, dirs[i]) && skel_entry(sk, dirs[i], true, err) < 0)
            return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!nr_mounts_exists_in_root(img, files[i]) && skel_entry(sk, files[i], false, err) < 0)
            return -1;
    for (size_t i = 0; i < cfg->n_volumes; i++) {
        const NrVolume *v = &cfg->volumes[i];
        if (!nr_mounts_exists_in_root(img, v->dst) && skel_entry(sk, v->dst, v->src_is_dir, err) < 0)
            return -1;
    }
    return 0;
}

static int mount_kernel(const char *opts, const char *root, NrError *err)
{
    if (mount("overlay", root, "overlay", 0, opts) < 0)
        return nr_error_errno(err, "kernel overlayfs refused to mount");
    return 0;
}

static int mount_fuse(const NrRunConfig *cfg, const char *opts, const char *root, NrError *err)
{
    if (mount(NULL, cfg->scratch, NULL, MS_SHARED, NULL) < 0)
        return nr_error_errno(err, "cannot share '%s'", cfg->scratch);
    if (access("/dev/fuse", R_OK | W_OK) < 0) {
        nr_error_errno(err, "cannot use fuse-overlayfs: /dev/fuse");
        nr_error_hint(err, errno == ENOENT ? "an administrator can run 'modprobe fuse' (see 'nroot info')"
                                           : "an administrator can run 'chmod 0666 /dev/fuse' "
                                             "(distributions ship it so; see 'nroot info')");
        return -1;
    }
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/fuse-overlayfs.log", cfg->scratch);
    pid_t pid = fork();
    if (pid < 0)
        return nr_error_errno(err, "fork");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, STDIN_FILENO);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* a mount namespace of its own, a peer of ours at the scratch dir:
         * its mount propagates to us, and our pivot_root (which moves the
         * root of every process of a namespace that sits on the old root)
         * leaves it alone; otherwise it would look its layers up through
         * its own mount and deadlock */
        if (unshare(CLONE_NEWNS) < 0)
            _exit(126);
        nr_spawn_become_root();
        execlp("fuse-overlayfs", "fuse-overlayfs", "-o", opts, root, (char *)NULL);
        _exit(errno == ENOENT ? 127 : 126);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* pivot_root wants no shared mount under the new root's parent */
    if (mount(NULL, cfg->scratch, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot make '%s' private", cfg->scratch);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        nr_error_msg(err, "fuse-overlayfs is not installed");
        nr_error_hint(err, "install it (apt-get install fuse-overlayfs)");
        return -1;
    }
    struct statfs sf;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || statfs(root, &sf) < 0 ||
        sf.f_type != FUSE_SUPER_MAGIC) {
        /* its last line says why; earlier ones are warnings */
        char buf[4096] = "", *msg = buf;
        nr_autoclose int fd = open(log, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
        buf[n > 0 ? n : 0] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        char *nl = strrchr(buf, '\n');
        if (nl)
            msg = nl + 1;
        return nr_error_msg(err, "fuse-overlayfs failed%s%s", msg[0] ? ": " : "", msg);
    }
    return 0;
}

/* which overlay made a named container's layer: the other one does not
 * read its whiteouts and opaque directories the same way, so the next run
 * must use the same (cmd-run.c) */
static void record_overlay(const NrRunConfig *cfg, const char *kind)
{
    if (!cfg->ctr_dir || cfg->read_only)
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/overlay", cfg->ctr_dir);
    if (access(path, F_OK) == 0)
        return;
    NrError ignored = { 0 };
    nr_write_file_at(AT_FDCWD, path, kind, 0644, &ignored);
}

NrOverlayMode nr_rootfs_layer_overlay(const char *ctr_dir)
{
    char path[PATH_MAX], kind[16] = "";
    snprintf(path, sizeof path, "%s/overlay", ctr_dir);
    nr_read_line(path, kind, sizeof kind);
    return strcmp(kind, "kernel") == 0 ? NR_OVERLAY_KERNEL
         : strcmp(kind, "fuse") == 0   ? NR_OVERLAY_FUSE : NR_OVERLAY_AUTO;
}

int nr_rootfs_mount(const NrRunConfig *cfg, char **ret_root, NrError *err)
{
    const char *s = cfg->scratch;
    /* nothing mounted from here on propagates back to the host */
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot make the mount namespace private");
    if (mount("tmpfs", s, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        return nr_error_errno(err, "cannot mount the scratch tmpfs on '%s'", s);
    char lower[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], root[PATH_MAX], skel[PATH_MAX],
         ctr[PATH_MAX];
    snprintf(lower, sizeof lower, "%s/lower", s);
    snprintf(ctr, sizeof ctr, "%s/ctr", s);
    /* a named container's layer is in the store, the others' here */
    snprintf(upper, sizeof upper, "%s%s/upper", s, cfg->ctr_dir ? "/ctr" : "");
    snprintf(work, sizeof work, "%s%s/work", s, cfg->ctr_dir ? "/ctr" : "");
    snprintf(root, sizeof root, "%s/root", s);
    snprintf(skel, sizeof skel, "%s/skel", s);
    const char *dirs[] = { lower, root, skel, cfg->ctr_dir ? ctr : upper, cfg->ctr_dir ? NULL : work };
    for (size_t i = 0; i < 5 && dirs[i]; i++)
        if (mkdir(dirs[i], 0755) < 0)
            return nr_error_errno(err, "cannot create '%s'", dirs[i]);
    /* a bind gives the lower layer a short name: the legacy mount data
     * string is one page, and fuse-overlayfs has no escaping */
    if (mount(cfg->lower, lower, NULL, MS_BIND | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot bind the image '%s'", cfg->lower);
    if (cfg->ctr_dir) {
        if (mount(cfg->ctr_dir, ctr, NULL, MS_BIND, NULL) < 0)
            return nr_error_errno(err, "cannot bind the container's layer '%s'", cfg->ctr_dir);
        /* made here, as root of the namespace, like a throw-away layer */
        if ((mkdir(upper, 0755) < 0 && errno != EEXIST) || (mkdir(work, 0755) < 0 && errno != EEXIST))
            return nr_error_errno(err, "cannot create the container's layer in '%s'", cfg->ctr_dir);
    }

    char el[PATH_MAX * 2], eu[PATH_MAX * 2], ew[PATH_MAX * 2], es[PATH_MAX * 2];
    char opts[PATH_MAX * 8 + 64];
    ovl_escape(lower, el, sizeof el);
    ovl_escape(upper, eu, sizeof eu);
    ovl_escape(work, ew, sizeof ew);
    ovl_escape(skel, es, sizeof es);
    if (cfg->read_only) {
        if (make_skel(cfg, skel, err) < 0)
            return -1;
        /* a named container's files, read-only too */
        if (cfg->ctr_dir)
            snprintf(opts, sizeof opts, "lowerdir=%s:%s:%s", es, eu, el);
        else
            snprintf(opts, sizeof opts, "lowerdir=%s:%s", es, el);
    } else {
        snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", el, eu, ew);
    }

    NrError kerr = { 0 };
    if (cfg->overlay != NR_OVERLAY_FUSE) {
        char kopts[sizeof opts + 32];
        /* a throw-away layer needs no syncs; a kept one must survive a crash */
        snprintf(kopts, sizeof kopts, "%s,userxattr%s", opts,
                 cfg->read_only || cfg->ctr_dir ? "" : ",volatile");
        if (mount_kernel(kopts, root, &kerr) == 0) {
            record_overlay(cfg, "kernel");
            goto mounted;
        }
        if (cfg->overlay == NR_OVERLAY_KERNEL) {
            *err = kerr;
            nr_error_hint(err, "overlayfs in a user namespace needs Linux 5.11 or later; "
                          "--overlay=fuse uses fuse-overlayfs; 'nroot info' shows what works here");
            return -1;
        }
    }
    if (mount_fuse(cfg, opts, root, err) < 0) {
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
    record_overlay(cfg, "fuse");
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
