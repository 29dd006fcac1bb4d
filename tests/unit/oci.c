/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/oci.c — src/oci/records.c: the records nroot-unpack
 * --oci-spec writes (HACKING.md, "The OCI records"), read into an NrOciSpec: every tag, the
 * escapes, and the errors of a strict reader. */
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <time.h>

#include "nr-oci.h"
#include "unit.h"

/* the least a spec holds */
#define BASE \
    "version\t1.2.0\n" \
    "bundle\t/b\n" \
    "root\t/b/rootfs\trw\n" \
    "arg\tsh\n" \
    "cwd\t/\n"

static void parse_ok(const char *text, NrOciSpec *s)
{
    NrError err = { 0 };
    int rc = nr_oci_parse_records(text, strlen(text), s, &err);
    assert_nr_ok(rc, err);
}

static void parse_bad(const char *text, const char *part)
{
    NrOciSpec s;
    NrError err = { 0 };
    int rc = nr_oci_parse_records(text, strlen(text), &s, &err);
    if (rc == 0)
        fail_msg("records accepted: %s", text);
    assert_nr_error(rc, err, part);
    /* nothing left behind */
    assert_null(s.version);
    assert_null(s.args);
    assert_int_equal(s.n_mounts, 0);
}

static void test_minimal(void **state)
{
    NrOciSpec s;
    parse_ok(BASE, &s);
    assert_string_equal(s.version, "1.2.0");
    assert_string_equal(s.bundle, "/b");
    assert_string_equal(s.root, "/b/rootfs");
    assert_false(s.root_ro);
    assert_string_equal(s.args[0], "sh");
    assert_null(s.args[1]);
    assert_string_equal(s.cwd, "/");
    /* the lists are never NULL, the rest unset */
    assert_null(s.env[0]);
    assert_null(s.masked[0]);
    assert_null(s.readonly[0]);
    assert_null(s.sysctl[0]);
    assert_null(s.annotations[0]);
    assert_null(s.warnings[0]);
    assert_int_equal(s.umask, -1);
    assert_false(s.caps_given);
    assert_false(s.has_oom);
    assert_false(s.has_seccomp);
    assert_null(s.seccomp);
    assert_null(s.hostname);
    assert_int_equal(s.rootfs_propagation, 0);
    nr_oci_clear(&s);
}

static void test_every_tag(void **state)
{
    static const char text[] =
        "version\t1.0.2-dev\n"
        "bundle\t/home/u/b\n"
        "root\t/home/u/b/rootfs\tro\n"
        "arg\tsh\n"
        "arg\t-c\n"
        "arg\techo hi\n"
        "env\tPATH=/bin\n"
        "env\tEMPTY=\n"
        "cwd\t/work\n"
        "user\t1000\t100\t18\n"
        "group\t5\n"
        "group\t6\n"
        "terminal\t1\t24\t80\n"
        "cap\tbounding\tCAP_CHOWN\n"
        "cap\tbounding\tCAP_KILL\n"
        "cap\teffective\tCAP_KILL\n"
        "cap\tinheritable\tCAP_NET_RAW\n"
        "cap\tpermitted\tCAP_KILL\n"
        "cap\tambient\tCAP_SYS_ADMIN\n"
        "caps\tgiven\n"
        "rlimit\tRLIMIT_NOFILE\t1024\t4096\n"
        "rlimit\tRLIMIT_CORE\t0\t18446744073709551615\n"
        "nnp\t1\n"
        "oom\t-500\n"
        "hostname\tbox\n"
        "domainname\texample.org\n"
        "mount\t/proc\tproc\tproc\n"
        "mount\t/data\t\t/srv/data\n"
        "mopt\trbind\n"
        "mopt\tro\n"
        "mount\t/tmp\ttmpfs\t\n"
        "ns\tpid\t\n"
        "ns\tnetwork\t/proc/1/ns/net\n"
        "ns\tmount\t\n"
        "ns\tuser\t\n"
        "ns\tipc\t\n"
        "ns\tuts\t\n"
        "ns\tcgroup\t\n"
        "ns\ttime\t\n"
        "uidmap\t0\t1000\t1\n"
        "uidmap\t1\t100000\t65536\n"
        "gidmap\t0\t1000\t1\n"
        "masked\t/proc/kcore\n"
        "readonly\t/proc/sys\n"
        "sysctl\tkernel.domainname\tx\n"
        "sysctl\tnet.ipv4.ip_forward\t1\n"
        "device\tc\t/dev/fuse\t10\t229\t438\t0\t-\n"
        "device\tp\t/dev/fifo\t0\t0\t-\t-\t-\n"
        "timeoffset\tmonotonic\t-3600\t0\n"
        "timeoffset\tboottime\t86400\t500\n"
        "propagation\trslave\n"
        "hook\tprestart\t/bin/pre\t0\n"
        "hook\tcreateRuntime\t/bin/cr\t5\n"
        "hookarg\tcr\n"
        "hookarg\t--flag\n"
        "hookenv\tA=1\n"
        "hook\tpoststop\t/bin/stop\t0\n"
        "annotation\ta.b\tone\n"
        "annotation\tz\t\n"
        "seccomp\t4\t1 syscall name unknown to libseccomp 2.5.4, ignored: foo\n"
        "warn\tconfig.json: process.apparmorProfile is ignored (no AppArmor rootless)\n";
    NrOciSpec s;
    parse_ok(text, &s);
    assert_string_equal(s.version, "1.0.2-dev");
    assert_string_equal(s.bundle, "/home/u/b");
    assert_string_equal(s.root, "/home/u/b/rootfs");
    assert_true(s.root_ro);
    assert_string_equal(s.args[0], "sh");
    assert_string_equal(s.args[2], "echo hi");
    assert_null(s.args[3]);
    assert_string_equal(s.env[0], "PATH=/bin");
    assert_string_equal(s.env[1], "EMPTY=");
    assert_null(s.env[2]);
    assert_string_equal(s.cwd, "/work");
    assert_int_equal(s.uid, 1000);
    assert_int_equal(s.gid, 100);
    assert_int_equal(s.umask, 18);
    assert_int_equal(s.n_gids, 2);
    assert_int_equal(s.gids[0], 5);
    assert_int_equal(s.gids[1], 6);
    assert_true(s.terminal);
    assert_int_equal(s.console_height, 24);
    assert_int_equal(s.console_width, 80);
    assert_true(s.caps_given);
    assert_int_equal(s.caps[NR_OCI_CAP_BOUNDING], (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL));
    assert_int_equal(s.caps[NR_OCI_CAP_EFFECTIVE], 1ULL << CAP_KILL);
    assert_int_equal(s.caps[NR_OCI_CAP_INHERITABLE], 1ULL << CAP_NET_RAW);
    assert_int_equal(s.caps[NR_OCI_CAP_PERMITTED], 1ULL << CAP_KILL);
    assert_int_equal(s.caps[NR_OCI_CAP_AMBIENT], 1ULL << CAP_SYS_ADMIN);
    assert_int_equal(s.n_rlimits, 2);
    assert_int_equal(s.rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(s.rlimits[0].soft, 1024);
    assert_int_equal(s.rlimits[0].hard, 4096);
    assert_int_equal(s.rlimits[1].resource, RLIMIT_CORE);
    assert_true(s.rlimits[1].hard == UINT64_MAX);
    assert_true(s.no_new_privs);
    assert_true(s.has_oom);
    assert_int_equal(s.oom_score_adj, -500);
    assert_string_equal(s.hostname, "box");
    assert_string_equal(s.domainname, "example.org");
    assert_int_equal(s.n_mounts, 3);
    assert_string_equal(s.mounts[0].dst, "/proc");
    assert_string_equal(s.mounts[0].type, "proc");
    assert_string_equal(s.mounts[0].src, "proc");
    assert_null(s.mounts[0].options[0]);
    assert_string_equal(s.mounts[1].type, "");
    assert_string_equal(s.mounts[1].src, "/srv/data");
    assert_string_equal(s.mounts[1].options[0], "rbind");
    assert_string_equal(s.mounts[1].options[1], "ro");
    assert_null(s.mounts[1].options[2]);
    assert_string_equal(s.mounts[2].src, "");
    assert_null(s.mounts[2].options[0]);
    assert_int_equal(s.n_ns, 8);
    assert_int_equal(s.ns[0].type, CLONE_NEWPID);
    assert_null(s.ns[0].path);
    assert_int_equal(s.ns[1].type, CLONE_NEWNET);
    assert_string_equal(s.ns[1].path, "/proc/1/ns/net");
    assert_int_equal(s.ns[2].type, CLONE_NEWNS);
    assert_int_equal(s.ns[3].type, CLONE_NEWUSER);
    assert_int_equal(s.ns[4].type, CLONE_NEWIPC);
    assert_int_equal(s.ns[5].type, CLONE_NEWUTS);
    assert_int_equal(s.ns[6].type, CLONE_NEWCGROUP);
    assert_int_equal(s.ns[7].type, CLONE_NEWTIME);
    assert_int_equal(s.n_uid_map, 2);
    assert_int_equal(s.uid_map[1].inside, 1);
    assert_int_equal(s.uid_map[1].outside, 100000);
    assert_int_equal(s.uid_map[1].count, 65536);
    assert_int_equal(s.n_gid_map, 1);
    assert_int_equal(s.gid_map[0].outside, 1000);
    assert_string_equal(s.masked[0], "/proc/kcore");
    assert_string_equal(s.readonly[0], "/proc/sys");
    assert_string_equal(s.sysctl[0], "kernel.domainname=x");
    assert_string_equal(s.sysctl[1], "net.ipv4.ip_forward=1");
    assert_null(s.sysctl[2]);
    assert_int_equal(s.n_devices, 2);
    assert_int_equal(s.devices[0].type, 'c');
    assert_string_equal(s.devices[0].path, "/dev/fuse");
    assert_int_equal(s.devices[0].major, 10);
    assert_int_equal(s.devices[0].minor, 229);
    assert_true(s.devices[0].has_mode);
    assert_int_equal(s.devices[0].mode, 0666);
    assert_true(s.devices[0].has_uid);
    assert_int_equal(s.devices[0].uid, 0);
    assert_false(s.devices[0].has_gid);
    assert_int_equal(s.devices[1].type, 'p');
    assert_false(s.devices[1].has_mode);
    assert_true(s.time_offsets.set[NR_CLOCK_MONOTONIC]);
    assert_int_equal(s.time_offsets.secs[NR_CLOCK_MONOTONIC], -3600);
    assert_int_equal(s.time_offsets.nsecs[NR_CLOCK_MONOTONIC], 0);
    assert_true(s.time_offsets.set[NR_CLOCK_BOOTTIME]);
    assert_int_equal(s.time_offsets.secs[NR_CLOCK_BOOTTIME], 86400);
    assert_int_equal(s.time_offsets.nsecs[NR_CLOCK_BOOTTIME], 500);
    assert_int_equal(s.rootfs_propagation, MS_SLAVE | MS_REC);
    assert_int_equal(s.n_hooks, 3);
    assert_int_equal(s.hooks[0].stage, NR_HOOK_PRESTART);
    assert_string_equal(s.hooks[0].path, "/bin/pre");
    assert_null(s.hooks[0].args);
    assert_null(s.hooks[0].env);
    assert_int_equal(s.hooks[1].stage, NR_HOOK_CREATE_RUNTIME);
    assert_int_equal(s.hooks[1].timeout, 5);
    assert_string_equal(s.hooks[1].args[0], "cr");
    assert_string_equal(s.hooks[1].args[1], "--flag");
    assert_null(s.hooks[1].args[2]);
    assert_string_equal(s.hooks[1].env[0], "A=1");
    assert_null(s.hooks[1].env[1]);
    assert_int_equal(s.hooks[2].stage, NR_HOOK_POSTSTOP);
    assert_null(s.hooks[2].args);
    assert_string_equal(s.annotations[0], "a.b=one");
    assert_string_equal(s.annotations[1], "z=");
    assert_null(s.annotations[2]);
    assert_true(s.has_seccomp);
    assert_int_equal(s.seccomp_flags, 4);
    assert_null(s.seccomp); /* nr_oci_load reads the program */
    /* the seccomp note is a warning, before the warn records */
    assert_string_equal(
        s.warnings[0],
        "config.json: linux.seccomp: 1 syscall name unknown to libseccomp 2.5.4, ignored: foo");
    assert_string_equal(s.warnings[1],
                        "config.json: process.apparmorProfile is ignored (no AppArmor rootless)");
    assert_null(s.warnings[2]);
    nr_oci_clear(&s);
    assert_null(s.version);
    assert_int_equal(s.umask, -1);
}

static void test_escapes(void **state)
{
    NrOciSpec s;
    parse_ok(BASE "arg\t100%25\n"
                  "arg\ta%09b\n"
                  "arg\tline1%0Aline2%0D\n"
                  "arg\t%2509\n"
                  "arg\t\n"
                  "env\tK=%25%09%0A%0D\n"
                  "mount\t/m%09n\ttmpfs\t\n",
             &s);
    assert_string_equal(s.args[1], "100%");
    assert_string_equal(s.args[2], "a\tb");
    assert_string_equal(s.args[3], "line1\nline2\r");
    assert_string_equal(s.args[4], "%09"); /* one escape, not two */
    assert_string_equal(s.args[5], "");
    assert_string_equal(s.env[0], "K=%\t\n\r");
    assert_string_equal(s.mounts[0].dst, "/m\tn");
    nr_oci_clear(&s);
}

static void test_errors(void **state)
{
    static const struct {
        const char *text, *part;
    } cases[] = {
        { "", "lack" },
        { "version\t1.0.0\n", "lack" },
        { BASE "frobnicate\tx\n", "line 6: unknown tag" },
        { BASE "arg\n", "wrong number of fields" },
        { BASE "arg\ta\tb\n", "wrong number of fields" },
        { BASE "version\t1.0.0\n", "repeated" },
        { BASE "cwd\t/x\n", "repeated" },
        { BASE "arg\tx", "does not end" },
        { BASE "\n", "unknown tag" },
        { BASE "arg\t%\n", "escape" },
        { BASE "arg\t%2\n", "escape" },
        { BASE "arg\t%41\n", "escape" },
        { BASE "arg\t%0a\n", "escape" },
        { "version\t1.2.0\nbundle\tb\n", "not absolute" },
        { "version\t1.2.0\nbundle\t/b\nroot\t/r\trx\n", "bad root" },
        { BASE "env\tNOEQUALS\n", "K=V" },
        { BASE "user\t0\t0\t0888\n", "bad user" },
        { BASE "user\t-1\t0\t-\n", "bad user" },
        { BASE "user\t4294967296\t0\t-\n", "bad user" },
        { BASE "user\t0x10\t0\t-\n", "bad user" },
        { BASE "group\t\n", "bad group" },
        { BASE "terminal\t2\t0\t0\n", "bad terminal" },
        { BASE "terminal\t1\t70000\t0\n", "bad terminal" },
        { BASE "cap\tsuper\tCAP_KILL\n", "bad capability" },
        { BASE "cap\tbounding\tCAP_NOPE\n", "bad capability" },
        { BASE "cap\tbounding\tKILL\n", "bad capability" },
        { BASE "caps\tmaybe\n", "bad caps" },
        { BASE "rlimit\tRLIMIT_FOO\t1\t1\n", "bad rlimit" },
        { BASE "rlimit\tRLIMIT_NOFILE\t18446744073709551616\t1\n", "bad rlimit" },
        { BASE "nnp\tyes\n", "bad nnp" },
        { BASE "oom\t1001\n", "bad oom" },
        { BASE "oom\t--1\n", "bad oom" },
        { BASE "mopt\tro\n", "before any mount" },
        { BASE "mount\trel\t\t\n", "not absolute" },
        { BASE "ns\tnet\t\n", "bad namespace" },
        { BASE "ns\tpid\t\nns\tpid\t\n", "bad namespace" },
        { BASE "ns\tpid\trel\n", "bad namespace" },
        { BASE "uidmap\t0\t0\t0\n", "bad id map" },
        { BASE "uidmap\t4294967295\t0\t2\n", "bad id map" },
        { BASE "gidmap\t0\t0\t1\ngidmap\t1\t1\t1\ngidmap\t2\t2\t1\ngidmap\t3\t3\t1\n",
          "more id ranges" },
        { BASE "masked\tproc\n", "not absolute" },
        { BASE "sysctl\t\tv\n", "bad key" },
        { BASE "sysctl\tb\t1\nsysctl\ta\t1\n", "out of order" },
        { BASE "annotation\tk=x\tv\n", "bad key" },
        { BASE "device\tx\t/dev/x\t1\t1\t-\t-\t-\n", "bad device" },
        { BASE "device\tc\tdev/x\t1\t1\t-\t-\t-\n", "bad device" },
        { BASE "device\tc\t/dev/x\t1\t1\t010000\t-\t-\n", "bad device" },
        { BASE "device\tc\t/dev/x\t1\t1\t-\t-\n", "wrong number" },
        { BASE "timeoffset\trealtime\t1\t0\n", "bad time offset" },
        { BASE "timeoffset\tboottime\t1\t1000000000\n", "bad time offset" },
        { BASE "propagation\tsideways\n", "bad propagation" },
        { BASE "hook\tpoststart\trel\t0\n", "bad hook" },
        { BASE "hook\tlater\t/x\t0\n", "bad hook" },
        { BASE "hook\tpoststart\t/x\t-1\n", "bad hook" },
        { BASE "hookarg\tx\n", "before any hook" },
        { BASE "hook\tpoststop\t/x\t0\nhookenv\tnoeq\n", "K=V" },
        { BASE "seccomp\tx\t\n", "bad seccomp" },
        { BASE "seccomp\t0\t\nseccomp\t0\t\n", "repeated" },
        { "version\t1.2.0\nbundle\t/b\nroot\t/b/r\trw\ncwd\t/\n", "lack" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        parse_bad(cases[i].text, cases[i].part);
    /* a NUL byte, inside the length */
    NrOciSpec s;
    NrError err = { 0 };
    static const char nul[] = BASE "arg\ta\0b\n";
    assert_nr_error(nr_oci_parse_records(nul, sizeof nul - 1, &s, &err), err, "NUL");
}

/* what a failure leaves: nothing (run under ASan: no leak either) */
static void test_error_late(void **state)
{
    parse_bad(BASE "mount\t/a\ttmpfs\t\nmopt\tro\nhook\tpoststop\t/x\t0\nhookarg\ta\n"
                   "env\tA=1\nwarn\tw\nbogus\n",
              "unknown tag");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),    cmocka_unit_test(test_every_tag),
        cmocka_unit_test(test_escapes),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_late),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
