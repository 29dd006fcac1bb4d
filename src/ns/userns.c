/* SPDX-License-Identifier: Apache-2.0 */
/* userns.c — subordinate id ranges and the id-map ladder.
 *
 * Rung 1 (subids): /etc/subuid and /etc/subgid (or an nsswitch subid module,
 * through libsubid: subid.c) grant a range and the setuid
 * helpers newuidmap/newgidmap exist: container root is the caller, ids 1..N
 * land on the subordinate range.  Rung 2 (single): only the caller's own id
 * is mapped, to 0.  Rung 3 (keep-id): the caller's ids are mapped to
 * themselves, with the range (if any) filling the ids around them. */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <sys/wait.h>

#include "nr-error.h"
#include "nr-userns.h"
#include "nr-util.h"

extern char **environ;

bool nr_userns_subid_range(const char *file, const char *user, uid_t id, uint32_t *ret_start,
                           uint32_t *ret_count)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return false;
    bool found = nr_userns_subid_scan(f, user, id, ret_start, ret_count);
    fclose(f);
    return found;
}

bool nr_userns_subid_scan(FILE *f, const char *user, uid_t id, uint32_t *ret_start,
                          uint32_t *ret_count)
{
    char line[512], idstr[32];
    snprintf(idstr, sizeof idstr, "%u", (unsigned)id);
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        /* a line longer than the buffer is passed over whole: its tail
         * must not pass for a line of its own */
        if (!strchr(line, '\n') && !feof(f)) {
            int ch;
            while ((ch = getc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        char *save = NULL;
        char *name = strtok_r(line, ":\n", &save);
        char *start = strtok_r(NULL, ":\n", &save);
        char *count = strtok_r(NULL, ":\n", &save);
        uint32_t s, c;
        if (!name || !start || !count || name[0] == '#')
            continue;
        if (strcmp(name, idstr) != 0 && (!user || strcmp(name, user) != 0))
            continue;
        if (!nr_parse_u32(start, &s) || !nr_parse_u32(count, &c) || c == 0)
            continue;
        *ret_start = s;
        *ret_count = c;
        found = true;
    }
    return found;
}

/* the first executable `name` in PATH (the reason if none in *why) */
bool nr_userns_find_program(const char *name, char *ret_path, size_t size, const char **why)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin:/usr/sbin:/sbin";
    nr_autofree char *copy = nr_xstrdup(path);
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char full[4096];
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", dir, name);
        if (stat(full, &st) < 0 || !S_ISREG(st.st_mode) || access(full, X_OK) < 0)
            continue;
        if (snprintf(ret_path, size, "%s", full) < (int)size)
            return true;
        *why = "has too long a path";
        return false;
    }
    *why = "is not in PATH";
    return false;
}

const char *nr_userns_find_squashfs(char *ret_path, size_t size, const char **why)
{
    /* ours answers with fewer round trips (no OPEN/RELEASE, READDIRPLUS,
     * more threads): squashfuse_ll is the fallback where it is not built */
    nr_autofree char *own = nr_helper_path("nroot-squashfs", "NROOT_SQUASHFS");
    struct stat st;
    if (stat(own, &st) == 0 && S_ISREG(st.st_mode) && access(own, X_OK) == 0 &&
        snprintf(ret_path, size, "%s", own) < (int)size)
        return "nroot-squashfs";
    if (nr_userns_find_program("squashfuse_ll", ret_path, size, why))
        return "squashfuse_ll";
    return NULL;
}

/* Is `name` an executable in PATH that can act for us (setuid root or with
 * file capabilities)?  Returns the reason it cannot in *why. */
bool nr_userns_find_helper(const char *name, char *ret_path, size_t size, const char **why)
{
    if (!nr_userns_find_program(name, ret_path, size, why))
        return false;
    /* setuid root, or file capabilities (security.capability) */
    struct stat st;
    char buf[64];
    if (stat(ret_path, &st) == 0 &&
        (((st.st_mode & S_ISUID) && st.st_uid == 0) ||
         getxattr(ret_path, "security.capability", buf, sizeof buf) > 0))
        return true;
    *why = "is neither setuid root nor has file capabilities";
    return false;
}

static void compute_tag(NrIdMap *m)
{
    uint64_t h = NR_FNV_INIT;
    h = nr_fnv1a(m->uid, sizeof(NrIdRange) * (size_t)m->n_uid, h);
    h = nr_fnv1a("|", 1, h);
    h = nr_fnv1a(m->gid, sizeof(NrIdRange) * (size_t)m->n_gid, h);
    snprintf(m->tag, sizeof m->tag, "%016llx", (unsigned long long)h);
}

static void map_single(NrIdMap *m, uid_t uid, gid_t gid, bool keep)
{
    m->helpers = false;
    m->n_uid = m->n_gid = 1;
    m->uid[0] = (NrIdRange){ keep ? uid : 0, uid, 1 };
    m->gid[0] = (NrIdRange){ keep ? gid : 0, gid, 1 };
    m->user_uid = keep ? uid : 0;
    m->user_gid = keep ? gid : 0;
}

/* Keep-id over a range: 0..id-1 and id+1.. come from the range, id is id. */
static int keep_ranges(NrIdRange *r, uint32_t id, uint32_t start, uint32_t count)
{
    int n = 0;
    uint32_t below = id < count ? id : count;
    if (below)
        r[n++] = (NrIdRange){ 0, start, below };
    r[n++] = (NrIdRange){ id, id, 1 };
    if (count > below)
        r[n++] = (NrIdRange){ id + 1, start + below, count - below };
    return n;
}

/* the user namespace joined by nr_userns_join: its maps, as read in it */
static struct {
    bool on;
    bool setgroups;
    NrIdRange uid[NR_MAX_RANGES], gid[NR_MAX_RANGES];
    int n_uid, n_gid;
} joined_ns;

int nr_userns_plan(NrUsernsMode mode, unsigned flags, NrIdMap *m, NrError *err)
{
    NrIdHost h = { .uid = getuid(),
                   .gid = getgid(),
                   .quiet = flags & NR_USERNS_QUIET,
                   .rootemu = flags & NR_USERNS_ROOTEMU };
    char newuidmap[sizeof m->newuidmap] = "", newgidmap[sizeof m->newgidmap] = "";
    NrSubids s;
    if (mode != NR_USERNS_SINGLE) {
        struct passwd *pw = getpwuid(h.uid);
        h.user = pw ? pw->pw_name : NULL;
        nr_userns_subids(h.user, h.uid, &s);
        h.has_subuid = s.has_uid;
        h.subuid_start = s.uid_start;
        h.subuid_count = s.uid_count;
        h.has_subgid = s.has_gid;
        h.subgid_start = s.gid_start;
        h.subgid_count = s.gid_count;
        h.subid_module = s.source == NR_SUBID_NSS ? s.module : NULL;
        h.helpers =
            h.has_subuid && h.has_subgid &&
            nr_userns_find_helper("newuidmap", newuidmap, sizeof newuidmap, &h.why_uidmap) &&
            nr_userns_find_helper("newgidmap", newgidmap, sizeof newgidmap, &h.why_gidmap);
    }
    if (nr_userns_plan_host(mode, &h, m, err) < 0)
        return -1;
    memcpy(m->newuidmap, newuidmap, sizeof newuidmap);
    memcpy(m->newgidmap, newgidmap, sizeof newgidmap);
    if (joined_ns.on)
        return nr_userns_translate(m, joined_ns.uid, joined_ns.n_uid, joined_ns.gid,
                                   joined_ns.n_gid, joined_ns.setgroups, err);
    return 0;
}

/* host id `id` in a namespace mapped by r: its id there, and how many
 * ids from it on stay in the same range */
static bool to_inner(const NrIdRange *r, int n, uint32_t id, uint32_t *ret, uint32_t *ret_left)
{
    for (int i = 0; i < n; i++)
        if (id >= r[i].outside && id - r[i].outside < r[i].count) {
            *ret = r[i].inside + (id - r[i].outside);
            *ret_left = r[i].count - (id - r[i].outside);
            return true;
        }
    return false;
}

static int translate(NrIdRange *m, int *n, const NrIdRange *ns, int n_ns, const char *what,
                     NrError *err)
{
    NrIdRange out[NR_MAX_RANGES];
    int k = 0;
    for (int i = 0; i < *n; i++) {
        uint32_t inside = m[i].inside, outside = m[i].outside, count = m[i].count;
        while (count > 0) {
            uint32_t inner, left;
            if (!to_inner(ns, n_ns, outside, &inner, &left))
                return nr_error_msg(err,
                                    "the network holder's user namespace does not map %s %u "
                                    "(it maps the ids of its first container's mapping)",
                                    what, outside);
            if (k == NR_MAX_RANGES)
                return nr_error_msg(err, "too many %s ranges for the network holder's mapping",
                                    what);
            uint32_t take = left < count ? left : count;
            out[k++] = (NrIdRange){ inside, inner, take };
            inside += take;
            outside += take;
            count -= take;
        }
    }
    memcpy(m, out, sizeof(NrIdRange) * (size_t)k);
    *n = k;
    return 0;
}

int nr_userns_translate(NrIdMap *m, const NrIdRange *uid, int n_uid, const NrIdRange *gid,
                        int n_gid, bool setgroups, NrError *err)
{
    if (m->joined || m->direct)
        return 0;
    NrIdMap t = *m;
    if (translate(t.uid, &t.n_uid, uid, n_uid, "uid", err) < 0 ||
        translate(t.gid, &t.n_gid, gid, n_gid, "gid", err) < 0)
        return -1;
    t.direct = true;
    /* the maps of newgidmap allow setgroups, where the namespace does */
    t.setgroups = (m->helpers || m->setgroups) && setgroups;
    *m = t;
    return 0;
}

static int read_map(const char *file, NrIdRange *r, int *n, NrError *err)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return nr_error_errno(err, "cannot read '%s'", file);
    unsigned long in, out, count;
    *n = 0;
    while (*n < NR_MAX_RANGES && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
        r[(*n)++] = (NrIdRange){ (uint32_t)in, (uint32_t)out, (uint32_t)count };
    fclose(f);
    return *n ? 0 : nr_error_msg(err, "'%s' maps no id", file);
}

static int joined(NrIdMap *map, NrError *err)
{
    joined_ns.on = true;
    return map ? nr_userns_translate(map, joined_ns.uid, joined_ns.n_uid, joined_ns.gid,
                                     joined_ns.n_gid, joined_ns.setgroups, err)
               : 0;
}

int nr_userns_join(int fd, NrIdMap *map, NrError *err)
{
    if (setns(fd, CLONE_NEWUSER) < 0)
        return nr_error_errno(err, "cannot join the network holder's user namespace");
    char sg[16] = "";
    nr_read_line("/proc/self/setgroups", sg, sizeof sg);
    if (read_map("/proc/self/uid_map", joined_ns.uid, &joined_ns.n_uid, err) < 0 ||
        read_map("/proc/self/gid_map", joined_ns.gid, &joined_ns.n_gid, err) < 0)
        return -1;
    joined_ns.setgroups = strcmp(sg, "allow") == 0;
    return joined(map, err);
}

int nr_userns_join_identity(int fd, NrIdMap *map, bool setgroups, NrError *err)
{
    if (setns(fd, CLONE_NEWUSER) < 0)
        return nr_error_errno(err, "cannot join the user namespace keeper's namespace");
    for (int i = 0; i < map->n_uid; i++)
        joined_ns.uid[i] =
            (NrIdRange){ map->uid[i].outside, map->uid[i].outside, map->uid[i].count };
    for (int i = 0; i < map->n_gid; i++)
        joined_ns.gid[i] =
            (NrIdRange){ map->gid[i].outside, map->gid[i].outside, map->gid[i].count };
    joined_ns.n_uid = map->n_uid;
    joined_ns.n_gid = map->n_gid;
    joined_ns.setgroups = setgroups;
    return joined(map, err);
}

int nr_userns_plan_host(NrUsernsMode mode, const NrIdHost *h, NrIdMap *m, NrError *err)
{
    uid_t uid = h->uid;
    gid_t gid = h->gid;
    memset(m, 0, sizeof *m);

    if (mode == NR_USERNS_SINGLE) {
        map_single(m, uid, gid, false);
        m->rung = "single";
        compute_tag(m);
        return 0;
    }
    const char *user = h->user;
    bool has_uid = h->has_subuid, has_gid = h->has_subgid, helpers = h->helpers;
    uint32_t us = h->subuid_start, uc = h->subuid_count, gs = h->subgid_start, gc = h->subgid_count;
    const char *why_u = h->why_uidmap, *why_g = h->why_gidmap;
    char reason[512] = "";
    if (!has_uid || !has_gid)
        snprintf(reason, sizeof reason, "no subordinate %s range for user %s %s %s%s",
                 has_uid ? "gid" : "uid", user ? user : "?", h->subid_module ? "from" : "in",
                 h->subid_module ? "nss module " : "",
                 h->subid_module ? h->subid_module
                 : has_uid       ? "/etc/subgid"
                                 : "/etc/subuid");
    else if (!helpers)
        snprintf(reason, sizeof reason, "%s %s", why_u ? "newuidmap" : "newgidmap",
                 why_u ? why_u : why_g);

    if (mode == NR_USERNS_KEEPID && !helpers) {
        map_single(m, uid, gid, true);
        m->rung = "keep-id (single id)";
    } else if (!helpers) {
        if (mode == NR_USERNS_SUBIDS) {
            nr_error_msg(err, "--userns=subids: %s", reason);
            if ((!has_uid || !has_gid) && h->subid_module)
                nr_error_hint(err,
                              "ask an administrator to grant you a range in the service "
                              "behind nss module %s (nsswitch.conf's subid: line)",
                              h->subid_module);
            else if (!has_uid || !has_gid)
                nr_error_hint(err,
                              "ask an administrator to run: usermod --add-subuids 100000-165535 "
                              "--add-subgids 100000-165535 %s",
                              user ? user : "$USER");
            else
                nr_error_hint(err,
                              "install the uidmap package (apt-get install uidmap) or restore "
                              "the setuid bit: chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap");
            return -1;
        }
        map_single(m, uid, gid, false);
        m->rung = "single";
        if (!h->quiet)
            nr_notice("%s; using a single-id mapping (only uid/gid 0 exist inside%s; "
                      "see nroot-run(1); --userns=single silences this)",
                      reason,
                      h->rootemu ? ", root emulation makes chown and setuid succeed without "
                                   "effect"
                                 : "");
    } else if (mode == NR_USERNS_KEEPID) {
        m->helpers = true;
        m->n_uid = keep_ranges(m->uid, uid, us, uc);
        m->n_gid = keep_ranges(m->gid, gid, gs, gc);
        m->user_uid = uid;
        m->user_gid = gid;
        m->rung = "keep-id";
    } else {
        m->helpers = true;
        m->n_uid = m->n_gid = 2;
        m->uid[0] = (NrIdRange){ 0, uid, 1 };
        m->uid[1] = (NrIdRange){ 1, us, uc };
        m->gid[0] = (NrIdRange){ 0, gid, 1 };
        m->gid[1] = (NrIdRange){ 1, gs, gc };
        m->rung = "subids";
    }
    compute_tag(m);
    return 0;
}

void nr_userns_unpack_map(const NrIdMap *map, NrIdMap *ret)
{
    *ret = *map;
    /* a single keep-id map cannot hold root inside: unpack as the single
     * root map, which puts the same owners on disk (all the caller) */
    if (!map->helpers && map->uid[0].inside != 0) {
        map_single(ret, map->uid[0].outside, map->gid[0].outside, false);
        ret->rung = "single";
        compute_tag(ret);
    }
    ret->user_uid = 0;
    ret->user_gid = 0;
}

static bool mapped(const NrIdRange *r, int n, uint32_t id)
{
    for (int i = 0; i < n; i++)
        if (id >= r[i].inside && id - r[i].inside < r[i].count)
            return true;
    return false;
}
bool nr_userns_uid_mapped(const NrIdMap *m, uint32_t id)
{
    return mapped(m->uid, m->n_uid, id);
}
bool nr_userns_gid_mapped(const NrIdMap *m, uint32_t id)
{
    return mapped(m->gid, m->n_gid, id);
}

int nr_userns_read_map(const char *file, NrIdRange *r, int *ret_n, NrError *err)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return nr_error_errno(err, "cannot read '%s'", file);
    unsigned long in, out, count;
    int n = 0, rc = 0;
    while (rc == 0 && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3) {
        if (n == NR_MAX_RANGES)
            rc = nr_error_msg(err, "%s has more than %d ranges", file, NR_MAX_RANGES);
        else
            r[n++] = (NrIdRange){ (uint32_t)in, (uint32_t)out, (uint32_t)count };
    }
    fclose(f);
    if (rc == 0 && n == 0)
        rc = nr_error_msg(err, "%s maps no id", file);
    if (rc == 0)
        *ret_n = n;
    return rc;
}

bool nr_userns_map_covers(const NrIdRange *outer, int n_outer, const NrIdRange *inner, int n_inner)
{
    for (int i = 0; i < n_inner; i++) {
        const NrIdRange *a = &inner[i];
        bool in_one = false;
        for (int k = 0; k < n_outer && !in_one; k++) {
            const NrIdRange *b = &outer[k];
            in_one = a->inside >= b->inside && a->count <= b->count &&
                     a->inside - b->inside <= b->count - a->count &&
                     (uint64_t)a->outside == (uint64_t)b->outside + (a->inside - b->inside);
        }
        if (!in_one)
            return false;
    }
    return true;
}

/* nroot joined another container's user namespace (nr_userns_enter): the
 * maps it writes from then on are of that namespace's ids */
static bool entered;

bool nr_userns_entered(void)
{
    return entered;
}

int nr_userns_enter(int fd, NrError *err)
{
    if (setns(fd, CLONE_NEWUSER) < 0)
        return nr_error_errno(err, "cannot join the user namespace");
    entered = true;
    return 0;
}

int nr_userns_check_ids(const NrIdMap *m, const char *user, long uid, long gid, NrError *err)
{
    bool uid_ok = uid < 0 || nr_userns_uid_mapped(m, (uint32_t)uid);
    bool gid_ok = gid < 0 || nr_userns_gid_mapped(m, (uint32_t)gid);
    if (uid_ok && gid_ok)
        return 0;
    nr_error_msg(err,
                 "user '%s' (%s %ld) is not mapped in the container's user namespace "
                 "(%s mapping)",
                 user, uid_ok ? "gid" : "uid", uid_ok ? gid : uid, m->rung);
    if (!m->helpers)
        nr_error_hint(err, "only your own id exists inside; a subordinate id range "
                           "(/etc/subuid, /etc/subgid) maps more");
    return -1;
}

static int write_proc(pid_t pid, const char *file, const char *data, NrError *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    nr_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || nr_write_all(fd, data, strlen(data)) < 0)
        return nr_error_errno(err, "cannot write %s", path);
    return 0;
}

static void format_map(const NrIdRange *r, int n, char *buf, size_t size, bool lines)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, lines ? "%u %u %u\n" : " %u %u %u",
                                r[i].inside, r[i].outside, r[i].count);
}

typedef struct Helper {
    pid_t pid;
    int errfd;
    const char *name;
} Helper;

static int start_helper(Helper *h, const char *path, pid_t pid, const NrIdRange *r, int n,
                        NrError *err)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *argv[3 + 3 * NR_MAX_RANGES + 1];
    char nums[3 * NR_MAX_RANGES][16], pidbuf[16];
    int a = 0;
    argv[a++] = (char *)name;
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
    argv[a++] = pidbuf;
    for (int i = 0; i < n; i++) {
        snprintf(nums[3 * i], 16, "%u", r[i].inside);
        snprintf(nums[3 * i + 1], 16, "%u", r[i].outside);
        snprintf(nums[3 * i + 2], 16, "%u", r[i].count);
        argv[a++] = nums[3 * i];
        argv[a++] = nums[3 * i + 1];
        argv[a++] = nums[3 * i + 2];
    }
    argv[a] = NULL;

    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_error_errno(err, "pipe");
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_USEVFORK);
    int rc = posix_spawn(&h->pid, path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        errno = rc;
        return nr_error_errno(err, "cannot run %s", path);
    }
    h->errfd = p[0];
    h->name = name;
    return 0;
}

static int finish_helper(Helper *h, NrError *err)
{
    char out[512];
    ssize_t len = 0, r;
    while (len < (ssize_t)sizeof out - 1 &&
           (r = read(h->errfd, out + len, sizeof out - 1 - (size_t)len)) > 0)
        len += r;
    out[len > 0 ? len : 0] = '\0';
    close(h->errfd);
    int status;
    while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    nr_error_msg(err, "%s failed%s%s", h->name, out[0] ? ": " : "", out);
    nr_error_hint(err,
                  "check your ranges in /etc/subuid and /etc/subgid, or run with --userns=single");
    return -1;
}

/* in a user namespace nroot entered, whose ids are the map's own (the
 * caller checked that with nr_userns_map_covers): every id of the map onto
 * itself, written directly (root there may; newuidmap could not: its ids
 * are the host's) */
static int write_identity(pid_t pid, const NrIdMap *m, NrError *err)
{
    NrIdRange u[NR_MAX_RANGES], g[NR_MAX_RANGES];
    for (int i = 0; i < m->n_uid; i++)
        u[i] = (NrIdRange){ m->uid[i].inside, m->uid[i].inside, m->uid[i].count };
    for (int i = 0; i < m->n_gid; i++)
        g[i] = (NrIdRange){ m->gid[i].inside, m->gid[i].inside, m->gid[i].count };
    char buf[256];
    /* a single-id map denies setgroups (and the entered namespace does too) */
    if (!m->helpers && !m->setgroups && write_proc(pid, "setgroups", "deny", err) < 0)
        return -1;
    format_map(u, m->n_uid, buf, sizeof buf, true);
    if (write_proc(pid, "uid_map", buf, err) < 0)
        return -1;
    format_map(g, m->n_gid, buf, sizeof buf, true);
    return write_proc(pid, "gid_map", buf, err);
}

int nr_userns_write_maps(pid_t pid, const NrIdMap *m, NrError *err)
{
    /* --net=container:NAME: inside NAME's user namespace, an identity */
    if (entered)
        return write_identity(pid, m, err);
    /* --net=NAME: translated into U's ids (nr_userns_join), written here */
    if (m->helpers && !m->direct) {
        /* #2a: both setuid helpers run at once; each costs an exec */
        Helper hu = { .pid = -1, .errfd = -1 }, hg = { .pid = -1, .errfd = -1 };
        if (start_helper(&hu, m->newuidmap, pid, m->uid, m->n_uid, err) < 0)
            return -1;
        if (start_helper(&hg, m->newgidmap, pid, m->gid, m->n_gid, err) < 0) {
            NrError ignored;
            finish_helper(&hu, &ignored);
            return -1;
        }
        NrError eu = { 0 }, eg = { 0 };
        int ru = finish_helper(&hu, &eu), rg = finish_helper(&hg, &eg);
        if (ru < 0 || rg < 0) {
            *err = ru < 0 ? eu : eg;
            return -1;
        }
        return 0;
    }
    char buf[256];
    if (!m->setgroups && write_proc(pid, "setgroups", "deny", err) < 0)
        return -1;
    format_map(m->uid, m->n_uid, buf, sizeof buf, true);
    if (write_proc(pid, "uid_map", buf, err) < 0)
        return -1;
    format_map(m->gid, m->n_gid, buf, sizeof buf, true);
    return write_proc(pid, "gid_map", buf, err);
}

int nr_userns_unshare(const NrIdMap *map, NrError *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return nr_error_errno(err, "socketpair");
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return nr_error_errno(err, "fork");
    }
    if (pid == 0) {
        /* left in the caller's user namespace: maps the new one */
        close(sv[0]);
        char c;
        NrError e = { 0 };
        if (read(sv[1], &c, 1) != 1)
            _exit(1);
        int rc = nr_userns_write_maps(self, map, &e);
        (void)!write(sv[1], &e, sizeof e);
        _exit(rc < 0 ? 1 : 0);
    }
    close(sv[1]);
    int rc = unshare(CLONE_NEWUSER);
    int e = errno;
    NrError ce = { 0 };
    ssize_t n = 0;
    if (rc == 0 && write(sv[0], "x", 1) == 1)
        n = read(sv[0], &ce, sizeof ce);
    close(sv[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        errno = e;
        return nr_error_errno(err, "cannot create a user namespace");
    }
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        if (n == (ssize_t)sizeof ce && ce.code) {
            *err = ce;
            return -1;
        }
        return nr_error_msg(err, "cannot map the user namespace (%s)", map->rung);
    }
    return 0;
}

void nr_userns_map_text(const NrIdMap *map, char *buf, size_t size)
{
    char u[128], g[128];
    format_map(map->uid, map->n_uid, u, sizeof u, false);
    format_map(map->gid, map->n_gid, g, sizeof g, false);
    snprintf(buf, size, "u%s;g%s", u, g);
}
