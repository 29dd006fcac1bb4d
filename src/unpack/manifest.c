/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.c — an image's manifest, either format's, applied: the config
 * read and written, then every layer applied in order.
 *
 * Every blob named by a digest is checked against it (and its size) while
 * it is read, and every layer's diff_id over its decompressed bytes while it
 * is unpacked; a layer's digests are known only at its end, so a mismatch fails the whole
 * import, whose tree nroot then throws away.  The import reports the layer
 * chain (the OCI chain id of the measured diff_ids), which the store keeps
 * beside the config digest, the image id. */
#include <archive_entry.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blob.h"
#include "config.h"
#include "digest.h"
#include "layer.h"
#include "manifest.h"
#include "stream.h"

typedef struct Layer {
    char *name;
    NrDigest raw; /* of the blob as stored */
    bool has_raw;
    NrDigest diff; /* of the uncompressed tar (docker's diff_id) */
    bool has_diff;
    int64_t size; /* -1: unknown */
} Layer;

static uint64_t tree_bytes;
static int add_bytes(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F && S_ISREG(st->st_mode))
        tree_bytes += (uint64_t)st->st_size;
    return 0;
}

/* The layer's tar is read from its decompressed bytes, which pass through
 * an NrStream of their own on the way: libarchive's filters decompress (a
 * "raw" reader), the stream hashes what it hands on, the tar reader reads
 * it.  So the diff_id covers exactly what was unpacked, whatever the
 * compression, and nothing is read twice. */
static int apply_layer(NrUnpackJob *job, NrSource *src, Layer *ly, NrBlob *b, const char *what,
                       char ret_diff[129], NrError *err)
{
    struct archive *raw = archive_read_new();
    archive_read_support_filter_all(raw);
    archive_read_support_format_raw(raw);
    struct archive_entry *e;
    int rc = -1;
    NrStream d = { 0 };
    struct archive *tar = NULL;
    if (archive_read_open(raw, &b->s, NULL, nr_stream_read, NULL) != ARCHIVE_OK ||
        archive_read_next_header(raw, &e) < ARCHIVE_WARN) {
        nr_error_msg(err, "%s: %s", what, archive_error_string(raw) ?: "cannot read the layer");
        goto out;
    }
    nr_stream_init(&d, -1, raw, 0, ly->has_diff ? ly->diff.type : NR_SHA256, NULL);
    tar = archive_read_new();
    archive_read_support_format_tar(tar);
    archive_read_support_format_gnutar(tar);
    archive_read_open(tar, &d, NULL, nr_stream_read, NULL);
    if (nr_layer_apply(&job->layers, tar, NULL, 0, what, err) < 0)
        goto out;
    /* the diff_id covers the tar's end blocks and whatever follows them */
    if (nr_stream_drain(&d) < 0) {
        nr_error_msg(err, "%s: %s", what, archive_error_string(raw) ?: "read error");
        goto out;
    }
    snprintf(ret_diff, 129, "%s", nr_stream_digest(&d));
    if (ly->has_diff && strcmp(ret_diff, ly->diff.hex) != 0) {
        nr_error_msg(err,
                     "%s: the layer does not match its digest in the image config "
                     "(diff_id %s:%.12s... expected, %s:%.12s... found): it is not the image's "
                     "layer",
                     what, ly->diff.alg, ly->diff.hex, ly->diff.alg, ret_diff);
        goto out;
    }
    rc = 0;
out:
    if (tar)
        archive_read_free(tar);
    nr_stream_clear(&d);
    archive_read_free(raw);
    return rc;
}

static int apply_layers(NrUnpackJob *job, NrSource *src, Layer *layers, guint n, NrError *err)
{
    if (n > NR_MAX_LAYERS)
        return nr_error_msg(err,
                            "%s: the image has %u layers; nroot imports images of at most "
                            "%d",
                            src->what, n, NR_MAX_LAYERS);
    uint64_t total = 0;
    for (guint i = 0; i < n; i++) {
        if (src->follow && layers[i].size >= 0) { /* maybe still downloading */
            total += (uint64_t)layers[i].size;
            continue;
        }
        NrBlob b;
        if (nr_blob_open(src, layers[i].name, NR_SHA256, NULL, &b, err) < 0)
            return -1;
        total += b.size;
        nr_blob_close(&b);
    }
    if (job->progress)
        job->progress->total += total;
    char chain[72] = "";
    for (guint i = 0; i < n; i++) {
        Layer *ly = &layers[i];
        NrDigestType t = ly->has_raw ? ly->raw.type : NR_SHA256;
        NrBlob b;
        if (nr_blob_open_layer(src, ly->name, ly->size, t, job->progress, &b, err) < 0)
            return -1;
        g_autofree char *what =
            g_strdup_printf("%s: layer %u of %u ('%s')", src->what, i + 1, n, ly->name);
        int rc = -1;
        char diff[129];
        if (ly->size >= 0 && b.size != (uint64_t)ly->size) {
            nr_error_msg(err,
                         "%s: blob '%s' has %llu bytes where its descriptor says %lld: the "
                         "file is corrupt or was altered",
                         src->what, ly->name, (unsigned long long)b.size, (long long)ly->size);
            goto next;
        }
        job->layers.index = (int)i;
        rc = apply_layer(job, src, ly, &b, what, diff, err);
        if (rc == 0 && nr_stream_drain(&b.s) < 0)
            rc = nr_error_errno(err, "%s: cannot read '%s'", src->what, ly->name);
        if (rc == 0 && b.follow && ly->size >= 0 && b.s.bytes != (uint64_t)ly->size)
            rc = nr_error_msg(err,
                              "%s: blob '%s' has %llu bytes where its descriptor says %lld: "
                              "the file is corrupt or was altered",
                              src->what, ly->name, (unsigned long long)b.s.bytes,
                              (long long)ly->size);
        if (rc == 0 && ly->has_raw)
            rc = nr_digest_check(&b.s, &ly->raw, src->what, ly->name, err);
        if (rc == 0) {
            g_autofree char *d =
                g_strdup_printf("%s:%s", ly->has_diff ? ly->diff.alg : "sha256", diff);
            nr_digest_chain_next(chain, d);
        }
next:
        nr_blob_close(&b);
        if (rc < 0)
            return -1;
    }
    /* no layers: the chain of nothing, sha256 of "" */
    snprintf(job->chain, sizeof job->chain, "%s",
             n ? chain + strlen("sha256:")
               : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    if (n > 1) {
        /* deleted and replaced files of lower layers are not in the image */
        tree_bytes = 0;
        nftw("/", add_bytes, 32, FTW_PHYS | FTW_MOUNT);
        job->layers.counts.bytes = tree_bytes;
    }
    return 0;
}

static void layers_free(Layer *layers, guint n)
{
    for (guint i = 0; i < n; i++)
        g_free(layers[i].name);
    g_free(layers);
}

void nr_manifest_clear(NrManifest *m)
{
    g_free(m->config);
    if (m->layers)
        g_ptr_array_unref(m->layers);
    if (m->sizes)
        g_array_unref(m->sizes);
    if (m->names)
        g_ptr_array_unref(m->names);
    memset(m, 0, sizeof *m);
}

void nr_manifest_init(NrManifest *m)
{
    memset(m, 0, sizeof *m);
    m->layers = g_ptr_array_new_with_free_func(g_free);
    m->sizes = g_array_new(FALSE, FALSE, sizeof(int64_t));
    m->names = g_ptr_array_new_with_free_func(g_free);
    m->config_size = -1;
}

/* the manifest's layers, each with the diff_id the config gives it */
static Layer *make_layers(NrSource *src, const NrManifest *m, GPtrArray *diff_ids, bool oci,
                          NrError *err)
{
    guint n = m->layers->len;
    if (diff_ids->len != n) {
        nr_error_msg(err, "%s: the image config lists %u layers, the manifest %u", src->what,
                     diff_ids->len, n);
        return NULL;
    }
    Layer *layers = g_new0(Layer, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        const char *ln = m->layers->pdata[i];
        layers[i].size = g_array_index(m->sizes, int64_t, i);
        if (oci) {
            nr_digest_parse(ln, &layers[i].raw); /* checked by nr_oci_manifest */
            layers[i].name = nr_digest_path(&layers[i].raw);
            layers[i].has_raw = true;
        } else {
            layers[i].name = g_strdup(ln);
            layers[i].has_raw = nr_digest_from_name(ln, &layers[i].raw);
        }
        g_autofree char *d = g_strdup_printf("sha256:%s", (char *)diff_ids->pdata[i]);
        layers[i].has_diff = nr_digest_parse(d, &layers[i].diff);
    }
    return layers;
}

/* What both formats do once their manifest is read: the config read (its
 * digest is the image id) and written, then the layers applied in the
 * manifest's order.  A docker-archive names its config and layers by file
 * name (a digest where the name carries one), OCI by digest. */
int nr_manifest_apply(NrUnpackJob *job, NrSource *src, const NrManifest *m, bool oci, NrError *err)
{
    NrDigest want;
    bool named;
    g_autofree char *config = NULL;
    if (oci) {
        named = nr_digest_parse(m->config, &want); /* checked by nr_oci_manifest */
        config = nr_digest_path(&want);
    } else {
        named = nr_digest_from_name(m->config, &want);
        config = g_strdup(m->config);
    }
    char sha[65];
    g_autoptr(GPtrArray) diffs = g_ptr_array_new_with_free_func(g_free);
    if (nr_config_write(job, src, config, named ? &want : NULL, m->config_size, m->names, diffs,
                        sha, err) < 0)
        return -1;
    /* the config's digest, as checked (sha256 of it where its name carries none) */
    snprintf(job->id, sizeof job->id, "%s", sha);
    Layer *layers = make_layers(src, m, diffs, oci, err);
    if (!layers)
        return -1;
    int rc = apply_layers(job, src, layers, m->layers->len, err);
    layers_free(layers, m->layers->len);
    return rc;
}
