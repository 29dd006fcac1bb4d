/* SPDX-License-Identifier: Apache-2.0 */
/* login.c — what `nroot login` and `nroot logout` ask of the helper: the
 * credentials checked against the registry's /v2/ (Basic, or the Bearer
 * token flow of http.c), and the containers auth.json edited as podman
 * does: {"auths": {"HOST[:PORT]": {"auth": base64(USER:PASSWORD)}}}, every
 * other key and entry of the file kept, written whole to a temporary file
 * (mode 0600) renamed over it, its directory made 0700 when missing. */
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-util.h"
#include "pull.h"

#define CRED_MAX (64u << 10) /* what stdin may carry: user and password */

/* the key of `registry` as podman writes it: HOST[:PORT], docker.io for
 * Docker Hub (index.docker.io, https://index.docker.io/v1/ ...) */
static char *registry_key(const char *registry, NrError *err)
{
    char *key = nr_auth_normalise_key(registry);
    if (!key[0] || strpbrk(key, "@ \t\r\n?#\\\"") || strlen(key) > 255) {
        nr_error_msg(err, "invalid registry '%s'", registry);
    } else if (strchr(key, '/')) {
        nr_error_msg(err, "invalid registry '%s': a registry is HOST[:PORT]", registry);
        nr_error_hint(err, "credentials of one namespace of a registry are not supported");
    } else {
        return key;
    }
    free(key);
    return NULL;
}

/* ------------------------------------------------------- the file -- */

typedef struct AuthFile {
    char *path;
    JsonNode *root; /* an object; a new one when the file is missing */
    bool exists;
} AuthFile;

static void auth_file_clear(AuthFile *f)
{
    free(f->path);
    if (f->root)
        json_node_unref(f->root);
    memset(f, 0, sizeof *f);
}

static int auth_file_load(AuthFile *f, const char *authfile, const char *config_dir, NrError *err)
{
    memset(f, 0, sizeof *f);
    f->path = authfile ? nr_xstrdup(authfile) : nr_auth_file_default(config_dir);
    if (!f->path)
        return nr_error_msg(err, "no auth file: set $XDG_RUNTIME_DIR or $HOME, or give --authfile");
    size_t len = 0;
    nr_autofree char *buf = NULL;
    if (access(f->path, F_OK) == 0) {
        buf = nr_read_file(f->path, &len, err);
        if (!buf)
            return -1;
        f->exists = true;
    }
    if (!buf || len == 0) {
        f->root = json_node_init_object(json_node_alloc(), json_object_new());
        return 0;
    }
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) ge = NULL;
    bool ok = json_parser_load_from_data(p, buf, (gssize)len, &ge);
    explicit_bzero(buf, len);
    if (!ok)
        return nr_error_msg(err, "'%s': %s", f->path, ge->message);
    JsonNode *root = json_parser_get_root(p);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return nr_error_msg(err, "'%s' is not a JSON object", f->path);
    f->root = json_node_copy(root);
    JsonNode *auths = json_object_get_member(json_node_get_object(f->root), "auths");
    if (auths && !JSON_NODE_HOLDS_OBJECT(auths) && !JSON_NODE_HOLDS_NULL(auths))
        return nr_error_msg(err, "'%s': \"auths\" is not an object", f->path);
    return 0;
}

/* the "auths" object, made when missing */
static JsonObject *auth_file_auths(AuthFile *f)
{
    JsonObject *top = json_node_get_object(f->root);
    JsonNode *n = json_object_get_member(top, "auths");
    if (n && JSON_NODE_HOLDS_OBJECT(n))
        return json_node_get_object(n);
    json_object_set_object_member(top, "auths", json_object_new());
    return json_object_get_object_member(top, "auths");
}

/* remove every entry whose key names `key` (its other spellings too);
 * the number removed */
static int auths_remove(JsonObject *auths, const char *key)
{
    GList *keys = json_object_get_members(auths);
    int n = 0;
    for (GList *k = keys; k; k = k->next) {
        nr_autofree char *norm = nr_auth_normalise_key(k->data);
        if (strcmp(norm, key) == 0) {
            json_object_remove_member(auths, k->data);
            n++;
        }
    }
    g_list_free(keys);
    return n;
}

/* the whole file to PATH.XXXXXX (0600), renamed over PATH */
static int auth_file_save(AuthFile *f, NrError *err)
{
    nr_autofree char *dir = nr_xstrdup(f->path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (nr_mkdir_p(dir, 0700, err) < 0)
            return -1;
    }
    g_autoptr(JsonGenerator) g = json_generator_new();
    json_generator_set_root(g, f->root);
    json_generator_set_pretty(g, TRUE);
    json_generator_set_indent(g, 1);
    json_generator_set_indent_char(g, '\t');
    gsize len = 0;
    g_autofree char *text = json_generator_to_data(g, &len);
    nr_autofree char *tmp = nr_strdup_printf("%s.XXXXXX", f->path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return nr_error_errno(err, "cannot write '%s'", f->path);
    int rc = 0;
    if (fchmod(fd, 0600) < 0 || nr_write_all(fd, text, len) < 0 || nr_write_all(fd, "\n", 1) < 0 ||
        fsync(fd) < 0)
        rc = nr_error_errno(err, "cannot write '%s'", tmp);
    explicit_bzero(text, len);
    if (close(fd) < 0 && rc == 0)
        rc = nr_error_errno(err, "cannot write '%s'", tmp);
    if (rc == 0 && rename(tmp, f->path) < 0)
        rc = nr_error_errno(err, "cannot replace '%s'", f->path);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* ---------------------------------------------------------- login -- */

/* "USER\nPASSWORD\n" from stdin (a pipe, as nroot login gives it) */
static int read_credentials(char **ret_user, char **ret_pass, NrError *err)
{
    nr_autofree char *buf = nr_xmalloc(CRED_MAX + 1);
    size_t len = 0;
    for (;;) {
        ssize_t k = read(STDIN_FILENO, buf + len, CRED_MAX - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return nr_error_errno(err, "cannot read the credentials on stdin");
        if (k == 0)
            break;
        len += (size_t)k;
        if (len == CRED_MAX) {
            explicit_bzero(buf, len);
            return nr_error_msg(err, "the credentials on stdin are longer than %u bytes", CRED_MAX);
        }
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        explicit_bzero(buf, len);
        return nr_error_msg(err, "the credentials on stdin hold a NUL byte");
    }
    char *nl = strchr(buf, '\n');
    char *end = nl ? strchr(nl + 1, '\n') : NULL;
    int rc = 0;
    if (!nl || !end || end[1] || nl == buf || memchr(buf, ':', (size_t)(nl - buf))) {
        rc = nr_error_msg(err, "--login reads USER, a newline, PASSWORD, a newline on stdin "
                               "(USER not empty, without ':')");
    } else {
        *ret_user = strndup(buf, (size_t)(nl - buf));
        *ret_pass = strndup(nl + 1, (size_t)(end - nl - 1));
    }
    explicit_bzero(buf, strlen(buf));
    return rc;
}

/* GET /v2/ with the credentials: 0 accepted */
static int check(const char *registry, const char *user, const char *pass, bool plain, bool verify,
                 const char *config_dir, bool *ret_tls_failed, NrError *err)
{
    NrHttp h;
    int rc = nr_http_init(&h, registry, NULL, plain, verify, config_dir, err);
    if (rc == 0) {
        h.user = nr_xstrdup(user);
        h.pass = nr_xstrdup(pass);
        rc = nr_http_probe(&h, err);
    }
    *ret_tls_failed = h.tls_failed;
    nr_http_clear(&h);
    return rc;
}

int nr_login(const char *registry, const char *authfile, const char *config_dir, bool plain,
             bool verify, NrError *err)
{
    nr_autofree char *key = registry_key(registry, err);
    if (!key)
        return -1;
    char *user = NULL, *pass = NULL;
    AuthFile f;
    /* a broken auth file fails before the registry is asked */
    int rc = auth_file_load(&f, authfile, config_dir, err);
    if (rc == 0)
        rc = read_credentials(&user, &pass, err);
    if (rc == 0) {
        bool tls_failed = false;
        rc = check(key, user, pass, plain, verify, config_dir, &tls_failed, err);
        /* --tls-verify=false on a registry that answers plain HTTP, as
         * podman: the handshake failed, so no credential was sent yet */
        if (rc < 0 && tls_failed && !verify && !plain) {
            NrError e2 = { 0 };
            if (check(key, user, pass, true, verify, config_dir, &tls_failed, &e2) == 0)
                rc = 0;
        }
    }
    if (rc == 0) {
        JsonObject *auths = auth_file_auths(&f);
        auths_remove(auths, key);
        nr_autofree char *pair = nr_strdup_printf("%s:%s", user, pass);
        size_t n = strlen(pair);
        nr_autofree char *b64 = nr_xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pair, (int)n);
        JsonObject *entry = json_object_new();
        json_object_set_string_member(entry, "auth", b64);
        json_object_set_object_member(auths, key, entry);
        explicit_bzero(pair, n);
        explicit_bzero(b64, strlen(b64));
        rc = auth_file_save(&f, err);
    }
    if (rc == 0)
        printf("Login Succeeded!\n");
    if (pass)
        explicit_bzero(pass, strlen(pass));
    free(user);
    free(pass);
    auth_file_clear(&f);
    return rc;
}

/* --------------------------------------------------------- logout -- */

int nr_logout(const char *registry, const char *authfile, const char *config_dir, NrError *err)
{
    nr_autofree char *key = NULL;
    if (registry && !(key = registry_key(registry, err)))
        return -1;
    AuthFile f;
    int rc = auth_file_load(&f, authfile, config_dir, err);
    if (rc == 0 && !key) {
        if (f.exists) {
            json_object_set_object_member(json_node_get_object(f.root), "auths", json_object_new());
            rc = auth_file_save(&f, err);
        }
        if (rc == 0)
            printf("Removed login credentials for all registries\n");
    } else if (rc == 0) {
        if (!f.exists || auths_remove(auth_file_auths(&f), key) == 0) {
            rc = nr_error_msg(err, "not logged into %s", key);
        } else {
            rc = auth_file_save(&f, err);
            if (rc == 0)
                printf("Removed login credentials for %s\n", key);
        }
    }
    auth_file_clear(&f);
    return rc;
}

/* ------------------------------------------------------ get-login -- */

int nr_login_get(const char *registry, const char *authfile, const char *config_dir, NrError *err)
{
    nr_autofree char *key = registry_key(registry, err);
    if (!key)
        return -1;
    char *user = NULL, *pass = NULL;
    /* --authfile: that file alone; else where a pull looks */
    int rc = authfile ? nr_auth_lookup_file(authfile, key, "", &user, &pass, err)
                      : nr_auth_lookup(key, "", config_dir, &user, &pass, err);
    if (rc == 0)
        rc = nr_error_msg(err, "not logged into %s", key);
    else if (rc > 0) {
        printf("%s\n", user);
        rc = 0;
    }
    if (pass)
        explicit_bzero(pass, strlen(pass));
    free(user);
    free(pass);
    return rc;
}
