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
 * read in place: its headers are indexed once (each member's header offset),
 * and a blob is read by starting a reader at its header, so the cost grows
 * with the number of members, not its square.  A compressed one is spooled
 * to the import's bookkeeping directory first (one file per member, named
 * by its number, never by its name), since its layers must be read in the
 * manifest's order.
 *
 * Every blob named by a digest is checked against it (and its size) while it
 * is read, and every layer's diff_id over its decompressed bytes while it is
 * unpacked; a layer's digests are known only at its end, so a mismatch fails
 * the whole import, whose tree nroot then throws away.  The import reports
 * the layer chain (the OCI chain id of the measured diff_ids), which the
 * store keeps beside the config digest, the image id. */
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

typedef struct Entry {
    uint64_t size;
    char    *link;     /* an alias (symlink or hard link) for this name */
    int64_t  pos;      /* tar: offset of its header; spool: its file's number */
} Entry;

typedef struct Src {
    bool        tar;       /* an uncompressed tar read in place */
    bool        spool;     /* a directory of numbered members (a compressed archive) */
    int         fd;        /* the tar, or the directory */
    GHashTable *index;     /* name -> Entry (tar and spool) */
    int64_t     n_spooled;
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
    int64_t         off;       /* tar: where the member reader reads next */
    guint8         *buf;
} Blob;

static void blob_close(Blob *b)
{
    nr_stream_clear(&b->s);
    if (b->outer)
        archive_read_free(b->outer);
    if (b->fd >= 0)
        close(b->fd);
    g_free(b->buf);
    b->outer = NULL;
    b->buf = NULL;
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

/* a tar reader that starts at one member's header (pread: no shared offset) */
#define MEMBER_BUF (1 << 16)

static la_ssize_t member_read(struct archive *a, void *data, const void **ret_buf)
{
    Blob *b = data;
    ssize_t n;
    do
        n = pread(b->fd, b->buf, MEMBER_BUF, (off_t)b->off);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        archive_set_error(a, errno, "read error");
        return -1;
    }
    b->off += n;
    *ret_buf = b->buf;
    return n;
}

static la_int64_t member_skip(struct archive *a, void *data, la_int64_t request)
{
    Blob *b = data;
    b->off += request;
    return request;
}

static int member_open(Src *src, const Entry *ent, const char *name, Blob *b, NrError *err)
{
    b->fd = fcntl(src->fd, F_DUPFD_CLOEXEC, 3);
    if (b->fd < 0)
        return nr_error_errno(err, "%s: cannot read '%s'", src->what, name);
    b->off = ent->pos;
    b->buf = g_malloc(MEMBER_BUF);
    b->outer = archive_read_new();
    archive_read_support_format_tar(b->outer);
    archive_read_support_format_gnutar(b->outer);
    archive_read_set_read_callback(b->outer, member_read);
    archive_read_set_skip_callback(b->outer, member_skip);
    archive_read_set_callback_data(b->outer, b);
    struct archive_entry *e;
    if (archive_read_open1(b->outer) != ARCHIVE_OK ||
        archive_read_next_header(b->outer, &e) < ARCHIVE_WARN)
        return nr_error_msg(err, "%s: cannot read '%s': %s", src->what, name,
                            archive_error_string(b->outer) ?: "damaged archive");
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
        return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
    b->size = (uint64_t)archive_entry_size(e);
    return 0;
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
    Entry *ent = NULL;
    for (int depth = 0; src->index; depth++) {
        ent = g_hash_table_lookup(src->index, n);
        if (!ent)
            return nr_error_msg(err, "%s: '%s' is missing from the image", src->what, name);
        if (!ent->link)
            break;
        if (depth == 8)
            return nr_error_msg(err, "%s: '%s': too many levels of links", src->what, name);
        g_free(n);
        n = g_strdup(ent->link);
    }
    if (src->tar) {
        if (member_open(src, ent, name, b, err) < 0) {
            blob_close(b);
            return -1;
        }
        nr_stream_init(&b->s, -1, b->outer, b->size, dt, progress);
        return 0;
    }
    if (src->spool) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)ent->pos);
        b->fd = openat(src->fd, num, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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
    if (b.size > NR_JSON_MAX_SIZE) {
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

/* JSON nested deeper than `max` (arrays and objects, counted outside
 * strings)?  json-glib parses recursively: a deep document would overflow
 * the stack before any limit of its own */
bool nr_json_too_deep(const char *buf, size_t len, int max)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

JsonNode *nr_json_parse(const char *data, size_t len, const char *what, const char *name,
                        NrError *err)
{
    if (len > NR_JSON_MAX_SIZE) {
        nr_error_msg(err, "%s: '%s' is too large for image metadata (%zu bytes, at most %u)",
                     what, name, len, NR_JSON_MAX_SIZE);
        return NULL;
    }
    if (nr_json_too_deep(data, len, NR_JSON_MAX_DEPTH)) {
        nr_error_msg(err, "%s: '%s' is nested more than %d levels deep: not image metadata",
                     what, name, NR_JSON_MAX_DEPTH);
        return NULL;
    }
    g_autoptr(JsonParser) p = json_parser_new_immutable();
    g_autoptr(GError) gerr = NULL;
    if (!json_parser_load_from_data(p, data && len ? data : "", (gssize)len, &gerr)) {
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

static JsonNode *parse_json(GBytes *bytes, const char *what, const char *name, NrError *err)
{
    gsize len;
    const char *data = g_bytes_get_data(bytes, &len);
    return nr_json_parse(data, len, what, name, err);
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

/* The image config (a buffer): the key=value text nroot reads at each run
 * (values escaped) into `out`, and its rootfs.diff_ids (sha256 hex) into
 * `diff_ids`.  Every layer is verified against these, so an image without
 * them is refused, as `docker load` does. */
int nr_image_config(const char *buf, size_t len, const char *what, const char *name,
                    const char *format, const char *ref, GPtrArray *tags, GString *out,
                    GPtrArray *diff_ids, NrError *err)
{
    g_autoptr(JsonNode) config = nr_json_parse(buf, len, what, name, err);
    if (!config)
        return -1;
    JsonObject *root = JSON_NODE_HOLDS_OBJECT(config) ? json_node_get_object(config) : NULL;
    if (!root)
        return nr_error_msg(err, "%s: the image config is not a JSON object", what);
    const char *os = get_string(root, "os"), *arch = get_string(root, "architecture");
    if (os && strcmp(os, "linux") != 0)
        return nr_error_msg(err, "%s: the image is for %s, not linux", what, os);
    JsonArray *diffs = get_array(get_object(root, "rootfs"), "diff_ids");
    if (!diffs)
        return nr_error_msg(err, "%s: the image config has no rootfs.diff_ids: its layers "
                            "cannot be verified", what);
    for (guint i = 0; i < json_array_get_length(diffs); i++) {
        JsonNode *v = json_array_get_element(diffs, i);
        Digest d;
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING ||
            !parse_digest(json_node_get_string(v), &d) || d.type != NR_SHA256)
            return nr_error_msg(err, "%s: diff_id %u of the image config is not a sha256 digest",
                                what, i + 1);
        g_ptr_array_add(diff_ids, g_strdup(d.hex));
    }
    if (arch && strcmp(arch, host_arch()) != 0)
        nr_warn("%s: the image is built for %s, this machine is %s", what, arch, host_arch());
    put(out, "format", format);
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
    return 0;
}

/* read the config blob, write the config file, take the diff_ids */
static int write_config(NrUnpackJob *job, Src *src, const char *name, const Digest *want,
                        int64_t size, GPtrArray *tags, GPtrArray *diff_ids, char ret_sha256[65],
                        NrError *err)
{
    g_autoptr(GBytes) bytes = NULL;
    if (read_blob(src, name, want, size, &bytes, ret_sha256, err) < 0)
        return -1;
    gsize len;
    const char *data = g_bytes_get_data(bytes, &len);
    g_autoptr(GString) out = g_string_new(NULL);
    if (nr_image_config(data, len, src->what, name, job->format, job->ref, tags, out, diff_ids,
                        err) < 0)
        return -1;
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

/* The layer's tar is read from its decompressed bytes, which pass through
 * an NrStream of their own on the way: libarchive's filters decompress (a
 * "raw" reader), the stream hashes what it hands on, the tar reader reads
 * it.  So the diff_id covers exactly what was unpacked, whatever the
 * compression, and nothing is read twice. */
static int apply_layer(NrUnpackJob *job, Src *src, Layer *ly, Blob *b, const char *what,
                       char ret_diff[129], NrError *err)
{
    struct archive *raw = archive_read_new();
    archive_read_support_filter_all(raw);
    archive_read_support_format_raw(raw);
    struct archive_entry *e;
    int rc = -1;
    NrStream d = { 0 };
    struct archive *tar = NULL;
    if (archive_read_open(raw, &b->s, NULL, nr_stream_read, NULL) != ARCHIVE_OK ||
        archive_read_next_header(raw, &e) < ARCHIVE_WARN) {
        nr_error_msg(err, "%s: %s", what, archive_error_string(raw) ?: "cannot read the layer");
        goto out;
    }
    nr_stream_init(&d, -1, raw, 0, ly->has_diff ? ly->diff.type : NR_SHA256, NULL);
    tar = archive_read_new();
    archive_read_support_format_tar(tar);
    archive_read_support_format_gnutar(tar);
    archive_read_open(tar, &d, NULL, nr_stream_read, NULL);
    if (nr_layer_apply(&job->layers, tar, NULL, 0, what, err) < 0)
        goto out;
    /* the diff_id covers the tar's end blocks and whatever follows them */
    if (nr_stream_drain(&d) < 0) {
        nr_error_msg(err, "%s: %s", what, archive_error_string(raw) ?: "read error");
        goto out;
    }
    snprintf(ret_diff, 129, "%s", nr_stream_digest(&d));
    if (ly->has_diff && strcmp(ret_diff, ly->diff.hex) != 0) {
        nr_error_msg(err, "%s: the layer does not match its digest in the image config "
                     "(diff_id %s:%.12s... expected, %s:%.12s... found): it is not the image's "
                     "layer", what, ly->diff.alg, ly->diff.hex, ly->diff.alg, ret_diff);
        goto out;
    }
    rc = 0;
out:
    if (tar)
        archive_read_free(tar);
    nr_stream_clear(&d);
    archive_read_free(raw);
    return rc;
}

/* OCI's chain id: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
 * DiffID(Ln)); "sha256:<hex>" strings */
void nr_chain_next(char chain[72], const char *diff)
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

static int apply_layers(NrUnpackJob *job, Src *src, Layer *layers, guint n, NrError *err)
{
    if (n > NR_MAX_LAYERS)
        return nr_error_msg(err, "%s: the image has %u layers; nroot imports images of at most "
                            "%d", src->what, n, NR_MAX_LAYERS);
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
    char chain[72] = "";
    for (guint i = 0; i < n; i++) {
        Layer *ly = &layers[i];
        NrDigestType t = ly->has_raw ? ly->raw.type : NR_SHA256;
        Blob b;
        if (blob_open(src, ly->name, t, job->progress, &b, err) < 0)
            return -1;
        g_autofree char *what = g_strdup_printf("%s: layer %u of %u ('%s')", src->what, i + 1, n,
                                                ly->name);
        int rc = -1;
        char diff[129];
        if (ly->size >= 0 && b.size != (uint64_t)ly->size) {
            nr_error_msg(err, "%s: blob '%s' has %llu bytes where its descriptor says %lld: the "
                         "file is corrupt or was altered", src->what, ly->name,
                         (unsigned long long)b.size, (long long)ly->size);
            goto next;
        }
        job->layers.index = (int)i;
        rc = apply_layer(job, src, ly, &b, what, diff, err);
        if (rc == 0 && nr_stream_drain(&b.s) < 0)
            rc = nr_error_errno(err, "%s: cannot read '%s'", src->what, ly->name);
        if (rc == 0 && ly->has_raw)
            rc = check_digest(&b.s, &ly->raw, src->what, ly->name, err);
        if (rc == 0) {
            g_autofree char *d = g_strdup_printf("%s:%s", ly->has_diff ? ly->diff.alg : "sha256", diff);
            nr_chain_next(chain, d);
        }
    next:
        blob_close(&b);
        if (rc < 0)
            return -1;
    }
    /* no layers: the chain of nothing, sha256 of "" */
    snprintf(job->chain, sizeof job->chain, "%s", n ? chain + strlen("sha256:") :
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
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

void nr_manifest_clear(NrManifest *m)
{
    g_free(m->config);
    if (m->layers)
        g_ptr_array_unref(m->layers);
    if (m->sizes)
        g_array_unref(m->sizes);
    if (m->names)
        g_ptr_array_unref(m->names);
    memset(m, 0, sizeof *m);
}

static void manifest_init(NrManifest *m)
{
    memset(m, 0, sizeof *m);
    m->layers = g_ptr_array_new_with_free_func(g_free);
    m->sizes = g_array_new(FALSE, FALSE, sizeof(int64_t));
    m->names = g_ptr_array_new_with_free_func(g_free);
    m->config_size = -1;
}

/* manifest.json (a buffer): the image `ref` names (or the only one) */
int nr_image_docker_manifest(const char *buf, size_t len, const char *what, const char *ref,
                             NrManifest *ret, NrError *err)
{
    manifest_init(ret);
    g_autoptr(JsonNode) man = nr_json_parse(buf, len, what, "manifest.json", err);
    if (!man)
        return -1;
    if (!JSON_NODE_HOLDS_ARRAY(man))
        return nr_error_msg(err, "%s: manifest.json is not a list of images", what);
    JsonArray *arr = json_node_get_array(man);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(cand_free);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
        if (!o || !get_string(o, "Config") || !get_array(o, "Layers"))
            return nr_error_msg(err, "%s: manifest.json: image %u has no Config or no Layers",
                                what, i + 1);
        Cand *c = g_new0(Cand, 1);
        c->names = g_ptr_array_new_with_free_func(g_free);
        c->obj = o;
        g_ptr_array_add(cands, c);
        JsonArray *tags = get_array(o, "RepoTags");
        for (guint j = 0; tags && j < json_array_get_length(tags); j++) {
            JsonNode *t = json_array_get_element(tags, j);
            if (JSON_NODE_HOLDS_VALUE(t) && json_node_get_value_type(t) == G_TYPE_STRING)
                g_ptr_array_add(c->names, g_strdup(json_node_get_string(t)));
        }
    }
    Cand *c = choose(cands, ref, what, err);
    if (!c)
        return -1;
    ret->config = g_strdup(get_string(c->obj, "Config"));
    for (guint j = 0; j < c->names->len; j++)
        g_ptr_array_add(ret->names, g_strdup(c->names->pdata[j]));
    JsonArray *la = get_array(c->obj, "Layers");
    if (json_array_get_length(la) > NR_MAX_LAYERS)
        return nr_error_msg(err, "%s: the image has %u layers; nroot imports images of at most "
                            "%d", what, json_array_get_length(la), NR_MAX_LAYERS);
    for (guint i = 0; i < json_array_get_length(la); i++) {
        JsonNode *v = json_array_get_element(la, i);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
            return nr_error_msg(err, "%s: manifest.json: layer %u is not a file name", what, i + 1);
        int64_t unknown = -1;
        g_ptr_array_add(ret->layers, g_strdup(json_node_get_string(v)));
        g_array_append_val(ret->sizes, unknown);
    }
    return 0;
}

/* the manifest's layers, each with the diff_id the config gives it */
static Layer *make_layers(Src *src, const NrManifest *m, GPtrArray *diff_ids, bool oci,
                          NrError *err)
{
    guint n = m->layers->len;
    if (diff_ids->len != n) {
        nr_error_msg(err, "%s: the image config lists %u layers, the manifest %u", src->what,
                     diff_ids->len, n);
        return NULL;
    }
    Layer *layers = g_new0(Layer, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        const char *ln = m->layers->pdata[i];
        layers[i].size = g_array_index(m->sizes, int64_t, i);
        if (oci) {
            parse_digest(ln, &layers[i].raw);   /* checked by nr_image_oci_manifest */
            layers[i].name = g_strdup_printf("blobs/%s/%s", layers[i].raw.alg, layers[i].raw.hex);
            layers[i].has_raw = true;
        } else {
            layers[i].name = g_strdup(ln);
            layers[i].has_raw = digest_from_name(ln, &layers[i].raw);
        }
        g_autofree char *d = g_strdup_printf("sha256:%s", (char *)diff_ids->pdata[i]);
        layers[i].has_diff = parse_digest(d, &layers[i].diff);
    }
    return layers;
}

static int docker_image(NrUnpackJob *job, Src *src, NrError *err)
{
    g_autoptr(GBytes) mb = NULL;
    if (read_blob(src, "manifest.json", NULL, -1, &mb, NULL, err) < 0)
        return -1;
    gsize len;
    const char *data = g_bytes_get_data(mb, &len);
    NrManifest m;
    if (nr_image_docker_manifest(data, len, src->what, job->ref, &m, err) < 0) {
        nr_manifest_clear(&m);
        return -1;
    }
    Digest want;
    bool named = digest_from_name(m.config, &want);
    char sha[65];
    g_autoptr(GPtrArray) diffs = g_ptr_array_new_with_free_func(g_free);
    int rc = -1;
    Layer *layers = NULL;
    if (write_config(job, src, m.config, named ? &want : NULL, -1, m.names, diffs, sha, err) < 0)
        goto out;
    snprintf(job->id, sizeof job->id, "%.64s", named && want.type == NR_SHA256 ? want.hex : sha);
    layers = make_layers(src, &m, diffs, false, err);
    if (layers)
        rc = apply_layers(job, src, layers, m.layers->len, err);
out:
    if (layers)
        layers_free(layers, m.layers->len);
    nr_manifest_clear(&m);
    return rc;
}

/* ---- OCI image layout ---- */

static bool is_index_type(const char *mt)
{
    return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
                  strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

static int descriptor(const char *what, JsonObject *d, Digest *ret, int64_t *ret_size,
                      NrError *err)
{
    const char *dg = get_string(d, "digest");
    JsonNode *sz = d ? json_object_get_member(d, "size") : NULL;
    if (!parse_digest(dg, ret))
        return nr_error_msg(err, "%s: a descriptor has a missing or unsupported digest '%s'",
                            what, dg ? dg : "");
    if (!sz || !JSON_NODE_HOLDS_VALUE(sz) || json_node_get_value_type(sz) != G_TYPE_INT64 ||
        json_node_get_int(sz) < 0)
        return nr_error_msg(err, "%s: the descriptor of %s has no valid size", what, dg);
    *ret_size = json_node_get_int(sz);
    return 0;
}

static char *blob_path(const Digest *d)
{
    return g_strdup_printf("blobs/%s/%s", d->alg, d->hex);
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

/* the images an index lists; nested indexes are read from `src` (a
 * harness passes none: they are refused) */
static int collect_oci(Src *src, const char *what, JsonNode *index, GPtrArray *keep,
                       GPtrArray *cands, GPtrArray *inherit, int depth, NrError *err)
{
    JsonObject *io = JSON_NODE_HOLDS_OBJECT(index) ? json_node_get_object(index) : NULL;
    JsonArray *m = get_array(io, "manifests");
    if (!m)
        return nr_error_msg(err, "%s: an image index without a 'manifests' list", what);
    for (guint i = 0; i < json_array_get_length(m); i++) {
        JsonNode *dn = json_array_get_element(m, i);
        JsonObject *d = JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        if (!d)
            return nr_error_msg(err, "%s: an image index entry is not an object", what);
        JsonObject *ann = get_object(d, "annotations");
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        for (guint j = 0; inherit && j < inherit->len; j++)
            add_name(names, inherit->pdata[j]);
        add_name(names, get_string(ann, "io.containerd.image.name"));
        add_name(names, get_string(ann, "org.opencontainers.image.ref.name"));
        if (is_index_type(get_string(d, "mediaType"))) {
            if (depth >= 4 || !src)
                return nr_error_msg(err, "%s: image indexes nested too deep", what);
            Digest dg;
            int64_t size;
            if (descriptor(what, d, &dg, &size, err) < 0)
                return -1;
            g_autofree char *path = blob_path(&dg);
            JsonNode *sub = load_json(src, path, &dg, size, NULL, err);
            if (!sub)
                return -1;
            g_ptr_array_add(keep, sub);
            if (collect_oci(src, what, sub, keep, cands, names, depth + 1, err) < 0)
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

/* index.json (a buffer), without nested indexes: 0 when it names an image
 * (for harnesses; the import reads nested ones too) */
int nr_image_oci_index(const char *buf, size_t len, const char *what, const char *ref,
                       NrError *err)
{
    g_autoptr(JsonNode) index = nr_json_parse(buf, len, what, "index.json", err);
    if (!index)
        return -1;
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(cand_free);
    if (collect_oci(NULL, what, index, keep, cands, NULL, 0, err) < 0)
        return -1;
    Cand *c = choose(cands, ref, what, err);
    Digest d;
    int64_t size;
    return c ? descriptor(what, c->obj, &d, &size, err) : -1;
}

/* an OCI image manifest (a buffer): the config's digest and size, each
 * layer's digest and size */
int nr_image_oci_manifest(const char *buf, size_t len, const char *what, NrManifest *ret,
                          NrError *err)
{
    manifest_init(ret);
    g_autoptr(JsonNode) man = nr_json_parse(buf, len, what, "the image manifest", err);
    if (!man)
        return -1;
    JsonObject *mo = JSON_NODE_HOLDS_OBJECT(man) ? json_node_get_object(man) : NULL;
    JsonObject *cd = get_object(mo, "config");
    JsonArray *la = get_array(mo, "layers");
    if (!cd || !la)
        return nr_error_msg(err, "%s: the image manifest has no config or no layers", what);
    Digest d;
    if (descriptor(what, cd, &d, &ret->config_size, err) < 0)
        return -1;
    ret->config = g_strdup_printf("%s:%s", d.alg, d.hex);
    guint n = json_array_get_length(la);
    if (n > NR_MAX_LAYERS)
        return nr_error_msg(err, "%s: the image has %u layers; nroot imports images of at most "
                            "%d", what, n, NR_MAX_LAYERS);
    for (guint i = 0; i < n; i++) {
        JsonNode *dn = json_array_get_element(la, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(dn) ? json_node_get_object(dn) : NULL;
        int64_t size;
        if (!o)
            return nr_error_msg(err, "%s: layer %u of the manifest is not a descriptor", what, i + 1);
        if (descriptor(what, o, &d, &size, err) < 0)
            return -1;
        g_ptr_array_add(ret->layers, g_strdup_printf("%s:%s", d.alg, d.hex));
        g_array_append_val(ret->sizes, size);
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
    if (collect_oci(src, src->what, index, keep, cands, NULL, 0, err) < 0)
        return -1;
    Cand *c = choose(cands, job->ref, src->what, err);
    if (!c)
        return -1;

    Digest md;
    int64_t msize;
    if (descriptor(src->what, c->obj, &md, &msize, err) < 0)
        return -1;
    g_autofree char *mpath = blob_path(&md);
    g_autoptr(GBytes) mb = NULL;
    if (read_blob(src, mpath, &md, msize, &mb, NULL, err) < 0)
        return -1;
    gsize len;
    const char *data = g_bytes_get_data(mb, &len);
    NrManifest m;
    if (nr_image_oci_manifest(data, len, src->what, &m, err) < 0) {
        nr_manifest_clear(&m);
        return -1;
    }
    int rc = -1;
    Layer *layers = NULL;
    Digest cdg;
    parse_digest(m.config, &cdg);   /* checked by nr_image_oci_manifest */
    g_autofree char *cpath = blob_path(&cdg);
    g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) diffs = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < c->names->len; i++) {
        const char *nm = c->names->pdata[i];
        if (strchr(nm, ':') || strchr(nm, '/'))   /* a bare tag ("latest") names nothing */
            g_ptr_array_add(tags, g_strdup(nm));
    }
    if (write_config(job, src, cpath, &cdg, m.config_size, tags, diffs, NULL, err) < 0)
        goto out;
    snprintf(job->id, sizeof job->id, "%.64s", cdg.hex);
    layers = make_layers(src, &m, diffs, true, err);
    if (layers)
        rc = apply_layers(job, src, layers, m.layers->len, err);
out:
    if (layers)
        layers_free(layers, m.layers->len);
    nr_manifest_clear(&m);
    return rc;
}

/* ---- reading a tar once: index it in place, or spool it ---- */

static Entry *index_entry(Src *src, struct archive_entry *e, const char *name, int64_t pos)
{
    Entry *ent = g_new0(Entry, 1);
    ent->size = (uint64_t)archive_entry_size(e);
    ent->pos = pos;
    const char *hard = archive_entry_hardlink(e);
    if (hard)
        ent->link = clean_name(hard);
    else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
        ent->link = join_link(name, archive_entry_symlink(e));
    if ((hard || archive_entry_filetype(e) == AE_IFLNK) && !ent->link) {
        entry_free(ent);
        /* an alias out of the archive: as if missing (and no older member
         * of the name stays visible: the last member of a name counts) */
        g_hash_table_remove(src->index, name);
        return NULL;
    }
    /* a later member of the same name replaces the earlier, as tar does */
    g_hash_table_replace(src->index, g_strdup(name), ent);
    return ent;
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
            index_entry(src, e, c, archive_read_header_position(a));
        else if (c && *c)
            g_hash_table_remove(src->index, c);   /* a directory or device now */
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
    if (!c || !*c)
        return 0;
    if (!indexable(e)) {
        g_hash_table_remove(src->index, c);
        return 0;
    }
    bool data = archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e);
    /* members are spooled under their number: names like a/b and a%b
     * cannot meet on disk */
    int64_t num = data ? src->n_spooled++ : -1;
    if (!index_entry(src, e, c, num) || !data)
        return 0;
    char flat[32];
    snprintf(flat, sizeof flat, "%lld", (long long)num);
    nr_autoclose int fd = openat(src->fd, flat, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
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
    snprintf(job->chain, sizeof job->chain, "%s", job->id);   /* the file is the whole tree */
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
