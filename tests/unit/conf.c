/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/conf.c — src/lib/conf.c: nroot.conf, the administrator's file
 * then the user's ($NROOT_CONFIG, else $XDG_CONFIG_HOME/nroot/nroot.conf,
 * else ~/.config/nroot/nroot.conf), `key = value` lines, comments, quotes,
 * the later file winning key by key. */
#include "nr-conf.h"
#include "unit.h"

static char sys_path[256], user_path[256];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fail_msg("cannot write %s", path);
}

/* every test starts with no files and none of the variables */
static int setup(void **state)
{
    snprintf(sys_path, sizeof sys_path, "%s", unit_path("system.conf"));
    snprintf(user_path, sizeof user_path, "%s", unit_path("user.conf"));
    unlink(sys_path);
    unlink(user_path);
    unsetenv("NROOT_CONFIG");
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", unit_path("home"), 1);
    nr_conf_set_system_file(sys_path);
    return 0;
}

static void test_no_files(void **state)
{
    setenv("NROOT_CONFIG", user_path, 1);
    assert_null(nr_conf_get("readonly-stores"));
    const char *src = nr_conf_sources();
    assert_non_null(strstr(src, "system.conf (missing)\n"));
    assert_non_null(strstr(src, "user.conf (missing)\n"));
}

static void test_lines(void **state)
{
    write_text(user_path, "# a comment\n"
                          "\n"
                          "   # an indented comment\n"
                          "plain=value\n"
                          "  spaced   =   the value  \n"
                          "dq = \"quoted # not a comment \"\n"
                          "sq = 'single'\n"
                          "half = \"open\n"
                          "mixed = \"a'\n"
                          "lone = \"\n"
                          "eq = a=b=c\n"
                          "empty =\n"
                          "crlf = dos\r\n"
                          "tail = v # stays\n"
                          "= no key\n"
                          "no equals sign here\n"
                          "last = line without newline");
    setenv("NROOT_CONFIG", user_path, 1);
    assert_string_equal(nr_conf_get("plain"), "value");
    assert_string_equal(nr_conf_get("spaced"), "the value");
    assert_string_equal(nr_conf_get("dq"), "quoted # not a comment ");
    assert_string_equal(nr_conf_get("sq"), "single");
    assert_string_equal(nr_conf_get("half"), "\"open");
    assert_string_equal(nr_conf_get("mixed"), "\"a'");
    assert_string_equal(nr_conf_get("lone"), "\"");
    assert_string_equal(nr_conf_get("eq"), "a=b=c");
    assert_string_equal(nr_conf_get("empty"), "");
    assert_string_equal(nr_conf_get("crlf"), "dos");
    /* `#` starts a comment only at the start of a line */
    assert_string_equal(nr_conf_get("tail"), "v # stays");
    assert_string_equal(nr_conf_get("last"), "line without newline");
    assert_null(nr_conf_get(""));
    assert_null(nr_conf_get("no equals sign here"));
    assert_null(nr_conf_get("# a comment"));
    assert_null(nr_conf_get("Plain")); /* keys are case-sensitive */
}

static void test_later_wins(void **state)
{
    write_text(sys_path, "a = system\nb = system\nc = first\nc = second\n");
    write_text(user_path, "a = user\nd = user\n");
    setenv("NROOT_CONFIG", user_path, 1);
    assert_string_equal(nr_conf_get("a"), "user");   /* the user's file wins */
    assert_string_equal(nr_conf_get("b"), "system"); /* key by key */
    assert_string_equal(nr_conf_get("c"), "second"); /* the later line too */
    assert_string_equal(nr_conf_get("d"), "user");
    /* both files named, the administrator's first */
    const char *src = nr_conf_sources();
    char *s = strstr(src, sys_path), *u = strstr(src, user_path);
    assert_non_null(s);
    assert_non_null(u);
    assert_true(s < u);
    assert_null(strstr(src, "missing"));
}

static void test_user_file_places(void **state)
{
    /* $XDG_CONFIG_HOME/nroot/nroot.conf */
    char dir[256], file[300];
    snprintf(dir, sizeof dir, "%s", unit_path("xdg"));
    mkdir(dir, 0700);
    snprintf(file, sizeof file, "%s/nroot", dir);
    mkdir(file, 0700);
    snprintf(file, sizeof file, "%s/nroot/nroot.conf", dir);
    write_text(file, "k = xdg\n");
    setenv("XDG_CONFIG_HOME", dir, 1);
    nr_conf_reset();
    assert_string_equal(nr_conf_get("k"), "xdg");

    /* $NROOT_CONFIG instead of it: the XDG file is not read at all */
    write_text(user_path, "other = 1\n");
    setenv("NROOT_CONFIG", user_path, 1);
    nr_conf_reset();
    assert_null(nr_conf_get("k"));
    assert_string_equal(nr_conf_get("other"), "1");
    assert_null(strstr(nr_conf_sources(), file));

    /* an empty $NROOT_CONFIG counts as unset */
    setenv("NROOT_CONFIG", "", 1);
    nr_conf_reset();
    assert_string_equal(nr_conf_get("k"), "xdg");

    /* a relative $XDG_CONFIG_HOME is ignored (XDG): ~/.config/nroot/nroot.conf */
    unsetenv("NROOT_CONFIG");
    setenv("XDG_CONFIG_HOME", "relative/dir", 1);
    char home[256];
    snprintf(home, sizeof home, "%s", unit_path("home"));
    snprintf(file, sizeof file, "%s", home);
    mkdir(file, 0700);
    snprintf(file, sizeof file, "%s/.config", home);
    mkdir(file, 0700);
    snprintf(file, sizeof file, "%s/.config/nroot", home);
    mkdir(file, 0700);
    snprintf(file, sizeof file, "%s/.config/nroot/nroot.conf", home);
    write_text(file, "k = home\n");
    nr_conf_reset();
    assert_string_equal(nr_conf_get("k"), "home");

    /* neither: only the administrator's file */
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    write_text(sys_path, "k = sys\n");
    nr_conf_reset();
    assert_string_equal(nr_conf_get("k"), "sys");
}

static void test_read_once(void **state)
{
    write_text(user_path, "k = one\n");
    setenv("NROOT_CONFIG", user_path, 1);
    assert_string_equal(nr_conf_get("k"), "one");
    write_text(user_path, "k = two\n");
    assert_string_equal(nr_conf_get("k"), "one"); /* read once per process */
    nr_conf_reset();
    assert_string_equal(nr_conf_get("k"), "two");
}

static void test_not_a_file(void **state)
{
    /* a directory is said as such, not read as an empty file */
    setenv("NROOT_CONFIG", unit_tmpdir(), 1);
    assert_null(nr_conf_get("k"));
    assert_non_null(strstr(nr_conf_sources(), "(Is a directory)"));
    /* /dev/null: the usual way to read no file of one's own */
    setenv("NROOT_CONFIG", "/dev/null", 1);
    nr_conf_reset();
    assert_null(nr_conf_get("k"));
    assert_non_null(strstr(nr_conf_sources(), "/dev/null\n"));
}

static void test_long_lines(void **state)
{
    /* values longer than any fixed buffer: getline reads them whole */
    size_t n = 10000;
    char *text = malloc(n + 16);
    assert_non_null(text);
    memcpy(text, "long = ", 7);
    memset(text + 7, 'x', n);
    memcpy(text + 7 + n, "\n", 2);
    write_text(user_path, text);
    free(text);
    setenv("NROOT_CONFIG", user_path, 1);
    const char *v = nr_conf_get("long");
    assert_non_null(v);
    assert_int_equal(strlen(v), n);
}

/* nr_conf_value: a set variable wins over the files, even empty; an empty
 * value anywhere is the key's default (NULL); `from` says where */
static void test_value_rule(void **state)
{
    write_text(sys_path, "image-format = squashfs\nreadonly-stores = /sys/a\ncdi-spec-dirs = /x\n");
    write_text(user_path, "readonly-stores = /user/b\nroot-emulation =\n");
    setenv("NROOT_CONFIG", user_path, 1);
    unsetenv("NR_UNIT_A");
    unsetenv("NR_UNIT_B");
    const char *from = NULL;
    /* no variable: the later file that sets it */
    assert_string_equal(nr_conf_value("readonly-stores", "NR_UNIT_A", &from), "/user/b");
    assert_string_equal(from, user_path);
    assert_string_equal(nr_conf_value("image-format", "NR_UNIT_A", &from), "squashfs");
    assert_string_equal(from, sys_path);
    /* an empty value in a file: the default, said as that file's */
    from = NULL;
    assert_null(nr_conf_value("root-emulation", "NR_UNIT_A", &from));
    assert_string_equal(from, user_path);
    /* set nowhere */
    assert_null(nr_conf_value("no-such-key", "NR_UNIT_A", &from));
    assert_string_equal(from, "default");
    assert_null(nr_conf_value("no-such-key", NULL, NULL));
    /* the variable wins, even over a file's empty value */
    setenv("NR_UNIT_A", "on", 1);
    assert_string_equal(nr_conf_value("root-emulation", "NR_UNIT_A", &from), "on");
    assert_string_equal(from, "$NR_UNIT_A");
    /* set and empty: the default, not the files' value */
    setenv("NR_UNIT_B", "", 1);
    assert_null(nr_conf_value("readonly-stores", "NR_UNIT_B", &from));
    assert_string_equal(from, "$NR_UNIT_B");
    assert_null(nr_conf_value("cdi-spec-dirs", "NR_UNIT_B", &from));
    /* the `from` strings stay as they were */
    const char *a = NULL, *b = NULL;
    nr_conf_value("x", "NR_UNIT_A", &a);
    nr_conf_value("x", "NR_UNIT_B", &b);
    assert_string_equal(a, "$NR_UNIT_A");
    assert_string_equal(b, "$NR_UNIT_B");
    unsetenv("NR_UNIT_A");
    unsetenv("NR_UNIT_B");
}

int main(void)
{
    nr_quiet = true; /* the notice of a line without '=' */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_no_files, setup),
        cmocka_unit_test_setup(test_lines, setup),
        cmocka_unit_test_setup(test_later_wins, setup),
        cmocka_unit_test_setup(test_user_file_places, setup),
        cmocka_unit_test_setup(test_read_once, setup),
        cmocka_unit_test_setup(test_not_a_file, setup),
        cmocka_unit_test_setup(test_long_lines, setup),
        cmocka_unit_test_setup(test_value_rule, setup),
    };
    return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
