/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/userns.c — src/ns/userns.c: /etc/subuid text and the id maps
 * planned from it (HACKING.md, "The id-map ladder"). */
#include "nr-userns.h"
#include "unit.h"

static bool scan(const char *text, const char *user, uid_t id, uint32_t *start, uint32_t *count)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    bool found = nr_userns_subid_scan(f, user, id, start, count);
    fclose(f);
    return found;
}

static void range_is(const char *text, const char *user, uid_t id, uint32_t start, uint32_t count)
{
    uint32_t s = 0, c = 0;
    if (!scan(text, user, id, &s, &c))
        fail_msg("no range for %s/%u in \"%s\"", user ? user : "(null)", (unsigned)id, text);
    assert_int_equal(s, start);
    assert_int_equal(c, count);
}

static void no_range(const char *text, const char *user, uid_t id)
{
    uint32_t s = 7, c = 7;
    if (scan(text, user, id, &s, &c))
        fail_msg("a range %u+%u for %s/%u in \"%s\"", s, c, user ? user : "(null)", (unsigned)id,
                 text);
    assert_int_equal(s, 7);
    assert_int_equal(c, 7);
}

static void test_subid_scan(void **state)
{
    range_is("alice:100000:65536\n", "alice", 1000, 100000, 65536);
    range_is("alice:100000:65536", "alice", 1000, 100000, 65536); /* no newline */
    range_is("1000:200000:10\n", "alice", 1000, 200000, 10);      /* by uid */
    range_is("1000:200000:10\n", NULL, 1000, 200000, 10);         /* no name */
    /* the first that fits */
    range_is("bob:1:1\nalice:300000:5\nalice:400000:6\n", "alice", 1000, 300000, 5);
    range_is("1000:1:2\nalice:3:4\n", "alice", 1000, 1, 2);
    /* lines that do not fit are passed over */
    range_is("#alice:1:1\n" /* comment */
             "alice:5:0\n"  /* empty range */
             "alice:x:10\n" /* not numbers */
             "alice:-1:10\n"
             "alice:4294967296:10\n" /* out of range */
             "alice:10:4294967296\n"
             "alice:100000\n" /* too few fields */
             "alice\n"
             "\n"
             "alice:100000:10\r\n" /* a CR is no digit */
             "alic:1:1\nalice2:1:1\nALICE:1:1\n"
             "alice:0:4294967295\n",
             "alice", 1000, 0, UINT32_MAX);
    /* fields: "alice::10" has two ("::" is one separator) */
    no_range("alice::10\n", "alice", 1000);
    range_is("alice:1:2:extra\n", "alice", 1000, 1, 2);
}

static void test_subid_scan_hostile(void **state)
{
    no_range("", "alice", 1000);
    no_range("\n\n\n", "alice", 1000);
    no_range("bob:100000:65536\n", "alice", 1000);
    no_range("1001:100000:65536\n", "alice", 1000);
    no_range("alice:100000:65536\n", NULL, 1000);
    no_range(":100000:65536\n", "", 1000);
    no_range("01000:1:1\n", NULL, 1000); /* ids compare as text */
    /* a line longer than the line buffer is passed over whole: its tail
     * is not read as a line of its own */
    char text[2000];
    memset(text, '#', 511);
    strcpy(text + 511, "alice:5:5\n");
    no_range(text, "alice", 1000);
    memset(text, 'x', 1500);
    strcpy(text + 1500, ":alice:5:5\nalice:6:6\n");
    range_is(text, "alice", 1000, 6, 6);
    /* NUL bytes, control characters */
    static const char nul[] = "bob:1:1\0alice:2:2\n";
    FILE *f = fmemopen((void *)nul, sizeof nul - 1, "r");
    uint32_t s, c;
    assert_false(nr_userns_subid_scan(f, "alice", 1000, &s, &c));
    fclose(f);
    no_range("\x1b[2J:1:1\n", "alice", 1000);
}

static void test_subid_range_file(void **state)
{
    const char *path = unit_file("subuid", "bob:1:1\nalice:100000:65536\n", 27);
    uint32_t s = 0, c = 0;
    assert_true(nr_userns_subid_range(path, "alice", 1000, &s, &c));
    assert_int_equal(s, 100000);
    assert_int_equal(c, 65536);
    assert_false(nr_userns_subid_range(unit_path("missing"), "alice", 1000, &s, &c));
}

/* ---- nsswitch.conf's subid: line, as libsubid reads it ---- */

static void module_is(const char *text, const char *module)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    char buf[64] = "unset";
    bool found = nr_userns_nss_subid(f, buf, sizeof buf);
    fclose(f);
    if (!module) {
        if (found)
            fail_msg("a module \"%s\" in \"%s\"", buf, text);
        assert_string_equal(buf, "unset");
        return;
    }
    if (!found)
        fail_msg("no module in \"%s\"", text);
    assert_string_equal(buf, module);
}

static void test_nss_subid(void **state)
{
    module_is("subid: sss\n", "sss");
    module_is("passwd: files systemd\nsubid:\tsss\n", "sss");
    module_is("subid:sss", "sss");            /* no blank, no newline */
    module_is("SUBID: ldap files\n", "ldap"); /* any case; the first word alone */
    module_is("subid: files\n", "files");     /* the caller tells files apart */
    module_is("subid:\nsubid: sss\n", "sss"); /* an empty line does not count */
    module_is("subid: a\nsubid: b\n", "a");   /* the first that names one */
    module_is("subid:  \t sss  \t\n", "sss");
    module_is("", NULL);
    module_is("passwd: files\n", NULL);
    module_is("#subid: sss\n", NULL);
    module_is(" subid: sss\n", NULL); /* libsubid wants it at the line's start */
    module_is("subids: sss\n", NULL);
    module_is("subid sss\n", NULL);
    /* too long for the buffer: none, not a truncated name */
    char text[200] = "subid: ";
    memset(text + 7, 'x', 100);
    strcpy(text + 107, "\n");
    module_is(text, NULL);
    /* a line longer than the line buffer is passed over whole */
    char long_line[1200];
    memset(long_line, ' ', 1000);
    strcpy(long_line + 1000, "\nsubid: tail\n");
    memcpy(long_line, "passwd:", 7);
    module_is(long_line, "tail");
    memset(long_line, 'x', 1000);
    strcpy(long_line + 1000, "subid: no\n");
    module_is(long_line, NULL);
}

/* ---- planning ---- */

static NrIdHost host_with(uid_t uid, gid_t gid, bool ranges, bool helpers)
{
    return (NrIdHost){
        .uid = uid,
        .gid = gid,
        .user = "alice",
        .has_subuid = ranges,
        .has_subgid = ranges,
        .subuid_start = 100000,
        .subuid_count = 65536,
        .subgid_start = 200000,
        .subgid_count = 65536,
        .helpers = ranges && helpers,
    };
}

static void range_eq(NrIdRange r, uint32_t inside, uint32_t outside, uint32_t count)
{
    assert_int_equal(r.inside, inside);
    assert_int_equal(r.outside, outside);
    assert_int_equal(r.count, count);
}

static void plan_ok(NrUsernsMode mode, const NrIdHost *h, NrIdMap *m)
{
    NrError err = { 0 };
    int rc = nr_userns_plan_host(mode, h, m, &err);
    if (rc != 0)
        fail_msg("mode %d: %s", mode, err.msg);
    assert_int_equal(strlen(m->tag), 16);
    assert_string_equal(m->newuidmap, ""); /* the helpers' paths are not its business */
}

static void test_plan_subids(void **state)
{
    NrIdHost h = host_with(1000, 1001, true, true);
    NrIdMap m;
    plan_ok(NR_USERNS_AUTO, &h, &m);
    assert_true(m.helpers);
    assert_string_equal(m.rung, "subids");
    assert_int_equal(m.n_uid, 2);
    assert_int_equal(m.n_gid, 2);
    range_eq(m.uid[0], 0, 1000, 1);
    range_eq(m.uid[1], 1, 100000, 65536);
    range_eq(m.gid[0], 0, 1001, 1);
    range_eq(m.gid[1], 1, 200000, 65536);
    assert_int_equal(m.user_uid, 0);
    assert_int_equal(m.user_gid, 0);
    NrIdMap m2;
    plan_ok(NR_USERNS_SUBIDS, &h, &m2);
    assert_string_equal(m2.tag, m.tag);
    assert_true(nr_userns_uid_mapped(&m, 0));
    assert_true(nr_userns_uid_mapped(&m, 65536));
    assert_false(nr_userns_uid_mapped(&m, 65537));
    assert_false(nr_userns_uid_mapped(&m, UINT32_MAX));
    assert_true(nr_userns_gid_mapped(&m, 65536));
    assert_false(nr_userns_gid_mapped(&m, 65537));
}

static void test_plan_single(void **state)
{
    nr_quiet = true; /* the single-id notice */
    NrIdHost with = host_with(1000, 1000, true, true),
             without = host_with(1000, 1000, false, false),
             nohelpers = host_with(1000, 1000, true, false);
    NrIdMap m, a, b;
    plan_ok(NR_USERNS_SINGLE, &with, &m);
    assert_false(m.helpers);
    assert_string_equal(m.rung, "single");
    assert_int_equal(m.n_uid, 1);
    assert_int_equal(m.n_gid, 1);
    range_eq(m.uid[0], 0, 1000, 1);
    range_eq(m.gid[0], 0, 1000, 1);
    assert_int_equal(m.user_uid, 0);
    /* the images' ownership on disk: known values, a change re-imports
     * every image of every user */
    assert_string_equal(m.tag, "7ae5474ea9e34f17");
    /* auto falls back to it, with or without ranges */
    plan_ok(NR_USERNS_AUTO, &without, &a);
    plan_ok(NR_USERNS_AUTO, &nohelpers, &b);
    assert_string_equal(a.rung, "single");
    assert_string_equal(a.tag, m.tag);
    assert_string_equal(b.tag, m.tag);
    assert_false(nr_userns_uid_mapped(&m, 1));
    assert_true(nr_userns_uid_mapped(&m, 0));
    nr_quiet = false;
}

static void test_plan_keepid(void **state)
{
    NrIdHost h = host_with(1000, 1001, true, true);
    NrIdMap m;
    plan_ok(NR_USERNS_KEEPID, &h, &m);
    assert_string_equal(m.rung, "keep-id");
    assert_true(m.helpers);
    assert_int_equal(m.n_uid, 3);
    range_eq(m.uid[0], 0, 100000, 1000);
    range_eq(m.uid[1], 1000, 1000, 1);
    range_eq(m.uid[2], 1001, 101000, 64536);
    range_eq(m.gid[0], 0, 200000, 1001);
    range_eq(m.gid[1], 1001, 1001, 1);
    range_eq(m.gid[2], 1002, 201001, 64535);
    assert_int_equal(m.user_uid, 1000);
    assert_int_equal(m.user_gid, 1001);
    /* every id of the range used once: 0..65536 inside */
    for (uint32_t id = 0; id <= 65536; id++)
        assert_true(nr_userns_uid_mapped(&m, id));
    assert_false(nr_userns_uid_mapped(&m, 65537));

    /* uid 0: nothing below it */
    h = host_with(0, 0, true, true);
    plan_ok(NR_USERNS_KEEPID, &h, &m);
    assert_int_equal(m.n_uid, 2);
    range_eq(m.uid[0], 0, 0, 1);
    range_eq(m.uid[1], 1, 100000, 65536);
    /* a uid above the range's size: all of it below, nothing above */
    h = host_with(70000, 70000, true, true);
    plan_ok(NR_USERNS_KEEPID, &h, &m);
    assert_int_equal(m.n_uid, 2);
    range_eq(m.uid[0], 0, 100000, 65536);
    range_eq(m.uid[1], 70000, 70000, 1);
    assert_false(nr_userns_uid_mapped(&m, 65536));
    assert_true(nr_userns_uid_mapped(&m, 70000));

    /* without helpers: the caller's own id, as itself */
    h = host_with(1000, 1001, false, false);
    plan_ok(NR_USERNS_KEEPID, &h, &m);
    assert_string_equal(m.rung, "keep-id (single id)");
    assert_false(m.helpers);
    range_eq(m.uid[0], 1000, 1000, 1);
    range_eq(m.gid[0], 1001, 1001, 1);
    assert_int_equal(m.user_uid, 1000);
    /* ... which images are unpacked as the single root map */
    NrIdMap u, single;
    nr_userns_unpack_map(&m, &u);
    plan_ok(NR_USERNS_SINGLE, &h, &single);
    assert_string_equal(u.rung, "single");
    range_eq(u.uid[0], 0, 1000, 1);
    range_eq(u.gid[0], 0, 1001, 1);
    assert_string_equal(u.tag, single.tag);
    assert_int_equal(u.user_uid, 0);
}

static void test_plan_tags(void **state)
{
    /* each mapping its own tag; the same mapping the same one */
    NrIdHost h = host_with(1000, 1000, true, true);
    NrIdMap a, b, c, d;
    plan_ok(NR_USERNS_SUBIDS, &h, &a);
    plan_ok(NR_USERNS_KEEPID, &h, &b);
    plan_ok(NR_USERNS_SINGLE, &h, &c);
    assert_string_not_equal(a.tag, b.tag);
    assert_string_not_equal(a.tag, c.tag);
    assert_string_not_equal(b.tag, c.tag);
    h.subgid_start++;
    plan_ok(NR_USERNS_SUBIDS, &h, &d);
    assert_string_not_equal(a.tag, d.tag);
    /* unpacking a subids map: the same map, root as the user */
    NrIdMap u;
    nr_userns_unpack_map(&a, &u);
    assert_string_equal(u.tag, a.tag);
    assert_int_equal(u.n_uid, 2);
}

static void test_plan_refuses(void **state)
{
    NrIdMap m;
    NrError err = { 0 };
    NrIdHost h = host_with(1000, 1000, false, false);
    h.has_subuid = true;
    assert_nr_error(nr_userns_plan_host(NR_USERNS_SUBIDS, &h, &m, &err), err,
                    "--userns=subids: no subordinate gid range for user alice in /etc/subgid");
    assert_non_null(strstr(err.hint, "usermod --add-subuids"));
    assert_non_null(strstr(err.hint, " alice"));
    h = host_with(1000, 1000, false, false);
    h.user = NULL;
    assert_nr_error(nr_userns_plan_host(NR_USERNS_SUBIDS, &h, &m, &err), err,
                    "no subordinate uid range for user ? in /etc/subuid");
    assert_non_null(strstr(err.hint, "$USER"));
    h = host_with(1000, 1000, true, false);
    h.why_uidmap = "is not in PATH";
    assert_nr_error(nr_userns_plan_host(NR_USERNS_SUBIDS, &h, &m, &err), err,
                    "--userns=subids: newuidmap is not in PATH");
    assert_non_null(strstr(err.hint, "uidmap"));
    h.why_uidmap = NULL;
    h.why_gidmap = "is neither setuid root nor has file capabilities";
    assert_nr_error(nr_userns_plan_host(NR_USERNS_SUBIDS, &h, &m, &err), err,
                    "newgidmap is neither setuid root");
    /* the ranges came from an nsswitch module: it is named, not the files */
    h = host_with(1000, 1000, false, false);
    h.subid_module = "sss";
    assert_nr_error(nr_userns_plan_host(NR_USERNS_SUBIDS, &h, &m, &err), err,
                    "--userns=subids: no subordinate uid range for user alice from nss module sss");
    assert_non_null(strstr(err.hint, "nss module sss"));
    assert_null(strstr(err.hint, "usermod"));
}

static void test_check_ids(void **state)
{
    NrIdHost h = host_with(1000, 1000, true, true);
    NrIdMap m;
    NrError err = { 0 };
    plan_ok(NR_USERNS_SUBIDS, &h, &m);
    assert_nr_ok(nr_userns_check_ids(&m, "u", 0, 0, &err), err);
    assert_nr_ok(nr_userns_check_ids(&m, "u", 65536, 65536, &err), err);
    assert_nr_ok(nr_userns_check_ids(&m, "u", -1, -1, &err), err);
    assert_nr_error(nr_userns_check_ids(&m, "u", 65537, 0, &err), err, "user 'u' (uid 65537)");
    assert_nr_error(nr_userns_check_ids(&m, "u", 0, 70000, &err), err, "(gid 70000)");
    assert_string_equal(err.hint, "");
    plan_ok(NR_USERNS_SINGLE, &h, &m);
    assert_nr_error(nr_userns_check_ids(&m, "tester", 1000, 1000, &err), err, "single mapping");
    assert_non_null(strstr(err.hint, "/etc/subuid"));
}

/* ---- --net=container:NAME: NAME's map covers the joiner's ---- */

static void test_map_covers(void **state)
{
    /* podman's and nroot's subids map: 0 -> UID, 1.. -> the range */
    const NrIdRange name[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
    const NrIdRange same[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
    assert_true(nr_userns_map_covers(name, 2, same, 2));
    const NrIdRange part[] = { { 0, 1000, 1 }, { 10, 100009, 5 } };
    assert_true(nr_userns_map_covers(name, 2, part, 2));
    const NrIdRange single[] = { { 0, 1000, 1 } };
    assert_true(nr_userns_map_covers(name, 2, single, 1));
    /* NAME single-id, the joiner wants a range: not there */
    assert_false(nr_userns_map_covers(single, 1, same, 2));
    /* the same inside ids on other host ids (keep-id: UID -> UID) */
    const NrIdRange keepid[] = { { 1000, 1000, 1 } };
    assert_false(nr_userns_map_covers(name, 2, keepid, 1));
    /* past the end of a range, across two ranges, overflowing */
    const NrIdRange past[] = { { 1, 100000, 65537 } };
    assert_false(nr_userns_map_covers(name, 2, past, 1));
    const NrIdRange across[] = { { 0, 1000, 2 } };
    assert_false(nr_userns_map_covers(name, 2, across, 1));
    const NrIdRange wrap[] = { { 4294967295u, 4294967295u, 2 } };
    const NrIdRange all[] = { { 0, 0, 4294967295u } };
    assert_false(nr_userns_map_covers(all, 1, wrap, 1));
    const NrIdRange ident[] = { { 5, 5, 10 } };
    assert_true(nr_userns_map_covers(all, 1, ident, 1));
    assert_false(nr_userns_map_covers(all, 1, part, 1));
    assert_true(nr_userns_map_covers(name, 2, NULL, 0));
}

static void test_read_map(void **state)
{
    NrIdRange r[NR_MAX_RANGES];
    int n = 0;
    NrError err = { 0 };
    const char *text = "         0       1000          1\n         1     100000      65536\n";
    const char *path = unit_file("uid_map", text, strlen(text));
    assert_nr_ok(nr_userns_read_map(path, r, &n, &err), err);
    assert_int_equal(n, 2);
    range_eq(r[1], 1, 100000, 65536);
    path = unit_file("empty_map", "", 0);
    assert_nr_error(nr_userns_read_map(path, r, &n, &err), err, "maps no id");
    text = "0 0 1\n1 1 1\n2 2 1\n3 3 1\n";
    path = unit_file("long_map", text, strlen(text));
    assert_nr_error(nr_userns_read_map(path, r, &n, &err), err, "more than 3 ranges");
}

/* a map in the ids of the network holder's user namespace (nr_userns_join):
 * the same host ids, written directly, the tag kept */
static void test_translate(void **state)
{
    NrIdHost h = host_with(1000, 1001, true, true);
    NrIdMap m;
    NrError err = { 0 };
    /* the holder's U: "0 1000 1", "1 100000 65536" (gids: 1001, 200000) */
    const NrIdRange uu[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
    const NrIdRange ug[] = { { 0, 1001, 1 }, { 1, 200000, 65536 } };
    plan_ok(NR_USERNS_SUBIDS, &h, &m);
    char tag[sizeof m.tag];
    memcpy(tag, m.tag, sizeof tag);
    assert_nr_ok(nr_userns_translate(&m, uu, 2, ug, 2, true, &err), err);
    assert_true(m.direct);
    assert_true(m.setgroups);
    assert_string_equal(m.tag, tag);
    assert_int_equal(m.n_uid, 2);
    range_eq(m.uid[0], 0, 0, 1);
    range_eq(m.uid[1], 1, 1, 65536);
    range_eq(m.gid[1], 1, 1, 65536);
    /* again: nothing changes */
    assert_nr_ok(nr_userns_translate(&m, uu, 2, ug, 2, true, &err), err);
    range_eq(m.uid[0], 0, 0, 1);
    /* keep-id: 1000 is U's 0, the ids around it U's 1.. */
    plan_ok(NR_USERNS_KEEPID, &h, &m);
    assert_nr_ok(nr_userns_translate(&m, uu, 2, ug, 2, true, &err), err);
    assert_int_equal(m.n_uid, 3);
    range_eq(m.uid[0], 0, 1, 1000);
    range_eq(m.uid[1], 1000, 0, 1);
    range_eq(m.uid[2], 1001, 1001, 64536);
    /* a single-id container in a U of subordinate ids: deny setgroups */
    plan_ok(NR_USERNS_SINGLE, &h, &m);
    assert_nr_ok(nr_userns_translate(&m, uu, 2, ug, 2, true, &err), err);
    assert_false(m.setgroups);
    assert_int_equal(m.n_uid, 1);
    range_eq(m.uid[0], 0, 0, 1);
    /* subordinate ids in a single-id U: refused, naming the id */
    plan_ok(NR_USERNS_SUBIDS, &h, &m);
    assert_nr_error(nr_userns_translate(&m, uu, 1, ug, 1, false, &err), err,
                    "does not map uid 100000");
}

/* a range of the map that spans two of U's is split */
static void test_translate_split(void **state)
{
    NrIdMap m = { .n_uid = 1, .n_gid = 1, .helpers = true };
    m.uid[0] = (NrIdRange){ 0, 500, 20 };
    m.gid[0] = (NrIdRange){ 0, 500, 1 };
    const NrIdRange u[] = { { 0, 500, 10 }, { 100, 510, 10 } };
    NrError err = { 0 };
    assert_nr_ok(nr_userns_translate(&m, u, 2, u, 2, false, &err), err);
    assert_int_equal(m.n_uid, 2);
    range_eq(m.uid[0], 0, 0, 10);
    range_eq(m.uid[1], 10, 100, 10);
    assert_false(m.setgroups);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subid_scan),       cmocka_unit_test(test_subid_scan_hostile),
        cmocka_unit_test(test_subid_range_file), cmocka_unit_test(test_nss_subid),
        cmocka_unit_test(test_plan_subids),      cmocka_unit_test(test_plan_single),
        cmocka_unit_test(test_plan_keepid),      cmocka_unit_test(test_plan_tags),
        cmocka_unit_test(test_plan_refuses),     cmocka_unit_test(test_check_ids),
        cmocka_unit_test(test_map_covers),       cmocka_unit_test(test_read_map),
        cmocka_unit_test(test_translate),        cmocka_unit_test(test_translate_split),
    };
    return cmocka_run_group_tests_name("userns", tests, NULL, NULL);
}
