/* SPDX-License-Identifier: Apache-2.0 */
/* stream.c — the bytes of an image as nroot-unpack reads them: a byte
 * stream that takes its digest on the way and feeds libarchive, and the
 * progress bar on stderr that it advances. */
#include <archive.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "nr-error.h"
#include "stream.h"

/* ---- progress: "unpacking NAME  42% [====>       ] 12.0/28.4 MiB 9.1 MiB/s 0:02 left" ---- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void draw(NrProgress *p, bool final)
{
    int64_t now = now_ns();
    double secs = (double)(now - p->start_ns) / 1e9, mib = 1024.0 * 1024.0;
    double rate = secs > 0.05 ? (double)p->done / secs : 0;
    uint64_t total = p->total > p->done ? p->total : p->done;
    int pct = total ? (int)(100.0 * (double)p->done / (double)total) : 100;
    if (final)
        pct = 100;
    char bar[16];
    int fill = pct * 12 / 100;
    for (int i = 0; i < 12; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[12] = '\0';
    char tail[64];
    if (final)
        snprintf(tail, sizeof tail, "done in %.1f s", secs);
    else if (rate > 0) {
        long left = (long)((double)(total - p->done) / rate + 0.5);
        snprintf(tail, sizeof tail, "%ld:%02ld left", left / 60, left % 60);
    } else
        snprintf(tail, sizeof tail, "--:-- left");
    struct winsize ws = { 0 };
    int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
    char line[512];
    int n = snprintf(line, sizeof line, "%3d%% [%s] %.1f/%.1f MiB %.1f MiB/s %s", pct, bar,
                     (double)p->done / mib, (double)total / mib, rate / mib, tail);
    int room = cols - 1 - (n > 0 ? n : 0) - 2;
    fprintf(stderr, "\r\033[K%.*s%s%s%s", room > 0 ? room : 0, p->label, room > 0 ? "  " : "", line,
            final ? "\n" : "");
    fflush(stderr);
    p->last_ns = now;
}

void nr_progress_init(NrProgress *p, const char *label, bool enabled)
{
    *p = (NrProgress){ .enabled = enabled, .label = label, .start_ns = now_ns() };
}

void nr_progress_add(NrProgress *p, uint64_t n)
{
    if (!p)
        return;
    p->done += n;
    if (p->enabled && now_ns() - p->last_ns >= 100000000)
        draw(p, false);
}

void nr_progress_finish(NrProgress *p)
{
    if (p && p->enabled)
        draw(p, true);
}

/* ---- a byte stream with a digest ---- */

#define CHUNK_SIZE (1 << 20)
#define N_CHUNKS 4
#define THREAD_MIN (8u << 20) /* below this a thread costs more than it saves */

typedef struct NrChunk {
    guint8 *data;
    ssize_t len;
    int err;
} NrChunk;

static NrChunk wake_up;

/* read(2) of the stream's file, or of the blob it follows */
static ssize_t fd_read(NrStream *s, void *buf, size_t len)
{
    if (s->follow)
        return nr_follow_read(s->follow, buf, len);
    ssize_t n;
    do
        n = read(s->fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
} /* pushed to make a waiting reader look at `stop` */

static gpointer reader_thread(gpointer data)
{
    NrStream *s = data;
    for (;;) {
        NrChunk *c = g_async_queue_pop(s->empty);
        if (c == &wake_up || g_atomic_int_get(&s->stop))
            break;
        c->len = fd_read(s, c->data, CHUNK_SIZE);
        c->err = c->len < 0 ? errno : 0;
        if (c->len > 0)
            EVP_DigestUpdate(s->md, c->data, (size_t)c->len);
        g_async_queue_push(s->full, c);
        if (c->len <= 0)
            break;
    }
    return NULL;
}

static void stream_start(NrStream *s, int fd, struct archive *outer, uint64_t size,
                         NrDigestType digest, NrProgress *progress, NrFollow *follow)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->outer = outer;
    s->follow = follow;
    if (follow)
        follow->stop = &s->stop;
    s->remaining = size;
    s->md = EVP_MD_CTX_new();
    if (!s->md ||
        !EVP_DigestInit_ex(s->md, digest == NR_SHA512 ? EVP_sha512() : EVP_sha256(), NULL)) {
        fputs("nroot-unpack: cannot initialise the digest\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    s->progress = progress;
    if (!outer && size >= THREAD_MIN) {
        s->full = g_async_queue_new();
        s->empty = g_async_queue_new();
        s->chunks = g_new0(NrChunk, N_CHUNKS);
        for (int i = 0; i < N_CHUNKS; i++) {
            s->chunks[i].data = g_malloc(CHUNK_SIZE);
            g_async_queue_push(s->empty, &s->chunks[i]);
        }
        s->thread = g_thread_new("nroot-read", reader_thread, s);
        return;
    }
    s->buf_size = 1 << 20;
    s->buf = g_malloc(s->buf_size);
}

void nr_stream_init(NrStream *s, int fd, struct archive *outer, uint64_t size, NrDigestType digest,
                    NrProgress *progress)
{
    stream_start(s, fd, outer, size, digest, progress, NULL);
}

void nr_stream_init_follow(NrStream *s, struct NrFollow *follow, uint64_t size, NrDigestType digest,
                           NrProgress *progress)
{
    stream_start(s, -1, NULL, size, digest, progress, follow);
}

/* end the reader thread (at once, unless it has reached the end) */
static void reader_stop(NrStream *s)
{
    if (!s->thread)
        return;
    g_atomic_int_set(&s->stop, 1);
    g_async_queue_push(s->empty, &wake_up);
    g_thread_join(s->thread);
    g_async_queue_unref(s->full);
    g_async_queue_unref(s->empty);
    for (int i = 0; i < N_CHUNKS; i++)
        g_free(s->chunks[i].data);
    g_free(s->chunks);
    s->thread = NULL;
    s->chunks = s->cur = NULL;
}

void nr_stream_clear(NrStream *s)
{
    reader_stop(s);
    if (s->md)
        EVP_MD_CTX_free(s->md);
    g_free(s->buf);
    s->md = NULL;
    s->buf = NULL;
}

/* the next chunk of the reader thread */
static ssize_t threaded_read(NrStream *s, const void **ret_buf)
{
    if (s->cur) {
        g_async_queue_push(s->empty, s->cur);
        s->cur = NULL;
    }
    if (s->eof)
        return 0;
    NrChunk *c = g_async_queue_pop(s->full);
    if (c->len <= 0) {
        s->eof = true;
        errno = c->err;
        return c->len;
    }
    s->cur = c;
    *ret_buf = c->data;
    return c->len;
}

la_ssize_t nr_stream_read(struct archive *a, void *data, const void **ret_buf)
{
    NrStream *s = data;
    ssize_t n;
    if (s->thread) {
        n = threaded_read(s, ret_buf);
        if (n < 0 && a)
            archive_set_error(a, errno, "read error");
        if (n > 0) {
            s->bytes += (uint64_t)n;
            nr_progress_add(s->progress, (uint64_t)n);
        }
        return n;
    }
    if (s->outer) {
        n = archive_read_data(s->outer, s->buf, s->buf_size);
        if (n < 0) {
            if (a)
                archive_set_error(a, EIO, "%s", archive_error_string(s->outer));
            errno = EIO;
            return -1;
        }
    } else {
        n = fd_read(s, s->buf, s->buf_size);
        if (n < 0) {
            if (a)
                archive_set_error(a, errno, "read error");
            return -1;
        }
    }
    if (n > 0) {
        EVP_DigestUpdate(s->md, s->buf, (size_t)n);
        s->bytes += (uint64_t)n;
        nr_progress_add(s->progress, (uint64_t)n);
    }
    *ret_buf = s->buf;
    return n;
}

const char *nr_stream_digest(NrStream *s)
{
    if (s->thread && !s->eof)
        nr_stream_drain(s);
    reader_stop(s); /* after EOF it has hashed everything and ended */
    if (!s->hex[0]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_DigestFinal_ex(s->md, md, &n);
        for (unsigned int i = 0; i < n && 2 * i + 2 < sizeof s->hex; i++)
            snprintf(s->hex + 2 * i, 3, "%02x", md[i]);
    }
    return s->hex;
}

int nr_stream_drain(NrStream *s)
{
    const void *ignored;
    la_ssize_t n;
    while ((n = nr_stream_read(NULL, s, &ignored)) > 0)
        ;
    return n < 0 ? -1 : 0;
}

struct archive *nr_stream_archive(NrStream *s)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (archive_read_open(a, s, NULL, nr_stream_read, NULL) != ARCHIVE_OK) {
        /* the error surfaces at the first archive_read_next_header */
    }
    return a;
}
