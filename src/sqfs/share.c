/* SPDX-License-Identifier: Apache-2.0 */
/* share.c — `nroot-squashfs -o share=FD,linger=S`: one mount of an image
 * for every container of the user that runs it with the same id map, so
 * the second run finds the kernel's caches (page cache, dentries) as the
 * first left them instead of an empty mount.  nroot (host/fuse.c) starts
 * the server with a listening unix socket (SOCK_SEQPACKET) as FD, in a
 * directory holding `sock` (that socket's name) and `lock`; each nroot
 * that runs the image connects and gets a message: one byte 0 and, with
 * it, a clone of this mount (open_tree(OPEN_TREE_CLONE), a detached mount
 * it attaches in its container), or a line saying why not.  It keeps the
 * connection while its container runs: the server counts connections, and
 * when none has been open for the linger it unlinks `sock` and exits (the
 * mount lives in this process's own mount namespace and goes with it).
 * nroot holds `lock` while it connects (or starts a server); the server
 * takes it without waiting before it decides to go, so no connection is
 * ever made to a server that is leaving. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "share.h"

/* at most this many containers at once (a connection each); more wait in
 * the listen queue until one ends */
#define SHARE_MAX 1024

typedef struct {
    int lfd;
    unsigned linger;
    const char *mnt;
} Share;

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* the mount, cloned, to connection `c`; or why not */
static void send_tree(int c, const char *mnt)
{
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, mnt, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) {
        char line[256];
        int n = snprintf(line, sizeof line, "nroot-squashfs: cannot clone its mount: %s",
                         strerror(errno));
        send(c, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        return;
    }
    char ok = 0;
    struct iovec iov = { .iov_base = &ok, .iov_len = 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &tree, sizeof tree);
    sendmsg(c, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
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

/* no connection left and the linger is over: go, unless an nroot is
 * connecting (it holds the lock) or has connected (one waits to be
 * accepted) */
static bool may_leave(int lfd)
{
    int lock = open("lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (lock < 0 && errno == ENOENT)
        return true; /* our directory was removed: nobody can find us */
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
        if (lock >= 0)
            close(lock);
        return false;
    }
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    if (poll(&p, 1, 0) != 0) {
        close(lock);
        return false;
    }
    /* nroot finds no socket from now on and starts another server; the
     * lock goes with this process */
    unlink("sock");
    return true;
}

static void *share_loop(void *arg)
{
    Share *s = arg;
    static struct pollfd p[1 + SHARE_MAX];
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
        p[0].events = n < SHARE_MAX ? POLLIN : 0;
        int r = poll(p, (nfds_t)(1 + n), timeout);
        if (r < 0 && errno != EINTR)
            _exit(1);
        if (r == 0 && n == 0) {
            if (may_leave(s->lfd))
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
            send_tree(c, s->mnt);
            p[++n] = (struct pollfd){ .fd = c, .events = POLLIN };
        }
    }
    return NULL;
}

static Share the_share = { .lfd = -1 };

void sq_share_stop(void)
{
    if (the_share.lfd < 0)
        return;
    /* as may_leave, but waiting for the lock: a connection made before
     * this gets a clone that fails with the server, none after */
    int lock = open("lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (lock >= 0)
        flock(lock, LOCK_EX);
    unlink("sock");
    shutdown(the_share.lfd, SHUT_RDWR);
}

int sq_share_start(int lfd, unsigned linger, const char *mnt)
{
    the_share = (Share){ .lfd = lfd, .linger = linger, .mnt = mnt };
    pthread_t t;
    pthread_attr_t a;
    if (pthread_attr_init(&a) != 0)
        return -1;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&t, &a, share_loop, &the_share);
    pthread_attr_destroy(&a);
    return r == 0 ? 0 : -1;
}
