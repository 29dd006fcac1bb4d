/* SPDX-License-Identifier: Apache-2.0 */
/* spool.c — reading an image archive's tar once.  An uncompressed one is
 * read in place: its headers are indexed once (each member's header offset),
 * and a blob is read by starting a reader at its header (blob.c), so the
 * cost grows with the number of members, not its square.  A compressed one
 * is spooled to the import's bookkeeping directory first (one file per
 * member, named by its number, never by its name), since its layers must be
 * read in the manifest's order. */
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-util.h"
#include "path.h"
#include "spool.h"

static void entry_free(gpointer p)
{
    NrEntry *e = p;
    g_free(e->link);
    g_free(e);
}

static struct archive *outer_reader(int fd, NrError *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (lseek(fd, 0, SEEK_SET) < 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
        nr_error_msg(err, "cannot read the archive: %s",
                     archive_error_string(a) ?: strerror(errno));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static NrEntry *index_entry(NrSource *src, struct archive_entry *e, const char *name, int64_t pos)
{
    NrEntry *ent = g_new0(NrEntry, 1);
    ent->size = (uint64_t)archive_entry_size(e);
    ent->pos = pos;
    const char *hard = archive_entry_hardlink(e);
    if (hard)
        ent->link = nr_path_clean(hard);
    else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
        ent->link = nr_path_join_link(name, archive_entry_symlink(e));
    if ((hard || archive_entry_filetype(e) == AE_IFLNK) && !ent->link) {
        entry_free(ent);
        /* an alias out of the archive: as if missing (and no older member
         * of the name stays visible: the last member of a name counts) */
        g_hash_table_remove(src->index, name);
        return NULL;
    }
    /* a later member of the same name replaces the earlier, as tar does */
    g_hash_table_replace(src->index, g_strdup(name), ent);
    return ent;
}

static bool indexable(struct archive_entry *e)
{
    mode_t t = archive_entry_filetype(e);
    return t == AE_IFREG || t == AE_IFLNK || archive_entry_hardlink(e);
}

int nr_spool_index(NrSource *src, NrError *err)
{
    src->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
    struct archive *a = outer_reader(src->fd, err);
    if (!a)
        return -1;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        g_autofree char *c = nr_path_clean(archive_entry_pathname(e) ?: "");
        if (c && *c && indexable(e))
            index_entry(src, e, c, archive_read_header_position(a));
        else if (c && *c)
            g_hash_table_remove(src->index, c); /* a directory or device now */
    }
    if (r != ARCHIVE_EOF) {
        nr_error_msg(err, "%s: %s", src->what, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    return 0;
}

static int spool_entry(NrSource *src, struct archive *a, struct archive_entry *e, NrError *err)
{
    g_autofree char *c = nr_path_clean(archive_entry_pathname(e) ?: "");
    if (!c || !*c)
        return 0;
    if (!indexable(e)) {
        g_hash_table_remove(src->index, c);
        return 0;
    }
    bool data = archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e);
    /* members are spooled under their number: names like a/b and a%b
     * cannot meet on disk */
    int64_t num = data ? src->n_spooled++ : -1;
    if (!index_entry(src, e, c, num) || !data)
        return 0;
    char flat[32];
    snprintf(flat, sizeof flat, "%lld", (long long)num);
    nr_autoclose int fd =
        openat(src->fd, flat, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return nr_error_errno(err, "%s: cannot spool '%s'", src->what, c);
    guint8 buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
        if (nr_write_all(fd, buf, (size_t)n) < 0)
            return nr_error_errno(err, "%s: cannot spool '%s'", src->what, c);
    if (n < 0)
        return nr_error_msg(err, "%s: entry '%s': %s", src->what, c, archive_error_string(a));
    return 0;
}

int nr_spool_copy(NrSource *src, int meta_fd, struct archive *a, struct archive_entry *e,
                  NrError *err)
{
    src->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
    if (mkdirat(meta_fd, "spool", 0700) < 0 ||
        (src->fd = openat(meta_fd, "spool", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return nr_error_errno(err, "cannot create a spool directory");
    src->spool = true;
    for (int r = ARCHIVE_OK; r != ARCHIVE_EOF; r = archive_read_next_header(a, &e)) {
        if (r < ARCHIVE_WARN)
            return nr_error_msg(err, "%s: %s", src->what, archive_error_string(a));
        if (spool_entry(src, a, e, err) < 0)
            return -1;
    }
    return 0;
}

void nr_spool_clear(NrSource *src, int meta_fd)
{
    if (src->index)
        g_hash_table_destroy(src->index);
    src->index = NULL;
    if (!src->spool)
        return;
    close(src->fd);
    src->spool = false;
    int fd = openat(meta_fd, "spool", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            unlinkat(fd, de->d_name, 0);
    if (d)
        closedir(d);
    unlinkat(meta_fd, "spool", AT_REMOVEDIR);
}
