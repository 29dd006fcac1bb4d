/* SPDX-License-Identifier: Apache-2.0 */
/* nr-image.h — what a resolved image brings to a run: plain data, filled by
 * the store (state/store.c) and read by the run plan's consumers. */
#pragma once
#include "nr-util.h"

/* what a resolved image brings to a run */
typedef struct NrImage {
    char *lower;    /* the read-only root directory, NULL when squashfs is set */
    char *squashfs; /* a squashfs file holding the root (mounted read-only by
                     * squashfuse_ll as the overlay's lower layer), else NULL */
    char *dir;      /* STORE/images/<dirname>, NULL for a plain directory */
    char id[65];    /* "" for a plain directory */
    NrStrv env, entrypoint, cmd;
    char *workdir, *user;
    NrStrv tags; /* names the archive gave the image (RepoTags) */
    int lock_fd; /* held shared while a container uses the image */
} NrImage;
