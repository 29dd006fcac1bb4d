/* nr-net.h — the container's network, set up in the child (inside/net.c). */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"

/* loopback; with slirp, tap0 configured and its fd sent (#3) */
int  nr_net_setup(const NrRunConfig *cfg, int sync_fd, NrError *err);
