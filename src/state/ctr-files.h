/* SPDX-License-Identifier: Apache-2.0 */
/* ctr-files.h — what ctr.c (finding, listing, removing containers) and
 * ctr-config.c (their records on disk) share; private to src/state. */
#pragma once
#include <stdbool.h>

#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-plan.h"

/* a container id: 12 lowercase hex digits */
bool nr_ctr_is_id(const char *s);
/* the config at path (any format) into c; a damaged one fails, naming it */
int nr_ctr_read_config(const char *path, NrCtr *c, NrError *err);
/* a key=value record (state, live state) at path into c */
int nr_ctr_read_kv(const char *path, NrCtr *c, NrError *err);
/* the overlay that made the layer of the container in store_dir (AUTO: none yet) */
NrOverlayMode nr_ctr_read_overlay(const char *store_dir);
/* free what a plan read from a config owns */
void nr_ctr_plan_free(NrRunConfig *p);
