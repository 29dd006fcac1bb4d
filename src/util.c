/* util.c — small filesystem and string helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

#include "nr-util.h"

void *nr_xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("nroot: error: out of memory\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    return p;
}

char *nr_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = nr_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *nr_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (r < 0) {
        fputs("nroot: error: out of memory\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    return p;
}

void nr_strv_take(NrStrv *s, char *str)
{
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            fputs("nroot: error: out of memory\n", stderr);
            _exit(NR_EXIT_FAILURE);
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

void nr_strv_push(NrStrv *s, const char *str) { nr_strv_take(s, nr_xstrdup(str)); }

void nr_strv_clear(NrStrv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

uint64_t nr_fnv1a(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int nr_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int nr_write_file_at(int dirfd, const char *path, const char *data, mode_t mode, NrError *err)
{
    nr_autoclose int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return nr_error_errno(err, "cannot create '%s'", path);
    if (nr_write_all(fd, data, strlen(data)) < 0)
        return nr_error_errno(err, "cannot write '%s'", path);
    return 0;
}

char *nr_read_file(const char *path, size_t *ret_len, NrError *err)
{
    nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        nr_error_errno(err, "cannot open '%s'", path);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = nr_xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            char *n = realloc(buf, cap);
            if (!n) {
                free(buf);
                nr_error_msg(err, "out of memory reading '%s'", path);
                return NULL;
            }
            buf = n;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            nr_error_errno(err, "cannot read '%s'", path);
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return buf;
}

int nr_mkdir_p(const char *path, mode_t mode, NrError *err)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return nr_error_errno(err, "cannot create directory '%s'", path);
    nr_autofree char *copy = nr_xstrdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return nr_error_errno(err, "cannot create directory '%s'", copy);
        *p = '/';
    }
    if (mkdir(copy, mode) < 0 && errno != EEXIST)
        return nr_error_errno(err, "cannot create directory '%s'", copy);
    return 0;
}

bool nr_parse_u32(const char *s, uint32_t *ret)
{
    if (!s || !*s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *ret = (uint32_t)v;
    return true;
}

const char *nr_runtime_dir(NrError *err)
{
    static char *dir;
    if (dir)
        return dir;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char *d;
    /* overlay layer paths live below it: fuse-overlayfs cannot escape ':'
     * or ',' in them, so such a directory is passed over */
    if (xdg && *xdg == '/' && !strpbrk(xdg, ":,\\\n") && access(xdg, W_OK | X_OK) == 0)
        d = nr_strdup_printf("%s/nroot", xdg);
    else
        d = nr_strdup_printf("/tmp/nroot-%u", (unsigned)getuid());
    if (mkdir(d, 0700) < 0) {
        if (errno != EEXIST) {
            nr_error_errno(err, "cannot create runtime directory '%s'", d);
            free(d);
            return NULL;
        }
        struct stat st;
        if (lstat(d, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
            nr_error_msg(err, "runtime directory '%s' is not a directory owned by you", d);
            nr_error_hint(err, "remove it, or set XDG_RUNTIME_DIR to a private directory");
            free(d);
            return NULL;
        }
    }
    dir = d;
    return dir;
}

void nr_read_line(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (!fgets(buf, (int)size, f))
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

void nr_close_range_except(unsigned first, const int *keep, int n)
{
    for (int i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < first)
            continue;
        if ((unsigned)keep[i] > first)
            syscall(SYS_close_range, first, (unsigned)keep[i] - 1, 0U);
        first = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, first, ~0U, 0U);
}

void nr_close_fds_except(int keep)
{
    nr_close_range_except(3U, &keep, 1);
}

void nr_stdio_fill(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            /* lands on the lowest free fd: this one */
            int n = open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd)
                close(n);
        }
}

int nr_keyring_new_session(NrError *err)
{
    /* KEYCTL_JOIN_SESSION_KEYRING (1) with no name: a fresh anonymous
     * session keyring, so the caller's keys cannot be searched or read.
     * ENOSYS: a kernel without keys; EPERM: a seccomp filter above nroot
     * (docker's, podman's) forbids keyctl to this whole process tree. */
    if (syscall(SYS_keyctl, 1, NULL, 0, 0, 0) < 0 && errno != ENOSYS && errno != EPERM) {
        nr_error_errno(err, "cannot give the container a session keyring of its own");
        if (errno == EDQUOT)
            nr_error_hint(err, "the user's key quota is used up: see kernel.keys.maxkeys and "
                          "kernel.keys.maxbytes ('man 7 keyrings')");
        return -1;
    }
    return 0;
}

/* ---- key=value files: one pair a line, "\n" and "\\" escaped ---- */

static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '\\' && p[1] == 'n')
            *o++ = '\n', p++;
        else if (*p == '\\' && p[1] == '\\')
            *o++ = '\\', p++;
        else
            *o++ = *p;
    }
    *o = '\0';
}

int nr_kv_read(const char *path, void (*fn)(void *, const char *, char *), void *data, NrError *err)
{
    nr_autofree char *text = nr_read_file(path, NULL, err);
    if (!text)
        return -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        unescape(eq + 1);
        fn(data, line, eq + 1);
    }
    return 0;
}

void nr_kv_put(FILE *f, const char *key, const char *value)
{
    fprintf(f, "%s=", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\\')
            fputs("\\\\", f);
        else
            fputc(*p, f);
    }
    fputc('\n', f);
}

/* "5 minutes", "About an hour", ... (docker's wording) */
void nr_human_duration(int64_t s, char *buf, size_t size)
{
    if (s < 1)
        snprintf(buf, size, "Less than a second");
    else if (s < 60)
        snprintf(buf, size, "%lld second%s", (long long)s, s == 1 ? "" : "s");
    else if (s < 120)
        snprintf(buf, size, "About a minute");
    else if (s < 3600)
        snprintf(buf, size, "%lld minutes", (long long)(s / 60));
    else if (s < 7200)
        snprintf(buf, size, "About an hour");
    else if (s < 48 * 3600)
        snprintf(buf, size, "%lld hours", (long long)(s / 3600));
    else if (s < 14 * 86400)
        snprintf(buf, size, "%lld days", (long long)(s / 86400));
    else if (s < 90 * 86400)
        snprintf(buf, size, "%lld weeks", (long long)(s / (7 * 86400)));
    else if (s < 730 * 86400)
        snprintf(buf, size, "%lld months", (long long)(s / (30 * 86400)));
    else
        snprintf(buf, size, "%lld years", (long long)(s / (365 * 86400)));
}

/* a JSON string literal on stdout */
void nr_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}


char *nr_runtime_subdir(const char *name, NrError *err)
{
    const char *rt = nr_runtime_dir(err);
    if (!rt)
        return NULL;
    char *d = nr_strdup_printf("%s/%s", rt, name);
    if (mkdir(d, 0700) < 0 && errno != EEXIST) {
        nr_error_errno(err, "cannot create '%s'", d);
        free(d);
        return NULL;
    }
    return d;
}
