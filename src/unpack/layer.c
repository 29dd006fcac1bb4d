/* SPDX-License-Identifier: Apache-2.0 */
/* layer.c — apply one layer tar to the image tree (nroot-unpack).
 *
 * Layers are flattened: each one is extracted over the tree of those below,
 * applying its whiteouts as deletions.
 *   - `.wh.NAME` deletes NAME of the lower layers; `.wh..wh..opq` deletes the
 *     lower layers' content of its directory; a character device 0/0 (the
 *     overlayfs form) deletes its own path.  Whiteouts are never written.
 *   - An entry replaces whatever lower object is in its way: a file replaces
 *     a directory (the whole tree), a directory replaces a file or symlink.
 *   - A path through a symlink of a lower layer (usrmerge: /bin -> usr/bin)
 *     is resolved inside the image, as `docker load` does.  A path through a
 *     symlink the same layer made is refused: no tar written from a real
 *     tree contains one, it is the shape of an escape attempt.
 * The process is pivoted into the image, so nothing here can reach outside
 * it whatever the entry says; `..` components are refused on top of that. */
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nr-util.h"
#include "layer.h"
#include "path.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* remove a tree inside the image (never follows symlinks) */
static int rmtree(const char *path, NrError *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : nr_error_errno(err, "cannot remove '%s'", path);
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? nr_error_errno(err, "cannot remove '%s'", path)
                                                   : 0;
    if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        return nr_error_errno(err, "cannot remove '%s'", path);
    return 0;
}

static bool seen(NrLayers *l, const char *path)
{
    return l->seen && g_hash_table_contains(l->seen, path);
}

/* the directory `rel` names, resolved inside the image; NULL if missing */
static char *resolve_dir(const char *dir)
{
    return realpath(*dir ? dir : "/", NULL);
}

/* `rel` is normalized ("/a/b/.wh.c") */
static int whiteout(NrLayers *l, const char *rel, const char *base, const char *what, NrError *err)
{
    /* the name a whiteout deletes is one entry of its directory: never the
     * directory itself or its parent (.wh.., .wh...), never empty (.wh.) */
    const char *target = base + 4;
    if (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0 || strchr(target, '/'))
        return nr_error_msg(err, "%s: entry '%s': a whiteout that names no file of its directory",
                            what, rel + 1);
    if (l->index == 0 || (strncmp(base, ".wh..wh.", 8) == 0 && strcmp(base, ".wh..wh..opq") != 0))
        return 0; /* nothing below the first layer; aufs bookkeeping (.wh..wh.plnk) */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(base - rel), rel);
    nr_autofree char *real = resolve_dir(dir);
    if (!real)
        return 0; /* the directory is not there: nothing to delete */
    char path[PATH_MAX * 2];
    if (strcmp(base, ".wh..wh..opq") == 0) {
        /* opaque: the directory keeps only what this layer put in it */
        DIR *d = opendir(real);
        if (!d)
            return 0;
        struct dirent *de;
        int rc = 0;
        while (rc == 0 && (de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", strcmp(real, "/") ? real : "", de->d_name);
            if (!seen(l, path))
                rc = rmtree(path, err);
        }
        closedir(d);
        return rc;
    }
    snprintf(path, sizeof path, "%s/%s", strcmp(real, "/") ? real : "", base + 4);
    return seen(l, path) ? 0 : rmtree(path, err);
}

/* the first proper prefix of `rel` that is a symlink this layer made, or NULL */
static const char *own_symlink_in_path(NrLayers *l, const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s", rel);
    for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (g_hash_table_contains(l->links, buf))
            return buf;
        *p = '/';
    }
    return NULL;
}

/* In a layer above the first, a path through a lower layer's symlink
 * (/bin -> usr/bin) is resolved inside the image: rewrite `rel` to it, so
 * whiteouts and opaque directories see the real path. */
static bool canonical(char *rel, size_t size)
{
    char *slash = strrchr(rel, '/');
    if (slash == rel)
        return false; /* in the top directory */
    *slash = '\0';
    g_autofree char *real = realpath(rel, NULL);
    *slash = '/';
    char out[PATH_MAX];
    if (!real ||
        snprintf(out, sizeof out, "%s%s", strcmp(real, "/") ? real : "", slash) >=
            (int)sizeof out ||
        strcmp(out, rel) == 0 || strlen(out) >= size)
        return false;
    memcpy(rel, out, strlen(out) + 1);
    return true;
}

/* an entry of a layer above the first replaces what is in its way */
static int make_way(const char *rel, mode_t type, NrError *err)
{
    struct stat st;
    if (strcmp(rel, "/") == 0 || lstat(rel, &st) < 0)
        return 0;
    if (S_ISDIR(st.st_mode) && type == AE_IFDIR)
        return 0; /* directories merge */
    return rmtree(rel, err);
}

static void count_warning(struct archive *w, NrCounts *c)
{
    const char *m = archive_error_string(w);
    if (m && (strstr(m, "Can't set user") || strstr(m, "set user=") || strstr(m, "chown")))
        c->owners++;
    else
        c->warnings++;
}

/* 0, or 1 when reading failed (in's error), -1 when writing failed (out's).
 * libarchive reports a failed write (ENOSPC, EDQUOT, EFBIG) as a mere
 * warning and then extends the file to its size with a hole: the image
 * would be stored with zeros instead of the data. */
static int copy_data(struct archive *in, struct archive *out)
{
    const void *buf;
    size_t size;
    la_int64_t offset;
    for (;;) {
        int r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return 1;
        /* (a warning without errno is about the archive, e.g. data for a
         * directory: ignored as before) */
        r = archive_write_data_block(out, buf, size, offset);
        if (r < ARCHIVE_WARN || (r == ARCHIVE_WARN && archive_errno(out) != 0))
            return -1;
    }
}

static int write_entry(NrLayers *l, struct archive *a, struct archive *w, struct archive_entry *e,
                       const char *what, NrError *err)
{
    const char *path = archive_entry_pathname(e);
    if (!path)
        return nr_error_msg(err, "%s: an entry without a name", what);
    char rel[PATH_MAX];
    if (!nr_path_normalize(path, rel, sizeof rel))
        return nr_error_msg(err, "%s: entry '%s': a '..' in the path would leave the image", what,
                            path);
    const char *hard = archive_entry_hardlink(e);
    char hrel[PATH_MAX];
    if (hard && !nr_path_normalize(hard, hrel, sizeof hrel))
        return nr_error_msg(err, "%s: entry '%s': the link target '%s' would leave the image", what,
                            path, hard);
    /* libarchive's own symlink check opens every component of every path
     * (7 times the syscalls of tar): the pivot already confines the writes,
     * so a set of this layer's symlinks is enough to refuse an archive that
     * writes through its own links */
    char own[PATH_MAX];
    const char *via = own_symlink_in_path(l, rel, own, sizeof own);
    if (!via && hard)
        via = own_symlink_in_path(l, hrel, own, sizeof own);
    if (via)
        return nr_error_msg(err,
                            "%s: entry '%s' is written through the symlink '%s' of the same "
                            "archive",
                            what, path, via + 1);
    if (l->index > 0) {
        if (canonical(rel, sizeof rel))
            archive_entry_set_pathname(e, rel);
        if (hard && canonical(hrel, sizeof hrel))
            archive_entry_set_hardlink(e, hrel);
    }
    const char *base = strrchr(rel, '/') + 1;
    mode_t type = archive_entry_filetype(e);
    l->counts.entries++;
    if (strncmp(base, ".wh.", 4) == 0)
        return whiteout(l, rel, base, what, err);
    if (type == AE_IFCHR && archive_entry_rdev(e) == 0) {
        if (strcmp(rel, "/") == 0)
            return nr_error_msg(err, "%s: entry '%s': a whiteout of the image's root", what, path);
        /* an overlayfs whiteout: deletes this path of the lower layers */
        return l->index == 0 || seen(l, rel) ? 0 : rmtree(rel, err);
    }
    if (type == AE_IFCHR || type == AE_IFBLK) {
        l->counts.devices++;
        return 0;
    }
    if (l->index > 0 && make_way(rel, type, err) < 0)
        return -1;
    int r = archive_write_header(w, e);
    if (r < ARCHIVE_WARN)
        return nr_error_msg(err, "%s: entry '%s': %s", what, path, archive_error_string(w));
    if (r == ARCHIVE_WARN)
        count_warning(w, &l->counts);
    if (l->seen)
        g_hash_table_add(l->seen, g_strdup(rel));
    if (type == AE_IFLNK)
        g_hash_table_add(l->links, g_strdup(rel));
    else if (g_hash_table_size(l->links))
        g_hash_table_remove(l->links, rel);
    int c = archive_entry_size(e) > 0 ? copy_data(a, w) : 0;
    if (c > 0) {
        const char *m = archive_error_string(a);
        return nr_error_msg(err, "%s: entry '%s': %s", what, path, m ? m : "read error");
    }
    if (c < 0) {
        int en = archive_errno(w);
        const char *m = archive_error_string(w);
        return nr_error_msg(err, "%s: entry '%s': %s%s%s", what, path, m ? m : "write error",
                            en > 0 ? ": " : "", en > 0 ? strerror(en) : "");
    }
    if (type == AE_IFREG)
        l->counts.bytes += (uint64_t)archive_entry_size(e);
    r = archive_write_finish_entry(w);
    if (r < ARCHIVE_WARN)
        return nr_error_msg(err, "%s: entry '%s': %s", what, path, archive_error_string(w));
    if (r == ARCHIVE_WARN)
        count_warning(w, &l->counts);
    return 0;
}

int nr_layer_apply(NrLayers *l, struct archive *a, struct archive_entry **pending, int n_pending,
                   const char *what, NrError *err)
{
    struct archive *w = archive_write_disk_new();
    int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (l->owners)
        flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(w, flags);
    if (l->index > 0)
        l->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    l->links = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc = -1;
    for (int i = 0;; i++) {
        struct archive_entry *e = i < n_pending ? pending[i] : NULL;
        if (!e) {
            int r = archive_read_next_header(a, &e);
            if (r == ARCHIVE_EOF)
                break;
            if (r < ARCHIVE_WARN) {
                nr_error_msg(err, "%s: %s", what, archive_error_string(a));
                if (l->counts.entries == 0 && strstr(archive_error_string(a) ?: "", "Unrecognized"))
                    nr_error_hint(err, "an image is a directory, a tar archive (plain, gzip, xz, "
                                       "zstd or bzip2), a docker-archive or an OCI image");
                goto out;
            }
        }
        if (write_entry(l, a, w, e, what, err) < 0)
            goto out;
    }
    /* directory modes and times are applied last, on close */
    if (archive_write_close(w) < ARCHIVE_WARN) {
        nr_error_msg(err, "%s: %s", what, archive_error_string(w));
        goto out;
    }
    rc = 0;
out:
    archive_write_free(w);
    if (l->seen) {
        g_hash_table_destroy(l->seen);
        l->seen = NULL;
    }
    g_hash_table_destroy(l->links);
    l->links = NULL;
    return rc;
}
