/* SPDX-License-Identifier: Apache-2.0 */
/* export.h — `nroot export` (export.c). */
#pragma once
#include "nr-error.h"

/* the tree in the working directory as a tarball on stdout, numeric owners
 * as the container sees them, mounted filesystems left out; `name` for
 * messages */
int nr_export_tree(const char *name, NrError *err);
