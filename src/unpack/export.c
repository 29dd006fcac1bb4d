/* SPDX-License-Identifier: Apache-2.0 */
/* export.c — nroot-unpack --export NAME: the container's tree as a tarball
 * (`nroot export`).
 *
 * The tree may be a running container's, changed by it while it is read:
 * a directory swapped for a symlink to /home/user between the look and the
 * read must not bring the user's files into the tarball.  So the walk is
 * our own, never by path: every entry is opened relative to its parent
 * directory's fd with O_NOFOLLOW, and what is written is what the opened
 * fd is (fstat), not what a name was a moment ago.  libarchive only turns
 * an opened fd into an entry (xattrs, ACLs) and writes the tar stream. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"

typedef struct Walk {
    struct archive *disk, *out;
    struct archive_entry_linkresolver *links;
    const char *name;
    dev_t dev; /* of the tree's root: other filesystems are not entered */
    bool proc; /* /proc/self/fd is there */
    NrError *err;
    char path[65536]; /* "./a/b" of the entry at hand */
} Walk;

static char buf[256 * 1024];

static void warn(const Walk *w, const char *what)
{
    fprintf(stderr, "nroot: warning: %s: %s\n", w->path, what);
}

/* the header of `e`, and the data of a regular file from `fd` */
static int write_entry(Walk *w, struct archive_entry *e, int fd)
{
    struct archive_entry *out = e, *spare = NULL;
    archive_entry_linkify(w->links, &out, &spare);
    int rc = 0;
    if (out && archive_write_header(w->out, out) < ARCHIVE_WARN) {
        rc = nr_error_msg(w->err, "export of %s: %s: %s", w->name, w->path,
                          archive_error_string(w->out));
        goto done;
    }
    if (out && fd >= 0 && archive_entry_filetype(out) == AE_IFREG) {
        /* as much as the header says: a file that grows meanwhile is cut,
         * one that shrinks is padded by the writer */
        la_int64_t left = archive_entry_size(out);
        while (left > 0) {
            ssize_t n = read(fd, buf, left < (la_int64_t)sizeof buf ? (size_t)left : sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = nr_error_errno(w->err, "export of %s: %s", w->name, w->path);
                goto done;
            }
            if (n == 0)
                break;
            if (archive_write_data(w->out, buf, (size_t)n) < 0) {
                rc =
                    nr_error_msg(w->err, "export of %s: %s", w->name, archive_error_string(w->out));
                goto done;
            }
            left -= n;
        }
    }
done:
    if (spare)
        archive_entry_free(spare);
    return rc;
}

static int walk_dir(Walk *w, int dfd, size_t len);

/* the entry `name` of the directory `dfd`; w->path is its path, `len` long */
static int visit(Walk *w, int dfd, const char *name, size_t len)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) /* removed meanwhile */
            return 0;
        return nr_error_errno(w->err, "export of %s: %s", w->name, w->path);
    }
    if (S_ISSOCK(st.st_mode)) /* tar has no sockets */
        return 0;
    int fd = -1, rc = -1;
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return nr_error_msg(w->err, "out of memory");
    archive_entry_copy_pathname(e, w->path);
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
        fd = openat(dfd, name, flags | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        struct stat now;
        if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)) {
            warn(w, "changed while being read, left out");
            rc = 0;
            goto out;
        }
        if (fd < 0 || fstat(fd, &now) < 0) {
            nr_error_errno(w->err, "export of %s: %s", w->name, w->path);
            goto out;
        }
        if ((now.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
            warn(w, "changed while being read, left out");
            rc = 0;
            goto out;
        }
        st = now; /* what was opened is what is written */
        /* what libarchive reads by name (a directory's default ACL) it
         * reads through the fd too */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        archive_entry_copy_sourcepath(e, w->proc ? self : "/nonexistent");
        int r = archive_read_disk_entry_from_file(w->disk, e, fd, &st);
        if (r < ARCHIVE_WARN) {
            nr_error_msg(w->err, "export of %s: %s: %s", w->name, w->path,
                         archive_error_string(w->disk));
            goto out;
        }
        if (r == ARCHIVE_WARN)
            warn(w, archive_error_string(w->disk));
        /* the whole data is written, holes as zeros */
        archive_entry_sparse_clear(e);
        if (S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_SET) < 0) {
            nr_error_errno(w->err, "export of %s: %s", w->name, w->path);
            goto out;
        }
    } else {
        /* symlinks, devices, fifos: their stat (and target) alone, never
         * opened */
        archive_entry_copy_stat(e, &st);
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlinkat(dfd, name, buf, sizeof buf - 1);
            if (n < 0 && errno == ENOENT) {
                rc = 0;
                goto out;
            }
            if (n < 0) {
                nr_error_errno(w->err, "export of %s: %s", w->name, w->path);
                goto out;
            }
            buf[n] = '\0';
            archive_entry_copy_symlink(e, buf);
        }
    }
    if (write_entry(w, e, S_ISREG(st.st_mode) ? fd : -1) < 0)
        goto out;
    rc = 0;
    /* a directory of another filesystem (a mount point) is written, not
     * entered */
    if (S_ISDIR(st.st_mode) && st.st_dev == w->dev) {
        int dir = fd;
        fd = -1;
        rc = walk_dir(w, dir, len);
    }
out:
    archive_entry_free(e);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the entries of the directory `fd` (taken), in name order: two exports of
 * one tree are the same bytes */
static int walk_dir(Walk *w, int fd, size_t len)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return nr_error_errno(w->err, "export of %s: %s", w->name, w->path);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **more = realloc(names, cap * sizeof *names);
            if (!more) {
                nr_error_msg(w->err, "out of memory");
                goto out;
            }
            names = more;
        }
        if (!(names[n] = strdup(de->d_name))) {
            nr_error_msg(w->err, "out of memory");
            goto out;
        }
        n++;
        errno = 0;
    }
    if (errno) {
        nr_error_errno(w->err, "export of %s: %s", w->name, w->path);
        goto out;
    }
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if (len + 1 + l >= sizeof w->path) {
            nr_error_msg(w->err, "export of %s: %s/%s: path too long", w->name, w->path, names[i]);
            goto out;
        }
        w->path[len] = '/';
        memcpy(w->path + len + 1, names[i], l + 1);
        int r = visit(w, dirfd(d), names[i], len + 1 + l);
        w->path[len] = '\0';
        if (r < 0)
            goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* `nroot export`: the tree in the working directory as a tarball on
 * stdout, numeric owners as the container sees them, mounted filesystems
 * (volumes, /proc, /dev) left out */
int nr_export_tree(const char *name, NrError *err)
{
    static Walk w;
    w.disk = archive_read_disk_new();
    w.out = archive_write_new();
    w.links = archive_entry_linkresolver_new();
    w.name = name;
    w.err = err;
    int rc = -1;
    if (!w.disk || !w.out || !w.links) {
        nr_error_msg(err, "out of memory");
        goto done;
    }
    /* one fd per level of the tree */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* no /proc: no ACLs, rather than read by name */
    w.proc = access("/proc/self/fd", F_OK) == 0;
    if (!w.proc)
        archive_read_disk_set_behavior(w.disk, ARCHIVE_READDISK_NO_ACL);
    archive_write_set_format_pax_restricted(w.out);
    archive_write_set_bytes_in_last_block(w.out, 1);
    archive_entry_linkresolver_set_strategy(w.links, archive_format(w.out));
    if (archive_write_open_fd(w.out, STDOUT_FILENO) != ARCHIVE_OK) {
        nr_error_msg(err, "export of %s: %s", name, archive_error_string(w.out));
        goto done;
    }
    struct stat st;
    int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || fstat(root, &st) < 0) {
        nr_error_errno(err, "export of %s", name);
        if (root >= 0)
            close(root);
        goto done;
    }
    w.dev = st.st_dev;
    strcpy(w.path, ".");
    /* the root as an entry of its own, "." */
    rc = visit(&w, root, ".", 1);
    close(root);
    if (rc < 0)
        goto done;
    rc = -1;
    if (archive_write_close(w.out) != ARCHIVE_OK) {
        nr_error_msg(err, "export of %s: %s", name, archive_error_string(w.out));
        goto done;
    }
    rc = 0;
done:
    archive_entry_linkresolver_free(w.links);
    archive_read_free(w.disk);
    archive_write_free(w.out);
    return rc;
}
