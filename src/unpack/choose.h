/* SPDX-License-Identifier: Apache-2.0 */
/* choose.h — choosing one image of several (choose.c). */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

#include "nr-error.h"

typedef struct NrCandidate {
    GPtrArray *names; /* references naming it */
    JsonObject *obj;  /* docker: manifest.json entry; OCI: descriptor */
    char *platform;   /* "os/arch" or NULL */
} NrCandidate;
/* a GDestroyNotify for a GPtrArray of candidates */
void nr_candidate_free(gpointer p);
/* the candidate `ref` names (NULL: the only one, or this machine's platform's);
 * NULL and an error listing them if none or several */
NrCandidate *nr_choose_image(GPtrArray *cands, const char *ref, const char *what, NrError *err);
