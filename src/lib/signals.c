/* SPDX-License-Identifier: Apache-2.0 */
/* signals.c — the one table of forwarded signals (nr-signals.h). */
#include <signal.h>

#include "nr-signals.h"

#define BOTH (NR_SIG_BY_NROOT | NR_SIG_BY_INIT)

static const struct {
    int sig;
    unsigned by;
} forwarded[] = {
    { SIGINT, BOTH },
    { SIGTERM, BOTH },
    { SIGHUP, BOTH },
    { SIGQUIT, BOTH },
    { SIGUSR1, BOTH },
    { SIGUSR2, BOTH },
    { SIGWINCH, BOTH }, /* -t: nroot resizes the terminal instead, once it has it */
    /* PID 1 only, for what is sent to it inside (kill -ALRM 1): nroot
     * keeps SIGALRM's default action, ignores SIGPIPE (its own writes to
     * a closed peer) and is continued by SIGCONT itself (with -t it then
     * puts the terminal back in raw mode) */
    { SIGCONT, NR_SIG_BY_INIT },
    { SIGALRM, NR_SIG_BY_INIT },
    { SIGPIPE, NR_SIG_BY_INIT },
};

void nr_signals_forwarded(sigset_t *set, unsigned by)
{
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        if (forwarded[i].by & by)
            sigaddset(set, forwarded[i].sig);
}
