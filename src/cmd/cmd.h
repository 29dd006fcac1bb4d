/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.h — what the container commands (ctr.c, exec.c, export.c, network.c) share;
 * private to src/cmd. */
#pragma once
#include "nr-cli.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-plan.h"

/* parse a container command's options and check the count of operands
 * (max < 0: any); 1: --help was shown */
int nr_ctr_args_parse(const char *cmd, int argc, char **argv, NrCtrArgs *a, int min_operands,
                      int max_operands, NrError *err);
/* print the error; the exit code it carries (125 if none) */
int nr_cmd_fail(const NrError *err);
/* the container's name, or its id when it has none */
const char *nr_ctr_display_name(const NrCtr *c);
/* the container's run plan, from the options its config keeps (start,
 * exec, export); the image as its key, not resolved */
int nr_cmd_ctr_plan(const NrCtr *c, NrRunConfig *cfg, NrError *err);
/* the same with its mapping planned (no notice) and its image resolved
 * (exec, export); not its devices: exec and --join add their environment
 * (nr_cdi_resolve_command), export needs none */
int nr_cmd_ctr_resolved(const NrCtr *c, NrRunConfig *cfg, NrError *err);
/* stop a running container: SIGTERM (unless grace < 0: SIGKILL at once),
 * SIGKILL after `grace` seconds; returns when its nroot has ended
 * (network.c's rm -f too) */
int nr_cmd_ctr_stop(const NrCtr *c, int grace, NrError *err);

/* exec.c: run cfg's command in the running container c (its namespaces
 * and root, as `nroot exec` does), relay its stdio and wait for it; its
 * exit status (errors printed) */
int nr_cmd_exec_in(NrCtr *c, NrRunConfig *cfg);
/* the same; started(data, pid) once the command's host pid is known */
int nr_cmd_exec_in_cb(NrCtr *c, NrRunConfig *cfg, void (*started)(void *, pid_t), void *data);
/* oci.c: an OCI container's command was executed, or (`nroot oci
 * create`) its PID 1 waits at the start gate: its state recorded (with
 * ns_fd, the namespaces' fds this nroot holds, for exec); true when the
 * run is an `nroot oci` one */
bool nr_cmd_oci_started(const NrRunConfig *cfg, pid_t init_pid, const int ns_fd[NR_NS_SLOTS]);

/* netctr.c: --net=container:NAME (the file's comment tells the steps) */
typedef struct NrNetPeer {
    int user, net;  /* NAME's user and network namespaces, until entered */
    int watch;      /* a pidfd of NAME's nroot: readable once it ended; -1 */
    pid_t init_pid; /* NAME's PID 1 */
    char name[129];
} NrNetPeer;
/* NAME running, its namespaces opened; cfg->net_shared set, and
 * cfg->userns NAME's unless given (before the mapping is planned) */
int nr_netctr_open(NrRunConfig *cfg, NrNetPeer *ret, NrError *err);
/* NAME's map covers cfg's (planned), else 125 */
int nr_netctr_check_map(const NrRunConfig *cfg, const NrNetPeer *p, NrError *err);
/* right before the clone: nroot enters NAME's user and network namespaces */
int nr_netctr_enter(NrNetPeer *p, NrError *err);
/* NAME's nroot ended (p->watch readable): the notice, once */
void nr_netctr_ended(NrNetPeer *p);
void nr_netctr_close(NrNetPeer *p);
