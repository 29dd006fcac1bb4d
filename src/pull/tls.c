/* SPDX-License-Identifier: Apache-2.0 */
/* tls.c — the registry's certificates as the container tools find them:
 * in CONFIG_DIR/certs.d/HOST[:PORT]/ (~/.config/containers),
 * /etc/containers/certs.d/ and /etc/docker/certs.d/, *.crt are CAs added
 * to the system's (CURLOPT_CAINFO_BLOB), and NAME.cert with NAME.key a
 * client certificate.
 *
 * The system's CAs come from its hashed directory (/etc/ssl/certs,
 * SSL_CERT_DIR: CURLOPT_CAPATH), where OpenSSL reads only the issuers a
 * chain needs: parsing the whole bundle costs OpenSSL 3 some 30 ms of CPU
 * per process, most of a re-pull.  Only without such a directory, or with
 * SSL_CERT_FILE set, is the bundle file used (into the blob when certs.d
 * has CAs, else as libcurl's default). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-util.h"
#include "pull.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void append(NrTls *t, const char *buf, size_t len)
{
    char *nb = realloc(t->ca_blob, t->ca_len + len + 2);
    if (!nb)
        abort();
    t->ca_blob = nb;
    memcpy(t->ca_blob + t->ca_len, buf, len);
    t->ca_len += len;
    t->ca_blob[t->ca_len++] = '\n';
    t->ca_blob[t->ca_len] = '\0';
}

static int add_file(NrTls *t, const char *path, NrError *err)
{
    size_t len;
    nr_autofree char *buf = nr_read_file(path, &len, err);
    if (!buf)
        return -1;
    append(t, buf, len);
    return 0;
}

/* a directory of c_rehash's <8 hex>.<n> names */
static bool hashed_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t i = 0;
        while (i < 8 && ((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            i++;
        found = i == 8 && n[8] == '.' && n[9] >= '0' && n[9] <= '9';
    }
    closedir(d);
    return found;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* the system's hashed CA directory, NULL if there is none to use.
 * SSL_CERT_FILE naming the system's own bundle (as some environments set
 * it) is no other choice: update-ca-certificates makes the bundle and the
 * directory from the same certificates. */
static char *system_capath(void)
{
    const char *file = getenv("SSL_CERT_FILE"), *dir = getenv("SSL_CERT_DIR");
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (file && file[0] && !same_file(file, v ? v->cainfo : NULL) &&
        !same_file(file, "/etc/ssl/certs/ca-certificates.crt"))
        return NULL; /* the user named another bundle: that one */
    const char *cands[] = { dir, v ? v->capath : NULL, "/etc/ssl/certs" };
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        if (!cands[i] || !cands[i][0])
            continue;
        /* SSL_CERT_DIR may be a list: its first */
        char *d = nr_strdup_printf("%.*s", (int)strcspn(cands[i], ":"), cands[i]);
        if (d[0] == '/' && hashed_dir(d))
            return d;
        free(d);
        if (i == 0)
            return NULL; /* SSL_CERT_DIR set but not hashed: libcurl's default */
    }
    return NULL;
}

/* the system's bundle first: the extra CAs add to it, as in containers/image */
static int add_system(NrTls *t, NrError *err)
{
    if (t->capath)
        return 0; /* the system's CAs come from there */
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    const char *env = getenv("SSL_CERT_FILE");
    const char *cands[] = { env, v ? v->cainfo : NULL, "/etc/ssl/certs/ca-certificates.crt",
                            "/etc/pki/tls/certs/ca-bundle.crt" };
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (cands[i] && cands[i][0] && access(cands[i], R_OK) == 0)
            return add_file(t, cands[i], err);
    return 0;
}

static int load_dir(NrTls *t, const char *dir, bool *system_added, NrError *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    /* names sorted would be nicer; the order of CAs does not matter and
     * the first client pair found wins */
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        nr_autofree char *path = nr_strdup_printf("%s/%s", dir, e->d_name);
        if (ends_with(e->d_name, ".crt")) {
            if (!*system_added) {
                rc = add_system(t, err);
                *system_added = true;
            }
            if (rc == 0)
                rc = add_file(t, path, err);
        } else if (ends_with(e->d_name, ".cert") && !t->cert) {
            size_t n = strlen(path) - strlen(".cert");
            nr_autofree char *key = nr_strdup_printf("%.*s.key", (int)n, path);
            if (access(key, R_OK) < 0) {
                rc = nr_error_msg(err, "'%s' has no key '%s'", path, key);
            } else {
                t->cert = nr_xstrdup(path);
                t->key = key;
                key = NULL;
            }
        } else if (ends_with(e->d_name, ".key")) {
            size_t n = strlen(path) - strlen(".key");
            nr_autofree char *cert = nr_strdup_printf("%.*s.cert", (int)n, path);
            if (access(cert, F_OK) < 0)
                rc = nr_error_msg(err, "'%s' has no certificate '%s'", path, cert);
        }
    }
    closedir(d);
    return rc;
}

int nr_tls_load(NrTls *t, const char *hostport, const char *config_dir, NrError *err)
{
    bool system_added = false;
    if (t->verify)
        t->capath = system_capath();
    nr_autofree char *user =
        config_dir ? nr_strdup_printf("%s/certs.d/%s", config_dir, hostport) : NULL;
    nr_autofree char *etc = nr_strdup_printf("/etc/containers/certs.d/%s", hostport);
    nr_autofree char *docker = nr_strdup_printf("/etc/docker/certs.d/%s", hostport);
    const char *dirs[] = { user, etc, docker };
    for (size_t i = 0; i < 3; i++)
        if (dirs[i] && load_dir(t, dirs[i], &system_added, err) < 0) {
            nr_error_prefix(err, "registry %s: certs.d", hostport);
            return -1;
        }
    return 0;
}

void nr_tls_apply(const NrTls *t, CURL *easy)
{
    if (!t->verify) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        if (t->capath) {
            curl_easy_setopt(easy, CURLOPT_CAINFO, NULL); /* not the bundle */
            curl_easy_setopt(easy, CURLOPT_CAPATH, t->capath);
        }
        const char *file = getenv("SSL_CERT_FILE");
        if (!t->capath && !t->ca_blob && file && file[0])
            curl_easy_setopt(easy, CURLOPT_CAINFO, file); /* as in add_system */
        if (t->ca_blob) {
            struct curl_blob b = { .data = t->ca_blob,
                                   .len = t->ca_len,
                                   .flags = CURL_BLOB_NOCOPY };
            curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &b);
        }
    }
    if (t->cert) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, t->cert);
        curl_easy_setopt(easy, CURLOPT_SSLKEY, t->key);
    }
}

void nr_tls_clear(NrTls *t)
{
    free(t->ca_blob);
    free(t->cert);
    free(t->key);
    free(t->capath);
    memset(t, 0, sizeof *t);
}
