/* SPDX-License-Identifier: Apache-2.0 */
/* nr-store.h — the image store: resolving what `nroot run` is given to a
 * read-only root directory, importing images once, and the bookkeeping the
 * image commands (import, images, rmi, prune) work on. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "nr-error.h"
#include "nr-image.h"
#include "nr-userns.h"
#include "nr-util.h"

/* --pull: when a registry reference is pulled (podman's meanings) */
typedef enum NrPullPolicy {
    NR_PULL_MISSING, /* only when the store has no image for it (default) */
    NR_PULL_ALWAYS,  /* every time (cached blobs are not downloaded again) */
    NR_PULL_NEVER,   /* never: the store's image or an error */
    NR_PULL_NEWER,   /* when the registry's manifest differs; the store's
                      * image, with a notice, when the registry cannot be asked */
} NrPullPolicy;

typedef struct NrImportOpts {
    const char *ref; /* --image-ref */
    bool progress;   /* draw a progress bar if stderr is a terminal */
    /* registry references */
    NrPullPolicy pull;
    const char *platform; /* --platform os/arch[/variant], NULL: the host's */
    bool tls_no_verify;   /* --tls-verify=false */
    /* how new imports are kept: "tree" or "squashfs" (import --format: an
     * image kept the other way does not do); NULL: the image-format
     * setting (nr_store_image_format), either kind does */
    const char *format;
} NrImportOpts;

/* the image format new imports keep: `given` (--format), else
 * $NROOT_IMAGE_FORMAT, else image-format in nroot.conf, else tree; -1 on a
 * value other than tree and squashfs */
int nr_store_image_format(const char *given, bool *ret_squashfs, NrError *err);

/* the store's directory ($NROOT_STORE, $XDG_DATA_HOME/nroot, ~/.local/share/nroot) */
char *nr_store_dir(NrError *err);
/* IMAGE as given to `nroot run`: a path (file or directory), a name, or an
 * id (prefix).  Imports on first use. */
int nr_store_resolve(const char *image, const NrIdMap *runmap, const NrImportOpts *opts,
                     NrImage *ret, NrError *err);
/* an image key nroot recorded (a container's image_key: an image id, or a
 * root filesystem directory's absolute path): resolved in the store only,
 * never as a path relative to the working directory */
int nr_store_resolve_key(const char *key, const NrIdMap *runmap, NrImage *ret, NrError *err);
/* a registry reference (nr_ref_parse) into the store, pulled by nroot-pull
 * into the blob cache STORE/blobs/sha256/ as opts->pull says, then
 * imported from it; the image is named by the canonical reference and
 * found by it again without the network (STORE/by-ref/) */
int nr_store_pull(const char *ref, const NrIdMap *runmap, const NrImportOpts *opts, NrImage *ret,
                  NrError *err);
/* a path only, always into the store (`nroot import`); a missing path that
 * looks like a registry reference is pulled (nr_store_pull) */
int nr_store_import_path(const char *path, const NrIdMap *runmap, const NrImportOpts *opts,
                         NrImage *ret, NrError *err);
void nr_image_clear(NrImage *img);
/* fill `ret` from STORE/images/<dirname> and hold the image's shared lock
 * (an O_RDONLY open and flock: nothing is written, so it serves read-only
 * stores too) */
int nr_store_open(const char *store, const char *dirname, NrImage *ret, NrError *err);
/* STORE/by-ref/<tag>-<canonical ref>[+<platform>] of a registry reference */
void nr_store_ref_link(const char *store, const char *canon, const char *platform, const char *tag,
                       char *buf, size_t size);
/* the by-file/ cache key of an imported file or layout: `id` is what stat()
 * says of its path, `main` of the file whose change is the image's (the file
 * itself, a layout's index.json or manifest.json); `ref` the --image-ref
 * (NULL: none), `tag` the id map's (NrIdMap.tag) */
void nr_store_source_key(const struct stat *id, const struct stat *main, const char *ref,
                         const char *tag, char *buf, size_t size);

/* ---- bookkeeping for the image commands ---- */

typedef struct NrStoreImage {
    char dirname[128]; /* <id>-<maptag> */
    char id[65];
    char tag[17];
    NrStrv names;
    NrStrv links;   /* by-file keys pointing here */
    NrStrv sources; /* every file or layout imported as this image */
    NrStrv refs;    /* by-ref link names pointing here (pulled references) */
    char *source, *format;
    char *ref, *manifest; /* pulled: the canonical reference, the manifest digest */
    uint64_t size;
    int64_t created;
} NrStoreImage;

bool nr_store_name_valid(const char *name);
/* is `d` an image's directory name in images/: "<64 hex>-<16 hex map tag>"
 * or "<64 hex>-squashfs" */
bool nr_store_dirname_valid(const char *d);
/* a NAME (1, the stored name in ret_name) or an ID prefix (2) -> the image's
 * dirname; 0 if neither, -1 on an ambiguous id */
int nr_store_lookup(const char *store, const char *spec, const char *tag, char *ret_dirname,
                    size_t size, char *ret_name, size_t name_size, NrError *err);
/* every image in the store, with its names and cache links */
int nr_store_list(const char *store, NrStoreImage **ret, size_t *ret_n, NrError *err);
void nr_store_list_free(NrStoreImage *imgs, size_t n);
/* serialise with imports; *ret_fd = -1 when the filesystem cannot lock */
int nr_store_lock(const char *store, int *ret_fd, NrError *err);
/* point NAME at images/<dirname> (replacing what it named) */
int nr_store_name_set(const char *store, const char *name, const char *dirname, NrError *err);
/* the image dirname NAME points at now, if any */
bool nr_store_name_get(const char *store, const char *name, char *ret_dirname, size_t size);
int nr_store_name_remove(const char *store, const char *name, NrError *err);
/* is a container using the image?  (its shared lock is held) */
bool nr_store_image_busy(const char *store, const char *dirname);
/* remove an image, its names and links; files of subordinate ids are
 * removed inside a user namespace with `map` */
int nr_store_image_remove(const char *store, const NrStoreImage *img, const NrIdMap *map,
                          NrError *err);
/* remove leftovers in tmp/ (interrupted imports, removals) */
void nr_store_clean_tmp(const char *store, const NrIdMap *map);
/* a cache link whose file is gone or changed (or whose image is gone) */
bool nr_store_link_dead(const char *store, const char *key);
int nr_store_link_remove(const char *store, const char *key);
/* remove names and cache links whose image is gone, and the temporary
 * links of a killed nroot (all of them when the caller holds the store
 * lock, `locked`) */
void nr_store_remove_dangling(const char *store, bool locked);
/* remove the blobs of the cache no image's manifest names, and stale
 * .partial files no pull holds; their size to *reclaimed.  Skipped (0)
 * while a pull is under way. */
int nr_store_prune_blobs(const char *store, uint64_t *reclaimed, NrError *err);
/* remove the by-ref links of image `img` whose reference is `name` */
void nr_store_ref_remove(const char *store, const NrStoreImage *img, const char *name);
