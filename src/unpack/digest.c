/* SPDX-License-Identifier: Apache-2.0 */
/* digest.c — the digests an image names its blobs and layers by: parsed,
 * taken from a file name, checked against what a stream read, and chained
 * into the OCI chain id of a layer stack. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "path.h"
#include "stream.h"

/* `n` lowercase hex digits, then the end, a "." or a "/" */
bool nr_digest_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return s[n] == '\0' || s[n] == '.' || s[n] == '/';
}

/* "sha256:<hex>" or "sha512:<hex>" */
bool nr_digest_parse(const char *s, NrDigest *d)
{
    if (!s)
        return false;
    size_t n;
    if (g_str_has_prefix(s, "sha256:")) {
        d->type = NR_SHA256, n = 64;
        snprintf(d->alg, sizeof d->alg, "sha256");
    } else if (g_str_has_prefix(s, "sha512:")) {
        d->type = NR_SHA512, n = 128;
        snprintf(d->alg, sizeof d->alg, "sha512");
    } else
        return false;
    const char *h = strchr(s, ':') + 1;
    if (strlen(h) != n || !nr_digest_is_hex(h, n))
        return false;
    snprintf(d->hex, sizeof d->hex, "%s", h);
    return true;
}

/* the digest a docker-archive file name carries: blobs/<alg>/<hex>, or
 * <hex>.json / <hex>.tar named by sha256 */
bool nr_digest_from_name(const char *name, NrDigest *d)
{
    g_autofree char *c = nr_path_clean(name);
    if (!c)
        return false;
    if (g_str_has_prefix(c, "blobs/")) {
        char *alg = c + 6, *slash = strchr(alg, '/');
        if (!slash)
            return false;
        *slash = ':';
        return nr_digest_parse(alg, d);
    }
    size_t len = strlen(c);
    if ((len == 69 && g_str_has_suffix(c, ".json")) || (len == 68 && g_str_has_suffix(c, ".tar"))) {
        g_autofree char *s = g_strdup_printf("sha256:%.64s", c);
        return nr_digest_parse(s, d);
    }
    return false;
}

/* the stream's digest is `want`'s, or an error naming the blob */
int nr_digest_check(NrStream *s, const NrDigest *want, const char *what, const char *name,
                    NrError *err)
{
    const char *got = nr_stream_digest(s);
    if (strcmp(got, want->hex) != 0)
        return nr_error_msg(err,
                            "%s: blob '%s' does not match its digest (%s:%.12s... expected, "
                            "%s:%.12s... found): the file is corrupt or was altered",
                            what, name, want->alg, want->hex, want->alg, got);
    return 0;
}

/* OCI's chain id: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
 * DiffID(Ln)); "sha256:<hex>" strings */
void nr_digest_chain_next(char chain[72], const char *diff)
{
    if (!chain[0]) {
        snprintf(chain, 72, "%s", diff);
        return;
    }
    g_autofree char *text = g_strdup_printf("%s %s", chain, diff);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    int o = snprintf(chain, 72, "sha256:");
    for (unsigned int i = 0; i < n && o + 2 < 72; i++)
        o += snprintf(chain + o, (size_t)(72 - o), "%02x", md[i]);
}

/* where an OCI layout keeps the blob: "blobs/<alg>/<hex>" */
char *nr_digest_path(const NrDigest *d)
{
    return g_strdup_printf("blobs/%s/%s", d->alg, d->hex);
}
