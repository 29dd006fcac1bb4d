/* SPDX-License-Identifier: Apache-2.0 */
/* info.c — `nroot info`: what this machine lets nroot do, found by
 * trying it (a user namespace, an overlay mount in one, a whiteout), not
 * guessed from version numbers; and for each thing missing, the fix an
 * administrator would apply. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "nr-bypass.h"
#include "nr-cdi.h"
#include "nr-cgroup.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-conf.h"
#include "nr-error.h"
#include "nr-keeper.h"
#include "nr-filter.h"
#include "nr-fuse.h"
#include "nr-rostore.h"
#include "nr-runtime.h"
#include "nr-squashfs.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

typedef enum { OK, WARN, FAIL } State;

typedef struct Item {
    const char *key;
    State state;
    char value[512];
    char fix[512];
} Item;

enum { MAX_ITEMS = 48 };
static Item items[MAX_ITEMS];
static int n_items;

__attribute__((format(printf, 3, 4))) static Item *item(const char *key, State state,
                                                        const char *fmt, ...)
{
    Item *it = &items[n_items < MAX_ITEMS - 1 ? n_items++ : n_items];
    it->key = key;
    it->state = state;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->value, sizeof it->value, fmt, ap);
    va_end(ap);
    it->fix[0] = '\0';
    return it;
}

__attribute__((format(printf, 2, 3))) static void fix(Item *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->fix, sizeof it->fix, fmt, ap);
    va_end(ap);
}

/* ---- probes in a child: the answer is its exit status (an errno) ---- */

static int in_child(int (*fn)(void *), void *data)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0)
        _exit(fn(data));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
}

/* become root of a new user namespace with only our own ids mapped */
static int enter_userns(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) < 0)
        return errno;
    char map[64];
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    NrError e = { 0 };
    if (nr_write_file_at(AT_FDCWD, "/proc/self/uid_map", map, 0, &e) < 0)
        return e.errnum ? e.errnum : EPERM;
    nr_write_file_at(AT_FDCWD, "/proc/self/setgroups", "deny", 0, &e);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    if (nr_write_file_at(AT_FDCWD, "/proc/self/gid_map", map, 0, &e) < 0)
        return e.errnum ? e.errnum : EPERM;
    return 0;
}

static int probe_userns(void *data)
{
    return enter_userns();
}

typedef struct OvlProbe {
    bool whiteout; /* else: the overlay mount */
} OvlProbe;

/* a tmpfs with lower, upper, work and a mount point, in a user and mount
 * namespace of our own */
static int probe_overlay(void *data)
{
    const OvlProbe *p = data;
    int e = enter_userns();
    if (e)
        return e;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return errno;
    char dir[] = "/tmp/nroot-info-XXXXXX";
    if (!mkdtemp(dir))
        return errno;
    if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0) {
        e = errno;
        rmdir(dir);
        return e;
    }
    if (chdir(dir) < 0 || mkdir("l", 0755) < 0 || mkdir("u", 0755) < 0 || mkdir("w", 0755) < 0 ||
        mkdir("m", 0755) < 0)
        return errno;
    if (p->whiteout)
        e = mknod("u/wh", S_IFCHR | 0000, makedev(0, 0)) < 0 ? errno : 0;
    else {
        char opts[PATH_MAX];
        snprintf(opts, sizeof opts, "lowerdir=%s/l,upperdir=%s/u,workdir=%s/w,userxattr", dir, dir,
                 dir);
        e = mount("overlay", "m", "overlay", 0, opts) < 0 ? errno : 0;
    }
    /* the tmpfs and the mounts go with this namespace; the directory stays
     * on the host unless removed */
    if (chdir("/") == 0) {
        umount2(dir, MNT_DETACH);
        rmdir(dir);
    }
    return e;
}

/* ---- the items ---- */

static void read_sysctl(const char *path, char *buf, size_t size)
{
    nr_read_line(path, buf, size);
}

static bool check_userns(void)
{
    struct utsname u;
    uname(&u);
    item("kernel", OK, "%s %s", u.sysname, u.release);

    char max[32] = "", clone[32] = "", apparmor[32] = "";
    read_sysctl("/proc/sys/user/max_user_namespaces", max, sizeof max);
    read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", clone, sizeof clone);
    read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", apparmor,
                sizeof apparmor);
    int e = in_child(probe_userns, NULL);
    if (e == 0) {
        item("user namespaces", OK,
             "unprivileged user namespaces work (user.max_user_namespaces=%s)", max[0] ? max : "?");
        return true;
    }
    Item *it = item("user namespaces", FAIL, "an unprivileged user namespace cannot be made: %s",
                    strerror(e));
    if (strcmp(max, "0") == 0)
        fix(it, "sysctl -w user.max_user_namespaces=28633 (and in /etc/sysctl.d/ to keep it)");
    else if (strcmp(clone, "0") == 0)
        fix(it, "sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d/ to keep it)");
    else if (strcmp(apparmor, "1") == 0)
        fix(it, "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile "
                "for nroot that allows userns");
    else
        fix(it,
            "a kernel built with CONFIG_USER_NS, and no seccomp or LSM policy that forbids "
            "unshare(CLONE_NEWUSER) (containers in containers need it allowed by the outer one)");
    return false;
}

/* the caller's ranges, from where the id-map ladder takes them (src/ns/subid.c) */
static void check_subids(void)
{
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    const char *user = pw ? pw->pw_name : NULL;
    NrSubids s;
    nr_userns_subids(user, uid, &s);
    static const char *const via[] = {
        [NR_SUBID_PARSER] = "nroot's parser",
        [NR_SUBID_FILES] = "files via libsubid",
        [NR_SUBID_NSS] = "nss module",
    };
    /* a module is named but did not answer: newuidmap asks it too */
    bool missed = s.source != NR_SUBID_NSS && s.module[0] && strcmp(s.module, "files") != 0;
    Item *it =
        item("subid source", missed ? WARN : OK, "%s%s%s%s%s%s", via[s.source],
             s.source == NR_SUBID_NSS ? " " : "", s.source == NR_SUBID_NSS ? s.module : "",
             s.module[0] ? " (nsswitch.conf: subid: " : "", s.module, s.module[0] ? ")" : "");
    if (s.why[0])
        snprintf(it->value + strlen(it->value), sizeof it->value - strlen(it->value), "; %s",
                 s.why);
    if (s.source == NR_SUBID_FILES)
        fix(it, "install libsubid_%s.so where the dynamic linker finds it", s.module);
    else if (missed && strncmp(s.why, "libsubid.so", 11) == 0)
        fix(it, "apt-get install libsubid4 (dnf install shadow-utils-subid)");
    else if (missed)
        fix(it, "check the service behind nss module %s", s.module);
    for (int gid = 0; gid < 2; gid++) {
        bool has = gid ? s.has_gid : s.has_uid;
        uint32_t start = gid ? s.gid_start : s.uid_start, count = gid ? s.gid_count : s.uid_count;
        char from[96];
        nr_userns_subid_from(&s, gid, from, sizeof from);
        if (has) {
            item(gid ? "subordinate gids" : "subordinate uids", OK, "%u-%u (%u ids) from %s", start,
                 start + (count - 1), count, from);
            continue;
        }
        it = item(gid ? "subordinate gids" : "subordinate uids", WARN,
                  "none from %s: a single-id mapping is used", from);
        if (s.source == NR_SUBID_NSS)
            fix(it, "grant %s a range in the service behind nss module %s", user ? user : "USER",
                s.module);
        else
            fix(it, "usermod --add-sub%cids 100000-165535 %s (an entry in %s)", gid ? 'g' : 'u',
                user ? user : "USER", from);
    }
    static const char *const helpers[] = { "newuidmap", "newgidmap" };
    for (int i = 0; i < 2; i++) {
        char path[256];
        const char *why = NULL;
        if (nr_userns_find_helper(helpers[i], path, sizeof path, &why))
            item(helpers[i], OK, "%s", path);
        else {
            it = item(helpers[i], WARN, "%s %s: a single-id mapping is used", helpers[i], why);
            fix(it,
                strstr(why, "PATH") ? "apt-get install uidmap (dnf install shadow-utils)"
                                    : "chmod u+s /usr/bin/%s (or setcap cap_setuid+ep)",
                helpers[i]);
        }
    }
}

static bool check_overlay(void)
{
    OvlProbe p = { .whiteout = false };
    int e = in_child(probe_overlay, &p);
    Item *it;
    bool kernel = e == 0;
    if (kernel)
        item("kernel overlay", OK, "overlayfs mounts in a user namespace (userxattr)");
    else {
        it = item("kernel overlay", WARN,
                  "overlayfs refused in a user namespace: %s; fuse-overlayfs "
                  "is used",
                  strerror(e));
        fix(it, "Linux 5.11 or later (modprobe overlay if it is a module)");
    }
    p.whiteout = true;
    e = in_child(probe_overlay, &p);
    it = item("whiteouts", e == 0 ? OK : WARN,
              e == 0 ? "unprivileged whiteouts (0/0 devices) can be made"
                     : "a whiteout cannot be made in a user namespace: %s",
              e == 0 ? "" : strerror(e));
    if (e)
        fix(it, "Linux 5.8 or later");
    bool fuse_dev = access("/dev/fuse", R_OK | W_OK) == 0;
    it = item("/dev/fuse", fuse_dev ? OK : WARN, fuse_dev ? "read-writable" : "not usable: %s",
              fuse_dev ? "" : strerror(errno));
    if (!fuse_dev)
        fix(it,
            errno == ENOENT ? "modprobe fuse" : "chmod 0666 /dev/fuse (distributions ship it so)");
    char path[256];
    const char *why = NULL;
    bool fo = nr_userns_find_program("fuse-overlayfs", path, sizeof path, &why);
    it = item("fuse-overlayfs", fo ? OK : WARN, "%s", fo ? path : "not installed");
    if (!fo)
        fix(it, "apt-get install fuse-overlayfs");
    bool fuse = fo && fuse_dev;
    if (!kernel && !fuse) {
        it = item("copy-on-write root", FAIL,
                  "neither kernel overlayfs nor fuse-overlayfs can be used");
        fix(it, "see the fixes above");
    }
    return kernel || fuse;
}

static void check_network(void)
{
    bool tun = access("/dev/net/tun", R_OK | W_OK) == 0;
    Item *it = item("/dev/net/tun", tun ? OK : WARN,
                    tun ? "read-writable" : "not usable (%s): containers get loopback only",
                    tun ? "" : strerror(errno));
    if (!tun)
        fix(it, errno == ENOENT ? "modprobe tun"
                                : "chmod 0666 /dev/net/tun (distributions ship it so)");
    void *h = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);
    const char *(*version)(void) =
        h ? (const char *(*)(void))dlsym(h, "slirp_version_string") : NULL;
    /* the newest symbol nroot's slirp.c needs: libslirp 4.5 */
    bool recent = h && dlsym(h, "slirp_add_hostxfwd");
    if (!h) {
        it = item("libslirp", WARN, "not installed: --net=slirp cannot be used");
        fix(it, "apt-get install libslirp0");
    } else if (!recent) {
        it = item("libslirp", WARN, "%s is too old: --net=slirp needs 4.5 or later",
                  version ? version() : "this version");
        fix(it, "upgrade libslirp0 to 4.5 or later");
    } else {
        item("libslirp", OK, "%s", version ? version() : "loaded");
    }
    if (h)
        dlclose(h);
    /* --tcp-bypass: what the kernel and libseccomp allow, and the default */
    const char *from, *why = nr_bypass_unsupported();
    const char *v = nr_conf_value("tcp-bypass", "NROOT_TCP_BYPASS", &from);
    bool on = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    if (why)
        item("tcp bypass", WARN, "cannot be used: %s (TCP goes through libslirp)", why);
    else
        item("tcp bypass", OK, "available; %s (%s)", on ? "on" : "off",
             strcmp(from, "default") == 0 ? "the default" : from);
}

/* squashfs images (`nroot run IMAGE.sqsh`): the server that mounts them,
 * nroot's own nroot-squashfs, else squashfuse_ll and its version, which
 * `-V` prints as "squashfuse X.Y.Z (c) ..." among its usage */
static void info_sqsh_run(void)
{
    char path[PATH_MAX], cmd[PATH_MAX + 32], line[256], version[64] = "";
    const char *why = NULL;
    const char *name = nr_userns_find_squashfs(path, sizeof path, &why);
    if (name && strcmp(name, "nroot-squashfs") == 0) {
        item(name, OK, "%s: squashfs images run without unpacking", path);
        int secs;
        const char *from = NULL;
        NrError err = { 0 };
        if (nr_fuse_squashfs_linger(&secs, &from, &err) < 0)
            fix(item("squashfs sharing", WARN, "%s", err.msg),
                "set squashfs-linger to a number of seconds or off");
        else if (secs < 0)
            item("squashfs sharing", OK, "off: a server per run (%s)", from);
        else
            item("squashfs sharing", OK,
                 "one server per image file and id map, kept %d s after its last run (%s)", secs,
                 from);
        return;
    }
    if (!name) {
        Item *it = item("squashfuse_ll", WARN, "not installed: squashfs images cannot be run");
        fix(it, "apt-get install squashfuse");
        return;
    }
    snprintf(cmd, sizeof cmd, "'%s' -V 2>&1", path);
    FILE *p = strchr(path, '\'') ? NULL : popen(cmd, "re");
    while (p && fgets(line, sizeof line, p))
        if (!version[0])
            sscanf(line, "squashfuse %63[0-9.]", version);
    if (p)
        pclose(p);
    item("squashfuse_ll", OK, "%s (squashfuse %s): squashfs images run without unpacking", path,
         version[0] ? version : "of an unknown version");
}

#define CGROUP2_MAGIC 0x63677270
#define NFS_MAGIC 0x6969
#define SMB_MAGIC 0xfe534d42
#define CIFS_MAGIC 0xff534d42
#define LUSTRE_MAGIC 0x0bd00bd0
#define GPFS_MAGIC 0x47504653
#define OVL_MAGIC 0x794c7630
#define FUSE_MAGIC 0x65735546

/* where limits (--memory, --cpus, --pids-limit...) would go, and which
 * controllers are writable there (host/cgroup.c) */
static void check_cgroups(void)
{
    char value[sizeof items[0].value], how[sizeof items[0].fix];
    bool any = nr_cgroup_describe(value, sizeof value, how, sizeof how);
    Item *it = item("cgroups", any && !how[0] ? OK : WARN, "%s", value);
    if (how[0])
        fix(it, "%s", how);
}

static const char *fs_name(unsigned long t)
{
    switch (t) {
    case NFS_MAGIC: return "nfs";
    case SMB_MAGIC:
    case CIFS_MAGIC: return "cifs";
    case LUSTRE_MAGIC: return "lustre";
    case GPFS_MAGIC: return "gpfs";
    case OVL_MAGIC: return "overlay";
    case FUSE_MAGIC: return "fuse";
    case 0xef53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683e: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x2fc12fc1: return "zfs";
    default: return NULL;
    }
}

static void check_store(void)
{
    NrError err = { 0 };
    nr_autofree char *store = nr_store_dir(&err);
    if (!store) {
        Item *it = item("store", FAIL, "%s", err.msg);
        fix(it, "set NROOT_STORE to a writable directory");
        return;
    }
    /* the store, or the first directory above it that exists */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s", store);
    struct statfs sf;
    while (statfs(probe, &sf) < 0 && strrchr(probe, '/') && strrchr(probe, '/') != probe)
        *strrchr(probe, '/') = '\0';
    unsigned long t = (unsigned long)sf.f_type;
    const char *name = fs_name(t);
    char type[32];
    snprintf(type, sizeof type, "%s", name ? name : "");
    if (!name)
        snprintf(type, sizeof type, "0x%lx", t);
    bool network =
        t == NFS_MAGIC || t == SMB_MAGIC || t == CIFS_MAGIC || t == LUSTRE_MAGIC || t == GPFS_MAGIC;
    Item *it =
        item("store", network ? WARN : OK, "%s (%s)%s", store, type,
             network ? ": it cannot hold a kernel overlay's upper layer; named containers use "
                       "fuse-overlayfs"
                     : "");
    if (network)
        fix(it, "NROOT_STORE=/local/disk/$USER/nroot (a local file system), if the node has one");
    const char *rt = nr_runtime_dir(&err);
    item("runtime directory", rt ? OK : FAIL, "%s", rt ? rt : err.msg);
}

/* ---- devices: the CDI specs found (cdi.c) ---- */

typedef struct CdiSeen {
    char devices[512];
    int bad;
} CdiSeen;

static void cdi_spec(void *data, const char *path, const char *kind, const char *devices,
                     const char *problem)
{
    CdiSeen *seen = data;
    if (problem) {
        if (seen->bad++ < 3)
            fix(item("cdi spec", WARN, "%s: %s", path, problem),
                "correct or remove the file: it is skipped");
        return;
    }
    size_t n = strlen(seen->devices);
    snprintf(seen->devices + n, sizeof seen->devices - n, "%s%s=%s (%s)", n ? "; " : "", kind,
             devices, path);
}

static void info_cdi(void)
{
    const char *dirs = nr_cdi_spec_dirs();
    item("cdi spec dirs", OK, "%s", dirs);
    CdiSeen seen = { 0 };
    nr_cdi_list(cdi_spec, &seen);
    if (seen.devices[0])
        item("cdi devices", OK, "%s", seen.devices);
    else
        fix(item("cdi devices", OK, "none (--device VENDOR/CLASS=NAME and --gpus need a spec)"),
            "a driver's tool writes the specs, e.g. 'nvidia-ctk cdi generate --output "
            "/etc/cdi/nvidia.yaml'");
}

/* root emulation's default for runs (their --root-emulation wins) */
static void info_rootemu(void)
{
    const char *from;
    const char *v = nr_conf_value("root-emulation", "NROOT_ROOT_EMULATION", &from);
    if (!v)
        v = "auto";
    if (strcmp(from, "default") == 0)
        from = "the default";
    if (strcmp(v, "auto") != 0 && strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
        Item *it = item("root emulation", WARN,
                        "'%s' from %s is not auto, on or off: runs refuse it", v, from);
        fix(it, "root-emulation = auto, on or off");
        return;
    }
    if (strcmp(v, "auto") != 0) {
        item("root emulation", OK, "%s (%s)", v, from);
        return;
    }
    NrIdMap map;
    NrError e = { 0 };
    bool on = nr_userns_plan(NR_USERNS_AUTO, NR_USERNS_QUIET, &map, &e) == 0 &&
              nr_rootemu_resolve(NR_ROOTEMU_AUTO, &map) == NR_ROOTEMU_ON;
    item("root emulation", OK, "auto (%s): %s", from,
         on ? "on, only your id is mapped: chown and setuid succeed without effect"
            : "off, subordinate ids are mapped: chown and setuid are real");
}

/* the user-namespace keeper (nr-keeper.h): on or off, and whether one runs */
static void info_keeper(void)
{
    int secs;
    const char *from = NULL;
    NrError err = { 0 };
    if (nr_keeper_linger(&secs, &from, &err) < 0) {
        fix(item("user namespace keeper", WARN, "%s: runs refuse it", err.msg),
            "set userns-linger to a number of seconds or off");
        return;
    }
    if (secs < 0) {
        item("user namespace keeper", OK, "off (%s): each run maps its namespace with newuidmap",
             from);
        return;
    }
    NrIdMap map;
    NrError e = { 0 };
    bool subids = nr_userns_plan(NR_USERNS_AUTO, NR_USERNS_QUIET, &map, &e) == 0 && map.helpers;
    pid_t pid = nr_keeper_running();
    char running[64] = "none running";
    if (pid > 0)
        snprintf(running, sizeof running, "running (pid %d)", (int)pid);
    item("user namespace keeper", OK, "on (linger %d s, %s)%s: %s", secs, from,
         subids ? "" : ", unused: no subordinate ids", running);
}

/* the read-only stores (nr-rostore.h), each with what it holds */
static void info_rostore(void)
{
    const NrStrv *d = nr_rostore_dirs();
    const char *from;
    const char *v = nr_conf_value("readonly-stores", "NROOT_READONLY_STORES", &from);
    if (!d->n) {
        item("read-only stores", OK, "none (%s%s)", from,
             strcmp(from, "default") == 0 ? ""
             : v                          ? ": none usable"
             : *from == '$'               ? " is empty"
                                          : ": readonly-stores is empty");
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        int e = 0;
        NrRoStoreKind kind = nr_rostore_probe(i, false, &e);
        if (kind == NR_ROSTORE_MISSING || kind == NR_ROSTORE_UNREADABLE) {
            Item *it = item("read-only store", WARN, "%s: %s, left out", d->v[i],
                            kind == NR_ROSTORE_MISSING ? "no such directory" : strerror(e));
            fix(it, "mount it, make it readable (chmod a+rX), or take it out of %s", from);
            continue;
        }
        NrStoreImage *imgs = NULL;
        size_t n = 0;
        NrError err = { 0 };
        if (nr_rostore_list(i, &imgs, &n, &err) < 0) {
            item("read-only store", WARN, "%s", err.msg);
            continue;
        }
        nr_store_list_free(imgs, n);
        item("read-only store", OK, "%s: %s, %zu image%s (from %s)", d->v[i],
             kind == NR_ROSTORE_NROOT ? "an nroot store" : "squashfs files and root trees", n,
             n == 1 ? "" : "s", from);
    }
}

/* the configuration files read, in their order (the later wins) */
static void info_conf(void)
{
    char files[512] = "";
    size_t used = 0;
    for (const char *p = nr_conf_sources(); *p && used + 3 < sizeof files; p++)
        if (*p != '\n')
            files[used++] = *p;
        else if (p[1])
            used += (size_t)snprintf(files + used, sizeof files - used, "; ");
    files[used < sizeof files ? used : sizeof files - 1] = '\0';
    item("nroot.conf", OK, "%s", files);
}

/* mksquashfs (export --format=squashfs, images kept as squashfs) and the
 * image-format setting */
static void info_sqsh_out(void)
{
    char prog[PATH_MAX], version[32];
    NrError err = { 0 };
    if (nr_squashfs_find(prog, sizeof prog, &err) < 0) {
        Item *it = item("mksquashfs", WARN,
                        "not found: no export --format=squashfs, no images kept as squashfs");
        fix(it, "install squashfs-tools");
    } else {
        nr_squashfs_version(prog, version, sizeof version);
        item("mksquashfs", OK, "%s%s%s", prog, version[0] ? " " : "", version);
    }
    bool sqsh = false;
    const char *from;
    nr_conf_value("image-format", "NROOT_IMAGE_FORMAT", &from);
    if (nr_store_image_format(NULL, &sqsh, &err) < 0) {
        Item *it = item("image format", WARN, "%s", err.msg);
        fix(it, "set image-format to tree or squashfs");
    } else
        item("image format", OK, "%s (%s)", sqsh ? "squashfs" : "tree", from);
}

/* ---- output ---- */

static const char *state_name(State s)
{
    return s == OK ? "ok" : s == WARN ? "warning" : "missing";
}

static void print_json(bool usable)
{
    printf("{\n  \"version\": \"%s\",\n  \"usable\": %s,\n  \"items\": [", NR_VERSION,
           usable ? "true" : "false");
    for (int i = 0; i < n_items; i++) {
        const Item *it = &items[i];
        printf("%s\n    {\"name\": ", i ? "," : "");
        nr_json_string(it->key);
        printf(", \"state\": \"%s\", \"value\": ", state_name(it->state));
        nr_json_string(it->value);
        printf(", \"fix\": ");
        if (it->fix[0])
            nr_json_string(it->fix);
        else
            printf("null");
        printf("}");
    }
    printf("\n  ]\n}\n");
}

static void print_table(bool usable)
{
    printf("nroot %s\n\n", NR_VERSION);
    for (int i = 0; i < n_items; i++) {
        const Item *it = &items[i];
        /* values name paths from the environment: shown escaped */
        printf("%-19s %-8s ", it->key, state_name(it->state));
        nr_escape_put(stdout, it->value);
        putchar('\n');
        if (it->fix[0])
            printf("%-19s %-8s fix: %s\n", "", "", it->fix);
    }
    printf("\n%s\n", usable ? "nroot can run containers here."
                            : "nroot cannot run containers here: see the fixes above.");
}

int nr_cmd_info(int argc, char **argv)
{
    NrImageArgs a = { 0 };
    NrError err = { 0 };
    int rc = nr_cli_parse_image("info", argc, argv, &a, &err);
    if (rc == NR_CLI_HELP)
        return 0;
    if (rc < 0 || a.n_operands) {
        if (rc == 0)
            nr_error_msg(&err, "info takes no arguments");
        nr_error_print(&err);
        return NR_EXIT_FAILURE;
    }
    n_items = 0;
    bool userns = check_userns();
    if (userns)
        check_subids();
    bool overlay = userns && check_overlay();
    check_network();
    info_sqsh_run();
    check_cgroups();
    check_store();
    info_cdi();
    info_rootemu();
    info_keeper();
    info_conf();
    info_rostore();
    info_sqsh_out();
    bool usable = userns && overlay;
    if (a.json)
        print_json(usable);
    else
        print_table(usable);
    return usable ? 0 : 1;
}
