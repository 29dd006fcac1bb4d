/* SPDX-License-Identifier: Apache-2.0 */
/* join.c — the keys of `nroot run --join` (nr-join.h): who creates the
 * shared container, who joins it, and when it may end.  Every decision is
 * taken under the key's lock; lifetime is held by flocks only, so a
 * participant killed with SIGKILL gives its share back with its fds. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-join.h"
#include "nr-runtime.h"
#include "nr-util.h"

#define JOIN_TIMEOUT_S 60  /* the creator's wait for --join-count participants */
#define JOIN_BACKOFF_MS 20 /* a joiner's pause while a creator ends */
#define JOIN_RETRY_S 60    /* how long a joiner retries before it gives up */

bool nr_join_key_valid(const char *key)
{
    return nr_ctr_name_valid(key);
}

unsigned nr_join_timeout(void)
{
    const char *v = getenv("NROOT_JOIN_TIMEOUT");
    uint32_t s;
    return v && nr_parse_u32(v, &s) && s <= 86400 ? s : JOIN_TIMEOUT_S;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* "2(x3),1": the tasks of node `node` */
static unsigned tasks_on_node(const char *spec, unsigned node)
{
    unsigned at = 0;
    for (const char *p = spec; p && *p;) {
        char *end;
        unsigned long n = strtoul(p, &end, 10), rep = 1;
        if (end == p)
            return 0;
        if (strncmp(end, "(x", 2) == 0) {
            p = end + 2;
            rep = strtoul(p, &end, 10);
            if (end == p || *end != ')')
                return 0;
            end++;
        }
        if (node < at + rep)
            return n <= 100000 ? (unsigned)n : 0;
        at += (unsigned)rep;
        p = *end == ',' ? end + 1 : NULL;
    }
    return 0;
}

static unsigned slurm_count(void)
{
    const char *spec = getenv("SLURM_STEP_TASKS_PER_NODE");
    const char *id = getenv("SLURM_NODEID");
    uint32_t node;
    if (!spec || !id || !nr_parse_u32(id, &node))
        return 0;
    return tasks_on_node(spec, node);
}

int nr_join_open(const char *key, const char *name, unsigned count, NrJoin *ret, NrError *err)
{
    *ret = (NrJoin){ .lock_fd = -1, .users_fd = -1 };
    const char *job = getenv("SLURM_JOB_ID"), *step = getenv("SLURM_STEP_ID");
    bool slurm = job && *job && step && *step;
    char slurm_key[160] = "";
    if (slurm)
        snprintf(slurm_key, sizeof slurm_key, "slurm-%s.%s", job, step);
    if (!key && !name && !slurm) {
        nr_error_msg(err, "--join needs a KEY outside a Slurm job step (--join=KEY)");
        nr_error_hint(err, "the commands started with the same --join=KEY share one container");
        return -1;
    }
    if (!key && !name && !nr_join_key_valid(slurm_key))
        return nr_error_msg(err, "--join: the Slurm step's key '%s' is not a valid key", slurm_key);
    nr_autofree char *dir = nr_runtime_subdir("join", err);
    if (!dir)
        return -1;
    ret->base = name ? nr_strdup_printf("%s/name-%s", dir, name)
                     : nr_strdup_printf("%s/key-%s", dir, key ? key : slurm_key);
    ret->count = count ? count : slurm ? slurm_count() : 0;
    return 0;
}

static char *path_of(const NrJoin *j, const char *what)
{
    return nr_strdup_printf("%s.%s", j->base, what);
}

/* BASE.lock, locked (wait: blocking; 1 when held elsewhere, or when it
 * does not exist and !create); a lock file a creator removed meanwhile is
 * opened again */
static int take_lock(NrJoin *j, bool wait, bool create, NrError *err)
{
    nr_autofree char *path = path_of(j, "lock");
    for (;;) {
        int fd = open(path, O_RDWR | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && !create && errno == ENOENT)
            return 1;
        if (fd < 0)
            return nr_error_errno(err, "cannot open '%s'", path);
        int r;
        while ((r = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return 1;
            errno = e;
            return nr_error_errno(err, "cannot lock '%s'", path);
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            j->lock_fd = fd;
            return 0;
        }
        close(fd);
    }
}

static void drop_lock(NrJoin *j)
{
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    j->lock_fd = -1;
}

/* the record: the live container's NAME or id, "" if none */
static void read_record(const NrJoin *j, char id[129])
{
    id[0] = '\0';
    nr_autofree char *path = path_of(j, "ctr");
    nr_autoclose int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, id, 128);
    id[n > 0 ? n : 0] = '\0';
    id[strcspn(id, "\n")] = '\0';
    if (!nr_ctr_name_valid(id))
        id[0] = '\0';
}

static unsigned read_count(const NrJoin *j)
{
    nr_autofree char *path = path_of(j, "count");
    nr_autoclose int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char buf[16] = "";
    uint32_t v;
    if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0)
        return 0;
    buf[strcspn(buf, "\n")] = '\0';
    return nr_parse_u32(buf, &v) ? v : 0;
}

static int write_at(const NrJoin *j, const char *what, const char *text, NrError *err)
{
    nr_autofree char *path = path_of(j, what);
    return nr_write_file_at(AT_FDCWD, path, text, 0600, err);
}

static void remove_files(const NrJoin *j)
{
    static const char *const what[] = { "ctr", "users", "count", "lock" };
    for (size_t i = 0; i < sizeof what / sizeof what[0]; i++) {
        nr_autofree char *path = path_of(j, what[i]);
        unlink(path);
    }
}

/* the container of the record runs (1), is gone (0) */
static int alive(const char *id, char **ret_rt_dir)
{
    NrCtr c;
    NrError ignored = { 0 };
    if (nr_ctr_find(id, &c, &ignored) < 0)
        return 0;
    int r = c.running ? 1 : 0;
    if (!r && ret_rt_dir && !c.in_store && c.rt_dir)
        *ret_rt_dir = nr_xstrdup(c.rt_dir);
    nr_ctr_clear(&c);
    return r;
}

/* a share of BASE.users: 0 held, 1 the creator is ending */
static int take_share(NrJoin *j, NrError *err)
{
    nr_autofree char *path = path_of(j, "users");
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot open '%s'", path);
    if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
        close(fd);
        return 1;
    }
    j->users_fd = fd;
    return 0;
}

int nr_join_enter(NrJoin *j, char ret_id[129], NrError *err)
{
    int64_t give_up = now_ms() + JOIN_RETRY_S * 1000;
    for (;;) {
        if (take_lock(j, true, true, err) < 0)
            return -1;
        read_record(j, ret_id);
        if (ret_id[0]) {
            nr_autofree char *dead_rt = NULL;
            if (alive(ret_id, &dead_rt)) {
                int r = take_share(j, err);
                if (r < 0) {
                    drop_lock(j);
                    return -1;
                }
                if (r == 0) {
                    char n[16];
                    snprintf(n, sizeof n, "%u\n", read_count(j) + 1);
                    NrError ignored = { 0 };
                    write_at(j, "count", n, &ignored);
                    drop_lock(j);
                    return 1;
                }
                /* its creator ends: the record goes with it */
                drop_lock(j);
                if (now_ms() > give_up)
                    return nr_error_msg(err, "--join: the container '%s' of the key does not end",
                                        ret_id);
                sleep_ms(JOIN_BACKOFF_MS);
                continue;
            }
            /* the record of a creator that was killed: what it left goes */
            if (dead_rt)
                nr_ctr_remove_runtime(dead_rt);
            nr_autofree char *users = path_of(j, "users");
            unlink(users);
        }
        ret_id[0] = '\0';
        return write_at(j, "count", "1\n", err) < 0 ? (drop_lock(j), -1) : 0;
    }
}

int nr_join_ready(NrJoin *j, const char *id, NrError *err)
{
    char text[160];
    snprintf(text, sizeof text, "%s\n", id);
    int r = write_at(j, "ctr", text, err);
    j->deadline = now_ms() + (int64_t)nr_join_timeout() * 1000;
    drop_lock(j);
    return r;
}

bool nr_join_may_end(NrJoin *j)
{
    NrError ignored = { 0 };
    if (take_lock(j, false, true, &ignored) != 0)
        return false;
    if (j->count && read_count(j) < j->count && now_ms() < j->deadline) {
        drop_lock(j);
        return false;
    }
    nr_autofree char *path = path_of(j, "users");
    nr_autoclose int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        drop_lock(j);
        return false;
    }
    /* nobody is in, nobody can come: the lock is kept until nroot ends */
    remove_files(j);
    return true;
}

void nr_join_abandon(NrJoin *j)
{
    if (j->lock_fd < 0)
        return;
    /* only the files of the lock held: once nr_join_may_end removed them,
     * the path may be a newer creator's */
    nr_autofree char *path = path_of(j, "lock");
    struct stat a, b;
    if (fstat(j->lock_fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
        remove_files(j);
    drop_lock(j);
}

void nr_join_leave(NrJoin *j)
{
    if (j->users_fd >= 0)
        close(j->users_fd);
    j->users_fd = -1;
    NrError ignored = { 0 };
    /* no lock file: the creator ended and removed the key's files */
    if (!j->base || take_lock(j, false, false, &ignored) != 0)
        return;
    char id[129];
    read_record(j, id);
    nr_autofree char *dead_rt = NULL;
    if (id[0] && !alive(id, &dead_rt)) {
        nr_autofree char *path = path_of(j, "users");
        nr_autoclose int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) == 0) {
            if (dead_rt)
                nr_ctr_remove_runtime(dead_rt);
            remove_files(j);
        }
    }
    drop_lock(j);
}
