/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/rootfs.c — src/inside/rootfs.c: escaping the overlay mount's
 * option values. */
#include <limits.h>

#include "nr-rootfs.h"
#include "unit.h"

static void escape_is(const char *in, const char *want)
{
    char out[PATH_MAX * 2];
    memset(out, 'x', sizeof out);
    nr_rootfs_ovl_escape(in, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_escape(void **state)
{
    escape_is("", "");
    escape_is("/plain/path", "/plain/path");
    /* the separators of lowerdir=A:B,upperdir=... and the escape itself */
    escape_is("/a,upperdir=/etc", "/a\\,upperdir=/etc");
    escape_is("/a:/b", "/a\\:/b");
    escape_is("\\", "\\\\");
    escape_is(",:\\", "\\,\\:\\\\");
    escape_is("/x\\,y", "/x\\\\\\,y");
    /* what overlayfs does not split on stays as it is */
    escape_is("/sp ace/ta\tb/nl\n/=/ü/..", "/sp ace/ta\tb/nl\n/=/ü/..");
}

/* a value cut to fit: NUL-terminated, never half an escape, never longer */
static void test_escape_fits(void **state)
{
    char out[16];
    for (size_t size = 1; size <= sizeof out; size++) {
        memset(out, 'x', sizeof out);
        nr_rootfs_ovl_escape(",,,,,,,,,,,,,,,,,,,,", out, size);
        size_t n = strlen(out);
        assert_true(n < size);
        assert_int_equal(n % 2, 0); /* whole "\," pairs only */
        for (size_t i = 0; i < n; i += 2)
            assert_memory_equal(out + i, "\\,", 2);
        if (size < sizeof out)
            assert_int_equal(out[size], 'x'); /* nothing written beyond */
    }
    memset(out, 'x', sizeof out);
    nr_rootfs_ovl_escape("abcdefghijklmnopqrstuvwxyz", out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_memory_equal(out, "abcdefghijklmn", strlen(out));

    /* the longest path nroot gives it: PATH_MAX of escapes fits its buffer */
    char in[PATH_MAX], big[PATH_MAX * 2];
    memset(in, ':', sizeof in - 1);
    in[sizeof in - 1] = '\0';
    nr_rootfs_ovl_escape(in, big, sizeof big);
    assert_int_equal(strlen(big), 2 * (sizeof in - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_fits),
    };
    return cmocka_run_group_tests_name("rootfs", tests, NULL, NULL);
}
