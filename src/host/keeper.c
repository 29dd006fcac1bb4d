/* SPDX-License-Identifier: Apache-2.0 */
/* keeper.c — the user-namespace keeper (nr-keeper.h): the process that
 * holds U, and the runs' side that joins it.
 *
 * The keeper holds nothing but U: it is in U (made with nr_userns_unshare,
 * as the network holder makes its own), keeps no capability there once U
 * is mapped, no_new_privs, not dumpable, cwd /, no environment but PATH,
 * stdio its log.  Containers made in U are siblings under U instead of
 * under the host's user namespace; U maps the user's ids onto themselves
 * (the user owns every container's namespace already), and a container's root has no
 * capability in U or in another container's namespace (nroot-rootless(7)). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nr-conf.h"
#include "nr-error.h"
#include "nr-keeper.h"
#include "nr-runtime.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

#define WAIT_MS 10000
/* the HELLO's hint: U's setgroups (a run then reads nothing of U's) */
#define SETGROUPS "setgroups="

int nr_keeper_linger(int *ret_secs, const char **ret_from, NrError *err)
{
    return nr_conf_linger("userns-linger", "NROOT_USERNS_LINGER", NR_KEEPER_LINGER_DEFAULT,
                          ret_secs, ret_from, err);
}

/* ---- a run's side ---- */

/* the run found no keeper: it starts one once its command runs */
static bool start_later;

/* meet the keeper at RT/userns (started there with NR_MEET_START) */
static int meet(int linger, NrMeetMode mode, NrSyncMsg *ret_msg)
{
    NrError e = { 0 };
    nr_autofree char *rt = nr_runtime_subdir("userns", &e);
    if (!rt)
        return -1;
    char secs[16], path[PATH_MAX + 8];
    snprintf(secs, sizeof secs, "%d", linger);
    /* the keeper finds newuidmap where this run did, and nothing else of
     * the run's environment */
    const char *p = getenv("PATH");
    snprintf(path, sizeof path, "PATH=%s", p ? p : "");
    char *const argv[] = { "nroot", "_userns-keeper", secs, NULL };
    char *const envp[] = { p ? path : NULL, NULL };
    return nr_runtime_meet(rt, "keeper.log", "the user namespace keeper", argv, envp, WAIT_MS, mode,
                           ret_msg, &e);
}

/* the default plan only: keep-id, single and the joined or entered
 * namespaces have maps of their own */
static bool wants_u(const NrIdMap *map)
{
    return map->helpers && !map->direct && !map->joined && !nr_userns_entered() &&
           strcmp(map->rung, "subids") == 0;
}

/* nr_keeper_begin's meeting: the keeper answers while the run prepares */
static NrMeet early = NR_MEET_INIT;
static char *early_rt;  /* RT/userns, while early is connected */
static bool early_none; /* it found none */

void nr_keeper_begin(const NrIdMap *map)
{
    int linger;
    NrError e = { 0 };
    if (!wants_u(map) || nr_keeper_linger(&linger, NULL, &e) < 0 || linger < 0)
        return;
    char *rt = nr_runtime_subdir("userns", &e);
    if (!rt)
        return;
    int r = nr_runtime_meet_begin(rt, &early, &e);
    early_none = r == NR_RUNTIME_NONE;
    if (r == 0)
        early_rt = rt;
    else
        free(rt);
}

int nr_keeper_join(NrIdMap *map, NrError *err)
{
    /* nr_keeper_begin's meeting, this function's now (closed if unused) */
    NrMeet begun = early;
    nr_autofree char *rt = early_rt;
    early = (NrMeet)NR_MEET_INIT;
    early_rt = NULL;
    int linger = -1, rc = wants_u(map) ? nr_keeper_linger(&linger, NULL, err) : 0;
    if (rc < 0 || linger < 0) {
        if (begun.sock >= 0)
            close(begun.sock);
        return rc;
    }
    NrSyncMsg m = { .fd = -1 };
    int sock = NR_RUNTIME_NONE;
    NrError e = { 0 };
    if (begun.sock >= 0)
        sock = nr_runtime_meet_end(&begun, rt, "keeper.log", "the user namespace keeper", WAIT_MS,
                                   &m, &e);
    else if (!early_none)
        sock = meet(linger, NR_MEET_CONNECT, &m);
    /* none: this run maps its namespace itself, and starts a keeper once
     * its command runs (starting it now would have it make U on the
     * same CPUs at the same time as this run, or this run wait for it) */
    start_later = sock == NR_RUNTIME_NONE;
    if (sock < 0)
        return 0;
    close(sock);
    char want[sizeof m.err.msg];
    nr_userns_map_text(map, want, sizeof want);
    /* another map (the ranges changed since the keeper began): the plain
     * path; the keeper sees the change itself and ends */
    if (m.type != NR_KEEPER_HELLO || m.fd < 0 || ioctl(m.fd, NS_GET_NSTYPE) != CLONE_NEWUSER ||
        strcmp(want, m.err.msg) != 0) {
        if (m.fd >= 0)
            close(m.fd);
        return 0;
    }
    /* a keeper says whether its namespace allows setgroups (an older one
     * does not: read then) */
    const char *sg = strncmp(m.err.hint, SETGROUPS, strlen(SETGROUPS)) == 0
                         ? m.err.hint + strlen(SETGROUPS)
                         : NULL;
    rc = sg ? nr_userns_join_identity(m.fd, map, strcmp(sg, "allow") == 0, err)
            : nr_userns_join(m.fd, map, err);
    close(m.fd);
    return rc < 0 ? -1 : 1;
}

void nr_keeper_start(void)
{
    int linger;
    NrError e = { 0 };
    if (!start_later || nr_keeper_linger(&linger, NULL, &e) < 0 || linger < 0)
        return;
    start_later = false;
    NrSyncMsg m = { .fd = -1 };
    meet(linger, NR_MEET_START, &m);
}

pid_t nr_keeper_running(void)
{
    NrError e = { 0 };
    nr_autofree char *rt = nr_runtime_subdir("userns", &e);
    if (!rt)
        return 0;
    char f[PATH_MAX + 16], line[32], comm[32] = "";
    snprintf(f, sizeof f, "%s/keeper.pid", rt);
    uint32_t pid;
    line[0] = '\0';
    nr_read_line(f, line, sizeof line);
    if (!nr_parse_u32(line, &pid) || pid == 0 || pid > INT32_MAX)
        return 0;
    snprintf(f, sizeof f, "/proc/%u/comm", pid);
    nr_read_line(f, comm, sizeof comm);
    if (strcmp(comm, "nroot-userns") != 0)
        return 0;
    return (pid_t)pid;
}

/* ---- the keeper ---- */

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nr_log_linev("nroot-userns", fmt, ap);
    va_end(ap);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct Keeper {
    int lfd, lockfd, nsfd;
    char sock[PATH_MAX + 8], pidfile[PATH_MAX + 16];
    char map[1024];
    char setgroups[16];         /* U's /proc/PID/setgroups: allow, deny */
    struct stat subuid, subgid; /* as when U was made */
    long long last;             /* the last connection served, ms */
} Keeper;

static void stat_ranges(struct stat *u, struct stat *g)
{
    memset(u, 0, sizeof *u);
    memset(g, 0, sizeof *g);
    stat("/etc/subuid", u);
    stat("/etc/subgid", g);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* the ranges changed since U was made: U maps what they no longer say */
static bool stale(const Keeper *k)
{
    struct stat u, g;
    stat_ranges(&u, &g);
    return !same_file(&u, &k->subuid) || !same_file(&g, &k->subgid);
}

/* every connection waiting: greeted with U, closed; false when U is stale
 * (the socket is gone then: the next run starts another keeper) */
static bool serve(Keeper *k)
{
    int fd;
    while ((fd = accept4(k->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        if (stale(k)) {
            /* gone before the client hears it: the next run, under the
             * lock this one holds, finds no keeper and starts one */
            unlink(k->sock);
            unlink(k->pidfile);
            NrError e = { 0 };
            nr_error_msg(&e, "the subordinate id ranges changed");
            nr_sync_send(fd, NR_SYNC_ERROR, &e);
            close(fd);
            logmsg("the subordinate id ranges changed: exiting");
            return false;
        }
        NrError hello = { 0 };
        snprintf(hello.msg, sizeof hello.msg, "%s", k->map);
        snprintf(hello.hint, sizeof hello.hint, SETGROUPS "%s", k->setgroups);
        nr_sync_send_fd_err(fd, NR_KEEPER_HELLO, k->nsfd, &hello);
        close(fd);
        k->last = now_ms();
    }
    return true;
}

/* the linger is over: end, unless a run came meanwhile (under the lock) */
static bool may_end(Keeper *k, bool *ret_stale)
{
    if (flock(k->lockfd, LOCK_EX | LOCK_NB) < 0)
        return false;
    long long before = k->last;
    *ret_stale = !serve(k);
    bool end = *ret_stale || k->last == before;
    if (end && !*ret_stale) {
        unlink(k->sock);
        unlink(k->pidfile);
    }
    flock(k->lockfd, LOCK_UN);
    return end;
}

/* U made and mapped, its fd and map kept, every right given up.  U maps
 * the user's own ids onto themselves (uid -> uid, the subordinate range
 * onto itself): a container made in it is mapped with the same host ids as
 * without the keeper, so inside, /proc/self/uid_map reads as it always did
 * (0 UID 1, 1 SUBUID N); a run in U is the user there, not root. */
static int make_u(Keeper *k, NrError *err)
{
    NrIdMap plan, ident, u = { 0 };
    if (nr_userns_plan(NR_USERNS_AUTO, NR_USERNS_QUIET, &plan, err) < 0)
        return -1;
    if (!plan.helpers || strcmp(plan.rung, "subids") != 0)
        return nr_error_msg(err, "no subordinate id mapping to keep (%s)", plan.rung);
    stat_ranges(&k->subuid, &k->subgid);
    ident = plan;
    for (int i = 0; i < ident.n_uid; i++)
        ident.uid[i].inside = ident.uid[i].outside;
    for (int i = 0; i < ident.n_gid; i++)
        ident.gid[i].inside = ident.gid[i].outside;
    if (nr_userns_unshare(&ident, err) < 0)
        return -1;
    k->nsfd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
    if (k->nsfd < 0)
        return nr_error_errno(err, "cannot open the user namespace");
    if (nr_userns_read_map("/proc/self/uid_map", u.uid, &u.n_uid, err) < 0 ||
        nr_userns_read_map("/proc/self/gid_map", u.gid, &u.n_gid, err) < 0)
        return -1;
    /* what a run compares with its own plan: the plan U serves (its map as
     * read is the identity) */
    char got[sizeof k->map], want[sizeof k->map];
    nr_userns_map_text(&u, got, sizeof got);
    nr_userns_map_text(&ident, want, sizeof want);
    if (strcmp(got, want) != 0)
        return nr_error_msg(err, "the keeper's namespace has map %s, not %s", got, want);
    nr_userns_map_text(&plan, k->map, sizeof k->map);
    nr_read_line("/proc/self/setgroups", k->setgroups, sizeof k->setgroups);
    if (strcmp(k->setgroups, "allow") != 0 && strcmp(k->setgroups, "deny") != 0)
        return nr_error_msg(err, "cannot read the keeper's /proc/self/setgroups");
    /* it only passes an fd on */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || nr_caps_keep_only(-1) < 0)
        return nr_error_errno(err, "cannot drop the keeper's rights");
    return 0;
}

int nr_keeper_main(int argc, char **argv)
{
    prctl(PR_SET_NAME, "nroot-userns", 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    NrError err = { 0 };
    uint32_t linger = 0;
    Keeper k = { .lfd = 3, .nsfd = -1, .last = now_ms() };
    /* its directory is the socket's: no path in its argv, where a search
     * for the processes of a directory (pgrep -f) would find it */
    struct sockaddr_un sa = { 0 };
    socklen_t len = sizeof sa;
    char *slash = NULL;
    if (argc != 2 || !nr_parse_u32(argv[1], &linger) ||
        getsockname(k.lfd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_family != AF_UNIX ||
        len <= offsetof(struct sockaddr_un, sun_path) + 1 || !sa.sun_path[0] ||
        !(slash = strrchr(sa.sun_path, '/'))) {
        logmsg("usage: nroot _userns-keeper LINGER, with its listening socket as fd 3 (nroot "
               "run starts it)");
        return NR_EXIT_FAILURE;
    }
    char rt[sizeof sa.sun_path + 1];
    snprintf(rt, sizeof rt, "%.*s", (int)(slash - sa.sun_path), sa.sun_path);
    fcntl(k.lfd, F_SETFD, FD_CLOEXEC);
    fcntl(k.lfd, F_SETFL, O_NONBLOCK);
    snprintf(k.sock, sizeof k.sock, "%s/sock", rt);
    snprintf(k.pidfile, sizeof k.pidfile, "%s/keeper.pid", rt);
    char lock[PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s/lock", rt);
    k.lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (k.lockfd < 0)
        nr_error_errno(&err, "cannot open '%s'", lock); /* it could never end */
    if (k.lockfd < 0 || make_u(&k, &err) < 0) {
        logmsg("%s", err.msg);
        /* the waiting run hears it, and maps its namespace itself */
        int fd;
        while ((fd = accept4(k.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
            nr_sync_send(fd, NR_SYNC_ERROR, &err);
            close(fd);
        }
        unlink(k.sock);
        return NR_EXIT_FAILURE;
    }
    char pid[16];
    snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (nr_write_file_at(AT_FDCWD, k.pidfile, pid, 0600, &err) < 0)
        logmsg("%s", err.msg);
    logmsg("started: user namespace %s, linger %u s", k.map, linger);
    bool gone = false;
    for (;;) {
        long long left = k.last + (long long)linger * 1000 - now_ms();
        struct pollfd p = { .fd = k.lfd, .events = POLLIN };
        int r = poll(&p, 1, left > 0 ? (int)(left < 60000 ? left : 60000) : 0);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && !serve(&k)) {
            gone = true;
            break;
        }
        if (r == 0 && k.last + (long long)linger * 1000 <= now_ms()) {
            if (may_end(&k, &gone))
                break;
            /* the lock was busy: a run is coming */
            poll(NULL, 0, 50);
        }
    }
    if (!gone)
        logmsg("no run for %u s: exiting", linger);
    return 0;
}
