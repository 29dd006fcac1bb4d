/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/util.c — src/lib/util.c: key=value files, terminal escaping,
 * JSON strings, durations, numbers. */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "nr-util.h"
#include "unit.h"

/* ---- key=value files ---- */

typedef struct Pairs {
    NrStrv keys, values;
} Pairs;

static void collect(void *data, const char *key, char *value)
{
    Pairs *p = data;
    nr_strv_push(&p->keys, key);
    nr_strv_push(&p->values, value);
}

static void pairs_clear(Pairs *p)
{
    nr_strv_clear(&p->keys);
    nr_strv_clear(&p->values);
}

/* nr_kv_put into a file, nr_kv_read back: the value comes back the same */
static void kv_round_trip(const char *value)
{
    const char *path = unit_path("kv");
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    nr_kv_put(f, "first", "1");
    nr_kv_put(f, "key", value);
    nr_kv_put(f, "last", "2");
    assert_int_equal(fclose(f), 0);
    Pairs p = { 0 };
    NrError err = { 0 };
    assert_nr_ok(nr_kv_read(path, collect, &p, &err), err);
    assert_int_equal(p.keys.n, 3);
    assert_string_equal(p.keys.v[0], "first");
    assert_string_equal(p.values.v[0], "1");
    assert_string_equal(p.keys.v[1], "key");
    assert_string_equal(p.values.v[1], value);
    assert_string_equal(p.keys.v[2], "last");
    assert_string_equal(p.values.v[2], "2");
    pairs_clear(&p);
}

static void test_kv_round_trips(void **state)
{
    static const char *const values[] = {
        "",
        "plain",
        "a=b=c",
        "two\nlines",
        "\n",
        "\n\n\n",
        "back\\slash",
        "\\",
        "ends in \\",
        "\\n (a backslash and an n)",
        "\\\\n",
        "\\\n",
        "tab\there",
        "cr\r\n",
        "\x1b[31mred",
        "\x01\x7f",
        "ütf-8 ✓",
        "\xff\xfe not utf-8",
        " leading and trailing spaces ",
        "#not a comment",
        "=",
        "key=value\nkey2=value2",
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        kv_round_trip(values[i]);
    /* a long value, every byte but NUL */
    char big[70000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)(i % 255 + 1);
    big[sizeof big - 1] = '\0';
    kv_round_trip(big);
}

static void test_kv_put_format(void **state)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    nr_kv_put(f, "k", "a\nb\\c");
    nr_kv_put(f, "empty", "");
    assert_int_equal(fclose(f), 0);
    /* one line per pair, whatever the value holds */
    assert_string_equal(out, "k=a\\nb\\\\c\nempty=\n");
    free(out);
}

static void test_kv_read_damaged(void **state)
{
    /* no '=': ignored; the last line without its newline (half-written):
     * ignored; unknown escapes stay as they are; the first '=' splits */
    static const char text[] = "noequals\nk=v\n=empty key\nx=\\t\\q\\\nk2=a=b\nhalf=writ";
    const char *path = unit_file("damaged", text, sizeof text - 1);
    Pairs p = { 0 };
    NrError err = { 0 };
    assert_nr_ok(nr_kv_read(path, collect, &p, &err), err);
    assert_int_equal(p.keys.n, 4);
    assert_string_equal(p.keys.v[0], "k");
    assert_string_equal(p.values.v[0], "v");
    assert_string_equal(p.keys.v[1], "");
    assert_string_equal(p.values.v[1], "empty key");
    assert_string_equal(p.keys.v[2], "x");
    assert_string_equal(p.values.v[2], "\\t\\q\\");
    assert_string_equal(p.keys.v[3], "k2");
    assert_string_equal(p.values.v[3], "a=b");
    pairs_clear(&p);

    /* nothing but a half line, an empty file, blank lines */
    static const char *const none[] = { "k=v", "", "\n\n\n" };
    for (size_t i = 0; i < 3; i++) {
        path = unit_file("none", none[i], strlen(none[i]));
        assert_nr_ok(nr_kv_read(path, collect, &p, &err), err);
        assert_int_equal(p.keys.n, 0);
    }

    /* a NUL byte ends what is read, without harm */
    static const char nul[] = "a=1\nb=2\0c=3\nd=4\n";
    path = unit_file("nul", nul, sizeof nul - 1);
    assert_nr_ok(nr_kv_read(path, collect, &p, &err), err);
    assert_int_equal(p.keys.n, 2);
    assert_string_equal(p.values.v[1], "2");
    pairs_clear(&p);
}

static void test_kv_read_refuses(void **state)
{
    Pairs p = { 0 };
    NrError err = { 0 };
    /* missing, a directory, a FIFO (must not hang), too big (sparse) */
    assert_nr_error(nr_kv_read(unit_path("missing"), collect, &p, &err), err, "cannot open");
    assert_nr_error(nr_kv_read(unit_tmpdir(), collect, &p, &err), err, "not a regular file");
    const char *fifo = unit_path("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_nr_error(nr_kv_read(fifo, collect, &p, &err), err, "not a regular file");
    const char *big = unit_path("big");
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)NR_READ_MAX + 1), 0);
    close(fd);
    assert_nr_error(nr_kv_read(big, collect, &p, &err), err, "larger than");
    assert_int_equal(p.keys.n, 0);
}

/* ---- nr_escape: text fit for a terminal ---- */

static void escape_is(const char *in, const char *want)
{
    char *got = nr_escape(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_escape(void **state)
{
    escape_is(NULL, "");
    escape_is("", "");
    escape_is("plain text, ümlaut, ✓, 😀", "plain text, ümlaut, ✓, 😀");
    escape_is("a\nb\tc", "a\\nb\\tc");
    escape_is("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07");
    escape_is("\r\x7f", "\\x0d\\x7f");
    /* C1 controls: U+0085, U+009B (CSI) */
    escape_is("\xc2\x85\xc2\x9b", "\\xc2\\x85\\xc2\\x9b");
    /* no UTF-8: a stray byte, overlong forms, a surrogate, beyond U+10FFFF,
     * a sequence cut short at the end */
    escape_is("\xff", "\\xff");
    escape_is("\xc0\xaf", "\\xc0\\xaf");
    escape_is("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
    escape_is("\xed\xa0\x80", "\\xed\\xa0\\x80");
    escape_is("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
    escape_is("ok\xe2\x82", "ok\\xe2\\x82");
    escape_is("\xe2\x82x", "\\xe2\\x82x");
    /* invisible and bidirectional controls (Trojan Source) */
    escape_is("evil\xe2\x80\xaetxt.exe", "evil\\u202etxt.exe");
    escape_is("a\xe2\x80\x8b"
              "b\xef\xbb\xbf",
              "a\\u200bb\\ufeff");
    escape_is("\xd8\x9c\xe2\x81\xa6", "\\u061c\\u2066");
    /* the last ones that are not escaped around them */
    escape_is("\xe2\x80\x8a\xe2\x80\xaf", "\xe2\x80\x8a\xe2\x80\xaf");
}

static void test_escape_long(void **state)
{
    /* 100000 escape characters: 4 bytes each out */
    size_t n = 100000;
    char *in = malloc(n + 1);
    assert_non_null(in);
    memset(in, 0x1b, n);
    in[n] = '\0';
    char *out = nr_escape(in);
    assert_int_equal(strlen(out), 4 * n);
    assert_memory_equal(out, "\\x1b\\x1b", 8);
    free(out);
    free(in);
}

/* ---- nr_json_string, which writes to stdout ---- */

static char *json_of(const char *s)
{
    fflush(stdout);
    int saved = dup(1);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fileno(tmp), 1), 1);
    nr_json_string(s);
    fflush(stdout);
    assert_int_equal(dup2(saved, 1), 1);
    close(saved);
    off_t len = lseek(fileno(tmp), 0, SEEK_END);
    assert_true(len >= 0);
    char *out = calloc(1, (size_t)len + 1);
    assert_non_null(out);
    assert_int_equal(pread(fileno(tmp), out, (size_t)len, 0), len);
    fclose(tmp);
    return out;
}

static void json_is(const char *in, const char *want)
{
    char *got = json_of(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_json_string(void **state)
{
    json_is(NULL, "\"\"");
    json_is("", "\"\"");
    json_is("plain ✓", "\"plain ✓\"");
    json_is("q\"b\\", "\"q\\\"b\\\\\"");
    json_is("a\nb\tc\r", "\"a\\nb\\tc\\u000d\"");
    json_is("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    json_is("\xc2\x85", "\"\\u0085\"");
    /* line and paragraph separators break JavaScript string literals */
    json_is("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");
    /* not UTF-8: one U+FFFD per byte, as Go does */
    json_is("\xff", "\"\\ufffd\"");
    json_is("a\xc0\xafz", "\"a\\ufffd\\ufffdz\"");
    json_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    json_is("end\xe2\x82", "\"end\\ufffd\\ufffd\"");
}

/* ---- nr_human_duration ---- */

static void duration_is(int64_t s, const char *want)
{
    char buf[64];
    memset(buf, 'x', sizeof buf);
    nr_human_duration(s, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_human_duration(void **state)
{
    duration_is(INT64_MIN, "Less than a second");
    duration_is(-5, "Less than a second");
    duration_is(0, "Less than a second");
    duration_is(1, "1 second");
    duration_is(2, "2 seconds");
    duration_is(59, "59 seconds");
    duration_is(60, "About a minute");
    duration_is(119, "About a minute");
    duration_is(120, "2 minutes");
    duration_is(3599, "59 minutes");
    duration_is(3600, "About an hour");
    duration_is(7199, "About an hour");
    duration_is(7200, "2 hours");
    duration_is(48 * 3600 - 1, "47 hours");
    duration_is(48 * 3600, "2 days");
    duration_is(14 * 86400 - 1, "13 days");
    duration_is(14 * 86400, "2 weeks");
    duration_is(90 * 86400 - 1, "12 weeks");
    duration_is(90 * 86400, "3 months");
    duration_is(730 * 86400 - 1, "24 months");
    duration_is(730 * 86400, "2 years");
    duration_is(INT64_MAX, "292471208677 years");
    /* a small buffer: cut, terminated */
    char small[5];
    nr_human_duration(3 * 86400, small, sizeof small);
    assert_string_equal(small, "3 da");
}

/* ---- nr_parse_u32 ---- */

static void test_parse_u32(void **state)
{
    uint32_t v = 7;
    assert_true(nr_parse_u32("0", &v));
    assert_int_equal(v, 0);
    assert_true(nr_parse_u32("4294967295", &v));
    assert_int_equal(v, UINT32_MAX);
    assert_true(nr_parse_u32("007", &v));
    assert_int_equal(v, 7);
    static const char *const bad[] = {
        "",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999",
        "-1",
        "-0",
        "+1",
        " 1",
        "1 ",
        "1\n",
        "0x10",
        "1e3",
        "1.0",
        "١",
        "abc",
        "12abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        if (nr_parse_u32(bad[i], &v))
            fail_msg("\"%s\" parsed as %u", bad[i], v);
        assert_int_equal(v, 42); /* untouched */
    }
    assert_false(nr_parse_u32(NULL, &v));
}

/* ---- strv, fnv ---- */

static void test_strv(void **state)
{
    NrStrv s = { 0 };
    for (int i = 0; i < 1000; i++)
        nr_strv_take(&s, nr_strdup_printf("%d", i));
    nr_strv_push(&s, "");
    assert_int_equal(s.n, 1001);
    assert_string_equal(s.v[999], "999");
    assert_string_equal(s.v[1000], "");
    assert_null(s.v[1001]);
    nr_strv_clear(&s);
    assert_null(s.v);
    assert_int_equal(s.n, 0);
    nr_strv_clear(&s); /* twice: harmless */
}

static void test_fnv1a(void **state)
{
    /* the published FNV-1a 64 test vectors: the store's keys depend on them */
    assert_int_equal(nr_fnv1a("", 0, NR_FNV_INIT), 0xcbf29ce484222325ULL);
    assert_int_equal(nr_fnv1a("a", 1, NR_FNV_INIT), 0xaf63dc4c8601ec8cULL);
    assert_int_equal(nr_fnv1a("foobar", 6, NR_FNV_INIT), 0x85944171f73967e8ULL);
    /* chained: the same as all at once */
    uint64_t h = nr_fnv1a("foo", 3, NR_FNV_INIT);
    assert_int_equal(nr_fnv1a("bar", 3, h), 0x85944171f73967e8ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_round_trips),  cmocka_unit_test(test_kv_put_format),
        cmocka_unit_test(test_kv_read_damaged), cmocka_unit_test(test_kv_read_refuses),
        cmocka_unit_test(test_escape),          cmocka_unit_test(test_escape_long),
        cmocka_unit_test(test_json_string),     cmocka_unit_test(test_human_duration),
        cmocka_unit_test(test_parse_u32),       cmocka_unit_test(test_strv),
        cmocka_unit_test(test_fnv1a),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
