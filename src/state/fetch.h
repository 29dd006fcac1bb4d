/* SPDX-License-Identifier: Apache-2.0 */
/* fetch.h — running nroot-pull for the store (fetch.c); private to
 * src/state. */
#pragma once
#include <stdbool.h>

#include "nr-error.h"

typedef struct NrFetch {
    const char *registry;  /* host[:port] to connect to */
    const char *repo;      /* the repository path */
    const char *reference; /* a tag or sha256:<hex> */
    const char *cache;     /* the blob cache (an OCI layout directory) */
    const char *platform;  /* os/arch[/variant], or NULL: the host's */
    const char *label;     /* the reference as the progress line names it */
    bool tls_no_verify;
    bool plain_http; /* the registry answers plain HTTP (only with tls_no_verify) */
    bool progress;   /* draw a progress line if stderr is a terminal */
} NrFetch;

/* the image's manifest, config and layers into the blob cache, nroot-pull
 * run as the user on the host; its manifest digest ("sha256:<hex>") to
 * ret_manifest.  A failure is nroot-pull's one line (and hint), code 125. */
int nr_fetch_image(const NrFetch *f, char ret_manifest[80], NrError *err);
/* the nroot-pull helper ($NROOT_PULL, beside nroot, or installed) */
char *nr_fetch_helper_path(void);
