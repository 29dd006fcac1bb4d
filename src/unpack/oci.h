/* SPDX-License-Identifier: Apache-2.0 */
/* oci.h — the OCI image layout (oci.c). */
#pragma once
#include <stddef.h>

#include "blob.h"
#include "job.h"
#include "manifest.h"
#include "nr-error.h"

/* index.json (a buffer), nested indexes refused: 0 if it names an image
 * (for harnesses; the import reads nested ones too) */
int nr_oci_index(const char *buf, size_t len, const char *what, const char *ref, NrError *err);
/* an OCI image manifest (a buffer): the config's digest and size, each layer's */
int nr_oci_manifest(const char *buf, size_t len, const char *what, NrManifest *ret, NrError *err);
/* import the OCI image layout in `src` */
int nr_oci_unpack(NrUnpackJob *job, NrSource *src, NrError *err);
/* import the image whose manifest is the blob `digest` ("sha256:<hex>") of
 * the layout in `src`, without its index.json (a registry pull's cache) */
int nr_oci_unpack_manifest(NrUnpackJob *job, NrSource *src, const char *digest, NrError *err);
