/* SPDX-License-Identifier: Apache-2.0 */
/* nr-rostore.h — shared read-only image stores (podman's "additional image
 * stores"): directories an administrator or a group publishes images in,
 * listed in $NROOT_READONLY_STORES or nroot.conf's `readonly-stores`
 * (colon-separated; the variable wins), searched after the user's own store
 * and never written.  Each is an nroot store (images/, names/, by-ref/, as
 * `NROOT_STORE=DIR nroot import` made it) or a directory of loose images:
 * NAME.sqsh, NAME.squashfs, NAME.sqfs (squashfs files) and NAME/ (a root
 * tree). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "nr-error.h"
#include "nr-image.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

typedef enum NrRoStoreKind {
    NR_ROSTORE_MISSING,    /* not there (errno ENOENT) */
    NR_ROSTORE_UNREADABLE, /* not a directory, or not readable and searchable */
    NR_ROSTORE_NROOT,      /* images/ and names/: what `nroot import` made */
    NR_ROSTORE_LOOSE,      /* squashfs files and root trees by file name */
} NrRoStoreKind;

/* split a colon-separated list into absolute directories (empty entries
 * dropped, each once, trailing slashes removed); a relative one goes to
 * *ret_bad (may be NULL) and is left out.  Pure. */
void nr_rostore_parse(const char *list, NrStrv *ret, NrStrv *ret_bad);
/* the read-only stores of this process ($NROOT_READONLY_STORES, else
 * nroot.conf), read once; the user's own store is never one of them */
const NrStrv *nr_rostore_dirs(void);
/* what store i is (an index into nr_rostore_dirs()); *ret_errno says why
 * it is missing or unreadable.  warn: a missing or unreadable store is a
 * one-line warning, once per store and process. */
NrRoStoreKind nr_rostore_probe(size_t i, bool warn, int *ret_errno);
/* IMAGE (a name, an id prefix of 4+ hex digits, a registry reference with
 * opts->platform) in the read-only stores, in their order: 1 and *ret
 * filled (opened read-only; a store image holds its shared lock, which
 * writes nothing), 0 when no store has it, -1 on an error (an ambiguous
 * id, a damaged image).  `runmap` is the run's id map. */
int nr_rostore_resolve(const char *image, const NrIdMap *runmap, const NrImportOpts *opts,
                       NrImage *ret, NrError *err);
/* which read-only store holds NAME or ID `spec` (for rmi's refusal): its
 * path, or NULL */
const char *nr_rostore_holder(const char *spec, const char *tag);
/* the images of read-only store i, as nr_store_list gives those of an
 * nroot store; loose images have no id ("") and one name, their source is
 * their path and their format "squashfs" or "tree" */
int nr_rostore_list(size_t i, NrStoreImage **ret, size_t *ret_n, NrError *err);
/* tests: forget the stores read and the warnings given */
void nr_rostore_reset(void);
