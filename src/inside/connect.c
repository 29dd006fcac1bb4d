/* SPDX-License-Identifier: Apache-2.0 */
/* connect.c — PID 1's service to the parent: a socket connected to a port
 * of the container (published ports, host/portfwd.c), which can only be
 * made in the container's network namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-init.h"
#include "nr-net.h"
#include "nr-spawn.h"

/* the parent asks for a socket connected to a port of the container: it
 * can only be made in this network namespace */
void nr_connect_serve(int sync_fd)
{
    NrSyncMsg msg;
    if (nr_sync_recv(sync_fd, &msg) != 1) {
        return;
    }
    if (msg.fd >= 0)
        close(msg.fd);
    if (msg.type != NR_SYNC_CONNECT && msg.type != NR_SYNC_CONNECT_UDP)
        return;
    /* a published port's container end: TCP connecting, or UDP connected */
    int type = msg.type == NR_SYNC_CONNECT ? SOCK_STREAM : SOCK_DGRAM;
    int s = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)msg.err.code) };
    /* the container's address: slirp's, or its first user network's */
    const char *self = *nr_net_user_address() ? nr_net_user_address() : NR_SLIRP_GUEST;
    inet_pton(AF_INET, self, &to.sin_addr);
    if (s >= 0 && connect(s, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
        close(s);
        s = -1;
    }
    NrError answer = { .errnum = msg.err.errnum };
    if (s >= 0) {
        /* the request id travels in err.errnum, as it came */
        nr_sync_send_fd_err(sync_fd, NR_SYNC_CONNECTED, s, &answer);
        close(s);
    } else
        nr_sync_send(sync_fd, NR_SYNC_CONNECTED, &answer);
}
