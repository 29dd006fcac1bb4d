/* SPDX-License-Identifier: Apache-2.0 */
/* store.c — where images live, and importing each one once.
 *
 *   STORE/images/<id>-<maptag>/rootfs   the flattened tree (read-only lower layer)
 *   STORE/images/<id>-squashfs/rootfs.sqsh
 *                                       the same tree as one squashfs file (image-format
 *                                       = squashfs): it records the container's ids, so
 *                                       it serves every id mapping
 *   STORE/images/<id>-<maptag>/info     key=value facts about the import
 *   STORE/images/<id>-<maptag>/config   the image config (written by nroot-unpack)
 *   STORE/images/<id>-<maptag>/sources  "<key> <path>" of each file imported as it
 *   STORE/by-file/<key>                 symlink -> ../images/<id>-<maptag> (the fast path)
 *   STORE/names/<name>                  symlink -> ../images/<id>-<maptag> ('/' as '%')
 *   STORE/by-ref/<maptag>-<ref>         symlink -> ../images/<id>-<maptag>: the image a
 *                                       registry reference was last pulled as (<ref>
 *                                       canonical, '/' as '%', +<platform> if given)
 *   STORE/oci-layout, STORE/blobs/sha256/<hex>
 *                                       the blob cache nroot-pull fills (an OCI
 *                                       layout: manifests, configs, layers)
 *   STORE/pull.lock                     shared by pulls under way, so that prune
 *                                       leaves the blob cache alone meanwhile
 *   STORE/tmp/import-XXXXXX             imports in progress, removals
 *   STORE/tmp/replaced-XXXXXX/image     a tree an import replaced (see below), kept
 *                                       while a container still runs on it
 *   STORE/lock                          serialises imports and removals
 *
 * <id> is the image's content digest: the sha256 of a rootfs tarball, the
 * config digest of a docker or OCI image (docker's image id).  The tree is
 * identified by the id together with its layer chain (`chain=` in info: the
 * OCI chain id of the diff_ids nroot-unpack measured, every one verified
 * against the config): an import whose chain differs from the stored
 * tree's never reuses that tree, it replaces it.  Trees stored by nroot
 * before chains were recorded have none: they stay usable by their names,
 * ids and cached files, but a new import of the same id replaces them.  <maptag>
 * names the id mapping the tree was unpacked with: ownership on disk means
 * something only under that mapping.  <key> hashes the file's device,
 * inode, size and mtime (and --image-ref), so a cached run stats the file
 * and reads one symlink, never the file itself.
 *
 * Every change becomes visible by one rename or symlink replacement, so an
 * import or removal killed at any point leaves either the old state or the
 * new one, plus leftovers in tmp/ that the next import clears. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "fetch.h"
#include "nr-error.h"
#include "nr-fs.h"
#include "nr-image.h"
#include "nr-conf.h"
#include "nr-ref.h"
#include "nr-rostore.h"
#include "nr-spawn.h"
#include "nr-squashfs.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

char *nr_store_dir(NrError *err)
{
    const char *s = getenv("NROOT_STORE");
    if (s && *s)
        return nr_xstrdup(s);
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/')
        return nr_strdup_printf("%s/nroot", xdg);
    const char *home = getenv("HOME");
    if (!home || *home != '/') {
        nr_error_msg(err, "cannot locate the image store: neither $NROOT_STORE, $XDG_DATA_HOME "
                          "nor $HOME is set");
        return NULL;
    }
    return nr_strdup_printf("%s/.local/share/nroot", home);
}

/* ---- identities ---- */

typedef enum Kind { KIND_PLAIN_DIR, KIND_FILE, KIND_OCI_DIR, KIND_DOCKER_DIR } Kind;

static Kind dir_kind(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/oci-layout", path);
    if (access(p, F_OK) == 0)
        return KIND_OCI_DIR;
    snprintf(p, sizeof p, "%s/manifest.json", path);
    if (access(p, F_OK) == 0)
        return KIND_DOCKER_DIR;
    return KIND_PLAIN_DIR;
}

/* <fnv of the file's identity and the ref>-<maptag>; false for a plain dir
 * or a path that cannot be stat'ed */
static bool source_key(const char *path, const char *ref, const char *tag, char *buf, size_t size)
{
    struct stat st, main;
    if (stat(path, &st) < 0)
        return false;
    main = st;
    if (S_ISDIR(st.st_mode)) {
        /* a layout changes through its index: that file's identity counts */
        Kind k = dir_kind(path);
        if (k == KIND_PLAIN_DIR)
            return false;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", path, k == KIND_OCI_DIR ? "index.json" : "manifest.json");
        if (stat(p, &main) < 0)
            return false;
    } else if (!S_ISREG(st.st_mode))
        return false;
    nr_store_source_key(&st, &main, ref, tag, buf, size);
    return true;
}

void nr_store_source_key(const struct stat *id, const struct stat *main, const char *ref,
                         const char *tag, char *buf, size_t size)
{
    uint64_t v[7] = { id->st_dev,
                      id->st_ino,
                      main->st_ino,
                      (uint64_t)main->st_size,
                      (uint64_t)main->st_mtim.tv_sec,
                      (uint64_t)main->st_mtim.tv_nsec,
                      0 };
    v[6] = ref ? nr_fnv1a(ref, strlen(ref), NR_FNV_INIT) : 0;
    snprintf(buf, size, "%016llx-%s", (unsigned long long)nr_fnv1a(v, sizeof v, NR_FNV_INIT), tag);
}

/* the map tag of images kept as one squashfs file (STORE/images/<id>-squashfs) */
#define SQSH_TAG "squashfs"

/* "<64hex>-<16hex>", or "<64hex>-squashfs" */
bool nr_store_dirname_valid(const char *d)
{
    size_t n = strlen(d);
    if (n == 64 + 1 + strlen(SQSH_TAG) && strcmp(d + 65, SQSH_TAG) == 0)
        n = 64;
    else if (n != 64 + 1 + 16 || d[64] != '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (i != 64 && !((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
            return false;
    return true;
}

/* a link in by-file/ or names/ -> the image's dirname, if it is there */
static bool read_image_link(const char *link, char *ret, size_t size)
{
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    if (strncmp(target, "../images/", 10) != 0 || !nr_store_dirname_valid(target + 10))
        return false;
    snprintf(ret, size, "%s", target + 10);
    return true;
}

/* as read_image_link, for lookups: a link whose image is gone (a removal
 * killed half way) counts as no link */
static bool live_image_link(const char *store, const char *link, char *ret, size_t size)
{
    if (!read_image_link(link, ret, size))
        return false;
    char info[PATH_MAX];
    snprintf(info, sizeof info, "%s/images/%s/info", store, ret);
    return access(info, F_OK) == 0;
}

/* the new link is made beside the old one as .tmpPID-NAME, then renamed
 * over it: a dot name is never a name or a key.  Every caller holds the
 * store lock, so prune, which holds it too, removes those a killed nroot
 * left (nr_store_remove_dangling) */
static int replace_link(const char *link, const char *dirname, NrError *err)
{
    char tmp[PATH_MAX + 32], target[256];
    const char *base = strrchr(link, '/');
    base = base ? base + 1 : link;
    snprintf(tmp, sizeof tmp, "%.*s.tmp%d-%s", (int)(base - link), link, (int)getpid(), base);
    snprintf(target, sizeof target, "../images/%s", dirname);
    unlink(tmp);
    if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
        nr_error_errno(err, "cannot record the image in '%s'", link);
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- reading an imported image ---- */

static void config_kv(void *data, const char *k, char *v)
{
    NrImage *img = data;
    if (strcmp(k, "env") == 0)
        nr_strv_push(&img->env, v);
    else if (strcmp(k, "entrypoint") == 0)
        nr_strv_push(&img->entrypoint, v);
    else if (strcmp(k, "cmd") == 0)
        nr_strv_push(&img->cmd, v);
    else if (strcmp(k, "tag") == 0)
        nr_strv_push(&img->tags, v);
    else if (strcmp(k, "workdir") == 0 && !img->workdir)
        img->workdir = nr_xstrdup(v);
    else if (strcmp(k, "user") == 0 && !img->user)
        img->user = nr_xstrdup(v);
}

/* is images/<dirname> usable by a run whose unpack mapping has `tag`?  (a
 * squashfs image is, under every mapping) */
static bool tag_usable(const char *dirname, const char *tag)
{
    return strcmp(dirname + 65, tag) == 0 || strcmp(dirname + 65, SQSH_TAG) == 0;
}

int nr_store_image_format(const char *given, bool *ret_squashfs, NrError *err)
{
    const char *what = "--format", *from = "";
    if (!given || !*given) {
        given = nr_conf_value("image-format", "NROOT_IMAGE_FORMAT", &from);
        what = from;
    }
    if (!given || strcmp(given, "tree") == 0) {
        *ret_squashfs = false;
        return 0;
    }
    if (strcmp(given, SQSH_TAG) == 0) {
        *ret_squashfs = true;
        return 0;
    }
    if (*from && *from != '$') /* a file's */
        return nr_error_msg(err, "invalid image-format '%s' in %s: expected tree or squashfs",
                            given, from);
    return nr_error_msg(err, "invalid %s '%s': expected tree or squashfs", what, given);
}

/* fill `img` from images/<dirname>; hold the image's shared lock */
static int open_image(const char *store, const char *dirname, NrImage *img, NrError *err)
{
    img->dir = nr_strdup_printf("%s/images/%s", store, dirname);
    if (strcmp(dirname + 65, SQSH_TAG) == 0)
        img->squashfs = nr_strdup_printf("%s/rootfs.sqsh", img->dir);
    else
        img->lower = nr_strdup_printf("%s/rootfs", img->dir);
    snprintf(img->id, sizeof img->id, "%.64s", dirname);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/info", img->dir);
    /* O_NONBLOCK: a FIFO named info (a hostile read-only store) must not
     * hang the lookup; only a regular file will do */
    img->lock_fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (img->lock_fd < 0)
        return nr_error_errno(err, "image %.12s in the store is damaged", dirname);
    if (fstat(img->lock_fd, &st) < 0 || !S_ISREG(st.st_mode))
        return nr_error_msg(err, "image %.12s in the store is damaged: its info is not a file",
                            dirname);
    fcntl(img->lock_fd, F_SETFL, O_RDONLY);
    /* rmi and prune leave an image alone while a run holds this; a
     * filesystem without locks just cannot tell */
    flock(img->lock_fd, LOCK_SH | LOCK_NB);
    snprintf(p, sizeof p, "%s/config", img->dir);
    if (access(p, F_OK) == 0 && nr_kv_read(p, config_kv, img, err) < 0)
        return -1;
    return 0;
}

int nr_store_open(const char *store, const char *dirname, NrImage *ret, NrError *err)
{
    memset(ret, 0, sizeof *ret);
    ret->lock_fd = -1;
    return open_image(store, dirname, ret, err);
}

void nr_image_clear(NrImage *img)
{
    free(img->lower);
    free(img->squashfs);
    free(img->dir);
    nr_strv_clear(&img->env);
    nr_strv_clear(&img->entrypoint);
    nr_strv_clear(&img->cmd);
    nr_strv_clear(&img->tags);
    free(img->workdir);
    free(img->user);
    if (img->lock_fd > 0)
        close(img->lock_fd);
    memset(img, 0, sizeof *img);
    img->lock_fd = -1;
}

/* is the lock of an image's info file held by a run? */
static bool tree_busy(const char *info)
{
    nr_autoclose int fd = open(info, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return false;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return errno == EWOULDBLOCK;
    flock(fd, LOCK_UN);
    return false;
}

void nr_store_clean_tmp(const char *store, const NrIdMap *map)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", store);
    DIR *d = opendir(tmp);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", tmp, de->d_name) >= (int)sizeof path)
            continue;
        char info[PATH_MAX + 16];
        snprintf(info, sizeof info, "%s/image/info", path);
        if (strncmp(de->d_name, "replaced-", 9) == 0 && tree_busy(info))
            continue; /* a replaced tree a container still runs on */
        NrError e = { 0 };
        if (nr_spawn_rmtree(path, map, &e) < 0)
            nr_warn("cannot remove the remains of an interrupted import '%s'", path);
    }
    closedir(d);
}

/* the store lock; while another nroot holds it, `run` (if not NULL) has
 * its status read, so that nroot-pull never blocks on a full pipe and its
 * downloads go on meanwhile */
static int store_lock(const char *store, NrFetchRun *run, int *ret_fd, NrError *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lock", store);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot open the store lock '%s'", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == ENOLCK || errno == EOPNOTSUPP) {
            /* NFS without a lock manager: changes are still atomic (rename),
             * concurrent imports may just unpack twice */
            nr_warn("'%s': the filesystem cannot lock; concurrent imports are not serialised",
                    path);
            close(fd);
            *ret_fd = -1;
            return 0;
        }
        nr_notice("waiting for another nroot to finish with the store %s", store);
        /* nroot-pull ended (or none): the lock is all there is to wait for */
        while (run && !nr_fetch_pump(run, -1, 100))
            if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                *ret_fd = fd;
                return 0;
            }
        while (flock(fd, LOCK_EX) < 0)
            if (errno != EINTR) {
                nr_error_errno(err, "cannot lock '%s'", path);
                close(fd);
                return -1;
            }
    }
    *ret_fd = fd;
    return 0;
}

int nr_store_lock(const char *store, int *ret_fd, NrError *err)
{
    return store_lock(store, NULL, ret_fd, err);
}

static int make_dirs(const char *store, NrError *err)
{
    static const char *const subdirs[] = { "images", "by-file", "names", "tmp", "by-ref" };
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", store, subdirs[i]);
        if (nr_mkdir_p(p, 0700, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- importing: nroot-unpack inside the user namespace ---- */

typedef struct UnpackJob {
    int image_fd;
    int meta_fd;
    const char *root;
    const char *name; /* for messages */
    const char *ref;
    const char *manifest; /* a pull: the manifest digest in the blob cache */
    bool owners, progress;
    bool follow; /* its layers are still downloading */
} UnpackJob;

/* a registry pull's import: from the blob cache, by its manifest */
typedef struct Pulled {
    const char *ref;      /* the canonical reference */
    const char *manifest; /* sha256:<hex> */
    const char *link;     /* the by-ref link to point at the image */
    const char *platform; /* --platform, or NULL */
    NrFetchRun *run;      /* nroot-pull still fetching the layers, or NULL */
} Pulled;

static int unpack_child(void *data, int sync_fd, NrError *err)
{
    UnpackJob *job = data;
    nr_autofree char *helper = nr_helper_path("nroot-unpack", "NROOT_UNPACK");
    /* fds 3, 4 and 5 are the image, the sync socket and the bookkeeping
     * directory, nothing else: all are moved out of the way first, since
     * any of them may sit on 3, 4 or 5 */
    int img = fcntl(job->image_fd, F_DUPFD_CLOEXEC, 10), snc = fcntl(sync_fd, F_DUPFD_CLOEXEC, 10);
    int meta = fcntl(job->meta_fd, F_DUPFD_CLOEXEC, 10);
    if (img < 0 || snc < 0 || meta < 0 || dup2(img, 3) < 0 || dup2(snc, 4) < 0 || dup2(meta, 5) < 0)
        return nr_error_errno(err, "dup2");
    syscall(SYS_close_range, 6U, ~0U, 0U);
    nr_spawn_become_root();
    nr_autofree char *ref = nr_strdup_printf("--image-ref=%s", job->ref ? job->ref : "");
    nr_autofree char *manifest =
        job->manifest ? nr_strdup_printf("--manifest=%s", job->manifest) : NULL;
    char *argv[] = { "nroot-unpack",
                     "--image-fd=3",
                     "--sync-fd=4",
                     "--meta-fd=5",
                     ref,
                     (char *)job->root,
                     (char *)job->name,
                     job->owners ? "--owners" : "--",
                     job->progress ? "--progress" : "--",
                     manifest ? manifest : "--",
                     job->follow ? "--follow" : "--",
                     NULL };
    execv(helper, argv);
    nr_error_errno(err, "cannot run the unpack helper '%s'", helper);
    nr_error_hint(err, "set $NROOT_UNPACK to the nroot-unpack binary, or reinstall nroot");
    return -1;
}

typedef struct Result {
    char id[65], chain[65], format[32];
    long devices, owners, other;
    unsigned long long bytes;
} Result;

static bool parse_result(const char *text, Result *r)
{
    const char *p;
    if ((p = strstr(text, "id=")))
        sscanf(p + 3, "%64[0-9a-f]", r->id);
    if ((p = strstr(text, "chain=")))
        sscanf(p + 6, "%64[0-9a-f]", r->chain);
    if ((p = strstr(text, "format=")))
        sscanf(p + 7, "%31[a-z-]", r->format);
    if ((p = strstr(text, "devices=")))
        r->devices = atol(p + 8);
    if ((p = strstr(text, "owners=")))
        r->owners = atol(p + 7);
    if ((p = strstr(text, "warnings=")))
        r->other = atol(p + 9);
    if ((p = strstr(text, "bytes=")))
        r->bytes = strtoull(p + 6, NULL, 10);
    return strlen(r->id) == 64 && strlen(r->chain) == 64;
}

static void report_counts(const char *image, const Result *r, const NrIdMap *map)
{
    if (r->devices)
        nr_warn("'%s': skipped %ld device node%s (they cannot be created without root)", image,
                r->devices, r->devices == 1 ? "" : "s");
    if (r->owners)
        nr_warn("'%s': %ld file%s kept the owner root: %s", image, r->owners,
                r->owners == 1 ? "" : "s",
                map->helpers ? "their ids are outside your subordinate range"
                             : "a single-id mapping has no other ids");
    if (r->other)
        nr_warn("'%s': %ld entr%s unpacked with warnings (e.g. extended attributes that need "
                "privileges)",
                image, r->other, r->other == 1 ? "y was" : "ies were");
}

static int add_source(const char *dir, const char *key, const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/sources", dir);
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    nr_autofree char *line = nr_strdup_printf("%s %s\n", key, path);
    int rc = nr_write_all(fd, line, strlen(line));
    close(fd);
    return rc;
}

/* the image, imported before from a file, is also what a reference was
 * pulled as: the last ref= and manifest= of info say so */
static void add_pulled(const char *dir, const Pulled *pl)
{
    char p[PATH_MAX + 8];
    snprintf(p, sizeof p, "%s/info", dir);
    nr_autoclose int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    nr_autofree char *line = nr_strdup_printf("ref=%s\nmanifest=%s\nplatform=%s\n", pl->ref,
                                              pl->manifest, pl->platform ? pl->platform : "");
    if (fd >= 0)
        nr_write_all(fd, line, strlen(line));
}

/* the names this archive gives the image join those others gave it */
static void merge_tags(const char *from_dir, const char *to_dir)
{
    char from[PATH_MAX], to[PATH_MAX];
    if (snprintf(from, sizeof from, "%s/config", from_dir) >= (int)sizeof from ||
        snprintf(to, sizeof to, "%s/config", to_dir) >= (int)sizeof to)
        return;
    NrError ignored = { 0 };
    nr_autofree char *add = nr_read_file(from, NULL, &ignored);
    nr_autofree char *have = nr_read_file(to, NULL, &ignored);
    if (!add || !have)
        return;
    nr_autoclose int fd = open(to, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    char *save = NULL;
    for (char *line = strtok_r(add, "\n", &save); line && fd >= 0;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "tag=", 4) != 0)
            continue;
        nr_autofree char *l = nr_strdup_printf("\n%s\n", line);
        if (strncmp(have, l + 1, strlen(l + 1)) != 0 && !strstr(have, l))
            nr_write_all(fd, l + 1, strlen(l + 1));
    }
}

/* does the stored tree `dir` have the layer chain `chain`?  (a tree of an
 * older nroot has none: not trusted for a new import) */
static bool same_chain(const char *dir, const char *chain)
{
    char p[PATH_MAX + 8];
    snprintf(p, sizeof p, "%s/info", dir);
    NrError ignored = { 0 };
    nr_autofree char *info = nr_read_file(p, NULL, &ignored);
    char *c = info ? strstr(info, "\nchain=") : NULL;
    return c && strncmp(c + 7, chain, 64) == 0 && (c[71] == '\n' || c[71] == '\0');
}

/* The stored tree of this id has another layer chain (or none): the new,
 * verified one takes its place; the old goes to tmp/, removed now unless a
 * container still runs on it (then by a later clean of tmp/). */
static int replace_tree(const char *store, const char *final, const char *tmpdir,
                        const NrIdMap *map, NrError *err)
{
    char aside[PATH_MAX], old[PATH_MAX + 16];
    snprintf(aside, sizeof aside, "%s/tmp/replaced-XXXXXX", store);
    if (!mkdtemp(aside))
        return nr_error_errno(err, "cannot create a directory in '%s/tmp'", store);
    snprintf(old, sizeof old, "%s/image", aside);
    if (rename(final, old) < 0) {
        nr_error_errno(err, "cannot move the stored image '%s' aside", final);
        rmdir(aside);
        return -1;
    }
    if (rename(tmpdir, final) < 0) {
        nr_error_errno(err, "cannot move the new image into '%s'", final);
        rename(old, final);
        rmdir(aside);
        return -1;
    }
    nr_warn("image %.12s: the stored tree had another layer chain (or one an older nroot did not "
            "record); replaced by the one just verified",
            strrchr(final, '/') + 1);
    char info[PATH_MAX + 32];
    snprintf(info, sizeof info, "%s/info", old);
    if (!tree_busy(info)) {
        NrError ignored = { 0 };
        nr_spawn_rmtree(aside, map, &ignored);
    }
    return 0;
}

/* while nroot-unpack (pid) reads the layers nroot-pull still downloads:
 * nroot-pull's status is read until nroot-unpack ends (0) or nroot-pull
 * fails (-1) */
static int follow_fetch(NrFetchRun *run, pid_t pid)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int rc = 0;
    for (;;) {
        nr_fetch_pump(run, pfd, pfd >= 0 ? -1 : 50);
        if (nr_fetch_failed(run)) {
            rc = -1;
            break;
        }
        siginfo_t si = { 0 };
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
            break;
    }
    if (pfd >= 0)
        close(pfd);
    return rc;
}

/* the unpacked tree `root` as tmpdir/rootfs.sqsh (in the user namespace
 * of the unpack, so its ids are the container's), then the tree removed;
 * its size to *ret_size */
static int squash_tree(const char *prog, const char *tmpdir, const char *root, const NrIdMap *map,
                       bool progress, unsigned long long *ret_size, NrError *err)
{
    char dest[PATH_MAX + 16];
    snprintf(dest, sizeof dest, "%s/rootfs.sqsh", tmpdir);
    if (nr_squashfs_make(prog, root, dest, map, progress, err) < 0)
        return -1;
    if (nr_spawn_rmtree(root, map, err) < 0)
        return -1;
    struct stat st;
    if (stat(dest, &st) < 0)
        return nr_error_errno(err, "'%s'", dest);
    *ret_size = (unsigned long long)st.st_size;
    return 0;
}

static int do_import(const char *store, const char *image, const char *key, const NrIdMap *map,
                     const NrImportOpts *opts, const Pulled *pl, bool sqsh, char *ret_dirname,
                     NrError *err)
{
    char mksquashfs[PATH_MAX];
    if (sqsh && nr_squashfs_find(mksquashfs, sizeof mksquashfs, err) < 0)
        return -1;
    nr_autoclose int fd = open(image, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return nr_error_errno(err, "cannot open image '%s'", image);
    fcntl(fd, F_SETFL, 0);
    char abspath[PATH_MAX];
    if (!realpath(image, abspath))
        snprintf(abspath, sizeof abspath, "%s", image);

    char tmpdir[PATH_MAX], root[PATH_MAX + 8];
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp/import-XXXXXX", store);
    if (!mkdtemp(tmpdir))
        return nr_error_errno(err, "cannot create a directory in '%s/tmp'", store);
    snprintf(root, sizeof root, "%s/rootfs", tmpdir);
    nr_autoclose int meta = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (meta < 0 || mkdir(root, 0755) < 0) {
        nr_error_errno(err, "cannot create '%s'", root);
        rmdir(tmpdir);
        return -1;
    }

    UnpackJob job = { .image_fd = fd,
                      .meta_fd = meta,
                      .root = root,
                      .name = pl ? pl->ref : image,
                      .ref = pl     ? NULL
                             : opts ? opts->ref
                                    : NULL,
                      .manifest = pl ? pl->manifest : NULL,
                      .owners = map->helpers,
                      /* following a download: its per-layer lines are the progress */
                      .progress = opts && opts->progress && !nr_quiet && !(pl && pl->run),
                      .follow = pl && pl->run };
    int sync_fd = -1, status = 0;
    NrError e = { 0 };
    char text[sizeof e.msg] = "";
    Result r = { 0 };
    pid_t pid = nr_spawn(0, map, unpack_child, &job, &sync_fd, err);
    if (pid < 0)
        goto fail_tmp;
    if (job.follow && follow_fetch(pl->run, pid) < 0)
        kill(pid, SIGKILL); /* nroot-pull failed: its error is the one said */
    /* the helper's last message is its result; its failure comes as ERROR */
    int rc = nr_spawn_wait(pid, sync_fd, &status, text, &e);
    close(sync_fd);
    if (rc < 0 || status != 0) {
        if (rc == 0)
            nr_error_msg(&e, "unpacking '%s' failed (status %d)", job.name, status);
        *err = e;
        if (job.follow) { /* nroot-pull's failure explains the import's */
            /* a failed download ends nroot-pull by itself soon */
            for (int i = 0; i < 20 && !nr_fetch_pump(pl->run, -1, 100); i++)
                ;
            nr_fetch_kill(pl->run);
            NrError fe = { 0 };
            if (nr_fetch_finish(pl->run, NULL, &fe) < 0 && fe.msg[0] &&
                !strstr(fe.msg, "killed by signal"))
                *err = fe;
        }
        goto fail_tmp;
    }
    /* all layers read: nroot-pull has renamed the last, and ends */
    if (job.follow && nr_fetch_finish(pl->run, NULL, err) < 0)
        goto fail_tmp;
    if (!parse_result(text, &r)) {
        nr_error_msg(err, "unpacking '%s': the helper reported no image id", job.name);
        goto fail_tmp;
    }
    report_counts(job.name, &r, map);
    if (sqsh && squash_tree(mksquashfs, tmpdir, root, map, job.progress, &r.bytes, err) < 0)
        goto fail_tmp;

    char info[PATH_MAX * 2];
    if (pl) /* no source file: the reference and the manifest it was pulled as */
        snprintf(info, sizeof info,
                 "format=%s\nchain=%s\nref=%s\nmanifest=%s\nplatform=%s\nsize=%llu\n"
                 "created=%lld\nidmap=%s\nrung=%s\n",
                 r.format, r.chain, pl->ref, pl->manifest, pl->platform ? pl->platform : "",
                 r.bytes, (long long)time(NULL), map->tag, map->rung);
    else
        snprintf(info, sizeof info,
                 "source=%s\nformat=%s\nchain=%s\nref=%s\nsize=%llu\ncreated=%lld\n"
                 "idmap=%s\nrung=%s\n",
                 abspath, r.format, r.chain, opts && opts->ref ? opts->ref : "", r.bytes,
                 (long long)time(NULL), map->tag, map->rung);
    if (nr_write_file_at(meta, "info", info, 0644, err) < 0)
        goto fail_tmp;
    if (!pl)
        add_source(tmpdir, key, abspath);

    char final[PATH_MAX];
    snprintf(ret_dirname, 128, "%s-%s", r.id, sqsh ? SQSH_TAG : map->tag);
    snprintf(final, sizeof final, "%s/images/%s", store, ret_dirname);
    if (rename(tmpdir, final) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            nr_error_errno(err, "cannot move the new image into '%s'", final);
            goto fail_tmp;
        }
        if (same_chain(final, r.chain)) {
            /* the same image is already there, imported from another file */
            if (!pl)
                add_source(final, key, abspath);
            else
                add_pulled(final, pl);
            merge_tags(tmpdir, final);
            NrError ignored = { 0 };
            if (nr_spawn_rmtree(tmpdir, map, &ignored) < 0)
                nr_warn("cannot remove '%s'", tmpdir);
        } else if (replace_tree(store, final, tmpdir, map, err) < 0) {
            goto fail_tmp;
        }
    }
    char link[PATH_MAX];
    if (pl)
        snprintf(link, sizeof link, "%s", pl->link);
    else
        snprintf(link, sizeof link, "%s/by-file/%s", store, key);
    return replace_link(link, ret_dirname, err);

fail_tmp:;
    NrError ignored = { 0 };
    if (nr_spawn_rmtree(tmpdir, map, &ignored) < 0)
        nr_warn("cannot remove '%s': it is removed by the next import", tmpdir);
    return -1;
}

/* the image format new imports keep (opts->format, else the setting) in
 * *sqsh; *strict when --format asked for it (an image of the other
 * format does not do) */
static int import_format(const NrImportOpts *opts, bool *sqsh, bool *strict, NrError *err)
{
    *strict = opts && opts->format;
    return nr_store_image_format(opts ? opts->format : NULL, sqsh, err);
}

/* the image for `path` under `map`: the cached one, or a new import */
static int import_path(const char *store, const char *path, const NrIdMap *map,
                       const NrImportOpts *opts, NrImage *img, NrError *err)
{
    char key[64], link[PATH_MAX], dirname[128];
    bool sqsh, strict;
    if (import_format(opts, &sqsh, &strict, err) < 0)
        return -1;
    const char *ref = opts ? opts->ref : NULL;
    if (!source_key(path, ref, sqsh ? SQSH_TAG : map->tag, key, sizeof key)) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && dir_kind(path) == KIND_OCI_DIR)
            return nr_error_msg(err, "'%s': an OCI image layout without index.json", path);
        return nr_error_errno(err, "image '%s'", path);
    }
    /* the file imported in the other format does as well, unless --format said */
    char other[64], olink[PATH_MAX];
    if (!strict && source_key(path, ref, sqsh ? map->tag : SQSH_TAG, other, sizeof other)) {
        snprintf(olink, sizeof olink, "%s/by-file/%s", store, other);
        if (live_image_link(store, olink, dirname, sizeof dirname))
            return open_image(store, dirname, img, err);
    }
    snprintf(link, sizeof link, "%s/by-file/%s", store, key);
    if (!live_image_link(store, link, dirname, sizeof dirname)) {
        if (make_dirs(store, err) < 0)
            return -1;
        int lock = -1;
        if (nr_store_lock(store, &lock, err) < 0)
            return -1;
        /* someone else may have imported it while we waited */
        int rc = 0;
        if (!live_image_link(store, link, dirname, sizeof dirname)) {
            if (lock >= 0)
                nr_store_clean_tmp(store, map);
            rc = do_import(store, path, key, map, opts, NULL, sqsh, dirname, err);
        }
        if (lock >= 0)
            close(lock);
        if (rc < 0)
            return -1;
    }
    return open_image(store, dirname, img, err);
}

/* ---- names and ids ---- */

bool nr_store_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128 ||
        !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
          (name[0] >= '0' && name[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_.-:/", c)))
            return false;
    }
    return !strstr(name, "..") && !strstr(name, "//");
}

static void name_path(const char *store, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/names/", store);
    for (const char *p = name; *p && n + 1 < (int)size; p++)
        buf[n++] = *p == '/' ? '%' : *p;
    buf[n] = '\0';
}

int nr_store_name_set(const char *store, const char *name, const char *dirname, NrError *err)
{
    char link[PATH_MAX];
    if (make_dirs(store, err) < 0)
        return -1;
    name_path(store, name, link, sizeof link);
    int lock = -1;
    if (nr_store_lock(store, &lock, err) < 0)
        return -1;
    int rc = replace_link(link, dirname, err);
    if (lock >= 0)
        close(lock);
    return rc;
}

int nr_store_name_remove(const char *store, const char *name, NrError *err)
{
    char link[PATH_MAX];
    name_path(store, name, link, sizeof link);
    if (unlink(link) < 0 && errno != ENOENT)
        return nr_error_errno(err, "cannot remove the name '%s'", name);
    return 0;
}

/* busybox -> busybox, busybox:latest, docker.io/library/busybox:latest, ...
 * The stored name found goes to ret_name (may be NULL). */
static bool find_name(const char *store, const char *name, char *ret, size_t size, char *ret_name,
                      size_t name_size)
{
    if (!nr_store_name_valid(name))
        return false;
    const char *slash = strrchr(name, '/');
    bool tagged = strchr(slash ? slash : name, ':') != NULL;
    static const char *const prefixes[] = { "", "docker.io/library/", "docker.io/",
                                            "index.docker.io/library/", "localhost/" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        for (int t = 0; t < (tagged ? 1 : 2); t++) {
            char cand[512], link[PATH_MAX];
            snprintf(cand, sizeof cand, "%s%s%s", prefixes[i], name, t ? ":latest" : "");
            name_path(store, cand, link, sizeof link);
            if (live_image_link(store, link, ret, size)) {
                if (ret_name)
                    snprintf(ret_name, name_size, "%s", cand);
                return true;
            }
        }
    }
    return false;
}

/* an id prefix (>= 4 hex digits): the image under this mapping's tag,
 * else under any tag; ambiguous prefixes fail */
static int find_id(const char *store, const char *prefix, const char *tag, char *ret, size_t size,
                   NrError *err)
{
    size_t n = strlen(prefix);
    if (n < 4 || n > 64 || strspn(prefix, "0123456789abcdef") != n)
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/images", store);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    char found[65] = "", best[128] = "";
    int ids = 0;
    while ((de = readdir(d))) {
        if (!nr_store_dirname_valid(de->d_name) || strncmp(de->d_name, prefix, n) != 0)
            continue;
        if (strncmp(found, de->d_name, 64) != 0) {
            ids++;
            snprintf(found, sizeof found, "%.64s", de->d_name);
            best[0] = '\0';
        }
        /* this mapping's tree, else a squashfs image (any mapping's), else another's */
        bool mine = strcmp(de->d_name + 65, tag) == 0;
        bool sqsh = strcmp(de->d_name + 65, SQSH_TAG) == 0;
        if (!best[0] || mine || (sqsh && strcmp(best + 65, tag) != 0))
            snprintf(best, sizeof best, "%.81s", de->d_name); /* valid_dirname: that long */
    }
    closedir(d);
    if (ids > 1)
        return nr_error_msg(err, "image id '%s' is ambiguous: %d images start with it", prefix,
                            ids);
    if (ids == 0)
        return 0;
    snprintf(ret, size, "%s", best);
    return 1;
}

/* ---- registry references ---- */

/* the last non-empty value of `key` in an info file's text */
static bool info_value(const char *info, const char *key, char *buf, size_t size)
{
    bool found = false;
    size_t kn = strlen(key);
    for (const char *l = info; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t n = strcspn(l, "\n");
        if (n > kn + 1 && strncmp(l, key, kn) == 0 && l[kn] == '=') {
            snprintf(buf, size, "%.*s", (int)(n - kn - 1), l + kn + 1);
            found = true;
        }
    }
    return found;
}

/* does images/<dirname> record `manifest` as the one it was pulled as? */
static bool image_has_manifest(const char *store, const char *dirname, const char *manifest)
{
    char p[PATH_MAX], have[80];
    snprintf(p, sizeof p, "%s/images/%s/info", store, dirname);
    NrError ignored = { 0 };
    nr_autofree char *info = nr_read_file(p, NULL, &ignored);
    return info && info_value(info, "manifest", have, sizeof have) && strcmp(have, manifest) == 0;
}

/* STORE/by-ref/<maptag>-<canonical ref>[+<platform>], '/' as '%'; a name
 * too long for a file name is hashed */
static void ref_link(const char *store, const char *canon, const char *platform, const char *tag,
                     char *buf, size_t size)
{
    char name[600];
    int n =
        snprintf(name, sizeof name, "%s%s%s", canon, platform ? "+" : "", platform ? platform : "");
    if (n < 0 || n > 200)
        snprintf(name, sizeof name, "h%016llx",
                 (unsigned long long)nr_fnv1a(name, strlen(name), NR_FNV_INIT));
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '%';
    snprintf(buf, size, "%s/by-ref/%s-%s", store, tag, name);
}

void nr_store_ref_link(const char *store, const char *canon, const char *platform, const char *tag,
                       char *buf, size_t size)
{
    ref_link(store, canon, platform, tag, buf, size);
}

/* the blob cache's oci-layout and blobs/sha256/<hex> are in the store's
 * own directory: `hex` there, whole? */
static bool cache_has(const char *store, const char *digest)
{
    char p[PATH_MAX];
    if (strncmp(digest, "sha256:", 7) != 0)
        return false;
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", store, digest + 7);
    return access(p, F_OK) == 0;
}

/* import what the cache holds of `manifest` as the image of `ref` (under
 * the store lock): the image its by-ref link names when that was pulled as
 * the same manifest, else a new import; then its name (the reference with
 * its tag) points at it */
static int import_pulled(const char *store, const NrIdMap *map, const NrImportOpts *opts,
                         const NrRef *ref, const char *manifest, const char *link, char *dirname,
                         NrFetchRun *run, NrError *err)
{
    bool sqsh, strict;
    if (import_format(opts, &sqsh, &strict, err) < 0)
        return -1;
    int lock = -1;
    if (store_lock(store, run, &lock, err) < 0)
        return -1;
    int rc = 0;
    char have[128];
    if (live_image_link(store, link, have, sizeof have) &&
        image_has_manifest(store, have, manifest)) {
        snprintf(dirname, 128, "%s", have);
    } else {
        if (lock >= 0)
            nr_store_clean_tmp(store, map);
        Pulled pl = { .ref = nr_ref_string(ref),
                      .manifest = manifest,
                      .link = link,
                      .platform = opts->platform,
                      .run = run };
        rc = do_import(store, store, NULL, map, opts, &pl, sqsh, dirname, err);
    }
    /* the image was there already, or is imported: nroot-pull's end too */
    if (rc == 0 && run)
        rc = nr_fetch_finish(run, NULL, err);
    if (rc == 0 && ref->tag) {
        nr_autofree char *name = nr_strdup_printf("%s:%s", ref->name, ref->tag);
        char nl[PATH_MAX];
        if (nr_store_name_valid(name)) {
            name_path(store, name, nl, sizeof nl);
            rc = replace_link(nl, dirname, err);
        }
    }
    if (lock >= 0)
        close(lock);
    return rc;
}

/* held shared from before nroot-pull starts until the import is done:
 * prune leaves the blob cache alone while one is held */
static int pull_lock(const char *store)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/pull.lock", store);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
            ;
    return fd;
}

/* the user's own image of `ref` (its by-ref link for the platform, in the
 * format imports keep, or unless the format is strict the other): 1 and
 * its dirname, 0 if none; `link` the link a pull would make */
static int own_ref(const char *store, const NrRef *ref, const NrIdMap *map,
                   const NrImportOpts *opts, char *link, size_t link_size, char *dirname,
                   size_t size, NrError *err)
{
    const char *canon = nr_ref_string(ref);
    bool sqsh, strict;
    if (import_format(opts, &sqsh, &strict, err) < 0)
        return -1;
    ref_link(store, canon, opts->platform, sqsh ? SQSH_TAG : map->tag, link, link_size);
    if (live_image_link(store, link, dirname, size))
        return 1;
    if (strict)
        return 0;
    /* pulled before in the other format: that does too */
    char olink[PATH_MAX];
    ref_link(store, canon, opts->platform, sqsh ? map->tag : SQSH_TAG, olink, sizeof olink);
    return live_image_link(store, olink, dirname, size) ? 1 : 0;
}

int nr_store_pull(const char *text, const NrIdMap *runmap, const NrImportOpts *opts, NrImage *ret,
                  NrError *err)
{
    memset(ret, 0, sizeof *ret);
    ret->lock_fd = -1;
    NrImportOpts none = { 0 };
    if (!opts)
        opts = &none;
    NrRef ref;
    if (nr_ref_parse(text, &ref, err) < 0)
        return -1;
    NrIdMap map;
    nr_userns_unpack_map(runmap, &map);
    int rc = -1, plock = -1;
    NrFetchRun *run = NULL;
    nr_autofree char *label = nr_xstrdup(nr_ref_familiar(&ref));
    nr_autofree char *store = nr_store_dir(err);
    if (!store || make_dirs(store, err) < 0)
        goto out;
    char link[PATH_MAX], dirname[128];
    int h = own_ref(store, &ref, &map, opts, link, sizeof link, dirname, sizeof dirname, err);
    if (h < 0)
        goto out;
    bool have = h == 1;
    if (have && (opts->pull == NR_PULL_MISSING || opts->pull == NR_PULL_NEVER)) {
        rc = open_image(store, dirname, ret, err);
        goto out;
    }
    if (opts->pull == NR_PULL_NEVER) {
        nr_error_msg(err, "image '%s' is not in the store, and --pull=never", text);
        nr_error_hint(err, "pull it first: nroot pull %s", text);
        goto out;
    }
    plock = pull_lock(store);
    NrFetch f = { .registry = nr_ref_registry_host(&ref),
                  .repo = ref.path,
                  .reference = nr_ref_manifest_ref(&ref),
                  .cache = store,
                  .platform = opts->platform,
                  .label = label,
                  .tls_no_verify = opts->tls_no_verify,
                  .progress = opts->progress };
    char manifest[80];
    NrError e = { 0 };
    /* the import starts when the manifest and config are in, the layers
     * still arriving ($NROOT_PULL_STREAM=0: after the whole download) */
    const char *st = getenv("NROOT_PULL_STREAM");
    bool stream = !st || strcmp(st, "0") != 0;
    run = nr_fetch_start(&f, manifest, &e);
    if (!run && opts->tls_no_verify && strstr(e.hint, "--plain-http")) {
        /* --tls-verify=false and a registry that answers plain HTTP: as podman */
        memset(&e, 0, sizeof e);
        f.plain_http = true;
        run = nr_fetch_start(&f, manifest, &e);
    }
    int fr = run ? 0 : -1;
    if (run && !stream) {
        fr = nr_fetch_finish(run, manifest, &e);
        nr_fetch_free(run);
        run = NULL;
    }
    if (fr < 0) {
        if (have && opts->pull == NR_PULL_NEWER) {
            nr_notice("cannot ask the registry for a newer %s (%s): using the image in the store",
                      label, e.msg);
            rc = open_image(store, dirname, ret, err);
            goto out;
        }
        if (strstr(e.hint, "--plain-http")) {
            e.hint[0] = '\0';
            nr_error_hint(&e, "the registry answers plain HTTP: pull with --tls-verify=false");
        }
        *err = e;
        goto out;
    }
    if (import_pulled(store, &map, opts, &ref, manifest, link, dirname, run, err) == 0)
        rc = open_image(store, dirname, ret, err);
out:
    nr_fetch_free(run);
    if (plock >= 0)
        close(plock);
    nr_ref_clear(&ref);
    return rc;
}

/* a pulled image again under another mapping: from the blob cache when it
 * still holds the manifest (-1 with *tried false when it does not) */
static int pulled_again(const char *store, const char *info, const NrIdMap *map,
                        const NrImportOpts *opts, NrImage *img, bool *tried, NrError *err)
{
    char refs[1024], manifest[80], platform[128] = "";
    *tried = false;
    if (!info_value(info, "manifest", manifest, sizeof manifest) ||
        !info_value(info, "ref", refs, sizeof refs) || !cache_has(store, manifest))
        return -1;
    info_value(info, "platform", platform, sizeof platform);
    NrRef ref;
    NrError ignored = { 0 };
    if (nr_ref_parse(refs, &ref, &ignored) < 0)
        return -1;
    *tried = true;
    NrImportOpts again = { .progress = opts && opts->progress,
                           .platform = platform[0] ? platform : NULL };
    char link[PATH_MAX], dirname[128];
    bool sqsh = false;
    nr_store_image_format(NULL, &sqsh, &ignored);
    ref_link(store, nr_ref_string(&ref), again.platform, sqsh ? SQSH_TAG : map->tag, link,
             sizeof link);
    nr_notice("image '%s' was pulled with another id mapping: importing it again", refs);
    int plock = pull_lock(store);
    int rc = import_pulled(store, map, &again, &ref, manifest, link, dirname, NULL, err);
    if (plock >= 0)
        close(plock);
    nr_ref_clear(&ref);
    return rc < 0 ? -1 : open_image(store, dirname, img, err);
}

/* the image named in the store was unpacked under another id mapping */
static int other_mapping(const char *store, const char *image, const char *dirname,
                         const NrIdMap *map, const NrImportOpts *opts, NrImage *img, NrError *err)
{
    char same[128], p[PATH_MAX];
    for (int i = 0; i < 2; i++) {
        snprintf(same, sizeof same, "%.64s-%s", dirname, i ? SQSH_TAG : map->tag);
        snprintf(p, sizeof p, "%s/images/%s/info", store, same);
        if (access(p, F_OK) == 0)
            return open_image(store, same, img, err);
    }
    /* import it again from where it came from, if that is still there,
     * picking the same image of it as then */
    snprintf(p, sizeof p, "%s/images/%s/info", store, dirname);
    nr_autofree char *info = nr_read_file(p, NULL, err);
    if (info && strncmp(info, "source=", 7) != 0) {
        bool tried;
        int rc = pulled_again(store, info, map, opts, img, &tried, err);
        if (tried)
            return rc;
    }
    char *src = info ? strstr(info, "source=") : NULL, *ref = info ? strstr(info, "\nref=") : NULL;
    if (src) {
        src += 7;
        src[strcspn(src, "\n")] = '\0';
        NrImportOpts again = { .ref = opts ? opts->ref : NULL, .progress = opts && opts->progress };
        if (ref && ref[5] != '\n' && ref[5]) {
            ref += 5;
            ref[strcspn(ref, "\n")] = '\0';
            again.ref = ref;
        }
        struct stat st;
        if (stat(src, &st) == 0) {
            nr_notice("image '%s' was imported with another id mapping: importing '%s' again",
                      image, src);
            return import_path(store, src, map, &again, img, err);
        }
    }
    nr_error_msg(err, "image '%s' was imported with another id mapping (%s) and its source is gone",
                 image, dirname + 65);
    nr_error_hint(
        err, "import it again with this mapping, or run with the --userns it was imported with");
    return -1;
}

int nr_store_import_path(const char *path, const NrIdMap *runmap, const NrImportOpts *opts,
                         NrImage *ret, NrError *err)
{
    memset(ret, 0, sizeof *ret);
    ret->lock_fd = -1;
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT && nr_ref_looks_like(path)) {
            if (nr_store_pull(path, runmap, opts, ret, err) == 0)
                return 0;
            if (!opts || opts->pull != NR_PULL_NEVER)
                nr_error_prefix(err, "image '%s': no such file or directory, and the pull failed",
                                path);
            return -1;
        }
        return nr_error_errno(err, "image '%s'", path);
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return nr_error_msg(err, "image '%s' is neither a directory nor a regular file", path);
    NrIdMap map;
    nr_userns_unpack_map(runmap, &map);
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    if (S_ISDIR(st.st_mode) && dir_kind(path) == KIND_PLAIN_DIR) {
        /* a root filesystem directory: taken into the store as a tarball would be */
        return nr_error_msg(err,
                            "'%s' is a root filesystem directory: run it directly, there is "
                            "nothing to import",
                            path);
    }
    if (S_ISREG(st.st_mode) && nr_fs_is_squashfs(path))
        return nr_error_msg(err,
                            "'%s' is a squashfs image: run it directly, there is nothing to "
                            "import",
                            path);
    return import_path(store, path, &map, opts, ret, err);
}

int nr_store_resolve(const char *image, const NrIdMap *runmap, const NrImportOpts *opts,
                     NrImage *ret, NrError *err)
{
    memset(ret, 0, sizeof *ret);
    ret->lock_fd = -1;
    struct stat st;
    if (stat(image, &st) == 0) {
        if (S_ISDIR(st.st_mode) && dir_kind(image) == KIND_PLAIN_DIR) {
            char real[PATH_MAX];
            if (!realpath(image, real))
                return nr_error_errno(err, "image '%s'", image);
            ret->lower = nr_xstrdup(real);
            return 0;
        }
        /* a squashfs file, told by its content: mounted as it is (by
         * squashfuse_ll, for the run), nothing goes into the store */
        if (S_ISREG(st.st_mode) && nr_fs_is_squashfs(image)) {
            char real[PATH_MAX];
            if (!realpath(image, real))
                return nr_error_errno(err, "image '%s'", image);
            ret->squashfs = nr_xstrdup(real);
            return 0;
        }
        return nr_store_import_path(image, runmap, opts, ret, err);
    }
    int saved = errno;
    NrIdMap map;
    nr_userns_unpack_map(runmap, &map);
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    char dirname[128];
    int r = 0;
    /* --pull=always and newer ask the registry even when the store has a
     * name for the reference (an id never is one); a --platform is looked
     * up by its by-ref link, as the name is the last platform pulled */
    bool ask =
        opts && (opts->pull == NR_PULL_ALWAYS || opts->pull == NR_PULL_NEWER || opts->platform);
    /* the read-only stores come after the user's own, and not when the
     * registry is to be asked (--pull=always, newer) */
    bool ro = !opts || (opts->pull != NR_PULL_ALWAYS && opts->pull != NR_PULL_NEWER);
    if (ask && saved == ENOENT && nr_ref_looks_like(image) &&
        (r = find_id(store, image, map.tag, dirname, sizeof dirname, err)) == 0) {
        if (ro) {
            /* the user's own image of that reference and platform first:
             * the read-only stores are searched after it */
            NrRef ref;
            NrError ignored = { 0 };
            char link[PATH_MAX];
            int h = 0;
            if (nr_ref_parse(image, &ref, &ignored) == 0) {
                h = own_ref(store, &ref, &map, opts, link, sizeof link, dirname, sizeof dirname,
                            err);
                nr_ref_clear(&ref);
            }
            if (h < 0)
                return -1;
            if (h)
                return open_image(store, dirname, ret, err);
            if ((r = nr_rostore_resolve(image, runmap, opts, ret, err)) != 0)
                return r < 0 ? -1 : 0;
        }
        return nr_store_pull(image, runmap, opts, ret, err);
    }
    if (r < 0)
        return -1;
    if ((saved == ENOENT || saved == ENOTDIR) &&
        (find_name(store, image, dirname, sizeof dirname, NULL, 0) ||
         (r = find_id(store, image, map.tag, dirname, sizeof dirname, err)) == 1)) {
        if (!tag_usable(dirname, map.tag))
            return other_mapping(store, image, dirname, &map, opts, ret, err);
        return open_image(store, dirname, ret, err);
    }
    if (r < 0)
        return -1;
    if ((saved == ENOENT || saved == ENOTDIR) && ro &&
        (r = nr_rostore_resolve(image, runmap, opts, ret, err)) != 0)
        return r < 0 ? -1 : 0;
    if (saved == ENOENT && nr_ref_looks_like(image)) {
        /* a mistyped file name is said as such, with why the pull failed */
        if (nr_store_pull(image, runmap, opts, ret, err) == 0)
            return 0;
        if (!opts || opts->pull != NR_PULL_NEVER)
            nr_error_prefix(err,
                            "image '%s': no such file, directory or image name, and the pull "
                            "failed",
                            image);
        return -1;
    }
    errno = saved;
    if (saved == ENOENT) {
        nr_error_msg(err, "image '%s': no such file, directory or image name", image);
        nr_error_hint(err, "give a root filesystem directory, a tarball, a squashfs file, a "
                           "docker-archive, an OCI image, or a name from 'nroot images'");
        return -1;
    }
    return nr_error_errno(err, "image '%s'", image);
}

int nr_store_resolve_key(const char *key, const NrIdMap *runmap, NrImage *ret, NrError *err)
{
    memset(ret, 0, sizeof *ret);
    ret->lock_fd = -1;
    if (key[0] == '/') /* a root filesystem directory, recorded as its real path */
        return nr_store_resolve(key, runmap, NULL, ret, err);
    size_t n = strlen(key);
    if (n != 64 || strspn(key, "0123456789abcdef") != n)
        return nr_error_msg(err,
                            "the recorded image '%s' is neither an image id nor an absolute "
                            "path: the container's config is damaged",
                            key);
    NrIdMap map;
    nr_userns_unpack_map(runmap, &map);
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    char dirname[128];
    int r = find_id(store, key, map.tag, dirname, sizeof dirname, err);
    if (r < 0)
        return -1;
    if (r == 0 && (r = nr_rostore_resolve(key, runmap, NULL, ret, err)) != 0)
        return r < 0 ? -1 : 0;
    if (r == 0) {
        nr_error_msg(err, "image %.12s is no longer in the store", key);
        nr_error_hint(err, "import the image again ('nroot import FILE')");
        return -1;
    }
    NrImportOpts none = { 0 };
    if (!tag_usable(dirname, map.tag))
        return other_mapping(store, key, dirname, &map, &none, ret, err);
    return open_image(store, dirname, ret, err);
}

bool nr_store_name_get(const char *store, const char *name, char *ret_dirname, size_t size)
{
    char link[PATH_MAX];
    name_path(store, name, link, sizeof link);
    return live_image_link(store, link, ret_dirname, size);
}

int nr_store_lookup(const char *store, const char *spec, const char *tag, char *ret_dirname,
                    size_t size, char *ret_name, size_t name_size, NrError *err)
{
    if (find_name(store, spec, ret_dirname, size, ret_name, name_size))
        return 1;
    int r = find_id(store, spec, tag, ret_dirname, size, err);
    return r == 1 ? 2 : r;
}

/* ---- listing and removing ---- */

static int cmp_images(const void *a, const void *b)
{
    const NrStoreImage *x = a, *y = b;
    return x->created != y->created ? (x->created < y->created ? 1 : -1)
                                    : strcmp(x->dirname, y->dirname);
}

/* a decimal number and nothing else */
static bool is_number(const char *v)
{
    size_t n = strlen(v);
    return n > 0 && n <= 19 && strspn(v, "0123456789") == n;
}

/* the info file, as written by do_import: a value that is not what it
 * wrote is left out (the image still lists, without it) */
static void info_kv(void *data, const char *k, char *v)
{
    NrStoreImage *s = data;
    if (strcmp(k, "source") == 0 && !s->source) {
        if (v[0] == '/' && strlen(v) < PATH_MAX)
            s->source = nr_xstrdup(v);
    } else if (strcmp(k, "format") == 0 && !s->format) {
        if (*v && strlen(v) < 32 && strspn(v, "abcdefghijklmnopqrstuvwxyz-") == strlen(v))
            s->format = nr_xstrdup(v);
    } else if (strcmp(k, "size") == 0 && is_number(v))
        s->size = strtoull(v, NULL, 10);
    else if (strcmp(k, "created") == 0 && is_number(v))
        s->created = strtoll(v, NULL, 10);
    else if (strcmp(k, "manifest") == 0 && strlen(v) == 7 + 64 && strncmp(v, "sha256:", 7) == 0 &&
             strspn(v + 7, "0123456789abcdef") == 64) {
        free(s->manifest); /* the last one: a file's image pulled later */
        s->manifest = nr_xstrdup(v);
    } else if (strcmp(k, "ref") == 0 && *v && strlen(v) < 1024 && nr_ref_looks_like(v)) {
        free(s->ref);
        s->ref = nr_xstrdup(v);
    }
}

/* each link in STORE/sub to its image's names (names/), links (by-file/) or
 * refs (by-ref/) */
static void scan_links(const char *store, const char *sub, NrStoreImage *imgs, size_t n, int names)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", store, sub);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char link[PATH_MAX], target[128];
        if (snprintf(link, sizeof link, "%s/%s", dir, de->d_name) >= (int)sizeof link ||
            !read_image_link(link, target, sizeof target))
            continue;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(imgs[i].dirname, target) != 0)
                continue;
            if (names == 1) {
                char *nm = nr_xstrdup(de->d_name);
                for (char *p = nm; *p; p++)
                    if (*p == '%')
                        *p = '/';
                /* only what nr_store_name_set could have made */
                if (nr_store_name_valid(nm))
                    nr_strv_take(&imgs[i].names, nm);
                else
                    free(nm);
            } else
                nr_strv_push(names == 2 ? &imgs[i].refs : &imgs[i].links, de->d_name);
        }
    }
    closedir(d);
}

/* the paths of a sources file ("<key> <path>" lines), each once */
static void read_sources(const char *file, NrStrv *out)
{
    NrError ignored = { 0 };
    nr_autofree char *text = nr_read_file(file, NULL, &ignored);
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *path = strchr(line, ' ');
        if (!path)
            continue;
        path++;
        bool dup = false;
        for (size_t i = 0; i < out->n && !dup; i++)
            dup = strcmp(out->v[i], path) == 0;
        if (!dup)
            nr_strv_push(out, path);
    }
}

int nr_store_list(const char *store, NrStoreImage **ret, size_t *ret_n, NrError *err)
{
    *ret = NULL;
    *ret_n = 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/images", store);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : nr_error_errno(err, "cannot read '%s'", dir);
    NrStoreImage *imgs = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!nr_store_dirname_valid(de->d_name))
            continue;
        NrStoreImage *grown = realloc(imgs, (n + 1) * sizeof *imgs);
        if (!grown)
            break;
        imgs = grown;
        NrStoreImage *s = &imgs[n++];
        memset(s, 0, sizeof *s);
        snprintf(s->dirname, sizeof s->dirname, "%.81s", de->d_name); /* valid_dirname: 64+1+16 */
        snprintf(s->id, sizeof s->id, "%.64s", de->d_name);
        snprintf(s->tag, sizeof s->tag, "%s", de->d_name + 65);
        char info[PATH_MAX];
        NrError ignored = { 0 };
        if (snprintf(info, sizeof info, "%s/%s/info", dir, de->d_name) < (int)sizeof info)
            nr_kv_read(info, info_kv, s, &ignored);
        if (snprintf(info, sizeof info, "%s/%s/sources", dir, de->d_name) < (int)sizeof info)
            read_sources(info, &s->sources);
        if (!s->manifest) { /* ref= of a file's import is its --image-ref */
            free(s->ref);
            s->ref = NULL;
        }
    }
    closedir(d);
    scan_links(store, "names", imgs, n, 1);
    scan_links(store, "by-file", imgs, n, 0);
    scan_links(store, "by-ref", imgs, n, 2);
    if (n)
        qsort(imgs, n, sizeof *imgs, cmp_images);
    *ret = imgs;
    *ret_n = n;
    return 0;
}

void nr_store_list_free(NrStoreImage *imgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nr_strv_clear(&imgs[i].names);
        nr_strv_clear(&imgs[i].links);
        nr_strv_clear(&imgs[i].sources);
        nr_strv_clear(&imgs[i].refs);
        free(imgs[i].ref);
        free(imgs[i].manifest);
        free(imgs[i].source);
        free(imgs[i].format);
    }
    free(imgs);
}

bool nr_store_image_busy(const char *store, const char *dirname)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/images/%s/info", store, dirname);
    return tree_busy(p);
}

int nr_store_link_remove(const char *store, const char *key)
{
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/by-file/%s", store, key);
    return unlink(link) < 0 && errno != ENOENT ? -1 : 0;
}

int nr_store_image_remove(const char *store, const NrStoreImage *img, const NrIdMap *map,
                          NrError *err)
{
    /* the names and links first, then the tree out of sight (one rename),
     * then its removal: killed half way, the image is either still
     * complete (unreferenced, for prune) or gone, plus tmp/ leftovers */
    char from[PATH_MAX], to[PATH_MAX];
    snprintf(from, sizeof from, "%s/images/%s", store, img->dirname);
    snprintf(to, sizeof to, "%s/tmp/rmi-XXXXXX", store);
    if (make_dirs(store, err) < 0)
        return -1;
    if (!mkdtemp(to))
        return nr_error_errno(err, "cannot create a directory in '%s/tmp'", store);
    for (size_t i = 0; i < img->names.n; i++)
        nr_store_name_remove(store, img->names.v[i], err);
    for (size_t i = 0; i < img->links.n; i++)
        nr_store_link_remove(store, img->links.v[i]);
    for (size_t i = 0; i < img->refs.n; i++) {
        char link[PATH_MAX];
        snprintf(link, sizeof link, "%s/by-ref/%s", store, img->refs.v[i]);
        unlink(link);
    }
    char dst[PATH_MAX + 16];
    snprintf(dst, sizeof dst, "%s/image", to);
    if (rename(from, dst) < 0) {
        nr_error_errno(err, "cannot remove image %.12s", img->id);
        rmdir(to);
        return -1;
    }
    if (nr_spawn_rmtree(to, map, err) < 0) {
        nr_warn("cannot remove '%s' now: the next import removes it", to);
        return 0;
    }
    return 0;
}

bool nr_store_link_dead(const char *store, const char *key)
{
    char link[PATH_MAX], dirname[128], p[PATH_MAX];
    snprintf(link, sizeof link, "%s/by-file/%s", store, key);
    if (!read_image_link(link, dirname, sizeof dirname))
        return true;
    snprintf(p, sizeof p, "%s/images/%s", store, dirname);
    if (access(p, F_OK) < 0)
        return true;
    snprintf(p, sizeof p, "%s/images/%s/sources", store, dirname);
    NrError ignored = { 0 };
    nr_autofree char *text = nr_read_file(p, NULL, &ignored);
    if (!text)
        return false; /* nothing known about it: keep it */
    char ref[256] = "";
    snprintf(p, sizeof p, "%s/images/%s/info", store, dirname);
    nr_autofree char *info = nr_read_file(p, NULL, &ignored);
    char *r = info ? strstr(info, "\nref=") : NULL;
    if (r)
        sscanf(r + 5, "%255[^\n]", ref);
    const char *tag = strrchr(key, '-');
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp || (size_t)(sp - line) != strlen(key) || strncmp(line, key, strlen(key)) != 0)
            continue;
        char now[64];
        if (tag && source_key(sp + 1, *ref ? ref : NULL, tag + 1, now, sizeof now) &&
            strcmp(now, key) == 0)
            return false;
    }
    return true;
}

void nr_store_remove_dangling(const char *store, bool locked)
{
    static const char *const subs[] = { "by-file", "names", "by-ref" };
    for (size_t i = 0; i < 3; i++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", store, subs[i]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') {
                /* .tmpPID-NAME of a replace_link whose nroot was killed:
                 * with the store lock held no replace_link is under way;
                 * without one (a file system that cannot lock) only those
                 * whose pid is gone, which a recycled pid can hide */
                char *end;
                long pid =
                    strncmp(de->d_name, ".tmp", 4) == 0 ? strtol(de->d_name + 4, &end, 10) : 0;
                if (pid > 0 && *end == '-' &&
                    (locked || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)))
                    unlinkat(dirfd(d), de->d_name, 0);
                continue;
            }
            char link[PATH_MAX], target[128] = "", img[PATH_MAX];
            if (snprintf(link, sizeof link, "%s/%s", dir, de->d_name) >= (int)sizeof link)
                continue;
            bool ok = read_image_link(link, target, sizeof target);
            snprintf(img, sizeof img, "%s/images/%s", store, target);
            if (!ok || access(img, F_OK) < 0)
                unlink(link);
        }
        closedir(d);
    }
}

/* ---- the blob cache ---- */

/* every "sha256:<hex>" a manifest names (its config and layers): the
 * launcher has no JSON parser, and a digest string in a manifest names a
 * blob of it or nothing */
static void manifest_blobs(const char *store, const char *manifest, NrStrv *keep)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", store, manifest + 7);
    nr_strv_push(keep, manifest + 7);
    NrError ignored = { 0 };
    nr_autofree char *text = nr_read_file(p, NULL, &ignored);
    for (const char *s = text; s && (s = strstr(s, "sha256:")); s += 7)
        if (strspn(s + 7, "0123456789abcdef") == 64) {
            char hex[65];
            snprintf(hex, sizeof hex, "%.64s", s + 7);
            nr_strv_push(keep, hex);
        }
}

int nr_store_prune_blobs(const char *store, uint64_t *reclaimed, NrError *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/pull.lock", store);
    nr_autoclose int plock = open(p, O_RDWR | O_CLOEXEC);
    if (plock >= 0 && flock(plock, LOCK_EX | LOCK_NB) < 0) {
        nr_notice("a pull is under way: the blob cache is left as it is");
        return 0;
    }
    snprintf(p, sizeof p, "%s/blobs/sha256", store);
    DIR *d = opendir(p);
    if (!d)
        return 0;
    NrStoreImage *imgs = NULL;
    size_t n = 0;
    if (nr_store_list(store, &imgs, &n, err) < 0) {
        closedir(d);
        return -1;
    }
    NrStrv keep = { 0 };
    for (size_t i = 0; i < n; i++)
        if (imgs[i].manifest)
            manifest_blobs(store, imgs[i].manifest, &keep);
    nr_store_list_free(imgs, n);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        bool partial = len == 64 + 8 && strcmp(nm + 64, ".partial") == 0;
        if (strspn(nm, "0123456789abcdef") != 64 || (len != 64 && !partial))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (partial) {
            /* a download whose nroot-pull is gone: its lock is free */
            nr_autoclose int fd = openat(dirfd(d), nm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                continue;
        } else {
            bool kept = false;
            for (size_t i = 0; i < keep.n && !kept; i++)
                kept = strcmp(keep.v[i], nm) == 0;
            if (kept)
                continue;
        }
        if (unlinkat(dirfd(d), nm, 0) == 0)
            *reclaimed += (uint64_t)st.st_size;
    }
    closedir(d);
    nr_strv_clear(&keep);
    return 0;
}

void nr_store_ref_remove(const char *store, const NrStoreImage *img, const char *name)
{
    for (size_t i = 0; i < img->refs.n; i++) {
        /* <maptag>-<ref, '/' as '%'>[+<platform>] (the tag: 16 hex digits or "squashfs") */
        const char *r = img->refs.v[i], *dash = strchr(r, '-');
        if (!dash || !dash[1])
            continue;
        char ref[600];
        snprintf(ref, sizeof ref, "%s", dash + 1);
        ref[strcspn(ref, "+")] = '\0';
        for (char *c = ref; *c; c++)
            if (*c == '%')
                *c = '/';
        if (strcmp(ref, name) != 0)
            continue;
        char link[PATH_MAX];
        snprintf(link, sizeof link, "%s/by-ref/%s", store, r);
        unlink(link);
    }
}
