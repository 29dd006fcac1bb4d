/* SPDX-License-Identifier: Apache-2.0 */
/* config.c — the image config (Env, Entrypoint, Cmd, WorkingDir, User)
 * turned into the key=value file `config` of the import's bookkeeping
 * directory, which nroot reads at each run, and the config's diff_ids, which
 * every layer is checked against. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "nr-util.h"
#include "blob.h"
#include "config.h"
#include "digest.h"
#include "json.h"

static void put(GString *out, const char *key, const char *val)
{
    g_string_append_printf(out, "%s=", key);
    for (const char *p = val; *p; p++) {
        if (*p == '\\')
            g_string_append(out, "\\\\");
        else if (*p == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *p);
    }
    g_string_append_c(out, '\n');
}

static int put_strings(GString *out, JsonObject *o, const char *member, const char *key,
                       const char *what, NrError *err)
{
    JsonNode *n = json_object_get_member(o, member);
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return 0;
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        put(out, key, json_node_get_string(n)); /* seen in the wild: a string, not a list */
        return 0;
    }
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return nr_error_msg(err, "%s: the image config's %s is not a list of strings", what,
                            member);
    JsonArray *a = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *v = json_array_get_element(a, i);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
            return nr_error_msg(err, "%s: the image config's %s is not a list of strings", what,
                                member);
        put(out, key, json_node_get_string(v));
    }
    return 0;
}

/* this machine's architecture as images name it (amd64, arm64) */
const char *nr_config_host_arch(void)
{
    static struct utsname u;
    if (uname(&u) < 0)
        return "";
    static const char *const map[][2] = { { "x86_64", "amd64" },    { "aarch64", "arm64" },
                                          { "i686", "386" },        { "i386", "386" },
                                          { "armv7l", "arm" },      { "armv6l", "arm" },
                                          { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
                                          { "riscv64", "riscv64" } };
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
        if (strcmp(u.machine, map[i][0]) == 0)
            return map[i][1];
    return u.machine;
}

/* The image config (a buffer): the key=value text nroot reads at each run
 * (values escaped) into `out`, and its rootfs.diff_ids (sha256 hex) into
 * `diff_ids`.  Every layer is verified against these, so an image without
 * them is refused, as `docker load` does. */
int nr_config_parse(const char *buf, size_t len, const char *what, const char *name,
                    const char *format, const char *ref, GPtrArray *tags, GString *out,
                    GPtrArray *diff_ids, NrError *err)
{
    g_autoptr(JsonNode) config = nr_json_parse(buf, len, what, name, err);
    if (!config)
        return -1;
    JsonObject *root = JSON_NODE_HOLDS_OBJECT(config) ? json_node_get_object(config) : NULL;
    if (!root)
        return nr_error_msg(err, "%s: the image config is not a JSON object", what);
    const char *os = nr_json_get_string(root, "os");
    const char *arch = nr_json_get_string(root, "architecture");
    if (os && strcmp(os, "linux") != 0)
        return nr_error_msg(err, "%s: the image is for %s, not linux", what, os);
    JsonArray *diffs = nr_json_get_array(nr_json_get_object(root, "rootfs"), "diff_ids");
    if (!diffs)
        return nr_error_msg(err,
                            "%s: the image config has no rootfs.diff_ids: its layers "
                            "cannot be verified",
                            what);
    for (guint i = 0; i < json_array_get_length(diffs); i++) {
        JsonNode *v = json_array_get_element(diffs, i);
        NrDigest d;
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING ||
            !nr_digest_parse(json_node_get_string(v), &d) || d.type != NR_SHA256)
            return nr_error_msg(err, "%s: diff_id %u of the image config is not a sha256 digest",
                                what, i + 1);
        g_ptr_array_add(diff_ids, g_strdup(d.hex));
    }
    if (arch && strcmp(arch, nr_config_host_arch()) != 0)
        nr_warn("%s: the image is built for %s, this machine is %s", what, arch,
                nr_config_host_arch());
    put(out, "format", format);
    if (ref)
        put(out, "ref", ref);
    for (guint i = 0; tags && i < tags->len; i++)
        put(out, "tag", tags->pdata[i]);
    JsonObject *c = nr_json_get_object(root, "config");
    if (c) {
        if (put_strings(out, c, "Env", "env", what, err) < 0 ||
            put_strings(out, c, "Entrypoint", "entrypoint", what, err) < 0 ||
            put_strings(out, c, "Cmd", "cmd", what, err) < 0)
            return -1;
        const char *w = nr_json_get_string(c, "WorkingDir"), *u = nr_json_get_string(c, "User");
        if (w && *w)
            put(out, "workdir", w);
        if (u && *u)
            put(out, "user", u);
    }
    return 0;
}

/* read the config blob, write the config file, take the diff_ids */
int nr_config_write(NrUnpackJob *job, NrSource *src, const char *name, const NrDigest *want,
                    int64_t size, GPtrArray *tags, GPtrArray *diff_ids, char ret_sha256[65],
                    NrError *err)
{
    g_autoptr(GBytes) bytes = NULL;
    if (nr_blob_read(src, name, want, size, &bytes, ret_sha256, err) < 0)
        return -1;
    gsize len;
    const char *data = g_bytes_get_data(bytes, &len);
    g_autoptr(GString) out = g_string_new(NULL);
    if (nr_config_parse(data, len, src->what, name, job->format, job->ref, tags, out, diff_ids,
                        err) < 0)
        return -1;
    return nr_write_file_at(job->meta_fd, "config", out->str, 0644, err);
}

int nr_config_write_plain(NrUnpackJob *job, NrError *err)
{
    g_autoptr(GString) out = g_string_new(NULL);
    put(out, "format", job->format);
    return nr_write_file_at(job->meta_fd, "config", out->str, 0644, err);
}
