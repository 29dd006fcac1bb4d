/* SPDX-License-Identifier: Apache-2.0 */
/* nroot-squashfs — the FUSE server for `nroot run IMAGE.sqsh` (issue 16).
 * It reads the image with libsquashfuse, as squashfuse_ll does, but is
 * written to cut round trips, which in a VM cost ~50 µs each and made
 * squashfuse_ll 3x slower than an unpacked tree:
 *   - no OPEN/RELEASE and no OPENDIR/RELEASEDIR: open and opendir answer
 *     ENOSYS (FUSE_CAP_NO_OPEN{,DIR}_SUPPORT), the kernel then keeps the
 *     page cache and stops asking; reads go by node id, which is the
 *     squashfs inode id itself (stateless: no inode table, FORGET is free);
 *   - READDIRPLUS always: a listing brings every entry's attributes, so an
 *     lstat after readdir (tar, ls -l, python's path scans) needs no LOOKUP;
 *   - endless entry and attribute timeouts, negative entries cached: the
 *     image is immutable;
 *   - large requests (max_pages 256); one thread by default: the kernel's
 *     wake-ups cost less than libfuse's thread hand-offs, and decompression
 *     is under one lock anyway (python's 200 imports in a container, ~300
 *     against ~380 ms with 4 threads and a /dev/fuse clone each, on a 2-core
 *     VM; read-all of 2 tar readers no faster).  -o threads=N for more.
 * Command line as squashfuse_ll's: -f -o OPTS IMAGE MOUNTPOINT (-d debug);
 * -o share=FD,linger=S make it nroot's shared mount of the image (share.c).
 * A hostile image gives EIO (or fails at start), never a crash: names are
 * read into 64 KiB buffers (the format's u16 length), sizes the image
 * claims are bounded before anything is allocated. */
#include <squashfuse/squashfuse.h>
#undef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "share.h"

/* the image never changes while it is mounted */
#define SQ_TIMEOUT (86400.0 * 365)
/* the largest request we ask the kernel for: 256 pages */
#define SQ_MAX_IO (1U << 20)
/* a name in a directory or xattr: the format stores its length in 16 bits */
#define SQ_NAME_BUF (65536 + 2)
/* the caches of decompressed blocks (metadata 8 KiB, data and fragment
 * blocks the image's block size, 128 KiB by default): 4 + 1 + 32 MiB at
 * most, filled as the image is read (1 MiB blocks: 4 + 8 + 256 MiB);
 * once per image on a node, a shared server outlives the kernel's caches
 * with them */
#define SQ_MD_BLOCKS 512
#define SQ_DATA_BLOCKS 8
#define SQ_FRAG_BLOCKS 256

typedef struct {
    sqfs fs;
    char *name; /* SQ_NAME_BUF */
    char *buf;  /* SQ_MAX_IO, for reads */
} SqImage;

static int image_fd = -1;
static size_t image_offset;
static sqfs_inode_id root_id;
/* the image has an xattr table: else getxattr and listxattr answer ENOSYS
 * and the kernel asks no more (overlayfs asks for its xattrs on every
 * lookup in a lower layer: 40% of python's round trips), EOPNOTSUPP for
 * the callers, as the kernel's squashfs says for such an image */
static bool has_xattrs;
static int debug;
/* one view of the image for all worker threads, under `lock`:
 * libsquashfuse's caches are not thread safe, and decompression (zstd:
 * 2/3 of the server's time for python's imports) pays off only when the
 * decompressed block is kept for the next request, whichever thread takes
 * it.  The lock is not held while a thread waits for the kernel. */
static SqImage image;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static SqImage *thread_get(void)
{
    return &image;
}

/* libsquashfuse keeps 8 metadata blocks, 1 data block and 3 fragment
 * blocks: small files share fragment blocks, and python's imports read
 * them in no order, each miss a 128 KiB decompression */
static int image_open(SqImage *im)
{
    im->name = malloc(SQ_NAME_BUF);
    im->buf = malloc(SQ_MAX_IO);
    if (!im->name || !im->buf)
        return -1;
    sqfs_cache_destroy(&im->fs.md_cache);
    sqfs_cache_destroy(&im->fs.data_cache);
    sqfs_cache_destroy(&im->fs.frag_cache);
    if (sqfs_block_cache_init(&im->fs.md_cache, SQ_MD_BLOCKS) != SQFS_OK ||
        sqfs_block_cache_init(&im->fs.data_cache, SQ_DATA_BLOCKS) != SQFS_OK ||
        sqfs_block_cache_init(&im->fs.frag_cache, SQ_FRAG_BLOCKS) != SQFS_OK)
        return -1;
    return 0;
}

/* node ids: 1 is the root, every other inode is its squashfs inode id + 2
 * (an id may be 0, a node id may not) */
static fuse_ino_t ino_fuse(sqfs_inode_id id)
{
    return id == root_id ? FUSE_ROOT_ID : (fuse_ino_t)id + 2;
}

static sqfs_inode_id ino_sqfs(fuse_ino_t ino)
{
    return ino == FUSE_ROOT_ID ? root_id : (sqfs_inode_id)(ino - 2);
}

/* the thread's fs and the inode `ino`, or an error already replied */
static SqImage *get_inode(fuse_req_t req, fuse_ino_t ino, sqfs_inode *inode)
{
    SqImage *t = thread_get();
    if (!t) {
        fuse_reply_err(req, ENOMEM);
        return NULL;
    }
    if (ino < 2 && ino != FUSE_ROOT_ID) {
        fuse_reply_err(req, EINVAL);
        return NULL;
    }
    if (sqfs_inode_get(&t->fs, inode, ino_sqfs(ino)) != SQFS_OK) {
        fuse_reply_err(req, EIO);
        return NULL;
    }
    return t;
}

/* get_inode for an operation on one type of file (S_IFDIR, S_IFREG,
 * S_IFLNK): another type is answered as the kernel's file systems do
 * (ENOTDIR; EISDIR or EINVAL for a read; EINVAL for readlink) */
static SqImage *get_typed(fuse_req_t req, fuse_ino_t ino, sqfs_inode *inode, mode_t type)
{
    SqImage *t = get_inode(req, ino, inode);
    if (!t || (inode->base.mode & S_IFMT) == type)
        return t;
    fuse_reply_err(req, type == S_IFDIR                                ? ENOTDIR
                        : type == S_IFREG && S_ISDIR(inode->base.mode) ? EISDIR
                                                                       : EINVAL);
    return NULL;
}

static int fill_stat(sqfs *fs, sqfs_inode *inode, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = inode->base.inode_number;
    st->st_mode = inode->base.mode;
    st->st_nlink = inode->nlink;
    st->st_mtime = st->st_ctime = st->st_atime = inode->base.mtime;
    if (S_ISREG(st->st_mode)) {
        st->st_size = (off_t)inode->xtra.reg.file_size;
        st->st_blocks = st->st_size / 512;
    } else if (S_ISBLK(st->st_mode) || S_ISCHR(st->st_mode)) {
        st->st_rdev = makedev((unsigned)inode->xtra.dev.major, (unsigned)inode->xtra.dev.minor);
    } else if (S_ISLNK(st->st_mode)) {
        st->st_size = (off_t)inode->xtra.symlink_size;
    }
    st->st_blksize = fs->sb.block_size;
    sqfs_id_t id;
    if (sqfs_id_get(fs, inode->base.uid, &id) != SQFS_OK)
        return -1;
    st->st_uid = id;
    if (sqfs_id_get(fs, inode->base.guid, &id) != SQFS_OK)
        return -1;
    st->st_gid = id;
    return 0;
}

static void entry_of(sqfs_inode_id id, const struct stat *st, struct fuse_entry_param *e)
{
    memset(e, 0, sizeof *e);
    e->ino = ino_fuse(id);
    e->attr = *st;
    e->attr_timeout = SQ_TIMEOUT;
    e->entry_timeout = SQ_TIMEOUT;
}

static void sq_init(void *userdata, struct fuse_conn_info *conn)
{
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want = (conn->want | FUSE_CAP_READDIRPLUS) & ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
        conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    /* nothing writes: no invalidation when mtime or size "change" */
    conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
    /* libfuse asks for max_pages from max_write; reads follow */
    conn->max_write = SQ_MAX_IO;
    conn->max_read = 0;
    /* conn->max_readahead is already the kernel's maximum */
}

static void sq_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    sqfs_inode dir, inode;
    SqImage *t = get_typed(req, parent, &dir, S_IFDIR);
    if (!t)
        return;
    sqfs_dir_entry de;
    sqfs_dentry_init(&de, t->name);
    bool found = false;
    size_t len = strlen(name);
    if (len > SQUASHFS_NAME_LEN ||
        sqfs_dir_lookup(&t->fs, &dir, name, len, &de, &found) != SQFS_OK) {
        fuse_reply_err(req, len > SQUASHFS_NAME_LEN ? ENAMETOOLONG : EIO);
        return;
    }
    if (debug)
        fprintf(stderr, "nroot-squashfs: lookup %lu '%s': %s\n", (unsigned long)parent, name,
                found ? "found" : "none");
    struct fuse_entry_param e;
    if (!found) {
        /* a negative entry the kernel keeps as long as the positive ones */
        memset(&e, 0, sizeof e);
        e.entry_timeout = SQ_TIMEOUT;
        fuse_reply_entry(req, &e);
        return;
    }
    struct stat st;
    sqfs_inode_id id = sqfs_dentry_inode(&de);
    if (sqfs_inode_get(&t->fs, &inode, id) != SQFS_OK || fill_stat(&t->fs, &inode, &st) < 0) {
        fuse_reply_err(req, EIO);
        return;
    }
    entry_of(id, &st, &e);
    fuse_reply_entry(req, &e);
}

static void sq_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    sqfs_inode inode;
    SqImage *t = get_inode(req, ino, &inode);
    if (!t)
        return;
    struct stat st;
    if (fill_stat(&t->fs, &inode, &st) < 0) {
        fuse_reply_err(req, EIO);
        return;
    }
    fuse_reply_attr(req, &st, SQ_TIMEOUT);
}

/* no open state: the kernel stops sending OPEN and RELEASE (and the
 * OPENDIR, RELEASEDIR pairs) after the first ENOSYS, and keeps the cache */
static void sq_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fuse_reply_err(req, ENOSYS);
}

static void sq_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    sqfs_inode inode;
    SqImage *t = get_typed(req, ino, &inode, S_IFREG);
    if (!t)
        return;
    if (size > SQ_MAX_IO)
        size = SQ_MAX_IO;
    if (off < 0 || (uint64_t)off >= inode.xtra.reg.file_size) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    sqfs_off_t n = (sqfs_off_t)size;
    if (sqfs_read_range(&t->fs, &inode, off, &n, t->buf) != SQFS_OK || n < 0 || (size_t)n > size) {
        fuse_reply_err(req, EIO);
        return;
    }
    fuse_reply_buf(req, t->buf, (size_t)n);
}

static void sq_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
    sqfs_inode inode;
    SqImage *t = get_typed(req, ino, &inode, S_IFDIR);
    if (!t)
        return;
    if (size > SQ_MAX_IO)
        size = SQ_MAX_IO;
    char *buf = malloc(size);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    sqfs_dir dir;
    sqfs_dir_entry de;
    sqfs_err err = SQFS_OK;
    size_t used = 0;
    if (sqfs_dir_open(&t->fs, &inode, &dir, off) != SQFS_OK) {
        free(buf);
        fuse_reply_err(req, EIO);
        return;
    }
    sqfs_dentry_init(&de, t->name);
    while (sqfs_dir_next(&t->fs, &dir, &de, &err)) {
        const char *name = sqfs_dentry_name(&de);
        off_t next = sqfs_dentry_next_offset(&de);
        sqfs_inode_id id = sqfs_dentry_inode(&de);
        size_t need;
        if (plus) {
            sqfs_inode child;
            struct fuse_entry_param e;
            struct stat st;
            if (sqfs_inode_get(&t->fs, &child, id) != SQFS_OK ||
                fill_stat(&t->fs, &child, &st) < 0) {
                err = SQFS_ERR;
                break;
            }
            entry_of(id, &st, &e);
            need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next);
        } else {
            struct stat st = { .st_ino = sqfs_dentry_inode_num(&de),
                               .st_mode = sqfs_dentry_mode(&de) };
            need = fuse_add_direntry(req, buf + used, size - used, name, &st, next);
        }
        if (need > size - used)
            break;
        used += need;
    }
    if (err != SQFS_OK && used == 0) {
        free(buf);
        fuse_reply_err(req, EIO);
        return;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void sq_readlink(fuse_req_t req, fuse_ino_t ino)
{
    sqfs_inode inode;
    SqImage *t = get_typed(req, ino, &inode, S_IFLNK);
    if (!t)
        return;
    /* the image says how long: no more than a path can be */
    if (inode.xtra.symlink_size >= PATH_MAX) {
        fuse_reply_err(req, EIO);
        return;
    }
    size_t n = PATH_MAX;
    if (sqfs_readlink(&t->fs, &inode, t->buf, &n) != SQFS_OK) {
        fuse_reply_err(req, EIO);
        return;
    }
    t->buf[inode.xtra.symlink_size] = '\0';
    fuse_reply_readlink(req, t->buf);
}

/* the xattrs of inode `ino`, or NULL once the request is answered (ENOSYS
 * for an image without any, so the kernel stops asking) */
static SqImage *xattr_open(fuse_req_t req, fuse_ino_t ino, sqfs_xattr *x)
{
    if (!has_xattrs) {
        fuse_reply_err(req, ENOSYS);
        return NULL;
    }
    sqfs_inode inode;
    SqImage *t = get_inode(req, ino, &inode);
    if (!t)
        return NULL;
    if (sqfs_xattr_open(&t->fs, &inode, x) != SQFS_OK) {
        fuse_reply_err(req, EIO);
        return NULL;
    }
    return t;
}

static void sq_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    sqfs_xattr x;
    SqImage *t = xattr_open(req, ino, &x);
    if (!t)
        return;
    size_t used = 0;
    while (x.remain) {
        if (sqfs_xattr_read(&x) != SQFS_OK) {
            fuse_reply_err(req, EIO);
            return;
        }
        size_t n = sqfs_xattr_name_size(&x);
        if (n + 1 > SQ_NAME_BUF) {
            fuse_reply_err(req, EIO);
            return;
        }
        if (size) {
            if (used + n + 1 > size || used + n + 1 > SQ_MAX_IO) {
                fuse_reply_err(req, ERANGE);
                return;
            }
            if (sqfs_xattr_name(&x, t->buf + used, true) != SQFS_OK) {
                fuse_reply_err(req, EIO);
                return;
            }
            t->buf[used + n] = '\0';
        }
        used += n + 1;
    }
    if (size)
        fuse_reply_buf(req, t->buf, used);
    else
        fuse_reply_xattr(req, used);
}

static void sq_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    sqfs_xattr x;
    SqImage *t = xattr_open(req, ino, &x);
    if (!t)
        return;
    bool found = false;
    size_t real = 0;
    if (sqfs_xattr_find(&x, name, &found) != SQFS_OK ||
        (found && sqfs_xattr_value_size(&x, &real) != SQFS_OK)) {
        fuse_reply_err(req, EIO);
        return;
    }
    if (!found) {
        fuse_reply_err(req, ENODATA);
        return;
    }
    if (!size) {
        fuse_reply_xattr(req, real);
        return;
    }
    if (real > size || real > SQ_MAX_IO) {
        fuse_reply_err(req, ERANGE);
        return;
    }
    if (sqfs_xattr_value(&x, t->buf) != SQFS_OK) {
        fuse_reply_err(req, EIO);
        return;
    }
    fuse_reply_buf(req, t->buf, real);
}

static void sq_statfs(fuse_req_t req, fuse_ino_t ino)
{
    SqImage *t = thread_get();
    if (!t) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    struct statvfs sv = { 0 };
    sv.f_bsize = sv.f_frsize = t->fs.sb.block_size;
    sv.f_blocks = t->fs.sb.block_size ? t->fs.sb.bytes_used / t->fs.sb.block_size : 0;
    sv.f_files = t->fs.sb.inodes;
    sv.f_namemax = SQUASHFS_NAME_LEN;
    fuse_reply_statfs(req, &sv);
}

/* each request under the lock */
#define LOCKED(call) \
    do { \
        pthread_mutex_lock(&lock); \
        call; \
        pthread_mutex_unlock(&lock); \
    } while (0)

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    LOCKED(sq_lookup(req, parent, name));
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    LOCKED(sq_getattr(req, ino, fi));
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    LOCKED(sq_read(req, ino, size, off, fi));
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    LOCKED(sq_readdir_common(req, ino, size, off, false));
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    LOCKED(sq_readdir_common(req, ino, size, off, true));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    LOCKED(sq_readlink(req, ino));
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    LOCKED(sq_listxattr(req, ino, size));
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    LOCKED(sq_getxattr(req, ino, name, size));
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    LOCKED(sq_statfs(req, ino));
}

static const struct fuse_lowlevel_ops ops = {
    .init = sq_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .open = sq_open,
    .opendir = sq_open,
    .read = op_read,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .readlink = op_readlink,
    .listxattr = op_listxattr,
    .getxattr = op_getxattr,
    .statfs = op_statfs,
};

typedef struct {
    const char *image;
    const char *mountpoint;
    int debug;
    unsigned threads;
    int image_fd;    /* image_fd=N: the image is open on N, IMAGE only names it */
    int share;       /* share=FD: serve clones of the mount on this socket (share.c) */
    unsigned linger; /* linger=S: with share, go S seconds after the last client */
} SqOpts;

enum { KEY_FOREGROUND, KEY_DEBUG, KEY_HELP, KEY_VERSION };

static const struct fuse_opt sq_opts[] = {
    { "threads=%u", offsetof(SqOpts, threads), 0 },
    { "image_fd=%d", offsetof(SqOpts, image_fd), 0 },
    { "share=%d", offsetof(SqOpts, share), 0 },
    { "linger=%u", offsetof(SqOpts, linger), 0 },
    FUSE_OPT_KEY("-f", KEY_FOREGROUND),
    FUSE_OPT_KEY("-d", KEY_DEBUG),
    FUSE_OPT_KEY("debug", KEY_DEBUG),
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_END,
};

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    SqOpts *o = data;
    switch (key) {
    case FUSE_OPT_KEY_NONOPT:
        if (!o->image)
            o->image = arg;
        else if (!o->mountpoint)
            o->mountpoint = arg;
        else {
            fprintf(stderr, "nroot-squashfs: one image and one mount point, not '%s'\n", arg);
            return -1;
        }
        return 0;
    case KEY_FOREGROUND: return 0;                  /* always in the foreground */
    case KEY_DEBUG: o->debug = debug = 1; return 1; /* libfuse prints each request */
    case KEY_HELP:
        printf("usage: nroot-squashfs [-f] [-d] [-o OPTIONS] IMAGE MOUNTPOINT\n"
               "  -o threads=N   N worker threads (default 1)\n"
               "  -o image_fd=N  read the image open on fd N (IMAGE names it)\n"
               "  -o share=FD    serve clones of the mount on the listening socket FD\n"
               "                 (nroot's shared mount; the directory holds sock and lock)\n"
               "  -o linger=S    with share: exit S seconds after the last client\n");
        exit(0);
    case KEY_VERSION:
        printf("nroot-squashfs %s (libfuse %s)\n", NR_VERSION, fuse_pkgversion());
        exit(0);
    default: return 1;
    }
}

/* a shared server serves every run of the image, whoever started it:
 * not the first run's open-file limit, CPUs or nice value (its cgroup is
 * part of the server's key, host/fuse.c) */
static void shared_limits(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; c++)
        CPU_SET(c, &all);
    sched_setaffinity(0, sizeof all, &all); /* the kernel keeps the cpuset's */
    setpriority(PRIO_PROCESS, 0, 0);        /* allowed only up to RLIMIT_NICE */
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    SqOpts o = { .image_fd = -1, .share = -1 };
    if (fuse_opt_parse(&args, &o, sq_opts, opt_proc) < 0)
        return 125;
    if (!o.image || !o.mountpoint) {
        fprintf(stderr, "usage: nroot-squashfs [-f] [-d] [-o OPTIONS] IMAGE MOUNTPOINT\n");
        return 125;
    }
    /* nothing of it is for a container or a debugger of the user's */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (o.share >= 0)
        shared_limits();
    image_fd = o.image_fd >= 0 ? o.image_fd : open(o.image, O_RDONLY | O_CLOEXEC);
    if (image_fd >= 0 && o.image_fd >= 0)
        fcntl(image_fd, F_SETFD, FD_CLOEXEC);
    if (image_fd < 0) {
        fprintf(stderr, "nroot-squashfs: cannot open '%s': %s\n", o.image, strerror(errno));
        return 1;
    }
    /* files are stored in the order a tree walk reads them: a larger
     * read-ahead on the image serves a cold read of many files */
    posix_fadvise(image_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    /* check the image once, here, before anything is mounted */
    sqfs *fs = &image.fs;
    sqfs_err e = sqfs_init(fs, image_fd, image_offset);
    if (e != SQFS_OK) {
        fprintf(stderr, "nroot-squashfs: '%s' is not a squashfs image it can read (%s)\n", o.image,
                e == SQFS_BADFORMAT    ? "not squashfs"
                : e == SQFS_BADVERSION ? "unsupported version"
                : e == SQFS_BADCOMP    ? "unsupported compression"
                                       : "corrupt");
        return 1;
    }
    if (image_open(&image) < 0) {
        fprintf(stderr, "nroot-squashfs: out of memory\n");
        return 1;
    }
    root_id = sqfs_inode_root(fs);
    has_xattrs = fs->xattr_info.xattr_ids > 0;
    sqfs_inode root;
    if (sqfs_inode_get(fs, &root, root_id) != SQFS_OK || !S_ISDIR(root.base.mode)) {
        fprintf(stderr, "nroot-squashfs: '%s': corrupt (no root directory)\n", o.image);
        return 1;
    }

    int ret = 1;
    /* the mount shows as fuse.nroot-squashfs (squashfuse_ll's as
     * fuse.squashfuse_ll), its source the server's name */
    if (fuse_opt_add_arg(&args, "-osubtype=nroot-squashfs,fsname=nroot-squashfs") != 0)
        goto out;
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
    if (!se)
        goto out;
    if (fuse_set_signal_handlers(se) != 0)
        goto out_session;
    if (fuse_session_mount(se, o.mountpoint) != 0)
        goto out_signals;
    if (o.share >= 0 && sq_share_start(o.share, o.linger, o.mountpoint) < 0) {
        fprintf(stderr, "nroot-squashfs: cannot serve its mount: %s\n", strerror(errno));
        goto out_unmount;
    }
    if (o.threads <= 1) {
        ret = fuse_session_loop(se) != 0 ? 1 : 0;
        goto out_unmount;
    }
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    if (!cfg)
        goto out_unmount;
    fuse_loop_cfg_set_clone_fd(cfg, 1);
    fuse_loop_cfg_set_max_threads(cfg, o.threads);
    ret = fuse_session_loop_mt(se, cfg) != 0 ? 1 : 0;
    fuse_loop_cfg_destroy(cfg);
out_unmount:
    /* a shared server's mount is a detached master, and its old root
     * is gone */
    if (o.share >= 0)
        sq_share_stop();
    else
        fuse_session_unmount(se);
out_signals:
    fuse_remove_signal_handlers(se);
out_session:
    fuse_session_destroy(se);
out:
    fuse_opt_free_args(&args);
    close(image_fd);
    return ret;
}
