/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/rootemu.c — src/seccomp/rootemu.c: auto decided by the id
 * map, and root emulation's filter, loaded in a child as an unprivileged
 * user, answering the id calls with success and leaving the rest real
 * (fifos and the whiteout device 0:0 among them). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "nr-filter.h"
#include "nr-seccomp.h"
#include "unit.h"

static void test_resolve(void **state)
{
    NrIdMap single = {
        .n_uid = 1, .n_gid = 1, .uid = { { 0, 1000, 1 } }, .gid = { { 0, 1000, 1 } }
    };
    NrIdMap keepid = { .n_uid = 1, .n_gid = 1, .uid = { { 1000, 1000, 1 } } };
    NrIdMap subids = { .helpers = true,
                       .n_uid = 2,
                       .uid = { { 0, 1000, 1 }, { 1, 100000, 65536 } } };
    assert_int_equal(nr_rootemu_resolve(NR_ROOTEMU_AUTO, &single), NR_ROOTEMU_ON);
    assert_int_equal(nr_rootemu_resolve(NR_ROOTEMU_AUTO, &keepid), NR_ROOTEMU_OFF);
    assert_int_equal(nr_rootemu_resolve(NR_ROOTEMU_AUTO, &subids), NR_ROOTEMU_OFF);
    /* on and off are the user's, whatever the map */
    assert_int_equal(nr_rootemu_resolve(NR_ROOTEMU_ON, &subids), NR_ROOTEMU_ON);
    assert_int_equal(nr_rootemu_resolve(NR_ROOTEMU_OFF, &single), NR_ROOTEMU_OFF);
}

static void test_profile(void **state)
{
    const NrSeccompProfile *p = nr_seccomp_rootemu();
    assert_string_equal(p->name, "rootemu");
    assert_int_equal(p->default_action, SCMP_ACT_ALLOW);
    assert_int_equal(p->arches, NR_ARCH_ALL);
    assert_true(nr_seccomp_digest(p) != nr_seccomp_digest(nr_seccomp_default()));
    /* every id rule asks for the capability that lets root make the call;
     * device nodes are faked without one */
    uint64_t used = 0;
    int chr = 0;
    for (size_t i = 0; i < p->n_rules; i++) {
        const NrSeccompRule *r = &p->rules[i];
        bool mknod = strncmp(r->names, "mknod", 5) == 0;
        assert_true(mknod ? r->caps_all == 0 : r->caps_all != 0);
        used |= r->caps_all;
        if (!mknod || r->args[0].value2 != S_IFCHR)
            continue;
        /* a character device only with a number that is not 0:0 (the
         * whiteout): mknod's third argument, mknodat's fourth */
        unsigned dev = strcmp(r->names, "mknod") == 0 ? 2 : 3;
        assert_int_equal(r->n_args, 2);
        assert_int_equal(r->args[1].index, dev);
        assert_int_equal(r->args[1].op, SCMP_CMP_NE);
        assert_int_equal(r->args[1].value, 0);
        chr++;
    }
    assert_int_equal(used, NR_CAP(CAP_CHOWN) | NR_CAP(CAP_SETUID) | NR_CAP(CAP_SETGID));
    assert_int_equal(chr, 2);
}

/* the filter in a child of an unprivileged caller (chown to another id,
 * setuid and device nodes fail there without it) */
static void test_filter(void **state)
{
    if (geteuid() == 0)
        skip(); /* as root the calls would succeed for real */
    int fd = memfd_create("bpf", MFD_CLOEXEC);
    assert_true(fd >= 0);
    NrError err = { 0 };
    uint64_t caps = NR_CAP(CAP_CHOWN) | NR_CAP(CAP_SETUID) | NR_CAP(CAP_SETGID);
    assert_nr_ok(nr_seccomp_compile(nr_seccomp_rootemu(), caps, fd, NULL, &err), err);
    off_t len = lseek(fd, 0, SEEK_END);
    assert_true(len > 0);
    struct sock_filter *prog = malloc((size_t)len);
    assert_non_null(prog);
    assert_int_equal(pread(fd, prog, (size_t)len, 0), len);
    close(fd);
    char dir[] = "/tmp/nroot-rootemu-XXXXXX";
    assert_non_null(mkdtemp(dir));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sock_fprog fp = { .len = (unsigned short)(len / (off_t)sizeof *prog),
                                 .filter = prog };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) < 0)
            _exit(77);
        char path[128];
        snprintf(path, sizeof path, "%s/f", dir);
        if (close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) < 0)
            _exit(1);
        struct stat st;
        if (chown(path, 0, 0) != 0 || lchown(path, 0, 0) != 0 || stat(path, &st) != 0 ||
            st.st_uid != getuid())
            _exit(2);
        if (setuid(0) != 0 || setgid(0) != 0 || setgroups(0, NULL) != 0 || getuid() == 0)
            _exit(3);
        /* setfsuid(-1) asks: the real answer, the caller's fsuid */
        if (syscall(SYS_setfsuid, (uid_t)-1) != (long)geteuid())
            _exit(4);
        snprintf(path, sizeof path, "%s/null", dir);
        if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) != 0 || access(path, F_OK) == 0)
            _exit(5);
        /* a block device, whatever its number */
        snprintf(path, sizeof path, "%s/blk", dir);
        if (mknodat(AT_FDCWD, path, S_IFBLK | 0600, 0) != 0 || access(path, F_OK) == 0)
            _exit(8);
        /* character device 0:0, the overlay whiteout anyone may make
         * (Linux 5.8): made for real, or refused as the kernel would */
        snprintf(path, sizeof path, "%s/whiteout", dir);
        int wh = mknodat(AT_FDCWD, path, S_IFCHR | 0600, makedev(0, 0));
        if (wh == 0 && (stat(path, &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != 0))
            _exit(9);
        if (wh != 0 && errno != EPERM && errno != EINVAL)
            _exit(10);
        snprintf(path, sizeof path, "%s/fifo", dir);
        if (mknod(path, S_IFIFO | 0600, 0) != 0 || stat(path, &st) != 0 || !S_ISFIFO(st.st_mode))
            _exit(6);
        /* not faked: a real error stays */
        if (chmod("/nonexistent/x", 0600) == 0 || errno != ENOENT)
            _exit(7);
        _exit(0);
    }
    free(prog);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip(); /* seccomp filters cannot be loaded here */
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
