/* SPDX-License-Identifier: Apache-2.0 */
/* nr-payload.h — the container's command (inside/payload.c): what PID 1
 * forks and `nroot exec` runs. */
#pragma once
#include <stdbool.h>
#include "nr-error.h"
#include "nr-plan.h"

/* the command, in the container: stdio (the terminal `slave` with
 * -t), user, environment, capabilities, seccomp, exec.  The container's
 * first command (`first`: PID 1's, not exec's) runs the startContainer
 * hooks of its devices just before its exec.  Returns only on failure. */
int nr_payload_exec(const NrRunConfig *cfg, int slave, bool first, NrError *err);
/* --tcp-bypass: PID 1's child keeps the sync socket `fd` for the filter's
 * listener, and closes it before the exec */
void nr_payload_bypass_sock(int fd);
/* the command's PATH in the container (execvp searches it) */
const char *nr_payload_path(const NrRunConfig *cfg);
/* the payload was started by aside.c's thread (no parent-death signal),
 * under the filters and with the signals it read as `done` says, with
 * the bounding set the plan asks for when `bounded`; before its exec it
 * waits for PID 1's word on `go` (an eventfd; -1: none) */
struct NrAsideDone;
void nr_payload_aside(const struct NrAsideDone *done, bool bounded, int go);
/* whether the command starts as uid 0 whatever the image's /etc/passwd
 * says (no -u: the mapping's user; or a numeric 0), in a mapping of that
 * one id (uid and gid 0, the single rung): the payload's setgroups,
 * setresgid, setresuid and fchown of its terminal then change nothing,
 * so the root emulation filter, which fakes them, may be loaded before
 * them (aside.c) */
bool nr_payload_root_alone(const NrRunConfig *cfg);
/* execvp(argv) with the environment set; returns only on failure: 127 where
 * the command is not found, 126 where it cannot run, as docker and runc */
int nr_payload_execvp(char **argv, NrError *err);
/* -t: a pseudo-terminal of the container's devpts; the master goes
 * over `sock` (NR_SYNC_PTY) to the nroot that relays it, the slave is
 * returned */
int nr_payload_open_pty(int sock, NrError *err);
