/* SPDX-License-Identifier: Apache-2.0 */
/* cdi.c — devices through the Container Device Interface (nr-cdi.h), as
 * podman reads it (github.com/cncf-tags/container-device-interface,
 * SPEC.md):
 *
 *   --device VENDOR/CLASS=NAME     a device of a CDI spec: the spec's own
 *                                  containerEdits, then the device's
 *   --device /dev/X[:/dev/Y][:rwm] a host device node, bound
 *   --gpus all|N|device=ID,...     nvidia.com/gpu=all, =0..=N-1, =ID
 *
 * The specs are the *.json, *.yaml and *.yml files of the spec directories
 * (cdi-spec-dirs, default /etc/cdi:/var/run/cdi; a device of a later
 * directory wins over one of the same name in an earlier one, two in the
 * same directory are a conflict).  JSON is YAML's flow style: one parser,
 * libyaml, loaded with dlopen() when a spec is read, so a run without a
 * device does not pay for it and the launcher does not link it. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <yaml.h>

#include "nr-cdi.h"
#include "nr-conf.h"
#include "nr-devname.h"
#include "nr-error.h"
#include "nr-hook.h"
#include "nr-plan.h"
#include "nr-userns.h"
#include "nr-util.h"

/* ---- libyaml, loaded on first use ---- */

static struct {
    void *handle;
    int (*parser_initialize)(yaml_parser_t *);
    void (*parser_delete)(yaml_parser_t *);
    void (*set_input_string)(yaml_parser_t *, const unsigned char *, size_t);
    int (*parser_load)(yaml_parser_t *, yaml_document_t *);
    void (*document_delete)(yaml_document_t *);
} yl;

static int load_libyaml(NrError *err)
{
    if (yl.handle)
        return 0;
    void *h = dlopen("libyaml-0.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        nr_error_msg(err, "reading CDI specs needs libyaml: %s", dlerror());
        nr_error_hint(err, "install it (apt-get install libyaml-0-2)");
        return -1;
    }
#define SYM(field, name) \
    if (!(*(void **)&yl.field = dlsym(h, name))) { \
        nr_error_msg(err, "libyaml has no %s", name); \
        dlclose(h); \
        return -1; \
    }
    SYM(parser_initialize, "yaml_parser_initialize")
    SYM(parser_delete, "yaml_parser_delete")
    SYM(set_input_string, "yaml_parser_set_input_string")
    SYM(parser_load, "yaml_parser_load")
    SYM(document_delete, "yaml_document_delete")
#undef SYM
    yl.handle = h;
    return 0;
}

const char *nr_cdi_spec_dirs(void)
{
    const char *v = nr_conf_value("cdi-spec-dirs", "NROOT_CDI_SPEC_DIRS", NULL);
    return v ? v : "/etc/cdi:/var/run/cdi";
}

/* ---- the spec files ---- */

typedef struct Spec {
    char *path;
    int prio; /* the index of its directory */
    yaml_document_t doc;
    bool loaded;
    bool valid;
    const char *kind; /* in doc */
    char problem[1100];
} Spec;

typedef struct Specs {
    Spec *v;
    size_t n;
    bool read;
} Specs;

static Specs specs;

#define LINE(nd) ((int)(nd)->start_mark.line + 1)

static yaml_node_t *node_at(yaml_document_t *d, int i)
{
    if (i < 1 || d->nodes.start + i - 1 >= d->nodes.top)
        return NULL;
    return d->nodes.start + i - 1;
}

static bool is_null(const yaml_node_t *nd)
{
    if (!nd)
        return true;
    if (nd->type != YAML_SCALAR_NODE || nd->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)nd->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static const char *scalar(const yaml_node_t *nd)
{
    return nd && nd->type == YAML_SCALAR_NODE ? (const char *)nd->data.scalar.value : NULL;
}

/* the value of `key` in a mapping, NULL if absent or null */
static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(node_at(d, p->key));
        if (k && strcmp(k, key) == 0) {
            yaml_node_t *v = node_at(d, p->value);
            return is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

static size_t seq_len(const yaml_node_t *nd)
{
    return nd && nd->type == YAML_SEQUENCE_NODE
               ? (size_t)(nd->data.sequence.items.top - nd->data.sequence.items.start)
               : 0;
}

static yaml_node_t *seq_item(yaml_document_t *d, yaml_node_t *nd, size_t i)
{
    return node_at(d, nd->data.sequence.items.start[i]);
}

static bool parse_int(const char *s, long long min, long long max, long long *ret)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v;
    if (strncmp(s, "0o", 2) == 0)
        v = strtoll(s + 2, &end, 8);
    else
        v = strtoll(s, &end, 0);
    if (errno || *end || v < min || v > max)
        return false;
    *ret = v;
    return true;
}

/* What the edits add, or NULL: only checked.  `what` names the device for
 * the messages. */
typedef struct Out {
    NrDevices *dev;
    const NrIdMap *map;
    NrStrv *unmapped;  /* additional groups not mapped */
    bool command_only; /* only what the command gets: env, additionalGids */
} Out;

#define BAD(nd, ...) \
    do { \
        nr_error_msg(err, __VA_ARGS__); \
        nr_error_prefix(err, "line %d", LINE(nd)); \
        return -1; \
    } while (0)

static int need_seq(yaml_node_t *nd, const char *what, NrError *err)
{
    if (nd && nd->type != YAML_SEQUENCE_NODE)
        BAD(nd, "%s must be a list", what);
    return 0;
}

static int strings(yaml_document_t *d, yaml_node_t *nd, const char *what, NrStrv *out, NrError *err)
{
    if (need_seq(nd, what, err) < 0)
        return -1;
    for (size_t i = 0; i < seq_len(nd); i++) {
        const char *s = scalar(seq_item(d, nd, i));
        if (!s)
            BAD(nd, "%s must be a list of strings", what);
        if (out)
            nr_strv_push(out, s);
    }
    return 0;
}

static bool abs_path(const char *s)
{
    return s && s[0] == '/';
}

static int edit_env(yaml_document_t *d, yaml_node_t *nd, Out *o, NrError *err)
{
    NrStrv env = { 0 };
    if (strings(d, nd, "env", &env, err) < 0)
        return -1;
    for (size_t i = 0; i < env.n; i++) {
        const char *eq = strchr(env.v[i], '=');
        if (!eq || eq == env.v[i]) {
            nr_strv_clear(&env);
            BAD(nd, "env entries are KEY=VALUE");
        }
        if (o)
            nr_strv_push(&o->dev->env, env.v[i]);
    }
    nr_strv_clear(&env);
    return 0;
}

static int add_node(Out *o, const char *path, const char *host, NrError *err)
{
    struct stat st;
    if (stat(host, &st) < 0)
        return nr_error_errno(err, "device node '%s'", host);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return nr_error_msg(err, "'%s' is not a device node", host);
    NrDevices *dev = o->dev;
    for (size_t i = 0; i < dev->n_nodes; i++)
        if (strcmp(dev->nodes[i].path, path) == 0)
            return 0;
    dev->nodes = realloc(dev->nodes, (dev->n_nodes + 1) * sizeof *dev->nodes);
    if (!dev->nodes)
        abort();
    dev->nodes[dev->n_nodes++] = (NrDevNode){ nr_xstrdup(path), nr_xstrdup(host) };
    return 0;
}

static int edit_nodes(yaml_document_t *d, yaml_node_t *nd, Out *o, NrError *err)
{
    if (need_seq(nd, "deviceNodes", err) < 0)
        return -1;
    for (size_t i = 0; i < seq_len(nd); i++) {
        yaml_node_t *n = seq_item(d, nd, i);
        if (!n || n->type != YAML_MAPPING_NODE)
            BAD(nd, "deviceNodes must be a list of mappings");
        const char *path = scalar(get(d, n, "path")), *host = scalar(get(d, n, "hostPath"));
        const char *type = scalar(get(d, n, "type")), *perms = scalar(get(d, n, "permissions"));
        if (!abs_path(path))
            BAD(n, "a device node needs an absolute path");
        if (get(d, n, "hostPath") && !abs_path(host))
            BAD(n, "the hostPath of device node '%s' is not an absolute path", path);
        if (type && !(strlen(type) == 1 && strchr("cbup", type[0])))
            BAD(n, "device node '%s': type '%s' is none of c, b, u, p", path, type);
        if (perms && *perms && !nr_devname_perms_valid(perms))
            BAD(n, "device node '%s': permissions '%s' are not of r, w, m", path, perms);
        static const char *const ints[] = { "major", "minor", "fileMode", "uid", "gid" };
        for (size_t k = 0; k < 5; k++) {
            yaml_node_t *v = get(d, n, ints[k]);
            long long x;
            if (v && !parse_int(scalar(v), 0, UINT32_MAX, &x))
                BAD(v, "device node '%s': %s is not a number", path, ints[k]);
        }
        if (o && add_node(o, path, host ? host : path, err) < 0) {
            /* rootless cannot make the node: it must exist on the host */
            nr_error_hint(err, "nroot binds the host's node (an unprivileged user cannot create "
                               "one): the driver must have made it");
            return -1;
        }
    }
    return 0;
}

static const struct {
    const char *name;
    unsigned long set, clear;
} mount_opts[] = {
    { "ro", MS_RDONLY, 0 },     { "rw", 0, MS_RDONLY },   { "nosuid", MS_NOSUID, 0 },
    { "suid", 0, MS_NOSUID },   { "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
    { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC }, { "bind", 0, 0 },
    { "rbind", MS_REC, 0 },     { "private", 0, 0 },      { "rprivate", 0, 0 },
    { "slave", 0, 0 },          { "rslave", 0, 0 },       { "shared", 0, 0 },
    { "rshared", 0, 0 },        { "relatime", 0, 0 },     { "noatime", 0, 0 },
    { "nosymfollow", 0, 0 },    { "defaults", 0, 0 },
};

static int edit_mounts(yaml_document_t *d, yaml_node_t *nd, Out *o, NrError *err)
{
    if (need_seq(nd, "mounts", err) < 0)
        return -1;
    for (size_t i = 0; i < seq_len(nd); i++) {
        yaml_node_t *m = seq_item(d, nd, i);
        if (!m || m->type != YAML_MAPPING_NODE)
            BAD(nd, "mounts must be a list of mappings");
        const char *host = scalar(get(d, m, "hostPath")),
                   *path = scalar(get(d, m, "containerPath"));
        const char *type = scalar(get(d, m, "type"));
        if (!abs_path(path))
            BAD(m, "a mount needs an absolute containerPath");
        if (!host || !*host)
            BAD(m, "mount '%s' has no hostPath", path);
        if (type && *type && strcmp(type, "bind") != 0 && strcmp(type, "none") != 0)
            BAD(m, "mount '%s': type '%s': only bind mounts are supported", path, type);
        NrStrv opts = { 0 };
        if (strings(d, get(d, m, "options"), "mount options", &opts, err) < 0)
            return -1;
        unsigned long flags = 0;
        for (size_t k = 0; k < opts.n; k++) {
            size_t j = 0;
            while (j < sizeof mount_opts / sizeof mount_opts[0] &&
                   strcmp(mount_opts[j].name, opts.v[k]) != 0)
                j++;
            if (j == sizeof mount_opts / sizeof mount_opts[0]) {
                nr_error_msg(err, "mount '%s': option '%s' is not supported", path, opts.v[k]);
                nr_error_prefix(err, "line %d", LINE(m));
                nr_strv_clear(&opts);
                return -1;
            }
            flags = (flags | mount_opts[j].set) & ~mount_opts[j].clear;
        }
        nr_strv_clear(&opts);
        if (!o)
            continue;
        if (host[0] != '/' || access(host, F_OK) < 0)
            return nr_error_errno(err, "the host path '%s' of mount '%s'", host, path);
        NrDevices *dev = o->dev;
        size_t k = 0;
        while (k < dev->n_mounts && strcmp(dev->mounts[k].path, path) != 0)
            k++;
        if (k < dev->n_mounts)
            continue; /* given by another device of the same spec */
        dev->mounts = realloc(dev->mounts, (dev->n_mounts + 1) * sizeof *dev->mounts);
        if (!dev->mounts)
            abort();
        dev->mounts[dev->n_mounts++] = (NrDevMount){ .host = nr_xstrdup(host),
                                                     .path = nr_xstrdup(path),
                                                     .flags = flags & ~(unsigned long)MS_REC,
                                                     .rec = (flags & MS_REC) != 0 };
    }
    return 0;
}

static int edit_hooks(yaml_document_t *d, yaml_node_t *nd, Out *o, NrError *err)
{
    if (need_seq(nd, "hooks", err) < 0)
        return -1;
    for (size_t i = 0; i < seq_len(nd); i++) {
        yaml_node_t *h = seq_item(d, nd, i);
        if (!h || h->type != YAML_MAPPING_NODE)
            BAD(nd, "hooks must be a list of mappings");
        const char *name = scalar(get(d, h, "hookName")), *path = scalar(get(d, h, "path"));
        int stage = name ? nr_hook_stage(name) : -1;
        if (stage < 0)
            BAD(h,
                "hook '%s': hookName '%s' is none of createRuntime, createContainer, "
                "startContainer, poststart, poststop, prestart",
                path ? path : "?", name ? name : "");
        if (!abs_path(path))
            BAD(h, "a hook needs an absolute path");
        long long timeout = 0;
        yaml_node_t *t = get(d, h, "timeout");
        if (t && !parse_int(scalar(t), 1, INT32_MAX, &timeout))
            BAD(t, "hook '%s': timeout is not a number of seconds above 0", path);
        NrStrv args = { 0 }, env = { 0 };
        if (strings(d, get(d, h, "args"), "hook args", &args, err) < 0 ||
            strings(d, get(d, h, "env"), "hook env", &env, err) < 0) {
            nr_strv_clear(&args);
            nr_strv_clear(&env);
            return -1;
        }
        if (!o) {
            nr_strv_clear(&args);
            nr_strv_clear(&env);
            continue;
        }
        NrDevices *dev = o->dev;
        dev->hooks = realloc(dev->hooks, (dev->n_hooks + 1) * sizeof *dev->hooks);
        if (!dev->hooks)
            abort();
        dev->hooks[dev->n_hooks++] = (NrHook){ .stage = (NrHookStage)stage,
                                               .path = nr_xstrdup(path),
                                               .args = args.v,
                                               .env = env.v,
                                               .timeout = (int)timeout };
    }
    return 0;
}

static int edit_gids(yaml_document_t *d, yaml_node_t *nd, Out *o, NrError *err)
{
    if (need_seq(nd, "additionalGids", err) < 0)
        return -1;
    for (size_t i = 0; i < seq_len(nd); i++) {
        yaml_node_t *g = seq_item(d, nd, i);
        long long v;
        if (!parse_int(scalar(g), 0, UINT32_MAX - 1, &v))
            BAD(nd, "additionalGids must be a list of group ids");
        if (!o)
            continue;
        if (!o->map->helpers || !nr_userns_gid_mapped(o->map, (uint32_t)v)) {
            nr_autofree char *s = nr_strdup_printf("%lld", v);
            nr_strv_push(o->unmapped, s);
            continue;
        }
        NrDevices *dev = o->dev;
        size_t k = 0;
        while (k < dev->n_gids && dev->gids[k] != (gid_t)v)
            k++;
        if (k < dev->n_gids)
            continue;
        dev->gids = realloc(dev->gids, (dev->n_gids + 1) * sizeof *dev->gids);
        if (!dev->gids)
            abort();
        dev->gids[dev->n_gids++] = (gid_t)v;
    }
    return 0;
}

static int edits(yaml_document_t *d, yaml_node_t *nd, Out *o, NrError *err)
{
    if (!nd)
        return 0;
    if (nd->type != YAML_MAPPING_NODE)
        BAD(nd, "containerEdits must be a mapping");
    Out *setup = o && !o->command_only ? o : NULL; /* the container's set-up */
    if (edit_env(d, get(d, nd, "env"), o, err) < 0 ||
        edit_nodes(d, get(d, nd, "deviceNodes"), setup, err) < 0 ||
        edit_mounts(d, get(d, nd, "mounts"), setup, err) < 0 ||
        edit_hooks(d, get(d, nd, "hooks"), setup, err) < 0)
        return -1;
    yaml_node_t *g = get(d, nd, "additionalGids");
    return edit_gids(d, g ? g : get(d, nd, "additionalGIDs"), o, err);
}

/* cdiVersion 0.3.0 to 0.8.0 (a semantic version, "v" allowed before it) */
static bool version_ok(const char *v)
{
    unsigned major, minor, patch;
    char rest;
    if (!v)
        return false;
    if (*v == 'v')
        v++;
    if (sscanf(v, "%u.%u.%u%c", &major, &minor, &patch, &rest) != 3)
        return false;
    return major == 0 && minor >= 3 && (minor < 8 || (minor == 8 && patch == 0));
}

static int check_spec(Spec *s, NrError *err)
{
    yaml_document_t *d = &s->doc;
    yaml_node_t *root = node_at(d, 1);
    if (!root)
        return nr_error_msg(err, "empty");
    if (root->type != YAML_MAPPING_NODE)
        BAD(root, "not a mapping");
    yaml_node_t *ver = get(d, root, "cdiVersion");
    if (!ver)
        return nr_error_msg(err, "no cdiVersion");
    if (!version_ok(scalar(ver)))
        BAD(ver, "cdiVersion '%s' is not one nroot reads (0.3.0 to 0.8.0)",
            scalar(ver) ? scalar(ver) : "?");
    yaml_node_t *kind = get(d, root, "kind");
    if (!kind)
        return nr_error_msg(err, "no kind");
    if (!scalar(kind) || !nr_devname_kind_valid(scalar(kind)))
        BAD(kind, "kind '%s' is not VENDOR/CLASS", scalar(kind) ? scalar(kind) : "?");
    s->kind = scalar(kind);
    yaml_node_t *devs = get(d, root, "devices");
    if (!devs || !seq_len(devs))
        return nr_error_msg(err, "no devices");
    for (size_t i = 0; i < seq_len(devs); i++) {
        yaml_node_t *dv = seq_item(d, devs, i);
        const char *name = scalar(get(d, dv, "name"));
        if (!dv || dv->type != YAML_MAPPING_NODE)
            BAD(devs, "devices must be a list of mappings");
        if (!name || !nr_devname_name_valid(name))
            BAD(dv, "device name '%s' is not valid (letters, digits, '_', '-', '.', ':')",
                name ? name : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, scalar(get(d, seq_item(d, devs, j), "name"))) == 0)
                BAD(dv, "device '%s' is there twice", name);
        if (edits(d, get(d, dv, "containerEdits"), NULL, err) < 0)
            return -1;
    }
    return edits(d, get(d, root, "containerEdits"), NULL, err);
}

char *nr_cdi_json_to_yaml(const char *text, size_t len)
{
    char *out = nr_xmalloc(len + 1);
    size_t o = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\' && i + 1 < len) {
                if (text[i + 1] == '/') {
                    out[o++] = '/'; /* JSON's \/, unknown to YAML 1.1 */
                    i++;
                    continue;
                }
                out[o++] = c;
                out[o++] = text[++i];
                continue;
            }
            if (c == '"')
                in_str = false;
            out[o++] = c;
            continue;
        }
        if (c == '"')
            in_str = true;
        /* JSON allows tabs between tokens, YAML's indentation does not */
        out[o++] = c == '\t' ? ' ' : c;
    }
    out[o] = '\0';
    return out;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void load_spec(Spec *s)
{
    NrError e = { 0 };
    size_t len = 0;
    nr_autofree char *text = nr_read_file(s->path, &len, &e);
    if (!text) {
        snprintf(s->problem, sizeof s->problem, "%.900s: %s", e.msg, strerror(e.errnum));
        return;
    }
    if (has_suffix(s->path, ".json")) {
        char *y = nr_cdi_json_to_yaml(text, len);
        free(text);
        text = y;
        len = strlen(y);
    }
    yaml_parser_t p;
    if (!yl.parser_initialize(&p)) {
        snprintf(s->problem, sizeof s->problem, "libyaml: out of memory");
        return;
    }
    yl.set_input_string(&p, (const unsigned char *)text, len);
    if (!yl.parser_load(&p, &s->doc)) {
        snprintf(s->problem, sizeof s->problem, "line %d: %s%s%s", (int)p.problem_mark.line + 1,
                 p.problem ? p.problem : "not YAML", p.context ? " " : "",
                 p.context ? p.context : "");
        yl.parser_delete(&p);
        return;
    }
    yl.parser_delete(&p);
    s->loaded = true;
    if (check_spec(s, &e) < 0) {
        snprintf(s->problem, sizeof s->problem, "%s", e.msg);
        return;
    }
    s->valid = true;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* every spec file of the directories, read once; -1 only without libyaml */
static int read_specs(NrError *err)
{
    if (specs.read)
        return 0;
    nr_autofree char *dirs = nr_xstrdup(nr_cdi_spec_dirs());
    char *p = dirs;
    bool need_yaml = true;
    int prio = 0;
    for (char *dir = strsep(&p, ":"); dir; dir = strsep(&p, ":"), prio++) {
        if (!*dir)
            continue;
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, by_name);
        for (int i = 0; i < n; i++) {
            const char *nm = names[i]->d_name;
            nr_autofree char *path = nr_strdup_printf("%s/%s", dir, nm);
            struct stat st;
            if (nm[0] != '.' &&
                (has_suffix(nm, ".json") || has_suffix(nm, ".yaml") || has_suffix(nm, ".yml")) &&
                stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (need_yaml && load_libyaml(err) < 0) {
                    while (i < n)
                        free(names[i++]);
                    free(names);
                    return -1;
                }
                need_yaml = false;
                specs.v = realloc(specs.v, (specs.n + 1) * sizeof *specs.v);
                if (!specs.v)
                    abort();
                Spec *s = &specs.v[specs.n++];
                memset(s, 0, sizeof *s);
                s->path = nr_xstrdup(path);
                s->prio = prio;
                load_spec(s);
            }
            free(names[i]);
        }
        free(names);
    }
    specs.read = true;
    return 0;
}

static yaml_node_t *spec_devices(Spec *s)
{
    return get(&s->doc, node_at(&s->doc, 1), "devices");
}

static const char *dev_name(Spec *s, yaml_node_t *devs, size_t i)
{
    return scalar(get(&s->doc, seq_item(&s->doc, devs, i), "name"));
}

/* the spec and index of device `name` of `kind`: a later directory wins,
 * two of one directory are a conflict */
static int find_device(const char *kind, const char *name, Spec **ret_spec, size_t *ret_i,
                       NrError *err)
{
    Spec *found = NULL, *clash = NULL;
    size_t fi = 0;
    for (size_t k = 0; k < specs.n; k++) {
        Spec *s = &specs.v[k];
        if (!s->valid || strcmp(s->kind, kind) != 0)
            continue;
        yaml_node_t *devs = spec_devices(s);
        for (size_t i = 0; i < seq_len(devs); i++) {
            if (strcmp(dev_name(s, devs, i), name) != 0)
                continue;
            if (found && found->prio == s->prio)
                clash = s;
            else {
                found = s;
                fi = i;
                clash = NULL;
            }
        }
    }
    if (clash)
        return nr_error_msg(err, "CDI device '%s=%s' is defined by both '%s' and '%s'", kind, name,
                            found->path, clash->path);
    if (!found)
        return 0;
    *ret_spec = found;
    *ret_i = fi;
    return 1;
}

/* "known: a/b=c, ..." or where no spec was found */
static void unknown_device(const char *q, NrError *err)
{
    char known[700] = "";
    size_t used = 0;
    int bad = 0;
    for (size_t k = 0; k < specs.n; k++) {
        Spec *s = &specs.v[k];
        if (!s->valid) {
            bad++;
            continue;
        }
        yaml_node_t *devs = spec_devices(s);
        for (size_t i = 0; i < seq_len(devs) && used < sizeof known - 1; i++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s=%s", used ? ", " : "",
                             s->kind, dev_name(s, devs, i));
            used = w < 0 ? used : used + (size_t)w;
        }
    }
    if (used >= sizeof known - 1)
        memcpy(known + sizeof known - 5, "...", 4);
    if (used)
        nr_error_msg(err, "unknown CDI device '%s' (known: %s)", q, known);
    else
        nr_error_msg(err, "unknown CDI device '%s': no CDI spec %sfound in %s", q,
                     bad ? "that can be read was " : "was ", nr_cdi_spec_dirs());
    nr_error_hint(err, "'nroot info' lists the CDI specs and devices found; the spec "
                       "directories are cdi-spec-dirs in nroot.conf or $NROOT_CDI_SPEC_DIRS");
}

/* a spec's own edits once, however many of its devices are asked for */
static int resolve_one(const char *q, Out *o, bool *spec_done, NrError *err)
{
    char kind[256];
    const char *eq = strchr(q, '=');
    snprintf(kind, sizeof kind, "%.*s", (int)(eq - q), q);
    Spec *s = NULL;
    size_t i = 0;
    int r = find_device(kind, eq + 1, &s, &i, err);
    if (r < 0)
        return -1;
    if (r == 0) {
        unknown_device(q, err);
        return -1;
    }
    yaml_document_t *d = &s->doc;
    size_t k = (size_t)(s - specs.v);
    if ((!spec_done[k] && edits(d, get(d, node_at(d, 1), "containerEdits"), o, err) < 0) ||
        edits(d, get(d, seq_item(d, spec_devices(s), i), "containerEdits"), o, err) < 0) {
        nr_error_prefix(err, "CDI device '%s' (%s)", q, s->path);
        return -1;
    }
    spec_done[k] = true;
    return 0;
}

/* HOST[:CTR][:PERMS]: the node bound at CTR (default HOST); the
 * permissions are the device cgroup's, which a rootless container does not
 * have: the node's own mode decides */
static int resolve_host(const char *spec, Out *o, NrError *err)
{
    nr_autofree char *copy = nr_xstrdup(spec);
    char *p = copy, *host = strsep(&p, ":"), *ctr = strsep(&p, ":");
    if (!ctr || ctr[0] != '/')
        ctr = host;
    if (add_node(o, ctr, host, err) < 0) {
        nr_error_prefix(err, "--device '%s'", spec);
        return -1;
    }
    return 0;
}

int nr_cdi_resolve(NrRunConfig *cfg, NrError *err)
{
    if (!cfg->devices.n)
        return 0;
    NrStrv unmapped = { 0 };
    Out o = { .dev = &cfg->dev, .map = &cfg->map, .unmapped = &unmapped };
    bool any_cdi = false;
    for (size_t i = 0; i < cfg->devices.n; i++)
        any_cdi |= cfg->devices.v[i][0] != '/';
    if (any_cdi && read_specs(err) < 0)
        return -1;
    for (size_t k = 0; any_cdi && k < specs.n; k++)
        if (!specs.v[k].valid)
            nr_warn("CDI spec '%s': %s (skipped)", specs.v[k].path, specs.v[k].problem);
    nr_autofree bool *done = calloc(specs.n + 1, sizeof *done);
    for (size_t i = 0; i < cfg->devices.n; i++) {
        const char *q = cfg->devices.v[i];
        if ((q[0] == '/' ? resolve_host(q, &o, err) : resolve_one(q, &o, done, err)) < 0) {
            nr_strv_clear(&unmapped);
            return -1;
        }
    }
    if (unmapped.n) {
        char list[256] = "";
        for (size_t i = 0; i < unmapped.n; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     unmapped.v[i]);
        nr_notice("the devices' additional groups %s are not mapped in the container: the command "
                  "does not get them",
                  list);
    }
    nr_strv_clear(&unmapped);
    return 0;
}

void nr_cdi_resolve_command(NrRunConfig *cfg)
{
    bool any_cdi = false;
    for (size_t i = 0; i < cfg->devices.n; i++)
        any_cdi |= cfg->devices.v[i][0] != '/';
    NrError e = { 0 };
    if (!any_cdi || read_specs(&e) < 0)
        return;
    NrStrv unmapped = { 0 };
    Out o = { .dev = &cfg->dev, .map = &cfg->map, .unmapped = &unmapped, .command_only = true };
    nr_autofree bool *done = calloc(specs.n + 1, sizeof *done);
    for (size_t i = 0; done && i < cfg->devices.n; i++) {
        NrError skipped = { 0 };
        if (cfg->devices.v[i][0] != '/')
            (void)resolve_one(cfg->devices.v[i], &o, done, &skipped);
    }
    nr_strv_clear(&unmapped);
}

int nr_cdi_write_bundle(NrRunConfig *cfg, const char *rt_dir, NrError *err)
{
    if (!cfg->dev.n_hooks)
        return 0;
    char *dir = nr_strdup_printf("%s/bundle", rt_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        nr_error_errno(err, "cannot create '%s'", dir);
        free(dir);
        return -1;
    }
    nr_autofree char *path = nr_strdup_printf("%s/config.json", dir);
    nr_autofree char *root = nr_strdup_printf("%s/root", cfg->scratch);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        nr_error_errno(err, "cannot create '%s'", path);
        if (fd >= 0)
            close(fd);
        free(dir);
        return -1;
    }
    /* root.path as the createContainer hooks see it: in the container's
     * mount namespace before pivot_root (nvidia-cdi-hook reads it) */
    fputs("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":", f);
    nr_hook_json_put(f, root);
    fprintf(f, ",\"readonly\":%s},\"annotations\":{}}\n", cfg->read_only ? "true" : "false");
    if (fclose(f) != 0) {
        free(dir);
        return nr_error_errno(err, "cannot write '%s'", path);
    }
    cfg->dev.bundle = dir;
    return 0;
}

static const char *const stage_status[NR_HOOK_STAGES] = { "creating", "creating", "created",
                                                          "running",  "stopped",  "created" };

int nr_cdi_run_hooks(const NrRunConfig *cfg, NrHookStage stage, pid_t pid, NrError *err)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->dev.n_hooks; i++)
        n += cfg->dev.hooks[i].stage == stage;
    if (!n)
        return 0;
    nr_autofree char *state =
        nr_hook_state(cfg->dev.state_id ? cfg->dev.state_id : cfg->cid, stage_status[stage], pid,
                      cfg->dev.bundle, cfg->dev.annotations);
    return nr_hooks_run(cfg->dev.hooks, cfg->dev.n_hooks, stage, state ? state : "{}", err);
}

void nr_cdi_list(NrCdiListFn fn, void *data)
{
    NrError e = { 0 };
    if (read_specs(&e) < 0) {
        fn(data, nr_cdi_spec_dirs(), NULL, NULL, e.msg);
        return;
    }
    for (size_t k = 0; k < specs.n; k++) {
        Spec *s = &specs.v[k];
        if (!s->valid) {
            fn(data, s->path, NULL, NULL, s->problem);
            continue;
        }
        char names[512] = "";
        yaml_node_t *devs = spec_devices(s);
        for (size_t i = 0; i < seq_len(devs); i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "",
                     dev_name(s, devs, i));
        fn(data, s->path, s->kind, names, NULL);
    }
}
