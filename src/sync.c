/* sync.c — messages on the parent/child sync socket (SOCK_SEQPACKET: one
 * send is one message).  Shared by nroot and nroot-unpack. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

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

int nr_sync_send_result(int fd, const char *text)
{
    NrError e = { 0 };
    snprintf(e.msg, sizeof e.msg, "%s", text);
    return nr_sync_send(fd, NR_SYNC_RESULT, &e);
}

int nr_sync_recv(int fd, NrSyncMsg *msg)
{
    ssize_t r;
    do
        r = recv(fd, msg, sizeof *msg, 0);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    if (r != (ssize_t)sizeof *msg)
        return -1;
    msg->err.msg[sizeof msg->err.msg - 1] = '\0';
    msg->err.hint[sizeof msg->err.hint - 1] = '\0';
    return 1;
}

