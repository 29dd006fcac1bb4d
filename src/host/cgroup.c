/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup.c — resource limits in a cgroup the user may write (nr-cgroup.h):
 * the option values and the files they become (pure, tests/unit/cgroup.c),
 * finding a writable place in v1 and v2 hierarchies, making the
 * container's cgroup and removing it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nr-cgroup.h"
#include "nr-conf.h"
#include "nr-error.h"
#include "nr-util.h"

/* ---- values ---- */

int nr_cgroup_parse_bytes(const char *what, const char *s, int64_t *ret, NrError *err)
{
    const char *p = s;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0)
        goto bad;
    p += digits;
    bool frac = *p == '.';
    if (frac) {
        size_t f = strspn(p + 1, "0123456789");
        if (f == 0)
            goto bad;
        p += 1 + f;
    }
    static const char units[] = "bkmgt";
    const char *u = *p ? strchr(units, p[0] | 0x20) : units;
    if (!u || !*u)
        goto bad;
    int shift = (int)(u - units) * 10;
    if (*p) {
        p++;
        /* kb, KiB, mb... ("bb" no) */
        if (shift && (*p == 'i' || *p == 'I'))
            p++;
        if (shift && (*p == 'b' || *p == 'B'))
            p++;
    }
    if (*p || (frac && shift == 0))
        goto bad;
    errno = 0;
    double v = strtod(s, NULL) * (double)(1ULL << shift);
    if (errno || v >= 9.2e18)
        return nr_error_msg(err, "invalid %s '%s': too large", what, s);
    *ret = (int64_t)v;
    return 0;
bad:
    return nr_error_msg(err, "invalid %s '%s': a size in bytes, with b, k, m or g (e.g. 512m)",
                        what, s);
}

int nr_cgroup_parse_swap(const char *s, int64_t *ret, NrError *err)
{
    if (strcmp(s, "-1") == 0) {
        *ret = -1;
        return 0;
    }
    return nr_cgroup_parse_bytes("--memory-swap", s, ret, err);
}

int nr_cgroup_parse_cpus(const char *s, long ncpu, int64_t *ret_quota, NrError *err)
{
    size_t d = strspn(s, "0123456789");
    const char *p = s + d;
    bool dot = *p == '.';
    size_t f = dot ? strspn(p + 1, "0123456789") : 0;
    if (d + f == 0 || (dot && f == 0) || p[dot ? 1 + f : 0] != '\0')
        return nr_error_msg(err, "invalid --cpus '%s': a number of CPUs, e.g. 1.5", s);
    double v = strtod(s, NULL);
    int64_t quota = (int64_t)(v * NR_CGROUP_CPU_PERIOD + 0.5);
    if (quota < NR_CGROUP_CPU_PERIOD / 100 || (ncpu > 0 && v > (double)ncpu) || v > 1e6) {
        if (ncpu > 0)
            return nr_error_msg(err, "invalid --cpus '%s': from 0.01 to %ld (the CPUs there are)",
                                s, ncpu);
        return nr_error_msg(err, "invalid --cpus '%s': at least 0.01", s);
    }
    *ret_quota = quota;
    return 0;
}

static int parse_range(const char *what, const char *s, int64_t min, int64_t max, int64_t *ret,
                       NrError *err)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    char *end;
    errno = 0;
    long long v = *d >= '0' && *d <= '9' ? strtoll(s, &end, 10) : 0;
    if (*d < '0' || *d > '9' || errno || *end || v < min || v > max)
        return nr_error_msg(err, "invalid %s '%s': a number from %lld to %lld", what, s,
                            (long long)min, (long long)max);
    *ret = v;
    return 0;
}

int nr_cgroup_parse_shares(const char *s, int64_t *ret, NrError *err)
{
    return parse_range("--cpu-shares", s, NR_CGROUP_SHARES_MIN, NR_CGROUP_SHARES_MAX, ret, err);
}

int nr_cgroup_parse_weight(const char *s, int64_t *ret, NrError *err)
{
    return parse_range("--cpu-weight", s, NR_CGROUP_WEIGHT_MIN, NR_CGROUP_WEIGHT_MAX, ret, err);
}

int nr_cgroup_parse_pids(const char *s, int64_t *ret, NrError *err)
{
    int64_t v;
    if (parse_range("--pids-limit", s, -1, NR_CGROUP_PIDS_MAX, &v, err) < 0) {
        snprintf(err->msg, sizeof err->msg,
                 "invalid --pids-limit '%s': a number of processes (0 or -1: unlimited)", s);
        return -1;
    }
    *ret = v > 0 ? v : 0;
    return 0;
}

int nr_cgroup_check(const NrLimits *l, NrError *err)
{
    if (l->memory_swap && !l->memory)
        return nr_error_msg(err, "--memory-swap needs --memory (it is memory and swap together)");
    if (l->memory_swap > 0 && l->memory_swap < l->memory)
        return nr_error_msg(err,
                            "--memory-swap (%lld) is below --memory (%lld): it counts memory and "
                            "swap together",
                            (long long)l->memory_swap, (long long)l->memory);
    if (l->memory && l->memory < NR_CGROUP_MEMORY_MIN)
        return nr_error_msg(err, "--memory %lld is below the smallest limit, 6m",
                            (long long)l->memory);
    if (l->cpu_shares && l->cpu_weight)
        return nr_error_msg(err, "--cpu-shares and --cpu-weight set the same thing: give one");
    return 0;
}

int64_t nr_cgroup_shares_to_weight(int64_t shares)
{
    return 1 + ((shares - 2) * 9999) / 262142;
}

int64_t nr_cgroup_weight_to_shares(int64_t weight)
{
    return 2 + ((weight - 1) * 262142) / 9999;
}

bool nr_cgroup_any(const NrLimits *l)
{
    return l->memory || l->memory_swap || l->cpu_quota || l->cpu_shares || l->cpu_weight || l->pids;
}

void nr_cgroup_controllers(const NrLimits *l, const char *ret[NR_CGROUP_HIER_MAX])
{
    size_t n = 0;
    if (l->memory || l->memory_swap)
        ret[n++] = "memory";
    if (l->cpu_quota || l->cpu_shares || l->cpu_weight)
        ret[n++] = "cpu";
    if (l->pids)
        ret[n++] = "pids";
    ret[n] = NULL;
}

/* the options that need a controller, for messages */
static const char *options_of(const NrLimits *l, const char *controller)
{
    if (strcmp(controller, "memory") == 0)
        return l->memory_swap && !l->memory ? "--memory-swap" : "--memory";
    if (strcmp(controller, "cpu") == 0)
        return l->cpu_quota ? "--cpus" : l->cpu_shares ? "--cpu-shares" : "--cpu-weight";
    return "--pids-limit";
}

static NrCgroupFile *add_file(NrCgroupFile *f, size_t *n, const char *ctl, const char *name)
{
    NrCgroupFile *x = &f[(*n)++];
    x->controller = ctl;
    x->name = name;
    x->value[0] = '\0';
    return x;
}

size_t nr_cgroup_files(const NrLimits *l, bool v2, NrCgroupFile ret[8])
{
    size_t n = 0;
    NrCgroupFile *f;
    if (l->memory) {
        f = add_file(ret, &n, "memory", v2 ? "memory.max" : "memory.limit_in_bytes");
        snprintf(f->value, sizeof f->value, "%lld", (long long)l->memory);
    }
    if (l->memory_swap) {
        /* v1: memory and swap together; v2: the swap alone */
        f = add_file(ret, &n, "memory", v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes");
        if (l->memory_swap < 0)
            snprintf(f->value, sizeof f->value, "%s", v2 ? "max" : "-1");
        else
            snprintf(f->value, sizeof f->value, "%lld",
                     (long long)(v2 ? l->memory_swap - l->memory : l->memory_swap));
    }
    if (l->cpu_quota) {
        if (v2) {
            f = add_file(ret, &n, "cpu", "cpu.max");
            snprintf(f->value, sizeof f->value, "%lld %d", (long long)l->cpu_quota,
                     NR_CGROUP_CPU_PERIOD);
        } else {
            f = add_file(ret, &n, "cpu", "cpu.cfs_period_us");
            snprintf(f->value, sizeof f->value, "%d", NR_CGROUP_CPU_PERIOD);
            f = add_file(ret, &n, "cpu", "cpu.cfs_quota_us");
            snprintf(f->value, sizeof f->value, "%lld", (long long)l->cpu_quota);
        }
    }
    if (l->cpu_shares || l->cpu_weight) {
        f = add_file(ret, &n, "cpu", v2 ? "cpu.weight" : "cpu.shares");
        int64_t v =
            v2 ? (l->cpu_weight ? l->cpu_weight : nr_cgroup_shares_to_weight(l->cpu_shares))
               : (l->cpu_shares ? l->cpu_shares : nr_cgroup_weight_to_shares(l->cpu_weight));
        snprintf(f->value, sizeof f->value, "%lld", (long long)v);
    }
    if (l->pids) {
        f = add_file(ret, &n, "pids", "pids.max");
        snprintf(f->value, sizeof f->value, "%lld", (long long)l->pids);
    }
    return n;
}

bool nr_cgroup_has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

bool nr_cgroup_proc_line(const char *line, const char *controller, const char **ret_path)
{
    const char *c1 = strchr(line, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || c2[1] != '/')
        return false;
    char ctls[256];
    size_t len = (size_t)(c2 - c1 - 1);
    if (len >= sizeof ctls)
        return false;
    memcpy(ctls, c1 + 1, len);
    ctls[len] = '\0';
    bool match = controller ? nr_cgroup_has_word(ctls, controller)
                            : len == 0 && c1 - line == 1 && line[0] == '0';
    if (match)
        *ret_path = c2 + 1;
    return match;
}

/* mountinfo's octal escapes (\040 for a space) undone */
static void unescape(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3') {
            out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
            i += 3;
        } else
            out[o++] = s[i];
    }
    out[o] = '\0';
}

bool nr_cgroup_mount_line(const char *line, char *mnt, size_t mnt_size, bool *ret_v2, char *opts,
                          size_t opts_size)
{
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
    const char *f[5];
    const char *p = line;
    for (int i = 0; i < 5; i++) {
        p += strspn(p, " ");
        f[i] = p;
        p += strcspn(p, " \n");
        if (!*p || *p == '\n')
            return false;
    }
    const char *sep = strstr(p, " - ");
    if (!sep)
        return false;
    const char *type = sep + 3;
    size_t tlen = strcspn(type, " \n");
    bool v2 = tlen == 7 && strncmp(type, "cgroup2", 7) == 0;
    if (!v2 && !(tlen == 6 && strncmp(type, "cgroup", 6) == 0))
        return false;
    const char *src = type + tlen + (type[tlen] == ' ');
    const char *sopts = src + strcspn(src, " \n");
    sopts += *sopts == ' ';
    size_t mlen = strcspn(f[4], " \n");
    unescape(f[4], mlen, mnt, mnt_size);
    size_t olen = strcspn(sopts, " \n");
    snprintf(opts, opts_size, "%.*s", (int)olen, sopts);
    *ret_v2 = v2;
    return true;
}

void nr_cgroup_format_bytes(int64_t n, char *buf, size_t size)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%lldB", (long long)n);
    else if (v < 10 && v != (double)(int64_t)v)
        snprintf(buf, size, "%.1f%s", v, unit[u]);
    else
        snprintf(buf, size, "%.0f%s", v, unit[u]);
}

/* ---- the hierarchies of this host ---- */

typedef struct Mount {
    char dir[PATH_MAX];
    char opts[256]; /* v1: its controllers among the super options; v2: cgroup.controllers */
    bool v2;
} Mount;

enum { MAX_MOUNTS = 24 };
static Mount mounts[MAX_MOUNTS];
static size_t n_mounts;
static bool mounts_read;
/* tests: other files than /proc/self/mountinfo and /proc/self/cgroup */
static const char *mountinfo_file = "/proc/self/mountinfo";
static const char *self_cgroup_file;

void nr_cgroup_set_proc_files(const char *mountinfo, const char *self_cgroup)
{
    mountinfo_file = mountinfo ? mountinfo : "/proc/self/mountinfo";
    self_cgroup_file = self_cgroup;
    mounts_read = false;
    n_mounts = 0;
}

static void read_mounts(void)
{
    if (mounts_read)
        return;
    mounts_read = true;
    FILE *f = fopen(mountinfo_file, "re");
    char line[4096];
    while (f && fgets(line, sizeof line, f) && n_mounts < MAX_MOUNTS) {
        Mount *m = &mounts[n_mounts];
        if (!nr_cgroup_mount_line(line, m->dir, sizeof m->dir, &m->v2, m->opts, sizeof m->opts))
            continue;
        if (m->v2) {
            char path[PATH_MAX + 32];
            snprintf(path, sizeof path, "%s/cgroup.controllers", m->dir);
            nr_read_line(path, m->opts, sizeof m->opts);
            for (char *s = m->opts; *s; s++)
                if (*s == ' ')
                    *s = ',';
        }
        /* a hierarchy mounted twice: the first */
        bool seen = false;
        for (size_t i = 0; i < n_mounts && !seen; i++)
            seen = mounts[i].v2 == m->v2 && strcmp(mounts[i].opts, m->opts) == 0;
        if (!seen)
            n_mounts++;
    }
    if (f)
        fclose(f);
}

/* the hierarchy of `controller`: v1 if it is bound there, else v2's */
static const Mount *mount_of(const char *controller)
{
    read_mounts();
    for (size_t i = 0; i < n_mounts; i++)
        if (!mounts[i].v2 && nr_cgroup_has_word(mounts[i].opts, controller))
            return &mounts[i];
    for (size_t i = 0; i < n_mounts; i++)
        if (mounts[i].v2 && nr_cgroup_has_word(mounts[i].opts, controller))
            return &mounts[i];
    return NULL;
}

/* /proc/PID/cgroup (or the tests' file for this process) */
static void proc_cgroup(pid_t pid, char *file, size_t size)
{
    if (self_cgroup_file && pid == getpid())
        snprintf(file, size, "%s", self_cgroup_file);
    else
        snprintf(file, size, "/proc/%d/cgroup", (int)pid);
}

/* this process's cgroup in m (from /proc/PID/cgroup), "" if not found */
static void path_in(pid_t pid, const Mount *m, const char *controller, char *buf, size_t size)
{
    char file[PATH_MAX], line[PATH_MAX + 64];
    proc_cgroup(pid, file, sizeof file);
    buf[0] = '\0';
    FILE *f = fopen(file, "re");
    const char *p;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (nr_cgroup_proc_line(line, m->v2 ? NULL : controller, &p)) {
            snprintf(buf, size, "%s", p);
            break;
        }
    }
    if (f)
        fclose(f);
}

static bool has_processes(const char *dir)
{
    char path[PATH_MAX + 32], first[32] = "";
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    nr_read_line(path, first, sizeof first);
    return first[0] != '\0';
}

/* where a controller's limits go */
typedef struct Place {
    const Mount *m;
    char parent[PATH_MAX]; /* the directory nroot-<cid> goes in */
    bool enable;           /* v2: "+controller" to write to its cgroup.subtree_control */
} Place;

static const char *admin_fix =
    "an administrator can delegate a cgroup v2 subtree to you (systemd: Delegate=yes), or "
    "create a directory in each v1 hierarchy, chown it to you and set cgroup-parent in "
    "nroot.conf";

/* the configured parent, checked: relative to each hierarchy's root */
static int conf_parent(const char **ret, const char **ret_from, NrError *err)
{
    const char *v = nr_conf_value("cgroup-parent", "NROOT_CGROUP_PARENT", ret_from);
    *ret = NULL;
    if (!v)
        return 0;
    while (*v == '/')
        v++;
    if (strstr(v, "..") || strlen(v) > 1024)
        return nr_error_msg(err,
                            "cgroup-parent '%s' (%s): a path below each hierarchy's root, "
                            "without '..'",
                            v, *ret_from);
    *ret = v;
    return 0;
}

static int locate(const NrLimits *l, const char *controller, Place *ret, NrError *err)
{
    const char *opt = l ? options_of(l, controller) : controller;
    const Mount *m = mount_of(controller);
    if (!m)
        return nr_error_msg(err,
                            "%s: no cgroup hierarchy of this host has the %s controller "
                            "(/proc/cgroups, /proc/self/mountinfo)",
                            opt, controller);
    ret->m = m;
    ret->enable = false;
    const char *from = NULL, *parent = NULL;
    if (conf_parent(&parent, &from, err) < 0)
        return -1;
    char own[PATH_MAX];
    int len;
    if (parent)
        len = snprintf(ret->parent, sizeof ret->parent, "%s/%s", m->dir, parent);
    else {
        path_in(getpid(), m, controller, own, sizeof own);
        len = snprintf(ret->parent, sizeof ret->parent, "%s%s", m->dir,
                       strcmp(own, "/") == 0 ? "" : own);
    }
    if (len >= (int)sizeof ret->parent - 64)
        return nr_error_msg(err, "%s: the %s controller's cgroup path is too long", opt,
                            controller);
    const char *where = parent ? "cgroup-parent" : "your own cgroup";
    struct stat st;
    if (stat(ret->parent, &st) < 0 || !S_ISDIR(st.st_mode))
        return nr_error_msg(err, "%s: the %s controller: %s (%s, from %s) does not exist: %s", opt,
                            controller, ret->parent, where, parent ? from : "/proc/self/cgroup",
                            admin_fix);
    if (access(ret->parent, W_OK | X_OK) < 0)
        return nr_error_msg(err, "%s: the %s controller: %s (%s) is not writable by you: %s", opt,
                            controller, ret->parent, where, admin_fix);
    if (!m->v2)
        return 0;
    char file[PATH_MAX + 32], line[256] = "";
    snprintf(file, sizeof file, "%s/cgroup.controllers", ret->parent);
    nr_read_line(file, line, sizeof line);
    for (char *s = line; *s; s++)
        if (*s == ' ')
            *s = ',';
    if (!nr_cgroup_has_word(line, controller))
        return nr_error_msg(err,
                            "%s: the %s controller is not enabled for %s (cgroup v2: its "
                            "parent's cgroup.subtree_control lacks it): %s",
                            opt, controller, ret->parent, admin_fix);
    snprintf(file, sizeof file, "%s/cgroup.subtree_control", ret->parent);
    line[0] = '\0';
    nr_read_line(file, line, sizeof line);
    for (char *s = line; *s; s++)
        if (*s == ' ')
            *s = ',';
    if (nr_cgroup_has_word(line, controller))
        return 0;
    if (access(file, W_OK) < 0)
        return nr_error_msg(err,
                            "%s: %s is not writable by you, so the %s controller cannot be "
                            "enabled below it: %s",
                            opt, file, controller, admin_fix);
    if (has_processes(ret->parent))
        return nr_error_msg(
            err,
            "%s: %s (%s) holds processes, so cgroup v2 cannot enable the %s controller below it: "
            "make an empty cgroup for nroot in a subtree delegated to you (e.g. 'mkdir "
            "/sys/fs/cgroup/user.slice/user-$UID.slice/user@$UID.service/nroot' in a systemd "
            "user session) and set cgroup-parent in nroot.conf, or NROOT_CGROUP_PARENT, to it",
            opt, ret->parent, where, controller);
    ret->enable = true;
    return 0;
}

/* ---- a container's cgroups ---- */

void nr_cgroup_init(NrCgroup *cg)
{
    memset(cg, 0, sizeof *cg);
    for (size_t i = 0; i < NR_CGROUP_HIER_MAX; i++)
        cg->procs[i] = -1;
}

int nr_cgroup_check_where(const NrLimits *l, NrError *err)
{
    const char *ctls[NR_CGROUP_HIER_MAX];
    nr_cgroup_controllers(l, ctls);
    Place pl;
    for (size_t i = 0; ctls[i]; i++)
        if (locate(l, ctls[i], &pl, err) < 0)
            return -1;
    return 0;
}

static bool is_ctr_dir(const char *name, const char **ret_id)
{
    size_t n = strlen(name);
    if (n != 18 || strncmp(name, "nroot-", 6) != 0 || strspn(name + 6, "0123456789abcdef") != 12)
        return false;
    *ret_id = name + 6;
    return true;
}

/* empty nroot-<id> directories of the user's whose nroot is gone */
static void sweep(const char *parent, const char *cid, bool (*alive)(const char *))
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    struct dirent *de;
    const char *id;
    while ((de = readdir(d))) {
        struct stat st;
        if (!is_ctr_dir(de->d_name, &id) || strcmp(id, cid) == 0 ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != getuid() || (alive && alive(id)))
            continue;
        (void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR); /* EBUSY: processes */
    }
    closedir(d);
}

static int write_value(const char *dir, const char *name, const char *value, NrError *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nr_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || nr_write_all(fd, value, strlen(value)) < 0)
        return nr_error_errno(err, "cannot write '%s' to %s", value, path);
    return 0;
}

int nr_cgroup_create(const NrLimits *l, const char *cid, bool (*alive)(const char *cid),
                     NrCgroup *ret, NrError *err)
{
    nr_cgroup_init(ret);
    const char *ctls[NR_CGROUP_HIER_MAX];
    nr_cgroup_controllers(l, ctls);
    Place places[NR_CGROUP_HIER_MAX];
    size_t n = 0;
    /* every controller checked before anything is made */
    for (size_t i = 0; ctls[i]; i++)
        if (locate(l, ctls[i], &places[n++], err) < 0)
            return -1;
    NrCgroupFile files[8];
    const Mount *made[NR_CGROUP_HIER_MAX];
    for (size_t i = 0; i < n; i++) {
        Place *pl = &places[i];
        if (pl->enable) {
            char add[32];
            snprintf(add, sizeof add, "+%s", ctls[i]);
            if (write_value(pl->parent, "cgroup.subtree_control", add, err) < 0)
                goto fail;
        }
        /* one directory per hierarchy (cpu and pids may share one) */
        size_t k = 0;
        while (k < ret->n && made[k] != pl->m)
            k++;
        if (k == ret->n) {
            sweep(pl->parent, cid, alive);
            ret->dir[k] = nr_strdup_printf("%s/nroot-%s", pl->parent, cid);
            ret->v2[k] = pl->m->v2;
            made[k] = pl->m;
            if (mkdir(ret->dir[k], 0755) < 0 && errno != EEXIST) {
                nr_error_errno(err, "%s: cannot make the cgroup %s", options_of(l, ctls[i]),
                               ret->dir[k]);
                free(ret->dir[k]);
                ret->dir[k] = NULL;
                goto fail;
            }
            ret->n++;
        }
        size_t nf = nr_cgroup_files(l, pl->m->v2, files);
        for (size_t f = 0; f < nf; f++)
            if (strcmp(files[f].controller, ctls[i]) == 0 &&
                write_value(ret->dir[k], files[f].name, files[f].value, err) < 0) {
                if (errno == ENOENT && strstr(files[f].name, "memsw"))
                    nr_error_msg(err,
                                 "--memory-swap: this kernel does not account swap (%s/%s "
                                 "is missing: boot with swapaccount=1)",
                                 ret->dir[k], files[f].name);
                nr_error_prefix(err, "%s", options_of(l, ctls[i]));
                goto fail;
            }
    }
    for (size_t k = 0; k < ret->n; k++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/cgroup.procs", ret->dir[k]);
        if ((ret->procs[k] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
            nr_error_errno(err, "cannot open %s", path);
            goto fail;
        }
    }
    return 0;
fail:
    nr_cgroup_remove(ret);
    return -1;
}

int nr_cgroup_enter(const NrCgroup *cg, pid_t pid, NrError *err)
{
    char num[32];
    int len = snprintf(num, sizeof num, "%d\n", (int)pid);
    for (size_t k = 0; k < cg->n; k++)
        if (cg->procs[k] < 0 || write(cg->procs[k], num, (size_t)len) != len)
            return nr_error_errno(err, "cannot put the container in the cgroup %s", cg->dir[k]);
    return 0;
}

void nr_cgroup_remove_fds(NrCgroup *cg)
{
    for (size_t k = 0; k < cg->n; k++) {
        if (cg->procs[k] >= 0)
            close(cg->procs[k]);
        free(cg->dir[k]);
    }
    nr_cgroup_init(cg);
}

void nr_cgroup_remove(NrCgroup *cg)
{
    for (size_t k = 0; k < cg->n; k++) {
        if (cg->procs[k] >= 0)
            close(cg->procs[k]);
        cg->procs[k] = -1;
        if (!cg->dir[k])
            continue;
        /* the container's last processes may still be leaving */
        for (int i = 0; i < 100 && rmdir(cg->dir[k]) < 0 && errno == EBUSY; i++) {
            struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        free(cg->dir[k]);
        cg->dir[k] = NULL;
    }
    cg->n = 0;
}

int nr_cgroup_of(pid_t init_pid, const char *cid, bool open_procs, NrCgroup *ret, NrError *err)
{
    nr_cgroup_init(ret);
    read_mounts();
    char file[PATH_MAX], line[PATH_MAX + 64], leaf[32];
    proc_cgroup(init_pid, file, sizeof file);
    snprintf(leaf, sizeof leaf, "/nroot-%s", cid);
    size_t ll = strlen(leaf);
    FILE *f = fopen(file, "re");
    if (!f)
        return nr_error_errno(err, "cannot read %s", file);
    while (fgets(line, sizeof line, f) && ret->n < NR_CGROUP_HIER_MAX) {
        line[strcspn(line, "\n")] = '\0';
        const char *c1 = strchr(line, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        const char *path = c2 + 1;
        size_t pl = strlen(path);
        if (pl < ll || strcmp(path + pl - ll, leaf) != 0)
            continue;
        bool v2 = c2 == c1 + 1;
        const Mount *m = NULL;
        for (size_t i = 0; i < n_mounts && !m; i++) {
            if (mounts[i].v2 != v2)
                continue;
            if (v2)
                m = &mounts[i];
            else {
                /* every controller of the line is the mount's */
                char ctls[256];
                snprintf(ctls, sizeof ctls, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
                char *save, *w = strtok_r(ctls, ",", &save);
                if (w && nr_cgroup_has_word(mounts[i].opts, w))
                    m = &mounts[i];
            }
        }
        if (!m)
            continue;
        size_t k = ret->n++;
        ret->dir[k] = nr_strdup_printf("%s%s", m->dir, path);
        ret->v2[k] = v2;
        if (open_procs) {
            char procs[PATH_MAX + 64];
            snprintf(procs, sizeof procs, "%s/cgroup.procs", ret->dir[k]);
            if ((ret->procs[k] = open(procs, O_WRONLY | O_CLOEXEC)) < 0) {
                nr_error_errno(err, "cannot open %s", procs);
                fclose(f);
                for (size_t i = 0; i < ret->n; i++) {
                    if (ret->procs[i] >= 0)
                        close(ret->procs[i]);
                    free(ret->dir[i]);
                }
                nr_cgroup_init(ret);
                return -1;
            }
        }
    }
    fclose(f);
    return 0;
}

static int64_t read_number(const char *dir, const char *name)
{
    char path[PATH_MAX + 64], v[64] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nr_read_line(path, v, sizeof v);
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    return v[0] >= '0' && v[0] <= '9' && !errno && !*end ? x : -1;
}

void nr_cgroup_usage(pid_t init_pid, const char *cid, int64_t *ret_memory, int64_t *ret_pids)
{
    *ret_memory = *ret_pids = -1;
    NrCgroup cg;
    NrError ignored = { 0 };
    if (init_pid <= 0 || nr_cgroup_of(init_pid, cid, false, &cg, &ignored) < 0)
        return;
    for (size_t k = 0; k < cg.n; k++) {
        int64_t m = read_number(cg.dir[k], cg.v2[k] ? "memory.current" : "memory.usage_in_bytes");
        int64_t p = read_number(cg.dir[k], "pids.current");
        if (m >= 0)
            *ret_memory = m;
        if (p >= 0)
            *ret_pids = p;
        free(cg.dir[k]);
    }
}

bool nr_cgroup_describe(char *buf, size_t size, char *fix, size_t fix_size)
{
    read_mounts();
    bool v1 = false, v2 = false;
    for (size_t i = 0; i < n_mounts; i++) {
        v2 |= mounts[i].v2;
        v1 |= !mounts[i].v2;
    }
    fix[0] = '\0';
    if (!v1 && !v2) {
        snprintf(buf, size, "no cgroup hierarchy is mounted: no resource limits");
        return false;
    }
    const char *layout = v1 && v2 ? "hybrid" : v1 ? "v1" : "v2";
    const char *from = NULL, *parent = NULL;
    NrError e = { 0 };
    if (conf_parent(&parent, &from, &e) < 0) {
        snprintf(buf, size, "%s; %s", layout, e.msg);
        return false;
    }
    static const char *const ctls[] = { "memory", "cpu", "pids" };
    char ok[64] = "", why[1024] = "";
    bool all = true;
    for (size_t i = 0; i < 3; i++) {
        Place pl;
        NrError le = { 0 };
        if (locate(NULL, ctls[i], &pl, &le) == 0) {
            size_t o = strlen(ok);
            snprintf(ok + o, sizeof ok - o, "%s%s", o ? ", " : "", ctls[i]);
        } else {
            all = false;
            /* "memory: the memory controller's ...: an administrator ..." */
            char *colon = strstr(le.msg, ": an administrator");
            if (colon)
                *colon = '\0';
            size_t w = strlen(why);
            snprintf(why + w, sizeof why - w, "; %.300s", le.msg);
        }
    }
    snprintf(buf, size, "%s; limits go below %s%s%s%s; writable there: %s%s", layout,
             parent ? "cgroup-parent " : "your own cgroup", parent ? parent : "",
             parent ? " from " : "", parent ? from : "", ok[0] ? ok : "none", why);
    if (!all)
        snprintf(fix, fix_size, "%s", admin_fix);
    return ok[0] != '\0';
}
