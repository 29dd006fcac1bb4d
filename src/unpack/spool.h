/* SPDX-License-Identifier: Apache-2.0 */
/* spool.h — an image archive's tar read once: indexed or spooled (spool.c). */
#pragma once
#include <archive.h>

#include "blob.h"
#include "nr-error.h"

/* index the uncompressed tar `src->fd`, to be read in place (src->tar) */
int nr_spool_index(NrSource *src, NrError *err);
/* copy the members of `a`, from its current entry `e` on, into the directory
 * "spool" of `meta_fd` (src->spool), each under its number */
int nr_spool_copy(NrSource *src, int meta_fd, struct archive *a, struct archive_entry *e,
                  NrError *err);
/* the index freed and the spool removed */
void nr_spool_clear(NrSource *src, int meta_fd);
