/* SPDX-License-Identifier: Apache-2.0 */
/* http.c — the registry's HTTP: one libcurl multi handle (its connection
 * pool is the one per registry; HTTP/2 multiplexes where the server offers
 * it, else keep-alive), requests with the registry's Authorization, the
 * auth challenge answered (Basic, or a Bearer token from the realm),
 * redirects followed by hand — Authorization only ever to the registry's
 * own host — and retries with backoff on 5xx and broken connections. */
#include <ctype.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nr-util.h"
#include "pull.h"

static size_t on_header(char *buf, size_t size, size_t n, void *data)
{
    NrReq *r = data;
    size_t len = size * n;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new response (after a 100 Continue, say): its headers only */
        char **all[] = { &r->www_auth, &r->location, &r->content_type, &r->docker_digest,
                         &r->content_range };
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            free(*all[i]);
            *all[i] = NULL;
        }
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (!colon)
        return len;
    size_t klen = (size_t)(colon - buf);
    const char *v = colon + 1, *end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    static const struct {
        const char *name;
        size_t off;
    } keep[] = {
        { "www-authenticate", offsetof(NrReq, www_auth) },
        { "location", offsetof(NrReq, location) },
        { "content-type", offsetof(NrReq, content_type) },
        { "docker-content-digest", offsetof(NrReq, docker_digest) },
        { "content-range", offsetof(NrReq, content_range) },
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        if (strlen(keep[i].name) != klen || strncasecmp(buf, keep[i].name, klen) != 0)
            continue;
        char **slot = (char **)((char *)r + keep[i].off);
        char *val = strndup(v, (size_t)(end - v));
        if (!val)
            return 0;
        if (*slot && i == 0) {
            /* several challenges: one list, as the header's syntax allows */
            char *both = nr_strdup_printf("%s, %s", *slot, val);
            free(val);
            val = both;
        }
        free(*slot);
        *slot = val;
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *data)
{
    NrReq *r = data;
    size_t len = size * n;
    if (r->write)
        return r->write(r, buf, len) ? len : 0;
    if (r->len + len > r->max) {
        r->too_big = true;
        return 0;
    }
    char *nb = realloc(r->body, r->len + len + 1);
    if (!nb)
        return 0;
    r->body = nb;
    memcpy(r->body + r->len, buf, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

/* host[:port] of an absolute URL, lowercase; NULL if it has none */
static char *url_origin(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        out = nr_strdup_printf("%s:%s", host, port);
        for (char *p = out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

int nr_http_init(NrHttp *h, const char *registry, const char *repo, bool plain, bool verify,
                 const char *config_dir, NrError *err)
{
    memset(h, 0, sizeof *h);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return nr_error_msg(err, "cannot initialise libcurl");
    h->multi = curl_multi_init();
    if (!h->multi)
        return nr_error_msg(err, "cannot initialise libcurl");
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    h->registry = nr_xstrdup(registry);
    h->login = repo == NULL;
    h->repo = repo ? nr_xstrdup(repo) : NULL;
    h->config_dir = config_dir ? nr_xstrdup(config_dir) : NULL;
    /* docker.io is a name; its API answers at registry-1.docker.io */
    const char *api = strcmp(registry, "docker.io") == 0 ? "registry-1.docker.io" : registry;
    h->base = nr_strdup_printf("%s://%s", plain ? "http" : "https", api);
    h->api_host = url_origin(h->base);
    if (!h->api_host)
        return nr_error_msg(err, "invalid registry '%s'", registry);
    h->tls.verify = verify;
    if (!plain && nr_tls_load(&h->tls, registry, config_dir, err) < 0)
        return -1;
    if (!h->login && nr_auth_lookup(registry, repo, config_dir, &h->user, &h->pass, err) < 0)
        return -1;
    return 0;
}

void nr_http_clear(NrHttp *h)
{
    if (h->multi)
        curl_multi_cleanup(h->multi);
    free(h->registry);
    free(h->base);
    free(h->repo);
    free(h->api_host);
    free(h->config_dir);
    free(h->user);
    if (h->pass)
        explicit_bzero(h->pass, strlen(h->pass));
    free(h->pass);
    if (h->authz)
        explicit_bzero(h->authz, strlen(h->authz));
    free(h->authz);
    nr_tls_clear(&h->tls);
    curl_global_cleanup();
    memset(h, 0, sizeof *h);
}

/* the request, with or without the registry's Authorization */
static NrReq *start(NrHttp *h, const char *url, const char *accept, uint64_t from_offset,
                    const char *authz)
{
    NrReq *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->url = nr_xstrdup(url);
    r->easy = curl_easy_init();
    if (!r->easy) {
        free(r->url);
        free(r);
        return NULL;
    }
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "nroot-pull/" NR_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a stalled transfer (under 1 byte/s for 60 s) is a broken connection */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    nr_tls_apply(&h->tls, e);
    if (accept) {
        char *line = nr_strdup_printf("Accept: %s", accept);
        r->headers = curl_slist_append(r->headers, line);
        free(line);
    }
    if (authz)
        r->headers = curl_slist_append(r->headers, authz);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    if (from_offset > 0) {
        char range[48];
        snprintf(range, sizeof range, "%llu-", (unsigned long long)from_offset);
        curl_easy_setopt(e, CURLOPT_RANGE, range);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        nr_http_req_free(NULL, r);
        return NULL;
    }
    return r;
}

NrReq *nr_http_start(NrHttp *h, const char *url, const char *accept, uint64_t from_offset)
{
    /* the registry's credentials go to its own origin only: a redirect to
     * blob storage elsewhere gets none */
    nr_autofree char *origin = url_origin(url);
    bool ours = origin && strcmp(origin, h->api_host) == 0;
    return start(h, url, accept, from_offset, ours ? h->authz : NULL);
}

void nr_http_req_free(NrHttp *h, NrReq *r)
{
    if (!r)
        return;
    if (h && r->easy)
        curl_multi_remove_handle(h->multi, r->easy);
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->url);
    free(r->www_auth);
    free(r->location);
    free(r->content_type);
    free(r->docker_digest);
    free(r->content_range);
    free(r->body);
    free(r);
}

int nr_http_step(NrHttp *h, int timeout_ms, NrError *err)
{
    int running = 0;
    CURLMcode mc = curl_multi_perform(h->multi, &running);
    if (mc == CURLM_OK && running > 0)
        mc = curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL);
    else if (mc == CURLM_OK && timeout_ms > 0)
        poll(NULL, 0, timeout_ms > 50 ? 50 : timeout_ms);
    if (mc == CURLM_OK)
        mc = curl_multi_perform(h->multi, &running);
    if (mc != CURLM_OK)
        return nr_error_msg(err, "libcurl: %s", curl_multi_strerror(mc));
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        NrReq *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (!r)
            continue;
        r->result = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
        r->done = true;
    }
    return 0;
}

int nr_http_backoff_ms(int attempt)
{
    /* 0.5 s, 1 s, 2 s, ... as containers/image, capped */
    int ms = 500 << (attempt > 5 ? 5 : attempt - 1);
    return ms > 10000 ? 10000 : ms;
}

void nr_http_error_detail(const NrReq *r, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!r->body || !r->len)
        return;
    g_autoptr(JsonParser) p = json_parser_new();
    if (!json_parser_load_from_data(p, r->body, (gssize)r->len, NULL))
        return;
    JsonNode *root = json_parser_get_root(p);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return;
    JsonObject *o = json_node_get_object(root);
    JsonNode *errs = json_object_get_member(o, "errors");
    if (!errs || !JSON_NODE_HOLDS_ARRAY(errs) ||
        json_array_get_length(json_node_get_array(errs)) == 0)
        return;
    JsonNode *e0 = json_array_get_element(json_node_get_array(errs), 0);
    if (!JSON_NODE_HOLDS_OBJECT(e0))
        return;
    JsonNode *msg = json_object_get_member(json_node_get_object(e0), "message");
    if (msg && JSON_NODE_HOLDS_VALUE(msg) && json_node_get_value_type(msg) == G_TYPE_STRING)
        snprintf(buf, size, "%s", json_node_get_string(msg));
}

int nr_http_denied(NrHttp *h, const char *what, NrError *err)
{
    if (h->login)
        return nr_error_msg(err, "registry %s refused the credentials of '%s'", h->registry,
                            h->user ? h->user : "");
    if (h->user)
        nr_error_msg(err, "registry %s refused the credentials of '%s' for %s", h->registry,
                     h->user, what);
    else
        nr_error_msg(err, "registry %s requires authentication for %s", h->registry, what);
    nr_error_hint(err, "log in with: nroot login %s", h->registry);
    return -1;
}

static char *base64(const char *s)
{
    size_t n = strlen(s);
    char *out = nr_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

static char *basic_header(NrHttp *h)
{
    nr_autofree char *pair = nr_strdup_printf("%s:%s", h->user, h->pass ? h->pass : "");
    nr_autofree char *b = base64(pair);
    explicit_bzero(pair, strlen(pair));
    return nr_strdup_printf("Authorization: Basic %s", b);
}

/* the token from the realm: GET realm?service=S&scope=S with Basic
 * credentials if any; {"token"|"access_token": ...} */
static int fetch_token(NrHttp *h, const NrChallenge *c, NrError *err)
{
    if (strncmp(c->realm, "https://", 8) != 0 && strncmp(c->realm, "http://", 7) != 0)
        return nr_error_msg(err, "registry %s: invalid token realm '%s'", h->registry, c->realm);
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, c->realm, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return nr_error_msg(err, "registry %s: invalid token realm '%s'", h->registry, c->realm);
    }
    /* the login check asks for no scope: a token for the service alone,
     * as docker and podman log in */
    nr_autofree char *scope = c->scope  ? nr_xstrdup(c->scope)
                              : h->repo ? nr_strdup_printf("repository:%s:pull", h->repo)
                                        : NULL;
    if (c->service) {
        nr_autofree char *q = nr_strdup_printf("service=%s", c->service);
        curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE);
    }
    if (scope) {
        nr_autofree char *q = nr_strdup_printf("scope=%s", scope);
        curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE);
    }
    char *url = NULL;
    curl_url_get(u, CURLUPART_URL, &url, 0);
    curl_url_cleanup(u);
    if (!url)
        return nr_error_msg(err, "registry %s: invalid token realm", h->registry);
    nr_autofree char *authz = h->user ? basic_header(h) : NULL;
    NrReq *r = start(h, url, "application/json", 0, authz);
    curl_free(url);
    if (authz)
        explicit_bzero(authz, strlen(authz));
    if (!r)
        return nr_error_msg(err, "cannot start a request");
    r->max = 1u << 20;
    while (!r->done)
        if (nr_http_step(h, 1000, err) < 0) {
            nr_http_req_free(h, r);
            return -1;
        }
    int rc = -1;
    if (r->result != CURLE_OK) {
        nr_error_msg(err, "registry %s: token server '%s': %s", h->registry, c->realm,
                     r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result));
    } else if (r->status == 401 || r->status == 403) {
        nr_http_denied(h, h->repo, err);
    } else if (r->status != 200) {
        nr_error_msg(err, "registry %s: token server '%s' answered %ld", h->registry, c->realm,
                     r->status);
    } else {
        g_autoptr(JsonParser) p = json_parser_new();
        JsonNode *root = NULL;
        if (json_parser_load_from_data(p, r->body ? r->body : "", (gssize)r->len, NULL))
            root = json_parser_get_root(p);
        const char *tok = NULL;
        if (root && JSON_NODE_HOLDS_OBJECT(root)) {
            JsonObject *o = json_node_get_object(root);
            const char *names[] = { "token", "access_token" };
            for (size_t i = 0; i < 2 && !tok; i++) {
                JsonNode *n = json_object_get_member(o, names[i]);
                if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
                    json_node_get_string(n)[0])
                    tok = json_node_get_string(n);
            }
        }
        if (!tok) {
            nr_error_msg(err, "registry %s: the token server '%s' gave no token", h->registry,
                         c->realm);
        } else if (strpbrk(tok, "\r\n")) {
            nr_error_msg(err, "registry %s: the token server gave an invalid token", h->registry);
        } else {
            free(h->authz);
            h->authz = nr_strdup_printf("Authorization: Bearer %s", tok);
            rc = 0;
        }
    }
    if (r->body)
        explicit_bzero(r->body, r->len);
    nr_http_req_free(h, r);
    return rc;
}

static long long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

/* answer a 401's challenge: Basic with the credentials, Bearer with a token */
static int authenticate(NrHttp *h, const char *www_auth, NrError *err)
{
    NrChallenge c;
    if (!www_auth || !nr_auth_challenge_parse(www_auth, &c))
        return nr_error_msg(err, "registry %s answered 401 without a usable challenge",
                            h->registry);
    int rc;
    if (strcmp(c.scheme, "basic") == 0) {
        if (!h->user)
            rc = nr_http_denied(h, h->repo, err);
        else {
            free(h->authz);
            h->authz = basic_header(h);
            rc = 0;
        }
    } else if (!c.realm) {
        rc = nr_error_msg(err, "registry %s: a Bearer challenge without a realm", h->registry);
    } else {
        rc = fetch_token(h, &c, err);
    }
    nr_auth_challenge_clear(&c);
    h->authed = rc == 0;
    h->auth_at = mono_s();
    return rc;
}

/* the server's TLS alert says it wants a client certificate (with TLS 1.3
 * it comes after the handshake, as a read error) */
static bool cert_alert(const NrReq *r)
{
    return strstr(r->errbuf, "certificate required") ||
           strstr(r->errbuf, "alert bad certificate") ||
           strstr(r->errbuf, "alert handshake failure");
}

static bool client_cert_hint(const NrHttp *h, const NrReq *r, NrError *err)
{
    bool alert = cert_alert(r);
    /* or the server hung up right after the handshake (the alert lost in
     * the race with the close), and we offered no certificate */
    char *url = NULL;
    bool https = curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url &&
                 strncmp(url, "https:", 6) == 0;
    bool hangup = https && !h->tls.cert &&
                  (r->result == CURLE_RECV_ERROR || r->result == CURLE_SEND_ERROR ||
                   r->result == CURLE_GOT_NOTHING) &&
                  (strstr(r->errbuf, "errno 107") || strstr(r->errbuf, "reset by peer") ||
                   strstr(r->errbuf, "Empty reply") || strstr(r->errbuf, "SSL_read") ||
                   strstr(r->errbuf, "SSL_write"));
    if (!alert && !hangup)
        return false;
    nr_error_hint(err,
                  "the registry may ask a client certificate: client.cert and client.key in "
                  "~/.config/containers/certs.d/%s/",
                  h->registry);
    return true;
}

/* a connection that failed went through a proxy: name it (curl's own
 * message names only the host it could not reach) */
static void proxy_hint(const NrHttp *h, const NrReq *r, NrError *err)
{
    /* a host $NO_PROXY names (roughly: curl matches its domain suffixes) */
    const char *np = getenv("no_proxy") ? getenv("no_proxy") : getenv("NO_PROXY");
    nr_autofree char *host = nr_xstrdup(h->registry);
    host[strcspn(host, host[0] == '[' ? "]" : ":")] = '\0';
    if (np && (strcmp(np, "*") == 0 || strstr(np, host[0] == '[' ? host + 1 : host)))
        return;
    if (r->result != CURLE_COULDNT_CONNECT && r->result != CURLE_COULDNT_RESOLVE_PROXY &&
        r->result != CURLE_RECV_ERROR && r->result != CURLE_OPERATION_TIMEDOUT)
        return;
    char *url = NULL;
    if (curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
        return;
    /* curl's order; it takes no HTTP_PROXY in capitals */
    bool https = strncmp(url, "https:", 6) == 0;
    const char *const vars[] = { https ? "https_proxy" : "http_proxy", "HTTPS_PROXY", "all_proxy",
                                 "ALL_PROXY" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (i == 1 && !https)
            continue;
        const char *v = getenv(vars[i]);
        if (v && v[0]) {
            nr_error_hint(err,
                          "the connection goes through the proxy %s ($%s); hosts in $NO_PROXY "
                          "are reached directly",
                          v, vars[i]);
            return;
        }
    }
}

NrNext nr_http_next(NrHttp *h, NrReq *r, int attempt, int redirects, char **ret_url, NrError *err)
{
    if (r->result != CURLE_OK && !(r->result == CURLE_WRITE_ERROR && (r->write || r->too_big))) {
        if (r->result == CURLE_PEER_FAILED_VERIFICATION || r->result == CURLE_SSL_CACERT_BADFILE ||
            r->result == CURLE_SSL_CONNECT_ERROR || r->result == CURLE_SSL_CERTPROBLEM) {
            h->tls_failed = true;
            nr_error_msg(err, "registry %s: TLS: %s", h->registry,
                         r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result));
            if (strstr(r->errbuf, "wrong version number"))
                nr_error_hint(err, "the registry answers plain HTTP (--plain-http)");
            else if (client_cert_hint(h, r, err))
                ;
            else
                nr_error_hint(err,
                              "put its CA in ~/.config/containers/certs.d/%s/ca.crt, or pull "
                              "with --tls-verify=false",
                              h->registry);
            return NR_NEXT_FAIL;
        }
        /* a server's refusal of our certificate will not change on a retry */
        if (attempt < NR_PULL_ATTEMPTS && r->result != CURLE_UNSUPPORTED_PROTOCOL &&
            r->result != CURLE_URL_MALFORMAT && !cert_alert(r))
            return NR_NEXT_RETRY;
        nr_error_msg(err, "registry %s: %s", h->registry,
                     r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result));
        if (!client_cert_hint(h, r, err))
            proxy_hint(h, r, err);
        return NR_NEXT_FAIL;
    }
    long s = r->status;
    if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
        if (!r->location) {
            nr_error_msg(err, "registry %s: a redirect without a location", h->registry);
            return NR_NEXT_FAIL;
        }
        if (redirects >= NR_PULL_REDIRECTS) {
            nr_error_msg(err, "registry %s: too many redirects", h->registry);
            return NR_NEXT_FAIL;
        }
        CURLU *u = curl_url();
        char *next = NULL;
        if (u && curl_url_set(u, CURLUPART_URL, r->url, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, r->location, 0) == CURLUE_OK)
            curl_url_get(u, CURLUPART_URL, &next, 0);
        curl_url_cleanup(u);
        if (!next || (strncmp(next, "https://", 8) != 0 && strncmp(next, "http://", 7) != 0)) {
            curl_free(next);
            nr_error_msg(err, "registry %s: an invalid redirect", h->registry);
            return NR_NEXT_FAIL;
        }
        *ret_url = nr_xstrdup(next);
        curl_free(next);
        return NR_NEXT_REDIRECT;
    }
    if (s == 401) {
        nr_autofree char *origin = url_origin(r->url);
        bool ours = origin && strcmp(origin, h->api_host) == 0;
        /* once; again when the token may have expired (a long pull):
         * registries hand out tokens for minutes */
        if (ours && (!h->authed || mono_s() - h->auth_at >= NR_PULL_REAUTH_S)) {
            if (authenticate(h, r->www_auth, err) < 0)
                return NR_NEXT_FAIL;
            return NR_NEXT_AUTH;
        }
        return NR_NEXT_DONE;
    }
    if ((s >= 500 || s == 429 || s == 408) && attempt < NR_PULL_ATTEMPTS)
        return NR_NEXT_RETRY;
    return NR_NEXT_DONE;
}

NrReq *nr_http_get(NrHttp *h, const char *url, const char *accept, size_t max, NrError *err)
{
    nr_autofree char *cur = nr_xstrdup(url);
    int attempt = 1, redirects = 0;
    for (;;) {
        NrReq *r = nr_http_start(h, cur, accept, 0);
        if (!r) {
            nr_error_msg(err, "cannot start a request");
            return NULL;
        }
        r->max = max;
        while (!r->done)
            if (nr_http_step(h, 1000, err) < 0) {
                nr_http_req_free(h, r);
                return NULL;
            }
        if (r->too_big) {
            nr_error_msg(err, "registry %s: the answer to %s is larger than %zu bytes", h->registry,
                         cur, max);
            nr_http_req_free(h, r);
            return NULL;
        }
        char *next = NULL;
        switch (nr_http_next(h, r, attempt, redirects, &next, err)) {
        case NR_NEXT_DONE: return r;
        case NR_NEXT_FAIL: nr_http_req_free(h, r); return NULL;
        case NR_NEXT_RETRY:
            poll(NULL, 0, nr_http_backoff_ms(attempt));
            attempt++;
            break;
        case NR_NEXT_REDIRECT:
            free(cur);
            cur = next;
            redirects++;
            break;
        case NR_NEXT_AUTH:
            if (h->probing)
                return r; /* the 401 answered: see nr_http_probe */
            break;
        }
        nr_http_req_free(h, r);
    }
}

/* GET /v2/: is it a registry, and its challenge answered.  A pull does
 * not ask /v2/ again with the answer: the manifest request is the first
 * with it (as podman does; one round trip, and for Basic one password
 * check on the registry, fewer), and its 401 says the credentials are
 * refused.  The login check asks again: that answer is its purpose. */
int nr_http_probe(NrHttp *h, NrError *err)
{
    nr_autofree char *url = nr_strdup_printf("%s/v2/", h->base);
    h->probing = !h->login;
    NrReq *r = nr_http_get(h, url, NULL, 64u << 10, err);
    h->probing = false;
    if (!r)
        return -1;
    int rc = 0;
    if (r->status == 401 && h->authed && !h->login)
        rc = 0;
    else if (r->status == 401)
        rc = nr_http_denied(h, "its API", err);
    else if (r->status == 404)
        rc = nr_error_msg(err, "%s is not a registry (no /v2/ API)", h->registry);
    else if (r->status != 200)
        rc = nr_error_msg(err, "registry %s answered %ld to /v2/", h->registry, r->status);
    nr_http_req_free(h, r);
    return rc;
}
