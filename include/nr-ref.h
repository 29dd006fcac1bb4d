/* SPDX-License-Identifier: Apache-2.0 */
/* nr-ref.h — image references of a registry (`debian`, `quay.io/org/app:1`,
 * `localhost:5000/x@sha256:...`), normalised as docker does it.
 *
 * The grammar and the normalisation are those of
 * github.com/distribution/reference (regexp.go, reference.go, normalize.go:
 * ParseNormalizedNamed followed by TagNameOnly):
 *
 *   [docker://] [DOMAIN "/"] PATH [":" TAG] ["@" DIGEST]
 *
 *   DOMAIN  the first "/"-separated component, when it is `localhost`,
 *           contains a '.' or a ':', or has an uppercase letter; else the
 *           domain is docker.io (index.docker.io is docker.io too).
 *           host[:port], host a DNS name (components [A-Za-z0-9] and inner
 *           '-', joined by '.'), an IPv4 address or [IPv6] in brackets.
 *   PATH    components [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/';
 *           on docker.io a single component gets `library/` before it;
 *           at most 255 characters (with that `library/`).
 *   TAG     [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; `latest` when neither a tag
 *           nor a digest is given
 *   DIGEST  sha256:<64 hex> or sha512:<128 hex>, lowercase hex
 *
 * A tag and a digest may both be given: both are kept, and the digest is
 * what is fetched (nr_ref_manifest_ref).  A bare 64-digit hex string is an
 * image id, never a reference.  No global state; every string belongs to
 * the NrRef. */
#pragma once
#include <stdbool.h>

#include "nr-error.h"

/* the domain of Docker Hub in references, and the host that serves it */
#define NR_REF_DOCKER_DOMAIN "docker.io"
#define NR_REF_DOCKER_HOST "registry-1.docker.io"

typedef struct NrRef {
    char *domain;   /* as written ("quay.io", "localhost:5000", "[::1]:5000"); "docker.io" */
    char *path;     /* "library/debian", "user/app" */
    char *tag;      /* "latest", "12"; NULL when a digest came without a tag */
    char *digest;   /* "sha256:<hex>", or NULL */
    char *name;     /* domain/path */
    char *full;     /* the canonical string: domain/path[:tag][@digest] */
    char *familiar; /* docker's short form: "debian:latest", "user/app:1" */
} NrRef;

/* `text` as a reference, normalised; an explicit "docker://" before it is
 * accepted.  Failure: one line naming the reference and what is wrong,
 * code 125; *ret is untouched. */
int nr_ref_parse(const char *text, NrRef *ret, NrError *err);
/* "docker.io/library/debian:latest", "quay.io/org/app:1@sha256:..." */
const char *nr_ref_string(const NrRef *ref);
/* "debian:latest", "user/app:1", "quay.io/org/app:1@sha256:..." */
const char *nr_ref_familiar(const NrRef *ref);
/* the host[:port] to connect to: registry-1.docker.io for docker.io, else
 * the domain as written ("[::1]:5000" keeps its brackets, fit for a URL) */
const char *nr_ref_registry_host(const NrRef *ref);
/* the <reference> of GET /v2/<path>/manifests/<reference>: the digest when
 * there is one, else the tag */
const char *nr_ref_manifest_ref(const NrRef *ref);
void nr_ref_clear(NrRef *ref);

/* Could IMAGE, as given to `nroot run` or `nroot import`, be meant as a
 * registry reference?  A cheap test before any network: no allocation, no
 * file system.  The launcher asks only after the ways IMAGE is found today
 * failed: a file or directory of that name exists (the file wins, as
 * today), an image name or id in the store.  True for "docker://..."
 * (nr_ref_parse then says what is wrong with it, if anything) and for
 * anything nr_ref_parse accepts, except a name whose last component ends
 * like an image file (".tar", ".tar.gz", ".tgz", ".sqfs", ...): that is
 * a missing file, not a repository on Docker Hub. */
bool nr_ref_looks_like(const char *text);
