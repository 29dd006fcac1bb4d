/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.c — what the registry answers for a reference: an image
 * manifest (OCI, docker schema 2) or an index / manifest list, from which
 * the platform's entry is chosen.  Schema 1 is refused.  Only sha256
 * digests are taken: they name the cache's files. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nr-util.h"
#include "pull.h"

static JsonNode *parse(JsonParser *p, const char *buf, size_t len, const char *what, NrError *err)
{
    g_autoptr(GError) ge = NULL;
    if (len > NR_PULL_DOC_MAX) {
        nr_error_msg(err, "the %s is larger than %u bytes", what, NR_PULL_DOC_MAX);
        return NULL;
    }
    if (!json_parser_load_from_data(p, buf, (gssize)len, &ge)) {
        nr_error_msg(err, "the %s is not JSON: %s", what, ge->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(p);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        nr_error_msg(err, "the %s is not a JSON object", what);
        return NULL;
    }
    return root;
}

static const char *str(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
        return json_node_get_string(n);
    return NULL;
}

static bool has_int(JsonObject *o, const char *name, gint64 *ret)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
        return false;
    *ret = json_node_get_int(n);
    return true;
}

static JsonArray *arr(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static JsonObject *obj(JsonNode *n)
{
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static int schema1(NrError *err)
{
    nr_error_msg(err, "the image has a docker schema 1 manifest, which nroot does not support");
    nr_error_hint(err, "push it again with a current docker or skopeo (schema 2 or OCI)");
    return -1;
}

int nr_manifest_kind(const char *content_type, const char *buf, size_t len, bool *ret_index,
                     NrError *err)
{
    char ct[128] = "";
    if (content_type)
        snprintf(ct, sizeof ct, "%.*s", (int)strcspn(content_type, "; "), content_type);
    if (strncmp(ct, "application/vnd.docker.distribution.manifest.v1+", 48) == 0)
        return schema1(err);
    if (strcmp(ct, NR_MT_OCI_INDEX) == 0 || strcmp(ct, NR_MT_DOCKER_LIST) == 0) {
        *ret_index = true;
        return 0;
    }
    if (strcmp(ct, NR_MT_OCI_MANIFEST) == 0 || strcmp(ct, NR_MT_DOCKER_MANIFEST) == 0) {
        *ret_index = false;
        return 0;
    }
    /* application/json, or nothing: the document says */
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root = parse(p, buf, len, "manifest", err);
    if (!root)
        return -1;
    JsonObject *o = json_node_get_object(root);
    gint64 v = 0;
    if (has_int(o, "schemaVersion", &v) && v == 1)
        return schema1(err);
    const char *mt = str(o, "mediaType");
    if (mt && (strcmp(mt, NR_MT_OCI_INDEX) == 0 || strcmp(mt, NR_MT_DOCKER_LIST) == 0))
        *ret_index = true;
    else if (mt && (strcmp(mt, NR_MT_OCI_MANIFEST) == 0 || strcmp(mt, NR_MT_DOCKER_MANIFEST) == 0))
        *ret_index = false;
    else if (!mt && arr(o, "manifests"))
        *ret_index = true;
    else if (!mt && arr(o, "layers"))
        *ret_index = false;
    else
        return nr_error_msg(err, "not an image manifest (media type '%s')",
                            mt      ? mt
                            : ct[0] ? ct
                                    : "none");
    return 0;
}

const char *nr_manifest_host_platform(void)
{
#if defined(__x86_64__)
    return "linux/amd64";
#elif defined(__aarch64__)
    return "linux/arm64";
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
    return "linux/arm/v7";
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
    return "linux/arm/v6";
#elif defined(__arm__)
    return "linux/arm/v5";
#elif defined(__i386__)
    return "linux/386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "linux/ppc64le";
#elif defined(__s390x__)
    return "linux/s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "linux/riscv64";
#elif defined(__loongarch64)
    return "linux/loong64";
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "linux/mips64le";
#else
    return "linux/unknown";
#endif
}

/* does the entry's platform fit os/arch/variant? exact: its variant as
 * asked (none asked: none, or arm64's implied v8) */
static bool fits(JsonObject *pl, const char *os, const char *arch, const char *variant, bool exact)
{
    const char *eo = str(pl, "os"), *ea = str(pl, "architecture"), *ev = str(pl, "variant");
    if (!eo || !ea || strcmp(eo, os) != 0 || strcmp(ea, arch) != 0)
        return false;
    if (variant[0])
        return ev && strcmp(ev, variant) == 0;
    if (!exact)
        return true;
    return !ev || !ev[0] || (strcmp(arch, "arm64") == 0 && strcmp(ev, "v8") == 0);
}

int nr_manifest_choose(const char *buf, size_t len, const char *platform, char **ret_digest,
                       NrError *err)
{
    char os[64] = "", arch[64] = "", variant[64] = "";
    if (sscanf(platform, "%63[^/]/%63[^/]/%63s", os, arch, variant) < 2 || !os[0] || !arch[0])
        return nr_error_msg(err, "invalid platform '%s' (expected os/arch[/variant])", platform);
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root = parse(p, buf, len, "index", err);
    if (!root)
        return -1;
    JsonArray *ms = arr(json_node_get_object(root), "manifests");
    guint n = ms ? json_array_get_length(ms) : 0;
    for (int exact = 1; exact >= 0; exact--)
        for (guint i = 0; i < n; i++) {
            JsonObject *m = obj(json_array_get_element(ms, i));
            JsonObject *pl = obj(m ? json_object_get_member(m, "platform") : NULL);
            if (!pl || !fits(pl, os, arch, variant, exact))
                continue;
            const char *d = str(m, "digest");
            if (!nr_pull_digest_hex(d))
                return nr_error_msg(err, "the index's entry for %s has an invalid digest",
                                    platform);
            *ret_digest = nr_xstrdup(d);
            return 0;
        }
    /* name what there is */
    char offered[512] = "";
    size_t used = 0;
    for (guint i = 0; i < n && used < sizeof offered - 1; i++) {
        JsonObject *m = obj(json_array_get_element(ms, i));
        JsonObject *pl = obj(m ? json_object_get_member(m, "platform") : NULL);
        const char *eo = str(pl, "os"), *ea = str(pl, "architecture"), *ev = str(pl, "variant");
        if (!eo || !ea || strcmp(eo, "unknown") == 0)
            continue;
        int k = snprintf(offered + used, sizeof offered - used, "%s%s/%s%s%s", used ? ", " : "", eo,
                         ea, ev && ev[0] ? "/" : "", ev && ev[0] ? ev : "");
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (used >= sizeof offered)
        used = sizeof offered - 1;
    offered[used] = '\0';
    nr_error_msg(err, "the image has no variant for %s (it offers: %s)", platform,
                 offered[0] ? offered : "none");
    nr_error_hint(err, "choose one with --platform");
    return -1;
}

static bool is_foreign(const char *mt)
{
    return mt && (strstr(mt, ".foreign.") || strstr(mt, "nondistributable"));
}

static int blobref(JsonObject *d, NrBlobRef *b, const char *what, NrError *err)
{
    const char *digest = str(d, "digest");
    const char *mt = str(d, "mediaType");
    gint64 size = -1;
    if (!d || !digest)
        return nr_error_msg(err, "the manifest's %s has no digest", what);
    if (!nr_pull_digest_hex(digest))
        return nr_error_msg(err, "the manifest's %s has an unsupported digest '%s'", what, digest);
    if (!has_int(d, "size", &size) || size < 0)
        return nr_error_msg(err, "the manifest's %s has no valid size", what);
    b->digest = nr_xstrdup(digest);
    b->media_type = nr_xstrdup(mt ? mt : "");
    b->size = (uint64_t)size;
    b->foreign = is_foreign(mt);
    return 0;
}

int nr_manifest_parse(const char *buf, size_t len, NrManifest *m, NrError *err)
{
    memset(m, 0, sizeof *m);
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root = parse(p, buf, len, "manifest", err);
    if (!root)
        return -1;
    JsonObject *o = json_node_get_object(root);
    gint64 v = 0;
    if (!has_int(o, "schemaVersion", &v) || v != 2)
        return v == 1 ? schema1(err) : nr_error_msg(err, "the manifest is not schema version 2");
    const char *mt = str(o, "mediaType");
    m->media_type = nr_xstrdup(mt ? mt : NR_MT_OCI_MANIFEST);
    if (blobref(obj(json_object_get_member(o, "config")), &m->config, "config", err) < 0)
        return -1;
    if (m->config.size > NR_PULL_DOC_MAX)
        return nr_error_msg(err, "the image's config is larger than %u bytes", NR_PULL_DOC_MAX);
    JsonArray *ls = arr(o, "layers");
    if (!ls)
        return nr_error_msg(err, "the manifest has no layers");
    guint n = json_array_get_length(ls);
    m->layers = calloc(n ? n : 1, sizeof *m->layers);
    if (!m->layers)
        return nr_error_msg(err, "out of memory");
    for (guint i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "layer %u", i + 1);
        if (blobref(obj(json_array_get_element(ls, i)), &m->layers[i], what, err) < 0)
            return -1;
        m->n_layers++;
    }
    return 0;
}

void nr_manifest_clear(NrManifest *m)
{
    free(m->media_type);
    free(m->config.digest);
    free(m->config.media_type);
    for (size_t i = 0; i < m->n_layers; i++) {
        free(m->layers[i].digest);
        free(m->layers[i].media_type);
    }
    free(m->layers);
    memset(m, 0, sizeof *m);
}
