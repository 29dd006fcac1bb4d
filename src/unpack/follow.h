/* SPDX-License-Identifier: Apache-2.0 */
/* follow.h — reading a blob of the pull cache while nroot-pull still
 * writes it (follow.c). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* a blob blobs/sha256/<hex> that was not whole when opened */
typedef struct NrFollow {
    int dir;    /* blobs/sha256 */
    int notify; /* inotify on that directory (opened before the pivot), or -1: polled */
    int fd;     /* <hex>.partial (then the same inode as <hex>), or -1: not yet there */
    char hex[65];
    uint64_t off;
    gint *stop; /* the stream's reader is told to stop */
} NrFollow;

/* the inotify fd for the blob directory under `image_fd` (before the
 * pivot: its path goes through /proc), or -1 */
int nr_follow_notify(int image_fd);
/* follow `hex` in dir (dir is taken, notify borrowed); never fails:
 * a missing blob is waited for when read */
void nr_follow_init(NrFollow *f, int dir, int notify, const char *hex);
void nr_follow_clear(NrFollow *f);
/* read(2) of the blob as it grows: 0 only when it is whole and all read;
 * -1 with errno ENOENT when its download failed (the .partial gone without
 * <hex>), ETIMEDOUT when nothing moved for NR_FOLLOW_TIMEOUT seconds */
ssize_t nr_follow_read(NrFollow *f, void *buf, size_t len);
#define NR_FOLLOW_TIMEOUT 120
