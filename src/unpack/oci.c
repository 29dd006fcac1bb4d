/* SPDX-License-Identifier: Apache-2.0 */
/* oci.c — the OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>),
 * as a directory or a tar: its index (nested ones followed), the image
 * manifest, every blob named and checked by its digest. */
#include <string.h>

#include "blob.h"
#include "choose.h"
#include "digest.h"
#include "json.h"
#include "manifest.h"
#include "oci.h"

static bool is_index_type(const char *mt)
{
    return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
                  strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

static int descriptor(const char *what, JsonObject *d, NrDigest *ret, int64_t *ret_size,
                      NrError *err)
{
    const char *dg = nr_json_get_string(d, "digest");
    JsonNode *sz = d ? json_object_get_member(d, "size") : NULL;
    if (!nr_digest_parse(dg, ret))
        return nr_error_msg(err, "%s: a descriptor has a missing or unsupported digest '%s'", what,
                            dg ? dg : "");
    if (!sz || !JSON_NODE_HOLDS_VALUE(sz) || json_node_get_value_type(sz) != G_TYPE_INT64 ||
        json_node_get_int(sz) < 0)
        return nr_error_msg(err, "%s: the descriptor of %s has no valid size", what, dg);
    *ret_size = json_node_get_int(sz);
    return 0;
}

static void add_name(GPtrArray *names, const char *n)
{
    if (!n || !*n)
        return;
    for (guint i = 0; i < names->len; i++)
        if (strcmp(names->pdata[i], n) == 0)
            return;
    g_ptr_array_add(names, g_strdup(n));
}

/* the images an index lists; nested indexes are read from `src` (a
 * harness passes none: they are refused) */
static int collect_oci(NrSource *src, const char *what, JsonNode *index, GPtrArray *keep,
                       GPtrArray *cands, GPtrArray *inherit, int depth, NrError *err)
{
    JsonObject *io = JSON_NODE_HOLDS_OBJECT(index) ? json_node_get_object(index) : NULL;
    JsonArray *m = nr_json_get_array(io, "manifests");
    if (!m)
        return nr_error_msg(err, "%s: an image index without a 'manifests' list", what);
    for (guint i = 0; i < json_array_get_length(m); i++) {
        JsonNode *dn = json_array_get_element(m, i);
        JsonObject *d = JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        if (!d)
            return nr_error_msg(err, "%s: an image index entry is not an object", what);
        JsonObject *ann = nr_json_get_object(d, "annotations");
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        for (guint j = 0; inherit && j < inherit->len; j++)
            add_name(names, inherit->pdata[j]);
        add_name(names, nr_json_get_string(ann, "io.containerd.image.name"));
        add_name(names, nr_json_get_string(ann, "org.opencontainers.image.ref.name"));
        if (is_index_type(nr_json_get_string(d, "mediaType"))) {
            if (depth >= 4 || !src)
                return nr_error_msg(err, "%s: image indexes nested too deep", what);
            NrDigest dg;
            int64_t size;
            if (descriptor(what, d, &dg, &size, err) < 0)
                return -1;
            g_autofree char *path = nr_digest_path(&dg);
            JsonNode *sub = nr_blob_json(src, path, &dg, size, NULL, err);
            if (!sub)
                return -1;
            g_ptr_array_add(keep, sub);
            if (collect_oci(src, what, sub, keep, cands, names, depth + 1, err) < 0)
                return -1;
            continue;
        }
        NrCandidate *c = g_new0(NrCandidate, 1);
        c->names = g_ptr_array_ref(names);
        c->obj = d;
        JsonObject *pl = nr_json_get_object(d, "platform");
        if (pl && nr_json_get_string(pl, "os") && nr_json_get_string(pl, "architecture"))
            c->platform = g_strdup_printf("%s/%s", nr_json_get_string(pl, "os"),
                                          nr_json_get_string(pl, "architecture"));
        g_ptr_array_add(cands, c);
    }
    return 0;
}

/* index.json (a buffer), without nested indexes: 0 when it names an image
 * (for harnesses; the import reads nested ones too) */
int nr_oci_index(const char *buf, size_t len, const char *what, const char *ref, NrError *err)
{
    g_autoptr(JsonNode) index = nr_json_parse(buf, len, what, "index.json", err);
    if (!index)
        return -1;
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(nr_candidate_free);
    if (collect_oci(NULL, what, index, keep, cands, NULL, 0, err) < 0)
        return -1;
    NrCandidate *c = nr_choose_image(cands, ref, what, err);
    NrDigest d;
    int64_t size;
    return c ? descriptor(what, c->obj, &d, &size, err) : -1;
}

/* an OCI image manifest (a buffer): the config's digest and size, each
 * layer's digest and size */
int nr_oci_manifest(const char *buf, size_t len, const char *what, NrManifest *ret, NrError *err)
{
    nr_manifest_init(ret);
    g_autoptr(JsonNode) man = nr_json_parse(buf, len, what, "the image manifest", err);
    if (!man)
        return -1;
    JsonObject *mo = JSON_NODE_HOLDS_OBJECT(man) ? json_node_get_object(man) : NULL;
    JsonObject *cd = nr_json_get_object(mo, "config");
    JsonArray *la = nr_json_get_array(mo, "layers");
    if (!cd || !la)
        return nr_error_msg(err, "%s: the image manifest has no config or no layers", what);
    NrDigest d;
    if (descriptor(what, cd, &d, &ret->config_size, err) < 0)
        return -1;
    ret->config = g_strdup_printf("%s:%s", d.alg, d.hex);
    guint n = json_array_get_length(la);
    if (n > NR_MAX_LAYERS)
        return nr_error_msg(err,
                            "%s: the image has %u layers; nroot imports images of at most "
                            "%d",
                            what, n, NR_MAX_LAYERS);
    for (guint i = 0; i < n; i++) {
        JsonNode *dn = json_array_get_element(la, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        int64_t size;
        if (!o)
            return nr_error_msg(err, "%s: layer %u of the manifest is not a descriptor", what,
                                i + 1);
        if (descriptor(what, o, &d, &size, err) < 0)
            return -1;
        g_ptr_array_add(ret->layers, g_strdup_printf("%s:%s", d.alg, d.hex));
        g_array_append_val(ret->sizes, size);
    }
    return 0;
}

/* the image manifest `md` (of `msize` bytes, -1: unknown) read from the
 * layout, then applied; `names` (may be NULL) are the index's names of it */
static int apply_manifest(NrUnpackJob *job, NrSource *src, const NrDigest *md, int64_t msize,
                          GPtrArray *names, NrError *err)
{
    g_autofree char *mpath = nr_digest_path(md);
    g_autoptr(GBytes) mb = NULL;
    if (nr_blob_read(src, mpath, md, msize, &mb, NULL, err) < 0)
        return -1;
    gsize len;
    const char *data = g_bytes_get_data(mb, &len);
    NrManifest m;
    if (nr_oci_manifest(data, len, src->what, &m, err) < 0) {
        nr_manifest_clear(&m);
        return -1;
    }
    for (guint i = 0; names && i < names->len; i++) {
        const char *nm = names->pdata[i];
        if (strchr(nm, ':') || strchr(nm, '/')) /* a bare tag ("latest") names nothing */
            g_ptr_array_add(m.names, g_strdup(nm));
    }
    int rc = nr_manifest_apply(job, src, &m, true, err);
    nr_manifest_clear(&m);
    return rc;
}

/* an OCI image layout (or a tar of one): index.json lists the manifests,
 * which name the config and the layers by digest */
int nr_oci_unpack(NrUnpackJob *job, NrSource *src, NrError *err)
{
    g_autoptr(JsonNode) layout = nr_blob_json(src, "oci-layout", NULL, -1, NULL, err);
    if (!layout)
        return -1;
    if (!JSON_NODE_HOLDS_OBJECT(layout) ||
        !nr_json_get_string(json_node_get_object(layout), "imageLayoutVersion"))
        return nr_error_msg(
            err, "%s: oci-layout has no imageLayoutVersion: not an OCI image layout", src->what);
    g_autoptr(JsonNode) index = nr_blob_json(src, "index.json", NULL, -1, NULL, err);
    if (!index)
        return -1;
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(nr_candidate_free);
    if (collect_oci(src, src->what, index, keep, cands, NULL, 0, err) < 0)
        return -1;
    NrCandidate *c = nr_choose_image(cands, job->ref, src->what, err);
    if (!c)
        return -1;

    NrDigest md;
    int64_t msize;
    if (descriptor(src->what, c->obj, &md, &msize, err) < 0)
        return -1;
    return apply_manifest(job, src, &md, msize, c->names, err);
}

/* the image whose manifest is the blob `digest` of the layout in `src`
 * (no index.json needed: the blob cache a registry pull fills) */
int nr_oci_unpack_manifest(NrUnpackJob *job, NrSource *src, const char *digest, NrError *err)
{
    NrDigest md;
    if (!nr_digest_parse(digest, &md))
        return nr_error_msg(err, "--manifest: '%s' is not a supported digest", digest);
    return apply_manifest(job, src, &md, -1, NULL, err);
}
