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
#include "nr-store.h"
#include "nr-userns.h"

const char *const nr_ns_names[NR_NS_COUNT] = { "user", "mnt", "uts", "ipc", "net", "cgroup", "pid" };

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
    for (int i = 0; i < NR_NS_COUNT; i++)
        c->ns_fd[i] = -1;
}

static void ctr_init(NrCtr *c)
{
    memset(c, 0, sizeof *c);
    nr_ctr_clear(c);
}

const char *nr_ctr_runtime_root(NrError *err)
{
    static char *dir;
    if (dir)
        return dir;
    return dir = nr_runtime_subdir("containers", err);
}

/* ---- key=value files ---- */

static int64_t to_i64(const char *v)
{
    return strtoll(v, NULL, 10);
}

static void ctr_kv(void *data, const char *k, char *v)
{
    NrCtr *c = data;
    if (strcmp(k, "id") == 0)
        snprintf(c->id, sizeof c->id, "%s", v);
    else if (strcmp(k, "name") == 0)
        snprintf(c->name, sizeof c->name, "%s", v);
    else if (strcmp(k, "image") == 0 && !c->image)
        c->image = nr_xstrdup(v);
    else if (strcmp(k, "image_key") == 0 && !c->image_key)
        c->image_key = nr_xstrdup(v);
    else if (strcmp(k, "overlay") == 0 && !c->overlay)
        c->overlay = nr_xstrdup(v);
    else if (strcmp(k, "arg") == 0)
        nr_strv_push(&c->args, v);
    else if (strcmp(k, "cmd") == 0)
        nr_strv_push(&c->command, v);
    else if (strcmp(k, "created") == 0)
        c->created = to_i64(v);
    else if (strcmp(k, "started") == 0)
        c->started = to_i64(v);
    else if (strcmp(k, "finished") == 0)
        c->finished = to_i64(v);
    else if (strcmp(k, "exit_code") == 0)
        c->exit_code = (int)to_i64(v);
    else if (strcmp(k, "pid") == 0)
        c->pid = (pid_t)to_i64(v);
    else if (strcmp(k, "pid_start") == 0)
        c->pid_start = strtoull(v, NULL, 10);
    else if (strcmp(k, "init_pid") == 0)
        c->init_pid = (pid_t)to_i64(v);
    else if (strcmp(k, "init_start") == 0)
        c->init_start = strtoull(v, NULL, 10);
    else if (strcmp(k, "detached") == 0)
        c->detached = strcmp(v, "1") == 0;
    else if (strcmp(k, "tty") == 0)
        c->pty = strcmp(v, "1") == 0;
    else if (strcmp(k, "interactive") == 0)
        c->interactive = strcmp(v, "1") == 0;
    else if (strncmp(k, "ns_", 3) == 0) {
        for (int i = 0; i < NR_NS_COUNT; i++)
            if (strcmp(k + 3, nr_ns_names[i]) == 0)
                c->ns_fd[i] = (int)to_i64(v);
    }
}

int nr_ctr_read_config(const char *path, NrCtr *c, NrError *err)
{
    return nr_kv_read(path, ctr_kv, c, err);
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
 * pids are the processes that were started */
static void read_live(const char *rt_root, NrCtr *c)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/state", rt_root, c->id);
    nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    bool locked = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    NrCtr live;
    ctr_init(&live);
    NrError ignored = { 0 };
    if (nr_kv_read(path, ctr_kv, &live, &ignored) == 0 && !locked && !c->in_store) {
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

static int load_named(const char *store, const char *name, NrCtr *c, NrError *err)
{
    char path[PATH_MAX];
    c->store_dir = nr_strdup_printf("%s/containers/%s", store, name);
    snprintf(path, sizeof path, "%s/config", c->store_dir);
    if (nr_ctr_read_config(path, c, err) < 0)
        return -1;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->in_store = true;
    snprintf(path, sizeof path, "%s/state", c->store_dir);
    NrError ignored = { 0 };
    if (access(path, F_OK) == 0)
        nr_kv_read(path, ctr_kv, c, &ignored);
    return 0;
}

static int load_live(const char *rt_root, const char *id, NrCtr *c, NrError *err)
{
    char path[PATH_MAX];
    c->rt_dir = nr_strdup_printf("%s/%s", rt_root, id);
    snprintf(path, sizeof path, "%s/config", c->rt_dir);
    if (nr_ctr_read_config(path, c, err) < 0)
        return -1;
    snprintf(c->id, sizeof c->id, "%.12s", id);
    return 0;
}

static void finish(const char *rt_root, NrCtr *c)
{
    if (!c->rt_dir)
        c->rt_dir = nr_strdup_printf("%s/%s", rt_root, c->id);
    read_live(rt_root, c);
}

static bool is_id(const char *s)
{
    size_t n = strlen(s);
    return n == 12 && strspn(s, "0123456789abcdef") == n;
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
            NrError ignored = { 0 };
            int rc;
            if (pass == 0)
                rc = nr_ctr_name_valid(de->d_name) ? load_named(store, de->d_name, c, &ignored) : -1;
            else {
                /* a named container's live state: already listed */
                bool dup = false;
                for (size_t i = 0; i < n && !dup; i++)
                    dup = strcmp(v[i].id, de->d_name) == 0;
                rc = !dup && is_id(de->d_name) ? load_live(rt, de->d_name, c, &ignored) : -1;
            }
            if (rc < 0) {
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
            if (!rt || load_named(store, spec, ret, err) < 0) {
                nr_ctr_clear(ret);
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
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", store);
    if (nr_mkdir_p(tmp, 0700, err) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/tmp/container-%s", store, c->id);
    if (rename(c->store_dir, tmp) < 0)
        return nr_error_errno(err, "cannot remove '%s'", c->store_dir);
    NrIdMap map;
    bool q = nr_quiet;
    nr_quiet = true;
    int rc = nr_userns_plan(mode, &map, err);
    nr_quiet = q;
    if (rc < 0 || nr_store_rmtree(tmp, &map, err) < 0) {
        nr_warn("the container's files stay in '%s' until the next import clears it", tmp);
        return 0;
    }
    return 0;
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
