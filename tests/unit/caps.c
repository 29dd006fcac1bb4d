/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/caps.c — src/inside/caps.c: capability names (--cap-add,
 * --cap-drop, and the names a named container keeps). */
#include <linux/capability.h>

#include "nr-caps.h"
#include "unit.h"

static uint64_t parse_ok(const char *name)
{
    uint64_t m = 0;
    NrError err = { 0 };
    int rc = nr_caps_parse(name, &m, &err);
    if (rc != 0)
        fail_msg("capability '%s' refused: %s", name, err.msg);
    return m;
}

static void test_parse(void **state)
{
    assert_int_equal(parse_ok("CHOWN"), 1ULL << CAP_CHOWN);
    assert_int_equal(parse_ok("chown"), 1ULL << CAP_CHOWN);
    assert_int_equal(parse_ok("cap_chown"), 1ULL << CAP_CHOWN);
    assert_int_equal(parse_ok("CAP_CHOWN"), 1ULL << CAP_CHOWN);
    assert_int_equal(parse_ok("Net_Admin"), 1ULL << CAP_NET_ADMIN);
    assert_int_equal(parse_ok("SYS_ADMIN"), 1ULL << CAP_SYS_ADMIN);
    /* ALL: every capability the kernel knows, nothing above */
    uint64_t all = parse_ok("ALL");
    assert_int_equal(parse_ok("all"), all);
    assert_true(all & (1ULL << CAP_CHOWN));
    assert_true(all & (1ULL << CAP_SYS_ADMIN));
    assert_int_equal(all & (all + 1), 0); /* bits 0..N, contiguous */
    assert_false(all & (1ULL << 63));
}

static void test_parse_hostile(void **state)
{
    static const char *const bad[] = {
        "",         "cap_", "CAP_",   "FOO",  "CHOWNX", "CHOWN ", " CHOWN",        "CHOWN,KILL",
        "63",       "-1",   "cap_63", "all_", "ALLL",   "\x1b",   "cap_cap_chown", "CHOWN\n",
        "CHOWN=ep", "12",   "cap_12",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t m = 42;
        NrError err = { 0 };
        int rc = nr_caps_parse(bad[i], &m, &err);
        if (rc == 0)
            fail_msg("capability '%s' accepted as %#llx", bad[i], (unsigned long long)m);
        assert_nr_error(rc, err, "unknown capability");
        assert_int_equal(m, 42);
    }
    /* longer than the buffer: refused, not cut into a valid name */
    char big[300];
    memcpy(big, "cap_chown", 9);
    memset(big + 9, ' ', sizeof big - 10);
    big[sizeof big - 1] = '\0';
    uint64_t m = 0;
    NrError err = { 0 };
    assert_nr_error(nr_caps_parse(big + 4, &m, &err), err, "unknown capability");
    memset(big, 'A', sizeof big - 1);
    assert_nr_error(nr_caps_parse(big, &m, &err), err, "unknown capability");
}

static void test_names(void **state)
{
    char *n = nr_caps_name(CAP_CHOWN);
    assert_string_equal(n, "CHOWN");
    free(n);
    n = nr_caps_name(CAP_NET_BIND_SERVICE);
    assert_string_equal(n, "NET_BIND_SERVICE");
    free(n);
    /* every known capability: its name parses back to it */
    for (int c = 0; c <= CAP_LAST_CAP; c++) {
        n = nr_caps_name(c);
        assert_non_null(n);
        for (char *p = n; *p; p++)
            assert_false(*p >= 'a' && *p <= 'z');
        uint64_t m = 0;
        NrError err = { 0 };
        if (nr_caps_parse(n, &m, &err) == 0)
            assert_int_equal(m, 1ULL << c);
        else if (c <= CAP_AUDIT_READ) /* old ones libcap surely knows */
            fail_msg("the name '%s' of capability %d does not parse: %s", n, c, err.msg);
        free(n);
    }
}

static void test_default(void **state)
{
    uint64_t d = nr_caps_default();
    /* podman's default set, no more */
    assert_int_equal(__builtin_popcountll(d), 11);
    assert_true(d & (1ULL << CAP_CHOWN));
    assert_true(d & (1ULL << CAP_SETUID));
    assert_true(d & (1ULL << CAP_SYS_CHROOT));
    assert_false(d & (1ULL << CAP_SYS_ADMIN));
    assert_false(d & (1ULL << CAP_NET_RAW));
    assert_false(d & (1ULL << CAP_MKNOD));
    assert_false(d & (1ULL << CAP_AUDIT_WRITE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_default),
    };
    return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
