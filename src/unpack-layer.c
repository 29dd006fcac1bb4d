/* unpack-layer.c — apply one layer tar to the image tree (nroot-unpack).
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
 * it whatever the entry says; libarchive's secure flags reject `..` and
 * writes through symlinks on top of that. */
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

#include "nr-unpack.h"
#include "nr-util.h"

/* "./a//b/" -> "/a/b"; "" stays "/" (the root).  false if a component is ".." */
bool nr_path_normalize(const char *in, char *out, size_t size)
{
    size_t o = 0;
    out[o++] = '/';
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "/");
        if (n == 1 && p[0] == '.') {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (o > 1) {
            if (o + 1 >= size)
                return false;
            out[o++] = '/';
        }
        if (o + n >= size)
            return false;
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    return true;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int nr_layer_rmtree(const char *path, NrError *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : nr_error_errno(err, "cannot remove '%s'", path);
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? nr_error_errno(err, "cannot remove '%s'", path) : 0;
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
static int whiteout(NrLayers *l, const char *rel, const char *base, NrError *err)
{
    if (l->index == 0 || (strncmp(base, ".wh..wh.", 8) == 0 && strcmp(base, ".wh..wh..opq") != 0))
        return 0;   /* nothing below the first layer; aufs bookkeeping (.wh..wh.plnk) */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(base - rel), rel);
    nr_autofree char *real = resolve_dir(dir);
    if (!real)
        return 0;   /* the directory is not there: nothing to delete */
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
                rc = nr_layer_rmtree(path, err);
        }
        closedir(d);
        return rc;
    }
    snprintf(path, sizeof path, "%s/%s", strcmp(real, "/") ? real : "", base + 4);
    return seen(l, path) ? 0 : nr_layer_rmtree(path, err);
}

/* The first component of `rel` that is a symlink, or NULL. */
static char *symlink_in_path(const char *rel)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", rel);
    for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        struct stat st;
        if (lstat(buf, &st) == 0 && S_ISLNK(st.st_mode))
            return g_strdup(buf);
        *s = '/';
    }
    return NULL;
}

/* libarchive refused `rel` (or the hard link target) for going through a
 * symlink.  Rewrite it to its resolved path if the symlink came from a
 * lower layer; fail if this layer made it. */
static int resolve_through_lower(NrLayers *l, struct archive_entry *e, char *rel, size_t size,
                                 const char *what, NrError *err)
{
    const char *hard = archive_entry_hardlink(e);
    char hrel[PATH_MAX];
    const char *names[2] = { rel, NULL };
    if (hard && nr_path_normalize(hard, hrel, sizeof hrel))
        names[1] = hrel;
    bool changed = false;
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        g_autofree char *link = symlink_in_path(names[i]);
        if (!link)
            continue;
        if (l->index == 0 || seen(l, link))
            return nr_error_msg(err, "%s: entry '%s' is written through the symlink '%s' of "
                                "the same archive", what, archive_entry_pathname(e), link + 1);
        const char *base = strrchr(names[i], '/');
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(base - names[i]), names[i]);
        g_autofree char *real = resolve_dir(dir);
        if (!real)
            return nr_error_msg(err, "%s: entry '%s': its directory '%s' does not exist in "
                                "the image", what, archive_entry_pathname(e), dir);
        char out[PATH_MAX];
        if (snprintf(out, sizeof out, "%s%s", strcmp(real, "/") ? real : "", base) >= (int)sizeof out)
            return nr_error_msg(err, "%s: entry '%s': path too long", what, archive_entry_pathname(e));
        if (i == 0) {
            snprintf(rel, size, "%s", out);
            archive_entry_set_pathname(e, out);
        } else
            archive_entry_set_hardlink(e, out);
        changed = true;
    }
    if (!changed)
        return nr_error_msg(err, "%s: entry '%s' goes through a symlink", what,
                            archive_entry_pathname(e));
    return 0;
}

/* an entry of a layer above the first replaces what is in its way */
static int make_way(const char *rel, mode_t type, NrError *err)
{
    struct stat st;
    if (strcmp(rel, "/") == 0 || lstat(rel, &st) < 0)
        return 0;
    if (S_ISDIR(st.st_mode) && type == AE_IFDIR)
        return 0;   /* directories merge */
    return nr_layer_rmtree(rel, err);
}

static void count_warning(struct archive *w, NrCounts *c)
{
    const char *m = archive_error_string(w);
    if (m && (strstr(m, "Can't set user") || strstr(m, "set user=") || strstr(m, "chown")))
        c->owners++;
    else
        c->warnings++;
}

static int copy_data(struct archive *in, struct archive *out)
{
    const void *buf;
    size_t size;
    la_int64_t offset;
    for (;;) {
        int r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF)
            return ARCHIVE_OK;
        if (r < ARCHIVE_WARN)
            return r;
        if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN)
            return ARCHIVE_FATAL;
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
        return nr_error_msg(err, "%s: entry '%s': a '..' in the path would leave the image", what, path);
    const char *hard = archive_entry_hardlink(e);
    char hrel[PATH_MAX];
    if (hard && !nr_path_normalize(hard, hrel, sizeof hrel))
        return nr_error_msg(err, "%s: entry '%s': the link target '%s' would leave the image",
                            what, path, hard);
    const char *base = strrchr(rel, '/') + 1;
    mode_t type = archive_entry_filetype(e);
    l->counts.entries++;
    if (strncmp(base, ".wh.", 4) == 0)
        return whiteout(l, rel, base, err);
    if (type == AE_IFCHR && archive_entry_rdev(e) == 0) {
        /* an overlayfs whiteout: deletes this path of the lower layers */
        return l->index == 0 || seen(l, rel) ? 0 : nr_layer_rmtree(rel, err);
    }
    if (type == AE_IFCHR || type == AE_IFBLK) {
        l->counts.devices++;
        return 0;
    }
    if (l->index > 0 && make_way(rel, type, err) < 0)
        return -1;
    int r = archive_write_header(w, e);
    if (r == ARCHIVE_FAILED && strstr(archive_error_string(w) ?: "", "through symlink")) {
        if (resolve_through_lower(l, e, rel, sizeof rel, what, err) < 0)
            return -1;
        if (make_way(rel, type, err) < 0)
            return -1;
        r = archive_write_header(w, e);
    }
    if (r < ARCHIVE_WARN)
        return nr_error_msg(err, "%s: entry '%s': %s", what, path, archive_error_string(w));
    if (r == ARCHIVE_WARN)
        count_warning(w, &l->counts);
    if (l->seen)
        g_hash_table_add(l->seen, g_strdup(rel));
    if (archive_entry_size(e) > 0 && copy_data(a, w) != ARCHIVE_OK) {
        const char *m = archive_error_string(a);
        return nr_error_msg(err, "%s: entry '%s': %s", what, path, m ? m : archive_error_string(w));
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
                ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SPARSE | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (l->owners)
        flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(w, flags);
    if (l->index > 0)
        l->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
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
    return rc;
}
