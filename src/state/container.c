/* container.c — finding containers and telling whether they run.
 *
 *   STORE/containers/<name>/config   key=value: id, image, the canonical run
 *                                    arguments (arg=, one per line), ...
 *   STORE/containers/<name>/state    status, exit code, start and end times
 *   STORE/containers/<name>/upper/   the writable layer, and overlay's work/
 *   STORE/containers/<name>/log      output of a detached run
 *   STORE/containers/<name>/lock     held by the nroot that runs it
 *   RT/containers/<id>/state         the live state, locked by that nroot
 *   RT/containers/<id>/config, log   the same for an unnamed container
 *
 * "Running" is decided by the lock, never by what a file says: the kernel
 * drops a lock when its holder dies, however it dies.  Pids from the state
 * are then opened as pidfds and checked against their start time, so a
 * recycled pid is never signalled. */
#include <dirent.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "nr-container.h"
#include "nr-error.h"
#include "nr-spawn.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif

bool nr_ctr_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr("_.-", c)))
            return false;
    }
    return true;
}

void nr_ctr_clear(NrCtr *c)
{
    free(c->image);
    free(c->image_key);
    free(c->overlay);
    free(c->store_dir);
    free(c->rt_dir);
    nr_strv_clear(&c->args);
    nr_strv_clear(&c->command);
    memset(c, 0, sizeof *c);
    c->exit_code = -1;
    for (int i = 0; i < NR_NS_SLOTS; i++)
        c->ns_fd[i] = -1;
}

static void ctr_init(NrCtr *c)
{
    memset(c, 0, sizeof *c);
    nr_ctr_clear(c);
}

/* ---- the runtime directory ---- */

/* is fd a directory of ours that nobody else can write?  One of ours that
 * others may read is made 0700 (fix) */
static bool private_fd(int fd, bool fix)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 022))
        return false;
    return !(st.st_mode & 077) || (fix && fchmod(fd, 0700) == 0);
}

/* path itself (no symlink) is a private directory of ours */
static bool private_dir(const char *path, bool fix)
{
    nr_autoclose int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return private_fd(fd, fix);
}

/* fuse-overlayfs cannot escape ':' or ',' in its layer paths, which live
 * below the runtime directory */
static bool overlay_safe(const char *path)
{
    return path[0] == '/' && !strpbrk(path, ":,\\\n") && strlen(path) < PATH_MAX - 256;
}

/* base/nroot, made private; NULL if base is not a directory of ours that
 * only we can write (base may be a symlink: XDG_RUNTIME_DIR is the user's) */
static char *nroot_below(const char *base)
{
    nr_autoclose int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != getuid() || (st.st_mode & 022))
        return NULL;
    char *d = nr_strdup_printf("%s/nroot", base);
    mkdir(d, 0700);
    if (!private_dir(d, true)) {
        free(d);
        return NULL;
    }
    return d;
}

/* /tmp itself must keep others from renaming our entries: sticky, or
 * writable by nobody else */
static bool tmp_holds(void)
{
    struct stat st;
    return stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode) &&
           ((st.st_mode & S_ISVTX) || (!(st.st_mode & 022) && (st.st_uid == 0 || st.st_uid == getuid())));
}

/* /tmp/nroot-UID is someone else's (or not a private directory): a
 * directory of our own under a name nobody can guess, remembered per host
 * in the store (locked, so concurrent nroots agree on one) */
static char *private_fallback(const char *squatted, NrError *err)
{
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return NULL;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    for (char *p = host; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", *p))
            *p = '_';
    nr_autofree char *file = nr_strdup_printf("%s/runtime-dir.%s", store, host[0] ? host : "localhost");
    if (nr_mkdir_p(store, 0700, err) < 0)
        return NULL;
    nr_autoclose int fd = open(file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        nr_error_errno(err, "cannot open '%s'", file);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022)) {
        nr_error_msg(err, "'%s' is not a private file of yours", file);
        return NULL;
    }
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    char prefix[64], buf[PATH_MAX] = "";
    snprintf(prefix, sizeof prefix, "/tmp/nroot-%u.", (unsigned)getuid());
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    /* what the file names must be one of ours still: /tmp is cleaned */
    if (strncmp(buf, prefix, strlen(prefix)) == 0 && !strchr(buf + strlen(prefix), '/') &&
        overlay_safe(buf) && private_dir(buf, false))
        return nr_xstrdup(buf);
    snprintf(buf, sizeof buf, "%sXXXXXX", prefix);
    if (!mkdtemp(buf)) {
        nr_error_errno(err, "cannot create a runtime directory in /tmp");
        return NULL;
    }
    nr_autofree char *line = nr_strdup_printf("%s\n", buf);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, strlen(line), 0) != (ssize_t)strlen(line)) {
        nr_error_errno(err, "cannot write '%s'", file);
        rmdir(buf);
        return NULL;
    }
    nr_notice("'%s' is not a private directory of yours (another user may have made it): using "
              "'%s' instead, remembered in '%s'", squatted, buf, file);
    return nr_xstrdup(buf);
}

const char *nr_runtime_dir(NrError *err)
{
    static char *dir;
    if (dir)
        return dir;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg && overlay_safe(xdg)) {
        if ((dir = nroot_below(xdg)))
            return dir;
        /* XDG_RUNTIME_DIR=/tmp would share one directory among users */
        nr_notice("XDG_RUNTIME_DIR '%s' is not a directory of yours that only you can write: "
                  "ignored", xdg);
    }
    char run[64];
    snprintf(run, sizeof run, "/run/user/%u", (unsigned)getuid());
    if (private_dir(run, false) && (dir = nroot_below(run)))
        return dir;
    if (!tmp_holds()) {
        nr_error_msg(err, "no private runtime directory: /tmp is writable by others without the "
                     "sticky bit");
        nr_error_hint(err, "set XDG_RUNTIME_DIR to a directory only you can write");
        return NULL;
    }
    char *d = nr_strdup_printf("/tmp/nroot-%u", (unsigned)getuid());
    mkdir(d, 0700);
    if (private_dir(d, true))
        return dir = d;
    dir = private_fallback(d, err);
    free(d);
    return dir;
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

const char *nr_ctr_runtime_root(NrError *err)
{
    static char *dir;
    if (dir)
        return dir;
    return dir = nr_runtime_subdir("containers", err);
}

/* ---- key=value files ----
 *
 * What is read back from the store and the runtime directory is checked
 * field by field before anything uses it: ids and names become paths (a
 * config with id=../../x once made rm delete outside the store), pids are
 * signalled, fd numbers opened.  A damaged file is refused, naming it. */

static bool is_id(const char *s)
{
    size_t n = strlen(s);
    return n == 12 && strspn(s, "0123456789abcdef") == n;
}

/* a decimal integer in [min, max], nothing around it */
static bool parse_i64(const char *v, int64_t min, int64_t max, int64_t *ret)
{
    const char *d = v[0] == '-' ? v + 1 : v;
    if (*d < '0' || *d > '9')
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return false;
    *ret = x;
    return true;
}

static bool parse_u64(const char *v, uint64_t *ret)
{
    if (*v < '0' || *v > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end)
        return false;
    *ret = x;
    return true;
}

static bool parse_bool(const char *v, bool *ret)
{
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        return false;
    *ret = v[0] == '1';
    return true;
}

/* an image id (64 lowercase hex digits) or a root filesystem directory */
static bool valid_image_key(const char *v)
{
    size_t n = strlen(v);
    if (n == 64 && strspn(v, "0123456789abcdef") == n)
        return true;
    return v[0] == '/' && n < PATH_MAX && !strstr(v, "/../") && strcmp(v + (n >= 3 ? n - 3 : 0), "/..") != 0;
}

#define NR_PID_LIMIT 4194304   /* the kernel's PID_MAX_LIMIT */
#define NR_FD_LIMIT  1048576   /* the kernel's NR_OPEN */

typedef struct KvRead {
    NrCtr *c;
    char   bad[64];   /* the first key whose value is not valid */
} KvRead;

static void ctr_kv(void *data, const char *k, char *v)
{
    KvRead *r = data;
    NrCtr *c = r->c;
    int64_t i = 0;
    bool ok = true;
    if (strcmp(k, "id") == 0) {
        if ((ok = is_id(v)))
            snprintf(c->id, sizeof c->id, "%s", v);
    } else if (strcmp(k, "name") == 0) {
        if ((ok = !*v || nr_ctr_name_valid(v)))
            snprintf(c->name, sizeof c->name, "%s", v);
    } else if (strcmp(k, "image") == 0) {
        if ((ok = strlen(v) < PATH_MAX) && !c->image)
            c->image = nr_xstrdup(v);
    } else if (strcmp(k, "image_key") == 0) {
        if ((ok = !*v || valid_image_key(v)) && !c->image_key)
            c->image_key = nr_xstrdup(v);
    } else if (strcmp(k, "overlay") == 0) {
        if ((ok = strcmp(v, "kernel") == 0 || strcmp(v, "fuse") == 0) && !c->overlay)
            c->overlay = nr_xstrdup(v);
    } else if (strcmp(k, "arg") == 0)
        nr_strv_push(&c->args, v);
    else if (strcmp(k, "cmd") == 0)
        nr_strv_push(&c->command, v);
    else if (strcmp(k, "created") == 0) {
        if ((ok = parse_i64(v, 0, INT64_MAX, &i)))
            c->created = i;
    } else if (strcmp(k, "started") == 0) {
        if ((ok = parse_i64(v, 0, INT64_MAX, &i)))
            c->started = i;
    } else if (strcmp(k, "finished") == 0) {
        if ((ok = parse_i64(v, 0, INT64_MAX, &i)))
            c->finished = i;
    } else if (strcmp(k, "exit_code") == 0) {
        if ((ok = parse_i64(v, -1, 255, &i)))
            c->exit_code = (int)i;
    } else if (strcmp(k, "status") == 0)
        ok = strcmp(v, "running") == 0 || strcmp(v, "exited") == 0;
    else if (strcmp(k, "pid") == 0) {
        if ((ok = parse_i64(v, 1, NR_PID_LIMIT, &i)))
            c->pid = (pid_t)i;
    } else if (strcmp(k, "pid_start") == 0)
        ok = parse_u64(v, &c->pid_start);
    else if (strcmp(k, "init_pid") == 0) {
        if ((ok = parse_i64(v, 1, NR_PID_LIMIT, &i)))
            c->init_pid = (pid_t)i;
    } else if (strcmp(k, "init_start") == 0)
        ok = parse_u64(v, &c->init_start);
    else if (strcmp(k, "detached") == 0)
        ok = parse_bool(v, &c->detached);
    else if (strcmp(k, "tty") == 0)
        ok = parse_bool(v, &c->pty);
    else if (strcmp(k, "interactive") == 0)
        ok = parse_bool(v, &c->interactive);
    else if (strncmp(k, "ns_", 3) == 0) {
        for (int n = 0; n < NR_NS_SLOTS; n++)
            if (strcmp(k + 3, nr_ns_names[n]) == 0 && (ok = parse_i64(v, 0, NR_FD_LIMIT, &i)))
                c->ns_fd[n] = (int)i;
    }
    /* other keys: from a newer nroot, ignored */
    if (!ok && !r->bad[0])
        snprintf(r->bad, sizeof r->bad, "%s", k);
}

/* read a config or state file into c; a value that is not valid fails
 * the whole file */
static int read_kv(const char *path, NrCtr *c, NrError *err)
{
    KvRead r = { .c = c };
    if (nr_kv_read(path, ctr_kv, &r, err) < 0)
        return -1;
    if (r.bad[0])
        return nr_error_msg(err, "'%s' is damaged: the value of '%s' is not valid", path, r.bad);
    return 0;
}

int nr_ctr_read_config(const char *path, NrCtr *c, NrError *err)
{
    if (read_kv(path, c, err) < 0)
        return -1;
    if (!c->id[0])
        return nr_error_msg(err, "'%s' is damaged: it has no container id", path);
    return 0;
}

/* write `text` to path atomically (a temporary file, then rename) */
static int replace_file(const char *path, const char *text, size_t len, NrError *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    nr_autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot write '%s'", tmp);
    if (nr_write_all(fd, text, len) < 0 || rename(tmp, path) < 0) {
        nr_error_errno(err, "cannot write '%s'", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

int nr_ctr_write_config(const char *path, const NrCtr *c, NrError *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return nr_error_errno(err, "open_memstream");
    char num[32];
    nr_kv_put(f, "id", c->id);
    nr_kv_put(f, "name", c->name);
    nr_kv_put(f, "image", c->image ? c->image : "");
    nr_kv_put(f, "image_key", c->image_key ? c->image_key : "");
    if (c->overlay)
        nr_kv_put(f, "overlay", c->overlay);
    snprintf(num, sizeof num, "%lld", (long long)c->created);
    nr_kv_put(f, "created", num);
    nr_kv_put(f, "tty", c->pty ? "1" : "0");
    nr_kv_put(f, "interactive", c->interactive ? "1" : "0");
    for (size_t i = 0; i < c->command.n; i++)
        nr_kv_put(f, "cmd", c->command.v[i]);
    for (size_t i = 0; i < c->args.n; i++)
        nr_kv_put(f, "arg", c->args.v[i]);
    fclose(f);
    int rc = replace_file(path, text, len, err);
    free(text);
    return rc;
}

int nr_ctr_write_state(const NrCtr *c, bool running, NrError *err)
{
    if (!c->store_dir)
        return 0;
    char path[PATH_MAX], text[256];
    snprintf(path, sizeof path, "%s/state", c->store_dir);
    int n = snprintf(text, sizeof text, "status=%s\nstarted=%lld\nfinished=%lld\nexit_code=%d\n",
                     running ? "running" : "exited", (long long)c->started,
                     (long long)c->finished, c->exit_code);
    return replace_file(path, text, (size_t)n, err);
}

/* ---- processes ---- */

uint64_t nr_proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* the command name may hold anything, ')' included: fields start
     * after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    /* field 3 (state) is the first after it; start time is field 22 */
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

int nr_ctr_pidfd(pid_t pid, uint64_t start)
{
    if (pid <= 0 || start == 0)
        return -1;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return -1;
    /* read after opening: the pidfd holds that process, so if it is still
     * alive now, the start time read belongs to it */
    if (nr_proc_start_time(pid) != start || syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int nr_pidfd_wait(int pidfd, int timeout_ms)
{
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r > 0 ? 1 : 0;
}

/* ---- live state ---- */

/* RT/containers/<id>/state: running if its nroot holds the lock and its
 * pids are the processes that were started.  A damaged one is passed
 * over with a warning: the container counts as not running. */
static void read_live(const char *rt_root, NrCtr *c)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/state", rt_root, c->id);
    nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return;
    bool locked = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    NrCtr live;
    ctr_init(&live);
    NrError e = { 0 };
    int rc = read_kv(path, &live, &e);
    if (rc < 0 || (live.id[0] && strcmp(live.id, c->id) != 0)) {
        if (rc == 0)
            nr_error_msg(&e, "'%s' is damaged: it names container %s", path, live.id);
        nr_warn("%s; ignored", e.msg);
    } else if (!locked && !c->in_store) {
        /* what a dead nroot left: it ran, its end is unknown */
        c->started = live.started;
        c->finished = live.finished;
        c->exit_code = live.exit_code;
    } else if (locked) {
        int a = nr_ctr_pidfd(live.pid, live.pid_start);
        int b = nr_ctr_pidfd(live.init_pid, live.init_start);
        if (a >= 0 && b >= 0) {
            c->running = true;
            c->pid = live.pid;
            c->pid_start = live.pid_start;
            c->init_pid = live.init_pid;
            c->init_start = live.init_start;
            c->started = live.started;
            c->detached = live.detached;
            memcpy(c->ns_fd, live.ns_fd, sizeof c->ns_fd);
        }
        if (a >= 0)
            close(a);
        if (b >= 0)
            close(b);
    }
    nr_ctr_clear(&live);
}

/* STORE/containers/<name>: its config and state, both checked */
static int load_named(const char *store, const char *name, NrCtr *c, NrError *err)
{
    char path[PATH_MAX];
    c->store_dir = nr_strdup_printf("%s/containers/%s", store, name);
    snprintf(path, sizeof path, "%s/config", c->store_dir);
    if (nr_ctr_read_config(path, c, err) < 0)
        return -1;
    if (c->name[0] && strcmp(c->name, name) != 0)
        return nr_error_msg(err, "'%s' is damaged: it names container '%s'", path, c->name);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->in_store = true;
    snprintf(path, sizeof path, "%s/state", c->store_dir);
    if (access(path, F_OK) == 0) {
        NrCtr st;
        ctr_init(&st);
        int rc = read_kv(path, &st, err);
        if (rc == 0 && st.id[0] && strcmp(st.id, c->id) != 0)
            rc = nr_error_msg(err, "'%s' is damaged: it names container %s", path, st.id);
        if (rc == 0) {
            c->started = st.started;
            c->finished = st.finished;
            c->exit_code = st.exit_code;
        }
        nr_ctr_clear(&st);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* RT/containers/<id>/config of an unnamed container */
static int load_live(const char *rt_root, const char *id, NrCtr *c, NrError *err)
{
    char path[PATH_MAX];
    c->rt_dir = nr_strdup_printf("%s/%s", rt_root, id);
    snprintf(path, sizeof path, "%s/config", c->rt_dir);
    if (nr_ctr_read_config(path, c, err) < 0)
        return -1;
    if (strcmp(c->id, id) != 0 || c->name[0])
        return nr_error_msg(err, "'%s' is damaged: it names another container", path);
    return 0;
}

static void finish(const char *rt_root, NrCtr *c)
{
    if (!c->rt_dir)
        c->rt_dir = nr_strdup_printf("%s/%s", rt_root, c->id);
    read_live(rt_root, c);
}

int nr_ctr_list(NrCtr **ret, size_t *ret_n, NrError *err)
{
    *ret = NULL;
    *ret_n = 0;
    nr_autofree char *store = nr_store_dir(err);
    const char *rt = store ? nr_ctr_runtime_root(err) : NULL;
    if (!rt)
        return -1;
    NrCtr *v = NULL;
    size_t n = 0, cap = 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/containers", store);
    for (int pass = 0; pass < 2; pass++) {
        DIR *d = opendir(pass == 0 ? dir : rt);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                NrCtr *g = realloc(v, cap * sizeof *v);
                if (!g)
                    break;
                v = g;
            }
            NrCtr *c = &v[n];
            ctr_init(c);
            NrError e = { 0 };
            int rc = -1;
            if (pass == 0) {
                if (nr_ctr_name_valid(de->d_name))
                    rc = load_named(store, de->d_name, c, &e);
            } else {
                /* a named container's live state: already listed */
                bool dup = false;
                for (size_t i = 0; i < n && !dup; i++)
                    dup = strcmp(v[i].id, de->d_name) == 0;
                if (!dup && is_id(de->d_name))
                    rc = load_live(rt, de->d_name, c, &e);
            }
            if (rc < 0) {
                /* one damaged container does not hide the others (a
                 * missing config: one being made, or a named one's live
                 * state) */
                if (e.code && e.errnum != ENOENT && pass == 0)
                    nr_warn("%s; skipped ('nroot rm -f %s' removes it)", e.msg, de->d_name);
                else if (e.code && e.errnum != ENOENT)
                    nr_warn("%s; skipped", e.msg);
                nr_ctr_clear(c);
                continue;
            }
            finish(rt, c);
            n++;
        }
        closedir(d);
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

void nr_ctr_list_free(NrCtr *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nr_ctr_clear(&c[i]);
    free(c);
}

int nr_ctr_find(const char *spec, NrCtr *ret, NrError *err)
{
    ctr_init(ret);
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    char path[PATH_MAX];
    if (nr_ctr_name_valid(spec)) {
        snprintf(path, sizeof path, "%s/containers/%s/config", store, spec);
        if (access(path, F_OK) == 0) {
            const char *rt = nr_ctr_runtime_root(err);
            if (!rt)
                return -1;
            if (load_named(store, spec, ret, err) < 0) {
                nr_ctr_clear(ret);
                nr_error_hint(err, "'nroot rm -f %s' removes the container", spec);
                return -1;
            }
            finish(rt, ret);
            return 0;
        }
    }
    /* an id or a unique prefix of one */
    NrCtr *all;
    size_t n;
    if (strlen(spec) >= 3 && strspn(spec, "0123456789abcdef") == strlen(spec) &&
        nr_ctr_list(&all, &n, err) == 0) {
        size_t hit = n, hits = 0;
        for (size_t i = 0; i < n; i++)
            if (strncmp(all[i].id, spec, strlen(spec)) == 0) {
                hit = i;
                hits++;
            }
        if (hits == 1) {
            *ret = all[hit];
            ctr_init(&all[hit]);
        }
        nr_ctr_list_free(all, n);
        if (hits == 1)
            return 0;
        if (hits > 1)
            return nr_error_msg(err, "container id '%s' is ambiguous: give more digits", spec);
    }
    nr_error_msg(err, "no such container '%s'", spec);
    nr_error_hint(err, "see 'nroot ps -a'");
    return -1;
}

int nr_ctr_lock(const char *store_dir, int *ret_fd, NrError *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lock", store_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot open '%s'", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            close(fd);
            return 1;
        }
        /* a filesystem without locks (NFS without lockd): the runtime
         * state still tells a running container on this machine */
        if (errno != ENOLCK && errno != EOPNOTSUPP) {
            nr_error_errno(err, "cannot lock '%s'", path);
            close(fd);
            return -1;
        }
    }
    *ret_fd = fd;
    return 0;
}

/* the files of an unnamed container's runtime directory: no subordinate
 * ids there, nothing below it */
void nr_ctr_remove_runtime(const char *dir)
{
    if (!dir)
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

/* move STORE/containers/<name> out of sight (one rename into a fresh
 * STORE/tmp/container-XXXXXX: no path here is made of what a file says)
 * and remove it with the ids it holds */
static int remove_store_dir(const char *store, const char *dir, NrUsernsMode mode, NrError *err)
{
    char tmp[PATH_MAX], dst[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s/tmp", store);
    if (nr_mkdir_p(tmp, 0700, err) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/tmp/container-XXXXXX", store);
    if (!mkdtemp(tmp))
        return nr_error_errno(err, "cannot create a directory in '%s/tmp'", store);
    snprintf(dst, sizeof dst, "%s/c", tmp);
    if (rename(dir, dst) < 0) {
        nr_error_errno(err, "cannot remove '%s'", dir);
        rmdir(tmp);
        return -1;
    }
    NrIdMap map;
    bool q = nr_quiet;
    nr_quiet = true;
    int rc = nr_userns_plan(mode, &map, err);
    nr_quiet = q;
    if (rc < 0 || nr_spawn_rmtree(tmp, &map, err) < 0)
        nr_warn("the container's files stay in '%s' until the next import clears it", tmp);
    return 0;
}

int nr_ctr_remove(NrCtr *c, NrError *err)
{
    if (c->rt_dir)
        nr_ctr_remove_runtime(c->rt_dir);
    if (!c->store_dir)
        return 0;
    /* out of sight first (one rename), then removed as the ids it holds
     * need: inside a user namespace with the container's own mapping */
    NrUsernsMode mode = NR_USERNS_AUTO;
    static const char *const modes[] = { "auto", "subids", "single", "keep-id" };
    for (size_t i = 0; i < c->args.n; i++)
        for (int m = 0; m < 4; m++)
            if (strncmp(c->args.v[i], "--userns=", 9) == 0 && strcmp(c->args.v[i] + 9, modes[m]) == 0)
                mode = (NrUsernsMode)m;
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    return remove_store_dir(store, c->store_dir, mode, err);
}

int nr_ctr_remove_damaged(const char *name, NrError *err)
{
    if (!nr_ctr_name_valid(name))
        return 1;
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    nr_autofree char *dir = nr_strdup_printf("%s/containers/%s", store, name);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config", dir);
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(path, F_OK) < 0)
        return 1;
    NrCtr c;
    ctr_init(&c);
    NrError e = { 0 };
    int rc = load_named(store, name, &c, &e);
    nr_ctr_clear(&c);
    if (rc == 0 || e.errnum)
        return 1;   /* not damaged, or unreadable for another reason */
    int lock = -1;
    int held = nr_ctr_lock(dir, &lock, err);
    if (held)
        return held > 0 ? nr_error_msg(err, "container '%s' is running", name) : -1;
    /* its mapping is unknown: subordinate ids where there are some */
    rc = remove_store_dir(store, dir, NR_USERNS_AUTO, err);
    close(lock);
    return rc;
}

void nr_ctr_prune_runtime(const NrCtr *listed, size_t n)
{
    NrError ignored = { 0 };
    const char *rt = nr_ctr_runtime_root(&ignored);
    DIR *d = rt ? opendir(rt) : NULL;
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        bool known = !is_id(de->d_name);
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(listed[i].id, de->d_name) == 0;
        if (known)
            continue;
        /* its nroot locked it for life (cmd-run.c): unlocked, it is dead;
         * removed under the lock, so a run that is just making it waits */
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", rt, de->d_name) < (int)sizeof path)
                nr_ctr_remove_runtime(path);
        }
        close(fd);
    }
    closedir(d);
}

/* the container's namespaces, from the fds its nroot keeps */
int nr_ctr_open_namespaces(const NrCtr *c, int fds[NR_NS_SLOTS], NrError *err)
{
    for (int i = 0; i < NR_NS_SLOTS; i++)
        fds[i] = -1;
    nr_autoclose int nroot = nr_ctr_pidfd(c->pid, c->pid_start);
    if (nroot < 0)
        return nr_error_msg(err, "container '%s' is not running", c->name[0] ? c->name : c->id);
    for (int i = 0; i < NR_NS_COUNT; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->pid, c->ns_fd[i]);
        if (c->ns_fd[i] < 0 || (fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
            ioctl(fds[i], NS_GET_NSTYPE) != nr_ns_flags[i]) {
            nr_error_errno(err, "cannot open the %s namespace of container '%s'", nr_ns_names[i],
                           c->name[0] ? c->name : c->id);
            goto fail;
        }
    }
    /* --cap-add=SYS_ADMIN: the payload's nested user and mount namespaces */
    for (int i = NR_NS_COUNT; i < NR_NS_SLOTS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->pid, c->ns_fd[i]);
        if (c->ns_fd[i] >= 0 && ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
                                 ioctl(fds[i], NS_GET_NSTYPE) != nr_ns_flags[i])) {
            nr_error_errno(err, "cannot open the %s namespace of container '%s'", nr_ns_names[i],
                           c->name[0] ? c->name : c->id);
            goto fail;
        }
    }
    /* still the same nroot: the fds opened are its own */
    if (syscall(SYS_pidfd_send_signal, nroot, 0, NULL, 0) < 0) {
        nr_error_msg(err, "container '%s' ended", c->name[0] ? c->name : c->id);
        goto fail;
    }
    return 0;
fail:
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return -1;
}
