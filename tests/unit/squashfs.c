/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/squashfs.c — src/state/squashfs.c and the image-format
 * setting of store.c: the mksquashfs command line (what makes an export
 * reproducible) and which of --format, $NROOT_IMAGE_FORMAT and nroot.conf
 * wins. */
#include "nr-conf.h"
#include "nr-squashfs.h"
#include "nr-store.h"
#include "unit.h"

static size_t argc_of(const char **argv)
{
    size_t n = 0;
    while (argv[n])
        n++;
    return n;
}

static bool has(const char **argv, const char *a, const char *value)
{
    for (size_t i = 0; argv[i]; i++)
        if (strcmp(argv[i], a) == 0)
            return !value || (argv[i + 1] && strcmp(argv[i + 1], value) == 0);
    return false;
}

static void test_argv(void **state)
{
    const char *argv[NR_SQUASHFS_ARGV];
    nr_squashfs_argv("mksquashfs", ".", "/o/x.sqsh", NULL, false, argv);
    assert_true(argc_of(argv) < NR_SQUASHFS_ARGV);
    assert_string_equal(argv[0], "mksquashfs");
    assert_string_equal(argv[1], ".");
    assert_string_equal(argv[2], "/o/x.sqsh");
    assert_true(has(argv, "-comp", "zstd"));
    assert_true(has(argv, "-reproducible", NULL));
    assert_true(has(argv, "-noappend", NULL));
    assert_true(has(argv, "-quiet", NULL));
    assert_true(has(argv, "-no-progress", NULL));
    assert_true(has(argv, "-mkfs-time", "0"));
    /* file times stay the tree's: .pyc files hold their source's mtime */
    assert_false(has(argv, "-all-time", NULL));
}

static void test_argv_epoch_progress(void **state)
{
    const char *argv[NR_SQUASHFS_ARGV];
    /* mksquashfs refuses -mkfs-time with $SOURCE_DATE_EPOCH: it sets the
     * same itself */
    nr_squashfs_argv("/usr/bin/mksquashfs", "src", "dst", "1700000000", true, argv);
    assert_false(has(argv, "-mkfs-time", NULL));
    assert_false(has(argv, "-no-progress", NULL));
    assert_true(has(argv, "-comp", "zstd"));
}

static char conf_path[64];

static void write_conf(const char *text)
{
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    setenv("NROOT_CONFIG", conf_path, 1);
    nr_conf_reset();
}

static void test_format_precedence(void **state)
{
    snprintf(conf_path, sizeof conf_path, "/tmp/nroot-unit-conf-%d", (int)getpid());
    unsetenv("NROOT_IMAGE_FORMAT");
    setenv("NROOT_CONFIG", "/nonexistent/nroot.conf", 1);
    nr_conf_reset();
    NrError err = { 0 };
    bool sq = true;
    assert_nr_ok(nr_store_image_format(NULL, &sq, &err), err);
    assert_false(sq); /* default: tree */
    write_conf("image-format = squashfs\n");
    assert_nr_ok(nr_store_image_format(NULL, &sq, &err), err);
    assert_true(sq);
    setenv("NROOT_IMAGE_FORMAT", "tree", 1); /* the environment wins over the file */
    assert_nr_ok(nr_store_image_format(NULL, &sq, &err), err);
    assert_false(sq);
    assert_nr_ok(nr_store_image_format("squashfs", &sq, &err), err); /* --format over both */
    assert_true(sq);
    setenv("NROOT_IMAGE_FORMAT", "", 1); /* set and empty: the default, over the file */
    assert_nr_ok(nr_store_image_format(NULL, &sq, &err), err);
    assert_false(sq);
    setenv("NROOT_IMAGE_FORMAT", "sqsh", 1);
    int rc = nr_store_image_format(NULL, &sq, &err);
    assert_nr_error(rc, err, "$NROOT_IMAGE_FORMAT 'sqsh'");
    unsetenv("NROOT_IMAGE_FORMAT");
    write_conf("image-format = Tree\n");
    memset(&err, 0, sizeof err);
    rc = nr_store_image_format(NULL, &sq, &err);
    assert_nr_error(rc, err, "image-format 'Tree' in /tmp/nroot-unit-conf-");
    unlink(conf_path);
    unsetenv("NROOT_CONFIG");
    nr_conf_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_argv_epoch_progress),
        cmocka_unit_test(test_format_precedence),
    };
    return cmocka_run_group_tests_name("squashfs", tests, NULL, NULL);
}
