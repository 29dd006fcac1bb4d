/* unpack.c — nroot-unpack: extract a rootfs tarball into the store.
 *
 * Run by nroot inside the user namespace of the image's id mapping, as root
 * there, with the tarball on one fd and the sync socket on another.  It
 * pivots into the (empty) target directory first, so no entry — `../`,
 * absolute names, symlink or hardlink tricks — can reach outside it; on top
 * of that libarchive's secure-extraction checks reject `..` and writes
 * through symlinks, and we fail naming the entry.  It is a separate binary
 * because libarchive and its codecs cost ~4.5 ms to load, which the launcher
 * must not pay on every start.
 *
 * Result (NR_SYNC_RESULT): "sha256=<hex of the file> devices=N owners=N warnings=N" */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "nr-spawn.h"
#include "nr-util.h"

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer needs /proc, which the pivot hides: leaks are checked in
 * the launcher's own sanitizer runs, not in this short-lived helper */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }
#endif

typedef struct Source {
    int        fd;
    GChecksum *sum;
    guint8     buf[1 << 20];
} Source;

static la_ssize_t source_read(struct archive *a, void *data, const void **ret_buf)
{
    Source *s = data;
    for (;;) {
        ssize_t n = read(s->fd, s->buf, sizeof s->buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (a)
                archive_set_error(a, errno, "read error");
            return -1;
        }
        if (n > 0)
            g_checksum_update(s->sum, s->buf, (gssize)n);
        *ret_buf = s->buf;
        return n;
    }
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

typedef struct Counts {
    long entries, devices, owners, warnings;
} Counts;

static void count_warning(struct archive *w, Counts *c)
{
    const char *m = archive_error_string(w);
    if (m && (strstr(m, "Can't set user") || strstr(m, "set user=") || strstr(m, "chown")))
        c->owners++;
    else
        c->warnings++;
}

static int unpack(Source *src, const char *name, bool owners, Counts *c, NrError *err)
{
    struct archive *a = archive_read_new();
    struct archive *w = archive_write_disk_new();
    int rc = -1;
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SPARSE | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (owners)
        flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(w, flags);

    if (archive_read_open(a, src, NULL, source_read, NULL) != ARCHIVE_OK) {
        nr_error_msg(err, "'%s': %s", name, archive_error_string(a));
        nr_error_hint(err, "an image is a directory or a tar archive (plain, gzip, xz, zstd or bzip2)");
        goto out;
    }
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN) {
            nr_error_msg(err, "'%s': %s", name, archive_error_string(a));
            if (c->entries == 0 && strstr(archive_error_string(a), "Unrecognized"))
                nr_error_hint(err, "an image is a directory or a tar archive (plain, gzip, xz, "
                              "zstd or bzip2)");
            goto out;
        }
        c->entries++;
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFCHR || type == AE_IFBLK) {
            c->devices++;
            continue;
        }
        const char *path = archive_entry_pathname(e);
        r = archive_write_header(w, e);
        if (r < ARCHIVE_WARN) {
            nr_error_msg(err, "'%s': entry '%s': %s", name, path ? path : "?", archive_error_string(w));
            goto out;
        }
        if (r == ARCHIVE_WARN)
            count_warning(w, c);
        if (archive_entry_size(e) > 0 && copy_data(a, w) != ARCHIVE_OK) {
            const char *m = archive_error_string(a);
            nr_error_msg(err, "'%s': entry '%s': %s", name, path ? path : "?",
                         m ? m : archive_error_string(w));
            goto out;
        }
        r = archive_write_finish_entry(w);
        if (r < ARCHIVE_WARN) {
            nr_error_msg(err, "'%s': entry '%s': %s", name, path ? path : "?", archive_error_string(w));
            goto out;
        }
        if (r == ARCHIVE_WARN)
            count_warning(w, c);
    }
    if (c->entries == 0) {
        nr_error_msg(err, "'%s': the archive contains no files", name);
        goto out;
    }
    /* directory modes and times are applied last, on close */
    if (archive_write_close(w) < ARCHIVE_WARN) {
        nr_error_msg(err, "'%s': %s", name, archive_error_string(w));
        goto out;
    }
    rc = 0;
out:
    archive_read_free(a);
    archive_write_free(w);
    return rc;
}

/* Make `root` the only tree this process can reach: a mount namespace of
 * its own, pivot_root into the target and the old root detached (a chroot
 * alone can be left again with CAP_SYS_CHROOT), then only the capabilities
 * that extraction needs, and no_new_privs. */
static int enter_root(const char *root, NrError *err)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot create a mount namespace for unpacking");
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(root) < 0)
        return nr_error_errno(err, "cannot enter '%s'", root);
    if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        return nr_error_errno(err, "cannot pivot into '%s'", root);
    static const cap_value_t keep[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
                                        CAP_FOWNER, CAP_FSETID, CAP_SETFCAP, CAP_MKNOD };
    for (int c = 0; c <= CAP_LAST_CAP; c++) {
        bool kept = false;
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
            kept |= keep[i] == c;
        if (!kept && cap_drop_bound(c) < 0 && errno != EINVAL)
            return nr_error_errno(err, "cannot drop capability %d", c);
    }
    cap_t caps = cap_init();
    if (!caps)
        return nr_error_errno(err, "cap_init");
    cap_set_flag(caps, CAP_PERMITTED, (int)(sizeof keep / sizeof keep[0]), keep, CAP_SET);
    cap_set_flag(caps, CAP_EFFECTIVE, (int)(sizeof keep / sizeof keep[0]), keep, CAP_SET);
    int rc = cap_set_proc(caps);
    cap_free(caps);
    if (rc < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return nr_error_errno(err, "cannot drop privileges for unpacking");
    return 0;
}

int main(int argc, char **argv)
{
    int image_fd = -1, sync_fd = -1;
    const char *root = NULL, *name = NULL;
    bool owners = false;
    for (int i = 1; i < argc; i++) {
        if (sscanf(argv[i], "--image-fd=%d", &image_fd) == 1 || sscanf(argv[i], "--sync-fd=%d", &sync_fd) == 1)
            continue;
        if (strcmp(argv[i], "--owners") == 0)
            owners = true;
        else if (!root)
            root = argv[i];
        else if (!name)
            name = argv[i];
    }
    if (image_fd < 0 || sync_fd < 0 || !root || !name) {
        fprintf(stderr, "nroot-unpack: internal helper of nroot; not to be run by hand\n");
        return NR_EXIT_FAILURE;
    }
    NrError err = { 0 };
    Source *src = g_new0(Source, 1);
    src->fd = image_fd;
    src->sum = g_checksum_new(G_CHECKSUM_SHA256);
    Counts c = { 0 };

    umask(0);
    if (enter_root(root, &err) < 0)
        goto fail;
    if (unpack(src, name, owners, &c, &err) < 0)
        goto fail;
    /* the digest covers the whole file, also what follows the tar's end */
    const void *ignored;
    while (source_read(NULL, src, &ignored) > 0)
        ;
    char result[256];
    snprintf(result, sizeof result, "sha256=%s devices=%ld owners=%ld warnings=%ld",
             g_checksum_get_string(src->sum), c.devices, c.owners, c.warnings);
    g_checksum_free(src->sum);
    g_free(src);
    return nr_sync_send_result(sync_fd, result) < 0 ? NR_EXIT_FAILURE : 0;

fail:
    g_checksum_free(src->sum);
    g_free(src);
    nr_sync_send(sync_fd, NR_SYNC_ERROR, &err);
    return NR_EXIT_FAILURE;
}
