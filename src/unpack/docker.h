/* SPDX-License-Identifier: Apache-2.0 */
/* docker.h — docker-archive (docker.c). */
#pragma once
#include <stddef.h>

#include "blob.h"
#include "job.h"
#include "manifest.h"
#include "nr-error.h"

/* manifest.json (a buffer): the image `ref` names (or the only one) */
int nr_docker_manifest(const char *buf, size_t len, const char *what, const char *ref,
                       NrManifest *ret, NrError *err);
/* import the docker-archive in `src` */
int nr_docker_unpack(NrUnpackJob *job, NrSource *src, NrError *err);
