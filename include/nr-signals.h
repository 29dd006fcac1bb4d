/* SPDX-License-Identifier: Apache-2.0 */
/* nr-signals.h — the signals passed on to the container's command: nroot
 * forwards them to PID 1 or an exec'd command (host/supervise.c), PID 1 to
 * the payload (inside/init.c).  One table for both (lib/signals.c). */
#pragma once
#include <signal.h>

/* who forwards a signal */
enum {
    NR_SIG_BY_NROOT = 1, /* the parent on the host */
    NR_SIG_BY_INIT = 2,  /* PID 1 in the container */
};

/* add to set the signals that `by` forwards */
void nr_signals_forwarded(sigset_t *set, unsigned by);
