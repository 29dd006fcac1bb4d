/* SPDX-License-Identifier: Apache-2.0 */
/* spec.c — an OCI bundle read for the launcher: nroot-unpack --oci-spec
 * parses and checks its config.json (the launcher links no JSON parser)
 * and compiles its seccomp object; this file runs it as seccomp/filter.c
 * runs --seccomp-compile (records on fd 3, the sync socket on fd 4, the
 * program on fd 5) and reads what it wrote (records.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-caps.h"
#include "nr-filter.h"
#include "nr-oci.h"
#include "nr-util.h"

/* the records of a config.json of at most 4 MiB, escapes and all */
#define RECORDS_MAX (64u << 20)

bool nr_oci_is_bundle(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return false;
    nr_autofree char *config = nr_strdup_printf("%s/config.json", path);
    return stat(config, &st) == 0 && S_ISREG(st.st_mode);
}

int nr_oci_load(const char *dir, NrOciSpec **ret_spec, NrError *err)
{
    *ret_spec = NULL;
    /* nroot-ocispec (the same code, fewer libraries: half the start-up),
     * unless $NROOT_UNPACK names the helper or it is not installed */
    const char *env = getenv("NROOT_UNPACK");
    nr_autofree char *helper =
        env && *env ? NULL : nr_helper_path("nroot-ocispec", "NROOT_OCISPEC");
    if (!helper || access(helper, X_OK) != 0) {
        free(helper);
        helper = nr_helper_path("nroot-unpack", "NROOT_UNPACK");
    }
    nr_autoclose int records = memfd_create("nroot-oci-records", MFD_CLOEXEC);
    nr_autoclose int program = memfd_create("nroot-oci-seccomp", MFD_CLOEXEC);
    if (records < 0 || program < 0)
        return nr_error_errno(err, "memfd_create");
    /* seccomp rules' capability conditions: the launcher's default set
     * unless the spec has a bounding set (the helper knows) */
    char capsarg[32];
    snprintf(capsarg, sizeof capsarg, "--caps=%llx", (unsigned long long)nr_caps_default());
    char *argv[] = { "nroot-unpack", "--oci-spec", capsarg, (char *)dir, NULL };
    int status = 0;
    char result[1024];
    if (nr_seccomp_run_helper(helper, argv, records, program, "the OCI bundle", &status, result,
                              err) < 0)
        return -1;
    if (status != 0 || strcmp(result, "ok") != 0)
        return nr_error_msg(err, "bundle '%s': nroot-unpack --oci-spec failed (status %d)", dir,
                            status);
    size_t len = 0;
    nr_autofree char *text = NULL;
    if (lseek(records, 0, SEEK_SET) < 0 ||
        !(text = nr_read_fd(records, "the OCI records", RECORDS_MAX, &len, err)))
        return -1;
    NrOciSpec *spec = nr_xmalloc(sizeof *spec);
    if (nr_oci_parse_records(text, len, spec, err) < 0) {
        free(spec);
        return -1;
    }
    if (spec->has_seccomp && !(spec->seccomp = nr_bpf_read_fd(program, spec->seccomp_flags, err))) {
        nr_oci_free(spec);
        return -1;
    }
    *ret_spec = spec;
    return 0;
}
