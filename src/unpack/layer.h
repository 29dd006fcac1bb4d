/* SPDX-License-Identifier: Apache-2.0 */
/* layer.h — applying one layer tar to the image tree (layer.c). */
#pragma once
#include <archive.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "nr-error.h"

/* counters reported to nroot */
typedef struct NrCounts {
    long entries, devices, owners, warnings;
    uint64_t bytes; /* regular file bytes written */
} NrCounts;

typedef struct NrLayers {
    bool owners;       /* chown to the entries' ids */
    int index;         /* 0 for the first layer / a rootfs tarball */
    GHashTable *seen;  /* paths this layer wrote (index > 0) */
    GHashTable *links; /* symlinks this layer made */
    NrCounts counts;
} NrLayers;
/* Extract every entry of `a` into the current root: first the `n_pending`
 * entries already read (the last one's data still unread), then the rest.
 * `what` names the file and layer in messages. */
int nr_layer_apply(NrLayers *l, struct archive *a, struct archive_entry **pending, int n_pending,
                   const char *what, NrError *err);
