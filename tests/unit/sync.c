/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/sync.c — src/ns/sync.c: messages on the sync socket, with one
 * fd and with several (NR_SYNC_NSSET). */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "nr-spawn.h"
#include "unit.h"

static bool is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_one_fd(void **state)
{
    int sv[2];
    pair(sv);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    NrError e = { .code = 3 };
    assert_int_equal(nr_sync_send_fd_err(sv[0], NR_SYNC_NS, fd, &e), 0);
    NrSyncMsg m;
    assert_int_equal(nr_sync_recv(sv[1], &m), 1);
    assert_int_equal(m.type, NR_SYNC_NS);
    assert_int_equal(m.err.code, 3);
    assert_true(m.fd >= 0 && m.fd != fd);
    struct stat a, b;
    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(fstat(m.fd, &b), 0);
    assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    assert_true(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
    close(m.fd);
    close(fd);
    close(sv[0]);
    close(sv[1]);
}

/* eight fds in one message: nr_sync_recv_more hands over all of them in
 * order; nr_sync_recv keeps the first and closes the others */
static void test_many_fds(void **state)
{
    int sv[2];
    pair(sv);
    int fds[NR_SYNC_MAX_FDS];
    for (int i = 0; i < NR_SYNC_MAX_FDS; i++) {
        fds[i] = memfd_create("sync", MFD_CLOEXEC);
        assert_true(fds[i] >= 0);
        assert_int_equal(ftruncate(fds[i], i + 1), 0); /* told apart by size */
    }
    NrError e = { .code = 0xff };
    assert_int_equal(nr_sync_send_fds(sv[0], NR_SYNC_NSSET, fds, NR_SYNC_MAX_FDS, &e), 0);
    NrSyncMsg m;
    int more[NR_SYNC_MAX_FDS - 1], n = -1;
    assert_int_equal(nr_sync_recv_more(sv[1], &m, more, &n), 1);
    assert_int_equal(m.type, NR_SYNC_NSSET);
    assert_int_equal(m.err.code, 0xff);
    assert_int_equal(n, NR_SYNC_MAX_FDS - 1);
    struct stat st;
    assert_int_equal(fstat(m.fd, &st), 0);
    assert_int_equal(st.st_size, 1);
    close(m.fd);
    for (int i = 0; i < n; i++) {
        assert_int_equal(fstat(more[i], &st), 0);
        assert_int_equal(st.st_size, i + 2);
        close(more[i]);
    }
    /* again, read by nr_sync_recv: the fds after the first are closed */
    assert_int_equal(nr_sync_send_fds(sv[0], NR_SYNC_NSSET, fds, 3, &e), 0);
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC); /* the lowest free fd */
    close(probe);
    assert_int_equal(nr_sync_recv(sv[1], &m), 1);
    assert_int_equal(m.fd, probe);
    assert_false(is_open(probe + 1));
    assert_false(is_open(probe + 2));
    close(m.fd);
    /* none, or too many */
    assert_int_equal(nr_sync_send_fds(sv[0], NR_SYNC_NSSET, fds, 0, &e), -1);
    for (int i = 0; i < NR_SYNC_MAX_FDS; i++)
        close(fds[i]);
    close(sv[0]);
    close(sv[1]);
}

/* a message of the wrong size (an older or newer peer): refused, its fds
 * closed */
static void test_wrong_size(void **state)
{
    int sv[2];
    pair(sv);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char small[16] = { 0 };
    assert_int_equal(nr_send_fd(sv[0], small, sizeof small, fd), 0);
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    close(probe);
    NrSyncMsg m;
    assert_int_equal(nr_sync_recv(sv[1], &m), -1);
    assert_int_equal(m.fd, -1);
    assert_false(is_open(probe));
    close(fd);
    close(sv[0]);
    assert_int_equal(nr_sync_recv(sv[1], &m), 0); /* EOF */
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_fd),
        cmocka_unit_test(test_many_fds),
        cmocka_unit_test(test_wrong_size),
    };
    return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
