/* SPDX-License-Identifier: Apache-2.0 */
/* auth.c — who the pull is: credentials as containers/image finds them,
 * and the registry's WWW-Authenticate challenge.
 *
 * The auth files, the first that knows the registry wins:
 * $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json,
 * CONFIG_DIR/auth.json (~/.config/containers), $DOCKER_CONFIG/config.json
 * (~/.docker).  In each: `credHelpers[HOST]` names a helper
 * (docker-credential-NAME get: the server on stdin, {"Username","Secret"}
 * on stdout), then the `auths` map (keys HOST[:PORT], HOST/NAMESPACE..., or
 * a URL as docker writes them: https://index.docker.io/v1/; `auth` is
 * base64 of user:password), then `credsStore`, the default helper. */
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nr-util.h"
#include "pull.h"

extern char **environ;

/* ------------------------------------------------------- challenges -- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    return p;
}

static bool is_token_char(char c)
{
    return c && !strchr(" \t,=\"", c);
}

/* one challenge: SCHEME [k=v|k="v, with \"escapes\""]... up to the next
 * SCHEME (a token not followed by '='); p after it */
static const char *parse_one(const char *p, NrChallenge *c, bool keep)
{
    p = skip_ws(p);
    const char *s = p;
    while (is_token_char(*p))
        p++;
    size_t sl = (size_t)(p - s);
    if (keep) {
        memset(c, 0, sizeof *c);
        if (sl < sizeof c->scheme)
            for (size_t i = 0; i < sl; i++)
                c->scheme[i] = (char)(s[i] | 0x20);
    }
    for (;;) {
        p = skip_ws(p);
        const char *k = p;
        while (is_token_char(*p))
            p++;
        size_t kl = (size_t)(p - k);
        const char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (kl == 0 || *q != '=')
            return k; /* the end, or the next challenge's scheme */
        p = q + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        char *val;
        if (*p == '"') {
            p++;
            val = nr_xmalloc(strlen(p) + 1);
            size_t n = 0;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                val[n++] = *p++;
            }
            val[n] = '\0';
            if (*p == '"')
                p++;
        } else {
            const char *v = p;
            while (*p && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            val = strndup(v, (size_t)(p - v));
        }
        char **slot = NULL;
        if (keep && kl == 5 && strncasecmp(k, "realm", 5) == 0)
            slot = &c->realm;
        else if (keep && kl == 7 && strncasecmp(k, "service", 7) == 0)
            slot = &c->service;
        else if (keep && kl == 5 && strncasecmp(k, "scope", 5) == 0)
            slot = &c->scope;
        if (slot && !*slot)
            *slot = val;
        else
            free(val);
    }
}

bool nr_auth_challenge_parse(const char *hdr, NrChallenge *c)
{
    NrChallenge basic = { 0 };
    const char *p = hdr;
    memset(c, 0, sizeof *c);
    while (*skip_ws(p)) {
        NrChallenge one;
        const char *next = parse_one(p, &one, true);
        if (strcmp(one.scheme, "bearer") == 0) {
            nr_auth_challenge_clear(&basic);
            *c = one;
            return true;
        }
        if (strcmp(one.scheme, "basic") == 0 && !basic.scheme[0])
            basic = one;
        else
            nr_auth_challenge_clear(&one);
        if (next == p)
            break;
        p = next;
    }
    *c = basic;
    return c->scheme[0] != '\0';
}

void nr_auth_challenge_clear(NrChallenge *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------- auth files -- */

/* docker.io's other names */
static const char *canonical_host(const char *h, size_t n)
{
    static const char *const hub[] = { "index.docker.io", "registry-1.docker.io", "docker.io" };
    for (size_t i = 0; i < 3; i++)
        if (strlen(hub[i]) == n && strncmp(h, hub[i], n) == 0)
            return "docker.io";
    return NULL;
}

char *nr_auth_normalise_key(const char *key)
{
    const char *p = key;
    bool url = false;
    if (strncmp(p, "https://", 8) == 0)
        p += 8, url = true;
    else if (strncmp(p, "http://", 7) == 0)
        p += 7, url = true;
    size_t n = url ? strcspn(p, "/") : strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    size_t hn = strcspn(p, "/");
    if (hn > n)
        hn = n;
    const char *hub = canonical_host(p, hn);
    if (hub)
        return nr_strdup_printf("%s%.*s", hub, (int)(n - hn), p + hn);
    return strndup(p, n);
}

static const char *member_string(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
        return json_node_get_string(n);
    return NULL;
}

static JsonObject *member_object(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static int decode_auth(const char *b64, const char *file, char **ret_user, char **ret_pass,
                       NrError *err)
{
    size_t n = strlen(b64);
    unsigned char *out = nr_xmalloc(n + 4);
    int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (len < 0) {
        free(out);
        return nr_error_msg(err, "'%s': an `auth` value that is not base64", file);
    }
    /* EVP_DecodeBlock counts the padding's zero bytes */
    while (len > 0 && n > 0 && b64[n - 1] == '=')
        len--, n--;
    out[len] = '\0';
    char *colon = strchr((char *)out, ':');
    if (!colon || colon == (char *)out) {
        explicit_bzero(out, (size_t)len);
        free(out);
        return nr_error_msg(err, "'%s': an `auth` value that is not user:password", file);
    }
    *colon = '\0';
    *ret_user = nr_xstrdup((char *)out);
    *ret_pass = nr_xstrdup(colon + 1);
    explicit_bzero(out, (size_t)len);
    free(out);
    return 1;
}

/* docker-credential-NAME get, `server` on its stdin */
static int run_helper(const char *name, const char *server, char **ret_user, char **ret_pass,
                      NrError *err)
{
    if (!name[0] || strchr(name, '/'))
        return nr_error_msg(err, "invalid credential helper name '%s'", name);
    nr_autofree char *prog = nr_strdup_printf("docker-credential-%s", name);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return nr_error_errno(err, "pipe");
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return nr_error_errno(err, "pipe");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = { prog, (char *)"get", NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        if (rc == ENOENT || rc == EACCES) /* EACCES: some PATH entry is closed to us */
            return nr_error_msg(err, "the credential helper %s for %s is not in PATH", prog,
                                server);
        errno = rc;
        return nr_error_errno(err, "cannot run the credential helper %s", prog);
    }
    nr_write_all(in[1], server, strlen(server));
    close(in[1]);
    size_t cap = 64u << 10, len = 0;
    nr_autofree char *buf = nr_xmalloc(cap + 1);
    for (;;) {
        ssize_t k = read(out[0], buf + len, cap - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
        if (len == cap)
            break;
    }
    buf[len] = '\0';
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (strstr(buf, "credentials not found"))
            return 0;
        return nr_error_msg(err, "the credential helper %s failed for %s", prog, server);
    }
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root = NULL;
    if (json_parser_load_from_data(p, buf, (gssize)len, NULL))
        root = json_parser_get_root(p);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    const char *user = member_string(o, "Username"), *secret = member_string(o, "Secret");
    explicit_bzero(buf, len);
    if (!user || !secret)
        return nr_error_msg(err, "the credential helper %s gave no Username and Secret", prog);
    *ret_user = nr_xstrdup(user);
    *ret_pass = nr_xstrdup(secret);
    return 1;
}

/* one file: 1 found, 0 not (or no such file), -1 error */
int nr_auth_lookup_file(const char *file, const char *registry, const char *repo, char **ret_user,
                        char **ret_pass, NrError *err)
{
    if (access(file, F_OK) < 0)
        return 0;
    size_t len;
    NrError e = { 0 };
    nr_autofree char *buf = nr_read_file(file, &len, &e);
    if (!buf) {
        *err = e;
        return -1;
    }
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) ge = NULL;
    if (!json_parser_load_from_data(p, buf, (gssize)len, &ge))
        return nr_error_msg(err, "'%s': %s", file, ge->message);
    explicit_bzero(buf, len);
    JsonNode *root = json_parser_get_root(p);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return nr_error_msg(err, "'%s' is not a JSON object", file);
    JsonObject *top = json_node_get_object(root);
    const char *helper = member_string(member_object(top, "credHelpers"), registry);
    if (helper)
        return run_helper(helper, registry, ret_user, ret_pass, err);
    JsonObject *auths = member_object(top, "auths");
    nr_autofree char *full = nr_strdup_printf("%s/%s", registry, repo);
    const char *best = NULL;
    size_t best_len = 0;
    GList *keys = auths ? json_object_get_members(auths) : NULL;
    for (GList *k = keys; k; k = k->next) {
        nr_autofree char *norm = nr_auth_normalise_key(k->data);
        size_t n = strlen(norm);
        bool match = strcmp(norm, registry) == 0 ||
                     (strncmp(full, norm, n) == 0 && full[n] == '/' && strchr(norm, '/'));
        if (match && n > best_len) {
            best = k->data;
            best_len = n;
        }
    }
    int rc = 0;
    if (best) {
        JsonObject *entry = member_object(auths, best);
        const char *a = member_string(entry, "auth");
        const char *u = member_string(entry, "username"), *pw = member_string(entry, "password");
        if (a && a[0])
            rc = decode_auth(a, file, ret_user, ret_pass, err);
        else if (u && pw) {
            *ret_user = nr_xstrdup(u);
            *ret_pass = nr_xstrdup(pw);
            rc = 1;
        }
    }
    g_list_free(keys);
    if (rc != 0)
        return rc;
    const char *store = member_string(top, "credsStore");
    if (store && store[0])
        return run_helper(store, registry, ret_user, ret_pass, err);
    return 0;
}

int nr_auth_lookup(const char *registry, const char *repo, const char *config_dir, char **ret_user,
                   char **ret_pass, NrError *err)
{
    *ret_user = *ret_pass = NULL;
    const char *home = getenv("HOME");
    const char *env = getenv("REGISTRY_AUTH_FILE");
    const char *run = getenv("XDG_RUNTIME_DIR");
    const char *docker = getenv("DOCKER_CONFIG");
    nr_autofree char *f1 = env && env[0] ? nr_xstrdup(env) : NULL;
    nr_autofree char *f2 = run && run[0] ? nr_strdup_printf("%s/containers/auth.json", run) : NULL;
    nr_autofree char *f3 = config_dir ? nr_strdup_printf("%s/auth.json", config_dir) : NULL;
    nr_autofree char *f4 = docker && docker[0] ? nr_strdup_printf("%s/config.json", docker)
                           : home              ? nr_strdup_printf("%s/.docker/config.json", home)
                                               : NULL;
    const char *files[] = { f1, f2, f3, f4 };
    const char *reg = canonical_host(registry, strlen(registry)) ? "docker.io" : registry;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!files[i])
            continue;
        int rc = nr_auth_lookup_file(files[i], reg, repo, ret_user, ret_pass, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

char *nr_auth_file_default(const char *config_dir)
{
    const char *env = getenv("REGISTRY_AUTH_FILE");
    if (env && env[0])
        return nr_xstrdup(env);
    const char *run = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    if (run && run[0] == '/' && stat(run, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid == getuid() && access(run, W_OK | X_OK) == 0)
        return nr_strdup_printf("%s/containers/auth.json", run);
    return config_dir ? nr_strdup_printf("%s/auth.json", config_dir) : NULL;
}
