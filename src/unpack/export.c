/* SPDX-License-Identifier: Apache-2.0 */
/* export.c — nroot-unpack --export NAME: the container's tree as a tarball
 * (`nroot export`). */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <unistd.h>

#include "export.h"

/* `nroot export`: the tree in the working directory as a tarball on
 * stdout, numeric owners as the container sees them, mounted filesystems
 * (volumes, /proc, /dev) left out */
int nr_export_tree(const char *name, NrError *err)
{
    struct archive *disk = archive_read_disk_new(), *out = archive_write_new();
    struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
    int rc = -1;
    if (!disk || !out || !links) {
        nr_error_msg(err, "out of memory");
        goto done;
    }
    archive_read_disk_set_symlink_physical(disk);
    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
    archive_write_set_format_pax_restricted(out);
    archive_write_set_bytes_in_last_block(out, 1);
    archive_entry_linkresolver_set_strategy(links, archive_format(out));
    if (archive_write_open_fd(out, STDOUT_FILENO) != ARCHIVE_OK ||
        archive_read_disk_open(disk, ".") != ARCHIVE_OK) {
        nr_error_msg(err, "export of %s: %s", name,
                     archive_error_string(archive_errno(out) ? out : disk));
        goto done;
    }
    static char buf[256 * 1024];
    for (;;) {
        struct archive_entry *e = archive_entry_new(), *spare = NULL;
        int r = archive_read_next_header2(disk, e);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(e);
            break;
        }
        if (r < ARCHIVE_WARN) {
            nr_error_msg(err, "export of %s: %s", name, archive_error_string(disk));
            archive_entry_free(e);
            goto done;
        }
        if (r == ARCHIVE_WARN)
            fprintf(stderr, "nroot: warning: %s: %s\n", archive_entry_pathname(e),
                    archive_error_string(disk));
        archive_read_disk_descend(disk);
        if (archive_entry_filetype(e) == AE_IFSOCK) { /* tar has no sockets */
            archive_entry_free(e);
            continue;
        }
        struct archive_entry *w = e;
        archive_entry_linkify(links, &w, &spare);
        if (w && archive_write_header(out, w) < ARCHIVE_WARN) {
            nr_error_msg(err, "export of %s: %s: %s", name, archive_entry_pathname(w),
                         archive_error_string(out));
            archive_entry_free(e);
            goto done;
        }
        if (w && archive_entry_filetype(w) == AE_IFREG && archive_entry_size(w) > 0) {
            ssize_t n;
            while ((n = archive_read_data(disk, buf, sizeof buf)) > 0)
                if (archive_write_data(out, buf, (size_t)n) < 0) {
                    nr_error_msg(err, "export of %s: %s", name, archive_error_string(out));
                    archive_entry_free(e);
                    goto done;
                }
            if (n < 0) {
                nr_error_msg(err, "export of %s: %s: %s", name, archive_entry_pathname(w),
                             archive_error_string(disk));
                archive_entry_free(e);
                goto done;
            }
        }
        archive_entry_free(e);
        if (spare)
            archive_entry_free(spare);
    }
    if (archive_write_close(out) != ARCHIVE_OK) {
        nr_error_msg(err, "export of %s: %s", name, archive_error_string(out));
        goto done;
    }
    rc = 0;
done:
    archive_entry_linkresolver_free(links);
    archive_read_free(disk);
    archive_write_free(out);
    return rc;
}
