/* SPDX-License-Identifier: Apache-2.0 */
/* blob.h — the files of an image, opened by name (blob.c). */
#pragma once
#include <archive.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "nr-error.h"
#include "stream.h"

/* a member of an archive's index (built by spool.c) */
typedef struct NrEntry {
    uint64_t size;
    char *link;  /* an alias (symlink or hard link) for this name */
    int64_t pos; /* tar: offset of its header; spool: its file's number */
} NrEntry;

/* where the files of an image are: a directory, or an archive's index */
typedef struct NrSource {
    bool tar;          /* an uncompressed tar read in place */
    bool spool;        /* a directory of numbered members (a compressed archive) */
    int fd;            /* the tar, or the directory */
    GHashTable *index; /* name -> NrEntry (tar and spool) */
    int64_t n_spooled;
    const char *what; /* "'file'" for messages */
    bool follow;      /* a pull's blob cache, its layers maybe still downloading */
    int notify;       /* inotify on its blobs/sha256 (follow.c), or -1 */
} NrSource;

/* one open file of the image, read through `s` */
typedef struct NrBlob {
    NrStream s;
    struct archive *outer;
    int fd;
    uint64_t size;
    int64_t off; /* tar: where the member reader reads next */
    guint8 *buf;
    struct NrFollow *follow; /* a layer read while it downloads */
} NrBlob;

/* open `name` (a regular file, through the archive's links), its stream
 * hashing with `dt` and advancing `progress` (may be NULL) */
int nr_blob_open(NrSource *src, const char *name, NrDigestType dt, NrProgress *progress, NrBlob *b,
                 NrError *err);
void nr_blob_close(NrBlob *b);
/* a layer of `size` bytes (-1: unknown): nr_blob_open, or in a pull's
 * blob cache (src->follow) a blob not yet whole, followed as it arrives
 * (b->follow set, b->size the descriptor's) */
int nr_blob_open_layer(NrSource *src, const char *name, int64_t size, NrDigestType dt,
                       NrProgress *progress, NrBlob *b, NrError *err);
/* read a whole (small) file; checked against `want` (and `size` if >= 0);
 * its digest in hex (want's type, else sha256; 64 digits at most) to
 * `ret_sha256` if not NULL */
int nr_blob_read(NrSource *src, const char *name, const NrDigest *want, int64_t size, GBytes **ret,
                 char ret_sha256[65], NrError *err);
/* nr_blob_read, then parsed as JSON */
JsonNode *nr_blob_json(NrSource *src, const char *name, const NrDigest *want, int64_t size,
                       char ret_sha256[65], NrError *err);
