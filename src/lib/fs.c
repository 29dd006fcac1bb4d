/* SPDX-License-Identifier: Apache-2.0 */
/* fs.c — file-system helpers with no policy: paths resolved inside a tree
 * with openat2's RESOLVE_IN_ROOT (a symlink in an image is followed inside
 * it, never out to the host), removing and measuring trees, telling a
 * squashfs file by its magic. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-fs.h"
#include "nr-util.h"

int nr_fs_openat_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (unsigned)flags | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

bool nr_fs_exists_in_root(int rootfd, const char *path)
{
    int fd = nr_fs_openat_in_root(rootfd, path, O_PATH);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* nr_fs_open_in_root's walk, a component at a time; apart, so that the
 * common case has no frame of PATH_MAX buffers (in a fresh process each
 * page of one is a page fault) */
static __attribute__((noinline)) int walk_in_root(int rootfd, const char *path, bool create,
                                                  bool dir, NrError *err)
{
    char rel[PATH_MAX] = "", parent[PATH_MAX] = "";
    nr_autofree char *copy = nr_xstrdup(path);
    char *save = NULL;
    int fd = -1;
    char *next;
    for (char *c = strtok_r(copy, "/", &save); c; c = next) {
        next = strtok_r(NULL, "/", &save);
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0)
            return nr_error_msg(err, "path '%s' inside the container contains '..'", path);
        snprintf(parent, sizeof parent, "%s", rel[0] ? rel : ".");
        size_t len = strlen(rel);
        snprintf(rel + len, sizeof rel - len, "%s%s", len ? "/" : "", c);
        if (fd >= 0)
            close(fd);
        fd = nr_fs_openat_in_root(rootfd, rel, O_PATH);
        if (fd >= 0 || errno != ENOENT || !create)
            continue;
        /* create the missing component in its resolved parent */
        nr_autoclose int pfd = nr_fs_openat_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
        if (pfd < 0)
            return nr_error_errno(err, "cannot open '%s' inside the container", parent);
        if (next || dir) {
            if (mkdirat(pfd, c, 0755) < 0 && errno != EEXIST)
                return nr_error_errno(err, "cannot create '/%s' inside the container", rel);
        } else {
            int nfd = openat(pfd, c, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (nfd < 0 && errno != EEXIST)
                return nr_error_errno(err, "cannot create '/%s' inside the container", rel);
            if (nfd >= 0)
                close(nfd);
        }
        fd = nr_fs_openat_in_root(rootfd, rel, O_PATH);
    }
    if (fd < 0 && !rel[0])
        fd = nr_fs_openat_in_root(rootfd, ".", O_PATH);
    if (fd < 0)
        return nr_error_errno(err, "'%s' inside the container", path);
    return fd;
}

int nr_fs_open_in_root(int rootfd, const char *path, bool create, bool dir, NrError *err)
{
    /* most paths are there: one lookup of the whole path finds what the
     * walk finds (each of its steps is resolved from the root in the same
     * way), without a lookup per component; the walk runs only for a path
     * that is missing or has '..' (refused there) */
    if (path[0] && !strstr(path, "..")) {
        int whole = nr_fs_openat_in_root(rootfd, path, O_PATH);
        if (whole >= 0)
            return whole;
    }
    return walk_in_root(rootfd, path, create, dir, err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int nr_fs_rmtree(const char *path, NrError *err)
{
    /* directories without write or search permission: caps in a user
     * namespace override that, as owner-mapped root (nr_spawn_rmtree) */
    if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
        return nr_error_errno(err, "cannot remove '%s'", path);
    return 0;
}

void nr_fs_sweep(const char *dir, const char *const *prefixes)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        for (const char *const *p = prefixes; *p; p++) {
            if (strncmp(de->d_name, *p, strlen(*p)) != 0)
                continue;
            char path[PATH_MAX];
            NrError ignored = { 0 };
            if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
                nr_fs_rmtree(path, &ignored);
            break;
        }
    }
    closedir(d);
}

static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw);
static uint64_t du_total;
static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F || flag == FTW_D || flag == FTW_SL)
        du_total += (uint64_t)st->st_blocks * 512;
    return 0;
}

uint64_t nr_fs_du(const char *path)
{
    du_total = 0;
    nftw(path, du_entry, 32, FTW_PHYS | FTW_MOUNT);
    return du_total;
}

bool nr_fs_is_squashfs(const char *path)
{
    return nr_fs_is_squashfs_at(AT_FDCWD, path);
}

bool nr_fs_is_squashfs_at(int dfd, const char *name)
{
    /* O_NONBLOCK: a FIFO named like an image must not hang the lookup */
    nr_autoclose int fd = openat(dfd, name, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    char magic[4];
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
           pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic &&
           memcmp(magic, "hsqs", sizeof magic) == 0;
}
