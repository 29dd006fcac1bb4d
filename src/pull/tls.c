/* SPDX-License-Identifier: Apache-2.0 */
/* tls.c — the registry's certificates as the container tools find them:
 * in CONFIG_DIR/certs.d/HOST[:PORT]/ (~/.config/containers),
 * /etc/containers/certs.d/ and /etc/docker/certs.d/, *.crt are CAs added
 * to the system's (one bundle built in memory: CURLOPT_CAINFO_BLOB), and
 * NAME.cert with NAME.key a client certificate. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* the system's bundle first: the extra CAs add to it, as in containers/image */
static int add_system(NrTls *t, NrError *err)
{
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
    } else if (t->ca_blob) {
        struct curl_blob b = { .data = t->ca_blob, .len = t->ca_len, .flags = CURL_BLOB_NOCOPY };
        curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &b);
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
    memset(t, 0, sizeof *t);
}
