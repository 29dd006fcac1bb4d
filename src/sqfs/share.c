/* SPDX-License-Identifier: Apache-2.0 */
/* share.c — `nroot-squashfs -o share=FD,linger=S`: one mount of an image
 * for every container of the user that runs it with the same id map (and
 * in the same cgroup), so the second run finds the kernel's caches (page
 * cache, dentries) as the first left them instead of an empty mount.
 * nroot (host/fuse.c) starts the server with a listening unix socket
 * (SOCK_SEQPACKET) as FD, in a directory RT/squashfs/KEY holding `sock`
 * (that socket's name), `lock` and `log`; each nroot that runs the image
 * connects and gets one sync message (nr-spawn.h): NR_SYNC_SQUASHFS with a
 * clone of this mount (open_tree(OPEN_TREE_CLONE) of a detached master
 * copy), which it attaches in its container, or NR_SYNC_ERROR.  It keeps
 * the connection while its container runs: the server counts connections,
 * and when none has been open for the linger it removes its directory and
 * exits (the mount goes with the last clone).
 *
 * nroot holds `lock` while it connects (or starts a server); the server
 * takes it without waiting before it decides to go, so no connection is
 * ever made to a server that is leaving; a waiter that finds the lock
 * file removed starts over.
 *
 * Once mounted, the server keeps nothing of the host: its mount is held as
 * a detached master, its mount namespace's root becomes an empty tmpfs
 * (the host tree it was copied from is detached, so no host mount is
 * pinned but the runtime directory it holds open), and it keeps only
 * CAP_SYS_ADMIN (of the first container's user namespace: open_tree needs
 * it) with no_new_privs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-spawn.h"
#include "nr-util.h"
#include "share.h"

/* at most this many containers at once (a connection each, below the
 * open-file limit); more wait in the listen queue until one ends */
#define SHARE_MAX 4096

typedef struct {
    int lfd;
    unsigned linger;
    int master; /* the mount, detached */
    int dfd;    /* RT/squashfs/KEY */
    char key[NAME_MAX + 1];
    dev_t sock_dev; /* `sock` as we were started with it */
    ino_t sock_ino;
    int max; /* connections at once */
} Share;

static Share the_share = { .lfd = -1, .master = -1, .dfd = -1 };

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* a clone of the master to connection `c`, or why not */
static void send_tree(int c, int master)
{
    int tree = (int)syscall(SYS_open_tree, master, "",
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) {
        NrError e = { 0 };
        nr_error_errno(&e, "nroot-squashfs: cannot clone its mount");
        nr_sync_send(c, NR_SYNC_ERROR, &e);
        return;
    }
    nr_sync_send_fd(c, NR_SYNC_SQUASHFS, tree);
    close(tree);
}

/* only processes of our own user: the socket's directory is theirs and
 * 0700 already; this says so again */
static bool same_user(int c)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    return getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == getuid();
}

/* the directory goes with us, the lock last (a waiter finds it unlinked
 * and starts over); `sock` only if it is still ours */
static void remove_dir(Share *s)
{
    struct stat st;
    if (fstatat(s->dfd, "sock", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == s->sock_dev &&
        st.st_ino == s->sock_ino)
        unlinkat(s->dfd, "sock", 0);
    unlinkat(s->dfd, "log", 0);
    unlinkat(s->dfd, "mnt", AT_REMOVEDIR);
    unlinkat(s->dfd, "lock", 0);
    int parent = openat(s->dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent >= 0) {
        unlinkat(parent, s->key, AT_REMOVEDIR); /* fails if an nroot made something there */
        close(parent);
    }
}

/* no connection left and the linger is over: go, unless an nroot is
 * connecting (it holds the lock) or has connected (one waits to be
 * accepted) */
static bool may_leave(Share *s)
{
    int lock = openat(s->dfd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (lock < 0 && errno == ENOENT)
        return true; /* our directory was removed: nobody can find us */
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
        if (lock >= 0)
            close(lock);
        return false;
    }
    struct pollfd p = { .fd = s->lfd, .events = POLLIN };
    if (poll(&p, 1, 0) != 0) {
        close(lock);
        return false;
    }
    /* nroot finds no socket from now on and starts another server; the
     * lock goes with this process */
    remove_dir(s);
    return true;
}

static void *share_loop(void *arg)
{
    Share *s = arg; /* signals blocked: SIGTERM and the like are the main
                     * thread's, whose read of /dev/fuse they interrupt so that it
                     * ends the session */
    struct pollfd *p = calloc((size_t)s->max + 1, sizeof *p);
    if (!p)
        _exit(1);
    int n = 0; /* connections, p[1 .. n] */
    p[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
    /* the nroot that started us connects at once; if it died first, we go
     * after the linger and a grace of 10 s */
    long long idle_since = now_ms() + 10000;
    for (;;) {
        int timeout = -1;
        if (n == 0) {
            long long left = idle_since + (long long)s->linger * 1000 - now_ms();
            timeout = left > 0 ? (int)(left < 1000000 ? left : 1000000) : 0;
        }
        p[0].events = n < s->max ? POLLIN : 0;
        int r = poll(p, (nfds_t)(1 + n), timeout);
        if (r < 0 && errno != EINTR)
            _exit(1);
        if (r == 0 && n == 0) {
            if (may_leave(s))
                _exit(0);
            /* an nroot is connecting: look again soon */
            idle_since = now_ms() - (long long)s->linger * 1000 + 50;
            continue;
        }
        for (int i = n; i >= 1; i--) {
            if (!p[i].revents)
                continue;
            /* a client says nothing: any input or hang-up is its end */
            close(p[i].fd);
            p[i] = p[n--];
            if (n == 0)
                idle_since = now_ms();
        }
        if (p[0].revents & POLLIN) {
            int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0 && errno == EINVAL)
                return NULL; /* sq_share_stop: the server is ending */
            if (c < 0)
                continue;
            if (!same_user(c)) {
                close(c);
                continue;
            }
            send_tree(c, s->master);
            p[++n] = (struct pollfd){ .fd = c, .events = POLLIN };
        }
    }
    return NULL;
}

/* the mount namespace's root becomes an empty tmpfs at `mnt` (where the
 * mount was, now held by the master): the host tree copied into it is
 * detached */
static int isolate(const char *mnt)
{
    if (umount2(mnt, MNT_DETACH) < 0 ||
        mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=2,mode=0500") < 0 ||
        chdir(mnt) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
        chdir("/") < 0)
        return -1;
    return 0;
}

int sq_share_start(int lfd, unsigned linger, const char *mnt)
{
    Share *s = &the_share;
    *s = (Share){ .lfd = lfd, .linger = linger, .master = -1, .dfd = -1 };
    /* as many clients as the open-file limit allows */
    struct rlimit rl;
    s->max = SHARE_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < SHARE_MAX + 64)
        s->max = rl.rlim_cur > 96 ? (int)rl.rlim_cur - 64 : 32;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    const char *base = strrchr(cwd, '/');
    base = base ? base + 1 : cwd;
    if (strlen(base) >= sizeof s->key)
        return -1;
    memcpy(s->key, base, strlen(base) + 1);
    struct stat st;
    s->dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dfd < 0 || fstatat(s->dfd, "sock", &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    s->sock_dev = st.st_dev;
    s->sock_ino = st.st_ino;
    s->master = (int)syscall(SYS_open_tree, AT_FDCWD, mnt, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (s->master < 0 || isolate(mnt) < 0 ||
        /* open_tree(OPEN_TREE_CLONE) needs CAP_SYS_ADMIN; nothing more */
        nr_caps_keep_only(CAP_SYS_ADMIN) < 0)
        return -1;
    pthread_t t;
    pthread_attr_t a;
    if (pthread_attr_init(&a) != 0)
        return -1;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* the thread starts with every signal blocked (it inherits the mask) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = pthread_create(&t, &a, share_loop, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
    return r == 0 ? 0 : -1;
}

void sq_share_stop(void)
{
    Share *s = &the_share;
    if (s->lfd < 0 || s->dfd < 0)
        return;
    /* as may_leave, but waiting for the lock: a connection made before
     * this gets a clone that fails with the server, none after */
    int lock = openat(s->dfd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (lock >= 0)
        flock(lock, LOCK_EX);
    remove_dir(s);
    shutdown(s->lfd, SHUT_RDWR);
}
