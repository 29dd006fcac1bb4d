/* nr-pty.h — `run -t`: the parent's side of the container's terminal, a
 * pseudo-terminal from the container's own devpts whose master PID 1 sends
 * over the sync socket (pty.c). */
#pragma once
#include <poll.h>
#include <stdbool.h>

typedef struct NrPty NrPty;

/* take the master; with `interactive` and a terminal on stdin, the host
 * terminal goes to raw mode (restored by nr_pty_free and at exit) */
NrPty *nr_pty_new(int master, bool interactive);
/* the container ended: copy what it still wrote, restore the terminal */
void   nr_pty_free(NrPty *p);
int    nr_pty_fill(NrPty *p, struct pollfd *pfd, int first, int max);
void   nr_pty_dispatch(NrPty *p, const struct pollfd *pfd);
/* SIGWINCH: the host terminal's size, for the container's */
void   nr_pty_resize(NrPty *p);
/* SIGTSTP: the host terminal's own mode back, stop, and on SIGCONT raw
 * mode again (a job-control stop of nroot, as for any command) */
void   nr_pty_stop(NrPty *p);
