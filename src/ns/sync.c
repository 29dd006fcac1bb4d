/* SPDX-License-Identifier: Apache-2.0 */
/* sync.c — messages on the parent/child sync socket (SOCK_SEQPACKET: one
 * send is one message).  Shared by nroot and nroot-unpack. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-spawn.h"

int nr_sync_send(int fd, uint32_t type, const NrError *err)
{
    NrSyncMsg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = type;
    if (err)
        msg.err = *err;
    ssize_t w;
    do
        w = send(fd, &msg, sizeof msg, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)sizeof msg ? 0 : -1;
}

int nr_sync_send_fd(int fd, uint32_t type, int pass)
{
    return nr_sync_send_fd_err(fd, type, pass, NULL);
}

int nr_sync_send_fd_err(int fd, uint32_t type, int pass, const NrError *err)
{
    return nr_sync_send_fds(fd, type, &pass, 1, err);
}

static int send_fds(int sock, const void *buf, size_t len, const int *pass, int n)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union {
        char buf[CMSG_SPACE(sizeof(int) * NR_SYNC_MAX_FDS)];
        struct cmsghdr align;
    } u;
    if (n < 1 || n > NR_SYNC_MAX_FDS) {
        errno = EINVAL;
        return -1;
    }
    memset(&u, 0, sizeof u);
    struct msghdr mh = { .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = u.buf,
                         .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(c), pass, sizeof(int) * (size_t)n);
    ssize_t w;
    do
        w = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)len ? 0 : -1;
}

int nr_send_fd(int sock, const void *buf, size_t len, int pass)
{
    return send_fds(sock, buf, len, &pass, 1);
}

int nr_sync_send_fds(int fd, uint32_t type, const int *pass, int n, const NrError *err)
{
    NrSyncMsg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = type;
    msg.fd = -1;
    if (err)
        msg.err = *err;
    return send_fds(fd, &msg, sizeof msg, pass, n);
}

int nr_sync_send_result(int fd, const char *text)
{
    NrError e = { 0 };
    snprintf(e.msg, sizeof e.msg, "%s", text);
    return nr_sync_send(fd, NR_SYNC_RESULT, &e);
}

int nr_sync_recv_more(int fd, NrSyncMsg *msg, int *more, int *ret_n_more)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * NR_SYNC_MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct iovec iov = { .iov_base = msg, .iov_len = sizeof *msg };
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
    };
    ssize_t r;
    do
        r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    msg->fd = -1;
    int fds[NR_SYNC_MAX_FDS], n = 0;
    struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        if (n > NR_SYNC_MAX_FDS)
            n = NR_SYNC_MAX_FDS;
        memcpy(fds, CMSG_DATA(c), (size_t)n * sizeof(int));
        msg->fd = fds[0];
    }
    /* the fds after the first: to the caller that takes them, else closed */
    int k = 0;
    for (int i = 1; i < n; i++) {
        if (more && r == (ssize_t)sizeof *msg)
            more[k++] = fds[i];
        else
            close(fds[i]);
    }
    if (ret_n_more)
        *ret_n_more = k;
    if (r == 0)
        return 0;
    if (r != (ssize_t)sizeof *msg) {
        if (msg->fd >= 0)
            close(msg->fd);
        msg->fd = -1;
        return -1;
    }
    msg->err.msg[sizeof msg->err.msg - 1] = '\0';
    msg->err.hint[sizeof msg->err.hint - 1] = '\0';
    return 1;
}

int nr_sync_recv(int fd, NrSyncMsg *msg)
{
    return nr_sync_recv_more(fd, msg, NULL, NULL);
}
