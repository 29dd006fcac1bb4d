/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/rostore.c — src/state/rostore.c: the list of read-only stores
 * ($NROOT_READONLY_STORES, readonly-stores in nroot.conf) and which of them
 * nroot searches. */
#include "nr-conf.h"
#include "nr-rostore.h"
#include "unit.h"

static void parse(const char *list, const char *want, const char *want_bad)
{
    NrStrv got = { 0 }, bad = { 0 };
    nr_rostore_parse(list, &got, &bad);
    char g[512] = "", b[512] = "";
    for (size_t i = 0; i < got.n; i++)
        snprintf(g + strlen(g), sizeof g - strlen(g), "%s%s", i ? "|" : "", got.v[i]);
    for (size_t i = 0; i < bad.n; i++)
        snprintf(b + strlen(b), sizeof b - strlen(b), "%s%s", i ? "|" : "", bad.v[i]);
    assert_string_equal(g, want);
    assert_string_equal(b, want_bad);
    nr_strv_clear(&got);
    nr_strv_clear(&bad);
}

static void test_parse(void **state)
{
    parse(NULL, "", "");
    parse("", "", "");
    parse(":::", "", "");
    parse("/a", "/a", "");
    parse("/a:/b/c", "/a|/b/c", "");
    parse("::/a::/b:", "/a|/b", "");              /* empty entries dropped */
    parse("/a/:/a//:/a", "/a", "");               /* trailing slashes, each once */
    parse("/", "/", "");                          /* the root stays itself */
    parse("rel:/a:./b:~/c", "/a", "rel|./b|~/c"); /* relative ones left out */
    parse("/with space:/x", "/with space|/x", "");
    /* no ret_bad: relative ones just go */
    NrStrv got = { 0 };
    nr_rostore_parse("x:/y", &got, NULL);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.v[0], "/y");
    nr_strv_clear(&got);
}

static void test_dirs_env_wins(void **state)
{
    char own[256];
    snprintf(own, sizeof own, "%s", unit_path("own"));
    mkdir(own, 0700);
    setenv("NROOT_STORE", own, 1);
    /* the configuration file says one thing, the variable another */
    const char *conf = unit_file("nroot.conf", "readonly-stores = /from/conf\n", 29);
    setenv("NROOT_CONFIG", conf, 1);
    static char none[256]; /* nr_conf_set_system_file keeps the pointer */
    snprintf(none, sizeof none, "%s", unit_path("none.conf"));
    nr_conf_set_system_file(none);
    setenv("NROOT_READONLY_STORES", "/from/env", 1);
    nr_rostore_reset();
    const NrStrv *d = nr_rostore_dirs();
    assert_int_equal(d->n, 1);
    assert_string_equal(d->v[0], "/from/env");
    /* an empty variable still wins: no stores */
    setenv("NROOT_READONLY_STORES", "", 1);
    nr_rostore_reset();
    assert_int_equal(nr_rostore_dirs()->n, 0);
    /* without it, the file */
    unsetenv("NROOT_READONLY_STORES");
    nr_rostore_reset();
    d = nr_rostore_dirs();
    assert_int_equal(d->n, 1);
    assert_string_equal(d->v[0], "/from/conf");
    /* the user's own store is never a read-only one */
    char list[600];
    snprintf(list, sizeof list, "%s:/other:%s/", own, own);
    setenv("NROOT_READONLY_STORES", list, 1);
    nr_rostore_reset();
    d = nr_rostore_dirs();
    assert_int_equal(d->n, 1);
    assert_string_equal(d->v[0], "/other");
    nr_rostore_reset();
}

static void test_probe(void **state)
{
    char list[1024], loose[256], nroot[256], missing[256], sub[300], file[256];
    /* unit_path() answers in one static buffer: each copied */
    snprintf(loose, sizeof loose, "%s", unit_path("loose"));
    snprintf(nroot, sizeof nroot, "%s", unit_path("nrootstore"));
    snprintf(missing, sizeof missing, "%s", unit_path("missing"));
    snprintf(file, sizeof file, "%s", unit_file("afile", "x", 1));
    mkdir(loose, 0755);
    mkdir(nroot, 0755);
    snprintf(sub, sizeof sub, "%s/images", nroot);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/names", nroot);
    mkdir(sub, 0755);
    snprintf(list, sizeof list, "%s:%s:%s:%s", loose, nroot, missing, file);
    setenv("NROOT_READONLY_STORES", list, 1);
    unsetenv("NROOT_STORE");
    nr_rostore_reset();
    assert_int_equal(nr_rostore_dirs()->n, 4);
    int e = -1;
    assert_int_equal(nr_rostore_probe(0, false, &e), NR_ROSTORE_LOOSE);
    assert_int_equal(e, 0);
    assert_int_equal(nr_rostore_probe(1, false, &e), NR_ROSTORE_NROOT);
    assert_int_equal(nr_rostore_probe(2, false, &e), NR_ROSTORE_MISSING);
    assert_int_equal(e, ENOENT);
    assert_int_equal(nr_rostore_probe(3, false, &e), NR_ROSTORE_UNREADABLE);
    assert_int_equal(e, ENOTDIR);
    assert_int_equal(nr_rostore_probe(9, false, &e), NR_ROSTORE_UNREADABLE);
    nr_rostore_reset();
}

int main(void)
{
    nr_quiet = true;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_dirs_env_wins),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests_name("rostore", tests, NULL, NULL);
}
