/* SPDX-License-Identifier: Apache-2.0 */
/* rostore.c — shared read-only image stores (nr-rostore.h).
 *
 * Nothing here writes to a read-only store: no lock file, link, tmp/ entry
 * or cache key.  The one thing a run holds there is the shared flock(2) on
 * an nroot store image's info file, which store.c takes on an O_RDONLY fd
 * for the user's own store too: a lock lives in the kernel (or the NFS
 * server's lock table), never on disk, and needs no write permission.  The
 * publisher's `NROOT_STORE=DIR nroot rmi` sees it, as in the user's store.
 * Loose images hold nothing: a squashfs file stays open by its mount, a
 * tree is the publisher's to keep while it is published.
 *
 * Id mappings.  A tree on disk means its ownership under the mapping it
 * was unpacked with (the map tag in its dirname).  A read-only store cannot
 * be unpacked into again, and a publisher's mapping is never a user's (the
 * tag names host ids), so an image of a read-only store is taken under any
 * tag, in this order: the run's own tag (the publisher is the user, or ran
 * with the same mapping), `squashfs` (the same under every mapping), then
 * whatever tag the name points at.  A tree whose owners the run does not
 * map (another mapping's, another user's) is run as it is, with a notice:
 * its files show as nobody's and are readable as their modes let everyone;
 * the kernel overlay refuses to copy such files and directories up, so
 * existing ones cannot be changed.  Squashfs images (loose or with the tag
 * `squashfs`) have none of that. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "nr-conf.h"
#include "nr-error.h"
#include "nr-fs.h"
#include "nr-image.h"
#include "nr-ref.h"
#include "nr-rostore.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

static NrStrv dirs;
static bool loaded;
static unsigned char *warned; /* one flag per store */

void nr_rostore_parse(const char *list, NrStrv *ret, NrStrv *ret_bad)
{
    nr_autofree char *copy = nr_xstrdup(list ? list : "");
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        size_t n = strlen(d);
        while (n > 1 && d[n - 1] == '/')
            d[--n] = '\0';
        if (d[0] != '/') {
            if (ret_bad)
                nr_strv_push(ret_bad, d);
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < ret->n && !dup; i++)
            dup = strcmp(ret->v[i], d) == 0;
        if (!dup)
            nr_strv_push(ret, d);
    }
}

/* is `dir` the user's own store?  (then it is searched as that already) */
static bool is_own_store(const char *dir, const char *own)
{
    if (!own)
        return false;
    if (strcmp(dir, own) == 0)
        return true;
    struct stat a, b;
    return stat(dir, &a) == 0 && stat(own, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

const NrStrv *nr_rostore_dirs(void)
{
    if (loaded)
        return &dirs;
    loaded = true;
    const char *from;
    const char *list = nr_conf_value("readonly-stores", "NROOT_READONLY_STORES", &from);
    NrStrv all = { 0 }, bad = { 0 };
    nr_rostore_parse(list, &all, &bad);
    for (size_t i = 0; i < bad.n; i++)
        nr_warn("read-only store '%s' (%s%s): not an absolute path, left out", bad.v[i], from,
                *from == '$' ? "" : ": readonly-stores");
    NrError ignored = { 0 };
    nr_autofree char *own = nr_store_dir(&ignored);
    for (size_t i = 0; i < all.n; i++)
        if (!is_own_store(all.v[i], own))
            nr_strv_push(&dirs, all.v[i]);
    nr_strv_clear(&all);
    nr_strv_clear(&bad);
    warned = calloc(dirs.n ? dirs.n : 1, 1);
    return &dirs;
}

void nr_rostore_reset(void)
{
    nr_strv_clear(&dirs);
    free(warned);
    warned = NULL;
    loaded = false;
}

static bool is_dir_at(int dfd, const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

NrRoStoreKind nr_rostore_probe(size_t i, bool warn, int *ret_errno)
{
    const NrStrv *d = nr_rostore_dirs();
    int e = 0;
    NrRoStoreKind kind = NR_ROSTORE_UNREADABLE;
    if (i >= d->n)
        e = EINVAL;
    else {
        /* O_RDONLY: a store is only ever opened for reading */
        int fd = open(d->v[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            e = errno;
        else if (faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) < 0)
            e = errno;
        else
            kind = is_dir_at(fd, "images") && is_dir_at(fd, "names") ? NR_ROSTORE_NROOT
                                                                     : NR_ROSTORE_LOOSE;
        if (fd >= 0)
            close(fd);
    }
    if (e == ENOENT)
        kind = NR_ROSTORE_MISSING;
    if (ret_errno)
        *ret_errno = e;
    if (e && warn && i < d->n && warned && !warned[i]) {
        warned[i] = 1;
        nr_warn("read-only store '%s': %s; left out", d->v[i],
                e == ENOENT ? "no such directory" : strerror(e));
    }
    return kind;
}

/* ---- nroot stores ---- */

/* the dirname to run of image `id` (64 hex): the run's tag, then
 * `squashfs`, then `dirname` as found */
static void best_dirname(const char *store, const char *tag, char *dirname, size_t size)
{
    static const char *const order[] = { NULL, "squashfs" };
    for (size_t k = 0; k < 2; k++) {
        const char *t = order[k] ? order[k] : tag;
        char cand[128], p[PATH_MAX];
        snprintf(cand, sizeof cand, "%.64s-%s", dirname, t);
        snprintf(p, sizeof p, "%s/images/%s/info", store, cand);
        if (access(p, F_OK) == 0) {
            snprintf(dirname, size, "%s", cand);
            return;
        }
    }
}

/* a registry reference published in the store (by-ref/: as pulled with
 * NROOT_STORE=DIR), under the run's tag or any other */
static bool find_ref(const char *store, const char *image, const char *tag, const char *platform,
                     char *ret, size_t size)
{
    NrRef ref;
    NrError ignored = { 0 };
    if (!nr_ref_looks_like(image) || nr_ref_parse(image, &ref, &ignored) < 0)
        return false;
    char link[PATH_MAX], target[PATH_MAX];
    nr_store_ref_link(store, nr_ref_string(&ref), platform, tag, link, sizeof link);
    nr_ref_clear(&ref);
    /* <store>/by-ref/<16 hex tag>-<name>: the name part, for other tags */
    size_t prefix = strlen(store) + strlen("/by-ref/") + strlen(tag) + 1;
    if (strlen(link) <= prefix)
        return false;
    const char *name = link + prefix;
    nr_autofree char *dir = nr_strdup_printf("%s/by-ref", store);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *e = strchr(de->d_name, '-');
        if (de->d_name[0] == '.' || !e || strcmp(e + 1, name) != 0)
            continue;
        ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        const char *img = target + 10;
        if (strncmp(target, "../images/", 10) != 0 || !nr_store_dirname_valid(img))
            continue;
        char info[PATH_MAX];
        if (snprintf(info, sizeof info, "%s/images/%.100s/info", store, img) >= (int)sizeof info ||
            access(info, F_OK) < 0)
            continue;
        snprintf(ret, size, "%.100s", img);
        found = true;
        if (strncmp(de->d_name, tag, strlen(tag)) == 0 && de->d_name[strlen(tag)] == '-')
            break; /* the run's own: the best there is */
    }
    closedir(d);
    return found;
}

/* is host id `id` mapped into the run's namespace? */
static bool host_mapped(const NrIdRange *r, int n, uint32_t id)
{
    for (int i = 0; i < n; i++)
        if (id >= r[i].outside && id - r[i].outside < r[i].count)
            return true;
    return false;
}

/* a tree whose root belongs to ids the run does not map (another user's,
 * or unpacked with subordinate ids a single-id run lacks) runs as it is,
 * said once */
static void note_owner(const char *image, const char *store, const char *lower,
                       const NrIdMap *runmap)
{
    struct stat st;
    if (lower && runmap && stat(lower, &st) == 0 &&
        (!host_mapped(runmap->uid, runmap->n_uid, st.st_uid) ||
         !host_mapped(runmap->gid, runmap->n_gid, st.st_gid)))
        nr_notice("image '%s' of the read-only store %s belongs to ids this run does not map: "
                  "its files show as owned by nobody and cannot be changed",
                  image, store);
}

/* image `image` of the nroot store `store`; map is the unpack mapping of
 * runmap */
static int resolve_nroot(const char *store, const char *image, const NrIdMap *runmap,
                         const NrIdMap *map, const NrImportOpts *opts, NrImage *ret, NrError *err)
{
    char dirname[128], name[512];
    int r = 0;
    const char *platform = opts ? opts->platform : NULL;
    if (!platform)
        r = nr_store_lookup(store, image, map->tag, dirname, sizeof dirname, name, sizeof name,
                            err);
    if (r < 0)
        return nr_error_prefix(err, "read-only store '%s'", store), -1;
    if (r == 0 && !find_ref(store, image, map->tag, platform, dirname, sizeof dirname))
        return 0;
    if (strlen(dirname) < 66)
        return 0;
    best_dirname(store, map->tag, dirname, sizeof dirname);
    if (nr_store_open(store, dirname, ret, err) < 0) {
        nr_image_clear(ret);
        return nr_error_prefix(err, "read-only store '%s'", store), -1;
    }
    note_owner(image, store, ret->lower, runmap);
    return 1;
}

/* ---- loose images ---- */

static const char *const exts[] = { ".sqsh", ".squashfs", ".sqfs" };

/* a file name nroot looks up: a valid image name without '/' */
static bool loose_name_valid(const char *name)
{
    return nr_store_name_valid(name) && !strchr(name, '/');
}

/* a plain directory, not an image layout (those are imported, and a
 * read-only store is never imported into) */
static bool is_root_tree(int dfd, const char *name)
{
    if (!is_dir_at(dfd, name))
        return false;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/oci-layout", name);
    if (faccessat(dfd, p, F_OK, 0) == 0)
        return false;
    snprintf(p, sizeof p, "%s/manifest.json", name);
    return faccessat(dfd, p, F_OK, 0) < 0;
}

/* NAME.sqsh, NAME.squashfs, NAME.sqfs, then NAME itself (a squashfs file
 * or a root tree) */
static int resolve_loose(const char *store, const char *image, const NrIdMap *runmap, NrImage *ret,
                         NrError *err)
{
    if (!loose_name_valid(image))
        return 0;
    nr_autoclose int dfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    char file[PATH_MAX];
    for (size_t k = 0; k <= sizeof exts / sizeof exts[0]; k++) {
        snprintf(file, sizeof file, "%s%s", image, k < 3 ? exts[k] : "");
        struct stat st;
        if (fstatat(dfd, file, &st, 0) < 0)
            continue;
        nr_autofree char *path = nr_strdup_printf("%s/%s", store, file);
        char real[PATH_MAX];
        if (!realpath(path, real))
            return nr_error_errno(err, "image '%s' of the read-only store %s", image, store);
        if (S_ISREG(st.st_mode)) {
            if (!nr_fs_is_squashfs_at(dfd, file)) {
                if (k == 3)
                    continue; /* NAME itself: only as a squashfs file */
                return nr_error_msg(err, "'%s' in the read-only store is not a squashfs image",
                                    path);
            }
            ret->squashfs = nr_xstrdup(real);
            return 1;
        }
        if (k == 3 && is_root_tree(dfd, file)) {
            ret->lower = nr_xstrdup(real);
            note_owner(image, store, ret->lower, runmap);
            return 1;
        }
    }
    return 0;
}

int nr_rostore_resolve(const char *image, const NrIdMap *runmap, const NrImportOpts *opts,
                       NrImage *ret, NrError *err)
{
    memset(ret, 0, sizeof *ret);
    ret->lock_fd = -1;
    const NrStrv *d = nr_rostore_dirs();
    if (!d->n)
        return 0;
    NrIdMap map;
    nr_userns_unpack_map(runmap, &map);
    for (size_t i = 0; i < d->n; i++) {
        NrRoStoreKind kind = nr_rostore_probe(i, true, NULL);
        int r = 0;
        if (kind == NR_ROSTORE_NROOT)
            r = resolve_nroot(d->v[i], image, runmap, &map, opts, ret, err);
        else if (kind == NR_ROSTORE_LOOSE && !(opts && opts->platform))
            r = resolve_loose(d->v[i], image, runmap, ret, err);
        if (r != 0)
            return r;
    }
    return 0;
}

const char *nr_rostore_holder(const char *spec, const char *tag)
{
    const NrStrv *d = nr_rostore_dirs();
    for (size_t i = 0; i < d->n; i++) {
        NrRoStoreKind kind = nr_rostore_probe(i, true, NULL);
        char dirname[128];
        NrError ignored = { 0 };
        if (kind == NR_ROSTORE_NROOT &&
            nr_store_lookup(d->v[i], spec, tag, dirname, sizeof dirname, NULL, 0, &ignored) != 0)
            return d->v[i];
        if (kind == NR_ROSTORE_LOOSE) {
            NrImage img;
            memset(&img, 0, sizeof img);
            img.lock_fd = -1;
            int r = resolve_loose(d->v[i], spec, NULL, &img, &ignored);
            nr_image_clear(&img);
            if (r != 0)
                return d->v[i];
        }
    }
    return NULL;
}

/* ---- listing ---- */

static int list_loose(const char *store, NrStoreImage **ret, size_t *ret_n, NrError *err)
{
    DIR *d = opendir(store);
    if (!d)
        return nr_error_errno(err, "cannot read the read-only store '%s'", store);
    NrStoreImage *imgs = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s", de->d_name);
        const char *format = NULL;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
            continue;
        if (S_ISREG(st.st_mode)) {
            for (size_t k = 0; k < 3; k++) {
                size_t ln = strlen(name), le = strlen(exts[k]);
                if (ln > le && strcmp(name + ln - le, exts[k]) == 0) {
                    name[ln - le] = '\0';
                    break;
                }
            }
            /* by its content, as a run takes it */
            format = nr_fs_is_squashfs_at(dirfd(d), de->d_name) ? "squashfs" : NULL;
        } else if (is_root_tree(dirfd(d), de->d_name))
            format = "tree";
        if (!format || !loose_name_valid(name))
            continue;
        NrStoreImage *grown = realloc(imgs, (n + 1) * sizeof *imgs);
        if (!grown)
            break;
        imgs = grown;
        NrStoreImage *s = &imgs[n++];
        memset(s, 0, sizeof *s);
        nr_strv_push(&s->names, name);
        s->source = nr_strdup_printf("%s/%s", store, de->d_name);
        s->format = nr_xstrdup(format);
        s->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
        s->created = (int64_t)st.st_mtim.tv_sec;
    }
    closedir(d);
    *ret = imgs;
    *ret_n = n;
    return 0;
}

int nr_rostore_list(size_t i, NrStoreImage **ret, size_t *ret_n, NrError *err)
{
    *ret = NULL;
    *ret_n = 0;
    const NrStrv *d = nr_rostore_dirs();
    NrRoStoreKind kind = nr_rostore_probe(i, true, NULL);
    if (kind == NR_ROSTORE_NROOT)
        return nr_store_list(d->v[i], ret, ret_n, err);
    if (kind == NR_ROSTORE_LOOSE)
        return list_loose(d->v[i], ret, ret_n, err);
    return 0;
}
