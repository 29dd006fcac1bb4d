/* SPDX-License-Identifier: Apache-2.0 */
/* unit.h — what every unit test (tests/unit/NAME.c, cmocka) shares. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-error.h"

/* a failure of nroot's own: -1, exit code 125, `part` in the message */
#define assert_nr_error(rc, err, part) \
    do { \
        assert_int_equal((rc), -1); \
        assert_int_equal((err).code, NR_EXIT_FAILURE); \
        if (!strstr((err).msg, (part))) \
            fail_msg("error message \"%s\" lacks \"%s\"", (err).msg, (part)); \
    } while (0)

/* success, with the message of the error if not */
#define assert_nr_ok(rc, err) \
    do { \
        if ((rc) != 0) \
            fail_msg("unexpected failure (%d): %s", (rc), (err).msg); \
    } while (0)

static inline int unit_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

static char unit_tmp[64];

static inline void unit_tmp_remove(void)
{
    if (unit_tmp[0])
        nftw(unit_tmp, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* a scratch directory of the test program's own, removed at its exit */
static inline const char *unit_tmpdir(void)
{
    if (!unit_tmp[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(unit_tmp, sizeof unit_tmp, "%s/nroot-unit.XXXXXX",
                 t && *t && strlen(t) < 32 ? t : "/tmp");
        if (!mkdtemp(unit_tmp)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(unit_tmp_remove);
    }
    return unit_tmp;
}

/* unit_path("x"): "<tmpdir>/x", in a static buffer */
static inline const char *unit_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", unit_tmpdir(), name);
    return buf;
}

/* write `len` bytes of `data` to the scratch file `name`; its path */
static inline const char *unit_file(const char *name, const char *data, size_t len)
{
    const char *p = unit_path(name);
    FILE *f = fopen(p, "we");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fail_msg("cannot write %s", p);
    return p;
}
