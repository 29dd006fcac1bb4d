/* SPDX-License-Identifier: Apache-2.0 */
/* cache.c — the blob cache, an OCI layout: DIR/oci-layout and
 * DIR/blobs/sha256/<hex>.  A name <hex> is only ever a whole, verified
 * blob: downloads go to <hex>.partial under an exclusive flock (one
 * downloader per blob across concurrent pulls) and are renamed when whole.
 * A process that finds the lock taken waits for it; a lock it gets on a
 * file that was renamed or removed meanwhile is let go and looked at again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-util.h"
#include "pull.h"

int nr_cache_open(NrCache *c, const char *dir, NrError *err)
{
    memset(c, 0, sizeof *c);
    c->blobs = -1;
    nr_autofree char *blobs = nr_strdup_printf("%s/blobs/sha256", dir);
    if (nr_mkdir_p(blobs, 0755, err) < 0)
        return -1;
    c->blobs = open(blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->blobs < 0)
        return nr_error_errno(err, "cannot open '%s'", blobs);
    c->dir = nr_xstrdup(dir);
    nr_autofree char *layout = nr_strdup_printf("%s/oci-layout", dir);
    if (access(layout, F_OK) < 0) {
        nr_autofree char *tmp = nr_strdup_printf("%s/.oci-layout.%d", dir, (int)getpid());
        if (nr_write_file_at(AT_FDCWD, tmp, "{\"imageLayoutVersion\":\"1.0.0\"}", 0644, err) < 0)
            return -1;
        if (rename(tmp, layout) < 0) {
            unlink(tmp);
            return nr_error_errno(err, "cannot create '%s'", layout);
        }
    }
    return 0;
}

void nr_cache_close(NrCache *c)
{
    if (c->blobs >= 0)
        close(c->blobs);
    free(c->dir);
    memset(c, 0, sizeof *c);
    c->blobs = -1;
}

bool nr_cache_has(NrCache *c, const char *hex, uint64_t size)
{
    struct stat st;
    if (fstatat(c->blobs, hex, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return false;
    return size == 0 || (uint64_t)st.st_size == size;
}

int nr_cache_put(NrCache *c, const char *hex, const char *buf, size_t len, NrError *err)
{
    if (nr_cache_has(c, hex, len))
        return 0;
    char tmp[96];
    snprintf(tmp, sizeof tmp, ".%.64s.%d.tmp", hex, (int)getpid());
    nr_autoclose int fd =
        openat(c->blobs, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return nr_error_errno(err, "cannot create '%s/blobs/sha256/%s'", c->dir, tmp);
    if (nr_write_all(fd, buf, len) < 0 || renameat(c->blobs, tmp, c->blobs, hex) < 0) {
        nr_error_errno(err, "cannot write '%s/blobs/sha256/%s'", c->dir, hex);
        unlinkat(c->blobs, tmp, 0);
        return -1;
    }
    return 0;
}

int nr_cache_lock_partial(NrCache *c, const char *hex, int *ret_fd, NrError *err)
{
    char name[80];
    snprintf(name, sizeof name, "%.64s.partial", hex);
    for (;;) {
        if (nr_cache_has(c, hex, 0))
            return 2;
        nr_autoclose int fd =
            openat(c->blobs, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return nr_error_errno(err, "cannot create '%s/blobs/sha256/%s'", c->dir, name);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            return nr_error_errno(err, "cannot lock '%s/blobs/sha256/%s'", c->dir, name);
        }
        struct stat a, b;
        if (fstat(fd, &a) < 0)
            return nr_error_errno(err, "cannot stat '%s/blobs/sha256/%s'", c->dir, name);
        if (fstatat(c->blobs, name, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev)
            continue; /* renamed to <hex> or removed by the one that held it */
        if (nr_cache_has(c, hex, 0)) {
            unlinkat(c->blobs, name, 0);
            return 2;
        }
        *ret_fd = nr_steal_fd(&fd);
        return 1;
    }
}

int nr_cache_commit(NrCache *c, const char *hex, NrError *err)
{
    char name[80];
    snprintf(name, sizeof name, "%.64s.partial", hex);
    if (renameat(c->blobs, name, c->blobs, hex) < 0)
        return nr_error_errno(err, "cannot rename '%s/blobs/sha256/%s'", c->dir, name);
    return 0;
}

void nr_cache_discard(NrCache *c, const char *hex)
{
    char name[80];
    snprintf(name, sizeof name, "%.64s.partial", hex);
    unlinkat(c->blobs, name, 0);
}

const char *nr_pull_digest_hex(const char *s)
{
    if (!s || strncmp(s, "sha256:", 7) != 0)
        return NULL;
    const char *h = s + 7;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return NULL;
    return h[64] == '\0' ? h : NULL;
}

void nr_pull_sha256_hex(const unsigned char md[32], char hex[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}
