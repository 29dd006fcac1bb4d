/* SPDX-License-Identifier: Apache-2.0 */
/* nr-pty.h — `run -t`: the parent's side of the container's terminal, a
 * pseudo-terminal from the container's own devpts whose master PID 1 sends
 * over the sync socket (pty.c). */
#pragma once
#include <poll.h>
#include <stdbool.h>

#include "nr-error.h"

typedef struct NrPty NrPty;

/* take the master; with `interactive` and a terminal on stdin, the host
 * terminal goes to raw mode (restored by nr_pty_free and at exit) */
NrPty *nr_pty_new(int master, bool interactive);
/* the container ended: copy what it still wrote, restore the terminal */
void nr_pty_free(NrPty *p);
int nr_pty_fill(NrPty *p, struct pollfd *pfd, int first, int max);
void nr_pty_dispatch(NrPty *p, const struct pollfd *pfd);
/* SIGWINCH: the host terminal's size, for the container's */
void nr_pty_resize(NrPty *p);
/* SIGTSTP: the host terminal's own mode back, stop, and on SIGCONT raw
 * mode again (a job-control stop of nroot, as for any command) */
void nr_pty_stop(NrPty *p);

/* Without -t: the container's stdin, stdout and stderr are pipes that
 * nroot copies from its own stdin and to its own stdout and stderr, so
 * the caller's files (a terminal) never enter the container.  `in` is the
 * write end of the container's stdin (-1: none), `out` and `err` the read
 * ends of its stdout and stderr (-1: passed as they are); all are taken. */
typedef struct NrRelay NrRelay;
/* for each of nroot's fds 0-2 with take[fd]: the container's end in
 * child[fd] (else -1), a pipe that the relay *ret copies (stdin only with
 * `input`), or /dev/null (with `pty`, whose relay carries the command's
 * stdio, and stdin without `input`); *ret is NULL when nothing is piped.
 * nroot closes child[] once the container has them. */
int nr_relay_plan(const bool take[3], bool pty, bool input, int child[3], NrRelay **ret,
                  NrError *err);
NrRelay *nr_relay_new(int in, int out, int err);
int nr_relay_fill(NrRelay *r, struct pollfd *pfd, int first, int max);
void nr_relay_dispatch(NrRelay *r, const struct pollfd *pfd);
/* the command ended: stop reading stdin (EOF in the container), copy
 * what the pipes still hold, close them */
void nr_relay_free(NrRelay *r);
