/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/cgroup.c — src/host/cgroup.c's pure part: the limit options'
 * values, shares <-> weight, the files a limit becomes in v1 and v2
 * hierarchies, and the lines of /proc/PID/cgroup and mountinfo. */
#include "nr-cgroup.h"
#include "unit.h"

static void test_bytes(void **state)
{
    NrError err = { 0 };
    int64_t v = 0;
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "512", &v, &err), err);
    assert_int_equal(v, 512);
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "10b", &v, &err), err);
    assert_int_equal(v, 10);
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "4k", &v, &err), err);
    assert_int_equal(v, 4096);
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "512m", &v, &err), err);
    assert_int_equal(v, 512LL << 20);
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "2G", &v, &err), err);
    assert_int_equal(v, 2LL << 30);
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "1.5g", &v, &err), err);
    assert_int_equal(v, 3LL << 29);
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "64MiB", &v, &err), err);
    assert_int_equal(v, 64LL << 20);
    assert_nr_ok(nr_cgroup_parse_bytes("--memory", "1kb", &v, &err), err);
    assert_int_equal(v, 1024);
    static const char *const bad[] = { "",    "m",   "-1",  "1.5", "1x",          "1mm",
                                       "1bb", "1 m", ".5m", "1.m", "99999999999t" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        NrError e = { 0 };
        assert_nr_error(nr_cgroup_parse_bytes("--memory", bad[i], &v, &e), e, "--memory");
    }
}

static void test_swap_and_checks(void **state)
{
    NrError err = { 0 };
    int64_t v = 0;
    assert_nr_ok(nr_cgroup_parse_swap("-1", &v, &err), err);
    assert_int_equal(v, -1);
    assert_nr_ok(nr_cgroup_parse_swap("1g", &v, &err), err);
    assert_int_equal(v, 1LL << 30);
    assert_nr_error(nr_cgroup_parse_swap("-2", &v, &err), err, "--memory-swap");

    NrLimits l = { .memory_swap = 1LL << 30 };
    NrError e1 = { 0 };
    assert_nr_error(nr_cgroup_check(&l, &e1), e1, "needs --memory");
    l.memory = 2LL << 30;
    NrError e2 = { 0 };
    assert_nr_error(nr_cgroup_check(&l, &e2), e2, "below --memory");
    l.memory_swap = -1;
    assert_nr_ok(nr_cgroup_check(&l, &err), err);
    l.memory = 1024;
    NrError e3 = { 0 };
    assert_nr_error(nr_cgroup_check(&l, &e3), e3, "6m");
    NrLimits c = { .cpu_shares = 512, .cpu_weight = 100 };
    NrError e4 = { 0 };
    assert_nr_error(nr_cgroup_check(&c, &e4), e4, "give one");
}

static void test_cpus(void **state)
{
    NrError err = { 0 };
    int64_t q = 0;
    assert_nr_ok(nr_cgroup_parse_cpus("0.5", 2, &q, &err), err);
    assert_int_equal(q, 50000);
    assert_nr_ok(nr_cgroup_parse_cpus("2", 2, &q, &err), err);
    assert_int_equal(q, 200000);
    assert_nr_ok(nr_cgroup_parse_cpus(".25", 0, &q, &err), err);
    assert_int_equal(q, 25000);
    assert_nr_ok(nr_cgroup_parse_cpus("0.01", 1, &q, &err), err);
    assert_int_equal(q, 1000);
    assert_nr_ok(nr_cgroup_parse_cpus("1.333", 4, &q, &err), err);
    assert_int_equal(q, 133300);
    static const char *const bad[] = { "", "0", "0.001", "3", "-1", "1.", "1e3", "a", "1.5x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        NrError e = { 0 };
        assert_nr_error(nr_cgroup_parse_cpus(bad[i], 2, &q, &e), e, "--cpus");
    }
    NrError e = { 0 };
    assert_nr_error(nr_cgroup_parse_cpus("3", 2, &q, &e), e, "from 0.01 to 2");
}

static void test_shares_weight_pids(void **state)
{
    NrError err = { 0 };
    int64_t v = 0;
    assert_nr_ok(nr_cgroup_parse_shares("1024", &v, &err), err);
    assert_int_equal(v, 1024);
    assert_nr_error(nr_cgroup_parse_shares("1", &v, &err), err, "from 2 to 262144");
    NrError e2 = { 0 };
    assert_nr_error(nr_cgroup_parse_shares("262145", &v, &e2), e2, "--cpu-shares");
    assert_nr_ok(nr_cgroup_parse_weight("100", &v, &err), err);
    assert_int_equal(v, 100);
    NrError e3 = { 0 };
    assert_nr_error(nr_cgroup_parse_weight("0", &v, &e3), e3, "from 1 to 10000");
    NrError e4 = { 0 };
    assert_nr_error(nr_cgroup_parse_weight("10001", &v, &e4), e4, "--cpu-weight");
    assert_nr_ok(nr_cgroup_parse_pids("50", &v, &err), err);
    assert_int_equal(v, 50);
    assert_nr_ok(nr_cgroup_parse_pids("0", &v, &err), err);
    assert_int_equal(v, 0);
    assert_nr_ok(nr_cgroup_parse_pids("-1", &v, &err), err);
    assert_int_equal(v, 0);
    NrError e5 = { 0 };
    assert_nr_error(nr_cgroup_parse_pids("-2", &v, &e5), e5, "0 or -1: unlimited");
    NrError e6 = { 0 };
    assert_nr_error(nr_cgroup_parse_pids("x", &v, &e6), e6, "--pids-limit");
    /* crun's conversion, both ways */
    assert_int_equal(nr_cgroup_shares_to_weight(2), 1);
    assert_int_equal(nr_cgroup_shares_to_weight(1024), 39);
    assert_int_equal(nr_cgroup_shares_to_weight(262144), 10000);
    assert_int_equal(nr_cgroup_weight_to_shares(1), 2);
    assert_int_equal(nr_cgroup_weight_to_shares(100), 2597);
    assert_int_equal(nr_cgroup_weight_to_shares(10000), 262144);
}

static const NrCgroupFile *file(const NrCgroupFile *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    fail_msg("no file %s", name);
    static const NrCgroupFile none = { "", "", "" };
    return &none;
}

static void test_files_v1(void **state)
{
    NrLimits l = { .memory = 256LL << 20,
                   .memory_swap = 512LL << 20,
                   .cpu_quota = 50000,
                   .cpu_weight = 100,
                   .pids = 50 };
    NrCgroupFile f[8];
    size_t n = nr_cgroup_files(&l, false, f);
    assert_int_equal(n, 6);
    /* memory before memory+swap (the kernel refuses memsw below memory) */
    assert_string_equal(f[0].name, "memory.limit_in_bytes");
    assert_string_equal(f[0].value, "268435456");
    assert_string_equal(f[1].name, "memory.memsw.limit_in_bytes");
    assert_string_equal(f[1].value, "536870912");
    assert_string_equal(file(f, n, "cpu.cfs_period_us")->value, "100000");
    assert_string_equal(file(f, n, "cpu.cfs_quota_us")->value, "50000");
    assert_string_equal(file(f, n, "cpu.shares")->value, "2597");
    assert_string_equal(file(f, n, "pids.max")->value, "50");
    assert_string_equal(file(f, n, "pids.max")->controller, "pids");
    l.memory_swap = -1;
    n = nr_cgroup_files(&l, false, f);
    assert_string_equal(file(f, n, "memory.memsw.limit_in_bytes")->value, "-1");
}

static void test_files_v2(void **state)
{
    NrLimits l = { .memory = 256LL << 20,
                   .memory_swap = 512LL << 20,
                   .cpu_quota = 150000,
                   .cpu_shares = 1024,
                   .pids = 7 };
    NrCgroupFile f[8];
    size_t n = nr_cgroup_files(&l, true, f);
    assert_int_equal(n, 5);
    assert_string_equal(f[0].name, "memory.max");
    assert_string_equal(f[0].value, "268435456");
    /* v2 counts the swap alone */
    assert_string_equal(file(f, n, "memory.swap.max")->value, "268435456");
    assert_string_equal(file(f, n, "cpu.max")->value, "150000 100000");
    assert_string_equal(file(f, n, "cpu.weight")->value, "39");
    assert_string_equal(file(f, n, "pids.max")->value, "7");
    l.memory_swap = -1;
    n = nr_cgroup_files(&l, true, f);
    assert_string_equal(file(f, n, "memory.swap.max")->value, "max");
    NrLimits none = { 0 };
    assert_int_equal(nr_cgroup_files(&none, true, f), 0);
    assert_false(nr_cgroup_any(&none));
}

static void test_controllers(void **state)
{
    const char *c[NR_CGROUP_HIER_MAX];
    NrLimits l = { .pids = 5 };
    nr_cgroup_controllers(&l, c);
    assert_string_equal(c[0], "pids");
    assert_null(c[1]);
    NrLimits all = { .memory = 1 << 30, .cpu_weight = 5, .pids = 5 };
    nr_cgroup_controllers(&all, c);
    assert_string_equal(c[0], "memory");
    assert_string_equal(c[1], "cpu");
    assert_string_equal(c[2], "pids");
    assert_null(c[3]);
}

static void test_proc_line(void **state)
{
    const char *p = NULL;
    assert_true(nr_cgroup_proc_line("8:pids:/user/x", "pids", &p));
    assert_string_equal(p, "/user/x");
    assert_true(nr_cgroup_proc_line("2:cpu,cpuacct:/a", "cpu", &p));
    assert_string_equal(p, "/a");
    assert_true(nr_cgroup_proc_line("2:cpu,cpuacct:/a", "cpuacct", &p));
    assert_false(nr_cgroup_proc_line("2:cpu,cpuacct:/a", "cpuset", &p));
    assert_false(nr_cgroup_proc_line("9:name=systemd:/", "systemd", &p));
    assert_true(nr_cgroup_proc_line("0::/user.slice/user-1000.slice", NULL, &p));
    assert_string_equal(p, "/user.slice/user-1000.slice");
    assert_false(nr_cgroup_proc_line("8:pids:/x", NULL, &p));
    assert_false(nr_cgroup_proc_line("0::/x", "pids", &p));
    assert_false(nr_cgroup_proc_line("garbage", "pids", &p));
    assert_true(nr_cgroup_has_word("rw,cpu,cpuacct", "cpu"));
    assert_false(nr_cgroup_has_word("rw,cpuacct", "cpu"));
    assert_false(nr_cgroup_has_word("", "cpu"));
}

static void test_mount_line(void **state)
{
    char mnt[256], opts[256];
    bool v2 = true;
    assert_true(nr_cgroup_mount_line("35 26 0:30 / /sys/fs/cgroup/cpu rw,relatime shared:12 - "
                                     "cgroup cgroup rw,cpu\n",
                                     mnt, sizeof mnt, &v2, opts, sizeof opts));
    assert_false(v2);
    assert_string_equal(mnt, "/sys/fs/cgroup/cpu");
    assert_string_equal(opts, "rw,cpu");
    assert_true(nr_cgroup_mount_line("40 26 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 "
                                     "cgroup2 rw,nsdelegate\n",
                                     mnt, sizeof mnt, &v2, opts, sizeof opts));
    assert_true(v2);
    assert_string_equal(mnt, "/sys/fs/cgroup/unified");
    assert_true(nr_cgroup_mount_line("41 26 0:36 / /a\\040b rw - cgroup cgroup rw,pids", mnt,
                                     sizeof mnt, &v2, opts, sizeof opts));
    assert_string_equal(mnt, "/a b");
    assert_false(nr_cgroup_mount_line("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw", mnt,
                                      sizeof mnt, &v2, opts, sizeof opts));
    assert_false(nr_cgroup_mount_line("short line", mnt, sizeof mnt, &v2, opts, sizeof opts));
}

static void test_format_bytes(void **state)
{
    char b[32];
    nr_cgroup_format_bytes(512, b, sizeof b);
    assert_string_equal(b, "512B");
    nr_cgroup_format_bytes(1536, b, sizeof b);
    assert_string_equal(b, "1.5KiB");
    nr_cgroup_format_bytes(12LL << 20, b, sizeof b);
    assert_string_equal(b, "12MiB");
    nr_cgroup_format_bytes(2LL << 30, b, sizeof b);
    assert_string_equal(b, "2GiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),       cmocka_unit_test(test_swap_and_checks),
        cmocka_unit_test(test_cpus),        cmocka_unit_test(test_shares_weight_pids),
        cmocka_unit_test(test_files_v1),    cmocka_unit_test(test_files_v2),
        cmocka_unit_test(test_controllers), cmocka_unit_test(test_proc_line),
        cmocka_unit_test(test_mount_line),  cmocka_unit_test(test_format_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
