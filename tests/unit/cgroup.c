/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/cgroup.c — src/host/cgroup.c's pure part: the limit options'
 * values, shares <-> weight, the files a limit becomes in v1 and v2
 * hierarchies, and the lines of /proc/PID/cgroup and mountinfo. */
#include "nr-cgroup.h"
#include "nr-conf.h"
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

/* ---- a cgroup tree of plain files: the real code path over a fake
 * mountinfo and /proc/self/cgroup ---- */

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fail_msg("cannot write %s", path);
}

static char *slurp(const char *path)
{
    static char buf[256];
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static char tree[256];

/* DIR/FILE for the tree, in a static buffer */
static const char *at(const char *rel)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tree, rel);
    return buf;
}

/* a directory with cgroup files of its own (empty) */
static void cg_dir(const char *rel, const char *const *files)
{
    mkdir(at(rel), 0755);
    for (; *files; files++) {
        char p[512];
        if (snprintf(p, sizeof p, "%s/%s", at(rel), *files) >= (int)sizeof p)
            fail_msg("path too long");
        put(p, "");
    }
}

static bool alive_b(const char *cid)
{
    return strcmp(cid, "bbbbbbbbbbbb") == 0;
}

/* v2: a delegated cgroup /user, holding no processes */
static int setup_v2(void **state)
{
    static int n;
    snprintf(tree, sizeof tree, "%s/v2-%d", unit_tmpdir(), n++);
    mkdir(tree, 0755);
    put(at("cgroup.controllers"), "cpu memory pids hugetlb\n");
    static const char *const parent[] = { "cgroup.procs", "cgroup.subtree_control", NULL };
    cg_dir("user", parent);
    put(at("user/cgroup.controllers"), "cpu memory pids\n");
    static const char *const ctr[] = {
        "cgroup.procs", "memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max", NULL
    };
    cg_dir("user/nroot-0123456789ab", ctr);
    mkdir(at("user/nroot-aaaaaaaaaaaa"), 0755);
    mkdir(at("user/nroot-bbbbbbbbbbbb"), 0755);
    char mi[512];
    snprintf(mi, sizeof mi, "40 26 0:35 / %s rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n", tree);
    put(at("mountinfo"), mi);
    put(at("self"), "0::/user\n");
    char self[512], mountinfo[512];
    snprintf(self, sizeof self, "%s", at("self"));
    snprintf(mountinfo, sizeof mountinfo, "%s", at("mountinfo"));
    static char keep_self[512], keep_mi[512];
    memcpy(keep_self, self, sizeof self);
    memcpy(keep_mi, mountinfo, sizeof mountinfo);
    nr_cgroup_set_proc_files(keep_mi, keep_self);
    setenv("NROOT_CONFIG", "/dev/null", 1);
    unsetenv("NROOT_CGROUP_PARENT");
    nr_conf_set_system_file(unit_path("no-such.conf"));
    return 0;
}

static int teardown_proc(void **state)
{
    nr_cgroup_set_proc_files(NULL, NULL);
    unsetenv("NROOT_CGROUP_PARENT");
    nr_conf_set_system_file(NULL);
    return 0;
}

static void test_v2_create(void **state)
{
    NrLimits l = { .memory = 256LL << 20,
                   .memory_swap = 512LL << 20,
                   .cpu_quota = 50000,
                   .cpu_shares = 1024,
                   .pids = 7 };
    NrCgroup cg;
    NrError err = { 0 };
    assert_nr_ok(nr_cgroup_check_where(&l, &err), err);
    assert_nr_ok(nr_cgroup_create(&l, "0123456789ab", alive_b, &cg, &err), err);
    assert_int_equal(cg.n, 1);
    assert_true(cg.v2[0]);
    assert_string_equal(cg.dir[0], at("user/nroot-0123456789ab"));
    assert_string_equal(slurp(at("user/nroot-0123456789ab/memory.max")), "268435456");
    assert_string_equal(slurp(at("user/nroot-0123456789ab/memory.swap.max")), "268435456");
    assert_string_equal(slurp(at("user/nroot-0123456789ab/cpu.max")), "50000 100000");
    assert_string_equal(slurp(at("user/nroot-0123456789ab/cpu.weight")), "39");
    assert_string_equal(slurp(at("user/nroot-0123456789ab/pids.max")), "7");
    /* the controllers were enabled for the children ("+memory", "+cpu", "+pids") */
    assert_int_equal(slurp(at("user/cgroup.subtree_control"))[0], '+');
    /* the stale cgroup of a dead nroot went, the live one's stayed */
    struct stat st;
    assert_int_equal(stat(at("user/nroot-aaaaaaaaaaaa"), &st), -1);
    assert_int_equal(stat(at("user/nroot-bbbbbbbbbbbb"), &st), 0);
    assert_nr_ok(nr_cgroup_enter(&cg, 1234, &err), err);
    assert_string_equal(slurp(at("user/nroot-0123456789ab/cgroup.procs")), "1234\n");
    nr_cgroup_remove(&cg);
    assert_int_equal(cg.n, 0);
}

static void test_v2_found_again(void **state)
{
    /* the container's PID 1 (here: this process) in .../nroot-<cid> */
    put(at("self"), "0::/user/nroot-0123456789ab\n");
    put(at("user/nroot-0123456789ab/memory.current"), "1048576\n");
    put(at("user/nroot-0123456789ab/pids.current"), "3\n");
    NrCgroup cg;
    NrError err = { 0 };
    assert_nr_ok(nr_cgroup_of(getpid(), "0123456789ab", true, &cg, &err), err);
    assert_int_equal(cg.n, 1);
    assert_true(cg.procs[0] >= 0);
    assert_nr_ok(nr_cgroup_enter(&cg, 0, &err), err);
    assert_string_equal(slurp(at("user/nroot-0123456789ab/cgroup.procs")), "0\n");
    nr_cgroup_remove_fds(&cg);
    int64_t mem, pids;
    nr_cgroup_usage(getpid(), "0123456789ab", &mem, &pids);
    assert_int_equal(mem, 1048576);
    assert_int_equal(pids, 3);
    nr_cgroup_usage(getpid(), "ffffffffffff", &mem, &pids);
    assert_int_equal(mem, -1);
    assert_int_equal(pids, -1);
}

static void test_v2_refused(void **state)
{
    NrLimits l = { .pids = 7 };
    NrCgroup cg;
    /* the caller's cgroup holds processes: v2 cannot enable pids below it */
    put(at("user/cgroup.procs"), "42\n");
    NrError e1 = { 0 };
    assert_nr_error(nr_cgroup_create(&l, "0123456789ab", NULL, &cg, &e1), e1, "holds processes");
    assert_non_null(strstr(e1.msg, "set cgroup-parent in nroot.conf"));
    /* not enabled by the parent's parent */
    put(at("user/cgroup.controllers"), "cpu\n");
    NrError e2 = { 0 };
    assert_nr_error(nr_cgroup_create(&l, "0123456789ab", NULL, &cg, &e2), e2,
                    "--pids-limit: the pids controller is not enabled for");
    /* cgroup-parent that does not exist */
    setenv("NROOT_CGROUP_PARENT", "nope", 1);
    NrError e3 = { 0 };
    assert_nr_error(nr_cgroup_check_where(&l, &e3), e3, "does not exist");
    assert_non_null(strstr(e3.msg, "$NROOT_CGROUP_PARENT"));
    setenv("NROOT_CGROUP_PARENT", "../x", 1);
    NrError e4 = { 0 };
    assert_nr_error(nr_cgroup_check_where(&l, &e4), e4, "without '..'");
    /* no controller anywhere */
    NrLimits mem = { .memory = 1LL << 30 };
    put(at("cgroup.controllers"), "cpu pids\n");
    nr_cgroup_set_proc_files(NULL, NULL);
    char mi[512];
    snprintf(mi, sizeof mi, "%s", at("mountinfo"));
    static char keep[512];
    memcpy(keep, mi, sizeof mi);
    static char keep_self[512];
    snprintf(keep_self, sizeof keep_self, "%s", at("self"));
    nr_cgroup_set_proc_files(keep, keep_self);
    unsetenv("NROOT_CGROUP_PARENT");
    NrError e5 = { 0 };
    assert_nr_error(nr_cgroup_check_where(&mem, &e5), e5, "has the memory controller");
}

static void test_v2_describe(void **state)
{
    char buf[1024], fix[512];
    assert_true(nr_cgroup_describe(buf, sizeof buf, fix, sizeof fix));
    assert_string_equal(buf,
                        "v2; limits go below your own cgroup; writable there: memory, cpu, pids");
    assert_string_equal(fix, "");
    setenv("NROOT_CGROUP_PARENT", "user", 1);
    assert_true(nr_cgroup_describe(buf, sizeof buf, fix, sizeof fix));
    assert_non_null(strstr(buf, "below cgroup-parent user from $NROOT_CGROUP_PARENT"));
}

/* v1: pids and cpu,cpuacct hierarchies, no memory one */
static int setup_v1(void **state)
{
    static int n;
    snprintf(tree, sizeof tree, "%s/v1-%d", unit_tmpdir(), n++);
    mkdir(tree, 0755);
    static const char *const none[] = { NULL };
    cg_dir("pids", none);
    cg_dir("cpu,cpuacct", none);
    cg_dir("pids/u", none);
    cg_dir("cpu,cpuacct/u", none);
    static const char *const pf[] = { "cgroup.procs", "pids.max", NULL };
    static const char *const cf[] = { "cgroup.procs", "cpu.cfs_period_us", "cpu.cfs_quota_us",
                                      "cpu.shares", NULL };
    cg_dir("pids/u/nroot-0123456789ab", pf);
    cg_dir("cpu,cpuacct/u/nroot-0123456789ab", cf);
    char mi[1024];
    snprintf(mi, sizeof mi,
             "35 26 0:30 / %s/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
             "36 26 0:31 / %s/pids rw - cgroup cgroup rw,pids\n",
             tree, tree);
    put(at("mountinfo"), mi);
    put(at("self"), "8:pids:/u\n2:cpu,cpuacct:/u\n0::/\n");
    static char keep_self[512], keep_mi[512];
    snprintf(keep_self, sizeof keep_self, "%s", at("self"));
    snprintf(keep_mi, sizeof keep_mi, "%s", at("mountinfo"));
    nr_cgroup_set_proc_files(keep_mi, keep_self);
    setenv("NROOT_CONFIG", "/dev/null", 1);
    unsetenv("NROOT_CGROUP_PARENT");
    nr_conf_set_system_file(unit_path("no-such.conf"));
    return 0;
}

static void test_v1_create(void **state)
{
    NrLimits l = { .cpu_quota = 150000, .cpu_weight = 100, .pids = 50 };
    NrCgroup cg;
    NrError err = { 0 };
    assert_nr_ok(nr_cgroup_create(&l, "0123456789ab", NULL, &cg, &err), err);
    assert_int_equal(cg.n, 2);
    assert_false(cg.v2[0]);
    assert_string_equal(slurp(at("cpu,cpuacct/u/nroot-0123456789ab/cpu.cfs_quota_us")), "150000");
    assert_string_equal(slurp(at("cpu,cpuacct/u/nroot-0123456789ab/cpu.cfs_period_us")), "100000");
    assert_string_equal(slurp(at("cpu,cpuacct/u/nroot-0123456789ab/cpu.shares")), "2597");
    assert_string_equal(slurp(at("pids/u/nroot-0123456789ab/pids.max")), "50");
    assert_nr_ok(nr_cgroup_enter(&cg, 77, &err), err);
    assert_string_equal(slurp(at("pids/u/nroot-0123456789ab/cgroup.procs")), "77\n");
    assert_string_equal(slurp(at("cpu,cpuacct/u/nroot-0123456789ab/cgroup.procs")), "77\n");
    nr_cgroup_remove(&cg);
    /* no memory hierarchy: --memory is refused, naming it, before anything */
    NrLimits mem = { .memory = 1LL << 30, .pids = 5 };
    NrError e = { 0 };
    assert_nr_error(nr_cgroup_create(&mem, "0123456789ab", NULL, &cg, &e), e,
                    "--memory: no cgroup hierarchy of this host has the memory controller");
    char buf[1024], fix[512];
    assert_true(nr_cgroup_describe(buf, sizeof buf, fix, sizeof fix));
    assert_non_null(strstr(buf, "v1; limits go below your own cgroup; writable there: cpu, pids; "
                                "memory: no cgroup hierarchy"));
    assert_non_null(strstr(fix, "cgroup-parent"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_swap_and_checks),
        cmocka_unit_test(test_cpus),
        cmocka_unit_test(test_shares_weight_pids),
        cmocka_unit_test(test_files_v1),
        cmocka_unit_test(test_files_v2),
        cmocka_unit_test(test_controllers),
        cmocka_unit_test(test_proc_line),
        cmocka_unit_test(test_mount_line),
        cmocka_unit_test(test_format_bytes),
        cmocka_unit_test_setup_teardown(test_v2_create, setup_v2, teardown_proc),
        cmocka_unit_test_setup_teardown(test_v2_found_again, setup_v2, teardown_proc),
        cmocka_unit_test_setup_teardown(test_v2_refused, setup_v2, teardown_proc),
        cmocka_unit_test_setup_teardown(test_v2_describe, setup_v2, teardown_proc),
        cmocka_unit_test_setup_teardown(test_v1_create, setup_v1, teardown_proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
