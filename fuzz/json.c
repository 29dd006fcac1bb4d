/* SPDX-License-Identifier: Apache-2.0 */
/* json.c — the JSON documents of an image, from a buffer, as nroot-unpack
 * reads them (src/unpack/docker.c, oci.c, config.c): each input goes
 * through all four readers, without and with an --image-ref:
 *   nr_docker_manifest   a docker-archive's manifest.json
 *   nr_oci_index         an OCI layout's index.json (nested: refused)
 *   nr_oci_manifest      an OCI image manifest
 *   nr_config_parse      an image config, written as nroot's config
 * A config that is accepted must come out as lines of known keys: a value
 * can never start a line of its own (that would inject Env, User, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nr-error.h"
#include "unpack/config.h"
#include "unpack/docker.h"
#include "unpack/oci.h"

const bool nr_fuzz_sandboxed = false;

void nr_fuzz_init(void)
{
    nr_quiet = true; /* the architecture warning */
}

static void check_config(const GString *out)
{
    static const char *const keys[] = { "format=",     "ref=", "tag=",     "env=",
                                        "entrypoint=", "cmd=", "workdir=", "user=" };
    const char *p = out->str;
    while (*p) {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof *keys && !known; i++)
            known = strncmp(p, keys[i], strlen(keys[i])) == 0;
        if (!known) {
            fprintf(stderr, "fuzz: json: the config written has a line of no known key: '%.40s'\n",
                    p);
            abort();
        }
        const char *nl = strchr(p, '\n');
        if (!nl) {
            fprintf(stderr, "fuzz: json: the config written does not end with a newline\n");
            abort();
        }
        p = nl + 1;
    }
}

void nr_fuzz_one(const uint8_t *data, size_t len)
{
    const char *buf = (const char *)data;
    static const char *const refs[] = { NULL, "busybox:latest" };
    for (int r = 0; r < 2; r++) {
        NrError err = { 0 };
        NrManifest m;
        nr_docker_manifest(buf, len, "fuzz", refs[r], &m, &err);
        nr_manifest_clear(&m);
        nr_oci_index(buf, len, "fuzz", refs[r], &err);
    }
    NrError err = { 0 };
    NrManifest m;
    nr_oci_manifest(buf, len, "fuzz", &m, &err);
    nr_manifest_clear(&m);
    GPtrArray *tags = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(tags, g_strdup("busybox:latest"));
    GPtrArray *diffs = g_ptr_array_new_with_free_func(g_free);
    GString *out = g_string_new(NULL);
    if (nr_config_parse(buf, len, "fuzz", "config", "docker-archive", "busybox:latest", tags, out,
                        diffs, &err) == 0)
        check_config(out);
    g_string_free(out, TRUE);
    g_ptr_array_unref(diffs);
    g_ptr_array_unref(tags);
}
