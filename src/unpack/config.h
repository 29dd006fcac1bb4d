/* SPDX-License-Identifier: Apache-2.0 */
/* config.h — the image config and nroot's config file (config.c). */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "blob.h"
#include "digest.h"
#include "job.h"
#include "nr-error.h"

/* an image config (a buffer): the key=value text of nroot's config file into
 * `out`, and its diff_ids (sha256 hex) into `diff_ids` */
int nr_config_parse(const char *buf, size_t len, const char *what, const char *name,
                    const char *format, const char *ref, GPtrArray *tags, GString *out,
                    GPtrArray *diff_ids, NrError *err);
/* the config blob `name` read (checked against `want` and `size`, see
 * nr_blob_read), the config file written, its diff_ids taken */
int nr_config_write(NrUnpackJob *job, NrSource *src, const char *name, const NrDigest *want,
                    int64_t size, GPtrArray *tags, GPtrArray *diff_ids, char ret_sha256[65],
                    NrError *err);
/* the config file of an image without a config: its format alone */
int nr_config_write_plain(NrUnpackJob *job, NrError *err);
/* this machine's architecture as images name it (amd64, arm64) */
const char *nr_config_host_arch(void);
