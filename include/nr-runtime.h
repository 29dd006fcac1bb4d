/* SPDX-License-Identifier: Apache-2.0 */
/* nr-runtime.h — nroot's runtime directory (state/runtime.c): what lives
 * only while containers run. */
#pragma once
#include "nr-error.h"

/* RT, nroot's runtime directory: private to the user (a directory of
 * theirs that nobody else can write, never a symlink):
 * $XDG_RUNTIME_DIR/nroot when XDG_RUNTIME_DIR is such a directory, else
 * /run/user/UID/nroot when that is, else /tmp/nroot-UID, else (someone
 * else holds that name) a private /tmp/nroot-UID.XXXXXX that every nroot
 * of the user on this host finds through STORE/runtime-dir.HOST */
const char *nr_runtime_dir(NrError *err);
/* RT/name, created (0700) if missing; malloc()ed */
char *nr_runtime_subdir(const char *name, NrError *err);
