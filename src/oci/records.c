/* SPDX-License-Identifier: Apache-2.0 */
/* records.c — the records nroot-unpack --oci-spec writes (HACKING.md, "The OCI records")
 * read into an NrOciSpec: a pure function, strict (the two binaries come
 * from one build: an unknown tag, a field too many or too few, a number
 * that is not one, a `%` escape other than %25 %09 %0A %0D are errors). */
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "nr-caps.h"
#include "nr-hook.h"
#include "nr-oci.h"
#include "nr-util.h"

#define MAX_FIELDS 8

typedef struct Reader {
    NrOciSpec *spec;
    unsigned line;
    unsigned seen; /* the tags that come once (ONCE_*) */
    NrStrv args, env, masked, readonly, sysctl, annotations, warnings;
    NrStrv opts;                /* the last mount's options */
    NrStrv hook_args, hook_env; /* the last hook's */
    bool has_args;
} Reader;

enum {
    ONCE_VERSION = 1 << 0,
    ONCE_BUNDLE = 1 << 1,
    ONCE_ROOT = 1 << 2,
    ONCE_CWD = 1 << 3,
    ONCE_USER = 1 << 4,
    ONCE_TERMINAL = 1 << 5,
    ONCE_CAPS = 1 << 6,
    ONCE_NNP = 1 << 7,
    ONCE_OOM = 1 << 8,
    ONCE_HOSTNAME = 1 << 9,
    ONCE_DOMAINNAME = 1 << 10,
    ONCE_PROPAGATION = 1 << 11,
    ONCE_SECCOMP = 1 << 12,
};

static int bad(const Reader *r, NrError *err, const char *what)
{
    return nr_error_msg(err, "the OCI records from nroot-unpack, line %u: %s", r->line, what);
}

/* one more element of an array of `size`-byte elements */
static void *grow(void *arr, size_t *n, size_t size)
{
    char *p = realloc(arr, (*n + 1) * size);
    if (!p)
        abort();
    memset(p + *n * size, 0, size);
    (*n)++;
    return p;
}

/* the vector's array, never NULL, and the vector emptied */
static char **finish(NrStrv *s)
{
    char **v = s->v;
    if (!v) {
        v = calloc(1, sizeof *v);
        if (!v)
            abort();
    }
    memset(s, 0, sizeof *s);
    return v;
}

/* NULL when empty (a hook's args and env) */
static char **finish_or_null(NrStrv *s)
{
    if (!s->n) {
        nr_strv_clear(s);
        return NULL;
    }
    return finish(s);
}

static bool u64_of(const char *s, uint64_t max, uint64_t *ret)
{
    if (!*s || strlen(s) > 20)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *ret = v;
    return true;
}

static bool i64_of(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    uint64_t v;
    if (s[0] == '-') {
        if (!u64_of(s + 1, (uint64_t)INT64_MAX + 1, &v))
            return false;
        *ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (!u64_of(s, INT64_MAX, &v))
            return false;
        *ret = (int64_t)v;
    }
    return *ret >= min && *ret <= max;
}

static bool u32_of(const char *s, uint32_t *ret)
{
    uint64_t v;
    if (!u64_of(s, UINT32_MAX, &v))
        return false;
    *ret = (uint32_t)v;
    return true;
}

static bool bool_of(const char *s, bool *ret)
{
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
        return false;
    *ret = s[0] == '1';
    return true;
}

/* "-" or a number up to max */
static bool opt_u32_of(const char *s, uint32_t max, bool *ret_has, uint32_t *ret)
{
    *ret_has = strcmp(s, "-") != 0;
    *ret = 0;
    return !*ret_has || (u32_of(s, ret) && *ret <= max);
}

/* undo the escapes in place: %25 %09 %0A %0D, nothing else */
static bool unescape(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p != '%') {
            *w++ = *p;
            continue;
        }
        if (strncmp(p + 1, "25", 2) == 0)
            *w++ = '%';
        else if (strncmp(p + 1, "09", 2) == 0)
            *w++ = '\t';
        else if (strncmp(p + 1, "0A", 2) == 0)
            *w++ = '\n';
        else if (strncmp(p + 1, "0D", 2) == 0)
            *w++ = '\r';
        else
            return false;
        p += 2;
    }
    *w = '\0';
    return true;
}

static char *kv(const char *k, const char *v)
{
    return nr_strdup_printf("%s=%s", k, v);
}

static void end_mount(Reader *r)
{
    NrOciSpec *s = r->spec;
    if (s->n_mounts)
        s->mounts[s->n_mounts - 1].options = finish(&r->opts);
}

static void end_hook(Reader *r)
{
    NrOciSpec *s = r->spec;
    if (s->n_hooks) {
        s->hooks[s->n_hooks - 1].args = finish_or_null(&r->hook_args);
        s->hooks[s->n_hooks - 1].env = finish_or_null(&r->hook_env);
    }
}

static bool absolute(const char *p)
{
    return p[0] == '/';
}

static unsigned long propagation_of(const char *s)
{
    static const struct {
        const char *name;
        unsigned long flags;
    } t[] = { { "shared", MS_SHARED },
              { "slave", MS_SLAVE },
              { "private", MS_PRIVATE },
              { "unbindable", MS_UNBINDABLE },
              { "rshared", MS_SHARED | MS_REC },
              { "rslave", MS_SLAVE | MS_REC },
              { "rprivate", MS_PRIVATE | MS_REC },
              { "runbindable", MS_UNBINDABLE | MS_REC } };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, s) == 0)
            return t[i].flags;
    return 0;
}

static const char *const cap_sets[NR_OCI_CAP_SETS] = { "bounding", "effective", "inheritable",
                                                       "permitted", "ambient" };

/* one record: tag f[0], fields f[1 .. n) */
static int record(Reader *r, char **f, int n, NrError *err)
{
    static const struct {
        const char *tag;
        int fields;    /* after the tag */
        unsigned once; /* its ONCE_ bit, 0: may repeat */
    } tags[] = {
        { "version", 1, ONCE_VERSION },
        { "bundle", 1, ONCE_BUNDLE },
        { "root", 2, ONCE_ROOT },
        { "arg", 1, 0 },
        { "env", 1, 0 },
        { "cwd", 1, ONCE_CWD },
        { "user", 3, ONCE_USER },
        { "group", 1, 0 },
        { "terminal", 3, ONCE_TERMINAL },
        { "cap", 2, 0 },
        { "caps", 1, ONCE_CAPS },
        { "rlimit", 3, 0 },
        { "nnp", 1, ONCE_NNP },
        { "oom", 1, ONCE_OOM },
        { "hostname", 1, ONCE_HOSTNAME },
        { "domainname", 1, ONCE_DOMAINNAME },
        { "mount", 3, 0 },
        { "mopt", 1, 0 },
        { "ns", 2, 0 },
        { "uidmap", 3, 0 },
        { "gidmap", 3, 0 },
        { "masked", 1, 0 },
        { "readonly", 1, 0 },
        { "sysctl", 2, 0 },
        { "device", 7, 0 },
        { "timeoffset", 3, 0 },
        { "propagation", 1, ONCE_PROPAGATION },
        { "hook", 3, 0 },
        { "hookarg", 1, 0 },
        { "hookenv", 1, 0 },
        { "annotation", 2, 0 },
        { "seccomp", 2, ONCE_SECCOMP },
        { "warn", 1, 0 },
    };
    const char *tag = f[0];
    size_t t = 0;
    while (t < sizeof tags / sizeof tags[0] && strcmp(tags[t].tag, tag) != 0)
        t++;
    if (t == sizeof tags / sizeof tags[0])
        return bad(r, err, "unknown tag");
    if (n - 1 != tags[t].fields)
        return bad(r, err, "wrong number of fields");
    if (tags[t].once & r->seen)
        return bad(r, err, "a record that comes once is repeated");
    r->seen |= tags[t].once;
    NrOciSpec *s = r->spec;
    uint64_t u;
    int64_t i;
    uint32_t a, b, c;
    bool on;

    if (strcmp(tag, "version") == 0) {
        s->version = nr_xstrdup(f[1]);
    } else if (strcmp(tag, "bundle") == 0) {
        if (!absolute(f[1]))
            return bad(r, err, "the bundle is not absolute");
        s->bundle = nr_xstrdup(f[1]);
    } else if (strcmp(tag, "root") == 0) {
        if (!absolute(f[1]) || (strcmp(f[2], "ro") != 0 && strcmp(f[2], "rw") != 0))
            return bad(r, err, "a bad root");
        s->root = nr_xstrdup(f[1]);
        s->root_ro = strcmp(f[2], "ro") == 0;
    } else if (strcmp(tag, "arg") == 0) {
        nr_strv_push(&r->args, f[1]);
        r->has_args = true;
    } else if (strcmp(tag, "env") == 0) {
        if (!strchr(f[1], '='))
            return bad(r, err, "an env entry is not K=V");
        nr_strv_push(&r->env, f[1]);
    } else if (strcmp(tag, "cwd") == 0) {
        if (!absolute(f[1]))
            return bad(r, err, "the cwd is not absolute");
        s->cwd = nr_xstrdup(f[1]);
    } else if (strcmp(tag, "user") == 0) {
        bool has_umask;
        if (!u32_of(f[1], &a) || !u32_of(f[2], &b) || !opt_u32_of(f[3], 0777, &has_umask, &c))
            return bad(r, err, "a bad user");
        s->uid = a;
        s->gid = b;
        s->umask = has_umask ? (int)c : -1;
    } else if (strcmp(tag, "group") == 0) {
        if (!u32_of(f[1], &a))
            return bad(r, err, "a bad group");
        s->gids = grow(s->gids, &s->n_gids, sizeof *s->gids);
        s->gids[s->n_gids - 1] = a;
    } else if (strcmp(tag, "terminal") == 0) {
        if (!bool_of(f[1], &on) || !u32_of(f[2], &a) || !u32_of(f[3], &b) || a > 65535 || b > 65535)
            return bad(r, err, "a bad terminal");
        s->terminal = on;
        s->console_height = a;
        s->console_width = b;
    } else if (strcmp(tag, "cap") == 0) {
        int set = 0;
        while (set < NR_OCI_CAP_SETS && strcmp(cap_sets[set], f[1]) != 0)
            set++;
        NrError ignored = { 0 };
        if (set == NR_OCI_CAP_SETS || strncmp(f[2], "CAP_", 4) != 0 ||
            nr_caps_parse(f[2], &u, &ignored) < 0)
            return bad(r, err, "a bad capability");
        s->caps[set] |= u;
    } else if (strcmp(tag, "caps") == 0) {
        if (strcmp(f[1], "given") != 0)
            return bad(r, err, "a bad caps record");
        s->caps_given = true;
    } else if (strcmp(tag, "rlimit") == 0) {
        int res = nr_oci_rlimit_type(f[1]);
        uint64_t hard;
        if (res < 0 || !u64_of(f[2], UINT64_MAX, &u) || !u64_of(f[3], UINT64_MAX, &hard))
            return bad(r, err, "a bad rlimit");
        s->rlimits = grow(s->rlimits, &s->n_rlimits, sizeof *s->rlimits);
        s->rlimits[s->n_rlimits - 1] = (NrOciRlimit){ .resource = res, .soft = u, .hard = hard };
    } else if (strcmp(tag, "nnp") == 0) {
        if (!bool_of(f[1], &s->no_new_privs))
            return bad(r, err, "a bad nnp");
    } else if (strcmp(tag, "oom") == 0) {
        if (!i64_of(f[1], -1000, 1000, &i))
            return bad(r, err, "a bad oom score");
        s->has_oom = true;
        s->oom_score_adj = (int)i;
    } else if (strcmp(tag, "hostname") == 0) {
        s->hostname = nr_xstrdup(f[1]);
    } else if (strcmp(tag, "domainname") == 0) {
        s->domainname = nr_xstrdup(f[1]);
    } else if (strcmp(tag, "mount") == 0) {
        if (!absolute(f[1]))
            return bad(r, err, "a mount destination is not absolute");
        end_mount(r);
        s->mounts = grow(s->mounts, &s->n_mounts, sizeof *s->mounts);
        NrOciMount *m = &s->mounts[s->n_mounts - 1];
        m->dst = nr_xstrdup(f[1]);
        m->type = nr_xstrdup(f[2]);
        m->src = nr_xstrdup(f[3]);
    } else if (strcmp(tag, "mopt") == 0) {
        if (!s->n_mounts)
            return bad(r, err, "a mount option before any mount");
        nr_strv_push(&r->opts, f[1]);
    } else if (strcmp(tag, "ns") == 0) {
        int type = nr_oci_ns_type(f[1]);
        for (size_t k = 0; k < s->n_ns; k++)
            if (s->ns[k].type == type)
                type = 0;
        if (!type || (f[2][0] && !absolute(f[2])))
            return bad(r, err, "a bad namespace");
        s->ns = grow(s->ns, &s->n_ns, sizeof *s->ns);
        s->ns[s->n_ns - 1] = (NrOciNs){ .type = type, .path = f[2][0] ? nr_xstrdup(f[2]) : NULL };
    } else if (strcmp(tag, "uidmap") == 0 || strcmp(tag, "gidmap") == 0) {
        bool uid = tag[0] == 'u';
        int *count = uid ? &s->n_uid_map : &s->n_gid_map;
        NrIdRange *map = uid ? s->uid_map : s->gid_map;
        if (!u32_of(f[1], &a) || !u32_of(f[2], &b) || !u32_of(f[3], &c) || !c ||
            (uint64_t)a + c > UINT32_MAX || (uint64_t)b + c > UINT32_MAX)
            return bad(r, err, "a bad id map");
        if (*count >= NR_MAX_RANGES)
            return bad(r, err, "more id ranges than nroot maps");
        map[(*count)++] = (NrIdRange){ .inside = a, .outside = b, .count = c };
    } else if (strcmp(tag, "masked") == 0 || strcmp(tag, "readonly") == 0) {
        if (!absolute(f[1]))
            return bad(r, err, "a masked or read-only path is not absolute");
        nr_strv_push(tag[0] == 'm' ? &r->masked : &r->readonly, f[1]);
    } else if (strcmp(tag, "sysctl") == 0 || strcmp(tag, "annotation") == 0) {
        if (!f[1][0] || strchr(f[1], '='))
            return bad(r, err, "a bad key");
        NrStrv *v = tag[0] == 's' ? &r->sysctl : &r->annotations;
        /* sorted by key, as written */
        if (v->n && strcmp(v->v[v->n - 1], f[1]) >= 0)
            return bad(r, err, "keys out of order");
        nr_strv_take(v, kv(f[1], f[2]));
    } else if (strcmp(tag, "device") == 0) {
        bool has_mode, has_uid, has_gid;
        uint32_t mode, uid, gid;
        if (strlen(f[1]) != 1 || !strchr("cbup", f[1][0]) || !absolute(f[2]) || !u32_of(f[3], &a) ||
            !u32_of(f[4], &b) || !opt_u32_of(f[5], 07777, &has_mode, &mode) ||
            !opt_u32_of(f[6], UINT32_MAX - 1, &has_uid, &uid) ||
            !opt_u32_of(f[7], UINT32_MAX - 1, &has_gid, &gid))
            return bad(r, err, "a bad device");
        s->devices = grow(s->devices, &s->n_devices, sizeof *s->devices);
        s->devices[s->n_devices - 1] = (NrOciDevice){ .type = f[1][0],
                                                      .path = nr_xstrdup(f[2]),
                                                      .major = a,
                                                      .minor = b,
                                                      .has_mode = has_mode,
                                                      .has_uid = has_uid,
                                                      .has_gid = has_gid,
                                                      .mode = mode,
                                                      .uid = uid,
                                                      .gid = gid };
    } else if (strcmp(tag, "timeoffset") == 0) {
        int clock = strcmp(f[1], "monotonic") == 0  ? NR_CLOCK_MONOTONIC
                    : strcmp(f[1], "boottime") == 0 ? NR_CLOCK_BOOTTIME
                                                    : -1;
        if (clock < 0 || !i64_of(f[2], INT64_MIN, INT64_MAX, &i) || !u32_of(f[3], &a) ||
            a > 999999999)
            return bad(r, err, "a bad time offset");
        s->time_offsets.set[clock] = true;
        s->time_offsets.secs[clock] = i;
        s->time_offsets.nsecs[clock] = a;
    } else if (strcmp(tag, "propagation") == 0) {
        if (!(s->rootfs_propagation = propagation_of(f[1])))
            return bad(r, err, "a bad propagation");
    } else if (strcmp(tag, "hook") == 0) {
        int stage = nr_hook_stage(f[1]);
        if (stage < 0 || !absolute(f[2]) || !i64_of(f[3], 0, INT32_MAX, &i))
            return bad(r, err, "a bad hook");
        end_hook(r);
        s->hooks = grow(s->hooks, &s->n_hooks, sizeof *s->hooks);
        s->hooks[s->n_hooks - 1] =
            (NrHook){ .stage = (NrHookStage)stage, .path = nr_xstrdup(f[2]), .timeout = (int)i };
    } else if (strcmp(tag, "hookarg") == 0 || strcmp(tag, "hookenv") == 0) {
        if (!s->n_hooks)
            return bad(r, err, "a hook's argument or environment before any hook");
        if (tag[4] == 'e' && !strchr(f[1], '='))
            return bad(r, err, "a hook's env entry is not K=V");
        nr_strv_push(tag[4] == 'a' ? &r->hook_args : &r->hook_env, f[1]);
    } else if (strcmp(tag, "seccomp") == 0) {
        if (!u32_of(f[1], &a))
            return bad(r, err, "bad seccomp flags");
        s->has_seccomp = true;
        s->seccomp_flags = a;
        if (f[2][0])
            nr_strv_take(&r->warnings, nr_strdup_printf("config.json: linux.seccomp: %s", f[2]));
    } else { /* warn */
        nr_strv_push(&r->warnings, f[1]);
    }
    return 0;
}

static void reader_clear(Reader *r)
{
    NrStrv *v[] = { &r->args,        &r->env,      &r->masked, &r->readonly,  &r->sysctl,
                    &r->annotations, &r->warnings, &r->opts,   &r->hook_args, &r->hook_env };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        nr_strv_clear(v[k]);
}

static int parse(Reader *r, char *buf, size_t len, NrError *err)
{
    char *p = buf, *end = buf + len;
    while (p < end) {
        r->line++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return bad(r, err, "the last line does not end");
        *nl = '\0';
        char *f[MAX_FIELDS + 1];
        int n = 0;
        for (char *q = p;; n++) {
            if (n == MAX_FIELDS + 1)
                return bad(r, err, "too many fields");
            f[n] = q;
            char *tab = strchr(q, '\t');
            if (!tab) {
                n++;
                break;
            }
            *tab = '\0';
            q = tab + 1;
        }
        for (int k = 0; k < n; k++)
            if (!unescape(f[k]))
                return bad(r, err, "a bad % escape");
        if (record(r, f, n, err) < 0)
            return -1;
        p = nl + 1;
    }
    NrOciSpec *s = r->spec;
    end_mount(r);
    end_hook(r);
    s->args = finish(&r->args);
    s->env = finish(&r->env);
    s->masked = finish(&r->masked);
    s->readonly = finish(&r->readonly);
    s->sysctl = finish(&r->sysctl);
    s->annotations = finish(&r->annotations);
    s->warnings = finish(&r->warnings);
    if (!s->version || !s->bundle || !s->root || !s->cwd || !r->has_args)
        return nr_error_msg(err, "the OCI records from nroot-unpack lack the version, bundle, "
                                 "root, cwd or args");
    return 0;
}

int nr_oci_parse_records(const char *text, size_t len, NrOciSpec *spec, NrError *err)
{
    memset(spec, 0, sizeof *spec);
    spec->umask = -1;
    Reader r = { .spec = spec };
    if (memchr(text, '\0', len)) {
        r.line = 1;
        return bad(&r, err, "a NUL byte");
    }
    char *buf = nr_xmalloc(len + 1);
    memcpy(buf, text, len);
    buf[len] = '\0';
    int rc = parse(&r, buf, len, err);
    free(buf);
    if (rc < 0) {
        /* the vectors not handed to the spec yet, then the spec */
        reader_clear(&r);
        nr_oci_clear(spec);
    }
    return rc;
}

static void strv_free(char **v)
{
    for (size_t k = 0; v && v[k]; k++)
        free(v[k]);
    free(v);
}

void nr_oci_clear(NrOciSpec *s)
{
    if (!s)
        return;
    free(s->version);
    free(s->bundle);
    strv_free(s->args);
    strv_free(s->env);
    free(s->cwd);
    free(s->gids);
    free(s->rlimits);
    free(s->root);
    free(s->hostname);
    free(s->domainname);
    for (size_t k = 0; k < s->n_mounts; k++) {
        free(s->mounts[k].dst);
        free(s->mounts[k].type);
        free(s->mounts[k].src);
        strv_free(s->mounts[k].options);
    }
    free(s->mounts);
    for (size_t k = 0; k < s->n_ns; k++)
        free(s->ns[k].path);
    free(s->ns);
    strv_free(s->masked);
    strv_free(s->readonly);
    strv_free(s->sysctl);
    for (size_t k = 0; k < s->n_devices; k++)
        free(s->devices[k].path);
    free(s->devices);
    free(s->seccomp);
    free(s->saved_records);
    free(s->saved_program);
    for (size_t k = 0; k < s->n_hooks; k++) {
        free(s->hooks[k].path);
        strv_free(s->hooks[k].args);
        strv_free(s->hooks[k].env);
    }
    free(s->hooks);
    strv_free(s->annotations);
    strv_free(s->warnings);
    memset(s, 0, sizeof *s);
    s->umask = -1;
}

void nr_oci_free(NrOciSpec *spec)
{
    nr_oci_clear(spec);
    free(spec);
}
