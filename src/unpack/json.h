/* SPDX-License-Identifier: Apache-2.0 */
/* json.h — bounded JSON parsing and typed members (json.c), each parsed
 * from a buffer (so a fuzzing harness can call the readers above it). */
#pragma once
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "nr-error.h"

#define NR_JSON_MAX_SIZE (4u << 20) /* manifest, index, config: as containers/image */
#define NR_JSON_MAX_DEPTH 64        /* json-glib recurses: a deep document overflows */

/* nested deeper than `max` arrays and objects (outside strings)? */
bool nr_json_too_deep(const char *buf, size_t len, int max);
/* size and depth checked, then parsed; `what` and `name` for messages */
JsonNode *nr_json_parse(const char *buf, size_t len, const char *what, const char *name,
                        NrError *err);
/* member `member` of `o` (which may be NULL) if it is of the type; else NULL */
const char *nr_json_get_string(JsonObject *o, const char *member);
JsonObject *nr_json_get_object(JsonObject *o, const char *member);
JsonArray *nr_json_get_array(JsonObject *o, const char *member);
