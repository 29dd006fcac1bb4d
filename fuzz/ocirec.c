/* SPDX-License-Identifier: Apache-2.0 */
/* ocirec.c — the records nroot-unpack --oci-spec writes for the launcher
 * (HACKING.md, "The OCI records"), read by nr_oci_parse_records (src/oci/records.c).  The
 * helper is of the same build, but the reader is strict anyway: an input
 * it accepts must give a spec whose promises hold (the lists never NULL,
 * the paths absolute, at least one argument), and one it refuses must
 * leave nothing behind. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "nr-oci.h"

const bool nr_fuzz_sandboxed = false;

void nr_fuzz_init(void) {}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz: ocirec: an accepted spec breaks a promise: %s\n", what);
        abort();
    }
}

void nr_fuzz_one(const uint8_t *data, size_t len)
{
    NrOciSpec s;
    NrError err = { 0 };
    if (nr_oci_parse_records((const char *)data, len, &s, &err) < 0) {
        check(!s.version && !s.args && !s.mounts && !s.warnings, "a refused spec holds data");
        return;
    }
    check(s.version && s.bundle && s.bundle[0] == '/' && s.root && s.root[0] == '/', "names");
    check(s.cwd && s.cwd[0] == '/' && s.args && s.args[0], "process");
    check(s.env && s.masked && s.readonly && s.sysctl && s.annotations && s.warnings, "lists");
    for (size_t i = 0; i < s.n_mounts; i++)
        check(s.mounts[i].dst[0] == '/' && s.mounts[i].options, "mounts");
    for (size_t i = 0; i < s.n_hooks; i++)
        check(s.hooks[i].path[0] == '/', "hooks");
    check(s.n_uid_map <= NR_MAX_RANGES && s.n_gid_map <= NR_MAX_RANGES, "id maps");
    nr_oci_clear(&s);
}
