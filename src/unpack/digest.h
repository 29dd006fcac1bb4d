/* SPDX-License-Identifier: Apache-2.0 */
/* digest.h — the digests of an image's blobs and layers (digest.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "nr-error.h"
#include "stream.h"

typedef struct NrDigest {
    NrDigestType type;
    char alg[8]; /* "sha256", "sha512" */
    char hex[129];
} NrDigest;

/* `n` lowercase hex digits in `s`, followed by its end, a "." or a "/" */
bool nr_digest_is_hex(const char *s, size_t n);
/* "sha256:<hex>" or "sha512:<hex>"; false if neither */
bool nr_digest_parse(const char *s, NrDigest *d);
/* the digest a docker-archive file name carries: blobs/<alg>/<hex>, or
 * <hex>.json / <hex>.tar named by sha256 */
bool nr_digest_from_name(const char *name, NrDigest *d);
/* the digest of what `s` read is `want`; else an error naming blob `name` */
int nr_digest_check(NrStream *s, const NrDigest *want, const char *what, const char *name,
                    NrError *err);
/* where an OCI layout keeps the blob: "blobs/<alg>/<hex>" (g_free it) */
char *nr_digest_path(const NrDigest *d);
/* one step of the OCI chain id ("sha256:<hex>" strings; chain "" before the first) */
void nr_digest_chain_next(char chain[72], const char *diff);
