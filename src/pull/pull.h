/* SPDX-License-Identifier: Apache-2.0 */
/* pull.h — nroot-pull, the registry client: the types its files share.
 * Private to src/pull/.
 *
 *   main.c      arguments, the pull from probe to the last blob
 *   status.c    the lines on --status-fd
 *   http.c      one libcurl multi handle: requests, auth, redirects, retries
 *   auth.c      credentials (auth files, credential helpers), challenges
 *   tls.c       certs.d: extra CAs (an in-memory bundle), client pairs
 *   login.c     --login, --logout, --get-login: the credential check and the
 *               containers auth.json
 *   manifest.c  manifests and indexes, the platform chosen
 *   cache.c     the blob cache (an OCI layout): locks, .partial, verify
 *   fetch.c     blob downloads in parallel, resumed, verified as they stream */
#pragma once
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nr-error.h"

#define NR_PULL_DOC_MAX (4u << 20) /* manifests, indexes, configs: as containers/image */
#define NR_PULL_ATTEMPTS 4         /* tries of one request on 5xx or a broken connection */
#define NR_PULL_REDIRECTS 5
#define NR_PULL_REAUTH_S 30 /* a 401 this long after the token: a new token */

/* ------------------------------------------------------------ status -- */

/* a line on --status-fd (nothing without one) */
void nr_pull_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int nr_pull_status_fd;

/* -------------------------------------------------------------- tls -- */

typedef struct NrTls {
    bool verify;
    char *ca_blob; /* certs.d *.crt (+ the system's bundle without capath) */
    size_t ca_len;
    char *capath;     /* the system's hashed CA directory; NULL: its bundle */
    char *cert, *key; /* client pair from certs.d */
} NrTls;

/* certs.d of `hostport` in config_dir/certs.d, /etc/containers/certs.d and
 * /etc/docker/certs.d */
int nr_tls_load(NrTls *t, const char *hostport, const char *config_dir, NrError *err);
void nr_tls_apply(const NrTls *t, CURL *easy);
void nr_tls_clear(NrTls *t);

/* ------------------------------------------------------------- auth -- */

typedef struct NrChallenge {
    char scheme[16]; /* "bearer" or "basic" (lowercase); "" none */
    char *realm, *service, *scope;
} NrChallenge;

/* the first Bearer (else Basic) challenge of WWW-Authenticate values */
bool nr_auth_challenge_parse(const char *hdr, NrChallenge *c);
void nr_auth_challenge_clear(NrChallenge *c);
/* credentials for registry (HOST[:PORT]) and repo: 1 found, 0 none, -1 error */
int nr_auth_lookup(const char *registry, const char *repo, const char *config_dir, char **ret_user,
                   char **ret_pass, NrError *err);
/* the same in one auth file (no such file: 0) */
int nr_auth_lookup_file(const char *file, const char *registry, const char *repo, char **ret_user,
                        char **ret_pass, NrError *err);
/* an auths key as HOST[:PORT][/NAMESPACE...]: a URL's scheme and (for the
 * legacy https://HOST/v1/ form) its path dropped, docker.io for Docker Hub */
char *nr_auth_normalise_key(const char *key);
/* the auth file login writes and logout edits: $REGISTRY_AUTH_FILE, else
 * ${XDG_RUNTIME_DIR}/containers/auth.json when that directory is ours and
 * writable, else CONFIG_DIR/auth.json; NULL when none can be named */
char *nr_auth_file_default(const char *config_dir);

/* ------------------------------------------------------------- http -- */

typedef struct NrReq NrReq;
/* a body sink: return false to abort the transfer */
typedef bool (*NrReqWrite)(NrReq *r, const char *buf, size_t len);

struct NrReq {
    CURL *easy;
    char *url;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    CURLcode result;
    long status;
    bool done;
    /* response headers of the last response (a redirect's are replaced) */
    char *www_auth, *location, *content_type, *docker_digest, *content_range;
    /* the body: in memory up to max unless `write` takes it */
    char *body;
    size_t len, max;
    bool too_big;
    NrReqWrite write;
    void *data;
};

typedef struct NrHttp {
    CURLM *multi;
    char *registry; /* HOST[:PORT] as given */
    char *base;     /* https://HOST[:PORT] (the API host: docker.io -> registry-1) */
    char *repo;
    char *api_host; /* host[:port] authorization is sent to */
    char *config_dir;
    NrTls tls;
    char *user, *pass; /* NULL: anonymous */
    bool login;        /* nroot login's check: no auth file, no scope, no hint */
    bool tls_failed;   /* a request failed in the TLS handshake (no credentials sent) */
    char *authz;       /* "Authorization: ..." header line, NULL none */
    bool authed;       /* the challenge answered (token fetched) ... */
    long long auth_at; /* ... at this CLOCK_MONOTONIC second */
    bool probing;      /* nr_http_probe of a pull: a challenge answered is enough */
} NrHttp;

/* repo NULL: the login check (h->login; the caller sets user and pass) */
int nr_http_init(NrHttp *h, const char *registry, const char *repo, bool plain, bool verify,
                 const char *config_dir, NrError *err);
void nr_http_clear(NrHttp *h);
/* a GET of url (absolute) started on the multi handle; from_offset > 0
 * asks for a Range; Authorization only to the registry's own host */
NrReq *nr_http_start(NrHttp *h, const char *url, const char *accept, uint64_t from_offset);
void nr_http_req_free(NrHttp *h, NrReq *r);
/* drive the transfers for at most timeout_ms; finished requests get done */
int nr_http_step(NrHttp *h, int timeout_ms, NrError *err);
/* what to do with a finished request */
typedef enum {
    NR_NEXT_DONE,     /* a final answer (any status; the caller reads it) */
    NR_NEXT_RETRY,    /* again after a pause (5xx, connection) */
    NR_NEXT_REDIRECT, /* again at r->location (resolved into *ret_url) */
    NR_NEXT_AUTH,     /* authenticated now: again */
    NR_NEXT_FAIL,     /* err set */
} NrNext;
NrNext nr_http_next(NrHttp *h, NrReq *r, int attempt, int redirects, char **ret_url, NrError *err);
/* a whole GET with redirects, auth and retries, the body in memory (max);
 * the final response's status in r->status */
NrReq *nr_http_get(NrHttp *h, const char *url, const char *accept, size_t max, NrError *err);
/* the probe: GET /v2/ and, if challenged, the credentials / token */
int nr_http_probe(NrHttp *h, NrError *err);
/* one line of the registry's error body ({"errors":[{"message":...}]}) */
void nr_http_error_detail(const NrReq *r, char *buf, size_t size);
/* a 401 after auth: the one line naming the registry and the fix */
int nr_http_denied(NrHttp *h, const char *what, NrError *err);
/* milliseconds of the pause before attempt n (1, 2, ...) */
int nr_http_backoff_ms(int attempt);

/* ------------------------------------------------------------ cache -- */

typedef struct NrCache {
    char *dir;
    int blobs; /* fd of DIR/blobs/sha256 */
} NrCache;

int nr_cache_open(NrCache *c, const char *dir, NrError *err);
void nr_cache_close(NrCache *c);
bool nr_cache_has(NrCache *c, const char *hex, uint64_t size);
/* a whole, verified document (manifest) into the cache */
int nr_cache_put(NrCache *c, const char *hex, const char *buf, size_t len, NrError *err);
/* the exclusive lock on <hex>.partial: 1 held (fd in *ret_fd), 0 busy (another
 * process downloads it), 2 the blob is whole already; -1 error */
int nr_cache_lock_partial(NrCache *c, const char *hex, int *ret_fd, NrError *err);
/* <hex>.partial -> <hex> (the lock still held) */
int nr_cache_commit(NrCache *c, const char *hex, NrError *err);
void nr_cache_discard(NrCache *c, const char *hex);

/* ----------------------------------------------------------- digest -- */

/* "sha256:<64 lowercase hex>": the hex (a pointer into s) or NULL */
const char *nr_pull_digest_hex(const char *s);
void nr_pull_sha256_hex(const unsigned char md[32], char hex[65]);

/* --------------------------------------------------------- manifest -- */

typedef struct NrBlobRef {
    char *digest; /* "sha256:<hex>" */
    char *media_type;
    uint64_t size;
    bool foreign;
} NrBlobRef;

typedef struct NrManifest {
    char *media_type;
    NrBlobRef config;
    NrBlobRef *layers;
    size_t n_layers;
} NrManifest;

#define NR_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define NR_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define NR_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define NR_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/* is the document (its media type, else its own mediaType) an index? Fails
 * on schema 1 and on what is neither */
int nr_manifest_kind(const char *content_type, const char *buf, size_t len, bool *ret_index,
                     NrError *err);
/* the digest of the entry of an index for the platform "os/arch[/variant]" */
int nr_manifest_choose(const char *buf, size_t len, const char *platform, char **ret_digest,
                       NrError *err);
int nr_manifest_parse(const char *buf, size_t len, NrManifest *m, NrError *err);
void nr_manifest_clear(NrManifest *m);
/* the host's platform in Go's names: "linux/amd64", "linux/arm64/v8", ... */
const char *nr_manifest_host_platform(void);

/* ------------------------------------------------------------ login -- */

/* user and password from stdin ("USER\nPASSWORD\n"), checked against the
 * registry's /v2/, then written to the auth file (NULL: the default) */
int nr_login(const char *registry, const char *authfile, const char *config_dir, bool plain,
             bool verify, NrError *err);
/* registry NULL: every registry of the file */
int nr_logout(const char *registry, const char *authfile, const char *config_dir, NrError *err);
/* print the user name stored for the registry */
int nr_login_get(const char *registry, const char *authfile, const char *config_dir, NrError *err);

/* ------------------------------------------------------------ fetch -- */

/* download the blobs into the cache, `parallel` at a time; each verified */
int nr_fetch_blobs(NrHttp *h, NrCache *c, const NrBlobRef *blobs, size_t n, int parallel,
                   NrError *err);
