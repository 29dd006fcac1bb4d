/* SPDX-License-Identifier: Apache-2.0 */
/* spec.c — an OCI bundle read for the launcher: nroot-unpack --oci-spec
 * parses and checks its config.json (the launcher links no JSON parser)
 * and compiles its seccomp object; this file runs it as seccomp/filter.c
 * runs --seccomp-compile (records on fd 3, the sync socket on fd 4, the
 * program on fd 5) and reads what it wrote (records.c). */
#include <errno.h>
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

/* DIR/NAME, a regular file of ours (no symlink followed) */
static int open_saved(const char *dir, const char *name, NrError *err)
{
    nr_autofree char *path = nr_strdup_printf("%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        if (errno == ENOENT)
            nr_error_msg(err, "'%s' is missing: the spec saved at create is needed", path);
        else
            nr_error_errno(err, "cannot read '%s'", path);
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return nr_error_msg(err, "'%s' is not a file nroot saved", path);
    }
    return fd;
}

/* the helper's output, the records (text, taken) and the program (the
 * fd `program`, else the file `dir`/seccomp; read when the records name
 * one), into *ret_spec; both kept as they were for nr_oci_save */
static int from_output(char *text, size_t len, int program, const char *dir, NrOciSpec **ret_spec,
                       NrError *err)
{
    NrOciSpec *spec = nr_xmalloc(sizeof *spec);
    if (nr_oci_parse_records(text, len, spec, err) < 0) {
        free(spec);
        free(text);
        return -1;
    }
    spec->saved_records = text;
    spec->saved_records_len = len;
    if (spec->has_seccomp) {
        nr_autoclose int own = program < 0 ? open_saved(dir, "seccomp", err) : -1;
        int fd = program >= 0 ? program : own;
        size_t n = 0;
        if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
            !(spec->saved_program = nr_read_fd(fd, "the seccomp program", 1u << 20, &n, err)) ||
            !(spec->seccomp = nr_bpf_read_fd(fd, spec->seccomp_flags, err))) {
            nr_oci_free(spec);
            return -1;
        }
        spec->saved_program_len = n;
    }
    *ret_spec = spec;
    return 0;
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
    char *text = NULL;
    if (lseek(records, 0, SEEK_SET) < 0 ||
        !(text = nr_read_fd(records, "the OCI records", RECORDS_MAX, &len, err)))
        return -1;
    return from_output(text, len, program, NULL, ret_spec, err);
}

/* ---- the spec of `nroot oci create`, kept for exec ---- */

static int save_one(const char *dir, const char *name, const char *data, size_t len, NrError *err)
{
    nr_autofree char *path = nr_strdup_printf("%s/%s", dir, name);
    nr_autofree char *tmp = nr_strdup_printf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot write '%s'", tmp);
    int w = nr_write_all(fd, data, len), e = errno;
    if (close(fd) < 0 && w == 0)
        w = -1, e = errno;
    if (w < 0) {
        unlink(tmp);
        errno = e;
        return nr_error_errno(err, "cannot write '%s'", tmp);
    }
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return nr_error_errno(err, "cannot write '%s'", path);
    }
    return 0;
}

int nr_oci_save(const NrOciSpec *spec, const char *dir, NrError *err)
{
    if (!spec->saved_records)
        return nr_error_msg(err, "the OCI spec to keep in '%s' was not read by nroot", dir);
    if (spec->saved_program &&
        save_one(dir, "seccomp", spec->saved_program, spec->saved_program_len, err) < 0)
        return -1;
    return save_one(dir, "spec", spec->saved_records, spec->saved_records_len, err);
}

int nr_oci_load_saved(const char *dir, NrOciSpec **ret_spec, NrError *err)
{
    *ret_spec = NULL;
    nr_autoclose int fd = open_saved(dir, "spec", err);
    if (fd < 0)
        return -1;
    size_t len = 0;
    char *text = nr_read_fd(fd, "the saved OCI spec", RECORDS_MAX, &len, err);
    if (!text)
        return -1;
    return from_output(text, len, -1, dir, ret_spec, err);
}
