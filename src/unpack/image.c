/* SPDX-License-Identifier: Apache-2.0 */
/* image.c — the image formats nroot-unpack reads, told apart by content,
 * and the import handed to the reader of each:
 *
 *   rootfs tarball   any tar (plain, gzip, xz, zstd, bzip2) of a tree: one
 *                    layer, applied here
 *   docker-archive   `docker save` / `podman save` / skopeo: manifest.json,
 *                    config JSON, layer tars (one or several images) (docker.c)
 *   oci-archive      a tar of an OCI image layout (oci.c)
 *   oci-layout       an OCI image layout directory (oci-layout, index.json,
 *                    blobs/<alg>/<hex>) (oci.c)
 *   docker-dir       an unpacked docker-archive directory (docker.c)
 *
 * A tar is an image archive when its first entry is one an image archive
 * starts with; otherwise it is a rootfs.  An image archive is read once,
 * indexed in place or spooled (spool.c); its files are opened by name
 * (blob.c) and its manifest applied (manifest.c), every blob and layer
 * checked against its digests. */
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "digest.h"
#include "docker.h"
#include "image.h"
#include "layer.h"
#include "oci.h"
#include "path.h"
#include "spool.h"
#include "stream.h"

/* entries an image archive starts with, and a rootfs never does */
static bool image_entry(const char *name)
{
    g_autofree char *c = nr_path_clean(name);
    if (!c || !*c)
        return false;
    size_t n = strcspn(c, "/");
    const char *top[] = { "manifest.json", "repositories", "index.json", "oci-layout", "blobs" };
    for (size_t i = 0; i < G_N_ELEMENTS(top); i++)
        if (strlen(top[i]) == n && strncmp(c, top[i], n) == 0)
            return true;
    if (n >= 64 && nr_digest_is_hex(c, 64)) {
        const char *rest = c + 64;
        return *rest == '\0' || *rest == '/' || strcmp(rest, ".json") == 0 ||
               strcmp(rest, ".tar") == 0;
    }
    return false;
}

static int image_from_src(NrUnpackJob *job, NrSource *src, NrError *err)
{
    bool docker = g_hash_table_contains(src->index, "manifest.json");
    bool oci = g_hash_table_contains(src->index, "oci-layout") &&
               g_hash_table_contains(src->index, "index.json");
    if (!docker && !oci)
        return nr_error_msg(err, "%s: an image archive without manifest.json or index.json",
                            src->what);
    job->format = docker ? "docker-archive" : "oci-archive";
    return docker ? nr_docker_unpack(job, src, err) : nr_oci_unpack(job, src, err);
}

static int unpack_file(NrUnpackJob *job, const struct stat *st, const char *what, NrError *err)
{
    NrStream s;
    nr_stream_init(&s, job->image_fd, NULL, (uint64_t)st->st_size, NR_SHA256, job->progress);
    if (job->progress)
        job->progress->total = (uint64_t)st->st_size;
    struct archive *a = nr_stream_archive(&s);
    struct archive_entry *pending[2] = { NULL, NULL }, *top = NULL;
    int n_pending = 0, rc = -1;
    NrSource src = { .fd = -1, .what = what };
    /* the first entry that is not the top directory tells the kind */
    struct archive_entry *e = NULL;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) {
            if (n_pending == 0) {
                nr_error_msg(err, "%s: the archive contains no files", what);
                goto out;
            }
            e = NULL;
            break;
        }
        if (r < ARCHIVE_WARN) {
            nr_error_msg(err, "%s: %s", what, archive_error_string(a));
            if (n_pending == 0)
                nr_error_hint(err, "an image is a directory, a tar archive (plain, gzip, xz, zstd "
                                   "or bzip2), a docker-archive or an OCI image");
            goto out;
        }
        g_autofree char *c = nr_path_clean(archive_entry_pathname(e) ?: "");
        if (c && !*c && n_pending == 0 && archive_entry_filetype(e) == AE_IFDIR) {
            top = pending[n_pending++] = archive_entry_clone(e);
            continue;
        }
        break;
    }
    if (e && image_entry(archive_entry_pathname(e))) {
        bool plain =
            archive_filter_count(a) == 1 || archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE;
        if (plain) {
            /* read in place: no copy of the layers */
            src.tar = true;
            src.fd = job->image_fd;
            archive_read_free(a);
            a = NULL;
            nr_stream_clear(&s); /* its reader thread would read the whole file */
            if (job->progress)   /* only the layers count from here */
                job->progress->total = job->progress->done = 0;
            if (nr_spool_index(&src, err) < 0)
                goto out;
        } else {
            /* compressed: spool the files, then read them in the manifest's order */
            if (nr_spool_copy(&src, job->meta_fd, a, e, err) < 0)
                goto out;
            if (nr_stream_drain(&s) < 0) {
                nr_error_errno(err, "%s: read error", what);
                goto out;
            }
        }
        rc = image_from_src(job, &src, err);
        goto out;
    }

    /* a rootfs tarball: one layer, its digest is the file's */
    job->format = "rootfs-tar";
    if (job->ref) {
        nr_error_msg(err, "--image-ref: %s is a root filesystem tarball, not an image archive",
                     what);
        goto out;
    }
    if (e)
        pending[n_pending++] = e;
    job->layers.index = 0;
    if (nr_layer_apply(&job->layers, a, pending, n_pending, what, err) < 0)
        goto out;
    if (nr_stream_drain(&s) < 0) { /* the digest covers what follows the tar's end */
        nr_error_errno(err, "%s: read error", what);
        goto out;
    }
    snprintf(job->id, sizeof job->id, "%s", nr_stream_digest(&s));
    snprintf(job->chain, sizeof job->chain, "%s", job->id); /* the file is the whole tree */
    rc = nr_config_write_plain(job, err);
out:
    if (top)
        archive_entry_free(top);
    if (a)
        archive_read_free(a);
    nr_spool_clear(&src, job->meta_fd);
    nr_stream_clear(&s);
    return rc;
}

int nr_unpack_image(NrUnpackJob *job, NrError *err)
{
    struct stat st;
    if (fstat(job->image_fd, &st) < 0)
        return nr_error_errno(err, "'%s'", job->name);
    g_autofree char *what = g_strdup_printf("'%s'", job->name);
    if (S_ISREG(st.st_mode) && job->manifest)
        return nr_error_msg(err, "--manifest: %s is not an OCI layout directory", what);
    if (S_ISREG(st.st_mode))
        return unpack_file(job, &st, what, err);
    if (!S_ISDIR(st.st_mode))
        return nr_error_msg(err, "%s is neither a file nor a directory", what);
    NrSource src = { .fd = job->image_fd, .what = what, .notify = -1 };
    if (job->manifest) {
        src.follow = job->follow;
        src.notify = job->notify;
        /* a registry pull's blob cache: the manifest is named, no index */
        job->format = "registry";
        return nr_oci_unpack_manifest(job, &src, job->manifest, err);
    }
    if (faccessat(job->image_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        job->format = "oci-layout";
        return nr_oci_unpack(job, &src, err);
    }
    job->format = "docker-dir";
    return nr_docker_unpack(job, &src, err);
}
