/* nr-unpack.h — the pieces of nroot-unpack, the import helper: reading
 * blobs with a digest and progress (unpack.c), applying one layer tar to the
 * tree (unpack-layer.c), and the image formats (unpack-image.c).
 *
 * The helper runs pivoted into the new image's (empty) rootfs, so every path
 * a layer names is a path inside the image; `meta_fd` is a directory fd of
 * the import's bookkeeping directory outside it (config file, spool). */
#pragma once
#include <archive.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "nr-error.h"

/* ---- progress bar on stderr (unpack.c) ---- */
typedef struct NrProgress {
    bool     enabled;
    const char *label;
    uint64_t total, done;
    int64_t  start_ns, last_ns;
} NrProgress;
void nr_progress_add(NrProgress *p, uint64_t n);
void nr_progress_finish(NrProgress *p);

/* ---- a byte stream with a running digest, fed to libarchive ----
 * (OpenSSL's sha256 uses the CPU's SHA extensions: 6x glib's here) */
typedef enum NrDigestType { NR_SHA256, NR_SHA512 } NrDigestType;
typedef struct NrStream {
    int             fd;          /* read() from this, unless `outer` is set */
    struct archive *outer;       /* archive_read_data() of the current entry */
    uint64_t        remaining;   /* bytes left when reading a range (outer) */
    EVP_MD_CTX     *md;
    char            hex[129];    /* the digest, once taken */
    /* large files are read and hashed by a thread of their own, ahead of
     * libarchive, which extracts on the other core */
    GThread        *thread;
    GAsyncQueue    *full, *empty;
    struct NrChunk *chunks, *cur;
    bool            eof;
    gint            stop;
    uint64_t        bytes;       /* bytes delivered */
    NrProgress     *progress;
    guint8         *buf;
    size_t          buf_size;
} NrStream;
void nr_stream_init(NrStream *s, int fd, struct archive *outer, uint64_t size,
                    NrDigestType digest, NrProgress *progress);
/* the digest in hex of what was read (ends the digest: read no more) */
const char *nr_stream_digest(NrStream *s);
void nr_stream_clear(NrStream *s);
/* libarchive read callback over an NrStream */
la_ssize_t nr_stream_read(struct archive *a, void *data, const void **ret_buf);
/* read the rest (digest covers the whole blob); -1 on a read error */
int nr_stream_drain(NrStream *s);
/* a new libarchive reader for tar (any compression) over the stream */
struct archive *nr_stream_archive(NrStream *s);

/* ---- counters reported to nroot ---- */
typedef struct NrCounts {
    long     entries, devices, owners, warnings;
    uint64_t bytes;              /* regular file bytes written */
} NrCounts;

/* ---- applying layers (unpack-layer.c) ---- */
typedef struct NrLayers {
    bool        owners;          /* chown to the entries' ids */
    int         index;           /* 0 for the first layer / a rootfs tarball */
    GHashTable *seen;            /* paths this layer wrote (index > 0) */
    GHashTable *links;           /* symlinks this layer made */
    NrCounts    counts;
} NrLayers;
/* Extract every entry of `a` into the current root: first the `n_pending`
 * entries already read (the last one's data still unread), then the rest.
 * `what` names the file and layer in messages. */
int nr_layer_apply(NrLayers *l, struct archive *a, struct archive_entry **pending, int n_pending,
                   const char *what, NrError *err);
/* remove a tree inside the image (never follows symlinks) */
int nr_layer_rmtree(const char *path, NrError *err);
/* "./a//b/" -> "/a/b", "" -> "/"; false if a component is ".." or too long */
bool nr_path_normalize(const char *in, char *out, size_t size);

/* ---- image formats (unpack-image.c) ---- */
typedef struct NrUnpackJob {
    int         image_fd;        /* regular file or directory */
    int         meta_fd;
    const char *name;            /* the image as the user named it */
    const char *ref;             /* --image-ref, or NULL */
    NrProgress *progress;
    NrLayers    layers;
    char        id[72];          /* out: content id (sha256 hex) */
    char        chain[72];       /* out: chain id of the measured layers (sha256 hex) */
    const char *format;          /* out */
} NrUnpackJob;
int nr_unpack_image(NrUnpackJob *job, NrError *err);

/* ---- the JSON documents of an image, each parsed from a buffer (so a
 * fuzzing harness can call them); unpack-image.c ---- */
#define NR_JSON_MAX_SIZE  (4u << 20)   /* manifest, index, config: as containers/image */
#define NR_JSON_MAX_DEPTH 64           /* json-glib recurses: a deep document overflows */
#define NR_MAX_LAYERS     500          /* docker stops at 127; each layer costs a pass */
/* nested deeper than `max` arrays and objects (outside strings)? */
bool nr_json_too_deep(const char *buf, size_t len, int max);
/* size and depth checked, then parsed; `what` and `name` for messages */
JsonNode *nr_json_parse(const char *buf, size_t len, const char *what, const char *name,
                        NrError *err);
typedef struct NrManifest {
    char      *config;        /* docker: the config's file name; OCI: its digest */
    int64_t    config_size;   /* OCI; -1 for docker */
    GPtrArray *layers;        /* docker: file names; OCI: digests ("sha256:<hex>") */
    GArray    *sizes;         /* int64_t per layer, -1 if unknown */
    GPtrArray *names;         /* docker: RepoTags */
} NrManifest;
void nr_manifest_clear(NrManifest *m);
/* manifest.json of a docker-archive: the image `ref` names (or the only one) */
int  nr_image_docker_manifest(const char *buf, size_t len, const char *what, const char *ref,
                              NrManifest *ret, NrError *err);
/* index.json of an OCI layout (nested indexes refused): 0 if it names an image */
int  nr_image_oci_index(const char *buf, size_t len, const char *what, const char *ref,
                        NrError *err);
/* an OCI image manifest */
int  nr_image_oci_manifest(const char *buf, size_t len, const char *what, NrManifest *ret,
                           NrError *err);
/* an image config: the key=value text of nroot's config file, and its diff_ids (hex) */
int  nr_image_config(const char *buf, size_t len, const char *what, const char *name,
                     const char *format, const char *ref, GPtrArray *tags, GString *out,
                     GPtrArray *diff_ids, NrError *err);
/* one step of the OCI chain id ("sha256:<hex>" strings; chain "" before the first) */
void nr_chain_next(char chain[72], const char *diff);

/* ---- seccomp profiles (unpack-seccomp.c) ---- */
/* nroot-unpack --seccomp-compile --caps=HEX PROFILE: the JSON profile's
 * BPF program to fd 3, the result or failure over the sync socket on fd 4 */
int nr_unpack_seccomp_main(int argc, char **argv);
