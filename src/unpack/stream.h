/* SPDX-License-Identifier: Apache-2.0 */
/* stream.h — a byte stream with a running digest, fed to libarchive, and
 * the progress bar it advances (stream.c). */
#pragma once
#include <archive.h>
#include <glib.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- progress: "unpacking NAME  42% [====>       ] 12.0/28.4 MiB 9.1 MiB/s 0:02 left" ---- */
typedef struct NrProgress {
    bool enabled;
    const char *label;
    uint64_t total, done;
    int64_t start_ns, last_ns;
} NrProgress;
/* started now; drawn on stderr if `enabled` */
void nr_progress_init(NrProgress *p, const char *label, bool enabled);
void nr_progress_add(NrProgress *p, uint64_t n);
void nr_progress_finish(NrProgress *p);

/* ---- a byte stream with a running digest, fed to libarchive ----
 * (OpenSSL's sha256 uses the CPU's SHA extensions: 6x glib's here) */
typedef enum NrDigestType { NR_SHA256, NR_SHA512 } NrDigestType;
typedef struct NrStream {
    int fd;                /* read() from this, unless `outer` is set */
    struct archive *outer; /* archive_read_data() of the current entry */
    uint64_t remaining;    /* bytes left when reading a range (outer) */
    EVP_MD_CTX *md;
    char hex[129]; /* the digest, once taken */
    /* large files are read and hashed by a thread of their own, ahead of
     * libarchive, which extracts on the other core */
    GThread *thread;
    GAsyncQueue *full, *empty;
    struct NrChunk *chunks, *cur;
    bool eof;
    gint stop;
    uint64_t bytes; /* bytes delivered */
    NrProgress *progress;
    guint8 *buf;
    size_t buf_size;
    struct NrFollow *follow; /* read through this (a blob still downloading), not fd */
} NrStream;
void nr_stream_init(NrStream *s, int fd, struct archive *outer, uint64_t size, NrDigestType digest,
                    NrProgress *progress);
/* the same over a blob that is still downloading (follow.c), `size` bytes
 * expected */
struct NrFollow;
void nr_stream_init_follow(NrStream *s, struct NrFollow *follow, uint64_t size, NrDigestType digest,
                           NrProgress *progress);
/* the digest in hex of what was read (ends the digest: read no more) */
const char *nr_stream_digest(NrStream *s);
void nr_stream_clear(NrStream *s);
/* libarchive read callback over an NrStream */
la_ssize_t nr_stream_read(struct archive *a, void *data, const void **ret_buf);
/* read the rest (digest covers the whole blob); -1 on a read error */
int nr_stream_drain(NrStream *s);
/* a new libarchive reader for tar (any compression) over the stream */
struct archive *nr_stream_archive(NrStream *s);
