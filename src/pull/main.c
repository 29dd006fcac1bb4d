/* SPDX-License-Identifier: Apache-2.0 */
/* main.c — nroot-pull: one image from a registry into the blob cache.
 *
 *   nroot-pull --registry HOST[:PORT] --repo PATH --reference TAG|sha256:HEX
 *              --cache DIR [--platform OS/ARCH[/VARIANT]] [--tls-verify=false]
 *              [--plain-http] [--parallel N] [--status-fd N] [--config-dir DIR]
 *
 * Runs as the user on the host, in no namespace (the host's resolver, CAs
 * and auth files).  DIR is an OCI layout (DIR/oci-layout,
 * DIR/blobs/sha256/<hex>) shared by every pull; --config-dir is the
 * containers config directory (default $XDG_CONFIG_HOME/containers:
 * certs.d/ and auth.json).
 *
 * The status lines on --status-fd, in this order:
 *   index sha256:<hex> <media-type>     (when the reference names an index)
 *   manifest sha256:<hex> <media-type>  (in the cache when written)
 *   config sha256:<hex>                 (in the cache when written)
 *   layer N sha256:<hex> <size>         (N from 1, every layer, in order)
 *   progress sha256:<hex> <done> <total>  (at most 4 a second per blob)
 *   blob sha256:<hex> present           (it was whole in the cache: no download;
 *                                        its done line follows)
 *   blob sha256:<hex> done              (whole and verified in the cache)
 *   done | error <message>
 * The manifest and config lines come before any layer is fetched, so an
 * importer can start while the layers arrive.  Exit 0, else 125 with one
 * line on stderr.
 *
 * For nroot login and logout (login.c), which edit the containers auth.json
 * (--authfile FILE, default $REGISTRY_AUTH_FILE, else
 * ${XDG_RUNTIME_DIR}/containers/auth.json, else CONFIG_DIR/auth.json):
 *   nroot-pull --login --registry HOST[:PORT] [--authfile FILE]
 *              [--tls-verify=false] [--plain-http] [--config-dir DIR]
 *       USER, newline, PASSWORD, newline on stdin; checked with GET /v2/
 *       (Basic or the token flow), then written; "Login Succeeded!"
 *   nroot-pull --logout --registry HOST[:PORT] | --all  [--authfile FILE]
 *   nroot-pull --get-login --registry HOST[:PORT] [--authfile FILE]
 *       the user name stored for the registry (without --authfile: where
 *       a pull looks) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nr-util.h"
#include "pull.h"

typedef struct Opts {
    const char *registry, *repo, *reference, *cache, *platform, *config_dir, *authfile;
    bool verify, plain, all;
    enum { MODE_PULL, MODE_LOGIN, MODE_LOGOUT, MODE_GET_LOGIN } mode;
    int parallel;
} Opts;

static const char usage[] =
    "Usage: nroot-pull --registry HOST[:PORT] --repo PATH --reference TAG|sha256:DIGEST\n"
    "                  --cache DIR [--platform OS/ARCH[/VARIANT]] [--tls-verify=false]\n"
    "                  [--plain-http] [--parallel N] [--status-fd N] [--config-dir DIR]\n"
    "Fetch an image's manifest, config and layers from a registry into the blob\n"
    "cache DIR (an OCI layout), each blob verified against its digest.\n"
    "\n"
    "       nroot-pull --login --registry HOST[:PORT] [--authfile FILE]\n"
    "                  [--tls-verify=false] [--plain-http] [--config-dir DIR]\n"
    "       nroot-pull --logout --registry HOST[:PORT]|--all [--authfile FILE]\n"
    "       nroot-pull --get-login --registry HOST[:PORT] [--authfile FILE]\n"
    "Check USER and PASSWORD (two lines on stdin) with the registry and store them\n"
    "in the containers auth.json; remove them; print the stored user name.\n";

static bool valid_repo(const char *s)
{
    if (!s[0] || s[0] == '/' || strlen(s) > 255)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
            return false;
    return !strstr(s, "//") && !strstr(s, "..") && s[strlen(s) - 1] != '/';
}

static bool valid_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._-", *p)))
            return false;
    return true;
}

static bool valid_registry(const char *s)
{
    return s[0] && !strpbrk(s, "/@ \t\r\n?#\\") && strlen(s) < 256;
}

static int parse_args(int argc, char **argv, Opts *o, NrError *err)
{
    enum {
        O_REG = 256,
        O_REPO,
        O_REF,
        O_CACHE,
        O_PLAT,
        O_TLS,
        O_PLAIN,
        O_PAR,
        O_FD,
        O_CONF,
        O_LOGIN,
        O_LOGOUT,
        O_GET_LOGIN,
        O_ALL,
        O_AUTHFILE,
    };
    static const struct option longs[] = {
        { "registry", required_argument, NULL, O_REG },
        { "repo", required_argument, NULL, O_REPO },
        { "reference", required_argument, NULL, O_REF },
        { "cache", required_argument, NULL, O_CACHE },
        { "platform", required_argument, NULL, O_PLAT },
        { "tls-verify", optional_argument, NULL, O_TLS },
        { "plain-http", no_argument, NULL, O_PLAIN },
        { "parallel", required_argument, NULL, O_PAR },
        { "status-fd", required_argument, NULL, O_FD },
        { "config-dir", required_argument, NULL, O_CONF },
        { "login", no_argument, NULL, O_LOGIN },
        { "logout", no_argument, NULL, O_LOGOUT },
        { "get-login", no_argument, NULL, O_GET_LOGIN },
        { "all", no_argument, NULL, O_ALL },
        { "authfile", required_argument, NULL, O_AUTHFILE },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0 },
    };
    *o = (Opts){ .verify = true, .parallel = 3 };
    opterr = 0;
    int c;
    uint32_t v;
    bool par_given = false;
    while ((c = getopt_long(argc, argv, "+hV", longs, NULL)) != -1) {
        switch (c) {
        case O_REG: o->registry = optarg; break;
        case O_REPO: o->repo = optarg; break;
        case O_REF: o->reference = optarg; break;
        case O_CACHE: o->cache = optarg; break;
        case O_PLAT: o->platform = optarg; break;
        case O_CONF: o->config_dir = optarg; break;
        case O_PLAIN: o->plain = true; break;
        case O_ALL: o->all = true; break;
        case O_AUTHFILE:
            if (!optarg[0])
                return nr_error_msg(err, "--authfile needs a file name");
            o->authfile = optarg;
            break;
        case O_LOGIN:
        case O_LOGOUT:
        case O_GET_LOGIN:
            if (o->mode != MODE_PULL)
                return nr_error_msg(err, "--login, --logout and --get-login exclude each other");
            o->mode = c == O_LOGIN ? MODE_LOGIN : c == O_LOGOUT ? MODE_LOGOUT : MODE_GET_LOGIN;
            break;
        case O_TLS:
            if (!optarg || strcmp(optarg, "true") == 0)
                o->verify = true;
            else if (strcmp(optarg, "false") == 0)
                o->verify = false;
            else
                return nr_error_msg(err, "--tls-verify takes true or false, not '%s'", optarg);
            break;
        case O_PAR:
            if (!nr_parse_u32(optarg, &v) || v < 1 || v > 32)
                return nr_error_msg(err, "--parallel takes 1 to 32, not '%s'", optarg);
            o->parallel = (int)v;
            par_given = true;
            break;
        case O_FD:
            if (!nr_parse_u32(optarg, &v) || v < 3 || v > 65535 || fcntl((int)v, F_GETFD) < 0)
                return nr_error_msg(err, "--status-fd: '%s' is not an open fd above 2", optarg);
            nr_pull_status_fd = (int)v;
            fcntl(nr_pull_status_fd, F_SETFD, FD_CLOEXEC);
            break;
        case 'h': fputs(usage, stdout); exit(0);
        case 'V': puts("nroot-pull " NR_VERSION); exit(0);
        default: return nr_error_msg(err, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return nr_error_msg(err, "unexpected argument '%s'", argv[optind]);
    /* the launcher's pulls: the parallel downloads from the environment */
    const char *penv = getenv("NROOT_PULL_PARALLEL");
    if (!par_given && o->mode == MODE_PULL && penv && penv[0]) {
        if (!nr_parse_u32(penv, &v) || v < 1 || v > 32)
            return nr_error_msg(err, "$NROOT_PULL_PARALLEL takes 1 to 32, not '%s'", penv);
        o->parallel = (int)v;
    }
    if (o->mode != MODE_PULL) {
        /* the registry is checked (and normalised) by login.c */
        if (o->repo || o->reference || o->cache || o->platform || o->parallel != 3)
            return nr_error_msg(err, "--login, --logout and --get-login pull nothing");
        if (o->all && o->mode != MODE_LOGOUT)
            return nr_error_msg(err, "--all goes with --logout");
        if (!o->registry == !o->all)
            return nr_error_msg(err, "--registry (or, with --logout, --all) is required");
        return 0;
    }
    if (o->all || o->authfile)
        return nr_error_msg(err, "--all and --authfile go with --login, --logout, --get-login");
    if (!o->registry || !o->repo || !o->reference || !o->cache)
        return nr_error_msg(err, "--registry, --repo, --reference and --cache are required");
    if (!valid_registry(o->registry))
        return nr_error_msg(err, "invalid registry '%s'", o->registry);
    if (!valid_repo(o->repo))
        return nr_error_msg(err, "invalid repository '%s'", o->repo);
    if (strchr(o->reference, ':') ? !nr_pull_digest_hex(o->reference) : !valid_tag(o->reference))
        return nr_error_msg(err, "invalid reference '%s' (a tag or sha256:<64 hex digits>)",
                            o->reference);
    return 0;
}

static const char accept_all[] =
    NR_MT_OCI_MANIFEST ", " NR_MT_OCI_INDEX ", " NR_MT_DOCKER_MANIFEST ", " NR_MT_DOCKER_LIST;

/* the manifest (or index) at `ref`, its bytes verified when ref is a digest */
static NrReq *get_manifest(NrHttp *h, const char *ref, char hex[65], NrError *err)
{
    nr_autofree char *url = nr_strdup_printf("%s/v2/%s/manifests/%s", h->base, h->repo, ref);
    NrReq *r = nr_http_get(h, url, accept_all, NR_PULL_DOC_MAX, err);
    if (!r)
        return NULL;
    char detail[256];
    nr_http_error_detail(r, detail, sizeof detail);
    bool digest = nr_pull_digest_hex(ref) != NULL;
    if (r->status == 401 || r->status == 403) {
        nr_http_denied(h, h->repo, err);
    } else if (r->status == 404) {
        nr_error_msg(err, "registry %s has no image %s%s%s", h->registry, h->repo,
                     digest ? "@" : ":", ref);
    } else if (r->status != 200) {
        nr_error_msg(err, "registry %s answered %ld for %s%s%s%s%s", h->registry, r->status,
                     h->repo, digest ? "@" : ":", ref, detail[0] ? ": " : "", detail);
    } else {
        unsigned char md[32];
        EVP_Digest(r->body ? r->body : "", r->len, md, NULL, EVP_sha256(), NULL);
        nr_pull_sha256_hex(md, hex);
        if (!digest || strcmp(nr_pull_digest_hex(ref), hex) == 0)
            return r;
        nr_error_msg(err, "registry %s sent a manifest for %s@%s that does not match that digest",
                     h->registry, h->repo, ref);
    }
    nr_http_req_free(h, r);
    return NULL;
}

static const char *media_type_of(NrReq *r, bool index)
{
    static char ct[128];
    if (r->content_type) {
        snprintf(ct, sizeof ct, "%.*s", (int)strcspn(r->content_type, "; "), r->content_type);
        if (strncmp(ct, "application/vnd.", 16) == 0)
            return ct;
    }
    return index ? NR_MT_OCI_INDEX : NR_MT_OCI_MANIFEST;
}

static int pull(const Opts *o, NrHttp *h, NrCache *c, NrError *err)
{
    if (nr_http_probe(h, err) < 0)
        return -1;
    char hex[65];
    NrReq *r = get_manifest(h, o->reference, hex, err);
    if (!r)
        return -1;
    bool index = false;
    if (nr_manifest_kind(r->content_type, r->body, r->len, &index, err) < 0)
        goto fail;
    if (index) {
        const char *plat = o->platform ? o->platform : nr_manifest_host_platform();
        char *chosen = NULL;
        if (nr_cache_put(c, hex, r->body, r->len, err) < 0 ||
            nr_manifest_choose(r->body, r->len, plat, &chosen, err) < 0)
            goto fail;
        nr_pull_status("index sha256:%s %s", hex, media_type_of(r, true));
        nr_http_req_free(h, r);
        r = get_manifest(h, chosen, hex, err);
        free(chosen);
        if (!r)
            return -1;
        if (nr_manifest_kind(r->content_type, r->body, r->len, &index, err) < 0)
            goto fail;
        if (index) {
            nr_error_msg(err, "the index's entry for %s is an index again", plat);
            goto fail;
        }
    }
    NrManifest m;
    if (nr_manifest_parse(r->body, r->len, &m, err) < 0) {
        nr_manifest_clear(&m);
        goto fail;
    }
    int rc = nr_cache_put(c, hex, r->body, r->len, err);
    if (rc == 0) {
        nr_pull_status("manifest sha256:%s %s", hex, media_type_of(r, false));
        rc = nr_fetch_blobs(h, c, &m.config, 1, 1, err);
    }
    if (rc == 0) {
        nr_pull_status("config %s", m.config.digest);
        for (size_t i = 0; i < m.n_layers; i++)
            nr_pull_status("layer %zu %s %llu", i + 1, m.layers[i].digest,
                           (unsigned long long)m.layers[i].size);
        rc = nr_fetch_blobs(h, c, m.layers, m.n_layers, o->parallel, err);
    }
    nr_manifest_clear(&m);
    nr_http_req_free(h, r);
    return rc;
fail:
    nr_http_req_free(h, r);
    return -1;
}

int main(int argc, char **argv)
{
    NrError err = { 0 };
    Opts o;
    signal(SIGPIPE, SIG_IGN);
    int rc = parse_args(argc, argv, &o, &err);
    nr_autofree char *config_dir = NULL;
    if (rc == 0 && !o.config_dir) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && xdg[0] == '/')
            config_dir = nr_strdup_printf("%s/containers", xdg);
        else if (home && home[0])
            config_dir = nr_strdup_printf("%s/.config/containers", home);
        o.config_dir = config_dir;
    }
    if (rc == 0 && o.mode != MODE_PULL) {
        if (o.mode == MODE_LOGIN)
            rc = nr_login(o.registry, o.authfile, o.config_dir, o.plain, o.verify, &err);
        else if (o.mode == MODE_LOGOUT)
            rc = nr_logout(o.all ? NULL : o.registry, o.authfile, o.config_dir, &err);
        else
            rc = nr_login_get(o.registry, o.authfile, o.config_dir, &err);
        if (rc == 0)
            return 0;
        nr_error_print(&err);
        return err.code ? err.code : NR_EXIT_FAILURE;
    }
    NrCache c = { .blobs = -1 };
    NrHttp h = { 0 };
    if (rc == 0)
        rc = nr_cache_open(&c, o.cache, &err);
    if (rc == 0)
        rc = nr_http_init(&h, o.registry, o.repo, o.plain, o.verify, o.config_dir, &err);
    if (rc == 0)
        rc = pull(&o, &h, &c, &err);
    nr_http_clear(&h);
    nr_cache_close(&c);
    if (rc == 0) {
        nr_pull_status("done");
        return 0;
    }
    nr_pull_status("error %s", err.msg);
    nr_error_print(&err);
    return err.code ? err.code : NR_EXIT_FAILURE;
}
