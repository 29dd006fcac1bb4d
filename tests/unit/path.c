/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/path.c — nroot-unpack's path normalisation (src/unpack): the
 * names of tar entries made relative to the image's root, '..' refused. */
#include "unpack/path.h"
#include "unit.h"

static void norm_is(const char *in, const char *want)
{
    char out[64];
    memset(out, 'x', sizeof out);
    if (!nr_path_normalize(in, out, sizeof out))
        fail_msg("'%s' refused", in);
    assert_string_equal(out, want);
}

static void norm_refused(const char *in, size_t size)
{
    char out[64];
    assert_true(size <= sizeof out);
    if (nr_path_normalize(in, out, size))
        fail_msg("'%s' accepted as '%s' (size %zu)", in, out, size);
}

static void test_normalize(void **state)
{
    norm_is("", "/");
    norm_is("/", "/");
    norm_is(".", "/");
    norm_is("./", "/");
    norm_is("./././/", "/");
    norm_is("a", "/a");
    norm_is("./a//b/", "/a/b");
    norm_is("/a/./b/.", "/a/b");
    norm_is("a/.../b", "/a/.../b"); /* "..." is a name */
    norm_is("..a/b..", "/..a/b..");
    norm_is(".hidden/.wh..wh..opq", "/.hidden/.wh..wh..opq");
    norm_is("sp ace/\x1b[1m/ü", "/sp ace/\x1b[1m/ü");
}

static void test_normalize_hostile(void **state)
{
    static const char *const dotdot[] = { "..",   "../",  "/..",      "../etc/passwd", "a/../../b",
                                          "a/..", "./..", "a//..//b", "a/./../b" };
    for (size_t i = 0; i < sizeof dotdot / sizeof dotdot[0]; i++)
        norm_refused(dotdot[i], 64);
    /* too long for the buffer: refused, never cut */
    norm_refused("abcdefgh", 8);
    norm_refused("a/b/c/d", 8); /* "/a/b/c/d" needs 9 */
    norm_is("a/b/c/", "/a/b/c");
    char out[9];
    assert_true(nr_path_normalize("a/b/c/d", out, sizeof out));
    assert_string_equal(out, "/a/b/c/d");
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    norm_refused(big, 64);
    for (size_t i = 1; i < sizeof big - 1; i += 2)
        big[i] = '/';
    norm_refused(big, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_normalize_hostile),
    };
    return cmocka_run_group_tests_name("unpack path", tests, NULL, NULL);
}
