/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/timens.c — src/ns/timens.c: --time-offset's values parsed
 * (the kernel's form: whole seconds rounded down and nanoseconds), merged
 * (the last value of a clock wins), formatted for the saved config, and
 * checked against the clocks. */
#include <time.h>

#include "nr-timens.h"
#include "unit.h"

static NrTimeOffsets parse_ok(const char *v)
{
    NrTimeOffsets o = { 0 };
    NrError err = { 0 };
    int rc = nr_timens_parse(v, &o, &err);
    if (rc != 0)
        fail_msg("--time-offset '%s' refused: %s", v, err.msg);
    return o;
}

#define MONO NR_CLOCK_MONOTONIC
#define BOOT NR_CLOCK_BOOTTIME

static void test_parse(void **state)
{
    NrTimeOffsets o = parse_ok("boottime=86400");
    assert_true(o.set[BOOT]);
    assert_false(o.set[MONO]);
    assert_int_equal(o.secs[BOOT], 86400);
    assert_int_equal(o.nsecs[BOOT], 0);
    assert_true(nr_timens_any(&o));

    o = parse_ok("monotonic=-3600,boottime=1.5");
    assert_int_equal(o.secs[MONO], -3600);
    assert_int_equal(o.nsecs[MONO], 0);
    assert_int_equal(o.secs[BOOT], 1);
    assert_int_equal(o.nsecs[BOOT], 500000000);

    /* negative fractions: rounded down, the rest in nanoseconds */
    o = parse_ok("monotonic=-1.5");
    assert_int_equal(o.secs[MONO], -2);
    assert_int_equal(o.nsecs[MONO], 500000000);
    o = parse_ok("monotonic=-0.000000001");
    assert_int_equal(o.secs[MONO], -1);
    assert_int_equal(o.nsecs[MONO], 999999999);
    o = parse_ok("boottime=0.123456789");
    assert_int_equal(o.secs[BOOT], 0);
    assert_int_equal(o.nsecs[BOOT], 123456789);
    o = parse_ok("boottime=-0");
    assert_int_equal(o.secs[BOOT], 0);
    assert_true(o.set[BOOT]);

    /* the range: the kernel's KTIME_SEC_MAX / 2 either way */
    o = parse_ok("boottime=4611686018,monotonic=-4611686018");
    assert_int_equal(o.secs[BOOT], NR_TIMENS_MAX_SECS);
    assert_int_equal(o.secs[MONO], -NR_TIMENS_MAX_SECS);

    /* one value twice: the last wins */
    o = parse_ok("boottime=1,boottime=2");
    assert_int_equal(o.secs[BOOT], 2);
}

static void test_merge(void **state)
{
    NrTimeOffsets o = { 0 };
    NrError err = { 0 };
    assert_nr_ok(nr_timens_parse("boottime=100", &o, &err), err);
    assert_nr_ok(nr_timens_parse("monotonic=50", &o, &err), err);
    assert_nr_ok(nr_timens_parse("boottime=7200", &o, &err), err);
    assert_int_equal(o.secs[BOOT], 7200);
    assert_int_equal(o.secs[MONO], 50);
    /* a bad value changes nothing, not even the clocks before it */
    assert_nr_error(nr_timens_parse("boottime=1,monotonic=x", &o, &err), err, "'x'");
    assert_int_equal(o.secs[BOOT], 7200);
    assert_int_equal(o.secs[MONO], 50);
}

static void test_parse_bad(void **state)
{
    static const struct {
        const char *v, *part;
    } bad[] = {
        { "", "expected CLOCK=SECONDS" },
        { "boottime", "expected CLOCK=SECONDS" },
        { "boottime=1,", "expected CLOCK=SECONDS" },
        { "boottime=1,,monotonic=2", "expected CLOCK=SECONDS" },
        { "boot=1", "unknown clock 'boot'" },
        { "mono=1", "unknown clock 'mono'" },
        { "realtime=1", "unknown clock 'realtime'" },
        { "BOOTTIME=1", "unknown clock 'BOOTTIME'" },
        { "=1", "unknown clock ''" },
        { "boottime=", "'' is not a number" },
        { "boottime=abc", "'abc' is not a number" },
        { "boottime=1e3", "'1e3' is not a number" },
        { "boottime=0x10", "'0x10' is not a number" },
        { "boottime=+1", "'+1' is not a number" },
        { "boottime=--1", "'--1' is not a number" },
        { "boottime=-", "'-' is not a number" },
        { "boottime=1.", "'1.' is not a number" },
        { "boottime=.5", "'.5' is not a number" },
        { "boottime=1.1234567891", "'1.1234567891' is not a number" },
        { "boottime= 1", "' 1' is not a number" },
        { "boottime=1 ", "'1 ' is not a number" },
        { "boottime=4611686019", "'4611686019' is not a number" },
        { "boottime=4611686018.5", "'4611686018.5' is not a number" },
        { "boottime=-4611686019", "'-4611686019' is not a number" },
        { "boottime=99999999999999999999999", "is not a number" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        NrTimeOffsets o = { 0 };
        NrError err = { 0 };
        int rc = nr_timens_parse(bad[i].v, &o, &err);
        if (rc == 0)
            fail_msg("--time-offset '%s' accepted", bad[i].v);
        assert_nr_error(rc, err, bad[i].part);
        assert_nr_error(rc, err, "invalid --time-offset '");
        assert_false(nr_timens_any(&o));
    }
}

static void check_format(const char *in, const char *want)
{
    NrTimeOffsets o = parse_ok(in);
    char buf[128];
    nr_timens_format(&o, buf, sizeof buf);
    assert_string_equal(buf, want);
    /* what is saved reads back as the same offsets */
    NrTimeOffsets back = parse_ok(buf);
    assert_memory_equal(&back, &o, sizeof o);
}

static void test_format(void **state)
{
    check_format("boottime=86400", "boottime=86400");
    check_format("boottime=1.5,monotonic=-1.5", "monotonic=-1.5,boottime=1.5");
    check_format("monotonic=-0.5", "monotonic=-0.5");
    check_format("monotonic=-0.000000001", "monotonic=-0.000000001");
    check_format("monotonic=2.100", "monotonic=2.1");
    check_format("boottime=-0", "boottime=0");
    check_format("boottime=4611686018,monotonic=-4611686018",
                 "monotonic=-4611686018,boottime=4611686018");
    NrTimeOffsets none = { 0 };
    char buf[16] = "x";
    nr_timens_format(&none, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_false(nr_timens_any(&none));
}

static void test_check(void **state)
{
    NrError err = { 0 };
    NrTimeOffsets none = { 0 };
    assert_nr_ok(nr_timens_check(&none, "--time-offset", &err), err);
    if (!nr_timens_supported())
        skip(); /* the rest needs time namespaces */
    NrTimeOffsets o = parse_ok("boottime=86400,monotonic=-1");
    assert_nr_ok(nr_timens_check(&o, "--time-offset", &err), err);
    /* below 0: more than the clock reads now */
    o = parse_ok("monotonic=-4611686018");
    assert_nr_error(nr_timens_check(&o, "--time-offset", &err), err,
                    "--time-offset: monotonic=-4611686018 would set the container's monotonic "
                    "clock below 0");
    /* beyond the kernel's limit: the offset plus what the clock reads */
    o = parse_ok("boottime=4611686018");
    assert_nr_error(nr_timens_check(&o, "config.json: linux.timeOffsets", &err), err,
                    "config.json: linux.timeOffsets: boottime=4611686018 would set the "
                    "container's boottime clock beyond");
    /* an OCI record's offset out of the parser's range */
    o = (NrTimeOffsets){ .set = { [BOOT] = true }, .secs = { [BOOT] = INT64_MIN } };
    assert_nr_error(nr_timens_check(&o, "x", &err), err, "x: the boottime offset is out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),     cmocka_unit_test(test_merge),
        cmocka_unit_test(test_parse_bad), cmocka_unit_test(test_format),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests_name("time namespace", tests, NULL, NULL);
}
