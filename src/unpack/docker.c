/* SPDX-License-Identifier: Apache-2.0 */
/* docker.c — docker-archive: `docker save` / `podman save` / skopeo, a tar
 * (or its unpacked directory) of manifest.json, the config JSON and the
 * layer tars, one image or several. */
#include <string.h>

#include "blob.h"
#include "choose.h"
#include "docker.h"
#include "json.h"
#include "manifest.h"

/* manifest.json (a buffer): the image `ref` names (or the only one) */
int nr_docker_manifest(const char *buf, size_t len, const char *what, const char *ref,
                       NrManifest *ret, NrError *err)
{
    nr_manifest_init(ret);
    g_autoptr(JsonNode) man = nr_json_parse(buf, len, what, "manifest.json", err);
    if (!man)
        return -1;
    if (!JSON_NODE_HOLDS_ARRAY(man))
        return nr_error_msg(err, "%s: manifest.json is not a list of images", what);
    JsonArray *arr = json_node_get_array(man);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(nr_candidate_free);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
        if (!o || !nr_json_get_string(o, "Config") || !nr_json_get_array(o, "Layers"))
            return nr_error_msg(err, "%s: manifest.json: image %u has no Config or no Layers", what,
                                i + 1);
        NrCandidate *c = g_new0(NrCandidate, 1);
        c->names = g_ptr_array_new_with_free_func(g_free);
        c->obj = o;
        g_ptr_array_add(cands, c);
        JsonArray *tags = nr_json_get_array(o, "RepoTags");
        for (guint j = 0; tags && j < json_array_get_length(tags); j++) {
            JsonNode *t = json_array_get_element(tags, j);
            if (JSON_NODE_HOLDS_VALUE(t) && json_node_get_value_type(t) == G_TYPE_STRING)
                g_ptr_array_add(c->names, g_strdup(json_node_get_string(t)));
        }
    }
    NrCandidate *c = nr_choose_image(cands, ref, what, err);
    if (!c)
        return -1;
    ret->config = g_strdup(nr_json_get_string(c->obj, "Config"));
    for (guint j = 0; j < c->names->len; j++)
        g_ptr_array_add(ret->names, g_strdup(c->names->pdata[j]));
    JsonArray *la = nr_json_get_array(c->obj, "Layers");
    if (json_array_get_length(la) > NR_MAX_LAYERS)
        return nr_error_msg(err,
                            "%s: the image has %u layers; nroot imports images of at most "
                            "%d",
                            what, json_array_get_length(la), NR_MAX_LAYERS);
    for (guint i = 0; i < json_array_get_length(la); i++) {
        JsonNode *v = json_array_get_element(la, i);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
            return nr_error_msg(err, "%s: manifest.json: layer %u is not a file name", what, i + 1);
        int64_t unknown = -1;
        g_ptr_array_add(ret->layers, g_strdup(json_node_get_string(v)));
        g_array_append_val(ret->sizes, unknown);
    }
    return 0;
}

/* a docker-archive (or its directory): manifest.json names the config and
 * the layers by file name */
int nr_docker_unpack(NrUnpackJob *job, NrSource *src, NrError *err)
{
    g_autoptr(GBytes) mb = NULL;
    if (nr_blob_read(src, "manifest.json", NULL, -1, &mb, NULL, err) < 0)
        return -1;
    gsize len;
    const char *data = g_bytes_get_data(mb, &len);
    NrManifest m;
    int rc = nr_docker_manifest(data, len, src->what, job->ref, &m, err);
    if (rc == 0)
        rc = nr_manifest_apply(job, src, &m, false, err);
    nr_manifest_clear(&m);
    return rc;
}
