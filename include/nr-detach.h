/* SPDX-License-Identifier: Apache-2.0 */
/* nr-detach.h — `run -d`: the container's nroot goes on in a session of
 * its own, its output in the log; the nroot in the foreground waits until
 * the command started or failed (host/detach.c). */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"

/* fork: the foreground nroot prints the name or id (or the error) and
 * exits; the one that returns has `log_dir`/log as stdout and stderr */
int nr_detach(NrRunConfig *cfg, const char *log_dir, NrError *err);
/* print e (code 0: nothing); with -d, also tell the foreground nroot,
 * once: code 0 says the command started, else it prints e too */
void nr_detach_report(const NrError *e);
