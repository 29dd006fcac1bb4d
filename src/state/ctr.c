/* SPDX-License-Identifier: Apache-2.0 */
/* ctr.c — the container module: a container's files are written and read
 * by it alone (ctr.c: finding containers and telling whether they run;
 * ctr-config.c: the records; runtime.c: RT).
 *
 *   STORE/containers/<name>/config   key=value: the record (id, image, ...)
 *                                    and the options it was made with, as
 *                                    data (format NR_CTR_CONFIG_VERSION, below)
 *   STORE/containers/<name>/state    status, exit code, start and end times
 *   STORE/containers/<name>/overlay  the overlay that made its layer
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
#include <arpa/inet.h>
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

#include "ctr-files.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-plan.h"
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

/* a plan the config reader made: every string and array is its own */
void nr_ctr_plan_free(NrRunConfig *p)
{
    if (!p)
        return;
    free((char *)p->image_ref);
    free((char *)p->entrypoint);
    free((char *)p->workdir);
    free((char *)p->hostname);
    free((char *)p->net_ctr);
    free((char *)p->user);
    free((char *)p->seccomp_profile);
    for (char **a = p->args; a && *a; a++)
        free(*a);
    free(p->args);
    nr_strv_clear(&p->env);
    nr_strv_clear(&p->devices);
    nr_strv_clear(&p->networks);
    nr_strv_clear(&p->net_aliases);
    for (size_t i = 0; i < p->n_volumes; i++) {
        free(p->volumes[i].src);
        free(p->volumes[i].dst);
    }
    free(p->volumes);
    for (size_t i = 0; i < p->n_ports; i++)
        free((char *)p->ports[i].spec);
    free(p->ports);
    free(p);
}

void nr_ctr_clear(NrCtr *c)
{
    free(c->image);
    free(c->image_key);
    free(c->store_dir);
    free(c->rt_dir);
    nr_ctr_plan_free(c->plan);
    nr_strv_clear(&c->legacy_args);
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
    int rc = nr_ctr_read_kv(path, &live, &e);
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
        } else if (a >= 0) {
            /* its command ended a moment ago; nroot records the end */
            c->ending = true;
            c->pid = live.pid;
            c->pid_start = live.pid_start;
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
    c->overlay = nr_ctr_read_overlay(c->store_dir);
    snprintf(path, sizeof path, "%s/state", c->store_dir);
    if (access(path, F_OK) == 0) {
        NrCtr st;
        ctr_init(&st);
        int rc = nr_ctr_read_kv(path, &st, err);
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
                if (!dup && nr_ctr_is_id(de->d_name))
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
    if (nr_userns_plan(mode, true, &map, err) < 0 || nr_spawn_rmtree(tmp, &map, err) < 0)
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
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    return remove_store_dir(store, c->store_dir, c->userns, err);
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
        return 1; /* not damaged, or unreadable for another reason */
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
        bool known = !nr_ctr_is_id(de->d_name);
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(listed[i].id, de->d_name) == 0;
        if (known)
            continue;
        /* its nroot locked it for life (nr_ctr_make_runtime): unlocked, it is dead;
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

bool nr_ctr_runtime_held(const char *id)
{
    NrError ignored = { 0 };
    const char *rt = nr_ctr_runtime_root(&ignored);
    char path[PATH_MAX];
    if (!rt || !nr_ctr_is_id(id) ||
        snprintf(path, sizeof path, "%s/%s", rt, id) >= (int)sizeof path)
        return false;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* the container's namespaces, from the fds its nroot keeps */
int nr_ctr_open_namespaces(const NrCtr *c, int fds[NR_NS_SLOTS], NrError *err)
{
    for (int i = 0; i < NR_NS_SLOTS; i++)
        fds[i] = -1;
    nr_autoclose int nroot = nr_ctr_pidfd(c->pid, c->pid_start);
    if (nroot < 0)
        return nr_error_msg(err, "container '%s' is not running", c->name[0] ? c->name : c->id);
    for (int i = 0; i < NR_NS_SLOTS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->pid, c->ns_fd[i]);
        /* the time namespace (a kernel without any, or a container an
         * older nroot started) and the nested ones may be absent */
        bool optional = i == NR_NS_TIME || i >= NR_NS_COUNT;
        if (optional && c->ns_fd[i] < 0)
            continue;
        if (c->ns_fd[i] < 0 || (fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
            ioctl(fds[i], NS_GET_NSTYPE) != nr_ns_flags[i]) {
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

static void network_kv(void *data, const char *k, char *v)
{
    NrStrv *s = data;
    if (strcmp(k, "net") == 0 && strcmp(v, "none") != 0 && strcmp(v, "host") != 0 &&
        strcmp(v, "slirp") != 0 && strncmp(v, "container:", 10) != 0)
        nr_strv_push(s, v);
}

void nr_ctr_networks(const NrCtr *c, NrStrv *ret)
{
    const char *dir = c->store_dir ? c->store_dir : c->rt_dir;
    if (!dir)
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config", dir);
    NrError ignored = { 0 };
    nr_kv_read(path, network_kv, ret, &ignored);
}
