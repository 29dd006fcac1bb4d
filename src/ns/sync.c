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
    NrSyncMsg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = type;
    msg.fd = -1;
    if (err)
        msg.err = *err;
    return nr_send_fd(fd, &msg, sizeof msg, pass);
}

int nr_send_fd(int sock, const void *buf, size_t len, int pass)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pass, sizeof pass);
    ssize_t w;
    do
        w = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)len ? 0 : -1;
}

int nr_sync_send_result(int fd, const char *text)
{
    NrError e = { 0 };
    snprintf(e.msg, sizeof e.msg, "%s", text);
    return nr_sync_send(fd, NR_SYNC_RESULT, &e);
}

int nr_sync_recv(int fd, NrSyncMsg *msg)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
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
    struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(&msg->fd, CMSG_DATA(c), sizeof msg->fd);
    if (r == 0)
        return 0;
    if (r != (ssize_t)sizeof *msg) {
        if (msg->fd >= 0)
            close(msg->fd);
        return -1;
    }
    msg->err.msg[sizeof msg->err.msg - 1] = '\0';
    msg->err.hint[sizeof msg->err.hint - 1] = '\0';
    return 1;
}
