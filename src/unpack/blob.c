/* SPDX-License-Identifier: Apache-2.0 */
/* blob.c — opening a file of an image by name: in a directory (openat2,
 * beneath it), in a spool directory (by its member number), or in place in
 * an uncompressed tar (a reader started at the member's header); through
 * the archive's own links; read through an NrStream that checks its digest. */
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blob.h"
#include "digest.h"
#include "follow.h"
#include "json.h"
#include "path.h"
#include "stream.h"

void nr_blob_close(NrBlob *b)
{
    nr_stream_clear(&b->s);
    if (b->follow) {
        nr_follow_clear(b->follow);
        g_free(b->follow);
        b->follow = NULL;
    }
    if (b->outer)
        archive_read_free(b->outer);
    if (b->fd >= 0)
        close(b->fd);
    g_free(b->buf);
    b->outer = NULL;
    b->buf = NULL;
    b->fd = -1;
}

/* a tar reader that starts at one member's header (pread: no shared offset) */
#define MEMBER_BUF (1 << 16)

static la_ssize_t member_read(struct archive *a, void *data, const void **ret_buf)
{
    NrBlob *b = data;
    ssize_t n;
    do
        n = pread(b->fd, b->buf, MEMBER_BUF, (off_t)b->off);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        archive_set_error(a, errno, "read error");
        return -1;
    }
    b->off += n;
    *ret_buf = b->buf;
    return n;
}

static la_int64_t member_skip(struct archive *a, void *data, la_int64_t request)
{
    NrBlob *b = data;
    b->off += request;
    return request;
}

static int member_open(NrSource *src, const NrEntry *ent, const char *name, NrBlob *b, NrError *err)
{
    b->fd = fcntl(src->fd, F_DUPFD_CLOEXEC, 3);
    if (b->fd < 0)
        return nr_error_errno(err, "%s: cannot read '%s'", src->what, name);
    b->off = ent->pos;
    b->buf = g_malloc(MEMBER_BUF);
    b->outer = archive_read_new();
    archive_read_support_format_tar(b->outer);
    archive_read_support_format_gnutar(b->outer);
    archive_read_set_read_callback(b->outer, member_read);
    archive_read_set_skip_callback(b->outer, member_skip);
    archive_read_set_callback_data(b->outer, b);
    struct archive_entry *e;
    if (archive_read_open1(b->outer) != ARCHIVE_OK ||
        archive_read_next_header(b->outer, &e) < ARCHIVE_WARN)
        return nr_error_msg(err, "%s: cannot read '%s': %s", src->what, name,
                            archive_error_string(b->outer) ?: "damaged archive");
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
        return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
    b->size = (uint64_t)archive_entry_size(e);
    return 0;
}

int nr_blob_open(NrSource *src, const char *name, NrDigestType dt, NrProgress *progress, NrBlob *b,
                 NrError *err)
{
    memset(b, 0, sizeof *b);
    b->fd = -1;
    g_autofree char *n = nr_path_clean(name);
    if (!n || !*n)
        return nr_error_msg(err, "%s: invalid file name '%s' in the image's metadata", src->what,
                            name);
    /* aliases: symlinks and hard links of the archive, a few levels deep */
    NrEntry *ent = NULL;
    for (int depth = 0; src->index; depth++) {
        ent = g_hash_table_lookup(src->index, n);
        if (!ent)
            return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
        if (!ent->link)
            break;
        if (depth == 8)
            return nr_error_msg(err, "%s: '%s': too many levels of links", src->what, name);
        g_free(n);
        n = g_strdup(ent->link);
    }
    if (src->tar) {
        if (member_open(src, ent, name, b, err) < 0) {
            nr_blob_close(b);
            return -1;
        }
        nr_stream_init(&b->s, -1, b->outer, b->size, dt, progress);
        return 0;
    }
    if (src->spool) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)ent->pos);
        b->fd = openat(src->fd, num, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    } else {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        b->fd = (int)syscall(SYS_openat2, src->fd, n, &how, sizeof how);
    }
    struct stat st;
    if (b->fd < 0 || fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = b->fd < 0 ? errno : EINVAL;
        nr_blob_close(b);
        if (e == ENOENT)
            return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
        errno = e;
        return nr_error_errno(err, "%s: cannot open '%s'", src->what, name);
    }
    fcntl(b->fd, F_SETFL, 0);
    b->size = (uint64_t)st.st_size;
    nr_stream_init(&b->s, b->fd, NULL, b->size, dt, progress);
    return 0;
}

int nr_blob_open_layer(NrSource *src, const char *name, int64_t size, NrDigestType dt,
                       NrProgress *progress, NrBlob *b, NrError *err)
{
    static const char prefix[] = "blobs/sha256/";
    const char *hex = name + strlen(prefix);
    if (!src->follow || src->tar || src->spool || strncmp(name, prefix, strlen(prefix)) != 0 ||
        strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64 ||
        faccessat(src->fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return nr_blob_open(src, name, dt, progress, b, err);
    memset(b, 0, sizeof *b);
    b->fd = -1;
    struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
    int dir = (int)syscall(SYS_openat2, src->fd, "blobs/sha256", &how, sizeof how);
    if (dir < 0)
        return nr_error_errno(err, "%s: cannot open 'blobs/sha256'", src->what);
    b->follow = g_new0(NrFollow, 1);
    nr_follow_init(b->follow, dir, src->notify, hex);
    b->size = size >= 0 ? (uint64_t)size : 0;
    nr_stream_init_follow(&b->s, b->follow, b->size, dt, progress);
    return 0;
}

/* read a whole (small) file; checked against `want` (and `size` if >= 0) */
int nr_blob_read(NrSource *src, const char *name, const NrDigest *want, int64_t size, GBytes **ret,
                 char ret_sha256[65], NrError *err)
{
    NrBlob b;
    if (nr_blob_open(src, name, want ? want->type : NR_SHA256, NULL, &b, err) < 0)
        return -1;
    int rc = -1;
    if (b.size > NR_JSON_MAX_SIZE) {
        nr_error_msg(err, "%s: '%s' is too large for image metadata (%llu bytes)", src->what, name,
                     (unsigned long long)b.size);
        goto out;
    }
    if (size >= 0 && b.size != (uint64_t)size) {
        nr_error_msg(err,
                     "%s: blob '%s' has %llu bytes where its descriptor says %lld: the file "
                     "is corrupt or was altered",
                     src->what, name, (unsigned long long)b.size, (long long)size);
        goto out;
    }
    GByteArray *data = g_byte_array_sized_new((guint)b.size + 1);
    const void *buf;
    la_ssize_t n;
    while ((n = nr_stream_read(NULL, &b.s, &buf)) > 0)
        g_byte_array_append(data, buf, (guint)n);
    if (n < 0) {
        g_byte_array_free(data, TRUE);
        nr_error_errno(err, "%s: cannot read '%s'", src->what, name);
        goto out;
    }
    if (want && nr_digest_check(&b.s, want, src->what, name, err) < 0) {
        g_byte_array_free(data, TRUE);
        goto out;
    }
    if (ret_sha256)
        snprintf(ret_sha256, 65, "%s", nr_stream_digest(&b.s));
    *ret = g_byte_array_free_to_bytes(data);
    rc = 0;
out:
    nr_blob_close(&b);
    return rc;
}

static JsonNode *parse_json(GBytes *bytes, const char *what, const char *name, NrError *err)
{
    gsize len;
    const char *data = g_bytes_get_data(bytes, &len);
    return nr_json_parse(data, len, what, name, err);
}

JsonNode *nr_blob_json(NrSource *src, const char *name, const NrDigest *want, int64_t size,
                       char ret_sha256[65], NrError *err)
{
    g_autoptr(GBytes) bytes = NULL;
    if (nr_blob_read(src, name, want, size, &bytes, ret_sha256, err) < 0)
        return NULL;
    return parse_json(bytes, src->what, name, err);
}
