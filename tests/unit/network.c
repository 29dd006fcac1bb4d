/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/network.c — src/state/network.c: network names, subnets (what
 * `network create --subnet` takes, the first free default, overlaps, the
 * fixed addresses) and the records in a scratch store (create, load, list,
 * a damaged one, the lock that refuses rm of a network in use). */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>

#include "nr-network.h"
#include "unit.h"

static struct in_addr ip(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static void assert_ip(struct in_addr a, const char *want)
{
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_names(void **state)
{
    static const char *const good[] = { "web", "a", "a-b.c_d", "Web2", "0net" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(nr_network_name_valid(good[i]));
    static const char *const bad[] = { "",     "-a",   ".a",    "_a",  "a/b",  "a b",        "../x",
                                       "none", "host", "slirp", "a:b", "a\nb", "caf\xc3\xa9" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(nr_network_name_valid(bad[i]));
    char name[80];
    memset(name, 'n', sizeof name);
    name[NR_NETWORK_NAME_MAX] = '\0';
    assert_true(nr_network_name_valid(name));
    name[NR_NETWORK_NAME_MAX] = 'n';
    name[NR_NETWORK_NAME_MAX + 1] = '\0';
    assert_false(nr_network_name_valid(name));
}

static void subnet_ok(const char *s, const char *net, int prefix)
{
    struct in_addr a;
    int p = -1;
    NrError err = { 0 };
    assert_nr_ok(nr_network_parse_subnet(s, &a, &p, &err), err);
    assert_ip(a, net);
    assert_int_equal(p, prefix);
}

static void subnet_bad(const char *s, const char *part)
{
    struct in_addr a = { 0 };
    int p = -1;
    NrError err = { 0 };
    assert_nr_error(nr_network_parse_subnet(s, &a, &p, &err), err, part);
    assert_int_equal(p, -1); /* nothing set on failure */
    if (*s && !strstr(err.msg, s))
        fail_msg("error message \"%s\" does not name '%s'", err.msg, s);
}

static void test_subnets(void **state)
{
    subnet_ok("10.89.1.0/24", "10.89.1.0", 24);
    subnet_ok("172.16.0.0/16", "172.16.0.0", 16);
    subnet_ok("172.31.255.240/28", "172.31.255.240", 28);
    subnet_ok("192.168.100.0/28", "192.168.100.0", 28);
    subnet_ok("10.0.3.0/24", "10.0.3.0", 24); /* beside slirp's */
    subnet_ok("10.255.0.0/16", "10.255.0.0", 16);

    static const char *const syntax[] = { "",
                                          "10.89.1.0",
                                          "10.89.1.0/",
                                          "10.89.1.0/x",
                                          "10.89.1/24",
                                          "10.89.1.0/024",
                                          "10.89.1.0/24x",
                                          " 10.89.1.0/24",
                                          "10.89.1.0/ 24",
                                          "256.1.1.0/24",
                                          "010.89.1.0/24",
                                          "10.89.1.0/24/24",
                                          "fd00::/64",
                                          "10.89.1.0/123" };
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++)
        subnet_bad(syntax[i], "A.B.C.D/PREFIX");

    subnet_bad("10.89.0.0/15", "/16 to /28");
    subnet_bad("10.89.1.0/29", "/16 to /28");
    subnet_bad("10.0.0.0/8", "/16 to /28");
    subnet_bad("172.16.0.0/12", "/16 to /28");
    subnet_bad("10.89.1.0/32", "/16 to /28");
    subnet_bad("10.89.1.0/0", "/16 to /28");

    subnet_bad("8.8.8.0/24", "not a private range");
    subnet_bad("172.32.0.0/16", "not a private range");
    subnet_bad("172.15.0.0/16", "not a private range");
    subnet_bad("192.169.0.0/16", "not a private range");
    subnet_bad("11.0.0.0/16", "not a private range");
    subnet_bad("127.0.0.0/16", "not a private range");
    subnet_bad("169.254.0.0/16", "not a private range");

    subnet_bad("10.89.1.1/24", "host bits are set (the network is 10.89.1.0/24)");
    subnet_bad("192.168.1.16/27", "the network is 192.168.1.0/27");

    subnet_bad("10.0.2.0/24", "10.0.2.0/24");
    subnet_bad("10.0.0.0/16", "--net=slirp");
    subnet_bad("10.0.2.128/25", "--net=slirp");
    subnet_bad("10.0.2.16/28", "--net=slirp");
}

static void test_overlaps(void **state)
{
    assert_true(nr_network_overlaps(ip("10.89.1.0"), 24, ip("10.89.1.0"), 24));
    assert_true(nr_network_overlaps(ip("10.89.0.0"), 16, ip("10.89.7.0"), 24));
    assert_true(nr_network_overlaps(ip("10.89.7.0"), 24, ip("10.89.0.0"), 16));
    assert_true(nr_network_overlaps(ip("10.89.1.0"), 24, ip("10.89.1.128"), 25));
    assert_false(nr_network_overlaps(ip("10.89.1.0"), 24, ip("10.89.2.0"), 24));
    assert_false(nr_network_overlaps(ip("10.89.1.0"), 25, ip("10.89.1.128"), 25));
    assert_false(nr_network_overlaps(ip("192.168.0.0"), 16, ip("172.16.0.0"), 16));
}

static NrNetwork net_of(const char *name, const char *addr, int prefix)
{
    NrNetwork n = { .net = ip(addr), .prefix = prefix };
    snprintf(n.name, sizeof n.name, "%s", name);
    return n;
}

static void test_pick(void **state)
{
    struct in_addr a;
    int p;
    NrError err = { 0 };
    assert_nr_ok(nr_network_pick_subnet(NULL, 0, &a, &p, &err), err);
    assert_ip(a, "10.89.1.0");
    assert_int_equal(p, 24);

    NrNetwork used[] = { net_of("a", "10.89.1.0", 24), net_of("b", "10.89.2.0", 25),
                         net_of("c", "192.168.0.0", 16) };
    assert_nr_ok(nr_network_pick_subnet(used, 3, &a, &p, &err), err);
    assert_ip(a, "10.89.3.0");
    /* the first free one, not the one after the highest */
    NrNetwork gap[] = { net_of("a", "10.89.1.0", 24), net_of("c", "10.89.3.0", 24) };
    assert_nr_ok(nr_network_pick_subnet(gap, 2, &a, &p, &err), err);
    assert_ip(a, "10.89.2.0");
    /* a /16 given by hand takes them all */
    NrNetwork all[] = { net_of("big", "10.89.0.0", 16) };
    p = -1;
    assert_nr_error(nr_network_pick_subnet(all, 1, &a, &p, &err), err, "no free subnet");
    assert_int_equal(p, -1);
    assert_non_null(strstr(err.hint, "--subnet"));
}

static void test_addresses(void **state)
{
    NrNetwork n = net_of("web", "10.89.4.0", 24);
    assert_ip(nr_network_host(&n, NR_NETWORK_BRIDGE), "10.89.4.1");
    assert_ip(nr_network_host(&n, NR_NETWORK_GATEWAY), "10.89.4.2");
    assert_ip(nr_network_host(&n, NR_NETWORK_SLIRP_DNS), "10.89.4.3");
    assert_ip(nr_network_host(&n, NR_NETWORK_FIRST_HOST), "10.89.4.10");
    NrNetwork wide = net_of("w", "172.20.0.0", 16);
    assert_ip(nr_network_host(&wide, 300), "172.20.1.44");
    char buf[32];
    nr_network_subnet_text(&wide, buf, sizeof buf);
    assert_string_equal(buf, "172.20.0.0/16");
}

/* ---- the records, in a scratch store ---- */

static char store[PATH_MAX];

static int store_setup(void **state)
{
    static int k;
    snprintf(store, sizeof store, "%s/store%d", unit_tmpdir(), k++);
    setenv("NROOT_STORE", store, 1);
    return 0;
}

static void write_config(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/networks/%s", store, name);
    mkdir(path, 0700);
    strcat(path, "/config");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_records(void **state)
{
    NrError err = { 0 };
    NrNetwork n, m;
    assert_nr_ok(nr_network_create("web", NULL, false, &n, &err), err);
    assert_string_equal(n.name, "web");
    assert_ip(n.net, "10.89.1.0");
    assert_nr_ok(nr_network_create("db", NULL, true, &n, &err), err);
    assert_ip(n.net, "10.89.2.0");
    assert_nr_ok(nr_network_create("lan", "192.168.7.0/24", false, &n, &err), err);

    /* the record as N1 reads it */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/networks/db/config", store);
    char *text = nr_read_file(path, NULL, &err);
    assert_non_null(text);
    assert_non_null(strstr(text, "version=1\nname=db\nsubnet=10.89.2.0/24\ninternal=1\ncreated="));
    free(text);
    assert_nr_ok(nr_network_load("db", &m, &err), err);
    assert_true(m.internal);
    assert_int_equal(m.prefix, 24);
    assert_true(m.created > 1700000000);

    NrError e = { 0 };
    assert_nr_error(nr_network_create("web", NULL, false, &n, &e), e, "already exists");
    NrError e2 = { 0 };
    assert_nr_error(nr_network_create("x", "10.89.1.128/25", false, &n, &e2), e2,
                    "overlaps 10.89.1.0/24 of network 'web'");
    NrError e3 = { 0 };
    assert_nr_error(nr_network_create("none", NULL, false, &n, &e3), e3, "invalid network name");
    NrError e4 = { 0 };
    assert_nr_error(nr_network_load("nope", &m, &e4), e4, "no network 'nope'");
    assert_string_equal(e4.hint, "create it first: nroot network create nope");
    NrError e5 = { 0 };
    assert_nr_error(nr_network_load("../x", &m, &e5), e5, "no network");

    NrNetwork *v;
    size_t k;
    assert_nr_ok(nr_network_list(&v, &k, &err), err);
    assert_int_equal(k, 3);
    assert_string_equal(v[0].name, "db");
    assert_string_equal(v[1].name, "lan");
    assert_string_equal(v[2].name, "web");
    free(v);
}

static void test_damaged(void **state)
{
    NrError err = { 0 };
    NrNetwork n;
    assert_nr_ok(nr_network_create("good", NULL, false, &n, &err), err);
    write_config("badnet", "version=1\nname=badnet\nsubnet=8.8.8.0/24\ninternal=0\ncreated=1\n");
    write_config("short", "version=1\nname=short\ninternal=0\ncreated=1\n");
    write_config("other", "version=1\nname=web\nsubnet=10.89.9.0/24\ninternal=0\ncreated=1\n");
    write_config("newer", "version=2\nname=newer\nsubnet=10.89.8.0/24\ninternal=0\ncreated=1\n");
    write_config("flag", "version=1\nname=flag\nsubnet=10.89.7.0/24\ninternal=yes\ncreated=1\n");
    struct {
        const char *name, *part;
    } cases[] = {
        { "badnet", "its subnet is not valid" }, { "short", "it has no subnet" },
        { "other", "it names network 'web'" },   { "newer", "newer nroot" },
        { "flag", "its internal is not valid" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        NrError e = { 0 };
        assert_nr_error(nr_network_load(cases[i].name, &n, &e), e, cases[i].part);
    }
    /* one damaged record never hides the others */
    NrNetwork *v;
    size_t k;
    assert_nr_ok(nr_network_list(&v, &k, &err), err);
    assert_int_equal(k, 1);
    assert_string_equal(v[0].name, "good");
    free(v);
    /* and rm removes it */
    assert_nr_ok(nr_network_remove("badnet", &err), err);
    NrError e = { 0 };
    assert_nr_error(nr_network_load("badnet", &n, &e), e, "no network");
}

static void test_in_use(void **state)
{
    NrError err = { 0 };
    NrNetwork n;
    assert_nr_ok(nr_network_create("busy", NULL, false, &n, &err), err);
    int a = nr_network_hold("busy", &err);
    assert_true(a >= 0);
    int b = nr_network_hold("busy", &err); /* shared: many containers */
    assert_true(b >= 0);
    assert_int_equal(nr_network_remove("busy", &err), 1);
    close(a);
    assert_int_equal(nr_network_remove("busy", &err), 1);
    close(b);
    assert_nr_ok(nr_network_remove("busy", &err), err);
    NrError e = { 0 };
    assert_nr_error(nr_network_remove("busy", &e), e, "no network");
    NrError e2 = { 0 };
    assert_int_equal(nr_network_hold("busy", &e2), -1);
    assert_non_null(strstr(e2.msg, "network 'busy'"));
    assert_non_null(strstr(e2.hint, "nroot network create busy"));
    /* nothing left behind: only the store's lock and an empty networks/ */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/networks", store);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            fail_msg("left in networks/: %s", de->d_name);
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_subnets),
        cmocka_unit_test(test_overlaps),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test_setup(test_records, store_setup),
        cmocka_unit_test_setup(test_damaged, store_setup),
        cmocka_unit_test_setup(test_in_use, store_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
