/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/values.c — src/cli/values.c: the values of run's and exec's
 * options (ports, volumes, environment, env files, users, host names,
 * security options). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cli/values.h"
#include "nr-plan.h"
#include "unit.h"

static void cfg_clear(NrRunConfig *cfg)
{
    free(cfg->ports);
    for (size_t i = 0; i < cfg->n_volumes; i++) {
        free(cfg->volumes[i].src);
        free(cfg->volumes[i].dst);
    }
    free(cfg->volumes);
    nr_strv_clear(&cfg->env);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- -p ---- */

static NrPort port_ok(const char *spec)
{
    NrRunConfig cfg = { 0 };
    NrError err = { 0 };
    int rc = nr_cli_parse_port(&cfg, spec, &err);
    if (rc != 0)
        fail_msg("port '%s' refused: %s", spec, err.msg);
    assert_int_equal(cfg.n_ports, 1);
    NrPort p = cfg.ports[0];
    assert_ptr_equal(p.spec, spec);
    cfg_clear(&cfg);
    return p;
}

static void port_bad(const char *spec, const char *part)
{
    NrRunConfig cfg = { 0 };
    NrError err = { 0 };
    int rc = nr_cli_parse_port(&cfg, spec, &err);
    if (rc == 0)
        fail_msg("port '%s' accepted", spec);
    assert_nr_error(rc, err, part);
    assert_int_equal(cfg.n_ports, 0);
    cfg_clear(&cfg);
}

static void test_port(void **state)
{
    NrPort p = port_ok("8080:80");
    assert_int_equal(p.host_port, 8080);
    assert_int_equal(p.ctr_port, 80);
    assert_int_equal(p.host_family, AF_UNSPEC);
    assert_false(p.udp);

    p = port_ok("1:65535/udp");
    assert_int_equal(p.host_port, 1);
    assert_int_equal(p.ctr_port, 65535);
    assert_true(p.udp);
    assert_false(port_ok("53:53/tcp").udp);

    p = port_ok("127.0.0.1:8080:80");
    assert_int_equal(p.host_family, AF_INET);
    assert_int_equal(p.host_addr4.s_addr, htonl(INADDR_LOOPBACK));

    p = port_ok("[::1]:8443:443/tcp");
    assert_int_equal(p.host_family, AF_INET6);
    assert_true(IN6_IS_ADDR_LOOPBACK(&p.host_addr6));
    assert_int_equal(p.host_port, 8443);
    p = port_ok("[fe80::1:2]:1:2");
    assert_int_equal(p.host_family, AF_INET6);
    p = port_ok("0.0.0.0:08:09"); /* leading zeros: still decimal */
    assert_int_equal(p.host_port, 8);
    assert_int_equal(p.ctr_port, 9);
}

static void test_port_hostile(void **state)
{
    port_bad("", "expected [IP:]HOSTPORT:PORT");
    port_bad("80", "expected [IP:]HOSTPORT:PORT");
    port_bad("/udp", "expected");
    port_bad(":80", "1 to 65535");
    port_bad("80:", "1 to 65535");
    port_bad(":", "1 to 65535");
    port_bad("0:80", "1 to 65535");
    port_bad("80:0", "1 to 65535");
    port_bad("65536:80", "1 to 65535");
    port_bad("80:65536", "1 to 65535");
    port_bad("4294967297:80", "1 to 65535"); /* 65536 + 2^32: no wrap */
    port_bad("-1:80", "1 to 65535");
    port_bad("+80:80", "1 to 65535");
    port_bad(" 80:80", "1 to 65535");
    port_bad("80:80 ", "1 to 65535");
    port_bad("0x50:80", "1 to 65535");
    port_bad("80:80/sctp", "tcp or udp");
    port_bad("80:80/", "tcp or udp");
    port_bad("80:80/UDP", "tcp or udp");
    port_bad("80:80/udp/tcp", "tcp or udp");
    port_bad("80:80/udp\n", "tcp or udp");
    port_bad("999.0.0.1:80:80", "not an IP address");
    port_bad("localhost:80:80", "not an IP address");
    port_bad("::1:80:80", "not an IP address"); /* IPv6 needs [ ] */
    port_bad("[]:80:80", "not an IP address");
    port_bad("[::1:80:80", "not an IP address");
    port_bad("[1.2.3.4]:80:80", "not an IPv6 address");
    port_bad("[::1]x:80:80", "not an IP address");
    port_bad("1.2.3.4:5:80:80", "not an IP address");
    port_bad("\x1b[31m:80:80", "not an IP address");
    /* overlong */
    char big[20000];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[100] = ':';
    port_bad(big, "invalid port '999");
}

static void test_port_appends(void **state)
{
    NrRunConfig cfg = { 0 };
    NrError err = { 0 };
    static const char *const specs[] = { "1:1", "2:2/udp", "[::]:3:3" };
    for (int round = 0; round < 100; round++)
        for (size_t i = 0; i < 3; i++)
            assert_nr_ok(nr_cli_parse_port(&cfg, specs[i], &err), err);
    /* a bad one leaves the list as it was */
    assert_int_equal(nr_cli_parse_port(&cfg, "x", &err), -1);
    assert_int_equal(cfg.n_ports, 300);
    assert_int_equal(cfg.ports[299].host_port, 3);
    assert_true(cfg.ports[298].udp);
    assert_ptr_equal(cfg.ports[297].spec, specs[0]);
    cfg_clear(&cfg);
}

/* ---- -v ---- */

static void test_volume(void **state)
{
    const char *dir = unit_tmpdir();
    char real[PATH_MAX], spec[PATH_MAX + 64];
    assert_non_null(realpath(dir, real));
    unit_file("file", "x", 1);
    assert_int_equal(mkdir(unit_path("sub"), 0700), 0);

    NrRunConfig cfg = { 0 };
    NrError err = { 0 };
    snprintf(spec, sizeof spec, "%s:/data", dir);
    assert_nr_ok(nr_cli_parse_volume(&cfg, spec, &err), err);
    snprintf(spec, sizeof spec, "%s/file:/etc/f:ro", dir);
    assert_nr_ok(nr_cli_parse_volume(&cfg, spec, &err), err);
    /* options in any order, the last of ro/rw wins; z, Z, rbind accepted */
    snprintf(spec, sizeof spec, "%s:/a:ro,rw", dir);
    assert_nr_ok(nr_cli_parse_volume(&cfg, spec, &err), err);
    snprintf(spec, sizeof spec, "%s:/b:rw,z,Z,rbind,ro", dir);
    assert_nr_ok(nr_cli_parse_volume(&cfg, spec, &err), err);
    /* '..' and '//' in the host path: resolved to where they lead */
    snprintf(spec, sizeof spec, "%s/sub/..//sub/../:/c", dir);
    assert_nr_ok(nr_cli_parse_volume(&cfg, spec, &err), err);

    assert_int_equal(cfg.n_volumes, 5);
    assert_string_equal(cfg.volumes[0].src, real);
    assert_string_equal(cfg.volumes[0].dst, "/data");
    assert_false(cfg.volumes[0].ro);
    assert_true(cfg.volumes[0].src_is_dir);
    assert_true(strncmp(cfg.volumes[1].src, real, strlen(real)) == 0);
    assert_string_equal(cfg.volumes[1].src + strlen(real), "/file");
    assert_string_equal(cfg.volumes[1].dst, "/etc/f");
    assert_true(cfg.volumes[1].ro);
    assert_false(cfg.volumes[1].src_is_dir);
    assert_false(cfg.volumes[2].ro);
    assert_true(cfg.volumes[3].ro);
    assert_string_equal(cfg.volumes[4].src, real);
    cfg_clear(&cfg);
}

/* "%s" at the start of `fmt` stands for the scratch directory */
static void volume_bad(const char *fmt, const char *part)
{
    char spec[PATH_MAX + 64];
    if (strncmp(fmt, "%s", 2) == 0)
        snprintf(spec, sizeof spec, "%s%s", unit_tmpdir(), fmt + 2);
    else
        snprintf(spec, sizeof spec, "%s", fmt);
    NrRunConfig cfg = { 0 };
    NrError err = { 0 };
    int rc = nr_cli_parse_volume(&cfg, spec, &err);
    if (rc == 0)
        fail_msg("volume '%s' accepted", spec);
    assert_nr_error(rc, err, part);
    assert_int_equal(cfg.n_volumes, 0);
    cfg_clear(&cfg);
}

static void test_volume_hostile(void **state)
{
    volume_bad("", "expected HOST:CONTAINER");
    volume_bad("%s", "expected HOST:CONTAINER");
    volume_bad(":/data", "expected HOST:CONTAINER");
    volume_bad("%s:", "expected HOST:CONTAINER");
    volume_bad("::", "expected HOST:CONTAINER");
    volume_bad("%s:data", "is not absolute");
    volume_bad("%s:../data", "is not absolute");
    volume_bad("%s:/data:", "empty options");
    volume_bad("%s:/data:rx", "unknown option 'rx'");
    volume_bad("%s:/data:RO", "unknown option 'RO'");
    volume_bad("%s:/data:ro:extra", "unknown option 'ro:extra'");
    volume_bad("%s:/data:ro,,\x1b", "unknown option");
    volume_bad("%s/missing:/data", "volume source");
    volume_bad("%s/file/below-a-file:/data", "volume source");
    volume_bad("relative-missing:/data", "volume source");
    /* overlong host path */
    char big[PATH_MAX * 3];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    memcpy(big + sizeof big - 8, ":/data", 7);
    NrRunConfig cfg = { 0 };
    NrError err = { 0 };
    assert_nr_error(nr_cli_parse_volume(&cfg, big, &err), err, "volume source");
    cfg_clear(&cfg);
}

/* ---- -e and --env-file ---- */

static void test_env(void **state)
{
    NrStrv env = { 0 };
    NrError err = { 0 };
    setenv("NR_UNIT_SET", "from the host", 1);
    unsetenv("NR_UNIT_UNSET");
    assert_nr_ok(nr_cli_add_env(&env, "A=1", "", &err), err);
    assert_nr_ok(nr_cli_add_env(&env, "EMPTY=", "", &err), err);
    assert_nr_ok(nr_cli_add_env(&env, "B=x=y\nz", "", &err), err);
    assert_nr_ok(nr_cli_add_env(&env, "NR_UNIT_SET", "", &err), err);
    assert_nr_ok(nr_cli_add_env(&env, "NR_UNIT_UNSET", "", &err), err); /* nothing */
    assert_int_equal(env.n, 4);
    assert_string_equal(env.v[0], "A=1");
    assert_string_equal(env.v[1], "EMPTY=");
    assert_string_equal(env.v[2], "B=x=y\nz");
    assert_string_equal(env.v[3], "NR_UNIT_SET=from the host");

    assert_nr_error(nr_cli_add_env(&env, "", "", &err), err, "invalid environment variable ''");
    assert_nr_error(nr_cli_add_env(&env, "=value", "", &err), err, "expected KEY=VALUE or KEY");
    assert_nr_error(nr_cli_add_env(&env, "==", " in 'F' line 3", &err), err, "'==' in 'F' line 3");
    assert_int_equal(env.n, 4);
    nr_strv_clear(&env);
}

static void test_env_file(void **state)
{
    static const char text[] = "# a comment\n"
                               "\n"
                               "   \t\n"
                               "A=1\n"
                               "  B=indented\r\n"
                               "\t# indented comment\n"
                               "C=with # not a comment\r\r\n"
                               "NR_UNIT_FILE_SET\n"
                               "D=last, no newline";
    const char *path = unit_file("env", text, sizeof text - 1);
    setenv("NR_UNIT_FILE_SET", "v", 1);
    NrStrv env = { 0 };
    NrError err = { 0 };
    assert_nr_ok(nr_cli_read_env_file(&env, path, &err), err);
    assert_int_equal(env.n, 5);
    assert_string_equal(env.v[0], "A=1");
    assert_string_equal(env.v[1], "B=indented");
    assert_string_equal(env.v[2], "C=with # not a comment");
    assert_string_equal(env.v[3], "NR_UNIT_FILE_SET=v");
    assert_string_equal(env.v[4], "D=last, no newline");
    nr_strv_clear(&env);

    /* empty file */
    path = unit_file("env-empty", "", 0);
    assert_nr_ok(nr_cli_read_env_file(&env, path, &err), err);
    assert_int_equal(env.n, 0);
}

static void test_env_file_hostile(void **state)
{
    NrStrv env = { 0 };
    NrError err = { 0 };
    /* a bad line: named by its number, nothing of the file is used */
    static const char bad[] = "A=1\n# c\n=oops\nB=2\n";
    const char *path = unit_file("env-bad", bad, sizeof bad - 1);
    assert_nr_error(nr_cli_read_env_file(&env, path, &err), err, "line 3");
    nr_strv_clear(&env);

    static const char nul[] = "A=1\nB=2\0C=3\n";
    path = unit_file("env-nul", nul, sizeof nul - 1);
    assert_nr_error(nr_cli_read_env_file(&env, path, &err), err, "NUL byte");
    assert_int_equal(env.n, 0);

    assert_nr_error(nr_cli_read_env_file(&env, unit_path("env-missing"), &err), err, "--env-file");
    assert_nr_error(nr_cli_read_env_file(&env, unit_tmpdir(), &err), err, "not a regular file");
    const char *fifo = unit_path("env-fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_nr_error(nr_cli_read_env_file(&env, fifo, &err), err, "not a regular file");

    /* more than 1 MiB */
    const char *big = unit_path("env-big");
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (1 << 20) + 1), 0);
    close(fd);
    assert_nr_error(nr_cli_read_env_file(&env, big, &err), err, "larger than");
    assert_int_equal(env.n, 0);
}

/* ---- -u, --hostname ---- */

static void test_user(void **state)
{
    static const char *const good[] = { "0",         "1000",         "root",
                                        "1000:1000", "tester:wheel", "user.name-x_y",
                                        "ü",         "4294967296" };
    static const char *const bad[] = { "",     ":",    ":g",  "u:",   "u:g:h", "a b",
                                       "a\tb", "a\nb", "a/b", "../x", "u:/g",  "u: g" };
    NrError err = { 0 };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_nr_ok(nr_cli_check_user(good[i], &err), err);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = nr_cli_check_user(bad[i], &err);
        if (rc == 0)
            fail_msg("user '%s' accepted", bad[i]);
        assert_nr_error(rc, err, "expected USER[:GROUP]");
    }
}

static void test_hostname(void **state)
{
    char h64[65], h65[66];
    memset(h64, 'h', 64);
    h64[64] = '\0';
    memset(h65, 'h', 65);
    h65[65] = '\0';
    static const char *const good[] = { "a", "my-host.example_1", "-", "1.2.3.4" };
    NrError err = { 0 };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_nr_ok(nr_cli_check_hostname(good[i], &err), err);
    assert_nr_ok(nr_cli_check_hostname(h64, &err), err);
    assert_nr_error(nr_cli_check_hostname(h65, &err), err, "1 to 64 characters");
    assert_nr_error(nr_cli_check_hostname("", &err), err, "1 to 64 characters");
    static const char *const bad[] = { "a b", "a/b", "a\n", "ü", "a:b", "\x1b]0;x\x07", "a\\b" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = nr_cli_check_hostname(bad[i], &err);
        if (rc == 0)
            fail_msg("hostname '%s' accepted", bad[i]);
        assert_nr_error(rc, err, "letters, digits");
    }
}

/* ---- --security-opt ---- */

static void test_security_opt(void **state)
{
    NrRunConfig cfg = { 0 };
    NrError err = { 0 };
    /* no_new_privs is always on: accepted, nothing to record */
    assert_nr_ok(nr_cli_parse_security_opt(&cfg, "no-new-privileges", &err), err);
    assert_nr_ok(nr_cli_parse_security_opt(&cfg, "no-new-privileges=true", &err), err);
    assert_nr_ok(nr_cli_parse_security_opt(&cfg, "no-new-privileges:true", &err), err);
    assert_null(cfg.seccomp_profile);
    assert_nr_ok(nr_cli_parse_security_opt(&cfg, "seccomp=unconfined", &err), err);
    assert_string_equal(cfg.seccomp_profile, "unconfined");
    cfg.seccomp_profile = NULL;
    assert_nr_ok(nr_cli_parse_security_opt(&cfg, "seccomp:unconfined", &err), err);
    assert_string_equal(cfg.seccomp_profile, "unconfined");

    /* a profile: made absolute (resolved) if it is there */
    const char *dir = unit_tmpdir();
    unit_file("profile.json", "{}", 2);
    char real[PATH_MAX], spec[PATH_MAX + 64];
    assert_non_null(realpath(unit_path("profile.json"), real));
    snprintf(spec, sizeof spec, "seccomp=%s/./profile.json", dir);
    assert_nr_ok(nr_cli_parse_security_opt(&cfg, spec, &err), err);
    assert_string_equal(cfg.seccomp_profile, real);
    free((char *)cfg.seccomp_profile);
    /* an absolute path that is not there is kept (the compiler checks it) */
    assert_nr_ok(nr_cli_parse_security_opt(&cfg, "seccomp=/nonexistent/p.json", &err), err);
    assert_string_equal(cfg.seccomp_profile, "/nonexistent/p.json");
    cfg.seccomp_profile = NULL;

    assert_nr_error(nr_cli_parse_security_opt(&cfg, "seccomp=missing-relative.json", &err), err,
                    "seccomp profile 'missing-relative.json'");
    assert_nr_error(nr_cli_parse_security_opt(&cfg, "no-new-privileges=false", &err), err,
                    "always set");
    assert_nr_error(nr_cli_parse_security_opt(&cfg, "no-new-privileges:", &err), err, "always set");
    assert_nr_error(nr_cli_parse_security_opt(&cfg, "seccomp=", &err), err, "expected seccomp=");
    assert_nr_error(nr_cli_parse_security_opt(&cfg, "seccomp:", &err), err, "expected seccomp=");
    static const char *const unsupported[] = { "",
                                               "seccomp",
                                               "seccompx=y",
                                               "label=disable",
                                               "apparmor=unconfined",
                                               "no-new-privilegesX",
                                               "SECCOMP=unconfined" };
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        int rc = nr_cli_parse_security_opt(&cfg, unsupported[i], &err);
        if (rc == 0)
            fail_msg("--security-opt '%s' accepted", unsupported[i]);
        assert_nr_error(rc, err, "unsupported --security-opt");
    }
    assert_null(cfg.seccomp_profile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port),           cmocka_unit_test(test_port_hostile),
        cmocka_unit_test(test_port_appends),   cmocka_unit_test(test_volume),
        cmocka_unit_test(test_volume_hostile), cmocka_unit_test(test_env),
        cmocka_unit_test(test_env_file),       cmocka_unit_test(test_env_file_hostile),
        cmocka_unit_test(test_user),           cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_security_opt),
    };
    return cmocka_run_group_tests_name("cli values", tests, NULL, NULL);
}
