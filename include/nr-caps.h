/* SPDX-License-Identifier: Apache-2.0 */
/* nr-caps.h — capability sets: parsing names (cli), the default set, and
 * dropping to them in the container (inside/caps.c). */
#pragma once
#include <stdint.h>

#include "nr-error.h"

uint64_t nr_caps_default(void);
int nr_caps_parse(const char *name, uint64_t *ret_mask, NrError *err);
/* "CHOWN" for 0, ...: malloc()ed, NULL if unknown */
char *nr_caps_name(int cap);
/* drop everything outside `caps` from the bounding set (before setuid) */
int nr_caps_bound(uint64_t caps, NrError *err);
/* permitted = effective = caps, inheritable and ambient empty (after setuid) */
int nr_caps_set(uint64_t caps, NrError *err);
