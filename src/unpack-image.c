/* unpack-image.c — the image formats nroot-unpack reads, told apart by
 * content:
 *
 *   rootfs tarball   any tar (plain, gzip, xz, zstd, bzip2) of a tree
 *   docker-archive   `docker save` / `podman save` / skopeo: manifest.json,
 *                    config JSON, layer tars (one or several images)
 *   oci-archive      a tar of an OCI image layout
 *   oci-layout       an OCI image layout directory (oci-layout, index.json,
 *                    blobs/<alg>/<hex>)
 *   docker-dir       an unpacked docker-archive directory
 *
 * A tar is an image archive when its first entry is one an image archive
 * starts with; otherwise it is a rootfs.  An uncompressed image archive is
 * read in place (its headers indexed, each blob found again by a seek-only
 * scan); a compressed one is spooled to the import's bookkeeping directory
 * first, since its layers must be read in the manifest's order.
 *
 * Every blob named by a digest is checked against it (and its size) while it
 * is read; a layer's digest is known only at its end, so a mismatch fails
 * the whole import, whose tree nroot then throws away. */
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-glib/json-glib.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "nr-unpack.h"
#include "nr-util.h"

#define MAX_JSON (16u << 20)

typedef struct Entry {
    uint64_t size;
    char    *link;     /* an alias (symlink or hard link) for this name */
} Entry;

typedef struct Src {
    bool        tar;       /* an uncompressed tar read in place */
    bool        spool;     /* a directory of flattened names (a compressed archive) */
    int         fd;        /* the tar, or the directory */
    GHashTable *index;     /* name -> Entry (tar and spool) */
    const char *what;      /* "'file'" for messages */
} Src;

static void entry_free(gpointer p)
{
    Entry *e = p;
    g_free(e->link);
    g_free(e);
}

/* "./blobs//sha256/x" -> "blobs/sha256/x"; NULL if it leaves the top */
static char *clean_name(const char *in)
{
    char buf[PATH_MAX];
    if (!nr_path_normalize(in, buf, sizeof buf))
        return NULL;
    return g_strdup(buf + 1);
}

/* a symlink's target, relative to the link's directory, as a clean name */
static char *join_link(const char *name, const char *target)
{
    if (target[0] == '/')
        return clean_name(target);
    const char *slash = strrchr(name, '/');
    g_autofree char *joined = g_strdup_printf("%.*s/%s", slash ? (int)(slash - name) : 0, name, target);
    char buf[PATH_MAX];
    /* ".." is resolved lexically here: an archive's own alias, never a path on disk */
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    gchar **comp = g_strsplit(joined, "/", -1);
    for (gchar **c = comp; *c; c++) {
        if (!**c || strcmp(*c, ".") == 0)
            continue;
        if (strcmp(*c, "..") == 0) {
            if (parts->len == 0) {
                g_strfreev(comp);
                g_ptr_array_free(parts, TRUE);
                return NULL;
            }
            g_ptr_array_remove_index(parts, parts->len - 1);
            continue;
        }
        g_ptr_array_add(parts, g_strdup(*c));
    }
    g_strfreev(comp);
    g_ptr_array_add(parts, NULL);
    g_autofree char *out = g_strjoinv("/", (gchar **)parts->pdata);
    g_ptr_array_free(parts, TRUE);
    snprintf(buf, sizeof buf, "%s", out);
    return g_strdup(buf);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return s[n] == '\0' || s[n] == '.' || s[n] == '/';
}

/* entries an image archive starts with, and a rootfs never does */
static bool image_entry(const char *name)
{
    g_autofree char *c = clean_name(name);
    if (!c || !*c)
        return false;
    size_t n = strcspn(c, "/");
    const char *top[] = { "manifest.json", "repositories", "index.json", "oci-layout", "blobs" };
    for (size_t i = 0; i < G_N_ELEMENTS(top); i++)
        if (strlen(top[i]) == n && strncmp(c, top[i], n) == 0)
            return true;
    if (n >= 64 && is_hex(c, 64)) {
        const char *rest = c + 64;
        return *rest == '\0' || *rest == '/' || strcmp(rest, ".json") == 0 || strcmp(rest, ".tar") == 0;
    }
    return false;
}

/* ---- digests ---- */

typedef struct Digest {
    NrDigestType type;
    char          alg[8];
    char          hex[129];
} Digest;

static bool parse_digest(const char *s, Digest *d)
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
    if (strlen(h) != n || !is_hex(h, n))
        return false;
    snprintf(d->hex, sizeof d->hex, "%s", h);
    return true;
}

/* the digest a docker-archive file name carries: blobs/<alg>/<hex>, or
 * <hex>.json / <hex>.tar named by sha256 */
static bool digest_from_name(const char *name, Digest *d)
{
    g_autofree char *c = clean_name(name);
    if (!c)
        return false;
    if (g_str_has_prefix(c, "blobs/")) {
        char *alg = c + 6, *slash = strchr(alg, '/');
        if (!slash)
            return false;
        *slash = ':';
        return parse_digest(alg, d);
    }
    size_t len = strlen(c);
    if ((len == 69 && g_str_has_suffix(c, ".json")) || (len == 68 && g_str_has_suffix(c, ".tar"))) {
        g_autofree char *s = g_strdup_printf("sha256:%.64s", c);
        return parse_digest(s, d);
    }
    return false;
}

static int check_digest(NrStream *s, const Digest *want, const char *what, const char *name,
                        NrError *err)
{
    const char *got = nr_stream_digest(s);
    if (strcmp(got, want->hex) != 0)
        return nr_error_msg(err, "%s: blob '%s' does not match its digest (%s:%.12s... expected, "
                            "%s:%.12s... found): the file is corrupt or was altered", what, name,
                            want->alg, want->hex, want->alg, got);
    return 0;
}

/* ---- blobs: opening a file of the image by name ---- */

typedef struct Blob {
    NrStream        s;
    struct archive *outer;
    int             fd;
    uint64_t        size;
} Blob;

static void blob_close(Blob *b)
{
    nr_stream_clear(&b->s);
    if (b->outer)
        archive_read_free(b->outer);
    if (b->fd >= 0)
        close(b->fd);
    b->outer = NULL;
    b->fd = -1;
}

static struct archive *outer_reader(int fd, NrError *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (lseek(fd, 0, SEEK_SET) < 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
        nr_error_msg(err, "cannot read the archive: %s", archive_error_string(a) ?: strerror(errno));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static int blob_open(Src *src, const char *name, NrDigestType dt, NrProgress *progress, Blob *b,
                     NrError *err)
{
    memset(b, 0, sizeof *b);
    b->fd = -1;
    g_autofree char *n = clean_name(name);
    if (!n || !*n)
        return nr_error_msg(err, "%s: invalid file name '%s' in the image's metadata", src->what, name);
    /* aliases: symlinks and hard links of the archive, a few levels deep */
    for (int depth = 0; src->index; depth++) {
        Entry *e = g_hash_table_lookup(src->index, n);
        if (!e)
            return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
        if (!e->link)
            break;
        if (depth == 8)
            return nr_error_msg(err, "%s: '%s': too many levels of links", src->what, name);
        g_free(n);
        n = g_strdup(e->link);
    }
    if (src->tar) {
        b->outer = outer_reader(src->fd, err);
        if (!b->outer)
            return -1;
        struct archive_entry *e;
        int r;
        while ((r = archive_read_next_header(b->outer, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
            g_autofree char *c = clean_name(archive_entry_pathname(e) ?: "");
            if (c && strcmp(c, n) == 0 && archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e)) {
                b->size = (uint64_t)archive_entry_size(e);
                nr_stream_init(&b->s, -1, b->outer, b->size, dt, progress);
                return 0;
            }
        }
        blob_close(b);
        return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
    }
    if (src->spool) {
        g_autofree char *flat = g_strdelimit(g_strdup(n), "/", '%');
        b->fd = openat(src->fd, flat, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    } else {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        b->fd = (int)syscall(SYS_openat2, src->fd, n, &how, sizeof how);
    }
    struct stat st;
    if (b->fd < 0 || fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = b->fd < 0 ? errno : EINVAL;
        blob_close(b);
        if (e == ENOENT)
            return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
        errno = e;
        return nr_error_errno(err, "%s: cannot open '%s'", src->what, name);
    }
    fcntl(b->fd, F_SETFL, 0);
    b->size = (uint64_t)st.st_size;
    nr_stream_init(&b->s, b->fd, NULL, b->size, dt, progress);
    return 0;
}

/* read a whole (small) file; checked against `want` (and `size` if >= 0) */
static int read_blob(Src *src, const char *name, const Digest *want, int64_t size, GBytes **ret,
                     char ret_sha256[65], NrError *err)
{
    Blob b;
    if (blob_open(src, name, want ? want->type : NR_SHA256, NULL, &b, err) < 0)
        return -1;
    int rc = -1;
    if (b.size > MAX_JSON) {
        nr_error_msg(err, "%s: '%s' is too large for image metadata (%llu bytes)", src->what, name,
                     (unsigned long long)b.size);
        goto out;
    }
    if (size >= 0 && b.size != (uint64_t)size) {
        nr_error_msg(err, "%s: blob '%s' has %llu bytes where its descriptor says %lld: the file "
                     "is corrupt or was altered", src->what, name, (unsigned long long)b.size,
                     (long long)size);
        goto out;
    }
    GByteArray *data = g_byte_array_sized_new((guint)b.size + 1);
    const void *buf;
    la_ssize_t n;
    while ((n = nr_stream_read(NULL, &b.s, &buf)) > 0)
        g_byte_array_append(data, buf, (guint)n);
    if (n < 0) {
        g_byte_array_free(data, TRUE);
        nr_error_errno(err, "%s: cannot read '%s'", src->what, name);
        goto out;
    }
    if (want && check_digest(&b.s, want, src->what, name, err) < 0) {
        g_byte_array_free(data, TRUE);
        goto out;
    }
    if (ret_sha256)
        snprintf(ret_sha256, 65, "%s", nr_stream_digest(&b.s));
    *ret = g_byte_array_free_to_bytes(data);
    rc = 0;
out:
    blob_close(&b);
    return rc;
}

static JsonNode *parse_json(GBytes *bytes, const char *what, const char *name, NrError *err)
{
    g_autoptr(JsonParser) p = json_parser_new_immutable();
    g_autoptr(GError) gerr = NULL;
    gsize len;
    const char *data = g_bytes_get_data(bytes, &len);
    if (!json_parser_load_from_data(p, data ? data : "", (gssize)len, &gerr)) {
        nr_error_msg(err, "%s: '%s' is not valid JSON: %s", what, name, gerr->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(p);
    if (!root) {
        nr_error_msg(err, "%s: '%s' is empty", what, name);
        return NULL;
    }
    return json_node_copy(root);
}

static JsonNode *load_json(Src *src, const char *name, const Digest *want, int64_t size,
                           char ret_sha256[65], NrError *err)
{
    g_autoptr(GBytes) bytes = NULL;
    if (read_blob(src, name, want, size, &bytes, ret_sha256, err) < 0)
        return NULL;
    return parse_json(bytes, src->what, name, err);
}

/* ---- the image config (Env, Entrypoint, Cmd, WorkingDir, User) ---- */

static void put(GString *out, const char *key, const char *val)
{
    g_string_append_printf(out, "%s=", key);
    for (const char *p = val; *p; p++) {
        if (*p == '\\')
            g_string_append(out, "\\\\");
        else if (*p == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *p);
    }
    g_string_append_c(out, '\n');
}

static int put_strings(GString *out, JsonObject *o, const char *member, const char *key,
                       const char *what, NrError *err)
{
    JsonNode *n = json_object_get_member(o, member);
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return 0;
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        put(out, key, json_node_get_string(n));   /* seen in the wild: a string, not a list */
        return 0;
    }
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return nr_error_msg(err, "%s: the image config's %s is not a list of strings", what, member);
    JsonArray *a = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *v = json_array_get_element(a, i);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
            return nr_error_msg(err, "%s: the image config's %s is not a list of strings", what, member);
        put(out, key, json_node_get_string(v));
    }
    return 0;
}

static const char *get_string(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

static JsonObject *get_object(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *get_array(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static const char *host_arch(void)
{
    static struct utsname u;
    if (uname(&u) < 0)
        return "";
    static const char *const map[][2] = { { "x86_64", "amd64" }, { "aarch64", "arm64" },
        { "i686", "386" }, { "i386", "386" }, { "armv7l", "arm" }, { "armv6l", "arm" },
        { "ppc64le", "ppc64le" }, { "s390x", "s390x" }, { "riscv64", "riscv64" } };
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
        if (strcmp(u.machine, map[i][0]) == 0)
            return map[i][1];
    return u.machine;
}

/* the config file nroot reads at each run: key=value lines, values escaped */
static int write_config(NrUnpackJob *job, JsonNode *config, const char *ref, GPtrArray *tags,
                        const char *what, NrError *err)
{
    JsonObject *root = JSON_NODE_HOLDS_OBJECT(config) ? json_node_get_object(config) : NULL;
    if (!root)
        return nr_error_msg(err, "%s: the image config is not a JSON object", what);
    const char *os = get_string(root, "os"), *arch = get_string(root, "architecture");
    if (os && strcmp(os, "linux") != 0)
        return nr_error_msg(err, "%s: the image is for %s, not linux", what, os);
    if (arch && strcmp(arch, host_arch()) != 0)
        nr_warn("%s: the image is built for %s, this machine is %s", what, arch, host_arch());
    g_autoptr(GString) out = g_string_new(NULL);
    put(out, "format", job->format);
    if (ref)
        put(out, "ref", ref);
    for (guint i = 0; tags && i < tags->len; i++)
        put(out, "tag", tags->pdata[i]);
    JsonObject *c = get_object(root, "config");
    if (c) {
        if (put_strings(out, c, "Env", "env", what, err) < 0 ||
            put_strings(out, c, "Entrypoint", "entrypoint", what, err) < 0 ||
            put_strings(out, c, "Cmd", "cmd", what, err) < 0)
            return -1;
        const char *w = get_string(c, "WorkingDir"), *u = get_string(c, "User");
        if (w && *w)
            put(out, "workdir", w);
        if (u && *u)
            put(out, "user", u);
    }
    return nr_write_file_at(job->meta_fd, "config", out->str, 0644, err);
}

static int write_plain_config(NrUnpackJob *job, NrError *err)
{
    g_autoptr(GString) out = g_string_new(NULL);
    put(out, "format", job->format);
    return nr_write_file_at(job->meta_fd, "config", out->str, 0644, err);
}

/* ---- choosing one image of several ---- */

typedef struct Cand {
    GPtrArray  *names;     /* references naming it */
    JsonObject *obj;       /* docker: manifest.json entry; OCI: descriptor */
    char       *platform;  /* "os/arch" or NULL */
} Cand;

static void cand_free(gpointer p)
{
    Cand *c = p;
    g_ptr_array_unref(c->names);
    g_free(c->platform);
    g_free(c);
}

/* busybox, busybox:latest, docker.io/library/busybox:latest are one name */
static char *norm_ref(const char *r)
{
    static const char *const prefixes[] = { "docker.io/library/", "index.docker.io/library/",
                                            "docker.io/", "localhost/" };
    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++)
        if (g_str_has_prefix(r, prefixes[i])) {
            r += strlen(prefixes[i]);
            break;
        }
    const char *slash = strrchr(r, '/');
    if (!strchr(slash ? slash : r, ':') && !strchr(r, '@'))
        return g_strdup_printf("%s:latest", r);
    return g_strdup(r);
}

static bool ref_matches(const char *cand, const char *want)
{
    if (strcmp(cand, want) == 0)
        return true;
    g_autofree char *a = norm_ref(cand), *b = norm_ref(want);
    return strcmp(a, b) == 0;
}

static char *list_names(GPtrArray *cands)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < cands->len; i++) {
        Cand *c = cands->pdata[i];
        if (s->len)
            g_string_append(s, ", ");
        if (c->names->len == 0)
            g_string_append_printf(s, "<unnamed #%u%s%s>", i + 1, c->platform ? " " : "",
                                   c->platform ? c->platform : "");
        for (guint j = 0; j < c->names->len; j++)
            g_string_append_printf(s, "%s%s", j ? " " : "", (char *)c->names->pdata[j]);
    }
    return g_string_free(s, FALSE);
}

static Cand *choose(GPtrArray *cands, const char *ref, const char *what, NrError *err)
{
    if (cands->len == 0) {
        nr_error_msg(err, "%s: the archive lists no image", what);
        return NULL;
    }
    if (ref) {
        for (guint i = 0; i < cands->len; i++) {
            Cand *c = cands->pdata[i];
            for (guint j = 0; j < c->names->len; j++)
                if (ref_matches(c->names->pdata[j], ref))
                    return c;
        }
        g_autofree char *l = list_names(cands);
        nr_error_msg(err, "%s: no image '%s' in it; it holds: %s", what, ref, l);
        return NULL;
    }
    if (cands->len == 1)
        return cands->pdata[0];
    /* a multi-platform index: this machine's platform */
    Cand *match = NULL;
    int n = 0;
    g_autofree char *mine = g_strdup_printf("linux/%s", host_arch());
    for (guint i = 0; i < cands->len; i++) {
        Cand *c = cands->pdata[i];
        if (c->platform && strcmp(c->platform, mine) == 0)
            match = c, n++;
    }
    if (n == 1)
        return match;
    g_autofree char *l = list_names(cands);
    nr_error_msg(err, "%s holds %u images: %s", what, cands->len, l);
    nr_error_hint(err, "choose one with --image-ref NAME[:TAG]");
    return NULL;
}

/* ---- applying the layers ---- */

typedef struct Layer {
    char  *name;
    Digest raw;         /* of the blob as stored */
    bool   has_raw;
    Digest diff;        /* of the uncompressed tar (docker's diff_id) */
    bool   has_diff;
    int64_t size;       /* -1: unknown */
} Layer;

static uint64_t tree_bytes;
static int add_bytes(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F && S_ISREG(st->st_mode))
        tree_bytes += (uint64_t)st->st_size;
    return 0;
}

static int apply_layers(NrUnpackJob *job, Src *src, Layer *layers, guint n, NrError *err)
{
    uint64_t total = 0;
    for (guint i = 0; i < n; i++) {
        Blob b;
        if (blob_open(src, layers[i].name, NR_SHA256, NULL, &b, err) < 0)
            return -1;
        total += b.size;
        blob_close(&b);
    }
    if (job->progress)
        job->progress->total += total;
    for (guint i = 0; i < n; i++) {
        Layer *ly = &layers[i];
        NrDigestType t = ly->has_raw ? ly->raw.type : NR_SHA256;
        Blob b;
        if (blob_open(src, ly->name, t, job->progress, &b, err) < 0)
            return -1;
        g_autofree char *what = g_strdup_printf("%s: layer %u of %u ('%s')", src->what, i + 1, n,
                                                ly->name);
        int rc = -1;
        if (ly->size >= 0 && b.size != (uint64_t)ly->size) {
            nr_error_msg(err, "%s: blob '%s' has %llu bytes where its descriptor says %lld: the "
                         "file is corrupt or was altered", src->what, ly->name,
                         (unsigned long long)b.size, (long long)ly->size);
            goto next;
        }
        struct archive *a = nr_stream_archive(&b.s);
        job->layers.index = (int)i;
        rc = nr_layer_apply(&job->layers, a, NULL, 0, what, err);
        bool plain = archive_filter_count(a) == 1 || archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE;
        archive_read_free(a);
        if (rc == 0 && nr_stream_drain(&b.s) < 0)
            rc = nr_error_errno(err, "%s: cannot read '%s'", src->what, ly->name);
        if (rc == 0 && ly->has_raw)
            rc = check_digest(&b.s, &ly->raw, src->what, ly->name, err);
        else if (rc == 0 && ly->has_diff && plain && ly->diff.type == NR_SHA256)
            rc = check_digest(&b.s, &ly->diff, src->what, ly->name, err);
    next:
        blob_close(&b);
        if (rc < 0)
            return -1;
    }
    if (n > 1) {
        /* deleted and replaced files of lower layers are not in the image */
        tree_bytes = 0;
        nftw("/", add_bytes, 32, FTW_PHYS | FTW_MOUNT);
        job->layers.counts.bytes = tree_bytes;
    }
    return 0;
}

static void layers_free(Layer *layers, guint n)
{
    for (guint i = 0; i < n; i++)
        g_free(layers[i].name);
    g_free(layers);
}

/* ---- docker-archive ---- */

static int docker_image(NrUnpackJob *job, Src *src, NrError *err)
{
    g_autoptr(JsonNode) man = load_json(src, "manifest.json", NULL, -1, NULL, err);
    if (!man)
        return -1;
    if (!JSON_NODE_HOLDS_ARRAY(man))
        return nr_error_msg(err, "%s: manifest.json is not a list of images", src->what);
    JsonArray *arr = json_node_get_array(man);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(cand_free);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
        if (!o || !get_string(o, "Config") || !get_array(o, "Layers"))
            return nr_error_msg(err, "%s: manifest.json: image %u has no Config or no Layers",
                                src->what, i + 1);
        Cand *c = g_new0(Cand, 1);
        c->names = g_ptr_array_new_with_free_func(g_free);
        c->obj = o;
        JsonArray *tags = get_array(o, "RepoTags");
        for (guint j = 0; tags && j < json_array_get_length(tags); j++) {
            const char *t = json_array_get_string_element(tags, j);
            if (t)
                g_ptr_array_add(c->names, g_strdup(t));
        }
        g_ptr_array_add(cands, c);
    }
    Cand *c = choose(cands, job->ref, src->what, err);
    if (!c)
        return -1;
    const char *cfgname = get_string(c->obj, "Config");
    Digest want;
    bool named = digest_from_name(cfgname, &want);
    char sha[65];
    g_autoptr(JsonNode) config = load_json(src, cfgname, named ? &want : NULL, -1, sha, err);
    if (!config)
        return -1;
    snprintf(job->id, sizeof job->id, "%.64s", named && want.type == NR_SHA256 ? want.hex : sha);
    if (write_config(job, config, job->ref, c->names, src->what, err) < 0)
        return -1;

    JsonArray *la = get_array(c->obj, "Layers");
    JsonArray *diffs = get_array(get_object(json_node_get_object(config), "rootfs"), "diff_ids");
    guint n = json_array_get_length(la);
    if (diffs && json_array_get_length(diffs) != n)
        return nr_error_msg(err, "%s: the image config lists %u layers, manifest.json %u",
                            src->what, json_array_get_length(diffs), n);
    Layer *layers = g_new0(Layer, n ? n : 1);
    int rc = 0;
    for (guint i = 0; i < n && rc == 0; i++) {
        const char *ln = json_array_get_string_element(la, i);
        if (!ln) {
            rc = nr_error_msg(err, "%s: manifest.json: layer %u is not a file name", src->what, i + 1);
            break;
        }
        layers[i].name = g_strdup(ln);
        layers[i].size = -1;
        layers[i].has_raw = digest_from_name(ln, &layers[i].raw);
        const char *d = diffs ? json_array_get_string_element(diffs, i) : NULL;
        layers[i].has_diff = parse_digest(d, &layers[i].diff);
    }
    if (rc == 0)
        rc = apply_layers(job, src, layers, n, err);
    layers_free(layers, n);
    return rc;
}

/* ---- OCI image layout ---- */

static bool is_index_type(const char *mt)
{
    return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
                  strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

static int descriptor(Src *src, JsonObject *d, Digest *ret, int64_t *ret_size, char **ret_path,
                      NrError *err)
{
    const char *dg = get_string(d, "digest");
    JsonNode *sz = json_object_get_member(d, "size");
    if (!parse_digest(dg, ret))
        return nr_error_msg(err, "%s: a descriptor has a missing or unsupported digest '%s'",
                            src->what, dg ? dg : "");
    if (!sz || !JSON_NODE_HOLDS_VALUE(sz) || json_node_get_value_type(sz) != G_TYPE_INT64 ||
        json_node_get_int(sz) < 0)
        return nr_error_msg(err, "%s: the descriptor of %s has no valid size", src->what, dg);
    *ret_size = json_node_get_int(sz);
    *ret_path = g_strdup_printf("blobs/%s/%s", ret->alg, ret->hex);
    return 0;
}

static void add_name(GPtrArray *names, const char *n)
{
    if (!n || !*n)
        return;
    for (guint i = 0; i < names->len; i++)
        if (strcmp(names->pdata[i], n) == 0)
            return;
    g_ptr_array_add(names, g_strdup(n));
}

static int collect_oci(Src *src, JsonNode *index, GPtrArray *keep, GPtrArray *cands,
                       GPtrArray *inherit, int depth, NrError *err)
{
    JsonObject *io = JSON_NODE_HOLDS_OBJECT(index) ? json_node_get_object(index) : NULL;
    JsonArray *m = get_array(io, "manifests");
    if (!m)
        return nr_error_msg(err, "%s: an image index without a 'manifests' list", src->what);
    for (guint i = 0; i < json_array_get_length(m); i++) {
        JsonNode *dn = json_array_get_element(m, i);
        JsonObject *d = JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        if (!d)
            return nr_error_msg(err, "%s: an image index entry is not an object", src->what);
        JsonObject *ann = get_object(d, "annotations");
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        for (guint j = 0; inherit && j < inherit->len; j++)
            add_name(names, inherit->pdata[j]);
        add_name(names, get_string(ann, "io.containerd.image.name"));
        add_name(names, get_string(ann, "org.opencontainers.image.ref.name"));
        if (is_index_type(get_string(d, "mediaType"))) {
            if (depth >= 4)
                return nr_error_msg(err, "%s: image indexes nested too deep", src->what);
            Digest dg;
            int64_t size;
            g_autofree char *path = NULL;
            if (descriptor(src, d, &dg, &size, &path, err) < 0)
                return -1;
            JsonNode *sub = load_json(src, path, &dg, size, NULL, err);
            if (!sub)
                return -1;
            g_ptr_array_add(keep, sub);
            if (collect_oci(src, sub, keep, cands, names, depth + 1, err) < 0)
                return -1;
            continue;
        }
        Cand *c = g_new0(Cand, 1);
        c->names = g_ptr_array_ref(names);
        c->obj = d;
        JsonObject *pl = get_object(d, "platform");
        if (pl && get_string(pl, "os") && get_string(pl, "architecture"))
            c->platform = g_strdup_printf("%s/%s", get_string(pl, "os"), get_string(pl, "architecture"));
        g_ptr_array_add(cands, c);
    }
    return 0;
}

static int oci_image(NrUnpackJob *job, Src *src, NrError *err)
{
    g_autoptr(JsonNode) layout = load_json(src, "oci-layout", NULL, -1, NULL, err);
    if (!layout)
        return -1;
    if (!JSON_NODE_HOLDS_OBJECT(layout) ||
        !get_string(json_node_get_object(layout), "imageLayoutVersion"))
        return nr_error_msg(err, "%s: oci-layout has no imageLayoutVersion: not an OCI image layout",
                            src->what);
    g_autoptr(JsonNode) index = load_json(src, "index.json", NULL, -1, NULL, err);
    if (!index)
        return -1;
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(cand_free);
    if (collect_oci(src, index, keep, cands, NULL, 0, err) < 0)
        return -1;
    Cand *c = choose(cands, job->ref, src->what, err);
    if (!c)
        return -1;

    Digest md;
    int64_t msize;
    g_autofree char *mpath = NULL;
    if (descriptor(src, c->obj, &md, &msize, &mpath, err) < 0)
        return -1;
    g_autoptr(JsonNode) man = load_json(src, mpath, &md, msize, NULL, err);
    if (!man)
        return -1;
    JsonObject *mo = JSON_NODE_HOLDS_OBJECT(man) ? json_node_get_object(man) : NULL;
    JsonObject *cd = get_object(mo, "config");
    JsonArray *la = get_array(mo, "layers");
    if (!cd || !la)
        return nr_error_msg(err, "%s: manifest %s:%.12s has no config or no layers", src->what,
                            md.alg, md.hex);
    Digest cdg;
    int64_t csize;
    g_autofree char *cpath = NULL;
    if (descriptor(src, cd, &cdg, &csize, &cpath, err) < 0)
        return -1;
    g_autoptr(JsonNode) config = load_json(src, cpath, &cdg, csize, NULL, err);
    if (!config)
        return -1;
    snprintf(job->id, sizeof job->id, "%.64s", cdg.hex);
    g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < c->names->len; i++) {
        const char *nm = c->names->pdata[i];
        if (strchr(nm, ':') || strchr(nm, '/'))   /* a bare tag ("latest") names nothing */
            g_ptr_array_add(tags, g_strdup(nm));
    }
    if (write_config(job, config, job->ref, tags, src->what, err) < 0)
        return -1;

    guint n = json_array_get_length(la);
    Layer *layers = g_new0(Layer, n ? n : 1);
    int rc = 0;
    for (guint i = 0; i < n && rc == 0; i++) {
        JsonNode *dn = json_array_get_element(la, i);
        JsonObject *d = JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        if (!d) {
            rc = nr_error_msg(err, "%s: layer %u of the manifest is not a descriptor", src->what, i + 1);
            break;
        }
        rc = descriptor(src, d, &layers[i].raw, &layers[i].size, &layers[i].name, err);
        layers[i].has_raw = true;
    }
    if (rc == 0)
        rc = apply_layers(job, src, layers, n, err);
    layers_free(layers, n);
    return rc;
}

/* ---- reading a tar once: index it in place, or spool it ---- */

static void index_entry(Src *src, struct archive_entry *e, const char *name)
{
    Entry *ent = g_new0(Entry, 1);
    ent->size = (uint64_t)archive_entry_size(e);
    const char *hard = archive_entry_hardlink(e);
    if (hard)
        ent->link = clean_name(hard);
    else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
        ent->link = join_link(name, archive_entry_symlink(e));
    if ((hard || archive_entry_filetype(e) == AE_IFLNK) && !ent->link) {
        entry_free(ent);
        return;   /* an alias out of the archive: as if missing */
    }
    g_hash_table_replace(src->index, g_strdup(name), ent);
}

static bool indexable(struct archive_entry *e)
{
    mode_t t = archive_entry_filetype(e);
    return t == AE_IFREG || t == AE_IFLNK || archive_entry_hardlink(e);
}

static int index_tar(Src *src, NrError *err)
{
    struct archive *a = outer_reader(src->fd, err);
    if (!a)
        return -1;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        g_autofree char *c = clean_name(archive_entry_pathname(e) ?: "");
        if (c && *c && indexable(e))
            index_entry(src, e, c);
    }
    if (r != ARCHIVE_EOF) {
        nr_error_msg(err, "%s: %s", src->what, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    return 0;
}

static int spool_entry(Src *src, struct archive *a, struct archive_entry *e, NrError *err)
{
    g_autofree char *c = clean_name(archive_entry_pathname(e) ?: "");
    if (!c || !*c || !indexable(e))
        return 0;
    index_entry(src, e, c);
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
        return 0;
    g_autofree char *flat = g_strdelimit(g_strdup(c), "/", '%');
    if (strlen(flat) > NAME_MAX)
        return nr_error_msg(err, "%s: entry '%s': name too long", src->what, c);
    nr_autoclose int fd = openat(src->fd, flat, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return nr_error_errno(err, "%s: cannot spool '%s'", src->what, c);
    guint8 buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
        if (nr_write_all(fd, buf, (size_t)n) < 0)
            return nr_error_errno(err, "%s: cannot spool '%s'", src->what, c);
    if (n < 0)
        return nr_error_msg(err, "%s: entry '%s': %s", src->what, c, archive_error_string(a));
    return 0;
}

static void remove_spool(NrUnpackJob *job)
{
    int fd = openat(job->meta_fd, "spool", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            unlinkat(fd, de->d_name, 0);
    if (d)
        closedir(d);
    unlinkat(job->meta_fd, "spool", AT_REMOVEDIR);
}

static int image_from_src(NrUnpackJob *job, Src *src, NrError *err)
{
    bool docker = g_hash_table_contains(src->index, "manifest.json");
    bool oci = g_hash_table_contains(src->index, "oci-layout") &&
               g_hash_table_contains(src->index, "index.json");
    if (!docker && !oci)
        return nr_error_msg(err, "%s: an image archive without manifest.json or index.json",
                            src->what);
    job->format = docker ? "docker-archive" : "oci-archive";
    return docker ? docker_image(job, src, err) : oci_image(job, src, err);
}

static int unpack_file(NrUnpackJob *job, const struct stat *st, const char *what, NrError *err)
{
    NrStream s;
    nr_stream_init(&s, job->image_fd, NULL, (uint64_t)st->st_size, NR_SHA256, job->progress);
    if (job->progress)
        job->progress->total = (uint64_t)st->st_size;
    struct archive *a = nr_stream_archive(&s);
    struct archive_entry *pending[2] = { NULL, NULL }, *top = NULL;
    int n_pending = 0, rc = -1;
    Src src = { .fd = -1, .what = what };
    /* the first entry that is not the top directory tells the kind */
    struct archive_entry *e = NULL;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) {
            if (n_pending == 0) {
                nr_error_msg(err, "%s: the archive contains no files", what);
                goto out;
            }
            e = NULL;
            break;
        }
        if (r < ARCHIVE_WARN) {
            nr_error_msg(err, "%s: %s", what, archive_error_string(a));
            if (n_pending == 0)
                nr_error_hint(err, "an image is a directory, a tar archive (plain, gzip, xz, zstd "
                              "or bzip2), a docker-archive or an OCI image");
            goto out;
        }
        g_autofree char *c = clean_name(archive_entry_pathname(e) ?: "");
        if (c && !*c && n_pending == 0 && archive_entry_filetype(e) == AE_IFDIR) {
            top = pending[n_pending++] = archive_entry_clone(e);
            continue;
        }
        break;
    }
    if (e && image_entry(archive_entry_pathname(e))) {
        src.index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
        bool plain = archive_filter_count(a) == 1 || archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE;
        if (plain) {
            /* read in place: no copy of the layers */
            src.tar = true;
            src.fd = job->image_fd;
            archive_read_free(a);
            a = NULL;
            nr_stream_clear(&s);   /* its reader thread would read the whole file */
            if (job->progress)   /* only the layers count from here */
                job->progress->total = job->progress->done = 0;
            if (index_tar(&src, err) < 0)
                goto out;
        } else {
            /* compressed: spool the files, then read them in the manifest's order */
            if (mkdirat(job->meta_fd, "spool", 0700) < 0 ||
                (src.fd = openat(job->meta_fd, "spool", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                nr_error_errno(err, "cannot create a spool directory");
                goto out;
            }
            src.spool = true;
            for (int r = ARCHIVE_OK; r != ARCHIVE_EOF; r = archive_read_next_header(a, &e)) {
                if (r < ARCHIVE_WARN) {
                    nr_error_msg(err, "%s: %s", what, archive_error_string(a));
                    goto out;
                }
                if (spool_entry(&src, a, e, err) < 0)
                    goto out;
            }
            if (nr_stream_drain(&s) < 0) {
                nr_error_errno(err, "%s: read error", what);
                goto out;
            }
        }
        rc = image_from_src(job, &src, err);
        goto out;
    }

    /* a rootfs tarball: one layer, its digest is the file's */
    job->format = "rootfs-tar";
    if (job->ref) {
        nr_error_msg(err, "--image-ref: %s is a root filesystem tarball, not an image archive", what);
        goto out;
    }
    if (e)
        pending[n_pending++] = e;
    job->layers.index = 0;
    if (nr_layer_apply(&job->layers, a, pending, n_pending, what, err) < 0)
        goto out;
    if (nr_stream_drain(&s) < 0) {   /* the digest covers what follows the tar's end */
        nr_error_errno(err, "%s: read error", what);
        goto out;
    }
    snprintf(job->id, sizeof job->id, "%s", nr_stream_digest(&s));
    rc = write_plain_config(job, err);
out:
    if (top)
        archive_entry_free(top);
    if (a)
        archive_read_free(a);
    if (src.index)
        g_hash_table_destroy(src.index);
    if (src.spool) {
        close(src.fd);
        remove_spool(job);
    }
    nr_stream_clear(&s);
    return rc;
}

int nr_unpack_image(NrUnpackJob *job, NrError *err)
{
    struct stat st;
    if (fstat(job->image_fd, &st) < 0)
        return nr_error_errno(err, "'%s'", job->name);
    g_autofree char *what = g_strdup_printf("'%s'", job->name);
    if (S_ISREG(st.st_mode))
        return unpack_file(job, &st, what, err);
    if (!S_ISDIR(st.st_mode))
        return nr_error_msg(err, "%s is neither a file nor a directory", what);
    Src src = { .fd = job->image_fd, .what = what };
    if (faccessat(job->image_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        job->format = "oci-layout";
        return oci_image(job, &src, err);
    }
    job->format = "docker-dir";
    return docker_image(job, &src, err);
}
