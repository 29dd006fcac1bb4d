/* SPDX-License-Identifier: Apache-2.0 */
/* image.h — importing an image into the current root (image.c).
 *
 * The helper runs pivoted into the new image's (empty) rootfs, so every path
 * a layer names is a path inside the image; `job->meta_fd` is a directory fd
 * of the import's bookkeeping directory outside it (config file, spool). */
#pragma once
#include "job.h"
#include "nr-error.h"

/* import the image on job->image_fd (a file or a directory) */
int nr_unpack_image(NrUnpackJob *job, NrError *err);
