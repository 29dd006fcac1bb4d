/* store.c — where images live, and importing a rootfs tarball once.
 *
 *   STORE/images/<sha256>-<maptag>/rootfs   unpacked tree (read-only lower layer)
 *   STORE/images/<sha256>-<maptag>/info     key=value facts about the import
 *   STORE/by-file/<filekey>-<maptag>        symlink -> ../images/<id> (the fast path)
 *   STORE/tmp/import-XXXXXX                 imports in progress
 *   STORE/lock                              serialises imports
 *
 * <maptag> names the id mapping the tree was unpacked with: ownership on
 * disk means something only under that mapping.  <filekey> hashes the
 * tarball's device, inode, size and mtime, so a cached run stats the file
 * and reads one symlink, never the file itself. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "nr-run.h"
#include "nr-spawn.h"
#include "nr-util.h"

static char *store_dir(NrError *err)
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

static void file_key(const struct stat *st, const char *tag, char *buf, size_t size)
{
    uint64_t v[5] = { st->st_dev, st->st_ino, (uint64_t)st->st_size,
                      (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec };
    snprintf(buf, size, "%016llx-%s", (unsigned long long)nr_fnv1a(v, sizeof v, NR_FNV_INIT), tag);
}

/* by-file/<key> -> ../images/<id>; returns the lower dir if it is there */
static char *lookup(const char *store, const char *key)
{
    char link[PATH_MAX], target[PATH_MAX];
    snprintf(link, sizeof link, "%s/by-file/%s", store, key);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return NULL;
    target[n] = '\0';
    if (strncmp(target, "../images/", 10) != 0 || strchr(target + 10, '/'))
        return NULL;
    char *lower = nr_strdup_printf("%s/images/%s/rootfs", store, target + 10);
    struct stat st;
    if (stat(lower, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(lower);
        return NULL;
    }
    return lower;
}

/* ---- removing trees owned by subordinate ids: done inside the userns ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rmtree_child(void *data, int sync_fd, NrError *err)
{
    const char *path = data;
    /* directories without write or search permission: caps in the
     * namespace override that, as owner-mapped root */
    if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
        return nr_error_errno(err, "cannot remove '%s'", path);
    return 0;
}

static int rmtree_in_userns(const char *path, const NrIdMap *map, NrError *err)
{
    int sync_fd = -1, status = 0;
    pid_t pid = nr_spawn(0, map, rmtree_child, (void *)path, &sync_fd, err);
    if (pid < 0)
        return -1;
    int rc = nr_spawn_wait(pid, sync_fd, &status, NULL, err);
    close(sync_fd);
    if (rc == 0 && status != 0)
        rc = nr_error_msg(err, "cannot remove '%s'", path);
    return rc;
}

/* An import that holds the lock owns tmp/: anything there is left over
 * from an import that was killed. */
static void remove_stale(const char *store, const NrIdMap *map)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", store);
    DIR *d = opendir(tmp);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "import-", 7) != 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", tmp, de->d_name) >= (int)sizeof path)
            continue;
        NrError e = { 0 };
        if (rmtree_in_userns(path, map, &e) < 0)
            nr_warn("cannot remove the remains of an interrupted import '%s'", path);
    }
    closedir(d);
}

/* ---- running nroot-unpack inside the user namespace ---- */

typedef struct UnpackJob {
    int         image_fd;
    const char *root;
    const char *name;      /* for messages */
    bool        owners;
} UnpackJob;

static char *helper_path(void)
{
    const char *env = getenv("NROOT_UNPACK");
    if (env && *env)
        return nr_xstrdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            char *p = nr_strdup_printf("%s/nroot-unpack", self);
            if (access(p, X_OK) == 0)
                return p;
            free(p);
            p = nr_strdup_printf("%s/../libexec/nroot/nroot-unpack", self);
            if (access(p, X_OK) == 0)
                return p;
            free(p);
        }
    }
    return nr_xstrdup(NR_LIBEXECDIR "/nroot-unpack");
}

static int unpack_child(void *data, int sync_fd, NrError *err)
{
    UnpackJob *job = data;
    nr_autofree char *helper = helper_path();
    /* fds 3 and 4 are the image and the sync socket, nothing else: both
     * are moved out of the way first, since either may sit on 3 or 4 */
    int img = fcntl(job->image_fd, F_DUPFD_CLOEXEC, 10), snc = fcntl(sync_fd, F_DUPFD_CLOEXEC, 10);
    if (img < 0 || snc < 0 || dup2(img, 3) < 0 || dup2(snc, 4) < 0)
        return nr_error_errno(err, "dup2");
    syscall(SYS_close_range, 5U, ~0U, 0U);
    sync_fd = 4;
    nr_spawn_become_root();
    char *argv[] = { "nroot-unpack", "--image-fd=3", "--sync-fd=4", (char *)job->root,
                     (char *)job->name, job->owners ? "--owners" : NULL, NULL };
    execv(helper, argv);
    nr_error_errno(err, "cannot run the unpack helper '%s'", helper);
    nr_error_hint(err, "set $NROOT_UNPACK to the nroot-unpack binary, or reinstall nroot");
    return -1;
}

static void parse_result(const char *text, char *sha, size_t sha_size, long *devices, long *owners,
                         long *other)
{
    const char *p;
    if ((p = strstr(text, "sha256=")))
        snprintf(sha, sha_size, "%.64s", p + 7);
    if ((p = strstr(text, "devices=")))
        *devices = atol(p + 8);
    if ((p = strstr(text, "owners=")))
        *owners = atol(p + 7);
    if ((p = strstr(text, "warnings=")))
        *other = atol(p + 9);
}

static int import_tarball(const char *store, const char *image, const struct stat *st,
                          const char *key, const NrIdMap *map, char **ret_lower, NrError *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lock", store);
    nr_autoclose int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0)
        return nr_error_errno(err, "cannot open the store lock '%s'", path);
    bool locked = true;
    if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
        if (errno == ENOLCK || errno == EOPNOTSUPP) {
            locked = false;
            /* NFS without a lock manager: imports are still atomic (rename),
             * concurrent ones may just unpack twice */
            nr_warn("'%s': the filesystem cannot lock; concurrent imports are not serialised", path);
        } else {
            nr_notice("waiting for another nroot to finish importing into %s", store);
            while (flock(lock, LOCK_EX) < 0)
                if (errno != EINTR)
                    return nr_error_errno(err, "cannot lock '%s'", path);
        }
    }
    /* someone else may have imported it while we waited */
    if ((*ret_lower = lookup(store, key)))
        return 0;
    if (locked)
        remove_stale(store, map);

    nr_autoclose int fd = open(image, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return nr_error_errno(err, "cannot open image '%s'", image);
    struct stat fst;
    if (fstat(fd, &fst) < 0 || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev)
        return nr_error_msg(err, "image '%s' changed while it was being opened", image);

    char tmpdir[PATH_MAX], root[PATH_MAX + 8];
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp/import-XXXXXX", store);
    if (!mkdtemp(tmpdir))
        return nr_error_errno(err, "cannot create a directory in '%s/tmp'", store);
    snprintf(root, sizeof root, "%s/rootfs", tmpdir);
    if (mkdir(root, 0755) < 0) {
        nr_error_errno(err, "cannot create '%s'", root);
        rmdir(tmpdir);
        return -1;
    }

    UnpackJob job = { .image_fd = fd, .root = root, .name = image, .owners = map->helpers };
    int sync_fd = -1, status = 0;
    NrError e = { 0 };
    char result[sizeof e.msg] = "";
    pid_t pid = nr_spawn(0, map, unpack_child, &job, &sync_fd, err);
    if (pid < 0)
        goto fail_tmp;
    /* the helper's last message is its result; its failure comes as ERROR */
    int rc = nr_spawn_wait(pid, sync_fd, &status, result, &e);
    close(sync_fd);
    if (rc < 0 || status != 0) {
        if (rc == 0)
            nr_error_msg(&e, "unpacking '%s' failed (status %d)", image, status);
        *err = e;
        goto fail_tmp;
    }
    char sha[65] = "";
    long devices = 0, owners = 0, other = 0;
    parse_result(result, sha, sizeof sha, &devices, &owners, &other);
    if (strlen(sha) != 64) {
        nr_error_msg(err, "unpacking '%s': the helper reported no digest", image);
        goto fail_tmp;
    }
    if (devices)
        nr_warn("'%s': skipped %ld device node%s (they cannot be created without root)", image,
                devices, devices == 1 ? "" : "s");
    if (owners)
        nr_warn("'%s': %ld file%s kept the owner root: %s", image, owners, owners == 1 ? "" : "s",
                map->helpers ? "their ids are outside your subordinate range"
                             : "a single-id mapping has no other ids");
    if (other)
        nr_warn("'%s': %ld entr%s unpacked with warnings (e.g. extended attributes that need "
                "privileges)", image, other, other == 1 ? "y was" : "ies were");

    char info[PATH_MAX * 2];
    snprintf(info, sizeof info, "source=%s\nsha256=%s\nsize=%lld\ncreated=%lld\nidmap=%s\nrung=%s\n",
             image, sha, (long long)st->st_size, (long long)time(NULL), map->tag, map->rung);
    {
        nr_autoclose int dfd = open(tmpdir, O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || nr_write_file_at(dfd, "info", info, 0644, err) < 0)
            goto fail_tmp;
        /* the tree reaches the disk before its name says it is complete */
        if (syncfs(dfd) < 0)
            nr_warn("'%s': syncfs failed: %s", store, strerror(errno));
    }

    char id[128], final[PATH_MAX];
    snprintf(id, sizeof id, "%s-%s", sha, map->tag);
    snprintf(final, sizeof final, "%s/images/%s", store, id);
    if (rename(tmpdir, final) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            nr_error_errno(err, "cannot move the new image into '%s'", final);
            goto fail_tmp;
        }
        /* the same content is already there under another file name */
        NrError ignored = { 0 };
        if (rmtree_in_userns(tmpdir, map, &ignored) < 0)
            nr_warn("cannot remove '%s'", tmpdir);
    }
    char link[PATH_MAX], tmplink[PATH_MAX + 16], target[256];
    snprintf(link, sizeof link, "%s/by-file/%s", store, key);
    snprintf(tmplink, sizeof tmplink, "%s.%d", link, (int)getpid());
    snprintf(target, sizeof target, "../images/%s", id);
    unlink(tmplink);
    if (symlink(target, tmplink) < 0 || rename(tmplink, link) < 0) {
        nr_error_errno(err, "cannot record the image in '%s'", link);
        unlink(tmplink);
        return -1;
    }
    *ret_lower = nr_strdup_printf("%s/rootfs", final);
    return 0;

fail_tmp:;
    NrError ignored = { 0 };
    if (rmtree_in_userns(tmpdir, map, &ignored) < 0)
        nr_warn("cannot remove '%s': it is removed by the next import", tmpdir);
    return -1;
}

int nr_store_resolve(const char *image, const NrIdMap *runmap, char **ret_lower, NrError *err)
{
    struct stat st;
    if (stat(image, &st) < 0) {
        nr_error_errno(err, "image '%s'", image);
        if (errno == ENOENT)
            nr_error_hint(err, "give a root filesystem directory or a rootfs tarball");
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        char real[PATH_MAX];
        if (!realpath(image, real))
            return nr_error_errno(err, "image '%s'", image);
        *ret_lower = nr_xstrdup(real);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return nr_error_msg(err, "image '%s' is neither a directory nor a regular file", image);

    NrIdMap map;
    nr_userns_unpack_map(runmap, &map);
    char key[64];
    file_key(&st, map.tag, key, sizeof key);
    nr_autofree char *store = store_dir(err);
    if (!store)
        return -1;
    if ((*ret_lower = lookup(store, key)))
        return 0;

    static const char *const subdirs[] = { "images", "by-file", "tmp" };
    for (size_t i = 0; i < 3; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", store, subdirs[i]);
        if (nr_mkdir_p(p, 0700, err) < 0)
            return -1;
    }
    return import_tarball(store, image, &st, key, &map, ret_lower, err);
}
