/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.h — an image's manifest, docker-archive's or OCI's, and applying
 * it (manifest.c). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "blob.h"
#include "job.h"
#include "nr-error.h"

#define NR_MAX_LAYERS 500 /* docker stops at 127; each layer costs a pass */

typedef struct NrManifest {
    char *config;        /* docker: the config's file name; OCI: its digest */
    int64_t config_size; /* OCI; -1 for docker */
    GPtrArray *layers;   /* docker: file names; OCI: digests ("sha256:<hex>") */
    GArray *sizes;       /* int64_t per layer, -1 if unknown */
    GPtrArray *names;    /* the config's tags: docker: RepoTags; OCI: the index's names */
} NrManifest;
/* empty lists, config_size -1 */
void nr_manifest_init(NrManifest *m);
void nr_manifest_clear(NrManifest *m);
/* the config read, checked and written (job->id: its digest), then the
 * layers applied in order (job->chain), each checked against its digests */
int nr_manifest_apply(NrUnpackJob *job, NrSource *src, const NrManifest *m, bool oci, NrError *err);
