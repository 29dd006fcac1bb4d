/* SPDX-License-Identifier: Apache-2.0 */
/* util.c — small filesystem and string helpers. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>

#include "nr-error.h"
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

void nr_strv_push(NrStrv *s, const char *str)
{
    nr_strv_take(s, nr_xstrdup(str));
}

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
    nr_autoclose int fd =
        openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return nr_error_errno(err, "cannot create '%s'", path);
    if (nr_write_all(fd, data, strlen(data)) < 0)
        return nr_error_errno(err, "cannot write '%s'", path);
    return 0;
}

char *nr_read_file(const char *path, size_t *ret_len, NrError *err)
{
    /* O_NONBLOCK: a FIFO put in a file's place must not hang the open */
    nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        nr_error_errno(err, "cannot open '%s'", path);
        return NULL;
    }
    return nr_read_fd(fd, path, NR_READ_MAX, ret_len, err);
}

char *nr_read_fd(int fd, const char *path, size_t max, size_t *ret_len, NrError *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        nr_error_errno(err, "cannot read '%s'", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        nr_error_msg(err, "'%s' is not a regular file", path);
        return NULL;
    }
    if ((uint64_t)st.st_size > max) {
        nr_error_msg(err, "'%s' is larger than %zu bytes", path, max);
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK))
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    size_t cap = (size_t)st.st_size + 4096, len = 0;
    if (cap > max + 2)
        cap = max + 2;
    char *buf = malloc(cap);
    if (!buf) {
        nr_error_msg(err, "out of memory reading '%s'", path);
        return NULL;
    }
    for (;;) {
        if (len + 1 >= cap) {
            /* the file grew while read: still bounded */
            if (len > max) {
                nr_error_msg(err, "'%s' is larger than %zu bytes", path, max);
                free(buf);
                return NULL;
            }
            cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
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
    if (len > max) {
        nr_error_msg(err, "'%s' is larger than %zu bytes", path, max);
        free(buf);
        return NULL;
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

/* -u USER[:GROUP]: a name or a number each, no space, no '/' */
bool nr_user_spec_valid(const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (!*spec || colon == spec || (colon && (!colon[1] || strchr(colon + 1, ':'))))
        return false;
    for (const char *p = spec; *p; p++)
        if (isspace((unsigned char)*p) || *p == '/')
            return false;
    return true;
}

/* --hostname: 1 to 64 letters, digits, '-', '_' and '.' */
bool nr_hostname_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return true;
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

/* /proc/self/NAME of a process that is not dumpable belongs to the host's
 * root: it is made dumpable for the write, while no process of the
 * container exists that could trace it (the child before it forks the
 * first one, exec's joiner, which never enters the container's pid
 * namespace; nr-ocirun.h) */
int nr_proc_self_write(const char *name, const char *value)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/%s", name);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int r = fd < 0 || write(fd, value, strlen(value)) < 0 ? -1 : 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    errno = e;
    return r;
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
    size_t len = 0;
    nr_autofree char *text = nr_read_file(path, &len, err);
    if (!text)
        return -1;
    /* a line counts once its newline is there: a file being appended to
     * (the live state gets its exit code so) is never read half-written */
    char *end = memrchr(text, '\n', len);
    *(end ? end : text) = '\0';
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

/* ---- showing data that came from images, containers and files ---- */

/* the length of the UTF-8 sequence at p (1-4), 0 if it is not a valid one */
static size_t utf8_len(const unsigned char *p, uint32_t *ret_cp)
{
    uint32_t cp;
    size_t n;
    if (p[0] < 0x80) {
        *ret_cp = p[0];
        return 1;
    } else if (p[0] >= 0xc2 && p[0] <= 0xdf)
        cp = p[0] & 0x1f, n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        cp = p[0] & 0x0f, n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        cp = p[0] & 0x07, n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret_cp = cp;
    return n;
}

/* characters that show nothing themselves but change how the rest of a
 * line is shown: the bidirectional controls (a name with U+202E is read
 * right to left: "Trojan Source") and the invisible ones (zero width
 * spaces and joiners, word joiner, BOM) */
static bool invisible(uint32_t cp)
{
    return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

void nr_escape_put(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_len(p, &cp);
        if (n == 1 && cp == '\n')
            fputs("\\n", f);
        else if (n == 1 && cp == '\t')
            fputs("\\t", f);
        else if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            /* control characters (C0, DEL, C1) and bytes that are no
             * UTF-8: as ls -b shows them, never to the terminal */
            if (n == 0)
                n = 1;
            for (size_t i = 0; i < n; i++)
                fprintf(f, "\\x%02x", p[i]);
        } else if (invisible(cp))
            fprintf(f, "\\u%04x", (unsigned)cp);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

char *nr_escape(const char *s)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        fputs("nroot: error: out of memory\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    nr_escape_put(f, s);
    if (fclose(f) != 0 || !out) {
        fputs("nroot: error: out of memory\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    return out;
}

/* a JSON string literal on stdout: control characters escaped, bytes that
 * are not UTF-8 replaced by U+FFFD (as Go's encoder does), so the output
 * is valid JSON whatever an image put in its strings */
void nr_json_string(const char *s)
{
    putchar('"');
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_len(p, &cp);
        if (n == 0) {
            fputs("\\ufffd", stdout);
            p++;
            continue;
        }
        if (cp == '"' || cp == '\\')
            printf("\\%c", (char)cp);
        else if (cp == '\n')
            fputs("\\n", stdout);
        else if (cp == '\t')
            fputs("\\t", stdout);
        else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
            printf("\\u%04x", (unsigned)cp);
        else
            fwrite(p, 1, n, stdout);
        p += n;
    }
    putchar('"');
}

/* The kernel's sigaction, as rt_sigaction(2) takes it: glibc's refuses
 * the two signals it keeps for itself (32 and 33: thread cancellation,
 * set*id), which a caller may still have left ignored, and an ignored
 * signal stays ignored across exec.  SIG_DFL with no flags and an empty
 * mask is all zeroes, whatever the struct's layout; the handler comes
 * first in every layout Linux has but MIPS's. */
typedef struct KernelSigaction {
    unsigned long handler, flags, restorer, mask;
} KernelSigaction;

static int kernel_sigaction(int sig, const KernelSigaction *act, KernelSigaction *old)
{
    return (int)syscall(SYS_rt_sigaction, sig, act, old, (size_t)(_NSIG / 8));
}

/* glibc's own two (the kernel's first real-time signals): a process
 * that made a thread has glibc's set*id handler on 33 */
#define LIBC_SIGNALS ((1ULL << (32 - 1)) | (1ULL << (33 - 1)))

bool nr_signals_ignored(uint64_t *ret)
{
    *ret = LIBC_SIGNALS; /* ignored or glibc's: SIG_DFL either way */
    for (int s = 1; s < _NSIG; s++) {
        KernelSigaction old;
        if (s == SIGKILL || s == SIGSTOP || (LIBC_SIGNALS & (1ULL << (s - 1))) ||
            kernel_sigaction(s, NULL, &old) < 0)
            continue;
        if (old.handler == (unsigned long)SIG_IGN)
            *ret |= 1ULL << (s - 1);
        else if (old.handler != (unsigned long)SIG_DFL)
            return false;
    }
    return true;
}

void nr_signals_default(void)
{
    nr_signals_default_only(NULL);
}

void nr_signals_default_only(const uint64_t *only)
{
    static const KernelSigaction dfl = { 0 };
    for (int s = 1; s < _NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && (!only || (*only & (1ULL << (s - 1)))))
            kernel_sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

char *nr_helper_path(const char *name, const char *envvar)
{
    const char *env = getenv(envvar);
    if (env && *env)
        return nr_xstrdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            const char *const where[] = { "", "/../libexec/nroot" };
            for (size_t i = 0; i < 2; i++) {
                char *p = nr_strdup_printf("%s%s/%s", self, where[i], name);
                if (access(p, X_OK) == 0)
                    return p;
                free(p);
            }
        }
    }
    return nr_strdup_printf("%s/%s", NR_LIBEXECDIR, name);
}

int nr_caps_keep_only(int cap)
{
    for (int c = 0; c <= CAP_LAST_CAP; c++)
        if (c != cap && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return -1;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    d[0].effective = d[0].permitted = cap >= 0 ? 1U << cap : 0;
    if (syscall(SYS_capset, &h, d) < 0)
        return -1;
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

void nr_log_linev(const char *who, const char *fmt, va_list ap)
{
    /* one write per line: a helper's log may be shared (dnsmasq writes to
     * the network holder's), and a line cut in two is one nobody finds */
    char line[1024];
    time_t t = time(NULL);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", gmtime(&t));
    int k = snprintf(line + n, sizeof line - n, " %s[%d]: ", who, (int)getpid());
    if (k > 0 && (size_t)k < sizeof line - n)
        n += (size_t)k;
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    if (k > 0)
        n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
