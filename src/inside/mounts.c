/* SPDX-License-Identifier: Apache-2.0 */
/* mounts.c — everything mounted inside the new root before pivot_root:
 * /proc (with masks), /dev, /sys, /tmp, the generated /etc files and the
 * user's volumes.  Paths inside the image are resolved with openat2's
 * RESOLVE_IN_ROOT, so a symlink in the image (/var/run -> /run, or a
 * malicious /etc -> /home/you) is followed inside the container's root,
 * never out to the host's; the mount goes onto the resolved fd. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "nr-error.h"
#include "nr-fs.h"
#include "nr-mounts.h"
#include "nr-net.h"
#include "nr-plan.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
struct mount_attr {
    __u64 attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

int nr_mounts_on(int fd, const char *src, const char *type, unsigned long flags, const char *data)
{
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    return mount(src, target, type, flags, data);
}

/* The flags the kernel locked on a mount from a more privileged namespace
 * (ro, nosuid, nodev, noexec, atime) must be restated by a legacy remount,
 * or it fails. */
int nr_mounts_restrict(int fd, unsigned long flags, const char *what, NrError *err)
{
    struct mount_attr attr = { 0 };
    attr.attr_set =
        (flags & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) | (flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
        (flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
        return 0;
    struct statvfs sv;
    unsigned long f = MS_BIND | MS_REMOUNT | flags;
    if (fstatvfs(fd, &sv) == 0)
        f |= sv.f_flag & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                          MS_NODIRATIME | MS_RELATIME);
    if (nr_mounts_on(fd, NULL, NULL, f, NULL) < 0) {
        if (flags == MS_RDONLY)
            return nr_error_errno(err, "cannot make '%s' read-only", what);
        return nr_error_errno(err, "cannot restrict the mount on '%s'", what);
    }
    return 0;
}

/* mount at a path inside the root, resolved there */
static int mount_in(int rootfd, const char *path, bool create, const char *src, const char *type,
                    unsigned long flags, const char *data, NrError *err)
{
    nr_autoclose int fd = nr_fs_open_in_root(rootfd, path, create, true, err);
    if (fd < 0)
        return -1;
    if (nr_mounts_on(fd, src, type, flags, data) < 0)
        return nr_error_errno(err, "cannot mount %s on '%s'", type ? type : src, path);
    return 0;
}

static int bind_readonly_in(int rootfd, const char *path, NrError *err)
{
    nr_autoclose int fd = nr_fs_openat_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return 0; /* absent on this kernel: nothing to protect */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    if (mount(self, self, NULL, MS_BIND | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot bind '%s'", path);
    nr_autoclose int nfd = nr_fs_openat_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
    if (nfd < 0)
        return nr_error_errno(err, "'%s'", path);
    return nr_mounts_restrict(nfd, MS_RDONLY, path, err);
}

static int mask_in(int rootfd, const char *path, NrError *err)
{
    nr_autoclose int fd = nr_fs_openat_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_error_errno(err, "'%s'", path);
    int r = S_ISDIR(st.st_mode)
                ? nr_mounts_on(fd, "tmpfs", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               "size=0,mode=0555")
                : nr_mounts_on(fd, "/dev/null", NULL, MS_BIND, NULL);
    if (r < 0)
        return nr_error_errno(err, "cannot mask '%s'", path);
    return 0;
}

static const char *const proc_masked[] = {
    "proc/kcore",         "proc/keys",
    "proc/timer_list",    "proc/sched_debug",
    "proc/latency_stats", "proc/timer_stats",
    "proc/acpi",          "proc/scsi",
    "sys/firmware",       "sys/devices/virtual/powercap",
};
static const char *const proc_readonly[] = {
    "proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/fs", "proc/asound",
};

static int setup_proc(const NrRunConfig *cfg, int rootfd, NrError *err)
{
    bool create = !cfg->read_only;
    nr_autoclose int fd = nr_fs_open_in_root(rootfd, "proc", create, true, err);
    if (fd < 0)
        return -1;
    if (nr_mounts_on(fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        /* a fresh procfs needs a fully visible /proc on the host; inside
         * some containers it is masked: fall back to the host's */
        if (nr_mounts_on(fd, "/proc", NULL, MS_BIND | MS_REC, NULL) < 0)
            return nr_error_errno(err, "cannot mount /proc");
        nr_notice("the kernel refused a new /proc (host /proc is partly masked); "
                  "using a bind of the host's, which shows host processes");
    }
    for (size_t i = 0; i < sizeof proc_readonly / sizeof proc_readonly[0]; i++)
        if (bind_readonly_in(rootfd, proc_readonly[i], err) < 0)
            return -1;
    return 0;
}

static int setup_sys(const NrRunConfig *cfg, int rootfd, NrError *err)
{
    bool create = !cfg->read_only;
    nr_autoclose int fd = nr_fs_open_in_root(rootfd, "sys", create, true, err);
    if (fd < 0)
        return -1;
    unsigned long fl = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    /* sysfs can be mounted only by the owner of the network namespace
     * (container:NAME: NAME's user namespace, this one's parent) */
    if (cfg->net == NR_NET_HOST || cfg->net == NR_NET_CONTAINER ||
        nr_mounts_on(fd, "sysfs", "sysfs", fl, NULL) < 0) {
        if (nr_mounts_on(fd, "/sys", NULL, MS_BIND | MS_REC, NULL) < 0)
            return nr_error_errno(err, "cannot mount /sys");
        nr_autoclose int nfd = nr_fs_openat_in_root(rootfd, "sys", O_PATH);
        if (nfd < 0 || nr_mounts_restrict(nfd, MS_RDONLY, "/sys", err) < 0)
            return -1;
    } else {
        nr_autoclose int cg = nr_fs_openat_in_root(rootfd, "sys/fs/cgroup", O_PATH | O_DIRECTORY);
        /* the container's own cgroup (v2) tree, when the host has one */
        if (cg >= 0)
            (void)nr_mounts_on(cg, "cgroup2", "cgroup2", fl, NULL);
    }
    for (size_t i = 0; i < sizeof proc_masked / sizeof proc_masked[0]; i++)
        if (mask_in(rootfd, proc_masked[i], err) < 0)
            return -1;
    return 0;
}

/* mount on the entry `name` of the directory dfd, never following a link */
static int mount_at(int dfd, const char *name, const char *src, const char *type,
                    unsigned long flags, const char *data)
{
    nr_autoclose int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    return nr_mounts_on(fd, src, type, flags, data);
}

static int setup_dev(const NrRunConfig *cfg, int rootfd, NrError *err)
{
    if (mount_in(rootfd, "dev", !cfg->read_only, "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC,
                 "mode=0755,size=65536k", err) < 0)
        return -1;
    /* everything below goes through the fd of the fresh tmpfs: /dev in the
     * image may be a symlink that points anywhere on the host */
    nr_autoclose int dfd = nr_fs_openat_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
    if (dfd < 0)
        return nr_error_errno(err, "cannot open /dev inside the container");
    /* mknod is not allowed in a user namespace: bind the host's nodes */
    static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char src[32];
        snprintf(src, sizeof src, "/dev/%s", nodes[i]);
        /* the bind goes onto the file just made, through its own fd */
        nr_autoclose int fd =
            openat(dfd, nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0)
            return nr_error_errno(err, "cannot create /dev/%s", nodes[i]);
        if (nr_mounts_on(fd, src, NULL, MS_BIND, NULL) < 0) {
            if (strcmp(nodes[i], "tty") == 0 && errno == ENXIO) {
                unlinkat(dfd, nodes[i], 0);
                continue;
            }
            return nr_error_errno(err, "cannot bind '%s'", src);
        }
    }
    static const char *const links[][2] = {
        { "pts/ptmx", "ptmx" },          { "/proc/self/fd", "fd" },
        { "/proc/self/fd/0", "stdin" },  { "/proc/self/fd/1", "stdout" },
        { "/proc/self/fd/2", "stderr" }, { "/proc/kcore", "core" },
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlinkat(links[i][0], dfd, links[i][1]) < 0)
            return nr_error_errno(err, "cannot create /dev/%s", links[i][1]);
    static const char *const subdirs[] = { "pts", "shm", "mqueue" };
    for (size_t i = 0; i < 3; i++)
        if (mkdirat(dfd, subdirs[i], 0755) < 0)
            return nr_error_errno(err, "cannot create /dev/%s", subdirs[i]);
    char opts[128];
    /* gid=5 (tty) only when it exists inside, or the mount fails */
    snprintf(opts, sizeof opts, "newinstance,ptmxmode=0666,mode=0620%s",
             nr_userns_gid_mapped(&cfg->map, 5) ? ",gid=5" : "");
    if (mount_at(dfd, "pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, opts) < 0)
        return nr_error_errno(err, "cannot mount devpts");
    if (mount_at(dfd, "shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "mode=1777,size=65536k") < 0)
        return nr_error_errno(err, "cannot mount /dev/shm");
    if (mount_at(dfd, "mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return nr_error_errno(err, "cannot mount /dev/mqueue");
    return 0;
}

/* the host's resolv.conf for the container: as it is with the host's
 * network; without its loopback name servers in a private one (they are
 * not there); with slirp, every name server replaced by slirp's forwarder,
 * which reaches the host's own (loopback ones too) */
static char *host_resolv(NrNetMode net)
{
    bool keep_loopback = net == NR_NET_HOST;
    NrError e = { 0 };
    nr_autofree char *text = nr_read_file("/etc/resolv.conf", NULL, &e);
    NrStrv out = { 0 };
    size_t len = 0;
    if (text) {
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            if ((net == NR_NET_SLIRP || net == NR_NET_USER) && strncmp(l, "nameserver", 10) == 0)
                continue;
            if (!keep_loopback && strncmp(l, "nameserver", 10) == 0) {
                const char *a = l + 10;
                while (*a == ' ' || *a == '\t')
                    a++;
                if (strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0)
                    continue;
            }
            nr_strv_take(&out, nr_strdup_printf("%s\n", l));
            len += strlen(l) + 1;
        }
    }
    char *r = nr_xmalloc(len + 64);
    size_t off = 0;
    if (net == NR_NET_SLIRP)
        off = (size_t)sprintf(r, "nameserver 10.0.2.3\n");
    else if (net == NR_NET_USER && *nr_net_user_nameserver())
        off = (size_t)snprintf(r, 64, "nameserver %s\n", nr_net_user_nameserver());
    for (size_t i = 0; i < out.n; i++) {
        size_t n = strlen(out.v[i]);
        memcpy(r + off, out.v[i], n);
        off += n;
    }
    r[off] = '\0';
    if (off == 0)
        strcpy(r, "# no name servers: nroot --net=none\n");
    nr_strv_clear(&out);
    return r;
}

/* bind the file src at DIR/NAME of the image, made there (in the writable
 * layer) if missing, read-only with `ro`; a DIR the container cannot open
 * (an image whose /etc is owned by an id outside the mapping) keeps its
 * own files */
static int bind_in_root(const NrRunConfig *cfg, int rootfd, const char *dir, const char *name,
                        const char *src, bool ro, NrError *err)
{
    NrError ignored = { 0 };
    nr_autoclose int d = nr_fs_open_in_root(rootfd, dir, false, true, &ignored);
    if (d < 0)
        return 0;
    struct stat st;
    bool exists = fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !S_ISREG(st.st_mode) && !cfg->read_only) {
        /* e.g. resolv.conf -> ../run/systemd/resolve/stub-resolv.conf:
         * replaced by a file in the writable layer */
        if (!S_ISLNK(st.st_mode))
            return 0;
        if (unlinkat(d, name, 0) < 0)
            return 0;
        exists = false;
    }
    nr_autofree char *rel = nr_strdup_printf("%s/%s", dir, name);
    nr_autoclose int fd =
        nr_fs_open_in_root(rootfd, rel, !exists && !cfg->read_only, false, &ignored);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    if (nr_mounts_on(fd, src, NULL, MS_BIND, NULL) < 0)
        return nr_error_errno(err, "cannot bind /%s", rel);
    if (!ro)
        return 0;
    /* the bind mount itself, opened anew (fd is the file under it) */
    nr_autoclose int bfd = nr_fs_open_in_root(rootfd, rel, false, false, err);
    if (bfd < 0 || nr_mounts_restrict(bfd, MS_RDONLY, rel, err) < 0)
        return -1;
    return 0;
}

static int bind_etc_file(const NrRunConfig *cfg, int rootfd, const char *scratch_etc,
                         const char *name, const char *content, NrError *err)
{
    nr_autofree char *src = nr_strdup_printf("%s/%s", scratch_etc, name);
    if (nr_write_file_at(AT_FDCWD, src, content, 0644, err) < 0)
        return -1;
    /* /etc itself is made if missing (not /etc/apt below) */
    NrError ignored = { 0 };
    nr_autoclose int etc = nr_fs_open_in_root(rootfd, "etc", !cfg->read_only, true, &ignored);
    if (etc < 0)
        return 0;
    return bind_in_root(cfg, rootfd, "etc", name, src, false, err);
}

/* Root emulation and apt: apt drops to its sandbox user _apt and then
 * checks that getuid() and the others say _apt, which calls answered
 * without effect cannot make true ("Could not switch group").  An image
 * with apt gets a drop-in that keeps the sandbox user but skips those
 * checks (apt's own APT::Sandbox::Verify options), read-only, in this
 * container only.  enroot writes APT::Sandbox::User "root" instead. */
static int setup_apt(const NrRunConfig *cfg, int rootfd, const char *scratch_etc, NrError *err)
{
    if (cfg->root_emulation != NR_ROOTEMU_ON)
        return 0;
    nr_autofree char *src = nr_strdup_printf("%s/apt-root-emulation.conf", scratch_etc);
    if (nr_write_file_at(AT_FDCWD, src,
                         "// nroot --root-emulation: setuid and setgroups succeed without effect\n"
                         "APT::Sandbox::Verify::IDs \"false\";\n"
                         "APT::Sandbox::Verify::Groups \"false\";\n",
                         0644, err) < 0)
        return -1;
    return bind_in_root(cfg, rootfd, NR_ROOTEMU_APT_DIR, NR_ROOTEMU_APT_FILE, src, true, err);
}

static int setup_etc(const NrRunConfig *cfg, int rootfd, const char *hostname, NrError *err)
{
    nr_autofree char *etc = nr_strdup_printf("%s/etc", cfg->scratch);
    if (mkdir(etc, 0755) < 0 && errno != EEXIST)
        return nr_error_errno(err, "cannot create '%s'", etc);
    nr_autofree char *hosts = NULL;
    if (cfg->net == NR_NET_HOST) {
        NrError e = { 0 };
        nr_autofree char *h = nr_read_file("/etc/hosts", NULL, &e);
        hosts = nr_strdup_printf("%s127.0.1.1\t%s\n", h ? h : "127.0.0.1\tlocalhost\n", hostname);
    } else {
        const char *addr =
            cfg->net == NR_NET_USER && *nr_net_user_address() ? nr_net_user_address() : "127.0.1.1";
        hosts = nr_strdup_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                 "%s\t%s\n",
                                 addr, hostname);
    }
    nr_autofree char *hn = nr_strdup_printf("%s\n", hostname);
    /* container:NAME: the name servers of NAME's network */
    nr_autofree char *resolv =
        host_resolv(cfg->net == NR_NET_CONTAINER ? cfg->net_shared : cfg->net);
    if (bind_etc_file(cfg, rootfd, etc, "hosts", hosts, err) < 0 ||
        bind_etc_file(cfg, rootfd, etc, "hostname", hn, err) < 0 ||
        bind_etc_file(cfg, rootfd, etc, "resolv.conf", resolv, err) < 0 ||
        setup_apt(cfg, rootfd, etc, err) < 0)
        return -1;
    return 0;
}

static int setup_volumes(const NrRunConfig *cfg, int rootfd, NrError *err)
{
    for (size_t i = 0; i < cfg->n_volumes; i++) {
        const NrVolume *v = &cfg->volumes[i];
        /* created if missing, also with --read-only: the mount point is
         * then in the skeleton layer (rootfs.c), unless a tmpfs mounted
         * here (/tmp, /dev, /dev/shm) hides it, and that tmpfs is
         * writable; on the read-only root itself creation fails (EROFS) */
        nr_autoclose int fd = nr_fs_open_in_root(rootfd, v->dst, true, v->src_is_dir, err);
        if (fd < 0) {
            nr_error_prefix(err, "volume '%s'", v->dst);
            return -1;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) != v->src_is_dir)
            return nr_error_msg(err, "volume '%s:%s': cannot mount a %s on a %s", v->src, v->dst,
                                v->src_is_dir ? "directory" : "file",
                                v->src_is_dir ? "file" : "directory");
        if (nr_mounts_on(fd, v->src, NULL, MS_BIND | MS_REC, NULL) < 0)
            return nr_error_errno(err, "cannot mount volume '%s' on '%s'", v->src, v->dst);
        if (v->ro) {
            nr_autoclose int nfd = nr_fs_open_in_root(rootfd, v->dst, false, true, err);
            if (nfd < 0 || nr_mounts_restrict(nfd, MS_RDONLY, v->dst, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* /etc's files: after the network only with a user network, whose
 * address and name server they hold */
static int etc_in(const NrRunConfig *cfg, int rootfd, NrError *err)
{
    char hostname[65];
    if (gethostname(hostname, sizeof hostname) < 0)
        snprintf(hostname, sizeof hostname, "%s", cfg->cid);
    hostname[64] = '\0';
    return setup_etc(cfg, rootfd, hostname, err);
}

int nr_mounts_setup(const NrRunConfig *cfg, const char *root, NrError *err)
{
    nr_autoclose int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return nr_error_errno(err, "cannot open the new root '%s'", root);
    if (setup_proc(cfg, rootfd, err) < 0 || setup_dev(cfg, rootfd, err) < 0)
        return -1;
    if (mount_in(rootfd, "tmp", !cfg->read_only, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV,
                 "mode=1777", err) < 0)
        return -1;
    return cfg->net == NR_NET_USER ? 0 : etc_in(cfg, rootfd, err);
}

int nr_mounts_setup_late(const NrRunConfig *cfg, const char *root, NrError *err)
{
    nr_autoclose int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return nr_error_errno(err, "cannot open the new root '%s'", root);
    if (setup_sys(cfg, rootfd, err) < 0 ||
        (cfg->net == NR_NET_USER && etc_in(cfg, rootfd, err) < 0))
        return -1;
    return setup_volumes(cfg, rootfd, err);
}

/* ---- --cap-add=SYS_ADMIN: the payload's mounts are locked ----
 *
 * With SYS_ADMIN in the container's user namespace, its root could
 * remount a :ro volume read-write or unmount a /proc mask.  The kernel
 * locks every mount (it cannot be unmounted to show what it covers, its
 * ro, nosuid, nodev, noexec and atime flags cannot be changed) when a
 * mount namespace is copied into one owned by a less privileged user
 * namespace.  So the payload enters a nested user namespace, mapped 1:1
 * onto the container's by PID 1, with a copy of the mount namespace.
 * Only then: a process in the nested namespace holds no capability over
 * the namespaces nroot made before (network, UTS, IPC, pid, cgroup), and
 * without SYS_ADMIN it cannot mount anything anyway. */

bool nr_mounts_lock_wanted(const NrRunConfig *cfg)
{
    /* an OCI bundle's mounts are as its spec says (runc locks none) */
    return !cfg->oci && (cfg->caps & (1ULL << 21 /* CAP_SYS_ADMIN */));
}

/* the payload, just forked: a nested user and mount namespace; PID 1, at
 * the other end of `sock`, writes the id maps and passes both namespaces
 * on to nroot, for `nroot exec` to join */
int nr_mounts_lock_enter(int sock, NrError *err)
{
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
        return nr_error_errno(err, "--cap-add=SYS_ADMIN: cannot create the nested user namespace "
                                   "that locks the container's mounts");
    /* PID 1 can write our uid_map only while we are dumpable (a process
     * that is not is owned by the host's root in /proc), as in runc's
     * nsexec.  Nothing else can reach us meanwhile: the container's pid
     * namespace holds only PID 1 and us until the container has started,
     * and exec is refused until then. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    int e = 0;
    ssize_t got = -1;
    if (nr_write_all(sock, &e, sizeof e) == 0)
        got = read(sock, &e, sizeof e);
    int saved = errno;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    errno = saved;
    if (got != (ssize_t)sizeof e)
        return nr_error_errno(err, "--cap-add=SYS_ADMIN: the nested user namespace was not mapped");
    if (e) {
        errno = e;
        return nr_error_errno(err, "--cap-add=SYS_ADMIN: cannot map the nested user namespace");
    }
    static const struct {
        const char *path;
        int slot;
    } ns[] = { { "/proc/self/ns/user", NR_NS_NESTED_USER },
               { "/proc/self/ns/mnt", NR_NS_NESTED_MNT } };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        nr_autoclose int fd = open(ns[i].path, O_RDONLY | O_CLOEXEC);
        NrError which = { .code = ns[i].slot };
        if (fd < 0 || nr_sync_send_fd_err(sock, NR_SYNC_NS, fd, &which) < 0)
            return nr_error_errno(err, "--cap-add=SYS_ADMIN: cannot pass on the nested namespaces");
    }
    return 0;
}

/* every range of ours, onto itself */
static int identity_map(pid_t pid, const char *which)
{
    char path[64], line[128], out[4096];
    snprintf(path, sizeof path, "/proc/self/%s", which);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t len = 0;
    unsigned long in, outside, count;
    while (fgets(line, sizeof line, f) && sscanf(line, "%lu %lu %lu", &in, &outside, &count) == 3) {
        int n = snprintf(out + len, sizeof out - len, "%lu %lu %lu\n", in, in, count);
        if (n < 0 || (size_t)n >= sizeof out - len) {
            fclose(f);
            errno = E2BIG;
            return -1;
        }
        len += (size_t)n;
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, which);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, out, len);
    int e = errno;
    close(fd);
    errno = e;
    return w == (ssize_t)len ? 0 : -1;
}

/* PID 1: map the payload's nested user namespace once it made it, and
 * hand its user and mount namespaces on to nroot (`sync_fd`): exec joins
 * those, where the mounts are locked, not the container's outer ones */
void nr_mounts_lock_map(pid_t pid, int sock, int sync_fd)
{
    int e = 0;
    if (read(sock, &e, sizeof e) != (ssize_t)sizeof e)
        return; /* the payload failed first: it says why */
    if (identity_map(pid, "uid_map") < 0 || identity_map(pid, "gid_map") < 0)
        e = errno ? errno : EPERM;
    if (nr_write_all(sock, &e, sizeof e) < 0 || e)
        return;
    for (int i = 0; i < NR_NS_SLOTS - NR_NS_COUNT; i++) {
        NrSyncMsg msg;
        if (nr_sync_recv(sock, &msg) != 1)
            return; /* the payload says why */
        if (msg.type == NR_SYNC_NS && msg.fd >= 0)
            nr_sync_send_fd_err(sync_fd, NR_SYNC_NS, msg.fd, &msg.err);
        if (msg.fd >= 0)
            close(msg.fd);
    }
}
