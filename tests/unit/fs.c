/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/fs.c — src/lib/fs.c: a squashfs file told by its magic. */
#include <fcntl.h>
#include <sys/stat.h>

#include "nr-fs.h"
#include "unit.h"

static void test_squashfs_magic(void **state)
{
    (void)state;
    /* the magic alone, then more: whatever the name */
    assert_true(nr_fs_is_squashfs(unit_file("a.sqsh", "hsqs", 4)));
    assert_true(nr_fs_is_squashfs(unit_file("noext", "hsqs\x04\x00rest", 10)));
    /* big-endian squashfs (old, never made on Linux now), other content,
     * too short, empty */
    assert_false(nr_fs_is_squashfs(unit_file("be.sqsh", "sqsh", 4)));
    assert_false(nr_fs_is_squashfs(unit_file("tar.sqsh", "ustar\0", 6)));
    assert_false(nr_fs_is_squashfs(unit_file("short.sqsh", "hsq", 3)));
    assert_false(nr_fs_is_squashfs(unit_file("empty.sqsh", "", 0)));
}

static void test_squashfs_not_a_file(void **state)
{
    (void)state;
    const char *dir = unit_path("dir.sqsh");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_false(nr_fs_is_squashfs(dir));
    assert_false(nr_fs_is_squashfs(unit_path("missing.sqsh")));
    /* a FIFO does not block the lookup */
    const char *fifo = unit_path("fifo.sqsh");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_false(nr_fs_is_squashfs(fifo));
    /* a symlink to a squashfs file is one */
    char target[256];
    snprintf(target, sizeof target, "%s", unit_file("target", "hsqs", 4));
    const char *link = unit_path("link.sqsh");
    assert_int_equal(symlink(target, link), 0);
    assert_true(nr_fs_is_squashfs(link));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_squashfs_magic),
        cmocka_unit_test(test_squashfs_not_a_file),
    };
    return cmocka_run_group_tests_name("fs", tests, NULL, NULL);
}
