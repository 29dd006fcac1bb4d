/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/pullbar.c — src/state/pullbar.c: the lines of a pull's
 * per-layer progress, cut to the terminal's width and height. */
#include "state/pullbar.h"
#include "unit.h"

static NrPullbar *bar_of(size_t n)
{
    static NrPullbar b;
    nr_pullbar_init(&b, false); /* nothing drawn: only rendered here */
    for (size_t i = 0; i < n; i++) {
        char d[96]; /* %02zx of a size_t can take 16 digits */
        snprintf(d, sizeof d,
                 "sha256:%02zx23456789abcdef0123456789abcdef0123456789abcdef0123456789ab",
                 i & 0xff);
        nr_pullbar_layer(&b, d, 2900000);
    }
    return &b;
}

static void test_states(void **state)
{
    (void)state;
    NrPullbar *b = bar_of(4);
    nr_pullbar_progress(b, b->layers[0].digest, 1200000);
    nr_pullbar_present(b, b->layers[1].digest);
    nr_pullbar_done(b, b->layers[1].digest);
    nr_pullbar_done(b, b->layers[2].digest);
    char buf[4096];
    assert_int_equal(nr_pullbar_render(b, 80, 24, buf, sizeof buf), 4);
    char *l0 = strtok(buf, "\n"), *l1 = strtok(NULL, "\n"), *l2 = strtok(NULL, "\n"),
         *l3 = strtok(NULL, "\n");
    assert_true(strncmp(l0, "0023456789ab  [", 15) == 0);
    assert_non_null(strstr(l0, "]  41%  1.2MB / 2.9MB"));
    assert_true(strlen(l0) <= 79);
    assert_string_equal(l1, "0123456789ab  already present");
    assert_string_equal(l2, "0223456789ab  done  2.9MB");
    assert_string_equal(l3, "0323456789ab  waiting  2.9MB");
}

static void test_width(void **state)
{
    (void)state;
    NrPullbar *b = bar_of(1);
    nr_pullbar_progress(b, b->layers[0].digest, 10);
    char buf[4096];
    for (int cols = 1; cols < 300; cols++) {
        assert_int_equal(nr_pullbar_render(b, cols, 24, buf, sizeof buf), 1);
        assert_true(strlen(buf) - 1 <= (size_t)(cols > 1 ? cols - 1 : 0));
    }
    /* narrow: the bar goes first, the numbers stay */
    nr_pullbar_render(b, 40, 24, buf, sizeof buf);
    assert_null(strchr(buf, '['));
    assert_non_null(strstr(buf, "10B / 2.9MB"));
}

static void test_height(void **state)
{
    (void)state;
    NrPullbar *b = bar_of(30);
    for (size_t i = 0; i < 10; i++)
        nr_pullbar_done(b, b->layers[i].digest);
    char buf[8192];
    /* 30 layers on 11 rows: 9 not done shown, 21 folded (10 of them done) */
    assert_int_equal(nr_pullbar_render(b, 80, 11, buf, sizeof buf), 10);
    assert_null(strstr(buf, "  done"));
    assert_non_null(strstr(buf, "0a23456789ab  waiting"));
    assert_non_null(strstr(buf, "21 more layers, 10 of them done\n"));
    /* all fit */
    assert_int_equal(nr_pullbar_render(b, 80, 40, buf, sizeof buf), 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_height),
    };
    return cmocka_run_group_tests_name("pullbar", tests, NULL, NULL);
}
