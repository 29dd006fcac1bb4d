/* SPDX-License-Identifier: Apache-2.0 */
/* runtime.c — RT, nroot's runtime directory: private to the user, on a
 * file system where overlayfs works; what lives only while containers run
 * (live states, the seccomp cache, scratch mount points). */
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-runtime.h"
#include "nr-store.h"
#include "nr-util.h"

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
           ((st.st_mode & S_ISVTX) ||
            (!(st.st_mode & 022) && (st.st_uid == 0 || st.st_uid == getuid())));
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
    nr_autofree char *file =
        nr_strdup_printf("%s/runtime-dir.%s", store, host[0] ? host : "localhost");
    if (nr_mkdir_p(store, 0700, err) < 0)
        return NULL;
    nr_autoclose int fd =
        open(file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
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
              "'%s' instead, remembered in '%s'",
              squatted, buf, file);
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
                  "ignored",
                  xdg);
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

/* ---- helpers that outlive their runs ---- */

static int try_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG; /* a shorter path would be another socket */
        return -1;
    }
    memcpy(sa.sun_path, path, n + 1);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

/* the helper, handed the listening socket as fd 3; not our child (a
 * double fork), in a session of its own, its output in RT_SUB/LOG */
static int start_helper(const char *rt, const char *path, const char *logname, char *const argv[],
                        char *const envp[], NrError *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path)
        return nr_error_msg(err, "the path '%s' is too long for a socket", path);
    memcpy(sa.sun_path, path, n + 1);
    unlink(path);
    nr_autoclose int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 128) < 0)
        return nr_error_errno(err, "cannot listen on '%s'", path);
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/%s", rt, logname);
    pid_t pid = fork();
    if (pid < 0)
        return nr_error_errno(err, "fork");
    if (pid == 0) {
        /* every fd of the caller but the socket goes before the second
         * fork, and the caller waits for this child: once it returns no
         * process of the helper holds the caller's files (a published
         * port's listener must be free when nroot has exited) */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        /* each helper's lines follow the last one's, up to 1 MiB */
        struct stat st;
        int trunc = stat(log, &st) == 0 && st.st_size > (1 << 20) ? O_TRUNC : 0;
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | trunc, 0600);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out >= 0 ? out : null, 1) < 0 ||
            dup2(out >= 0 ? out : null, 2) < 0 || dup2(l, 3) < 0)
            _exit(127);
        int keep[] = { 3 };
        nr_close_range_except(4U, keep, 0);
        if (fork() != 0)
            _exit(0);
        setsid();
        /* it outlives this nroot: no hold on its caller's directory */
        if (chdir("/") < 0)
            _exit(127);
        umask(077);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

/* RT_SUB/lock, opened and locked (START: not waiting); NR_RUNTIME_NONE:
 * held by another */
static int lock_rt(const char *rt, NrMeetMode mode, NrError *err)
{
    char lock[PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s/lock", rt);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        return nr_error_errno(err, "cannot open '%s'", lock);
    /* START (a run's keeper, from its supervise loop) never waits: a lock
     * held means a run is meeting or starting one right now */
    while (flock(lfd, mode == NR_MEET_START ? LOCK_EX | LOCK_NB : LOCK_EX) < 0) {
        int e = errno;
        if (mode == NR_MEET_START && e == EWOULDBLOCK) {
            close(lfd);
            return NR_RUNTIME_NONE;
        }
        if (e != EINTR) {
            close(lfd);
            errno = e;
            return nr_error_errno(err, "cannot lock '%s'", lock);
        }
    }
    return lfd;
}

/* the helper's first message on sock, then the lock (if held) dropped */
static int answer(int sock, int lfd, const char *rt, const char *logname, const char *what,
                  int wait_ms, NrSyncMsg *ret_msg, NrError *err)
{
    struct pollfd p = { .fd = sock, .events = POLLIN };
    int r = 0;
    while ((r = poll(&p, 1, wait_ms)) < 0 && errno == EINTR)
        ;
    *ret_msg = (NrSyncMsg){ .fd = -1 };
    if (r == 1)
        r = nr_sync_recv(sock, ret_msg);
    if (lfd >= 0) {
        flock(lfd, LOCK_UN);
        close(lfd);
    }
    if (r != 1) {
        close(sock);
        nr_error_msg(err, "%s did not answer", what);
        nr_error_hint(err, "its log is '%s/%s'", rt, logname);
        return -1;
    }
    return sock;
}

/* RT_SUB/sock connected (*ret_sock, -1: nobody there) under the lock,
 * whose fd is returned (lock_rt's failures) */
static int connect_locked(const char *rt, NrMeetMode mode, char path[PATH_MAX + 8], int *ret_sock,
                          NrError *err)
{
    snprintf(path, PATH_MAX + 8, "%s/sock", rt);
    int lfd = lock_rt(rt, mode, err);
    *ret_sock = lfd < 0 ? -1 : try_connect(path);
    return lfd;
}

int nr_runtime_meet(const char *rt, const char *logname, const char *what, char *const argv[],
                    char *const envp[], int wait_ms, NrMeetMode mode, NrSyncMsg *ret_msg,
                    NrError *err)
{
    char path[PATH_MAX + 8];
    int sock, lfd = connect_locked(rt, mode, path, &sock, err);
    if (lfd < 0)
        return lfd;
    if ((mode == NR_MEET_START && sock >= 0) || (mode == NR_MEET_CONNECT && sock < 0)) {
        if (sock >= 0)
            close(sock);
        close(lfd);
        return NR_RUNTIME_NONE;
    }
    if (sock < 0) {
        int rc = start_helper(rt, path, logname, argv, envp, err);
        if (rc == 0 && mode != NR_MEET_START && (sock = try_connect(path)) < 0)
            rc = nr_error_errno(err, "cannot reach %s at '%s'", what, path);
        if (rc < 0 || mode == NR_MEET_START) {
            close(lfd);
            return rc < 0 ? -1 : NR_RUNTIME_NONE;
        }
    }
    return answer(sock, lfd, rt, logname, what, wait_ms, ret_msg, err);
}

int nr_runtime_meet_begin(const char *rt, NrMeet *m, NrError *err)
{
    char path[PATH_MAX + 8];
    *m = (NrMeet)NR_MEET_INIT;
    int sock, lfd = connect_locked(rt, NR_MEET_CONNECT, path, &sock, err);
    if (lfd < 0)
        return lfd;
    /* connected under the lock is enough: a helper that is ending takes
     * the lock and answers what is queued before it removes the socket */
    flock(lfd, LOCK_UN);
    close(lfd);
    if (sock < 0)
        return NR_RUNTIME_NONE;
    m->sock = sock;
    return 0;
}

int nr_runtime_meet_end(NrMeet *m, const char *rt, const char *logname, const char *what,
                        int wait_ms, NrSyncMsg *ret_msg, NrError *err)
{
    int sock = answer(m->sock, m->lfd, rt, logname, what, wait_ms, ret_msg, err);
    *m = (NrMeet)NR_MEET_INIT;
    return sock;
}
