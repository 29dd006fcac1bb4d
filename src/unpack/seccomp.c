/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp.c — nroot-unpack --seccomp-compile: a seccomp profile in
 * the docker/podman JSON format, compiled to a BPF program for nroot.
 *
 *   nroot-unpack --seccomp-compile --caps=HEX PROFILE
 *
 * fd 3: the program goes here (seccomp_export_bpf).  fd 4: the sync socket;
 * a failure is one NR_SYNC_ERROR, success one NR_SYNC_RESULT
 * "flags=N[ NOTE]": the SECCOMP_FILTER_FLAG_* to load the program with,
 * and a note for the user (syscall names libseccomp does not know, which
 * are ignored as docker ignores them).  The launcher does not link a JSON
 * parser; this helper does anyway.
 *
 * The format: defaultAction, defaultErrnoRet, architectures or archMap,
 * flags, syscalls[] with names (or name), action, errnoRet, args[] {index,
 * value, valueTwo, op}, includes and excludes {caps, arches, minKernel}.
 * As in docker: includes.caps needs every capability named, excludes.caps
 * any; arches there name the machine (amd64); args with a repeated index
 * are alternatives, each its own rule, else all must match.
 *
 * The compiler (nr_unpack_seccomp_compile) takes a parsed profile: the
 * runtime-spec's linux.seccomp of an OCI bundle (ocispec.c) is a subset of
 * this format and goes through the same code. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "nr-seccomp.h"
#include "nr-spawn.h"
#include "json.h"
#include "seccomp.h"

#define PROFILE_MAX (4u << 20)
#define DEPTH_MAX 32

typedef struct Ctx {
    const char *what;   /* what messages start with: "seccomp profile 'PATH'" */
    GPtrArray *rules;   /* NrSeccompRule *, args and names owned */
    unsigned kernel[2]; /* major, minor */
} Ctx;

static int bad(const Ctx *c, NrError *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(const Ctx *c, NrError *err, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nr_error_msg(err, "%s: %s", c->what, msg);
}

static char *read_profile(const Ctx *c, const char *path, size_t *ret_len, NrError *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        nr_error_errno(err, "%s", c->what);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > PROFILE_MAX) {
        close(fd);
        if (S_ISREG(st.st_mode))
            bad(c, err, "larger than %u MiB", PROFILE_MAX >> 20);
        else
            bad(c, err, "not a regular file");
        return NULL;
    }
    char *buf = g_malloc((size_t)st.st_size + 1);
    size_t len = 0;
    ssize_t n;
    while (len < (size_t)st.st_size && (n = read(fd, buf + len, (size_t)st.st_size - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            nr_error_errno(err, "%s", c->what);
            close(fd);
            g_free(buf);
            return NULL;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* ---- values ---- */

/* `what`: where, for messages ("defaultAction", "syscall 'mkdir'") */
static int action_of(const Ctx *c, const char *what, const char *name, JsonNode *errno_node,
                     uint32_t *ret, NrError *err)
{
    int64_t e = EPERM;
    if (errno_node) {
        if (JSON_NODE_TYPE(errno_node) != JSON_NODE_VALUE ||
            json_node_get_value_type(errno_node) != G_TYPE_INT64 ||
            (e = json_node_get_int(errno_node)) < 0 || e > 4095)
            return bad(c, err, "%s: errnoRet must be a number from 0 to 4095", what);
    }
    if (!name)
        return bad(c, err, "%s: the action is missing", what);
    if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *ret = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *ret = SCMP_ACT_ERRNO((uint32_t)e);
    else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *ret = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *ret = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *ret = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *ret = SCMP_ACT_TRACE((uint32_t)e);
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *ret = SCMP_ACT_LOG;
    else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        return bad(c, err, "%s: SCMP_ACT_NOTIFY needs a seccomp agent, which nroot does not have",
                   what);
    else
        return bad(c, err, "%s: unknown action '%s'", what, name);
    return 0;
}

static int op_of(const Ctx *c, const char *name, int *ret, NrError *err)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE },
        { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE },
        { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE },
        { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
    };
    for (size_t i = 0; name && i < G_N_ELEMENTS(ops); i++)
        if (strcmp(ops[i].name, name) == 0) {
            *ret = ops[i].op;
            return 0;
        }
    return bad(c, err, "unknown argument operator '%s'", name ? name : "(none)");
}

/* a JSON number as an unsigned 64-bit value (json-glib keeps those above
 * INT64_MAX as doubles) */
static int u64_of(const Ctx *c, JsonObject *o, const char *key, uint64_t *ret, NrError *err)
{
    JsonNode *n = json_object_get_member(o, key);
    *ret = 0;
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return 0;
    if (JSON_NODE_TYPE(n) == JSON_NODE_VALUE && json_node_get_value_type(n) == G_TYPE_INT64 &&
        json_node_get_int(n) >= 0) {
        *ret = (uint64_t)json_node_get_int(n);
        return 0;
    }
    if (JSON_NODE_TYPE(n) == JSON_NODE_VALUE && json_node_get_value_type(n) == G_TYPE_DOUBLE) {
        double d = json_node_get_double(n);
        if (d >= 0 && d < 18446744073709551616.0 && d == (double)(uint64_t)d) {
            *ret = (uint64_t)d;
            return 0;
        }
    }
    return bad(c, err, "'%s' of an argument must be a number from 0 to 2^64-1", key);
}

static const char *str_member(JsonObject *o, const char *key)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    if (!n || JSON_NODE_TYPE(n) != JSON_NODE_VALUE || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

/* an array member (missing or null: an empty one); NULL and an error if
 * it is something else */
static JsonArray *array_member(const Ctx *c, JsonObject *o, const char *key, JsonArray *empty,
                               NrError *err)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return empty;
    if (JSON_NODE_TYPE(n) != JSON_NODE_ARRAY) {
        bad(c, err, "'%s' must be an array", key);
        return NULL;
    }
    return json_node_get_array(n);
}

static const char *array_string(const Ctx *c, JsonArray *a, guint i, const char *what, NrError *err)
{
    JsonNode *n = json_array_get_element(a, i);
    if (JSON_NODE_TYPE(n) != JSON_NODE_VALUE || json_node_get_value_type(n) != G_TYPE_STRING) {
        bad(c, err, "%s must be strings", what);
        return NULL;
    }
    return json_node_get_string(n);
}

static bool native_arch(const char *name)
{
    return strcmp(name, "amd64") == 0 || strcmp(name, "x86_64") == 0 ||
           strcmp(name, "SCMP_ARCH_X86_64") == 0;
}

static int arch_bit(const Ctx *c, const char *name, unsigned *bits, NrError *err)
{
    if (strcmp(name, "SCMP_ARCH_X86_64") == 0)
        *bits |= NR_ARCH_X86_64;
    else if (strcmp(name, "SCMP_ARCH_X86") == 0)
        *bits |= NR_ARCH_X86;
    else if (strcmp(name, "SCMP_ARCH_X32") == 0)
        *bits |= NR_ARCH_X32;
    else if (strncmp(name, "SCMP_ARCH_", 10) != 0)
        return bad(c, err, "unknown architecture '%s'", name);
    /* another machine's: this kernel never runs it */
    return 0;
}

/* ---- the profile's parts ---- */

static int profile_arches(const Ctx *c, JsonObject *root, unsigned *ret, NrError *err)
{
    g_autoptr(JsonArray) empty = json_array_new();
    JsonArray *list = array_member(c, root, "architectures", empty, err);
    JsonArray *map = array_member(c, root, "archMap", empty, err);
    if (!list || !map)
        return -1;
    *ret = NR_ARCH_X86_64;
    for (guint i = 0; i < json_array_get_length(list); i++) {
        const char *a = array_string(c, list, i, "architectures", err);
        if (!a || arch_bit(c, a, ret, err) < 0)
            return -1;
    }
    if (json_array_get_length(list))
        return 0;
    /* podman's form: the entry of the native architecture, with its subarchitectures */
    for (guint i = 0; i < json_array_get_length(map); i++) {
        JsonNode *n = json_array_get_element(map, i);
        JsonObject *e = JSON_NODE_TYPE(n) == JSON_NODE_OBJECT ? json_node_get_object(n) : NULL;
        const char *a = str_member(e, "architecture");
        if (!a)
            return bad(c, err, "archMap entries need an 'architecture'");
        if (!native_arch(a))
            continue;
        JsonArray *subs = array_member(c, e, "subArchitectures", empty, err);
        if (!subs)
            return -1;
        for (guint k = 0; k < json_array_get_length(subs); k++) {
            const char *s = array_string(c, subs, k, "subArchitectures", err);
            if (!s || arch_bit(c, s, ret, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int profile_flags(const Ctx *c, JsonObject *root, uint32_t *ret, NrError *err)
{
    g_autoptr(JsonArray) empty = json_array_new();
    JsonArray *flags = array_member(c, root, "flags", empty, err);
    if (!flags)
        return -1;
    *ret = 0;
    for (guint i = 0; i < json_array_get_length(flags); i++) {
        const char *f = array_string(c, flags, i, "flags", err);
        if (!f)
            return -1;
        if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
            *ret |= SECCOMP_FILTER_FLAG_LOG;
        else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
            *ret |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        else if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") != 0) /* one thread: nothing to sync */
            return bad(c, err, "unsupported flag '%s'", f);
    }
    return 0;
}

uint64_t nr_unpack_cap_bit(const char *name)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    cap_value_t v;
    if (cap_from_name(lower, &v) < 0 || v < 0 || v > 62)
        return 0;
    return NR_CAP(v);
}

/* includes/excludes: whether the rule is in, and the capabilities it
 * then depends on */
static int filter_of(const Ctx *c, JsonObject *rule, const char *key, bool include, bool *ret_in,
                     uint64_t *ret_caps, NrError *err)
{
    JsonNode *n = json_object_get_member(rule, key);
    *ret_caps = 0;
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return 0;
    if (JSON_NODE_TYPE(n) != JSON_NODE_OBJECT)
        return bad(c, err, "'%s' must be an object", key);
    JsonObject *f = json_node_get_object(n);
    g_autoptr(JsonArray) empty = json_array_new();
    JsonArray *caps = array_member(c, f, "caps", empty, err),
              *arches = array_member(c, f, "arches", empty, err);
    if (!caps || !arches)
        return -1;
    for (guint i = 0; i < json_array_get_length(caps); i++) {
        const char *name = array_string(c, caps, i, "caps", err);
        if (!name)
            return -1;
        uint64_t bit = nr_unpack_cap_bit(name);
        if (!bit && include)
            *ret_in = false; /* a capability nobody can hold */
        *ret_caps |= bit;
    }
    bool native = false;
    for (guint i = 0; i < json_array_get_length(arches); i++) {
        const char *a = array_string(c, arches, i, "arches", err);
        if (!a)
            return -1;
        native |= native_arch(a);
    }
    if (json_array_get_length(arches) && native != include)
        *ret_in = false;
    const char *min = str_member(f, "minKernel");
    unsigned maj, mnr;
    if (min) {
        if (sscanf(min, "%u.%u", &maj, &mnr) != 2)
            return bad(c, err, "invalid minKernel '%s': expected X.Y", min);
        bool new_enough = c->kernel[0] > maj || (c->kernel[0] == maj && c->kernel[1] >= mnr);
        if (new_enough != include)
            *ret_in = false;
    }
    return 0;
}

static void add_rule(Ctx *c, const char *names, uint32_t action, uint64_t all, uint64_t none,
                     const NrSeccompArg *args, size_t n_args)
{
    NrSeccompRule *r = g_new0(NrSeccompRule, 1);
    r->names = g_strdup(names);
    r->action = action;
    r->caps_all = all;
    r->caps_none = none;
    r->args = n_args ? g_memdup2(args, n_args * sizeof *args) : NULL;
    r->n_args = n_args;
    g_ptr_array_add(c->rules, r);
}

static void free_rule(gpointer p)
{
    NrSeccompRule *r = p;
    g_free((char *)r->names);
    g_free((NrSeccompArg *)r->args);
    g_free(r);
}

static int parse_args(const Ctx *c, JsonObject *rule, NrSeccompArg args[6], size_t *ret_n,
                      bool *ret_alternatives, NrError *err)
{
    g_autoptr(JsonArray) empty = json_array_new();
    JsonArray *a = array_member(c, rule, "args", empty, err);
    if (!a)
        return -1;
    guint n = json_array_get_length(a);
    if (n > 6)
        return bad(c, err, "a rule has more than 6 argument conditions");
    unsigned seen = 0;
    *ret_alternatives = false;
    for (guint i = 0; i < n; i++) {
        JsonNode *node = json_array_get_element(a, i);
        if (JSON_NODE_TYPE(node) != JSON_NODE_OBJECT)
            return bad(c, err, "args must be objects");
        JsonObject *o = json_node_get_object(node);
        uint64_t index;
        if (u64_of(c, o, "index", &index, err) < 0 ||
            u64_of(c, o, "value", &args[i].value, err) < 0 ||
            u64_of(c, o, "valueTwo", &args[i].value2, err) < 0 ||
            op_of(c, str_member(o, "op"), &args[i].op, err) < 0)
            return -1;
        if (index > 5)
            return bad(c, err, "argument index %llu: syscalls have 6 (0 to 5)",
                       (unsigned long long)index);
        args[i].index = (unsigned)index;
        *ret_alternatives |= (seen & (1u << index)) != 0;
        seen |= 1u << index;
    }
    *ret_n = n;
    return 0;
}

static int parse_rule(Ctx *c, JsonNode *node, NrError *err)
{
    if (JSON_NODE_TYPE(node) != JSON_NODE_OBJECT)
        return bad(c, err, "syscalls must be objects");
    JsonObject *rule = json_node_get_object(node);
    g_autoptr(GString) names = g_string_new(NULL);
    const char *one = str_member(rule, "name");
    if (one)
        g_string_append(names, one);
    g_autoptr(JsonArray) empty = json_array_new();
    JsonArray *list = array_member(c, rule, "names", empty, err);
    if (!list)
        return -1;
    for (guint i = 0; i < json_array_get_length(list); i++) {
        const char *s = array_string(c, list, i, "names", err);
        if (!s)
            return -1;
        if (!*s || strchr(s, ' '))
            return bad(c, err, "invalid syscall name '%s'", s);
        g_string_append_printf(names, "%s%s", names->len ? " " : "", s);
    }
    if (!names->len)
        return bad(c, err, "a rule names no syscall");
    uint32_t action;
    g_autofree char *what =
        g_strdup_printf("syscall '%.*s%s'", 40, names->str, names->len > 40 ? "..." : "");
    if (action_of(c, what, str_member(rule, "action"), json_object_get_member(rule, "errnoRet"),
                  &action, err) < 0)
        return -1;
    bool in = true;
    uint64_t all, none;
    if (filter_of(c, rule, "includes", true, &in, &all, err) < 0 ||
        filter_of(c, rule, "excludes", false, &in, &none, err) < 0)
        return -1;
    NrSeccompArg args[6];
    size_t n = 0;
    bool alternatives = false;
    if (parse_args(c, rule, args, &n, &alternatives, err) < 0)
        return -1;
    if (!in)
        return 0;
    if (!alternatives) {
        add_rule(c, names->str, action, all, none, args, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        add_rule(c, names->str, action, all, none, &args[i], 1);
    return 0;
}

/* the unknown names as a note for the user, NULL if none */
static char *unknown_note(const NrStrv *unknown)
{
    if (!unknown->n)
        return NULL;
    const struct scmp_version *v = seccomp_version();
    GString *note = g_string_new(NULL);
    g_string_printf(note, "%zu syscall name%s unknown to libseccomp %u.%u.%u, ignored:", unknown->n,
                    unknown->n == 1 ? "" : "s", v->major, v->minor, v->micro);
    for (size_t i = 0; i < unknown->n && note->len < 900; i++)
        g_string_append_printf(note, "%s %s", i ? "," : "", unknown->v[i]);
    return g_string_free(note, FALSE);
}

static int compile_object(Ctx *c, JsonObject *o, uint64_t caps, int out_fd, uint32_t *ret_flags,
                          NrStrv *unknown, NrError *err)
{
    NrSeccompProfile p = { .name = c->what };
    if (action_of(c, "defaultAction", str_member(o, "defaultAction"),
                  json_object_get_member(o, "defaultErrnoRet"), &p.default_action, err) < 0)
        return -1;
    if (profile_arches(c, o, &p.arches, err) < 0 || profile_flags(c, o, ret_flags, err) < 0)
        return -1;
    g_autoptr(JsonArray) empty = json_array_new();
    JsonArray *calls = array_member(c, o, "syscalls", empty, err);
    if (!calls)
        return -1;
    for (guint i = 0; i < json_array_get_length(calls); i++)
        if (parse_rule(c, json_array_get_element(calls, i), err) < 0)
            return -1;
    g_autofree NrSeccompRule *rules = g_new0(NrSeccompRule, c->rules->len ? c->rules->len : 1);
    for (guint i = 0; i < c->rules->len; i++)
        rules[i] = *(NrSeccompRule *)g_ptr_array_index(c->rules, i);
    p.rules = rules;
    p.n_rules = c->rules->len;
    return nr_seccomp_compile(&p, caps, out_fd, unknown, err);
}

int nr_unpack_seccomp_compile(JsonNode *profile, const char *what, uint64_t caps, int out_fd,
                              uint32_t *ret_flags, char **ret_note, NrError *err)
{
    Ctx c = { .what = what };
    *ret_flags = 0;
    *ret_note = NULL;
    if (!profile || JSON_NODE_TYPE(profile) != JSON_NODE_OBJECT)
        return bad(&c, err, "not a JSON object");
    struct utsname u;
    if (uname(&u) == 0)
        sscanf(u.release, "%u.%u", &c.kernel[0], &c.kernel[1]);
    c.rules = g_ptr_array_new_with_free_func(free_rule);
    NrStrv unknown = { 0 };
    int rc =
        compile_object(&c, json_node_get_object(profile), caps, out_fd, ret_flags, &unknown, err);
    if (rc == 0)
        *ret_note = unknown_note(&unknown);
    nr_strv_clear(&unknown);
    g_ptr_array_free(c.rules, TRUE);
    return rc;
}

/* a profile file in docker's form */
static int compile_file(const char *path, uint64_t caps, int out_fd, uint32_t *ret_flags,
                        char **ret_note, NrError *err)
{
    g_autofree char *what = g_strdup_printf("seccomp profile '%s'", path);
    Ctx c = { .what = what };
    size_t len;
    g_autofree char *text = read_profile(&c, path, &len, err);
    if (!text)
        return -1;
    if (nr_json_too_deep(text, len, DEPTH_MAX))
        return bad(&c, err, "nested more than %d levels deep", DEPTH_MAX);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;
    if (!json_parser_load_from_data(parser, text, (gssize)len, &gerr))
        return bad(&c, err, "%s", gerr->message);
    JsonNode *root = json_parser_get_root(parser);
    if (!root || JSON_NODE_TYPE(root) != JSON_NODE_OBJECT)
        return bad(&c, err, "not a JSON object");
    const char *listener = str_member(json_node_get_object(root), "listenerPath");
    if (listener && *listener)
        return bad(&c, err, "listenerPath needs a seccomp agent, which nroot does not have");
    return nr_unpack_seccomp_compile(root, what, caps, out_fd, ret_flags, ret_note, err);
}

int nr_unpack_seccomp_main(int argc, char **argv)
{
    uint64_t caps = 0;
    if (argc != 4 || sscanf(argv[2], "--caps=%" G_GINT64_MODIFIER "x", &caps) != 1) {
        fprintf(stderr, "nroot-unpack: internal helper of nroot; not to be run by hand\n");
        return NR_EXIT_FAILURE;
    }
    NrError err = { 0 };
    uint32_t flags = 0;
    g_autofree char *note = NULL;
    if (compile_file(argv[3], caps, 3, &flags, &note, &err) < 0) {
        nr_sync_send(4, NR_SYNC_ERROR, &err);
        return NR_EXIT_FAILURE;
    }
    g_autofree char *result =
        g_strdup_printf("flags=%u%s%s", flags, note ? " " : "", note ? note : "");
    return nr_sync_send_result(4, result) < 0 ? NR_EXIT_FAILURE : 0;
}
