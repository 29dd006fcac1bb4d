/* SPDX-License-Identifier: Apache-2.0 */
/* nr-supervise.h — the parent while a container's process runs: the one
 * loop of `run` (and so `start`) and `exec` (host/supervise.c).  It
 * forwards signals, answers the sync messages, drives the network, the
 * published ports, the terminal and the stdio relay, and ends with the
 * process.  It knows nothing of the container's records: what `run` keeps
 * comes back through the callbacks. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-plan.h"
#include "nr-portfwd.h"
#include "nr-pty.h"

struct NrRunConfig;

typedef struct NrSupervise {
    const struct NrRunConfig *cfg; /* -t, -i; run: the network's and the overlay's */
    int sync_fd;  /* run: PID 1's sync socket; exec: the joiner's (not closed here) */
    pid_t pid;    /* run: PID 1; exec: 0, the command's comes as NR_SYNC_PID */
    pid_t joiner; /* exec: the joiner, reaped here; run: 0 */
    /* exec: the command's failure before its exec, EOF once it ran (taken); run: -1 */
    int err_fd;
    NrRelay *relay;   /* stdio pipes (taken; NULL: none) */
    NrPortfwd *ports; /* run: published ports (taken; NULL: none) */
    /* run: NR_SYNC_STARTED, the command was executed; exec: NR_SYNC_PID,
     * the command's host pid, before it is let go */
    void (*started)(void *data, pid_t pid);
    /* PID 1 sent the command's status and is ending (its namespaces are
     * torn down, ~0.4 ms): called before it is reaped, with that status;
     * what needs no dead container can be done meanwhile (NULL: nothing) */
    void (*ended)(void *data, int status);
    /* run: NR_SYNC_OVERLAY, the overlay that mounted a named container's layer */
    void (*overlay)(void *data, NrOverlayMode kind);
    /* run: NR_SYNC_NS, the fd of namespace `slot`; true when it took fd */
    bool (*keep_ns)(void *data, int slot, int fd);
    /* run --join: after the command's end, called every pass (at least
     * every 100 ms): true while the container must stay for others; once
     * false PID 1 is killed, and the status is the command's.  `hurry`: a
     * signal came for the command that ended (stop waiting for more) */
    bool (*linger)(void *data, bool hurry);
    /* run --net=NAME: NR_SYNC_NETNS (#3n), the container's network
     * namespace (fd, not taken) onto the user networks; 0 with the text for
     * the child's GO in ret_info, or -1 (the container is given up) */
    int (*netns)(void *data, int fd, char *ret_info, size_t size, NrError *err);
    /* an fd watched while the container runs (--net=NAME: the holder's
     * connection; --net=container:NAME: a pidfd of NAME's nroot) (-1: none; 0 is stdin, so a
     * caller without one must say -1): readable or hung up, `watch` is
     * called once and the fd is no longer watched */
    int watch_fd;
    void (*watch)(void *data);
    void *data;
} NrSupervise;

/* before the spawn or fork: the forwarded signals, SIGCHLD and with -t
 * SIGTSTP and SIGCONT are taken by the loop from here on; the child
 * inherits the mask (PID 1 waits for the same set) */
void nr_supervise_block(bool pty);

/* Wait for s's process to end, then stop the overlay's daemon, give the
 * host terminal back and free the relay, the network and the ports, in
 * that order.  *ret_status is the process's exit status, or when it has
 * none (it never ran, it was killed before it reported one) the code of
 * the failure; -1 when the container or the command reported a failure,
 * or nroot could not wait (then PID 1 is killed and nothing is freed). */
int nr_supervise_wait(const NrSupervise *s, int *ret_status, NrError *err);
