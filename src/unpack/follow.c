/* SPDX-License-Identifier: Apache-2.0 */
/* follow.c — a layer of `nroot pull` read while it downloads.
 *
 * nroot-pull writes blobs/sha256/<hex>.partial and renames it to <hex>
 * once it is whole and verified (src/pull/cache.c); the launcher starts
 * the import when the manifest and config are in, so a layer may be
 * missing, partial or whole when nroot-unpack comes to it.  A partial one
 * is read as it grows: at the end of what is there the reader waits for
 * the directory's inotify events (or polls), and the end of the blob is
 * the rename: <hex> existing as the very inode being read.  The .partial
 * gone without <hex> is a failed download; a <hex> that is another inode
 * (someone else's download won) is read on from the same offset. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"

int nr_follow_notify(int image_fd)
{
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d/blobs/sha256", image_fd);
    if (inotify_add_watch(fd, path,
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                              IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void nr_follow_init(NrFollow *f, int dir, int notify, const char *hex)
{
    memset(f, 0, sizeof *f);
    f->dir = dir;
    f->notify = notify;
    f->fd = -1;
    snprintf(f->hex, sizeof f->hex, "%s", hex);
}

void nr_follow_clear(NrFollow *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->dir >= 0)
        close(f->dir);
    f->fd = f->dir = -1;
}

static int open_at(int dir, const char *name)
{
    return openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* wait for something to change in the directory (at most 200 ms) */
static void wait_change(NrFollow *f)
{
    if (f->notify < 0) {
        usleep(20000);
        return;
    }
    struct pollfd p = { .fd = f->notify, .events = POLLIN };
    if (poll(&p, 1, 200) > 0) {
        char buf[4096];
        while (read(f->notify, buf, sizeof buf) > 0)
            ;
    }
}

/* 1: the blob is whole and f->fd reads it; 0: not yet; -1: failed */
static int look(NrFollow *f)
{
    struct stat whole, mine;
    bool have_whole = fstatat(f->dir, f->hex, &whole, AT_SYMLINK_NOFOLLOW) == 0;
    if (have_whole && f->fd >= 0 && fstat(f->fd, &mine) == 0 && mine.st_ino == whole.st_ino &&
        mine.st_dev == whole.st_dev)
        return 1;     /* renamed: what is in it now is all of it */
    if (have_whole) { /* whole under another inode: read on from there */
        int fd = open_at(f->dir, f->hex);
        if (fd < 0)
            return -1;
        if (f->fd >= 0)
            close(f->fd);
        f->fd = fd;
        return 1;
    }
    if (f->fd >= 0) {
        if (fstat(f->fd, &mine) == 0 && mine.st_nlink == 0) {
            /* removed: failed, unless <hex> appeared meanwhile */
            if (faccessat(f->dir, f->hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return look(f);
            errno = ENOENT;
            return -1;
        }
        return 0;
    }
    char name[80];
    snprintf(name, sizeof name, "%s.partial", f->hex);
    f->fd = open_at(f->dir, name);
    return 0;
}

ssize_t nr_follow_read(NrFollow *f, void *buf, size_t len)
{
    double last = now_s();
    bool whole = false;
    for (;;) {
        if (f->fd >= 0) {
            ssize_t n;
            do
                n = pread(f->fd, buf, len, (off_t)f->off);
            while (n < 0 && errno == EINTR);
            if (n < 0)
                return -1;
            if (n > 0) {
                f->off += (uint64_t)n;
                return n;
            }
            if (whole)
                return 0;
        }
        int r = look(f);
        if (r < 0)
            return -1;
        if (r == 1) {
            whole = true; /* read once more: then its end is the blob's */
            continue;
        }
        if (f->stop && g_atomic_int_get(f->stop)) {
            errno = EINTR;
            return -1;
        }
        struct stat st;
        uint64_t size_before = f->fd >= 0 && fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        wait_change(f);
        uint64_t size_after = f->fd >= 0 && fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (size_after != size_before || size_after > f->off)
            last = now_s();
        else if (now_s() - last > NR_FOLLOW_TIMEOUT) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
}
