/* SPDX-License-Identifier: Apache-2.0 */
/* job.h — one import: what nroot-unpack is given and what it reports. */
#pragma once
#include "layer.h"
#include "stream.h"

typedef struct NrUnpackJob {
    int image_fd; /* regular file or directory */
    int meta_fd;
    const char *name;     /* the image as the user named it */
    const char *ref;      /* --image-ref, or NULL */
    const char *manifest; /* --manifest: the manifest digest in a layout, or NULL */
    bool follow;          /* --follow: the layers may still be downloading (follow.c) */
    int notify;           /* then inotify on the cache's blobs/sha256, or -1 */
    NrProgress *progress;
    NrLayers layers;
    char id[72];        /* out: content id (sha256 hex) */
    char chain[72];     /* out: chain id of the measured layers (sha256 hex) */
    const char *format; /* out */
} NrUnpackJob;
