/* unpack.c — nroot-unpack: import an image into the store.
 *
 * Run by nroot inside the user namespace of the image's id mapping, as root
 * there, with the image (a file or a directory) on one fd, the sync socket
 * on another and the import's bookkeeping directory on a third.  It pivots
 * into the (empty) target rootfs first, so no entry — `../`, absolute names,
 * symlink or hardlink tricks — can reach outside it; on top of that `..`
 * components and writes through a symlink of the same layer are refused,
 * naming the entry (unpack-layer.c).  It is a separate binary because
 * libarchive, its codecs and json-glib cost ~5 ms to load, which the
 * launcher must not pay on every start.
 *
 * Result (NR_SYNC_RESULT):
 *   "id=<sha256 hex> chain=<sha256 hex> format=F devices=N owners=N warnings=N bytes=N"
 * (chain: the OCI chain id of the layers as measured, the rootfs tarball's
 * own digest for a tarball)
 * and the file `config` in the bookkeeping directory (see unpack-image.c). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "nr-spawn.h"
#include "nr-unpack.h"
#include "nr-util.h"

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer needs /proc, which the pivot hides: leaks are checked in
 * the launcher's own sanitizer runs, not in this short-lived helper */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }
#endif

/* ---- progress: "unpacking NAME  42% [====>       ] 12.0/28.4 MiB 9.1 MiB/s 0:02 left" ---- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void draw(NrProgress *p, bool final)
{
    int64_t now = now_ns();
    double secs = (double)(now - p->start_ns) / 1e9, mib = 1024.0 * 1024.0;
    double rate = secs > 0.05 ? (double)p->done / secs : 0;
    uint64_t total = p->total > p->done ? p->total : p->done;
    int pct = total ? (int)(100.0 * (double)p->done / (double)total) : 100;
    if (final)
        pct = 100;
    char bar[16];
    int fill = pct * 12 / 100;
    for (int i = 0; i < 12; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[12] = '\0';
    char tail[64];
    if (final)
        snprintf(tail, sizeof tail, "done in %.1f s", secs);
    else if (rate > 0) {
        long left = (long)((double)(total - p->done) / rate + 0.5);
        snprintf(tail, sizeof tail, "%ld:%02ld left", left / 60, left % 60);
    } else
        snprintf(tail, sizeof tail, "--:-- left");
    struct winsize ws = { 0 };
    int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
    char line[512];
    int n = snprintf(line, sizeof line, "%3d%% [%s] %.1f/%.1f MiB %.1f MiB/s %s", pct, bar,
                     (double)p->done / mib, (double)total / mib, rate / mib, tail);
    int room = cols - 1 - (n > 0 ? n : 0) - 2;
    fprintf(stderr, "\r\033[K%.*s%s%s%s", room > 0 ? room : 0, p->label, room > 0 ? "  " : "", line,
            final ? "\n" : "");
    fflush(stderr);
    p->last_ns = now;
}

void nr_progress_add(NrProgress *p, uint64_t n)
{
    if (!p)
        return;
    p->done += n;
    if (p->enabled && now_ns() - p->last_ns >= 100000000)
        draw(p, false);
}

void nr_progress_finish(NrProgress *p)
{
    if (p && p->enabled)
        draw(p, true);
}

/* ---- a byte stream with a digest ---- */

#define CHUNK_SIZE  (1 << 20)
#define N_CHUNKS    4
#define THREAD_MIN  (8u << 20)   /* below this a thread costs more than it saves */

typedef struct NrChunk {
    guint8 *data;
    ssize_t len;
    int     err;
} NrChunk;

static NrChunk wake_up;   /* pushed to make a waiting reader look at `stop` */

static gpointer reader_thread(gpointer data)
{
    NrStream *s = data;
    for (;;) {
        NrChunk *c = g_async_queue_pop(s->empty);
        if (c == &wake_up || g_atomic_int_get(&s->stop))
            break;
        do
            c->len = read(s->fd, c->data, CHUNK_SIZE);
        while (c->len < 0 && errno == EINTR);
        c->err = c->len < 0 ? errno : 0;
        if (c->len > 0)
            EVP_DigestUpdate(s->md, c->data, (size_t)c->len);
        g_async_queue_push(s->full, c);
        if (c->len <= 0)
            break;
    }
    return NULL;
}

void nr_stream_init(NrStream *s, int fd, struct archive *outer, uint64_t size, NrDigestType digest,
                    NrProgress *progress)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->outer = outer;
    s->remaining = size;
    s->md = EVP_MD_CTX_new();
    if (!s->md || !EVP_DigestInit_ex(s->md, digest == NR_SHA512 ? EVP_sha512() : EVP_sha256(), NULL)) {
        fputs("nroot-unpack: cannot initialise the digest\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    s->progress = progress;
    if (!outer && size >= THREAD_MIN) {
        s->full = g_async_queue_new();
        s->empty = g_async_queue_new();
        s->chunks = g_new0(NrChunk, N_CHUNKS);
        for (int i = 0; i < N_CHUNKS; i++) {
            s->chunks[i].data = g_malloc(CHUNK_SIZE);
            g_async_queue_push(s->empty, &s->chunks[i]);
        }
        s->thread = g_thread_new("nroot-read", reader_thread, s);
        return;
    }
    s->buf_size = 1 << 20;
    s->buf = g_malloc(s->buf_size);
}

/* end the reader thread (at once, unless it has reached the end) */
static void reader_stop(NrStream *s)
{
    if (!s->thread)
        return;
    g_atomic_int_set(&s->stop, 1);
    g_async_queue_push(s->empty, &wake_up);
    g_thread_join(s->thread);
    g_async_queue_unref(s->full);
    g_async_queue_unref(s->empty);
    for (int i = 0; i < N_CHUNKS; i++)
        g_free(s->chunks[i].data);
    g_free(s->chunks);
    s->thread = NULL;
    s->chunks = s->cur = NULL;
}

void nr_stream_clear(NrStream *s)
{
    reader_stop(s);
    if (s->md)
        EVP_MD_CTX_free(s->md);
    g_free(s->buf);
    s->md = NULL;
    s->buf = NULL;
}

/* the next chunk of the reader thread */
static ssize_t threaded_read(NrStream *s, const void **ret_buf)
{
    if (s->cur) {
        g_async_queue_push(s->empty, s->cur);
        s->cur = NULL;
    }
    if (s->eof)
        return 0;
    NrChunk *c = g_async_queue_pop(s->full);
    if (c->len <= 0) {
        s->eof = true;
        errno = c->err;
        return c->len;
    }
    s->cur = c;
    *ret_buf = c->data;
    return c->len;
}

la_ssize_t nr_stream_read(struct archive *a, void *data, const void **ret_buf)
{
    NrStream *s = data;
    ssize_t n;
    if (s->thread) {
        n = threaded_read(s, ret_buf);
        if (n < 0 && a)
            archive_set_error(a, errno, "read error");
        if (n > 0) {
            s->bytes += (uint64_t)n;
            nr_progress_add(s->progress, (uint64_t)n);
        }
        return n;
    }
    if (s->outer) {
        n = archive_read_data(s->outer, s->buf, s->buf_size);
        if (n < 0) {
            if (a)
                archive_set_error(a, EIO, "%s", archive_error_string(s->outer));
            errno = EIO;
            return -1;
        }
    } else {
        do
            n = read(s->fd, s->buf, s->buf_size);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (a)
                archive_set_error(a, errno, "read error");
            return -1;
        }
    }
    if (n > 0) {
        EVP_DigestUpdate(s->md, s->buf, (size_t)n);
        s->bytes += (uint64_t)n;
        nr_progress_add(s->progress, (uint64_t)n);
    }
    *ret_buf = s->buf;
    return n;
}

const char *nr_stream_digest(NrStream *s)
{
    if (s->thread && !s->eof)
        nr_stream_drain(s);
    reader_stop(s);   /* after EOF it has hashed everything and ended */
    if (!s->hex[0]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_DigestFinal_ex(s->md, md, &n);
        for (unsigned int i = 0; i < n && 2 * i + 2 < sizeof s->hex; i++)
            snprintf(s->hex + 2 * i, 3, "%02x", md[i]);
    }
    return s->hex;
}

int nr_stream_drain(NrStream *s)
{
    const void *ignored;
    la_ssize_t n;
    while ((n = nr_stream_read(NULL, s, &ignored)) > 0)
        ;
    return n < 0 ? -1 : 0;
}

struct archive *nr_stream_archive(NrStream *s)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (archive_read_open(a, s, NULL, nr_stream_read, NULL) != ARCHIVE_OK) {
        /* the error surfaces at the first archive_read_next_header */
    }
    return a;
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

/* `nroot export`: the tree in the working directory as a tarball on
 * stdout, numeric owners as the container sees them, mounted filesystems
 * (volumes, /proc, /dev) left out */
static int export_tree(const char *name, NrError *err)
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
        nr_error_msg(err, "export of %s: %s", name, archive_error_string(archive_errno(out) ?
                     out : disk));
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
        if (archive_entry_filetype(e) == AE_IFSOCK) {   /* tar has no sockets */
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

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--seccomp-compile") == 0)
        return nr_unpack_seccomp_main(argc, argv);
    if (argc == 3 && strcmp(argv[1], "--export") == 0) {
        NrError err = { 0 };
        if (export_tree(argv[2], &err) < 0) {
            nr_error_print(&err);
            return NR_EXIT_FAILURE;
        }
        return 0;
    }
    int image_fd = -1, sync_fd = -1, meta_fd = -1;
    const char *root = NULL, *name = NULL, *ref = NULL;
    bool owners = false, progress = false;
    for (int i = 1; i < argc; i++) {
        if (sscanf(argv[i], "--image-fd=%d", &image_fd) == 1 ||
            sscanf(argv[i], "--sync-fd=%d", &sync_fd) == 1 ||
            sscanf(argv[i], "--meta-fd=%d", &meta_fd) == 1)
            continue;
        if (strncmp(argv[i], "--image-ref=", 12) == 0)
            ref = argv[i] + 12;
        else if (strcmp(argv[i], "--owners") == 0)
            owners = true;
        else if (strcmp(argv[i], "--progress") == 0)
            progress = true;
        else if (!root)
            root = argv[i];
        else if (!name)
            name = argv[i];
    }
    if (image_fd < 0 || sync_fd < 0 || meta_fd < 0 || !root || !name) {
        fprintf(stderr, "nroot-unpack: internal helper of nroot; not to be run by hand\n");
        return NR_EXIT_FAILURE;
    }
    NrError err = { 0 };
    const char *base = strrchr(name, '/');
    g_autofree char *label = g_strdup_printf("unpacking %s", base && base[1] ? base + 1 : name);
    NrProgress bar = { .enabled = progress && isatty(STDERR_FILENO), .label = label,
                       .start_ns = now_ns() };
    NrUnpackJob job = { .image_fd = image_fd, .meta_fd = meta_fd, .name = name,
                        .ref = ref && *ref ? ref : NULL, .progress = &bar,
                        .layers = { .owners = owners } };
    umask(0);
    if (enter_root(root, &err) < 0 || nr_unpack_image(&job, &err) < 0) {
        if (bar.enabled && bar.last_ns)
            fputs("\r\033[K", stderr);
        nr_sync_send(sync_fd, NR_SYNC_ERROR, &err);
        return NR_EXIT_FAILURE;
    }
    nr_progress_finish(&bar);
    char result[512];
    snprintf(result, sizeof result, "id=%s chain=%s format=%s devices=%ld owners=%ld warnings=%ld "
             "bytes=%llu", job.id, job.chain, job.format, job.layers.counts.devices, job.layers.counts.owners,
             job.layers.counts.warnings, (unsigned long long)job.layers.counts.bytes);
    return nr_sync_send_result(sync_fd, result) < 0 ? NR_EXIT_FAILURE : 0;
}
