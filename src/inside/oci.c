/* SPDX-License-Identifier: Apache-2.0 */
/* oci.c — an OCI bundle's spec applied in the child, rootless, as runc
 * applies it: the namespaces joined by path, the time offsets, the names,
 * the bundle's root bound (written in place, no overlay), the spec's
 * mounts in order instead of nroot's, the devices bound from the host,
 * sysctls, masked and read-only paths, the createContainer hooks,
 * pivot_root; then (nr_oci_exec) the process: rlimits, the
 * user, the five capability sets, no_new_privs, umask, seccomp, the
 * startContainer hooks, exec with the spec's environment exactly.
 *
 * Every target is resolved inside the root (openat2 RESOLVE_IN_ROOT); a
 * destination whose symlinks climb out of the root is refused, not
 * clamped: the spec meant a place outside the container. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "nr-caps.h"
#include "nr-devices.h"
#include "nr-error.h"
#include "nr-filter.h"
#include "nr-fs.h"
#include "nr-mounts.h"
#include "nr-net.h"
#include "nr-oci.h"
#include "nr-payload.h"
#include "nr-ocirun.h"
#include "nr-plan.h"
#include "nr-rootfs.h"
#include "nr-userns.h"
#include "nr-util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

extern char **environ;

/* ---- paths inside the root ---- */

/* does `path` (absolute, inside the root) climb out of it through ".."
 * or a relative symlink?  Absolute symlinks start again at the root, as
 * the container sees them.  The walk stops at the first missing entry
 * (what follows is created). */
static bool escapes(int rootfd, const char *path)
{
    char todo[PATH_MAX * 2], done[PATH_MAX] = "";
    int depth = 0, links = 0;
    snprintf(todo, sizeof todo, "%s", path);
    char *p = todo;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "/");
        char name[NAME_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        p += n;
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            if (depth == 0)
                return true;
            *strrchr(done, '/') = '\0';
            depth--;
            continue;
        }
        size_t dl = strlen(done);
        snprintf(done + dl, sizeof done - dl, "/%s", name);
        nr_autoclose int fd = nr_fs_openat_in_root(rootfd, done, O_PATH | O_NOFOLLOW);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
            return false;
        if (!S_ISLNK(st.st_mode)) {
            depth++;
            continue;
        }
        char target[PATH_MAX];
        ssize_t tl = readlinkat(fd, "", target, sizeof target - 1);
        if (tl < 0 || ++links > 40)
            return false; /* the kernel refuses it too */
        target[tl] = '\0';
        done[dl] = '\0';
        if (target[0] == '/') {
            done[0] = '\0';
            depth = 0;
        }
        char rest[PATH_MAX * 2];
        snprintf(rest, sizeof rest, "%s/%s", target, p);
        snprintf(todo, sizeof todo, "%s", rest);
        p = todo;
    }
    return false;
}

static int target_in_root(int rootfd, const char *path, bool create, bool dir, NrError *err)
{
    if (escapes(rootfd, path)) {
        nr_error_msg(err, "config.json: '%s' leads out of the container's root through a symlink",
                     path);
        return -1;
    }
    return nr_fs_open_in_root(rootfd, path, create, dir, err);
}

/* ---- mount options ---- */

typedef struct MountOpts {
    unsigned long flags, clear, prop;
    unsigned long rec_set, rec_clear; /* rro, rnosuid, ...: on the whole tree */
    bool bind;
    char data[4096];
} MountOpts;

static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} flag_opts[] = {
    { "ro", false, MS_RDONLY },
    { "rw", true, MS_RDONLY },
    { "nosuid", false, MS_NOSUID },
    { "suid", true, MS_NOSUID },
    { "nodev", false, MS_NODEV },
    { "dev", true, MS_NODEV },
    { "noexec", false, MS_NOEXEC },
    { "exec", true, MS_NOEXEC },
    { "sync", false, MS_SYNCHRONOUS },
    { "async", true, MS_SYNCHRONOUS },
    { "dirsync", false, MS_DIRSYNC },
    { "remount", false, MS_REMOUNT },
    { "mand", false, MS_MANDLOCK },
    { "nomand", true, MS_MANDLOCK },
    { "noatime", false, MS_NOATIME },
    { "atime", true, MS_NOATIME },
    { "nodiratime", false, MS_NODIRATIME },
    { "diratime", true, MS_NODIRATIME },
    { "relatime", false, MS_RELATIME },
    { "norelatime", true, MS_RELATIME },
    { "strictatime", false, MS_STRICTATIME },
    { "nostrictatime", true, MS_STRICTATIME },
    { "nosymfollow", false, MS_NOSYMFOLLOW },
    { "symfollow", true, MS_NOSYMFOLLOW },
    { "bind", false, MS_BIND },
    { "rbind", false, MS_BIND | MS_REC },
};

static const struct {
    const char *name;
    unsigned long flag;
} prop_opts[] = {
    { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
    { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
    { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static void data_add(MountOpts *o, const char *opt)
{
    size_t len = strlen(o->data);
    snprintf(o->data + len, sizeof o->data - len, "%s%s", len ? "," : "", opt);
}

static void parse_opts(const NrRunConfig *cfg, const NrOciMount *m, MountOpts *o)
{
    memset(o, 0, sizeof *o);
    bool devpts = strcmp(m->type, "devpts") == 0;
    for (char **p = m->options; *p; p++) {
        const char *opt = *p;
        bool done = false;
        for (size_t i = 0; !done && i < sizeof flag_opts / sizeof flag_opts[0]; i++) {
            if (strcmp(opt, flag_opts[i].name) != 0)
                continue;
            if (flag_opts[i].clear) {
                o->flags &= ~flag_opts[i].flag;
                o->clear |= flag_opts[i].flag;
            } else {
                o->flags |= flag_opts[i].flag;
                o->clear &= ~flag_opts[i].flag;
            }
            done = true;
        }
        for (size_t i = 0; !done && i < sizeof prop_opts / sizeof prop_opts[0]; i++)
            if (strcmp(opt, prop_opts[i].name) == 0) {
                o->prop = prop_opts[i].flag;
                done = true;
            }
        /* the recursive attributes of runc 1.1 (rro, rnosuid, ...) */
        for (size_t i = 0; !done && opt[0] == 'r' && i < 8; i++)
            if (strcmp(opt + 1, flag_opts[i].name) == 0) {
                *(flag_opts[i].clear ? &o->rec_clear : &o->rec_set) |= flag_opts[i].flag;
                done = true;
            }
        if (done || strcmp(opt, "tmpcopyup") == 0)
            continue;
        uint32_t gid;
        /* devpts gid= only of a gid the container has, or the mount fails */
        if (devpts && strncmp(opt, "gid=", 4) == 0 && nr_parse_u32(opt + 4, &gid) &&
            !nr_userns_gid_mapped(&cfg->map, gid))
            continue;
        data_add(o, opt);
    }
    o->bind = (o->flags & MS_BIND) != 0 || strcmp(m->type, "bind") == 0;
}

static uint64_t to_attr(unsigned long f)
{
    return (f & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) | (f & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
           (f & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (f & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0) |
           (f & MS_NODIRATIME ? MOUNT_ATTR_NODIRATIME : 0) |
           (f & MS_NOSYMFOLLOW ? MOUNT_ATTR_NOSYMFOLLOW : 0);
}

/* the flags of a bind mount (mount(2) ignores them on the first call):
 * mount_setattr, else a remount restating the flags the kernel locked */
static int set_flags(int fd, unsigned long set, unsigned long clear, bool rec, const char *what,
                     NrError *err)
{
    struct mount_attr a = { .attr_set = to_attr(set), .attr_clr = to_attr(clear) };
    if (set & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
        a.attr_clr |= MOUNT_ATTR__ATIME;
        a.attr_set |= set & MS_NOATIME       ? MOUNT_ATTR_NOATIME
                      : set & MS_STRICTATIME ? MOUNT_ATTR_STRICTATIME
                                             : MOUNT_ATTR_RELATIME;
    }
    if (!a.attr_set && !a.attr_clr)
        return 0;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &a,
                sizeof a) == 0)
        return 0;
    struct statvfs sv;
    unsigned long f = MS_BIND | MS_REMOUNT | (set & ~(MS_BIND | MS_REC | MS_REMOUNT));
    if (fstatvfs(fd, &sv) == 0)
        f |= sv.f_flag &
             (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME) & ~clear;
    /* an atime the kernel locked (the host's relatime under strictatime,
     * as the validation programs ask): a remount naming none keeps it */
    if (nr_mounts_on(fd, NULL, NULL, f, NULL) < 0 &&
        (errno != EPERM || !(f & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) ||
         nr_mounts_on(fd, NULL, NULL, f & ~(MS_NOATIME | MS_STRICTATIME | MS_RELATIME), NULL) < 0))
        return nr_error_errno(err, "cannot set the options of the mount on '%s'", what);
    return 0;
}

/* the mount just made at `dst`, opened anew (fd saw what is under it) */
static int reopen(int rootfd, const char *dst, NrError *err)
{
    int fd = nr_fs_openat_in_root(rootfd, dst, O_PATH);
    if (fd < 0)
        nr_error_errno(err, "'%s' inside the container", dst);
    return fd;
}

static int bind_host(int rootfd, int fd, const char *src, const char *dst, unsigned long set,
                     NrError *err)
{
    if (nr_mounts_on(fd, src, NULL, MS_BIND | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot bind '%s' on '%s'", src, dst);
    nr_autoclose int nfd = reopen(rootfd, dst, err);
    return nfd < 0 ? -1 : set_flags(nfd, set, 0, false, dst, err);
}

/* cgroup v1 (a host with v1 controllers), as runc mounts it rootless: a
 * tmpfs, and each of the host's hierarchies bound read-only in it */
static int cgroup_v1(int rootfd, int fd, const char *dst, unsigned long fl, NrError *err)
{
    if (nr_mounts_on(fd, "tmpfs", "tmpfs", fl & ~MS_RDONLY, "mode=755") < 0)
        return nr_error_errno(err, "cannot mount a tmpfs on '%s'", dst);
    FILE *mi = fopen("/proc/self/mountinfo", "re");
    if (!mi)
        return nr_error_errno(err, "/proc/self/mountinfo");
    char line[4096];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, mi)) {
        char mnt[PATH_MAX], type[64];
        const char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
            sscanf(sep + 3, "%63s", type) != 1 || strcmp(type, "cgroup") != 0 ||
            strncmp(mnt, "/sys/fs/cgroup/", 15) != 0 || strchr(mnt + 15, '/'))
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dst, mnt + 15);
        nr_autoclose int sfd = target_in_root(rootfd, sub, true, true, err);
        if (sfd < 0 || bind_host(rootfd, sfd, mnt, sub, fl | MS_RDONLY, err) < 0)
            rc = -1;
    }
    fclose(mi);
    return rc;
}

/* the container's cgroup2 tree where the kernel allows it; else on a
 * host with v1 controllers runc's tmpfs of binds, on a cgroup2 host the
 * host's tree read-only */
static int mount_cgroup(int rootfd, int fd, const NrOciMount *m, unsigned long fl, NrError *err)
{
    struct statfs sf;
    bool v2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
    if (strcmp(m->type, "cgroup") == 0 && !v2)
        return cgroup_v1(rootfd, fd, m->dst, fl, err);
    if (nr_mounts_on(fd, "cgroup2", "cgroup2", fl, NULL) == 0)
        return 0;
    return bind_host(rootfd, fd, "/sys/fs/cgroup", m->dst, fl | MS_RDONLY, err);
}

static int mount_one(const NrRunConfig *cfg, int rootfd, const NrOciMount *m, NrError *err)
{
    const NrOciSpec *s = cfg->oci;
    MountOpts o;
    parse_opts(cfg, m, &o);
    char src[PATH_MAX];
    bool dir = true;
    if (o.bind) {
        /* a relative source is the bundle's */
        if (m->src[0] == '/')
            snprintf(src, sizeof src, "%s", m->src);
        else
            snprintf(src, sizeof src, "%s/%s", s->bundle, m->src);
        struct stat st;
        if (stat(src, &st) < 0)
            return nr_error_errno(err, "config.json: mounts: the source '%s' of '%s'", m->src,
                                  m->dst);
        dir = S_ISDIR(st.st_mode);
    } else
        snprintf(src, sizeof src, "%s", m->src[0] ? m->src : m->type);
    nr_autoclose int fd = target_in_root(rootfd, m->dst, true, dir, err);
    if (fd < 0) {
        nr_error_prefix(err, "mount '%s'", m->dst);
        return -1;
    }
    unsigned long fl = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    const char *data = o.data[0] ? o.data : NULL;
    if (o.bind) {
        /* type "bind" without a bind option is a bind too */
        if (nr_mounts_on(fd, src, NULL, MS_BIND | (o.flags & MS_REC), NULL) < 0)
            return nr_error_errno(err, "cannot bind '%s' on '%s'", src, m->dst);
        nr_autoclose int nfd = reopen(rootfd, m->dst, err);
        if (nfd < 0 || set_flags(nfd, fl, o.clear, false, m->dst, err) < 0)
            return -1;
    } else if (strcmp(m->type, "sysfs") == 0) {
        /* sysfs needs the network namespace's owner: without a network
         * namespace of the container's own, the host's /sys, read-only
         * (as runc does) */
        if (nr_mounts_on(fd, src, "sysfs", fl, data) < 0 &&
            bind_host(rootfd, fd, "/sys", m->dst, fl | MS_RDONLY, err) < 0)
            return -1;
    } else if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0) {
        if (mount_cgroup(rootfd, fd, m, fl, err) < 0)
            return -1;
    } else if (strcmp(m->type, "proc") == 0) {
        /* a fresh procfs needs a pid namespace of the container's own */
        if (nr_mounts_on(fd, src, "proc", fl, data) < 0 &&
            bind_host(rootfd, fd, "/proc", m->dst, fl, err) < 0)
            return -1;
    } else if (nr_mounts_on(fd, src, m->type, fl, data) < 0)
        return nr_error_errno(err, "cannot mount %s on '%s'", m->type[0] ? m->type : src, m->dst);
    if (o.rec_set || o.rec_clear) {
        nr_autoclose int nfd = reopen(rootfd, m->dst, err);
        if (nfd < 0 || set_flags(nfd, o.rec_set, o.rec_clear, true, m->dst, err) < 0)
            return -1;
    }
    if (o.prop) {
        nr_autoclose int nfd = reopen(rootfd, m->dst, err);
        if (nfd < 0 || nr_mounts_on(nfd, NULL, NULL, o.prop, NULL) < 0)
            return nr_error_errno(err, "cannot set the propagation of '%s'", m->dst);
    }
    return 0;
}

/* ---- devices ---- */

static bool spec_has_device(const NrOciSpec *s, const char *path)
{
    for (size_t i = 0; i < s->n_devices; i++)
        if (strcmp(s->devices[i].path, path) == 0)
            return true;
    return false;
}

/* the host's node `host` bound at `path` (rootless cannot mknod) */
static int bind_node(int rootfd, const char *path, const char *host, bool optional, NrError *err)
{
    nr_autoclose int fd = target_in_root(rootfd, path, true, false, err);
    if (fd < 0)
        return -1;
    if (nr_mounts_on(fd, host, NULL, MS_BIND, NULL) < 0) {
        if (optional && errno == ENXIO)
            return 0; /* /dev/tty without a controlling terminal */
        return nr_error_errno(err, "cannot bind the device '%s' on '%s'", host, path);
    }
    return 0;
}

static int setup_devices(const NrOciSpec *s, int rootfd, NrError *err)
{
    /* in runc's order */
    static const char *const defaults[] = { "/dev/null", "/dev/random", "/dev/full",
                                            "/dev/tty",  "/dev/zero",   "/dev/urandom" };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (!spec_has_device(s, defaults[i]) &&
            bind_node(rootfd, defaults[i], defaults[i], strcmp(defaults[i], "/dev/tty") == 0, err) <
                0)
            return -1;
    for (size_t i = 0; i < s->n_devices; i++) {
        const NrOciDevice *d = &s->devices[i];
        struct stat st;
        bool fifo = d->type == 'p';
        if (stat(d->path, &st) < 0 ||
            (fifo ? !S_ISFIFO(st.st_mode)
                  : (d->type == 'b' ? !S_ISBLK(st.st_mode) : !S_ISCHR(st.st_mode)) ||
                        major(st.st_rdev) != d->major || minor(st.st_rdev) != d->minor))
            return nr_error_msg(err,
                                "config.json: linux.devices: '%s' (%c %u:%u) is not on the host "
                                "(rootless, devices are bound from the host's)",
                                d->path, d->type, d->major, d->minor);
        if (bind_node(rootfd, d->path, d->path, false, err) < 0)
            return -1;
    }
    /* runc's links: /dev/ptmx to the devpts instance, the fd links */
    static const char *const links[][2] = {
        { "pts/ptmx", "dev/ptmx" },          { "/proc/self/fd", "dev/fd" },
        { "/proc/self/fd/0", "dev/stdin" },  { "/proc/self/fd/1", "dev/stdout" },
        { "/proc/self/fd/2", "dev/stderr" },
    };
    nr_autoclose int dev = target_in_root(rootfd, "/dev", true, true, err);
    if (dev < 0)
        return -1;
    nr_autoclose int dfd = nr_fs_openat_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
    if (dfd < 0)
        return nr_error_errno(err, "cannot open /dev inside the container");
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        const char *name = links[i][1] + 4;
        if (i == 0)
            unlinkat(dfd, name, 0); /* a ptmx node of the image would be the host's */
        if (symlinkat(links[i][0], dfd, name) < 0 && errno != EEXIST)
            return nr_error_errno(err, "cannot create /%s", links[i][1]);
    }
    return 0;
}

/* ---- sysctl, masked and read-only paths ---- */

/* "proc/sys/A/B" of the key "A.B" of "A.B=VALUE"; its value */
static const char *sysctl_path(const char *kv, char *path, size_t size)
{
    size_t klen = strcspn(kv, "=");
    int n = snprintf(path, size, "proc/sys/%.*s", (int)klen, kv);
    for (char *p = path + 9; p < path + n && *p; p++)
        if (*p == '.')
            *p = '/';
    return kv[klen] ? kv + klen + 1 : "";
}

/* does the sysctl file fd already hold v (the same words)? */
static bool sysctl_holds(int fd, const char *v)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0)
        return false;
    buf[n] = 0;
    const char *a = buf, *b = v;
    for (;;) {
        a += strspn(a, " \t\n");
        b += strspn(b, " \t\n");
        size_t la = strcspn(a, " \t\n"), lb = strcspn(b, " \t\n");
        if (la != lb || strncmp(a, b, la) != 0)
            return false;
        if (la == 0)
            return true;
        a += la;
        b += lb;
    }
}

static int setup_sysctl(const NrOciSpec *s, int rootfd, NrError *err)
{
    for (char **kv = s->sysctl; *kv; kv++) {
        char path[PATH_MAX];
        const char *v = sysctl_path(*kv, path, sizeof path);
        nr_autoclose int fd = nr_fs_openat_in_root(rootfd, path, O_WRONLY | O_NOFOLLOW);
        if (fd >= 0 && write(fd, v, strlen(v)) >= 0)
            continue;
        /* refused in a namespace joined by path that belongs to an outer
         * user namespace: the parent set it there before the clone */
        int e = errno;
        nr_autoclose int rfd = nr_fs_openat_in_root(rootfd, path, O_RDONLY | O_NOFOLLOW);
        if ((e == EACCES || e == EPERM) && rfd >= 0 && sysctl_holds(rfd, v))
            continue;
        errno = e;
        return nr_error_errno(err, "config.json: linux.sysctl: cannot set '%.*s'",
                              (int)strcspn(*kv, "="), *kv);
    }
    return 0;
}

/* the namespace a namespaced sysctl key belongs to (plan.c has refused
 * any other) */
static int sysctl_ns(const char *kv)
{
    if (strncmp(kv, "net.", 4) == 0)
        return CLONE_NEWNET;
    if (strncmp(kv, "kernel.hostname=", 16) == 0 || strncmp(kv, "kernel.domainname=", 18) == 0)
        return CLONE_NEWUTS;
    return CLONE_NEWIPC;
}

static int mask_path(int rootfd, const char *path, NrError *err)
{
    if (escapes(rootfd, path))
        return 0; /* not the container's: nothing to hide */
    nr_autoclose int fd = nr_fs_openat_in_root(rootfd, path, O_PATH);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_error_errno(err, "'%s'", path);
    int r = S_ISDIR(st.st_mode) ? nr_mounts_on(fd, "tmpfs", "tmpfs", MS_RDONLY, NULL)
                                : nr_mounts_on(fd, "/dev/null", NULL, MS_BIND, NULL);
    if (r < 0)
        return nr_error_errno(err, "config.json: linux.maskedPaths: cannot mask '%s'", path);
    return 0;
}

static int readonly_path(int rootfd, const char *path, NrError *err)
{
    if (escapes(rootfd, path))
        return 0;
    nr_autoclose int fd = nr_fs_openat_in_root(rootfd, path, O_PATH);
    if (fd < 0)
        return 0;
    /* a bind of itself, through the fd */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    if (mount(self, self, NULL, MS_BIND | MS_REC, NULL) < 0)
        return nr_error_errno(err, "config.json: linux.readonlyPaths: cannot bind '%s'", path);
    nr_autoclose int nfd = nr_fs_openat_in_root(rootfd, path, O_PATH);
    if (nfd < 0)
        return nr_error_errno(err, "'%s'", path);
    return set_flags(nfd, MS_RDONLY, 0, false, path, err);
}

/* ---- the child ---- */

/* is the namespace at fd the one of `type` this process is in (the
 * host's: it needs no joining, which would need rights there)? */
static bool ns_current(int fd, int type)
{
    static const struct {
        int type;
        const char *name;
    } names[] = { { CLONE_NEWUSER, "user" },     { CLONE_NEWPID, "pid" },  { CLONE_NEWNET, "net" },
                  { CLONE_NEWNS, "mnt" },        { CLONE_NEWIPC, "ipc" },  { CLONE_NEWUTS, "uts" },
                  { CLONE_NEWCGROUP, "cgroup" }, { CLONE_NEWTIME, "time" } };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].type != type)
            continue;
        char path[64];
        struct stat a, b;
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i].name);
        return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
               a.st_dev == b.st_dev;
    }
    return false;
}

int nr_oci_open_ns(const NrOciSpec *s, int *fds, NrError *err)
{
    for (size_t i = 0; i < s->n_ns; i++)
        fds[i] = -1;
    for (size_t i = 0; i < s->n_ns; i++) {
        if (!s->ns[i].path)
            continue;
        fds[i] = open(s->ns[i].path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            nr_error_errno(err, "config.json: linux.namespaces: cannot open '%s'", s->ns[i].path);
            nr_oci_close_ns(s, fds);
            return -1;
        }
    }
    return 0;
}

void nr_oci_close_ns(const NrOciSpec *s, int *fds)
{
    for (size_t i = 0; i < s->n_ns; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

int nr_oci_join_ns(const NrOciSpec *s, const int *fds, NrError *err)
{
    for (size_t i = 0; i < s->n_ns; i++)
        if (fds[i] >= 0 && !ns_current(fds[i], s->ns[i].type) && setns(fds[i], s->ns[i].type) < 0)
            return nr_error_errno(err, "config.json: linux.namespaces: cannot join '%s'",
                                  s->ns[i].path);
    return 0;
}

int nr_oci_join_ns_early(const NrOciSpec *s, const int *fds, NrError *err)
{
    for (size_t i = 0; i < s->n_ns; i++)
        if (fds[i] >= 0 && s->ns[i].type == CLONE_NEWUSER && !ns_current(fds[i], CLONE_NEWUSER) &&
            setns(fds[i], CLONE_NEWUSER) < 0)
            return nr_error_errno(err, "config.json: linux.namespaces: cannot join '%s'",
                                  s->ns[i].path);
    int joined = 0;
    for (size_t i = 0; i < s->n_ns; i++) {
        int t = s->ns[i].type;
        if (fds[i] >= 0 &&
            (t == CLONE_NEWNET || t == CLONE_NEWIPC || t == CLONE_NEWUTS || t == CLONE_NEWCGROUP))
            joined |= setns(fds[i], t) == 0 ? t : 0;
    }
    /* the sysctls of those, set here where the rights are (the child's
     * own try finds them set); a failure is the child's to report */
    for (char **kv = s->sysctl; joined && *kv; kv++) {
        if (!(joined & sysctl_ns(*kv)))
            continue;
        char path[PATH_MAX];
        path[0] = '/';
        const char *v = sysctl_path(*kv, path + 1, sizeof path - 1);
        nr_autoclose int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            (void)!write(fd, v, strlen(v));
    }
    return 0;
}

int nr_oci_set_oom(const NrOciSpec *s, NrError *err)
{
    if (!s->has_oom)
        return 0;
    char v[32];
    snprintf(v, sizeof v, "%d", s->oom_score_adj);
    if (nr_proc_self_write("oom_score_adj", v) < 0)
        return nr_error_errno(err, "config.json: process.oomScoreAdj: cannot set %d",
                              s->oom_score_adj);
    return 0;
}

int nr_oci_child(const NrRunConfig *cfg, int sync_fd, NrError *err)
{
    const NrOciSpec *s = cfg->oci;
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        return nr_error_errno(err, "config.json: cannot set the hostname");
    if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
        return nr_error_errno(err, "config.json: cannot set the domainname");
    if (cfg->net == NR_NET_NONE && nr_net_setup(cfg, sync_fd, err) < 0)
        return -1;
    /* nothing mounted from here on propagates back to the host */
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot make the mount namespace private");
    if (mount(s->root, s->root, NULL, MS_BIND | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot bind the root '%s'", s->root);
    nr_autoclose int rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return nr_error_errno(err, "cannot open the root '%s'", s->root);
    for (size_t i = 0; i < s->n_mounts; i++)
        if (mount_one(cfg, rootfd, &s->mounts[i], err) < 0)
            return -1;
    if (setup_devices(s, rootfd, err) < 0 || setup_sysctl(s, rootfd, err) < 0)
        return -1;
    /* runc's order: read-only paths, then masks */
    for (char **p = s->readonly; *p; p++)
        if (readonly_path(rootfd, *p, err) < 0)
            return -1;
    for (char **p = s->masked; *p; p++)
        if (mask_path(rootfd, *p, err) < 0)
            return -1;
    /* createRuntime (the parent), createContainer (here) */
    if (nr_devices_setup(&cfg->dev, cfg->cid, s->root, sync_fd, err) < 0 ||
        nr_rootfs_pivot(s->root, err) < 0)
        return -1;
    if (s->rootfs_propagation && mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
        return nr_error_errno(err, "config.json: linux.rootfsPropagation");
    /* process.cwd made if missing, as runc does, before the root is
     * read-only */
    if (nr_mkdir_p(s->cwd, 0755, err) < 0) {
        nr_error_prefix(err, "config.json: process.cwd");
        return -1;
    }
    if (s->root_ro) {
        nr_autoclose int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || set_flags(fd, MS_RDONLY, 0, false, "/", err) < 0)
            return -1;
    }
    return 0;
}

/* ---- the process ---- */

/* the spec's environment, and HOME as runc adds it when the spec has
 * none: the user's in the container's /etc/passwd, else / */
static char **with_home(const NrOciSpec *s, uid_t uid)
{
    size_t n = 0;
    for (char **e = s->env; *e; e++, n++)
        if (strncmp(*e, "HOME=", 5) == 0)
            return s->env;
    char home[PATH_MAX] = "/";
    /* only a regular file: a FIFO of the image must not hang the start */
    int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    FILE *f = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "re") : NULL;
    if (!f && fd >= 0)
        close(fd);
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char *fld[7] = { 0 }, *p = line;
        int k = 0;
        while (k < 7 && (fld[k] = strsep(&p, ":\n")))
            k++;
        uint32_t u;
        if (k >= 6 && nr_parse_u32(fld[2], &u) && u == uid && fld[5][0]) {
            snprintf(home, sizeof home, "%s", fld[5]);
            break;
        }
    }
    if (f)
        fclose(f);
    char **env = nr_xmalloc((n + 2) * sizeof *env);
    memcpy(env, s->env, n * sizeof *env);
    env[n] = nr_strdup_printf("HOME=%s", home);
    env[n + 1] = NULL;
    return env;
}

static int set_caps(const NrOciSpec *s, NrError *err)
{
    uint64_t dflt = nr_caps_default();
    uint64_t perm = s->caps_given ? s->caps[NR_OCI_CAP_PERMITTED] : dflt;
    uint64_t eff = s->caps_given ? s->caps[NR_OCI_CAP_EFFECTIVE] : dflt;
    uint64_t inh = s->caps_given ? s->caps[NR_OCI_CAP_INHERITABLE] : 0;
    cap_t cp = cap_init();
    if (!cp)
        return nr_error_errno(err, "cap_init");
    for (int c = 0; c < 64; c++) {
        cap_value_t v = (cap_value_t)c;
        if (!CAP_IS_SUPPORTED(v))
            continue;
        if (perm & (1ULL << c))
            cap_set_flag(cp, CAP_PERMITTED, 1, &v, CAP_SET);
        if (eff & (1ULL << c))
            cap_set_flag(cp, CAP_EFFECTIVE, 1, &v, CAP_SET);
        if (inh & (1ULL << c))
            cap_set_flag(cp, CAP_INHERITABLE, 1, &v, CAP_SET);
    }
    int rc = cap_set_proc(cp);
    cap_free(cp);
    if (rc < 0)
        return nr_error_errno(err, "config.json: process.capabilities: cannot set them");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    /* as runc: an ambient capability the other sets do not allow is
     * left out */
    for (int c = 0; s->caps_given && c < 64; c++)
        if (s->caps[NR_OCI_CAP_AMBIENT] & (1ULL << c))
            (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0, 0);
    return 0;
}

int nr_oci_exec(const NrRunConfig *cfg, int slave, NrError *err)
{
    const NrOciSpec *s = cfg->oci;
    nr_signals_default();
    if (slave >= 0) {
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
            return nr_error_errno(err, "process.terminal: cannot make the terminal the process's");
        if (s->console_width && s->console_height) {
            struct winsize ws = { .ws_row = (unsigned short)s->console_height,
                                  .ws_col = (unsigned short)s->console_width };
            ioctl(slave, TIOCSWINSZ, &ws);
        }
        for (int fd = 0; fd < 3; fd++)
            if (dup2(slave, fd) < 0)
                return nr_error_errno(err, "process.terminal: dup2");
        if (slave > 2)
            close(slave);
    }
    for (size_t i = 0; i < s->n_rlimits; i++) {
        struct rlimit rl = { .rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard };
        if (setrlimit(s->rlimits[i].resource, &rl) < 0)
            return nr_error_errno(err,
                                  "config.json: process.rlimits: cannot set limit %d to %llu/%llu",
                                  s->rlimits[i].resource, (unsigned long long)rl.rlim_cur,
                                  (unsigned long long)rl.rlim_max);
    }
    /* oomScoreAdj: inherited, set by nr_oci_set_oom where nothing of the
     * container could trace this process while it is dumpable */
    /* without no_new_privs, the filter goes on while CAP_SYS_ADMIN is
     * still there (runc's order) */
    if (!s->no_new_privs && nr_seccomp_apply(cfg, false, err) < 0)
        return -1;
    if (nr_caps_bound(cfg->caps, err) < 0)
        return -1;
    if (cfg->map.helpers && setgroups(s->n_gids, s->gids) < 0)
        return nr_error_errno(err, "config.json: process.user.additionalGids: setgroups");
    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (setresgid(s->gid, s->gid, s->gid) < 0)
        return nr_error_errno(err, "config.json: process.user: cannot switch to gid %u",
                              (unsigned)s->gid);
    pid_t parent = getppid();
    if (setresuid(s->uid, s->uid, s->uid) < 0)
        return nr_error_errno(err, "config.json: process.user: cannot switch to uid %u",
                              (unsigned)s->uid);
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (!cfg->exec_detach) /* oci exec -d: it outlives nroot */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (getppid() != parent)
        _exit(NR_EXIT_FAILURE);
    if (set_caps(s, err) < 0)
        return -1;
    if (chdir(s->cwd) < 0)
        return nr_error_errno(err, "cannot enter the working directory '%s'", s->cwd);
    if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return nr_error_errno(err, "cannot set no_new_privs");
    umask(s->umask >= 0 ? (mode_t)s->umask : 022);
    if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0) {
        for (int fd = 3; fd < 1024; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    for (size_t i = 0; i < cfg->n_preserve_fds; i++)
        if (fcntl(cfg->preserve_fds[i], F_SETFD, 0) < 0)
            return nr_error_errno(err, "fd %d, to be passed to the command", cfg->preserve_fds[i]);
    if (s->no_new_privs && nr_seccomp_apply(cfg, false, err) < 0)
        return -1;
    if (nr_devices_start_hooks(&cfg->dev, cfg->cid, err) < 0)
        return -1;
    environ = with_home(s, s->uid); /* execvp searches the spec's PATH */
    return nr_payload_execvp(cfg->argv, err);
}
