/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/bypass.c — src/host/bypass.c: which connects --tcp-bypass
 * carries on a host socket, and where 10.0.2.2 (fd00::2) goes; and its
 * filter (seccomp/bypass.c) compiles for every ABI. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "nr-bypass.h"
#include "nr-seccomp.h"
#include "unit.h"

static NrBypassDest classify(const char *addr, bool host_loopback, char *ret, size_t len)
{
    struct sockaddr_storage sa, to;
    socklen_t sl, tl;
    memset(&sa, 0, sizeof sa);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(80);
        assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
        sl = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        in->sin_family = AF_INET;
        in->sin_port = htons(80);
        assert_int_equal(inet_pton(AF_INET, addr, &in->sin_addr), 1);
        sl = sizeof *in;
    }
    NrBypassDest d = nr_bypass_classify(&sa, sl, host_loopback, &to, &tl);
    assert_int_equal(tl, sl);
    if (to.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&to)->sin_addr, ret, (socklen_t)len);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&to)->sin6_addr, ret, (socklen_t)len);
    return d;
}

#define HOST(a, hl, want) \
    do { \
        char got[64]; \
        assert_int_equal(classify((a), (hl), got, sizeof got), NR_BYPASS_HOST); \
        assert_string_equal(got, (want)); \
    } while (0)
#define PLAIN(a, hl) \
    do { \
        char got[64]; \
        assert_int_equal(classify((a), (hl), got, sizeof got), NR_BYPASS_PLAIN); \
    } while (0)

static void test_classify(void **state)
{
    /* outside: as given */
    HOST("192.0.2.7", false, "192.0.2.7");
    HOST("10.0.3.1", false, "10.0.3.1");
    HOST("2001:db8::1", false, "2001:db8::1");
    HOST("::ffff:192.0.2.7", false, "::ffff:192.0.2.7");
    HOST("fd00:0:0:1::1", false, "fd00:0:0:1::1");
    /* the container's own: loopback, unspecified, slirp's subnet */
    PLAIN("127.0.0.1", true);
    PLAIN("127.1.2.3", true);
    PLAIN("0.0.0.0", true);
    PLAIN("10.0.2.3", true);
    PLAIN("10.0.2.100", true);
    PLAIN("10.0.2.255", true);
    PLAIN("::1", true);
    PLAIN("::", true);
    PLAIN("::ffff:127.0.0.1", true);
    PLAIN("::ffff:10.0.2.3", true);
    PLAIN("fd00::3", true);
    PLAIN("fd00::100", true);
    PLAIN("fe80::1", true);
    /* the host: its loopback with --host-loopback, slirp's refusal without */
    HOST("10.0.2.2", true, "127.0.0.1");
    HOST("fd00::2", true, "::1");
    HOST("::ffff:10.0.2.2", true, "::ffff:127.0.0.1");
    PLAIN("10.0.2.2", false);
    PLAIN("fd00::2", false);
    PLAIN("::ffff:10.0.2.2", false);
}

static void test_short_or_other(void **state)
{
    struct sockaddr_storage sa, to;
    socklen_t tl;
    memset(&sa, 0, sizeof sa);
    sa.ss_family = AF_INET;
    /* too short for its family: the kernel's EINVAL, on the plain path */
    assert_int_equal(nr_bypass_classify(&sa, 4, true, &to, &tl), NR_BYPASS_PLAIN);
    sa.ss_family = AF_UNIX;
    assert_int_equal(nr_bypass_classify(&sa, sizeof sa, true, &to, &tl), NR_BYPASS_PLAIN);
    sa.ss_family = AF_UNSPEC;
    assert_int_equal(nr_bypass_classify(&sa, sizeof sa, true, &to, &tl), NR_BYPASS_PLAIN);
}

static void test_filter_compiles(void **state)
{
    int fd = memfd_create("bypass", MFD_CLOEXEC);
    assert_true(fd >= 0);
    NrError err = { 0 };
    assert_nr_ok(nr_seccomp_compile(nr_seccomp_bypass(), 0, fd, NULL, &err), err);
    assert_true(lseek(fd, 0, SEEK_END) > 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_short_or_other),
        cmocka_unit_test(test_filter_compiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
