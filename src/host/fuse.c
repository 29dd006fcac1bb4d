/* SPDX-License-Identifier: Apache-2.0 */
/* fuse.c — the parent's side of the fuse daemons the child asks for:
 * fuse-overlayfs (NR_SYNC_FUSE, #3a) and nroot-squashfs (or squashfuse_ll)
 * for a squashfs image (NR_SYNC_SQUASHFS, #3s).  A daemon of the
 * container's own is started by nroot, outside the container's pid
 * namespace, in the container's user namespace and a mount namespace of
 * its own that is a peer of the container's; nroot reaps it, and flushes
 * a kept layer before fuse-overlayfs goes.  A squashfs image is mostly
 * served by the user's shared nroot-squashfs for that image, id map and
 * cgroup instead (sqfs/share.c), which outlives this nroot: the child
 * gets a clone of its mount. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nr-conf.h"
#include "nr-error.h"
#include "nr-fuse.h"
#include "nr-plan.h"
#include "nr-rootfs.h"
#include "nr-runtime.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

/* an id other than 0 loses its capabilities at exec: CAP_SYS_ADMIN (of
 * the container's user namespace) is kept as an ambient one, for the
 * daemon's mount */
static int keep_mount_cap(void)
{
    cap_t c = cap_get_proc();
    cap_value_t v = CAP_SYS_ADMIN;
    int r = c && cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET) == 0 && cap_set_proc(c) == 0 &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) == 0
                ? 0
                : -1;
    cap_free(c);
    return r;
}

/* parent: the helper that becomes a fuse daemon (fuse-overlayfs,
 * squashfuse_ll).  It must not carry anything of nroot's into the
 * container's namespaces: it is not dumpable until its exec, keeps no fd
 * but the mount namespace's, and dies with nroot.  It runs `argv` from the
 * scratch dir, its stdout and stderr on the scratch's `log`. */
static _Noreturn void daemon_helper(pid_t nroot, int mntfd, const char *scratch, const char *log,
                                    bool as_child, const char *prog, char *const argv[])
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != nroot)
        _exit(NR_EXIT_FAILURE);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* not the caller's terminal, not the sync socket, the tap, published
     * ports or the state lock */
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 || dup2(mntfd, 3) < 0)
        _exit(NR_EXIT_FAILURE);
    mntfd = 3;
    nr_close_range_except(4U, NULL, 0);
    nr_signals_default();
    int user = ioctl(mntfd, NS_GET_USERNS);
    if (user < 0 || setns(user, CLONE_NEWUSER) < 0 || setns(mntfd, CLONE_NEWNS) < 0)
        _exit(NR_EXIT_FAILURE);
    close(user);
    close(mntfd);
    /* a mount namespace of its own, a peer of the container's at the
     * scratch dir: the mount propagates there, and goes with this process
     * (no other holds the namespace), even when nroot is killed */
    if (unshare(CLONE_NEWNS) < 0 || chdir(scratch) < 0)
        _exit(NR_EXIT_FAILURE);
    int lfd = open(log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
        _exit(NR_EXIT_FAILURE);
    close(lfd);
    /* fuse-overlayfs runs as root of the namespace; squashfuse_ll as the
     * container's child does (`as_child`: our own ids, root but with
     * --userns=keep-id), for the only process it lets in without
     * allow_other is the one whose ids are those it mounted with */
    if (!as_child)
        nr_spawn_become_root();
    else if (getuid() != 0 && keep_mount_cap() < 0)
        _exit(NR_EXIT_FAILURE);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != nroot)
        _exit(NR_EXIT_FAILURE);
    /* in the foreground: nroot is its parent, reaps it, and its death
     * signal stays armed */
    execv(prog, argv);
    dprintf(2, "cannot run '%s': %s\n", prog, strerror(errno));
    _exit(errno == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_CANNOT);
}

/* fork the helper for the child's request: its mount namespace in
 * req->fd, the scratch dir in req->err.hint */
static pid_t start_daemon(const NrSyncMsg *req, const char *name, const char *prog, const char *log,
                          bool as_child, char *argv[], NrError *err)
{
    if (req->fd < 0)
        return nr_error_msg(err, "%s: no mount namespace came with the request", name);
    pid_t nroot = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return nr_error_errno(err, "cannot start %s", name);
    if (pid == 0)
        daemon_helper(nroot, req->fd, req->err.hint, log, as_child, prog, argv);
    return pid;
}

pid_t nr_fuse_start(const NrSyncMsg *req, NrError *err)
{
    char prog[PATH_MAX];
    const char *why = NULL;
    if (!nr_userns_find_program("fuse-overlayfs", prog, sizeof prog, &why))
        return nr_error_msg(err, "fuse-overlayfs %s", why);
    char *argv[] = { "fuse-overlayfs", "-f", "-o", (char *)req->err.msg, NR_FUSE_ROOT, NULL };
    return start_daemon(req, "fuse-overlayfs", prog, NR_FUSE_LOG, false, argv, err);
}

/* one server for this container alone (squashfuse_ll; keep-id; sharing
 * off), a child of ours */
static pid_t squashfuse_start(const NrSyncMsg *req, const NrRunConfig *cfg, const char *name,
                              const char *prog, NrError *err)
{
    /* read-only.  The ids the image records are the container's: the
     * daemon is in its user namespace, so 0 is the container's root and an
     * id the mapping lacks shows as nobody.  The overlay reads it with its
     * mounter's credentials, the child's, which the daemon has too
     * (daemon_helper): no allow_other, but where the child is not root
     * there (--userns=keep-id), as fuse-overlayfs, which is, must read it
     * too; it lets in the processes of the container's user namespace
     * only, none of which has the mount in its table.  The kernel keeps
     * what it read (both answer with endless entry and attribute timeouts
     * and keep files' page cache), and their worker threads come as
     * requests do.  nroot-squashfs takes squashfuse_ll's command line. */
    char *argv[] = { (char *)name,
                     "-f",
                     "-o",
                     cfg->map.user_uid != 0 ? "ro,nodev,nosuid,noatime,allow_other"
                                            : "ro,nodev,nosuid,noatime",
                     cfg->squashfs,
                     NR_SQUASHFUSE_ROOT,
                     NULL };
    return start_daemon(req, name, prog, NR_SQUASHFUSE_LOG, true, argv, err);
}

/* ---- one server per image and id map, shared by the user's containers ---- */

#define SHARE_WAIT_MS 10000
#define LINGER_DEFAULT 10

int nr_fuse_squashfs_linger(int *ret_secs, const char **ret_from, NrError *err)
{
    return nr_conf_linger("squashfs-linger", "NROOT_SQUASHFS_LINGER", LINGER_DEFAULT, ret_secs,
                          ret_from, err);
}

/* the cgroups this process is in, less Slurm's task_N (the tasks of one
 * step share a server): a server lives and is charged where its first run
 * was, so it serves only runs of the same cgroup (a job's end cannot take
 * another job's image away) */
static void cgroup_of_self(char *buf, size_t size)
{
    buf[0] = '\0';
    nr_autoclose int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : 0;
    buf[n > 0 ? n : 0] = '\0';
    char *w = buf;
    for (char *r = buf; *r;) {
        if (*r == '/' && strncmp(r + 1, "task_", 5) == 0) {
            char *e = r + 6;
            while (*e >= '0' && *e <= '9')
                e++;
            if (e > r + 6 && (*e == '/' || *e == '\n' || !*e)) {
                r = e;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* the server's name for this image, id map and cgroup: RT/squashfs/<16
 * hex> of the file's identity (a new file under the old name is another
 * image), the server's, the map's and the cgroups' */
static void share_key(const struct stat *st, const NrIdMap *map, const char *prog, char out[17])
{
    char buf[8192];
    int n = snprintf(buf, sizeof buf, "%ju:%ju:%jd:%jd.%ld:%jd.%ld:%s", (uintmax_t)st->st_dev,
                     (uintmax_t)st->st_ino, (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
                     st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec, st->st_ctim.tv_nsec, prog);
    for (int i = 0; i < map->n_uid && n > 0 && (size_t)n < sizeof buf; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, ":u%u,%u,%u", map->uid[i].inside,
                      map->uid[i].outside, map->uid[i].count);
    for (int i = 0; i < map->n_gid && n > 0 && (size_t)n < sizeof buf; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, ":g%u,%u,%u", map->gid[i].inside,
                      map->gid[i].outside, map->gid[i].count);
    if (n > 0 && (size_t)n < sizeof buf - 1) {
        buf[n++] = ':';
        cgroup_of_self(buf + n, sizeof buf - (size_t)n);
    }
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (const char *p = buf; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    snprintf(out, 17, "%016" PRIx64, h);
}

/* the server: nroot-squashfs in the container's user namespace (its ids
 * are the container's; the namespace lives on with it after the
 * container) and a mount namespace of its own, copied from the host's,
 * where it mounts the image at `mnt` of its directory, then keeps the
 * mount detached and the namespace empty (sqfs/share.c); in a session of
 * its own, no child of ours: it outlives this nroot, and a ^C on the
 * terminal does not reach it; no environment of the run that started it.
 * fd 3 the listening socket, fd 4 the image (the file the key was made
 * of; `image` only names it); its log says why it failed. */
static _Noreturn void share_server(int dfd, int lfd, int img, const char *image, int mntfd,
                                   const char *dir, const char *prog, int linger)
{
    if (setsid() < 0)
        _exit(NR_EXIT_FAILURE);
    pid_t p = fork();
    if (p != 0)
        _exit(p < 0 ? NR_EXIT_FAILURE : 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    nr_signals_default();
    int log = openat(dfd, "log", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (log < 0)
        _exit(NR_EXIT_FAILURE);
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    /* above the numbers they go to first */
    lfd = fcntl(lfd, F_DUPFD_CLOEXEC, 10);
    img = fcntl(img, F_DUPFD_CLOEXEC, 10);
    mntfd = fcntl(mntfd, F_DUPFD_CLOEXEC, 10);
    log = fcntl(log, F_DUPFD_CLOEXEC, 10);
    if (nul < 0 || lfd < 0 || img < 0 || mntfd < 0 || log < 0 || dup2(nul, 0) < 0 ||
        dup2(log, 1) < 0 || dup2(log, 2) < 0 || dup2(lfd, 3) < 0 || dup2(img, 4) < 0 ||
        dup2(mntfd, 5) < 0) {
        dprintf(log >= 0 ? log : 2, "nroot: cannot set up the server's files: %s\n",
                strerror(errno));
        _exit(NR_EXIT_FAILURE);
    }
    nr_close_range_except(6U, NULL, 0);
    int user = ioctl(5, NS_GET_USERNS);
    if (user < 0 || setns(user, CLONE_NEWUSER) < 0) {
        dprintf(2, "nroot: cannot enter the container's user namespace: %s\n", strerror(errno));
        _exit(NR_EXIT_FAILURE);
    }
    close(user);
    close(5);
    /* its mounts reach neither the host nor a container */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
        chdir(dir) < 0) {
        dprintf(2, "nroot: cannot make the server's mount namespace: %s\n", strerror(errno));
        _exit(NR_EXIT_FAILURE);
    }
    char opts[128];
    snprintf(opts, sizeof opts, "ro,nodev,nosuid,noatime,image_fd=4,share=3,linger=%d", linger);
    char *argv[] = { "nroot-squashfs", "-f", "-o", opts, (char *)image, "mnt", NULL };
    char *envp[] = { NULL };
    execve(prog, argv, envp);
    dprintf(2, "cannot run '%s': %s\n", prog, strerror(errno));
    _exit(NR_EXIT_CANNOT);
}

/* the last line the server wrote to its log, for a failure */
static void server_said(int dfd, char *buf, size_t size)
{
    buf[0] = '\0';
    nr_autoclose int fd = openat(dfd, "log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : 0;
    buf[n > 0 ? n : 0] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    char *nl = strrchr(buf, '\n');
    if (nl)
        memmove(buf, nl + 1, strlen(nl + 1) + 1);
}

/* a server that failed leaves nothing: its directory goes (a concurrent
 * nroot that finds the lock file unlinked starts over) */
static void share_remove(int dfd, const char *base, const char *key)
{
    unlinkat(dfd, "log", 0);
    unlinkat(dfd, "sock", 0);
    unlinkat(dfd, "mnt", AT_REMOVEDIR);
    unlinkat(dfd, "lock", 0);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", base, key) < (int)sizeof path)
        rmdir(path);
}

static long long ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void nap(void)
{
    nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000000 }, NULL);
}

enum { SHARE_RETRY = -2 };

/* connect to the server in `dfd` (under its lock, taken within the
 * deadline), starting one where none is; *ret_started: this call started
 * it.  SHARE_RETRY: the directory or its lock was removed meanwhile (a
 * server left): start over. */
static int share_connect(const NrSyncMsg *req, const NrRunConfig *cfg, const char *prog, int linger,
                         int img, int dfd, const char *dir, long long deadline, bool *ret_started,
                         NrError *err)
{
    *ret_started = false;
    nr_autoclose int lock = openat(dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock < 0 && errno == ENOENT)
        return SHARE_RETRY;
    if (lock < 0)
        return nr_error_errno(err, "cannot open '%s/lock'", dir);
    while (flock(lock, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return nr_error_errno(err, "cannot lock '%s/lock'", dir);
        if (ms_now() > deadline)
            return nr_error_msg(err, "'%s/lock' is held by another nroot for %d s", dir,
                                SHARE_WAIT_MS / 1000);
        nap();
    }
    struct stat st;
    if (fstat(lock, &st) < 0 || st.st_nlink == 0)
        return SHARE_RETRY;
    /* the socket by a short name: sun_path holds 108 bytes */
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/sock", dfd);
    nr_autoclose int conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (conn < 0)
        return nr_error_errno(err, "cannot make a socket");
    int r;
    /* a full listen queue (the server serves its most already) is waited
     * for, within the deadline */
    while ((r = connect(conn, (struct sockaddr *)&sa, sizeof sa)) < 0 && errno == EAGAIN &&
           ms_now() < deadline)
        nap();
    if (r < 0) {
        if (errno != ENOENT && errno != ECONNREFUSED)
            return nr_error_errno(err, "cannot reach the squashfs server in '%s'", dir);
        /* none, or a dead one's socket: a new server */
        unlinkat(dfd, "sock", 0);
        nr_autoclose int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 128) < 0)
            return nr_error_errno(err, "cannot make the squashfs server's socket in '%s'", dir);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return nr_error_errno(err, "cannot start nroot-squashfs");
        if (pid == 0)
            share_server(dfd, lfd, img, cfg->squashfs, req->fd, dir, prog, linger);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        *ret_started = true;
        if (connect(conn, (struct sockaddr *)&sa, sizeof sa) < 0)
            return nr_error_errno(err, "cannot reach the new squashfs server in '%s'", dir);
    }
    r = conn;
    conn = -1;
    return r;
}

/* the server's answer on `conn`: 1 with the clone in *ret_tree, 0 when it
 * ended without one (*line says why, if it did), -1 on a timeout */
static int share_answer(int conn, long long deadline, char *line, size_t size, int *ret_tree)
{
    struct pollfd p = { .fd = conn, .events = POLLIN };
    int r;
    line[0] = '\0';
    do {
        long long left = deadline - ms_now();
        r = poll(&p, 1, left > 0 ? (int)left : 0);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return -1;
    NrSyncMsg m;
    if (r < 0 || nr_sync_recv(conn, &m) != 1)
        return 0;
    if (m.type == NR_SYNC_SQUASHFS && m.fd >= 0) {
        *ret_tree = m.fd;
        return 1;
    }
    if (m.fd >= 0)
        close(m.fd);
    if (m.type == NR_SYNC_ERROR) {
        size_t n = strnlen(m.err.msg, sizeof m.err.msg);
        n = n < size - 1 ? n : size - 1;
        memcpy(line, m.err.msg, n);
        line[n] = '\0';
    }
    return 0;
}

/* a clone of the shared mount (*ret_tree) and the connection that holds it
 * while the container runs (*ret_conn): the running server's, or one
 * started now.  A server that ends as we connect (it was killed, or it
 * left) leaves us without an answer: once, another is started. */
static int share_attach(const NrSyncMsg *req, const NrRunConfig *cfg, const char *prog, int linger,
                        int *ret_tree, int *ret_conn, NrError *err)
{
    nr_autoclose int img = open(cfg->squashfs, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (img < 0 || fstat(img, &st) < 0)
        return nr_error_errno(err, "cannot open '%s'", cfg->squashfs);
    char key[17];
    share_key(&st, &cfg->map, prog, key);
    nr_autofree char *base = nr_runtime_subdir("squashfs", err);
    if (!base)
        return -1;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", base, key) >= (int)sizeof dir)
        return nr_error_msg(err, "the runtime directory '%s' has too long a path", base);
    long long deadline = ms_now() + SHARE_WAIT_MS;
    char line[512];
    bool retried = false;
    for (;;) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return nr_error_errno(err, "cannot create '%s'", dir);
        nr_autoclose int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 && errno == ENOENT && ms_now() < deadline)
            continue; /* a leaving server removed it */
        if (dfd < 0 || (mkdirat(dfd, "mnt", 0700) < 0 && errno != EEXIST)) {
            if (dfd >= 0 && errno == ENOENT && ms_now() < deadline)
                continue;
            return nr_error_errno(err, "cannot use '%s'", dir);
        }
        bool started;
        int conn = share_connect(req, cfg, prog, linger, img, dfd, dir, deadline, &started, err);
        if (conn == SHARE_RETRY && ms_now() < deadline)
            continue;
        if (conn < 0)
            return conn == SHARE_RETRY
                       ? nr_error_msg(err, "the squashfs server in '%s' kept leaving", dir)
                       : -1;
        int r = share_answer(conn, deadline, line, sizeof line, ret_tree);
        if (r == 1) {
            *ret_conn = conn;
            return 0;
        }
        close(conn);
        if (r < 0)
            return nr_error_msg(err, "nroot-squashfs did not mount within %d s (see '%s/log')",
                                SHARE_WAIT_MS / 1000, dir);
        if (line[0])
            return nr_error_msg(err, "%s", line);
        if (!started && !retried) {
            retried = true;
            continue;
        }
        server_said(dfd, line, sizeof line);
        if (started)
            share_remove(dfd, base, key);
        return nr_error_msg(err, "nroot-squashfs failed%s%s", line[0] ? ": " : "", line);
    }
}

int nr_fuse_squashfs_start(const NrSyncMsg *req, const NrRunConfig *cfg, int sync_fd,
                           NrSquashfs *sq, NrError *err)
{
    if (sq->pid > 0 || sq->conn >= 0)
        return 0;
    char prog[PATH_MAX];
    const char *why = NULL;
    const char *name = nr_userns_find_squashfs(prog, sizeof prog, &why);
    if (!name)
        return nr_error_msg(err, "squashfuse_ll %s", why);
    if (!cfg->squashfs)
        return nr_error_msg(err, "%s: the container has no squashfs image", name);
    if (req->fd < 0)
        return nr_error_msg(err, "%s: no mount namespace came with the request", name);
    int linger;
    const char *from = NULL;
    if (nr_fuse_squashfs_linger(&linger, &from, err) < 0)
        return -1;
    /* shared: nroot-squashfs, the container's root the user (a server
     * without allow_other lets in its own user's ids only, which the
     * overlay of another container of theirs has too); not from inside
     * another container's namespaces (--net=container:NAME), which a
     * server that outlives this run would keep and hand on */
    if (linger >= 0 && cfg->map.user_uid == 0 && strcmp(name, "nroot-squashfs") == 0 &&
        !nr_userns_entered()) {
        int tree = -1;
        if (share_attach(req, cfg, prog, linger, &tree, &sq->conn, err) < 0) {
            nr_error_prefix(err, "cannot mount the squashfs image '%s'", cfg->squashfs);
            return -1;
        }
        int r = nr_sync_send_fd(sync_fd, NR_SYNC_SQUASHFS, tree);
        close(tree);
        return r < 0 ? nr_error_errno(err, "cannot pass the squashfs mount") : 0;
    }
    pid_t pid = squashfuse_start(req, cfg, name, prog, err);
    if (pid < 0)
        return -1;
    sq->pid = pid;
    return nr_sync_send(sync_fd, NR_SYNC_GO, NULL) < 0
               ? nr_error_errno(err, "cannot answer the container")
               : 0;
}

void nr_fuse_squashfs_stop(NrSquashfs *sq, const char *scratch)
{
    nr_fuse_stop(sq->pid, scratch, false);
    sq->pid = 0;
    if (sq->conn >= 0)
        close(sq->conn); /* the server counts one container less */
    sq->conn = -1;
}

void nr_fuse_stop(pid_t pid, const char *scratch, bool keep)
{
    if (pid <= 0)
        return;
    if (keep) {
        /* a kept layer: what the kernel still caches for the overlay
         * (fuse-overlayfs asks for a writeback cache) reaches it first */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%d/root%s/" NR_FUSE_ROOT, (int)pid, scratch);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            syncfs(fd);
            close(fd);
        }
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}
