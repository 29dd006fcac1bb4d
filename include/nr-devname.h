/* SPDX-License-Identifier: Apache-2.0 */
/* nr-devname.h — device names (lib/devname.c): CDI's qualified names and
 * the values of --device and --gpus, checked without reading a spec. */
#pragma once
#include <stdbool.h>

#include "nr-error.h"
#include "nr-util.h"

/* VENDOR/CLASS=NAME with valid parts */
bool nr_devname_valid(const char *qualified);
/* a spec's kind, VENDOR/CLASS */
bool nr_devname_kind_valid(const char *kind);
/* a device's NAME (letters, digits, '_', '-', '.', ':') */
bool nr_devname_name_valid(const char *name);
/* device node permissions: one or more of r, w, m */
bool nr_devname_perms_valid(const char *perms);

/* --device VALUE: VENDOR/CLASS=NAME, or HOST[:CTR][:PERMS] (a host device
 * node); checked for its syntax and added to `devices` */
int nr_devname_add_device(NrStrv *devices, const char *arg, NrError *err);
/* --gpus all|N|device=ID[,ID...] (docker's "quoted" form too):
 * nvidia.com/gpu=all, =0 .. =N-1, =ID */
int nr_devname_add_gpus(NrStrv *devices, const char *arg, NrError *err);
