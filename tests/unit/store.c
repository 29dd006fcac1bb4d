/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/store.c — src/state/store.c: the cache keys of imported files
 * and layouts (by-file/KEY).  A key that changes orphans every user's
 * imported images; one that does not change when its file does runs a
 * stale image. */
#include <sys/stat.h>

#include "nr-store.h"
#include "unit.h"

static struct stat stat_of(uint64_t dev, uint64_t ino, int64_t size, int64_t sec, long nsec)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_dev = (dev_t)dev;
    st.st_ino = (ino_t)ino;
    st.st_size = (off_t)size;
    st.st_mtim.tv_sec = (time_t)sec;
    st.st_mtim.tv_nsec = nsec;
    return st;
}

static void key_of(const struct stat *id, const struct stat *main, const char *ref, const char *tag,
                   char *buf)
{
    memset(buf, 'x', 64);
    nr_store_source_key(id, main, ref, tag, buf, 64);
}

static void test_key_format(void **state)
{
    struct stat a = stat_of(2049, 1234, 4096, 1700000000, 5);
    char k[64];
    key_of(&a, &a, NULL, "0123456789abcdef", k);
    /* 16 lower-case hex digits, '-', the map's tag */
    assert_int_equal(strlen(k), 16 + 1 + 16);
    for (int i = 0; i < 16; i++)
        assert_non_null(strchr("0123456789abcdef", k[i]));
    assert_string_equal(k + 16, "-0123456789abcdef");
    /* the key on disk today: a change here invalidates every cache */
    assert_string_equal(k, "c2083b1bc13ca63e-0123456789abcdef");
}

static void test_key_changes(void **state)
{
    struct stat a = stat_of(2049, 1234, 4096, 1700000000, 5);
    char base[64], k[64];
    key_of(&a, &a, NULL, "t", base);
    key_of(&a, &a, NULL, "t", k);
    assert_string_equal(k, base); /* deterministic */

    /* every part of the identity counts */
    struct stat v[] = {
        stat_of(2050, 1234, 4096, 1700000000, 5), stat_of(2049, 1235, 4096, 1700000000, 5),
        stat_of(2049, 1234, 4097, 1700000000, 5), stat_of(2049, 1234, 4096, 1700000001, 5),
        stat_of(2049, 1234, 4096, 1700000000, 6),
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        key_of(&v[i], &v[i], NULL, "t", k);
        assert_string_not_equal(k, base);
    }
    /* a layout: the directory's device and inode, its index's inode, size and time */
    struct stat dir = stat_of(2049, 1234, 4096, 1, 0),
                index = stat_of(2049, 99, 300, 1700000000, 5);
    char layout[64];
    key_of(&dir, &index, NULL, "t", layout);
    assert_string_not_equal(layout, base);
    struct stat index2 = stat_of(2049, 99, 301, 1700000000, 5);
    key_of(&dir, &index2, NULL, "t", k);
    assert_string_not_equal(k, layout);
    /* the directory's own size and time do not count (a layout gains blobs) */
    struct stat dir2 = stat_of(2049, 1234, 8192, 2, 7);
    key_of(&dir2, &index, NULL, "t", k);
    assert_string_equal(k, layout);

    /* --image-ref: none, empty and a name all differ */
    char r1[64], r2[64], r3[64];
    key_of(&a, &a, "", "t", r1);
    key_of(&a, &a, "latest", "t", r2);
    key_of(&a, &a, "latest2", "t", r3);
    assert_string_not_equal(r1, base);
    assert_string_not_equal(r2, base);
    assert_string_not_equal(r2, r1);
    assert_string_not_equal(r3, r2);
    /* the tag: only the part after the '-' */
    key_of(&a, &a, NULL, "u", k);
    assert_memory_equal(k, base, 17);
    assert_string_not_equal(k, base);
}

static void test_key_hostile(void **state)
{
    struct stat a = stat_of(UINT64_MAX, UINT64_MAX, INT64_MAX, INT64_MAX, 999999999);
    char k[64];
    /* a long ref is hashed, never copied */
    char ref[100000];
    memset(ref, 'r', sizeof ref - 1);
    ref[sizeof ref - 1] = '\0';
    key_of(&a, &a, ref, "t", k);
    assert_int_equal(strlen(k), 18);
    /* a buffer too small: cut, terminated, nothing written beyond */
    char small[12];
    memset(small, 'x', sizeof small);
    nr_store_source_key(&a, &a, NULL, "tag", small, 8);
    assert_int_equal(strlen(small), 7);
    assert_int_equal(small[8], 'x');
    /* a tag longer than the key buffer */
    char tag[200];
    memset(tag, 'g', sizeof tag - 1);
    tag[sizeof tag - 1] = '\0';
    key_of(&a, &a, NULL, tag, k);
    assert_int_equal(strlen(k), 63);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_format),
        cmocka_unit_test(test_key_changes),
        cmocka_unit_test(test_key_hostile),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
