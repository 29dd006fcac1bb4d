/* nr-portfwd.h — published TCP ports, spliced between a host socket and a
 * socket PID 1 makes in the container's network namespace (portfwd.c). */
#pragma once
#include <poll.h>

#include "nr-error.h"
#include "nr-spawn.h"

struct NrRunConfig;
struct NrPort;
typedef struct NrPortfwd NrPortfwd;

/* bind and listen on the host side of every TCP port of cfg (before the
 * container starts: a port in use fails the run at once) */
NrPortfwd *nr_portfwd_new(const struct NrRunConfig *cfg, NrError *err);
void       nr_portfwd_free(NrPortfwd *f);
/* accept from here on, asking PID 1 through sync_fd for the other ends */
void       nr_portfwd_start(NrPortfwd *f, int sync_fd);
int        nr_portfwd_fill(NrPortfwd *f, struct pollfd *pfd, int first, int max);
void       nr_portfwd_dispatch(NrPortfwd *f, struct pollfd *pfd);
/* PID 1's answer: NR_SYNC_CONNECTED with the socket (or without: refused) */
void       nr_portfwd_connected(NrPortfwd *f, const NrSyncMsg *msg);
/* "cannot publish port 'SPEC': ..." for a bind that failed with errnum */
int        nr_port_error(const struct NrPort *p, int errnum, NrError *err);
