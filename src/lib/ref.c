/* SPDX-License-Identifier: Apache-2.0 */
/* ref.c — image references, normalised as docker does it (nr-ref.h).
 *
 * distribution/reference matches one regular expression over
 * DOMAIN/REMAINDER after splitDockerDomain() chose the domain; here the
 * same grammar is checked by hand, part by part, so that an error can say
 * which part is wrong.  The parts can be told apart by their separators:
 * no part but the domain contains '/' (so the first '/' ends it), neither
 * the path nor a tag contains ':' or '@', and a digest contains no '@'.
 *
 * Where nroot differs from ParseNormalizedNamed, on purpose:
 *   - "docker://" before a reference is accepted and dropped (podman's and
 *     skopeo's transport name); docker refuses it.
 *   - digests are sha256 and sha512 only: go-digest also knows sha384
 *     (when crypto/sha512 is linked), which no registry serves in practice.
 *   - a first component with a '.' or ':' that is not a valid domain but a
 *     valid path component ("foo_bar.com/x": '_' is no DNS character) is
 *     refused: docker's regular expression then matches the whole name as a
 *     path with an empty domain, a reference no registry can serve.
 *   - the error messages are nroot's: one line naming the part that is
 *     wrong, where docker says "invalid reference format". */
#include <string.h>

#include "nr-ref.h"
#include "nr-util.h"

#define DOCKER_PREFIX "docker://"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"
#define PATH_MAX_LEN 255 /* RepositoryNameTotalLengthMax: the path only */
#define TAG_MAX_LEN 128

/* a reference as spans of its text, before anything is allocated */
typedef struct Parts {
    const char *domain; /* NULL: docker.io */
    size_t domain_len;
    bool official;    /* "library/" goes before the path */
    const char *path; /* as written, without "library/" */
    size_t path_len;
    const char *tag; /* NULL: none */
    size_t tag_len;
    const char *digest; /* NULL: none */
    size_t digest_len;
} Parts;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
    return is_lower(c) || is_upper(c) || is_digit(c);
}

static bool is_word(char c) /* \w */
{
    return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

static bool has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_upper(s[i]))
            return true;
    return false;
}

static bool span_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

static const char *span_chr(const char *s, size_t n, char c)
{
    return n ? memchr(s, c, n) : NULL;
}

/* pathComponent: [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)* */
static bool path_component_valid(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        if (i >= n || !(is_lower(s[i]) || is_digit(s[i])))
            return false;
        while (i < n && (is_lower(s[i]) || is_digit(s[i])))
            i++;
        if (i == n)
            return true;
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
        else if (s[i] == '-')
            while (i < n && s[i] == '-')
                i++;
        else
            return false;
    }
}

/* domainAndPort: (domainName | \[[a-fA-F0-9:]+\]) (:[0-9]+)?, where
 * domainName is components [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 * joined by '.' */
static bool domain_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n && s[0] == '[') {
        for (i = 1; i < n && (is_hex(s[i]) || s[i] == ':'); i++)
            ;
        if (i == 1 || i >= n || s[i] != ']')
            return false;
        i++;
    } else {
        for (;;) {
            size_t start = i;
            while (i < n && (is_alnum(s[i]) || s[i] == '-'))
                i++;
            if (i == start || s[start] == '-' || s[i - 1] == '-')
                return false;
            if (i < n && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i == n)
        return true;
    if (s[i] != ':' || ++i == n)
        return false;
    while (i < n && is_digit(s[i]))
        i++;
    return i == n;
}

/* tag: [\w][\w.-]{0,127} */
static bool tag_valid(const char *s, size_t n)
{
    if (n == 0 || n > TAG_MAX_LEN || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* the reference as messages quote it: long ones cut (the message has room
 * for what is wrong); nr_error_print escapes control characters */
#define SHOW_MAX 200
#define SHOW(text) \
    (int)(strlen(text) > SHOW_MAX ? SHOW_MAX : strlen(text)), (text), \
        (strlen(text) > SHOW_MAX ? "..." : "")

static int ref_error(NrError *err, const char *text, const char *what)
{
    return nr_error_msg(err, "invalid image reference '%.*s%s': %s", SHOW(text), what);
}

/* the digest after '@': sha256 or sha512, lowercase hex of the right
 * length (go-digest's Digest.Validate with those two registered) */
static int check_digest(const char *text, const char *s, size_t n, NrError *err)
{
    char what[160];
    const char *colon = span_chr(s, n, ':');
    if (n == 0)
        return ref_error(err, text, "nothing after '@' (a digest is ALGORITHM:HEX)");
    if (span_chr(s, n, '@'))
        return ref_error(err, text, "more than one '@'");
    if (!colon || colon == s || colon + 1 == s + n)
        return ref_error(err, text, "the digest is not ALGORITHM:HEX");
    size_t alen = (size_t)(colon - s), hlen = n - alen - 1;
    size_t want = span_is(s, alen, "sha256") ? 64 : span_is(s, alen, "sha512") ? 128 : 0;
    if (!want) {
        snprintf(what, sizeof what, "digest algorithm '%.*s%s' is not supported (sha256, sha512)",
                 (int)(alen > 32 ? 32 : alen), s, alen > 32 ? "..." : "");
        return ref_error(err, text, what);
    }
    if (hlen != want || !is_lower_hex(colon + 1, hlen)) {
        snprintf(what, sizeof what,
                 "a %.6s digest is %zu lowercase hexadecimal digits (%zu given%s)", s, want, hlen,
                 is_lower_hex(colon + 1, hlen) ? "" : ", not all of them");
        return ref_error(err, text, what);
    }
    return 0;
}

/* every component of the path, and its length */
static int check_path(const char *text, const Parts *p, NrError *err)
{
    char what[256];
    if (p->path_len == 0)
        return ref_error(err, text, "no repository name");
    const char *s = p->path, *end = p->path + p->path_len;
    while (s <= end) {
        const char *slash = span_chr(s, (size_t)(end - s), '/');
        const char *cend = slash ? slash : end;
        size_t n = (size_t)(cend - s);
        if (n == 0)
            return ref_error(err, text, "an empty component in the repository name");
        if (!path_component_valid(s, n)) {
            snprintf(what, sizeof what,
                     "'%.*s%s' is not a valid repository name component (lowercase letters and "
                     "digits, separated by '.', '_', '__' or '-')",
                     (int)(n > 64 ? 64 : n), s, n > 64 ? "..." : "");
            return ref_error(err, text, what);
        }
        s = cend + 1;
    }
    size_t len = p->path_len + (p->official ? strlen(OFFICIAL_PREFIX) : 0);
    if (len > PATH_MAX_LEN) {
        snprintf(what, sizeof what, "the repository name is %zu characters, more than %d", len,
                 PATH_MAX_LEN);
        return ref_error(err, text, what);
    }
    return 0;
}

/* splitDockerDomain: whether the first component is a domain */
static void split_domain(const char *s, Parts *p)
{
    const char *slash = strchr(s, '/');
    p->domain = NULL; /* docker.io */
    p->path = s;
    if (!slash) { /* a familiar name: docker.io/library/NAME */
        p->official = true;
        return;
    }
    size_t n = (size_t)(slash - s);
    if (span_is(s, n, "localhost")) /* always a domain */
        p->domain = s;
    else if (span_is(s, n, LEGACY_DOMAIN)) /* docker.io */
        p->path = slash + 1;
    else if (span_chr(s, n, '.') || span_chr(s, n, ':')) /* a host name, an address, a port */
        p->domain = s;
    else if (has_upper(s, n)) /* never a path component */
        p->domain = s;
    if (p->domain) {
        p->domain_len = n;
        p->path = slash + 1;
        if (span_is(s, n, NR_REF_DOCKER_DOMAIN))
            p->domain = NULL;
    }
    /* docker.io/NAME -> docker.io/library/NAME */
    p->official = !p->domain && !strchr(p->path, '/');
}

static int parse(const char *text, Parts *ret, NrError *err)
{
    char what[256];
    if (!text || !*text)
        return nr_error_msg(err, "an empty image reference");
    const char *s = text;
    if (strncmp(s, DOCKER_PREFIX, strlen(DOCKER_PREFIX)) == 0)
        s += strlen(DOCKER_PREFIX);
    if (!*s)
        return ref_error(err, text, "no image name after docker://");
    if (strlen(s) == 64 && is_lower_hex(s, 64))
        return ref_error(err, text,
                         "a 64-digit hexadecimal string is an image id, not a repository name");

    Parts p = { 0 };
    split_domain(s, &p);
    /* what follows the domain: PATH[:TAG][@DIGEST] */
    size_t rest = strlen(p.path);
    const char *at = span_chr(p.path, rest, '@');
    if (at) {
        p.digest = at + 1;
        p.digest_len = rest - (size_t)(p.digest - p.path);
        rest = (size_t)(at - p.path);
    }
    const char *colon = span_chr(p.path, rest, ':');
    p.path_len = colon ? (size_t)(colon - p.path) : rest;
    if (colon) {
        p.tag = colon + 1;
        p.tag_len = rest - p.path_len - 1;
    }

    /* ParseNormalizedNamed refuses uppercase in the path before the rest */
    if (has_upper(p.path, p.path_len)) {
        snprintf(what, sizeof what, "the repository name '%s%.*s%s' must be lowercase",
                 p.official ? OFFICIAL_PREFIX : "", (int)(p.path_len > 64 ? 64 : p.path_len),
                 p.path, p.path_len > 64 ? "..." : "");
        return ref_error(err, text, what);
    }
    if (p.domain && !domain_valid(p.domain, p.domain_len)) {
        snprintf(what, sizeof what,
                 "'%.*s%s' is not a registry domain (a host name or IP address, "
                 "[IPv6] in brackets, then an optional :PORT)",
                 (int)(p.domain_len > 64 ? 64 : p.domain_len), p.domain,
                 p.domain_len > 64 ? "..." : "");
        return ref_error(err, text, what);
    }
    if (check_path(text, &p, err) < 0)
        return -1;
    if (p.tag && p.tag_len == 0)
        return ref_error(err, text, "nothing after ':' (a tag)");
    if (p.tag && !tag_valid(p.tag, p.tag_len)) {
        snprintf(what, sizeof what,
                 "'%.*s%s' is not a valid tag (letters, digits, '_', '.' and '-', not first "
                 "'.' or '-', at most %d)",
                 (int)(p.tag_len > 64 ? 64 : p.tag_len), p.tag, p.tag_len > 64 ? "..." : "",
                 TAG_MAX_LEN);
        return ref_error(err, text, what);
    }
    if (p.digest && check_digest(text, p.digest, p.digest_len, err) < 0)
        return -1;
    *ret = p;
    return 0;
}

int nr_ref_parse(const char *text, NrRef *ret, NrError *err)
{
    Parts p;
    if (parse(text, &p, err) < 0)
        return -1;
    NrRef r = { 0 };
    r.domain = p.domain ? nr_strdup_printf("%.*s", (int)p.domain_len, p.domain)
                        : nr_xstrdup(NR_REF_DOCKER_DOMAIN);
    r.path = nr_strdup_printf("%s%.*s", p.official ? OFFICIAL_PREFIX : "", (int)p.path_len, p.path);
    if (p.tag)
        r.tag = nr_strdup_printf("%.*s", (int)p.tag_len, p.tag);
    else if (!p.digest) /* TagNameOnly */
        r.tag = nr_xstrdup(DEFAULT_TAG);
    if (p.digest)
        r.digest = nr_strdup_printf("%.*s", (int)p.digest_len, p.digest);
    r.name = nr_strdup_printf("%s/%s", r.domain, r.path);
    const char *t = r.tag ? ":" : "", *d = r.digest ? "@" : "";
    r.full =
        nr_strdup_printf("%s%s%s%s%s", r.name, t, r.tag ? r.tag : "", d, r.digest ? r.digest : "");
    /* familiarizeName: no docker.io/, and no library/ before a single name */
    const char *fam = r.name;
    if (strcmp(r.domain, NR_REF_DOCKER_DOMAIN) == 0) {
        fam = r.path;
        if (strncmp(fam, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0 &&
            !strchr(fam + strlen(OFFICIAL_PREFIX), '/'))
            fam += strlen(OFFICIAL_PREFIX);
    }
    r.familiar =
        nr_strdup_printf("%s%s%s%s%s", fam, t, r.tag ? r.tag : "", d, r.digest ? r.digest : "");
    *ret = r;
    return 0;
}

const char *nr_ref_string(const NrRef *ref)
{
    return ref->full;
}

const char *nr_ref_familiar(const NrRef *ref)
{
    return ref->familiar;
}

const char *nr_ref_registry_host(const NrRef *ref)
{
    return strcmp(ref->domain, NR_REF_DOCKER_DOMAIN) == 0 ? NR_REF_DOCKER_HOST : ref->domain;
}

const char *nr_ref_manifest_ref(const NrRef *ref)
{
    return ref->digest ? ref->digest : ref->tag;
}

void nr_ref_clear(NrRef *ref)
{
    free(ref->domain);
    free(ref->path);
    free(ref->tag);
    free(ref->digest);
    free(ref->name);
    free(ref->full);
    free(ref->familiar);
    memset(ref, 0, sizeof *ref);
}

/* endings of files: the tars nroot imports (plain or compressed) and other
 * images (squashfs, disk images); nobody pulls a repository named so */
static bool file_like(const char *s, size_t n)
{
    static const char *const endings[] = { ".tar",  ".tgz",      ".tbz2", ".txz", ".tzst",
                                           ".gz",   ".bz2",      ".xz",   ".zst", ".zstd",
                                           ".sqfs", ".squashfs", ".img" };
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++) {
        size_t e = strlen(endings[i]);
        if (n > e && memcmp(s + n - e, endings[i], e) == 0)
            return true;
    }
    return false;
}

bool nr_ref_looks_like(const char *text)
{
    if (!text || !*text)
        return false;
    if (strncmp(text, DOCKER_PREFIX, strlen(DOCKER_PREFIX)) == 0)
        return true;
    Parts p;
    if (parse(text, &p, NULL) < 0)
        return false;
    const char *last = p.path;
    for (const char *c = p.path; c < p.path + p.path_len; c++)
        if (*c == '/')
            last = c + 1;
    return !file_like(last, (size_t)(p.path + p.path_len - last));
}
