/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/ociplan.c — src/oci/plan.c: an OCI spec as nroot's run plan,
 * and what a rootless nroot refuses before anything starts (namespaces,
 * sysctls, id ranges, unmapped users). */
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "nr-caps.h"
#include "nr-oci.h"
#include "nr-plan.h"
#include "unit.h"

#define HEAD \
    "version\t1.2.0\n" \
    "bundle\t/b\n" \
    "root\t/b/rootfs\tro\n" \
    "arg\tsh\n" \
    "env\tA=1\n" \
    "cwd\t/\n"
#define NS "ns\tpid\t\nns\tipc\t\nns\tuts\t\nns\tmount\t\nns\tuser\t\n"

/* the plan of the records `tail` after HEAD (with `hostname` first when
 * given); 0 or -1 with err */
static int plan(const char *host, const char *tail, NrRunConfig *cfg, NrOciSpec *spec, char **args,
                NrError *err)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s%s", HEAD, host ? host : "", tail);
    NrError perr = { 0 };
    int rc = nr_oci_parse_records(text, strlen(text), spec, &perr);
    assert_nr_ok(rc, perr);
    memset(cfg, 0, sizeof *cfg);
    return nr_oci_plan(cfg, spec, args, err);
}

static void bad(const char *host, const char *tail, const char *part)
{
    NrRunConfig cfg;
    NrOciSpec spec;
    NrError err = { 0 };
    assert_nr_error(plan(host, tail, &cfg, &spec, NULL, &err), err, part);
    nr_oci_clear(&spec);
}

static void test_single_map(void **state)
{
    NrRunConfig cfg;
    NrOciSpec spec;
    NrError err = { 0 };
    char tail[512];
    snprintf(tail, sizeof tail, NS "uidmap\t0\t%u\t1\ngidmap\t0\t%u\t1\n", (unsigned)getuid(),
             (unsigned)getgid());
    char *args[] = { "echo", "hi", NULL };
    assert_nr_ok(plan("hostname\th\n", tail, &cfg, &spec, args, &err), err);
    assert_false(cfg.map.helpers);
    assert_int_equal(cfg.map.n_uid, 1);
    assert_int_equal(cfg.map.uid[0].inside, 0);
    assert_int_equal(cfg.map.uid[0].outside, getuid());
    assert_ptr_equal(cfg.oci, &spec);
    assert_string_equal(cfg.argv[0], "echo");
    assert_true(cfg.read_only);
    assert_int_equal(cfg.net, NR_NET_HOST); /* no network namespace: the host's */
    assert_int_equal(cfg.caps, nr_caps_default());
    assert_null(cfg.seccomp);
    assert_int_equal(cfg.root_emulation, NR_ROOTEMU_OFF);
    unsigned long f = nr_oci_clone_flags(&spec);
    assert_int_equal(f, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWUSER);
    nr_oci_clear(&spec);
    /* no maps at all: the single id too; the spec's args without a command */
    assert_nr_ok(plan(NULL, NS "ns\tnetwork\t\n", &cfg, &spec, NULL, &err), err);
    assert_false(cfg.map.helpers);
    assert_string_equal(cfg.argv[0], "sh");
    assert_int_equal(cfg.net, NR_NET_NONE);
    nr_oci_clear(&spec);
}

static void test_refusals(void **state)
{
    if (geteuid() != 0) /* root of its namespace gets an identity map instead */
        bad(NULL, "ns\tmount\t\n", "no user namespace");
    bad(NULL, "ns\tuser\t\n", "mount namespace");
    bad("hostname\th\n", "ns\tmount\t\nns\tuser\t\n", "hostname needs a uts namespace");
    bad(NULL, NS "timeoffset\tmonotonic\t10\t0\n", "timeOffsets needs a time namespace");
    bad(NULL, NS "sysctl\tvm.swappiness\t1\n", "'vm.swappiness' is not a namespaced sysctl");
    bad(NULL, NS "sysctl\tnet.ipv4.ip_forward\t1\n", "needs a network namespace");
    /* sorted by key: ipc's and uts's pass, the next is refused */
    bad(NULL,
        NS "sysctl\tkernel.domainname\tx\nsysctl\tkernel.shmmax\t1\n"
           "sysctl\tkernel.shmmni\t1\nsysctl\tkernel.tainted\t1\n",
        "'kernel.tainted' is not a namespaced sysctl");
    bad(NULL, NS "uidmap\t0\t4000000000\t1\ngidmap\t0\t4000000000\t1\n",
        "linux.uidMappings: the range 0 4000000000 1");
    bad(NULL, NS "uidmap\t0\t4000000000\t1\n", "gidMappings is missing");
}

/* a user namespace by path: joined, none made, no map written, ids judged
 * by the kernel */
static void test_joined(void **state)
{
    (void)state;
    NrRunConfig cfg;
    NrOciSpec spec;
    NrError err = { 0 };
    assert_nr_ok(plan(NULL, "user\t7\t7\t-\nns\tuser\t/proc/1/ns/user\nns\tmount\t\n", &cfg, &spec,
                      NULL, &err),
                 err);
    assert_true(cfg.map.joined);
    assert_false(cfg.map.helpers);
    assert_int_equal(cfg.map.n_uid, 0);
    nr_oci_clear(&spec);
}

/* root of its user namespace: every id of it onto itself, setgroups kept */
static void test_identity(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    NrRunConfig cfg;
    NrOciSpec spec;
    NrError err = { 0 };
    assert_nr_ok(plan(NULL, "ns\tmount\t\n", &cfg, &spec, NULL, &err), err);
    assert_true(cfg.map.setgroups);
    assert_false(cfg.map.helpers);
    assert_true(cfg.map.n_uid >= 1 && cfg.map.n_gid >= 1);
    assert_int_equal(cfg.map.uid[0].inside, cfg.map.uid[0].outside);
    assert_int_equal(cfg.map.gid[0].inside, cfg.map.gid[0].outside);
    nr_oci_clear(&spec);
}

static void test_user(void **state)
{
    char tail[512];
    snprintf(tail, sizeof tail, "user\t1000\t0\t-\n" NS "uidmap\t0\t%u\t1\ngidmap\t0\t%u\t1\n",
             (unsigned)getuid(), (unsigned)getgid());
    char text[4096];
    snprintf(text, sizeof text, "%s", tail);
    /* user comes before the namespaces: HEAD's cwd, then user */
    bad(NULL, text, "process.user 1000:0 is not mapped");
    snprintf(tail, sizeof tail,
             "user\t0\t0\t-\ngroup\t5\n" NS "uidmap\t0\t%u\t1\ngidmap\t0\t%u\t1\n",
             (unsigned)getuid(), (unsigned)getgid());
    bad(NULL, tail, "additionalGids");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_map), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_joined),     cmocka_unit_test(test_identity),
        cmocka_unit_test(test_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
