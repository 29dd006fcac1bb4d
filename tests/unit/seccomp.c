/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/seccomp.c — src/seccomp/compile.c and default.c: profiles
 * compiled to BPF, and the program doing what the profile says. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "nr-seccomp.h"
#include "unit.h"

/* the program compiled from `p`, malloc()ed, its length in *ret_len */
static unsigned char *compile(const NrSeccompProfile *p, uint64_t caps, NrStrv *unknown,
                              size_t *ret_len)
{
    int fd = memfd_create("bpf", MFD_CLOEXEC);
    assert_true(fd >= 0);
    NrError err = { 0 };
    int rc = nr_seccomp_compile(p, caps, fd, unknown, &err);
    if (rc != 0)
        fail_msg("profile '%s': %s", p->name, err.msg);
    off_t len = lseek(fd, 0, SEEK_END);
    assert_true(len > 0);
    assert_int_equal(len % (off_t)sizeof(struct sock_filter), 0);
    unsigned char *buf = malloc((size_t)len);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    *ret_len = (size_t)len;
    return buf;
}

static const NrSeccompRule rules[] = {
    { .names = "getppid", .action = SCMP_ACT_ERRNO(EPERM) },
    { .names = "nosuchcall getpgrp nosuchcall anothernosuchcall",
      .action = SCMP_ACT_ERRNO(EACCES) },
    /* only without CAP_SYS_ADMIN (21) */
    { .names = "getsid", .action = SCMP_ACT_ERRNO(ENOTSUP), .caps_none = NR_CAP(21) },
};
static const NrSeccompProfile profile = {
    .name = "unit",
    .default_action = SCMP_ACT_ALLOW,
    .rules = rules,
    .n_rules = 3,
};

static void test_compile(void **state)
{
    NrStrv unknown = { 0 };
    size_t n0, n1;
    unsigned char *p0 = compile(&profile, 0, &unknown, &n0);
    /* names libseccomp does not know: skipped, listed once each */
    assert_int_equal(unknown.n, 2);
    assert_string_equal(unknown.v[0], "nosuchcall");
    assert_string_equal(unknown.v[1], "anothernosuchcall");
    nr_strv_clear(&unknown);
    /* the capabilities choose the rules */
    unsigned char *p1 = compile(&profile, NR_CAP(21), NULL, &n1);
    assert_false(n0 == n1 && memcmp(p0, p1, n0) == 0);
    /* the same input, the same program (the filter cache depends on it) */
    size_t n2;
    unsigned char *p2 = compile(&profile, 0, NULL, &n2);
    assert_int_equal(n2, n0);
    assert_memory_equal(p2, p0, n0);
    free(p0);
    free(p1);
    free(p2);
}

static void test_compile_refuses(void **state)
{
    static const NrSeccompArg args[7] = { { 0 } };
    const NrSeccompRule many[] = {
        { .names = "read", .action = SCMP_ACT_ERRNO(1), .args = args, .n_args = 7 }
    };
    const NrSeccompProfile p = {
        .name = "many", .default_action = SCMP_ACT_ALLOW, .rules = many, .n_rules = 1
    };
    int fd = memfd_create("bpf", MFD_CLOEXEC);
    NrError err = { 0 };
    assert_nr_error(nr_seccomp_compile(&p, 0, fd, NULL, &err), err, "more than 6 argument");
    /* an argument index beyond 5: libseccomp refuses the rule */
    const NrSeccompArg bad_arg[] = { { .index = 9, .op = SCMP_CMP_EQ, .value = 1 } };
    const NrSeccompRule r2[] = {
        { .names = "read", .action = SCMP_ACT_ERRNO(1), .args = bad_arg, .n_args = 1 }
    };
    const NrSeccompProfile p2 = {
        .name = "badarg", .default_action = SCMP_ACT_ALLOW, .rules = r2, .n_rules = 1
    };
    assert_nr_error(nr_seccomp_compile(&p2, 0, fd, NULL, &err), err,
                    "cannot add the rule for 'read'");
    /* an empty profile: the default action alone */
    const NrSeccompProfile empty = { .name = "empty", .default_action = SCMP_ACT_ALLOW };
    assert_nr_ok(nr_seccomp_compile(&empty, 0, fd, NULL, &err), err);
    close(fd);
}

/* a child loads the program (freed here), then _exits with what calls()
 * returns: 0 when every call was answered as expected */
static void run_under(unsigned char *prog, size_t len, int (*calls)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sock_fprog fp = { .len = (unsigned short)(len / sizeof(struct sock_filter)),
                                 .filter = (struct sock_filter *)prog };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) < 0)
            _exit(77);
        _exit(calls());
    }
    free(prog);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status))
        fail_msg("killed by signal %d under the filter", WTERMSIG(status));
    if (WEXITSTATUS(status) == 77)
        skip(); /* seccomp filters cannot be loaded here */
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int profile_calls(void)
{
    /* syscall(): glibc's getppid() does not set errno */
    if (syscall(SYS_getppid) != -1 || errno != EPERM)
        return 1;
    if (syscall(SYS_getpgrp) != -1 || errno != EACCES)
        return 2;
    if (syscall(SYS_getsid, 0) != -1 || errno != ENOTSUP)
        return 3;
    if (syscall(SYS_getpid) <= 0)
        return 4;
    return 0;
}

/* load the program in a child and try the calls */
static void test_program_works(void **state)
{
    size_t len;
    unsigned char *prog = compile(&profile, 0, NULL, &len);
    run_under(prog, len, profile_calls);
}

static void test_default_profile(void **state)
{
    const NrSeccompProfile *d = nr_seccomp_default();
    assert_non_null(d);
    assert_true(d->n_rules > 0);
    assert_int_equal(nr_seccomp_default_digest(), nr_seccomp_default_digest());
    /* it compiles for no capabilities, all, and the host network */
    size_t n0, n1, n2;
    NrStrv unknown = { 0 };
    free(compile(d, 0, &unknown, &n0));
    free(compile(d, ~0ULL & ~NR_SECCOMP_HOSTNET, NULL, &n1));
    free(compile(d, NR_SECCOMP_HOSTNET, NULL, &n2));
    assert_true(n0 != n1);
    for (size_t i = 0; i < unknown.n; i++)
        print_message("# the default profile names a syscall libseccomp does not know: %s\n",
                      unknown.v[i]);
    nr_strv_clear(&unknown);
}

/* x32: where the kernel runs no x32 call the default profile leaves x32
 * out, and an x32 call under it gets the kernel's ENOSYS, not a kill for
 * an ABI the filter lacks; where it does, the profile's rules hold */
static bool x32_live;

static int x32_calls(void)
{
    long r = syscall(0x40000000L | SYS_getpid);
    if (x32_live ? r <= 0 : r != -1 || errno != ENOSYS)
        return 1;
    /* keyctl: EPERM by the profile where x32 runs, ENOSYS where not */
    r = syscall(0x40000000L | SYS_keyctl, 9999);
    if (r != -1 || errno != (x32_live ? EPERM : ENOSYS))
        return 2;
    if (syscall(SYS_getpid) <= 0)
        return 3;
    return 0;
}

static void test_default_x32(void **state)
{
    size_t len;
    unsigned char *prog = compile(nr_seccomp_default(), 0, NULL, &len);
    x32_live = nr_seccomp_x32_live();
    run_under(prog, len, x32_calls);
    assert_int_equal(nr_seccomp_x32_live(), x32_live); /* asked once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile),       cmocka_unit_test(test_compile_refuses),
        cmocka_unit_test(test_program_works), cmocka_unit_test(test_default_profile),
        cmocka_unit_test(test_default_x32),
    };
    return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
