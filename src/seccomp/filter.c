/* SPDX-License-Identifier: Apache-2.0 */
/* filter.c — the payload's seccomp filters.
 *
 * The profile (nroot's default, a JSON file, or none with
 * --security-opt seccomp=unconfined) is made into a BPF program in the
 * parent, before the container is cloned, so the payload only has to hand
 * it to the kernel as the last step before exec:
 *   - the default profile (and root emulation's and --tcp-bypass's
 *     filters, also beside a JSON profile or none) is compiled with
 *     libseccomp once per capability set, network mode, nroot and
 *     libseccomp version and profile digest, and cached in
 *     RUNTIME_DIR/seccomp (a few hundred microseconds saved on every
 *     start);
 *   - a JSON profile is compiled by nroot-unpack, which has the JSON parser
 *     (unpack/seccomp.c), on every run;
 *   - the program is recorded in the container's runtime directory, where
 *     `nroot exec` finds the very filter its container runs under (a hard
 *     link to the cache's file where there is one, else a copy).
 *
 * No filter is needed for TIOCSTI: the caller's terminal never reaches the
 * container (nroot relays it through pipes, or -t gives the container a
 * terminal of its own), so the command can only type into its own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "nr-error.h"
#include "nr-filter.h"
#include "nr-plan.h"
#include "nr-seccomp.h"
#include "nr-spawn.h"
#include "nr-util.h"

struct NrBpf {
    uint32_t flags;
    uint32_t n;
    /* the cache file it was read from or written to (in the same block,
     * after insns), or NULL, and that file's identity: a container's
     * record is a link to it while it is still that file */
    const char *cache;
    dev_t dev;
    ino_t ino;
    struct sock_filter insns[];
};

static const char *const unconfined = "unconfined";

/* ---- programs in files ---- */

static struct NrBpf *bpf_new(uint32_t n, uint32_t flags)
{
    struct NrBpf *b = nr_xmalloc(sizeof *b + n * sizeof b->insns[0]);
    b->flags = flags;
    b->n = n;
    b->cache = NULL;
    b->dev = 0;
    b->ino = 0;
    return b;
}

/* b, which came from or went to the cache file path, knowing it */
static struct NrBpf *bpf_cached(struct NrBpf *b, const char *path)
{
    size_t at = sizeof *b + b->n * sizeof b->insns[0], len = strlen(path) + 1;
    struct NrBpf *c = nr_xmalloc(at + len);
    memcpy(c, b, at);
    free(b);
    c->cache = memcpy((char *)c + at, path, len);
    return c;
}

static bool read_at(int fd, void *buf, size_t len, off_t off)
{
    return pread(fd, buf, len, off) == (ssize_t)len;
}

/* the header's key is key, or key and more after a space: a container's
 * record written as "rootemu", or linked to the cache's "rootemu nroot=..." */
static bool key_is(const char *h, const char *key)
{
    size_t n = strlen(key);
    return strncmp(h, key, n) == 0 && (h[n] == '\0' || h[n] == ' ');
}

/* a program file (header, then the instructions), checked: NULL if it is
 * not one, or (with a key) compiled from something else */
static struct NrBpf *bpf_read(int fd, const char *key)
{
    struct stat st;
    NrBpfHeader h;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size < (off_t)sizeof h || (st.st_size - (off_t)sizeof h) % sizeof(struct sock_filter))
        return NULL;
    off_t n = (st.st_size - (off_t)sizeof h) / (off_t)sizeof(struct sock_filter);
    if (n < 1 || n > BPF_MAXINSNS || !read_at(fd, &h, sizeof h, 0) ||
        memcmp(h.magic, NR_BPF_MAGIC, sizeof h.magic) != 0 || h.n_insns != (uint32_t)n ||
        memchr(h.key, '\0', sizeof h.key) == NULL || (key && !key_is(h.key, key)))
        return NULL;
    struct NrBpf *b = bpf_new((uint32_t)n, h.flags);
    if (!read_at(fd, b->insns, (size_t)n * sizeof b->insns[0], sizeof h)) {
        free(b);
        return NULL;
    }
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    return b;
}

/* the raw program libseccomp (or nroot-unpack) wrote to fd */
static struct NrBpf *bpf_from_raw(int fd, uint32_t flags, NrError *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return nr_error_errno(err, "seccomp filter"), NULL;
    off_t n = st.st_size / (off_t)sizeof(struct sock_filter);
    if (n < 1 || st.st_size % (off_t)sizeof(struct sock_filter)) {
        nr_error_msg(err, "the compiled seccomp filter is damaged (%lld bytes)",
                     (long long)st.st_size);
        return NULL;
    }
    if (n > BPF_MAXINSNS) {
        nr_error_msg(err,
                     "the seccomp profile is too large: %lld instructions, the kernel takes %d",
                     (long long)n, BPF_MAXINSNS);
        return NULL;
    }
    struct NrBpf *b = bpf_new((uint32_t)n, flags);
    if (!read_at(fd, b->insns, (size_t)n * sizeof b->insns[0], 0)) {
        free(b);
        nr_error_errno(err, "cannot read the compiled seccomp filter");
        return NULL;
    }
    return b;
}

/* a temporary name beside path that no other process uses: the pid
 * alone is not (another pid namespace's nroot may share the directory,
 * and a killed run's name may be left, possibly a link to a cache file) */
static void tmp_name(char *tmp, size_t size, const char *path)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec;
    }
    snprintf(tmp, size, "%s.%ld-%08x.tmp", path, (long)getpid(), r);
}

/* write atomically, 0600, into a new file: readers see the old file or
 * the whole new one, and no file is ever written in place (a container's
 * record may be a link to a cache file: record()); the new file's
 * identity in *ret_st (if given) */
static int bpf_write(const char *path, const struct NrBpf *b, const char *key, struct stat *ret_st,
                     NrError *err)
{
    NrBpfHeader h = { .flags = b->flags, .n_insns = b->n };
    memcpy(h.magic, NR_BPF_MAGIC, sizeof h.magic);
    snprintf(h.key, sizeof h.key, "%s", key);
    char tmp[PATH_MAX];
    int fd = -1;
    for (int i = 0; i < 4 && fd < 0; i++) {
        tmp_name(tmp, sizeof tmp, path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        return nr_error_errno(err, "cannot write '%s'", tmp);
    int rc = nr_write_all(fd, &h, sizeof h);
    if (rc == 0)
        rc = nr_write_all(fd, b->insns, b->n * sizeof b->insns[0]);
    if (rc == 0 && ret_st && fstat(fd, ret_st) < 0)
        rc = -1;
    if (close(fd) < 0)
        rc = -1;
    if (rc < 0 || rename(tmp, path) < 0) {
        nr_error_errno(err, "cannot write '%s'", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- the default profile, compiled once per key ---- */

static uint64_t profile_caps(const NrSeccompProfile *p, const NrRunConfig *cfg)
{
    /* only the capabilities some rule looks at make a different filter */
    uint64_t used = 0;
    for (size_t i = 0; i < p->n_rules; i++)
        used |= p->rules[i].caps_all | p->rules[i].caps_none;
    uint64_t caps = cfg->caps & ~NR_SECCOMP_HOSTNET;
    if (cfg->net == NR_NET_HOST)
        caps |= NR_SECCOMP_HOSTNET;
    return caps & used;
}

static struct NrBpf *compile_builtin(const NrSeccompProfile *p, uint64_t caps, NrError *err)
{
    nr_autoclose int fd = memfd_create("nroot-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return nr_error_errno(err, "memfd_create"), NULL;
    if (nr_seccomp_compile(p, caps, fd, NULL, err) < 0)
        return NULL;
    return bpf_from_raw(fd, 0, err);
}

/* one of nroot's own profiles (the default, root emulation's), from the
 * cache when it holds the program of these rules, caps and versions */
static struct NrBpf *builtin_filter(const NrSeccompProfile *p, uint64_t digest, uint64_t caps,
                                    const char *dir, NrError *err)
{
    const struct scmp_version *v = seccomp_version();
    char key[sizeof((NrBpfHeader *)0)->key];
    snprintf(key, sizeof key, "%s nroot=%s libseccomp=%u.%u.%u rules=%016llx caps=%016llx x32=%d",
             p->name, NR_VERSION, v->major, v->minor, v->micro, (unsigned long long)digest,
             (unsigned long long)caps, (int)nr_seccomp_x32_live());
    NrError ignored = { 0 };
    nr_autofree char *path =
        dir ? nr_strdup_printf("%s/%s-%016llx.bpf", dir, p->name,
                               (unsigned long long)nr_fnv1a(key, strlen(key), NR_FNV_INIT))
            : NULL;
    if (path) {
        nr_autoclose int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct NrBpf *b = fd >= 0 ? bpf_read(fd, key) : NULL;
        if (b)
            return bpf_cached(b, path);
    }
    struct NrBpf *b = compile_builtin(p, caps, err);
    /* a cache that cannot be written costs time, not the run */
    struct stat st;
    if (b && path && bpf_write(path, b, key, &st, &ignored) == 0) {
        b->dev = st.st_dev;
        b->ino = st.st_ino;
        b = bpf_cached(b, path);
    }
    return b;
}

static struct NrBpf *default_filter(const NrRunConfig *cfg, const char *dir, NrError *err)
{
    const NrSeccompProfile *p = nr_seccomp_default();
    return builtin_filter(p, nr_seccomp_default_digest(), profile_caps(p, cfg), dir, err);
}

/* ---- a JSON profile, compiled by nroot-unpack ---- */

static _Noreturn void exec_helper(const char *helper, char *const argv[], int out3, int sync,
                                  int out5, const char *what)
{
    NrError e = { 0 };
    /* fds 3, 4 (and 5), nothing else; any may sit there already */
    int o = fcntl(out3, F_DUPFD_CLOEXEC, 10), s = fcntl(sync, F_DUPFD_CLOEXEC, 10);
    int f = out5 >= 0 ? fcntl(out5, F_DUPFD_CLOEXEC, 10) : -1;
    if (o < 0 || s < 0 || (out5 >= 0 && f < 0) || dup2(o, 3) < 0 || dup2(s, 4) < 0 ||
        (f >= 0 && dup2(f, 5) < 0))
        _exit(NR_EXIT_FAILURE);
    syscall(SYS_close_range, f >= 0 ? 6U : 5U, ~0U, 0U);
    execv(helper, argv);
    nr_error_errno(&e, "cannot run the helper '%s' for %s", helper, what);
    nr_error_hint(&e, "set $NROOT_UNPACK to the nroot-unpack binary, or reinstall nroot");
    nr_sync_send(4, NR_SYNC_ERROR, &e);
    _exit(NR_EXIT_FAILURE);
}

int nr_seccomp_run_helper(const char *helper, char *const argv[], int out3, int out5,
                          const char *what, int *ret_status, char result[1024], NrError *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return nr_error_errno(err, "%s", what);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return nr_error_errno(err, "fork");
    }
    if (pid == 0)
        exec_helper(helper, argv, out3, sv[1], out5, what);
    close(sv[1]);
    result[0] = '\0';
    int rc = nr_spawn_wait(pid, sv[0], ret_status, result, err);
    close(sv[0]);
    return rc;
}

static struct NrBpf *json_filter(const NrRunConfig *cfg, const char *helper, NrError *err)
{
    uint64_t caps = cfg->caps & ~NR_SECCOMP_HOSTNET;
    if (cfg->net == NR_NET_HOST)
        caps |= NR_SECCOMP_HOSTNET;
    nr_autoclose int out = memfd_create("nroot-seccomp", MFD_CLOEXEC);
    if (out < 0)
        return nr_error_errno(err, "seccomp profile"), NULL;
    char capsarg[32];
    snprintf(capsarg, sizeof capsarg, "--caps=%llx", (unsigned long long)caps);
    char *argv[] = { "nroot-unpack", "--seccomp-compile", capsarg, (char *)cfg->seccomp_profile,
                     NULL };
    int status = 0;
    char result[1024];
    if (nr_seccomp_run_helper(helper, argv, out, -1, "the seccomp profile", &status, result, err) <
        0)
        return NULL;
    unsigned flags = 0;
    int used = 0;
    if (status != 0 || sscanf(result, "flags=%u %n", &flags, &used) != 1) {
        nr_error_msg(err, "seccomp profile '%s': the compiler failed (status %d)",
                     cfg->seccomp_profile, status);
        return NULL;
    }
    /* the names libseccomp does not know: ignored, as docker does, but said */
    if (result[used])
        nr_notice("seccomp profile '%s': %s", cfg->seccomp_profile, result + used);
    return bpf_from_raw(out, flags, err);
}

struct NrBpf *nr_bpf_read_fd(int fd, uint32_t flags, NrError *err)
{
    return bpf_from_raw(fd, flags, err);
}

/* ---- what run, start and exec call ---- */

static int make_filter(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err)
{
    free(cfg->seccomp);
    cfg->seccomp = NULL;
    if (cfg->seccomp_profile && strcmp(cfg->seccomp_profile, unconfined) == 0)
        return 0;
    cfg->seccomp = cfg->seccomp_profile ? json_filter(cfg, at->helper, err)
                                        : default_filter(cfg, at->cache_dir, err);
    return cfg->seccomp ? 0 : -1;
}

/* cfg->root_emulation, resolved before (nr_rootemu_resolve) */
static int make_rootemu(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err)
{
    free(cfg->rootemu);
    cfg->rootemu = NULL;
    if (cfg->root_emulation != NR_ROOTEMU_ON)
        return 0;
    const NrSeccompProfile *p = nr_seccomp_rootemu();
    cfg->rootemu =
        builtin_filter(p, nr_seccomp_digest(p), profile_caps(p, cfg), at->cache_dir, err);
    return cfg->rootemu ? 0 : -1;
}

/* --tcp-bypass: its filter, loaded with a listener for nroot */
static int make_bypass(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err)
{
    free(cfg->bypass);
    cfg->bypass = NULL;
    if (!cfg->tcp_bypass)
        return 0;
    const NrSeccompProfile *p = nr_seccomp_bypass();
    cfg->bypass = builtin_filter(p, nr_seccomp_digest(p), 0, at->cache_dir, err);
    if (!cfg->bypass)
        return -1;
    cfg->bypass->flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
    return 0;
}

/* RT/NAME: the program b, or none (the file removed).  A program from
 * the cache is a hard link to its file there, if that is still the file
 * b was read from or written to: no data is written, and none freed when
 * the container's records go.  nroot writes no file in place (bpf_write),
 * so the linked file keeps the program the container loaded; a cache file
 * is replaced whole, by a program of the same key */
static int record(const NrFilterDirs *at, const char *name, const struct NrBpf *b, const char *key,
                  NrError *err)
{
    nr_autofree char *path = nr_strdup_printf("%s/%s", at->rt_dir, name);
    if (!b) {
        if (unlink(path) < 0 && errno != ENOENT)
            return nr_error_errno(err, "cannot remove '%s'", path);
        return 0;
    }
    if (b->cache) {
        char tmp[PATH_MAX];
        struct stat st;
        tmp_name(tmp, sizeof tmp, path);
        if (link(b->cache, tmp) == 0) {
            bool same = lstat(tmp, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->ino;
            /* rename leaves both names when path is that file already (a
             * named container's run again): tmp goes either way */
            bool done = same && rename(tmp, path) == 0;
            unlink(tmp);
            if (done)
                return 0;
        }
    }
    return bpf_write(path, b, key, NULL, err);
}

int nr_seccomp_prepare(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err)
{
    return make_filter(cfg, at, err) < 0 || make_rootemu(cfg, at, err) < 0 ||
                   make_bypass(cfg, at, err) < 0
               ? -1
               : 0;
}

int nr_seccomp_record(const NrRunConfig *cfg, const NrFilterDirs *at, NrError *err)
{
    const char *key = cfg->seccomp_profile ? cfg->seccomp_profile : "default";
    if (record(at, "seccomp", cfg->seccomp, key, err) < 0 ||
        record(at, "rootemu", cfg->rootemu, "rootemu", err) < 0)
        return -1;
    return 0;
}

/* exec and --join's joiners: root emulation as the container has it (no
 * file: none, also from an nroot that had no root emulation) */
static int recorded_rootemu(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err)
{
    free(cfg->rootemu);
    cfg->rootemu = NULL;
    nr_autofree char *path = nr_strdup_printf("%s/rootemu", at->rt_dir);
    nr_autoclose int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        cfg->root_emulation = NR_ROOTEMU_OFF;
        return 0;
    }
    if (fd < 0)
        return nr_error_errno(err, "cannot read the container's root emulation filter '%s'", path);
    if (!(cfg->rootemu = bpf_read(fd, "rootemu")))
        return nr_error_msg(err, "the container's root emulation filter '%s' is damaged", path);
    cfg->root_emulation = NR_ROOTEMU_ON;
    return 0;
}

int nr_seccomp_recorded(NrRunConfig *cfg, const NrFilterDirs *at, NrError *err)
{
    if (recorded_rootemu(cfg, at, err) < 0)
        return -1;
    free(cfg->seccomp);
    cfg->seccomp = NULL;
    if (cfg->seccomp_profile && strcmp(cfg->seccomp_profile, unconfined) == 0)
        return 0;
    nr_autofree char *path = nr_strdup_printf("%s/seccomp", at->rt_dir);
    nr_autoclose int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return make_filter(cfg, at, err); /* started by an nroot that recorded none */
    if (fd < 0)
        return nr_error_errno(err, "cannot read the container's seccomp filter '%s'", path);
    if (!(cfg->seccomp = bpf_read(fd, NULL)))
        return nr_error_msg(err, "the container's seccomp filter '%s' is damaged", path);
    return 0;
}

/* ---- in the payload, the last step before exec ---- */

static int load(const struct NrBpf *b)
{
    struct sock_fprog prog = { .len = (unsigned short)b->n,
                               .filter = (struct sock_filter *)b->insns };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, b->flags, &prog);
}

/* the profile, then root emulation's filter: loaded after it, its answer
 * wins over the profile's errno for the calls it fakes (rootemu.c); also
 * in that order where aside.c loads them ahead.  The filter
 * is keyed on the bounding set, not on the caller's uid, which seccomp
 * cannot see: a command that starts as another user (-u 1000, exec -u,
 * keep-id) has no capabilities, could make none of these calls, and gets
 * no filter, so its chown and setuid fail as they would.  What a root
 * command runs inherits it: su or a daemon's switch to its user stay root. */
int nr_seccomp_apply(const NrRunConfig *cfg, bool root, NrError *err)
{
    if (cfg->seccomp && load(cfg->seccomp) < 0)
        return nr_error_errno(err, "cannot load the seccomp profile");
    return nr_seccomp_apply_rest(cfg, root, err);
}

const struct NrBpf *nr_seccomp_early(const NrRunConfig *cfg)
{
    return cfg->seccomp && !cfg->seccomp_profile && !cfg->bypass && !cfg->oci ? cfg->seccomp : NULL;
}

int nr_seccomp_load(const struct NrBpf *b)
{
    return load(b);
}

int nr_seccomp_apply_rest(const NrRunConfig *cfg, bool root, NrError *err)
{
    if (root && cfg->rootemu && load(cfg->rootemu) < 0) {
        nr_error_errno(err, "cannot load the root emulation filter");
        nr_error_hint(err, "--root-emulation=off runs without it");
        return -1;
    }
    return 0;
}

int nr_seccomp_apply_bypass(const NrRunConfig *cfg, int sync_fd, NrError *err)
{
    if (!cfg->bypass)
        return 0;
    int fd = load(cfg->bypass);
    if (fd < 0)
        return nr_error_errno(err, "--tcp-bypass: cannot load its seccomp filter");
    int rc = nr_sync_send_fd(sync_fd, NR_SYNC_NOTIFY, fd);
    close(fd);
    if (rc < 0)
        return nr_error_errno(err, "--tcp-bypass: cannot hand the filter's listener to nroot");
    return 0;
}
