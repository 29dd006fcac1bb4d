/* SPDX-License-Identifier: Apache-2.0 */
/* nr-init.h — PID 1 of the container (inside/init.c) and its port-connect
 * service (inside/connect.c). */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"

/* init.c: PID 1 of the container; never returns */
__attribute__((noreturn)) void nr_init_main(const NrRunConfig *cfg, int sync_fd);
/* `nroot oci create`: fd (O_PATH) of the exec.fifo; PID 1 says
 * NR_SYNC_STARTED once it waits there, drops its sync socket (nroot
 * leaves), and forks the command once `nroot oci start` opened the fifo */
void nr_init_gate(int fd);
/* connect.c: answer one request of the parent on sync_fd (NR_SYNC_CONNECT,
 * NR_SYNC_CONNECT_UDP) with a socket connected to the container's port */
void nr_connect_serve(int sync_fd);
