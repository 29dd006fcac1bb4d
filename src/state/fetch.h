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
/* the same, streamed: nroot-pull started, and returned once the manifest
 * and config are whole in the cache (their digest to ret_manifest) while
 * the layers still download; NULL on a failure before that.  The caller
 * pumps its status while it waits for something else, and finishes it. */
typedef struct NrFetchRun NrFetchRun;
NrFetchRun *nr_fetch_start(const NrFetch *f, char ret_manifest[80], NrError *err);
/* read nroot-pull's lines, waiting at most timeout_ms (-1: no limit) or
 * until extra_fd (if >= 0) is readable; true once it has ended */
bool nr_fetch_pump(NrFetchRun *r, int extra_fd, int timeout_ms);
/* it has ended, and not well */
bool nr_fetch_failed(NrFetchRun *r);
/* stop it (SIGTERM: its .partial stays for the next pull to resume) */
void nr_fetch_kill(NrFetchRun *r);
/* wait for its end: its failure as one NrError (again on each call) */
int nr_fetch_finish(NrFetchRun *r, char ret_manifest[80], NrError *err);
/* killed and waited for if not finished */
void nr_fetch_free(NrFetchRun *r);
