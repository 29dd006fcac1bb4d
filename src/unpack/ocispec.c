/* SPDX-License-Identifier: Apache-2.0 */
/* ocispec.c — nroot-unpack --oci-spec: the config.json of an OCI bundle
 * (runtime-spec 1.0 to 1.2), checked and written as plain records for the
 * launcher, which links no JSON parser (HACKING.md, "The OCI records"; include/nr-oci.h).
 *
 *   nroot-unpack --oci-spec --caps=HEX BUNDLE
 *
 * fd 3: the records, `TAG<TAB>FIELD...` lines, `%`, TAB, LF and CR of a
 * field written %25 %09 %0A %0D.  fd 5: linux.seccomp compiled by the code
 * of --seccomp-compile (seccomp.c), when there is one.  fd 4: the sync
 * socket: one NR_SYNC_ERROR (one line naming config.json and the field) or
 * NR_SYNC_RESULT "ok".  Nothing is written to fd 3 before the whole spec
 * is checked.  Run by hand with fd 4 not a socket, the error is printed.
 *
 * Every member nroot does not apply gives a `warn` record, known ones with
 * the reason, unknown ones (the runtime-spec asks runtimes to ignore them)
 * as unknown: nothing is skipped silently.  HEX is the capability set the
 * seccomp rules' includes/excludes are judged against when the spec has no
 * process.capabilities.bounding. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nr-oci.h"
#include "nr-spawn.h"
#include "nr-util.h"
#include "json.h"
#include "ocispec.h"
#include "seccomp.h"

#define CONFIG_MAX (4u << 20) /* bytes of config.json */
#define DEPTH_MAX 64
#define MAX_MOUNTS 4096
#define MAX_LIST 65536 /* args, env, gids, paths, hooks' args and env, annotations, ... */
#define MAX_SMALL 4096 /* hooks of a stage, devices, rlimits, sysctls */

typedef struct Oci {
    GString *out;  /* the records but the warnings */
    GString *warn; /* the warn records, written last */
    bool has_bounding;
    uint64_t bounding; /* process.capabilities.bounding, for seccomp */
} Oci;

/* a known member: handled (why NULL), or ignored with a warning naming why */
typedef struct Known {
    const char *key;
    const char *why;
} Known;

static int bad(NrError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(NrError *err, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nr_error_msg(err, "config.json: %s", msg);
}

/* ---- records ---- */

static void put_field(GString *s, const char *f)
{
    for (; *f; f++) {
        switch (*f) {
        case '%': g_string_append(s, "%25"); break;
        case '\t': g_string_append(s, "%09"); break;
        case '\n': g_string_append(s, "%0A"); break;
        case '\r': g_string_append(s, "%0D"); break;
        default: g_string_append_c(s, *f);
        }
    }
}

/* TAG and its fields (const char *, NULL-terminated) */
static void rec(GString *s, const char *tag, ...)
{
    va_list ap;
    va_start(ap, tag);
    g_string_append(s, tag);
    for (const char *f; (f = va_arg(ap, const char *));) {
        g_string_append_c(s, '\t');
        put_field(s, f);
    }
    g_string_append_c(s, '\n');
    va_end(ap);
}

#define NUM(v) num((char[24]){ 0 }, (int64_t)(v))
#define UNUM(v) unum((char[24]){ 0 }, (uint64_t)(v))
static const char *num(char *b, int64_t v)
{
    snprintf(b, 24, "%" PRId64, v);
    return b;
}
static const char *unum(char *b, uint64_t v)
{
    snprintf(b, 24, "%" PRIu64, v);
    return b;
}

static void warn(Oci *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(Oci *o, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g_autofree char *line = g_strdup_printf("config.json: %s", msg);
    rec(o->warn, "warn", line, NULL);
}

/* ---- typed members; `where` names the object ("process", "mounts[2]") ---- */

static JsonNode *member(JsonObject *o, const char *key)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

static bool is_string(JsonNode *n)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

/* "where.key" (or "key" at the top) */
static const char *name_of(char *buf, size_t size, const char *where, const char *key)
{
    snprintf(buf, size, "%s%s%s", where, *where ? "." : "", key);
    return buf;
}
#define NAME(where, key) name_of((char[256]){ 0 }, 256, where, key)

static int get_string(JsonObject *o, const char *where, const char *key, bool required,
                      const char **ret, NrError *err)
{
    JsonNode *n = member(o, key);
    *ret = NULL;
    if (!n)
        return required ? bad(err, "%s is missing", NAME(where, key)) : 0;
    if (!is_string(n))
        return bad(err, "%s must be a string", NAME(where, key));
    *ret = json_node_get_string(n);
    return 0;
}

static int get_bool(JsonObject *o, const char *where, const char *key, bool *ret, NrError *err)
{
    JsonNode *n = member(o, key);
    *ret = false;
    if (!n)
        return 0;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return bad(err, "%s must be true or false", NAME(where, key));
    *ret = json_node_get_boolean(n);
    return 0;
}

/* an integer in [min, max]; *ret_has false when absent */
static int get_int(JsonObject *o, const char *where, const char *key, int64_t min, int64_t max,
                   bool *ret_has, int64_t *ret, NrError *err)
{
    JsonNode *n = member(o, key);
    *ret = 0;
    if (ret_has)
        *ret_has = n != NULL;
    if (!n)
        return 0;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
        json_node_get_int(n) < min || json_node_get_int(n) > max)
        return bad(err, "%s must be a number from %" PRId64 " to %" PRId64, NAME(where, key), min,
                   max);
    *ret = json_node_get_int(n);
    return 0;
}

/* an unsigned 64-bit number.  json-glib hands 2^63 .. 2^64-1 over as the
 * negative int64 of the same bits (18446744073709551615, RLIM_INFINITY, as
 * -1), so a negative number is taken as those bits: a literal -1 is
 * RLIM_INFINITY too */
static int get_u64(JsonObject *o, const char *where, const char *key, bool required, uint64_t *ret,
                   NrError *err)
{
    JsonNode *n = member(o, key);
    *ret = 0;
    if (!n)
        return required ? bad(err, "%s is missing", NAME(where, key)) : 0;
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64) {
        *ret = (uint64_t)json_node_get_int(n);
        return 0;
    }
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_DOUBLE) {
        double d = json_node_get_double(n);
        if (d >= 0 && d < 18446744073709551616.0 && d == (double)(uint64_t)d) {
            *ret = (uint64_t)d;
            return 0;
        }
    }
    return bad(err, "%s must be a number from 0 to 2^64-1", NAME(where, key));
}

static int get_object(JsonObject *o, const char *where, const char *key, bool required,
                      JsonObject **ret, NrError *err)
{
    JsonNode *n = member(o, key);
    *ret = NULL;
    if (!n)
        return required ? bad(err, "%s is missing", NAME(where, key)) : 0;
    if (!JSON_NODE_HOLDS_OBJECT(n))
        return bad(err, "%s must be an object", NAME(where, key));
    *ret = json_node_get_object(n);
    return 0;
}

/* an array of at most `max` elements; NULL when absent */
static int get_array(JsonObject *o, const char *where, const char *key, guint max, JsonArray **ret,
                     NrError *err)
{
    JsonNode *n = member(o, key);
    *ret = NULL;
    if (!n)
        return 0;
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return bad(err, "%s must be an array", NAME(where, key));
    if (json_array_get_length(json_node_get_array(n)) > max)
        return bad(err, "%s has more than %u entries", NAME(where, key), max);
    *ret = json_node_get_array(n);
    return 0;
}

static guint length(JsonArray *a)
{
    return a ? json_array_get_length(a) : 0;
}

/* element i of an array of strings */
static int elem_string(JsonArray *a, guint i, const char *what, const char **ret, NrError *err)
{
    JsonNode *n = json_array_get_element(a, i);
    *ret = NULL;
    if (!is_string(n))
        return bad(err, "%s[%u] must be a string", what, i);
    *ret = json_node_get_string(n);
    return 0;
}

static int elem_object(JsonArray *a, guint i, const char *what, JsonObject **ret, NrError *err)
{
    JsonNode *n = json_array_get_element(a, i);
    *ret = NULL;
    if (!JSON_NODE_HOLDS_OBJECT(n))
        return bad(err, "%s[%u] must be an object", what, i);
    *ret = json_node_get_object(n);
    return 0;
}

/* null, "", [] and {} say nothing: no warning for them */
static bool empty(JsonNode *n)
{
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return true;
    if (is_string(n))
        return !*json_node_get_string(n);
    if (JSON_NODE_HOLDS_ARRAY(n))
        return json_array_get_length(json_node_get_array(n)) == 0;
    if (JSON_NODE_HOLDS_OBJECT(n))
        return json_object_get_size(json_node_get_object(n)) == 0;
    return false;
}

/* a warning for each member of `o` that is known and ignored, or unknown */
static void check_keys(Oci *oc, JsonObject *o, const char *where, const Known *known)
{
    if (!o)
        return;
    g_autoptr(GList) keys = json_object_get_members(o);
    for (GList *l = keys; l; l = l->next) {
        const char *key = l->data;
        const Known *k = known;
        while (k->key && strcmp(k->key, key) != 0)
            k++;
        if (!k->key)
            warn(oc, "%s is not known to nroot, ignored", NAME(where, key));
        else if (k->why && !empty(json_object_get_member(o, key)))
            warn(oc, "%s is ignored (%s)", NAME(where, key), k->why);
    }
}

static bool absolute(const char *path)
{
    return path && path[0] == '/';
}

/* ---- the parts, in the records' order ---- */

static int do_version(Oci *oc, JsonObject *top, NrError *err)
{
    const char *v;
    if (get_string(top, "", "ociVersion", true, &v, err) < 0)
        return -1;
    unsigned major, minor;
    char dot;
    if (sscanf(v, "%u.%u%c", &major, &minor, &dot) != 3 || dot != '.')
        return bad(err, "ociVersion '%.64s' is not a version (MAJOR.MINOR.PATCH)", v);
    if (major != 1 || minor > 2)
        return bad(err, "ociVersion '%.64s' is not supported: nroot reads runtime-spec 1.0 to 1.2",
                   v);
    rec(oc->out, "version", v, NULL);
    return 0;
}

/* a kernel before 5.6 (no openat2): the path resolved whole, then checked
 * to be the bundle or beneath it (the same answer, racy against a bundle
 * that changes meanwhile, which only its owner can do) */
static int root_fallback(Oci *oc, const char *bundle, const char *path, bool ro, NrError *err)
{
    g_autofree char *joined = g_build_filename(bundle, path, NULL);
    g_autofree char *resolved = realpath(joined, NULL);
    if (!resolved)
        return bad(err, "root.path '%s': %s", path, g_strerror(errno));
    size_t n = strlen(bundle);
    if (strncmp(resolved, bundle, n) != 0 || (resolved[n] != '/' && resolved[n] != '\0'))
        return bad(err, "root.path '%s' leads out of the bundle", path);
    struct stat st;
    if (stat(resolved, &st) < 0 || !S_ISDIR(st.st_mode))
        return bad(err, "root.path '%s' is not a directory", path);
    rec(oc->out, "root", resolved, ro ? "ro" : "rw", NULL);
    return 0;
}

/* root.path: inside the bundle (no `..` or symlink out of it: openat2's
 * RESOLVE_BENEATH refuses what RESOLVE_IN_ROOT would clamp), or absolute,
 * taken as given (resolved) */
static int do_root(Oci *oc, const char *bundle, int bundle_fd, JsonObject *top, NrError *err)
{
    JsonObject *root;
    const char *path;
    bool ro;
    if (get_object(top, "", "root", true, &root, err) < 0 ||
        get_string(root, "root", "path", true, &path, err) < 0 ||
        get_bool(root, "root", "readonly", &ro, err) < 0)
        return -1;
    check_keys(oc, root, "root",
               (const Known[]){ { .key = "path" }, { .key = "readonly" }, { .key = NULL } });
    if (!*path)
        return bad(err, "root.path is empty");
    g_autofree char *resolved = NULL;
    if (absolute(path)) {
        resolved = realpath(path, NULL);
        if (!resolved)
            return bad(err, "root.path '%s': %s", path, g_strerror(errno));
    } else {
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        int fd = (int)syscall(SYS_openat2, bundle_fd, path, &how, sizeof how);
        if (fd < 0 && errno == ENOSYS)
            return root_fallback(oc, bundle, path, ro, err);
        if (fd < 0 && errno == EXDEV)
            return bad(err, "root.path '%s' leads out of the bundle", path);
        if (fd < 0)
            return bad(err, "root.path '%s': %s", path, g_strerror(errno));
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        resolved = g_file_read_link(proc, NULL);
        close(fd);
        if (!resolved || !absolute(resolved))
            return bad(err, "root.path '%s': cannot tell where it leads", path);
    }
    struct stat st;
    if (stat(resolved, &st) < 0 || !S_ISDIR(st.st_mode))
        return bad(err, "root.path '%s' is not a directory", path);
    rec(oc->out, "root", resolved, ro ? "ro" : "rw", NULL);
    return 0;
}

static const char *const cap_sets[NR_OCI_CAP_SETS] = { "bounding", "effective", "inheritable",
                                                       "permitted", "ambient" };

static int do_caps(Oci *oc, JsonObject *proc, NrError *err)
{
    JsonObject *caps;
    if (get_object(proc, "process", "capabilities", false, &caps, err) < 0)
        return -1;
    if (!caps)
        return 0;
    check_keys(oc, caps, "process.capabilities",
               (const Known[]){ { .key = "bounding" },
                                { .key = "effective" },
                                { .key = "inheritable" },
                                { .key = "permitted" },
                                { .key = "ambient" },
                                { .key = NULL } });
    for (int s = 0; s < NR_OCI_CAP_SETS; s++) {
        char where[64];
        snprintf(where, sizeof where, "process.capabilities.%s", cap_sets[s]);
        JsonArray *a;
        if (get_array(caps, "process.capabilities", cap_sets[s], 256, &a, err) < 0)
            return -1;
        if (s == NR_OCI_CAP_BOUNDING && a)
            oc->has_bounding = true;
        for (guint i = 0; i < length(a); i++) {
            const char *name;
            if (elem_string(a, i, where, &name, err) < 0)
                return -1;
            uint64_t bit = nr_unpack_cap_bit(name);
            if (!bit || strncasecmp(name, "CAP_", 4) != 0)
                return bad(err, "%s: unknown capability '%s'", where, name);
            if (s == NR_OCI_CAP_BOUNDING)
                oc->bounding |= bit;
            rec(oc->out, "cap", cap_sets[s], name, NULL);
        }
    }
    rec(oc->out, "caps", "given", NULL);
    return 0;
}

static int do_rlimits(Oci *oc, JsonObject *proc, NrError *err)
{
    JsonArray *a;
    if (get_array(proc, "process", "rlimits", MAX_SMALL, &a, err) < 0)
        return -1;
    unsigned long long seen = 0;
    for (guint i = 0; i < length(a); i++) {
        JsonObject *r;
        char where[64];
        snprintf(where, sizeof where, "process.rlimits[%u]", i);
        const char *type;
        uint64_t soft, hard;
        if (elem_object(a, i, "process.rlimits", &r, err) < 0 ||
            get_string(r, where, "type", true, &type, err) < 0 ||
            get_u64(r, where, "soft", true, &soft, err) < 0 ||
            get_u64(r, where, "hard", true, &hard, err) < 0)
            return -1;
        check_keys(oc, r, where,
                   (const Known[]){
                       { .key = "type" }, { .key = "soft" }, { .key = "hard" }, { .key = NULL } });
        int res = nr_oci_rlimit_type(type);
        if (res < 0)
            return bad(err, "%s.type: unknown resource '%s'", where, type);
        if (seen & (1ULL << res))
            return bad(err, "%s.type: %s is given twice", where, type);
        seen |= 1ULL << res;
        if (soft > hard)
            return bad(err, "%s: the soft limit is above the hard one", where);
        rec(oc->out, "rlimit", type, UNUM(soft), UNUM(hard), NULL);
    }
    return 0;
}

static int string_list(Oci *oc, JsonObject *o, const char *where, const char *key, const char *tag,
                       bool need_abs, bool need_eq, NrError *err)
{
    JsonArray *a;
    if (get_array(o, where, key, MAX_LIST, &a, err) < 0)
        return -1;
    char what[64];
    name_of(what, sizeof what, where, key);
    for (guint i = 0; i < length(a); i++) {
        const char *s;
        if (elem_string(a, i, what, &s, err) < 0)
            return -1;
        if (need_abs && !absolute(s))
            return bad(err, "%s[%u] '%s' is not an absolute path", what, i, s);
        if (need_eq && (!strchr(s, '=') || s[0] == '='))
            return bad(err, "%s[%u] '%s' is not KEY=VALUE", what, i, s);
        rec(oc->out, tag, s, NULL);
    }
    return 0;
}

static int do_process(Oci *oc, JsonObject *top, NrError *err)
{
    JsonObject *p;
    if (get_object(top, "", "process", false, &p, err) < 0)
        return -1;
    if (!p)
        return bad(err, "process is missing: nroot runs a process");
    check_keys(oc, p, "process",
               (const Known[]){ { .key = "terminal" },
                                { .key = "consoleSize" },
                                { .key = "cwd" },
                                { .key = "env" },
                                { .key = "args" },
                                { .key = "rlimits" },
                                { .key = "capabilities" },
                                { .key = "noNewPrivileges" },
                                { .key = "oomScoreAdj" },
                                { .key = "user" },
                                { "apparmorProfile", "no AppArmor rootless" },
                                { "selinuxLabel", "no SELinux rootless" },
                                { "scheduler", "not applied by nroot" },
                                { "ioPriority", "not applied by nroot" },
                                { "execCPUAffinity", "not applied by nroot" },
                                { "commandLine", "Windows only" },
                                { .key = NULL } });
    JsonArray *args;
    if (get_array(p, "process", "args", MAX_LIST, &args, err) < 0)
        return -1;
    if (!length(args))
        return bad(err, "process.args is missing or empty: nothing to run");
    if (string_list(oc, p, "process", "args", "arg", false, false, err) < 0 ||
        string_list(oc, p, "process", "env", "env", false, true, err) < 0)
        return -1;
    const char *cwd;
    if (get_string(p, "process", "cwd", true, &cwd, err) < 0)
        return -1;
    if (!absolute(cwd))
        return bad(err, "process.cwd '%s' is not an absolute path", cwd);
    rec(oc->out, "cwd", cwd, NULL);

    JsonObject *user;
    int64_t uid, gid, umask;
    bool has_umask;
    JsonArray *gids;
    if (get_object(p, "process", "user", false, &user, err) < 0 ||
        get_int(user, "process.user", "uid", 0, UINT32_MAX - 1, NULL, &uid, err) < 0 ||
        get_int(user, "process.user", "gid", 0, UINT32_MAX - 1, NULL, &gid, err) < 0 ||
        get_int(user, "process.user", "umask", 0, 0777, &has_umask, &umask, err) < 0 ||
        get_array(user, "process.user", "additionalGids", MAX_LIST, &gids, err) < 0)
        return -1;
    check_keys(oc, user, "process.user",
               (const Known[]){ { .key = "uid" },
                                { .key = "gid" },
                                { .key = "umask" },
                                { .key = "additionalGids" },
                                { "username", "Windows only" },
                                { .key = NULL } });
    rec(oc->out, "user", NUM(uid), NUM(gid), has_umask ? NUM(umask) : "-", NULL);
    for (guint i = 0; i < length(gids); i++) {
        JsonNode *n = json_array_get_element(gids, i);
        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
            json_node_get_int(n) < 0 || json_node_get_int(n) > UINT32_MAX - 1)
            return bad(err, "process.user.additionalGids[%u] must be a group id", i);
        rec(oc->out, "group", NUM(json_node_get_int(n)), NULL);
    }

    bool terminal;
    JsonObject *size;
    int64_t h, w;
    if (get_bool(p, "process", "terminal", &terminal, err) < 0 ||
        get_object(p, "process", "consoleSize", false, &size, err) < 0 ||
        get_int(size, "process.consoleSize", "height", 0, UINT16_MAX, NULL, &h, err) < 0 ||
        get_int(size, "process.consoleSize", "width", 0, UINT16_MAX, NULL, &w, err) < 0)
        return -1;
    check_keys(oc, size, "process.consoleSize",
               (const Known[]){ { .key = "height" }, { .key = "width" }, { .key = NULL } });
    rec(oc->out, "terminal", terminal ? "1" : "0", NUM(h), NUM(w), NULL);

    bool nnp, has_oom;
    int64_t oom;
    if (do_caps(oc, p, err) < 0 || do_rlimits(oc, p, err) < 0 ||
        get_bool(p, "process", "noNewPrivileges", &nnp, err) < 0 ||
        get_int(p, "process", "oomScoreAdj", -1000, 1000, &has_oom, &oom, err) < 0)
        return -1;
    rec(oc->out, "nnp", nnp ? "1" : "0", NULL);
    if (has_oom)
        rec(oc->out, "oom", NUM(oom), NULL);
    return 0;
}

static int do_names(Oci *oc, JsonObject *top, NrError *err)
{
    static const char *const keys[] = { "hostname", "domainname" };
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        const char *v;
        if (get_string(top, "", keys[i], false, &v, err) < 0)
            return -1;
        if (v && strlen(v) > 64)
            return bad(err, "%s is longer than 64 bytes", keys[i]);
        if (v)
            rec(oc->out, keys[i], v, NULL);
    }
    return 0;
}

static int do_mounts(Oci *oc, JsonObject *top, NrError *err)
{
    JsonArray *a;
    if (get_array(top, "", "mounts", MAX_MOUNTS, &a, err) < 0)
        return -1;
    for (guint i = 0; i < length(a); i++) {
        char where[32];
        snprintf(where, sizeof where, "mounts[%u]", i);
        JsonObject *m;
        const char *dst, *type, *src;
        JsonArray *opts;
        if (elem_object(a, i, "mounts", &m, err) < 0 ||
            get_string(m, where, "destination", true, &dst, err) < 0 ||
            get_string(m, where, "type", false, &type, err) < 0 ||
            get_string(m, where, "source", false, &src, err) < 0 ||
            get_array(m, where, "options", MAX_SMALL, &opts, err) < 0)
            return -1;
        if (!absolute(dst))
            return bad(err, "%s.destination '%s' is not an absolute path", where, dst);
        check_keys(oc, m, where,
                   (const Known[]){ { .key = "destination" },
                                    { .key = "type" },
                                    { .key = "source" },
                                    { .key = "options" },
                                    { "uidMappings", "id-mapped mounts are not supported" },
                                    { "gidMappings", "id-mapped mounts are not supported" },
                                    { .key = NULL } });
        rec(oc->out, "mount", dst, type ? type : "", src ? src : "", NULL);
        if (string_list(oc, m, where, "options", "mopt", false, false, err) < 0)
            return -1;
    }
    return 0;
}

static int do_namespaces(Oci *oc, JsonObject *lx, NrError *err)
{
    JsonArray *a;
    if (get_array(lx, "linux", "namespaces", 64, &a, err) < 0)
        return -1;
    int seen = 0;
    for (guint i = 0; i < length(a); i++) {
        char where[40];
        snprintf(where, sizeof where, "linux.namespaces[%u]", i);
        JsonObject *ns;
        const char *type, *path;
        if (elem_object(a, i, "linux.namespaces", &ns, err) < 0 ||
            get_string(ns, where, "type", true, &type, err) < 0 ||
            get_string(ns, where, "path", false, &path, err) < 0)
            return -1;
        check_keys(oc, ns, where,
                   (const Known[]){ { .key = "type" }, { .key = "path" }, { .key = NULL } });
        int flag = nr_oci_ns_type(type);
        if (!flag)
            return bad(err, "%s.type: unknown namespace '%s'", where, type);
        if (seen & flag)
            return bad(err, "%s.type: the %s namespace is given twice", where, type);
        seen |= flag;
        if (path && *path && !absolute(path))
            return bad(err, "%s.path '%s' is not an absolute path", where, path);
        rec(oc->out, "ns", type, path ? path : "", NULL);
    }
    return 0;
}

static int do_idmap(Oci *oc, JsonObject *lx, const char *key, const char *tag, NrError *err)
{
    JsonArray *a;
    if (get_array(lx, "linux", key, 64, &a, err) < 0)
        return -1;
    if (length(a) > NR_MAX_RANGES)
        return bad(err, "linux.%s has %u ranges: nroot maps at most %d", key, length(a),
                   NR_MAX_RANGES);
    for (guint i = 0; i < length(a); i++) {
        char where[40];
        snprintf(where, sizeof where, "linux.%s[%u]", key, i);
        JsonObject *m;
        int64_t in, out, size;
        if (elem_object(a, i, key, &m, err) < 0 ||
            get_int(m, where, "containerID", 0, UINT32_MAX, NULL, &in, err) < 0 ||
            get_int(m, where, "hostID", 0, UINT32_MAX, NULL, &out, err) < 0 ||
            get_int(m, where, "size", 0, UINT32_MAX, NULL, &size, err) < 0)
            return -1;
        check_keys(oc, m, where,
                   (const Known[]){ { .key = "containerID" },
                                    { .key = "hostID" },
                                    { .key = "size" },
                                    { .key = NULL } });
        if (!size)
            return bad(err, "%s.size is 0", where);
        if (in + size > (int64_t)UINT32_MAX || out + size > (int64_t)UINT32_MAX)
            return bad(err, "%s: the range goes past the last id", where);
        rec(oc->out, tag, NUM(in), NUM(out), NUM(size), NULL);
    }
    return 0;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(a, b);
}

/* an object of strings, as records sorted by key */
static int sorted_map(Oci *oc, JsonObject *o, const char *where, const char *key, const char *tag,
                      NrError *err)
{
    JsonObject *m;
    if (get_object(o, where, key, false, &m, err) < 0)
        return -1;
    if (!m)
        return 0;
    const char *what = NAME(where, key);
    if (json_object_get_size(m) > MAX_LIST)
        return bad(err, "%s has more than %u entries", what, MAX_LIST);
    g_autoptr(GList) keys = g_list_sort(json_object_get_members(m), cmp_str);
    for (GList *l = keys; l; l = l->next) {
        const char *k = l->data;
        JsonNode *v = json_object_get_member(m, k);
        if (!is_string(v))
            return bad(err, "%s['%s'] must be a string", what, k);
        if (!*k || strchr(k, '='))
            return bad(err, "%s: the key '%s' is empty or holds '='", what, k);
        rec(oc->out, tag, k, json_node_get_string(v), NULL);
    }
    return 0;
}

static int do_devices(Oci *oc, JsonObject *lx, NrError *err)
{
    JsonArray *a;
    if (get_array(lx, "linux", "devices", MAX_SMALL, &a, err) < 0)
        return -1;
    for (guint i = 0; i < length(a); i++) {
        char where[40];
        snprintf(where, sizeof where, "linux.devices[%u]", i);
        JsonObject *d;
        const char *type, *path;
        int64_t major, minor, mode, uid, gid;
        bool has_mode, has_uid, has_gid, has_major, has_minor;
        if (elem_object(a, i, "linux.devices", &d, err) < 0 ||
            get_string(d, where, "type", true, &type, err) < 0 ||
            get_string(d, where, "path", true, &path, err) < 0 ||
            get_int(d, where, "major", 0, UINT32_MAX, &has_major, &major, err) < 0 ||
            get_int(d, where, "minor", 0, UINT32_MAX, &has_minor, &minor, err) < 0 ||
            get_int(d, where, "fileMode", 0, UINT32_MAX, &has_mode, &mode, err) < 0 ||
            get_int(d, where, "uid", 0, UINT32_MAX - 1, &has_uid, &uid, err) < 0 ||
            get_int(d, where, "gid", 0, UINT32_MAX - 1, &has_gid, &gid, err) < 0)
            return -1;
        check_keys(oc, d, where,
                   (const Known[]){ { .key = "type" },
                                    { .key = "path" },
                                    { .key = "major" },
                                    { .key = "minor" },
                                    { .key = "fileMode" },
                                    { .key = "uid" },
                                    { .key = "gid" },
                                    { .key = NULL } });
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
            return bad(err, "%s.type '%s' is not c, b, u or p", where, type);
        if (!absolute(path))
            return bad(err, "%s.path '%s' is not an absolute path", where, path);
        if (type[0] != 'p' && (!has_major || !has_minor))
            return bad(err, "%s: a %s device needs major and minor", where, type);
        rec(oc->out, "device", type, path, NUM(major), NUM(minor),
            has_mode ? NUM(mode & 07777) : "-", has_uid ? NUM(uid) : "-", has_gid ? NUM(gid) : "-",
            NULL);
    }
    return 0;
}

static int do_time_offsets(Oci *oc, JsonObject *lx, NrError *err)
{
    JsonObject *t;
    if (get_object(lx, "linux", "timeOffsets", false, &t, err) < 0)
        return -1;
    if (!t)
        return 0;
    g_autoptr(GList) keys = g_list_sort(json_object_get_members(t), cmp_str);
    for (GList *l = keys; l; l = l->next) {
        const char *clock = l->data;
        if (strcmp(clock, "monotonic") != 0 && strcmp(clock, "boottime") != 0)
            return bad(err, "linux.timeOffsets: unknown clock '%s' (monotonic, boottime)", clock);
        char where[40];
        snprintf(where, sizeof where, "linux.timeOffsets.%s", clock);
        JsonObject *o;
        int64_t secs, nsecs;
        if (get_object(t, "linux.timeOffsets", clock, true, &o, err) < 0 ||
            get_int(o, where, "secs", INT64_MIN, INT64_MAX, NULL, &secs, err) < 0 ||
            get_int(o, where, "nanosecs", 0, 999999999, NULL, &nsecs, err) < 0)
            return -1;
        check_keys(oc, o, where,
                   (const Known[]){ { .key = "secs" }, { .key = "nanosecs" }, { .key = NULL } });
        rec(oc->out, "timeoffset", clock, NUM(secs), NUM(nsecs), NULL);
    }
    return 0;
}

static int do_propagation(Oci *oc, JsonObject *lx, NrError *err)
{
    static const char *const ok[] = { "shared",  "slave",  "private",  "unbindable",
                                      "rshared", "rslave", "rprivate", "runbindable" };
    const char *p;
    if (get_string(lx, "linux", "rootfsPropagation", false, &p, err) < 0)
        return -1;
    if (!p || !*p)
        return 0;
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++)
        if (strcmp(ok[i], p) == 0) {
            rec(oc->out, "propagation", p, NULL);
            return 0;
        }
    return bad(err, "linux.rootfsPropagation: unknown propagation '%s'", p);
}

/* the linux object, but seccomp (compiled last) */
static int do_linux(Oci *oc, JsonObject *lx, NrError *err)
{
    check_keys(oc, lx, "linux",
               (const Known[]){ { .key = "namespaces" },
                                { .key = "uidMappings" },
                                { .key = "gidMappings" },
                                { .key = "timeOffsets" },
                                { .key = "devices" },
                                { .key = "maskedPaths" },
                                { .key = "readonlyPaths" },
                                { .key = "sysctl" },
                                { .key = "rootfsPropagation" },
                                { .key = "seccomp" },
                                { .key = "resources" }, /* below, member by member */
                                { "cgroupsPath", "nroot manages no cgroups" },
                                { "intelRdt", "no Intel RDT rootless" },
                                { "personality", "not applied by nroot" },
                                { "mountLabel", "no SELinux rootless" },
                                { "netDevices", "not supported by nroot" },
                                { "memoryPolicy", "not applied by nroot" },
                                { .key = NULL } });
    JsonNode *res = member(lx, "resources");
    if (res && JSON_NODE_HOLDS_OBJECT(res)) {
        g_autoptr(GList) keys = json_object_get_members(json_node_get_object(res));
        for (GList *l = keys; l; l = l->next)
            if (!empty(json_object_get_member(json_node_get_object(res), l->data)))
                warn(oc, "linux.resources.%s is ignored (nroot manages no cgroups)",
                     (const char *)l->data);
    } else if (!empty(res)) {
        warn(oc, "linux.resources is ignored (nroot manages no cgroups)");
    }
    if (do_namespaces(oc, lx, err) < 0 || do_idmap(oc, lx, "uidMappings", "uidmap", err) < 0 ||
        do_idmap(oc, lx, "gidMappings", "gidmap", err) < 0 ||
        string_list(oc, lx, "linux", "maskedPaths", "masked", true, false, err) < 0 ||
        string_list(oc, lx, "linux", "readonlyPaths", "readonly", true, false, err) < 0 ||
        sorted_map(oc, lx, "linux", "sysctl", "sysctl", err) < 0 || do_devices(oc, lx, err) < 0 ||
        do_time_offsets(oc, lx, err) < 0 || do_propagation(oc, lx, err) < 0)
        return -1;
    return 0;
}

static int do_hooks(Oci *oc, JsonObject *top, NrError *err)
{
    static const char *const stages[] = { "prestart",       "createRuntime", "createContainer",
                                          "startContainer", "poststart",     "poststop" };
    JsonObject *hooks;
    if (get_object(top, "", "hooks", false, &hooks, err) < 0)
        return -1;
    if (!hooks)
        return 0;
    check_keys(oc, hooks, "hooks",
               (const Known[]){ { .key = "prestart" },
                                { .key = "createRuntime" },
                                { .key = "createContainer" },
                                { .key = "startContainer" },
                                { .key = "poststart" },
                                { .key = "poststop" },
                                { .key = NULL } });
    for (size_t s = 0; s < G_N_ELEMENTS(stages); s++) {
        JsonArray *a;
        if (get_array(hooks, "hooks", stages[s], MAX_SMALL, &a, err) < 0)
            return -1;
        for (guint i = 0; i < length(a); i++) {
            char where[48];
            snprintf(where, sizeof where, "hooks.%s[%u]", stages[s], i);
            JsonObject *h;
            const char *path;
            bool has_timeout;
            int64_t timeout;
            if (elem_object(a, i, where, &h, err) < 0 ||
                get_string(h, where, "path", true, &path, err) < 0 ||
                get_int(h, where, "timeout", INT32_MIN, INT32_MAX, &has_timeout, &timeout, err) < 0)
                return -1;
            check_keys(oc, h, where,
                       (const Known[]){ { .key = "path" },
                                        { .key = "args" },
                                        { .key = "env" },
                                        { .key = "timeout" },
                                        { .key = NULL } });
            if (!absolute(path))
                return bad(err, "%s.path '%s' is not an absolute path", where, path);
            if (has_timeout && timeout <= 0)
                return bad(err, "%s.timeout must be above 0", where);
            rec(oc->out, "hook", stages[s], path, NUM(timeout), NULL);
            if (string_list(oc, h, where, "args", "hookarg", false, false, err) < 0 ||
                string_list(oc, h, where, "env", "hookenv", false, true, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* linux.seccomp to out_fd, judged against the spec's bounding set (else
 * `caps`) */
static int do_seccomp(Oci *oc, JsonObject *lx, uint64_t caps, int out_fd, NrError *err)
{
    JsonNode *n = member(lx, "seccomp");
    if (!n)
        return 0;
    if (!JSON_NODE_HOLDS_OBJECT(n))
        return bad(err, "linux.seccomp must be an object");
    JsonObject *s = json_node_get_object(n);
    check_keys(
        oc, s, "linux.seccomp",
        (const Known[]){ { .key = "defaultAction" },
                         { .key = "defaultErrnoRet" },
                         { .key = "architectures" },
                         { .key = "archMap" }, /* docker's form, which the compiler takes too */
                         { .key = "flags" },
                         { .key = "syscalls" },
                         { "listenerPath", "no seccomp agent in nroot" },
                         { "listenerMetadata", "no seccomp agent in nroot" },
                         { .key = NULL } });
    uint32_t flags;
    g_autofree char *note = NULL;
    if (nr_unpack_seccomp_compile(n, "config.json: linux.seccomp",
                                  oc->has_bounding ? oc->bounding : caps, out_fd, &flags, &note,
                                  err) < 0)
        return -1;
    rec(oc->out, "seccomp", UNUM(flags), note ? note : "", NULL);
    return 0;
}

/* a "\u0000" in a string of the text: json-glib would cut the string there */
static bool has_nul_escape(const char *text, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (!in_string) {
            in_string = text[i] == '"';
            continue;
        }
        if (text[i] == '"') {
            in_string = false;
        } else if (text[i] == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                return true;
            i++;
        }
    }
    return false;
}

static char *read_config(int bundle_fd, const char *bundle, size_t *ret_len, NrError *err)
{
    int fd = openat(bundle_fd, "config.json", O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        nr_error_errno(err, "config.json: cannot read '%s/config.json'", bundle);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX) {
        close(fd);
        if (S_ISREG(st.st_mode))
            bad(err, "larger than %u MiB", CONFIG_MAX >> 20);
        else
            bad(err, "'%s/config.json' is not a regular file", bundle);
        return NULL;
    }
    NrError e = { 0 };
    char *text = nr_read_fd(fd, "config.json", CONFIG_MAX, ret_len, &e);
    close(fd);
    if (!text)
        bad(err, "%s", e.msg);
    return text;
}

static int parse(Oci *oc, const char *bundle_arg, uint64_t caps, int seccomp_fd, NrError *err)
{
    g_autofree char *bundle = realpath(bundle_arg, NULL);
    if (!bundle)
        return nr_error_errno(err, "config.json: cannot find the bundle '%s'", bundle_arg);
    nr_autoclose int bundle_fd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (bundle_fd < 0)
        return nr_error_errno(err, "config.json: cannot open the bundle '%s'", bundle);
    size_t len;
    nr_autofree char *text = read_config(bundle_fd, bundle, &len, err);
    if (!text)
        return -1;
    if (nr_json_too_deep(text, len, DEPTH_MAX))
        return bad(err, "nested more than %d levels deep", DEPTH_MAX);
    if (memchr(text, '\0', len) || has_nul_escape(text, len))
        return bad(err, "holds a NUL character");
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) gerr = NULL;
    if (!json_parser_load_from_data(parser, text, (gssize)len, &gerr))
        return bad(err, "not valid JSON: %s", gerr->message);
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return bad(err, "not a JSON object");
    JsonObject *top = json_node_get_object(root);
    check_keys(oc, top, "",
               (const Known[]){ { .key = "ociVersion" },
                                { .key = "root" },
                                { .key = "process" },
                                { .key = "hostname" },
                                { .key = "domainname" },
                                { .key = "mounts" },
                                { .key = "hooks" },
                                { .key = "annotations" },
                                { .key = "linux" },
                                { "solaris", "not Linux" },
                                { "windows", "not Linux" },
                                { "vm", "nroot runs no virtual machines" },
                                { "zos", "not Linux" },
                                { .key = NULL } });
    if (do_version(oc, top, err) < 0)
        return -1;
    rec(oc->out, "bundle", bundle, NULL);
    JsonObject *lx;
    if (do_root(oc, bundle, bundle_fd, top, err) < 0 || do_process(oc, top, err) < 0 ||
        do_names(oc, top, err) < 0 || do_mounts(oc, top, err) < 0 ||
        get_object(top, "", "linux", false, &lx, err) < 0 || (lx && do_linux(oc, lx, err) < 0) ||
        do_hooks(oc, top, err) < 0 ||
        sorted_map(oc, top, "", "annotations", "annotation", err) < 0 ||
        do_seccomp(oc, lx, caps, seccomp_fd, err) < 0)
        return -1;
    return 0;
}

int nr_unpack_ocispec_main(int argc, char **argv)
{
    uint64_t caps = 0;
    if (argc != 4 || sscanf(argv[2], "--caps=%" G_GINT64_MODIFIER "x", &caps) != 1) {
        fprintf(stderr, "nroot-unpack: internal helper of nroot; not to be run by hand\n");
        return NR_EXIT_FAILURE;
    }
    Oci oc = { .out = g_string_new(NULL), .warn = g_string_new(NULL) };
    NrError err = { 0 };
    int rc = parse(&oc, argv[3], caps, 5, &err);
    if (rc == 0) {
        g_string_append_len(oc.out, oc.warn->str, (gssize)oc.warn->len);
        if (nr_write_all(3, oc.out->str, oc.out->len) < 0)
            rc = nr_error_errno(&err, "config.json: cannot write the records");
    }
    g_string_free(oc.out, TRUE);
    g_string_free(oc.warn, TRUE);
    /* fd 4 that is no socket: run by hand (or by a test), the error printed */
    if (rc < 0) {
        if (nr_sync_send(4, NR_SYNC_ERROR, &err) < 0)
            nr_error_print(&err);
        return NR_EXIT_FAILURE;
    }
    if (nr_sync_send_result(4, "ok") < 0 && errno != ENOTSOCK && errno != EBADF)
        return NR_EXIT_FAILURE;
    return 0;
}
