// SPDX-License-Identifier: Apache-2.0
// nroot-spank-exec: what slurmstepd execs for a task of spank_nroot.so
// (src/slurm/spank_nroot.c says why).  argv is the task's, argv[0] replaced
// by this program; NROOT_SPANK_ARGV holds nroot's command line, each
// argument as LEN:BYTES, the task's own argv[0] last.  Exec nroot with the
// task's other arguments after it; NROOT_SPANK_ERROR instead: print it (if
// not empty) and end with 125, nroot's status for a failure of its own.

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what, const char *detail)
{
    const char *node = getenv("SLURMD_NODENAME");

    fprintf(stderr, "nroot: error: %s%s%s: %s\n", node ? node : "", node ? ": " : "", what, detail);
    return 125;
}

// the items of enc (LEN:BYTES...) into out; their count, -1 when malformed
static int decode(const char *enc, char **out, int max)
{
    int n = 0;

    while (*enc) {
        char *end;
        unsigned long len;

        errno = 0;
        len = strtoul(enc, &end, 10);
        if (errno || end == enc || *end != ':' || strnlen(end + 1, len) < len || n == max)
            return -1;
        if (!(out[n++] = strndup(end + 1, len)))
            return -1;
        enc = end + 1 + len;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *err = getenv("NROOT_SPANK_ERROR");
    const char *tmp = getenv("TMPDIR");
    char *enc = getenv("NROOT_SPANK_ARGV");
    char *tmpvol = NULL;
    char **args, **dec;
    int n, max, a = 0;
    struct stat sb;

    if (err) {
        if (*err)
            fprintf(stderr, "%s\n", err);
        return 125;
    }
    if (!enc)
        return fail("nroot-spank-exec", "NROOT_SPANK_ARGV is not set: spank_nroot.so starts "
                                        "this program");
    max = (int)strlen(enc) / 2 + 1;
    dec = calloc((size_t)max, sizeof(*dec));
    args = calloc((size_t)max + (size_t)argc + 3, sizeof(*args));
    if (!dec || !args)
        return fail("nroot-spank-exec", strerror(ENOMEM));
    n = decode(enc, dec, max);
    if (n < 4)
        return fail("nroot-spank-exec", "NROOT_SPANK_ARGV is malformed");
    unsetenv("NROOT_SPANK_ARGV");

    args[a++] = dec[0];   // nroot
    args[a++] = dec[1];   // run
    // slurmstepd made TMPDIR after task_init (TaskProlog may set it): a
    // directory of the host other than /tmp is bound where it is (not one
    // with a ':', which -v cannot say: the task would fail)
    if (tmp && tmp[0] == '/' && strcmp(tmp, "/tmp") != 0 && !strchr(tmp, ':') &&
        stat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode) && asprintf(&tmpvol, "%s:%s", tmp, tmp) > 0) {
        args[a++] = "-v";
        args[a++] = tmpvol;
    }
    for (int i = 2; i < n; i++)
        args[a++] = dec[i];
    for (int i = 1; i < argc; i++)
        args[a++] = argv[i];
    args[a] = NULL;
    execv(args[0], args);
    return fail(args[0], strerror(errno));
}
