#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# subid.bats — subordinate ranges through shadow's libsubid: an nsswitch
# `subid:` module (a fake one built here) answers when nsswitch.conf names
# it; without such a line, or when libsubid or the module fails, nroot reads
# /etc/subuid and /etc/subgid itself; `nroot info` says which source
# answered.  nsswitch.conf is replaced in a private mount namespace
# (unshare -rm, a bind mount), and nroot runs in a user namespace nested in
# that one which maps the caller's own ids, so it is the caller there.

load helpers

eval "helpers_$(declare -f setup)"

setup() {
    helpers_setup
    need_tool unshare gcc
    unshare -rm true 2>/dev/null || skip "unshare -rm does not work here"
    unshare -rm unshare -U --map-user="$(id -u)" --map-group="$(id -g)" true 2>/dev/null ||
        skip "unshare has no --map-user (util-linux 2.38 or later)"
    LIBSUBID=$(find_libsubid)
    FAKE=$BATS_TEST_TMPDIR/lib
    mkdir -p "$FAKE"
    build_fake "$FAKE"
    cat >"$BATS_TEST_TMPDIR/in-nss" <<'EOF'
#!/bin/sh
# in-nss NSSWITCH CMD...: CMD with NSSWITCH as /etc/nsswitch.conf, as the
# caller (ids mapped to themselves); $HIDE_LIBSUBID: an empty file over it
conf=$1
shift
mount --bind "$conf" /etc/nsswitch.conf || exit 99
if [ -n "$HIDE_LIBSUBID" ]; then
    mount --bind /dev/null "$HIDE_LIBSUBID" || exit 99
fi
exec unshare -U --map-user="$OUTER_UID" --map-group="$OUTER_GID" "$@"
EOF
    chmod +x "$BATS_TEST_TMPDIR/in-nss"
    NSS=$BATS_TEST_TMPDIR/nsswitch.conf
}

# the path of libsubid.so.4, if installed
find_libsubid() {
    local p
    for p in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu /lib64; do
        [ -e "$p/libsubid.so.4" ] && { readlink -f "$p/libsubid.so.4"; return; }
    done
    /sbin/ldconfig -p 2>/dev/null | awk '$1 == "libsubid.so.4" { print $NF; exit }' |
        xargs -r readlink -f
}

need_libsubid() {
    [ -n "$LIBSUBID" ] || skip "libsubid.so.4 is not installed (libsubid4)"
}

# build_fake DIR: DIR/libsubid_fake.so, an nsswitch subid module (the ABI
# libsubid 4.x dlsym()s: shadow_subid_has_range, _list_owner_ranges,
# _find_subid_owners) granting the caller uids 300000+65536 and gids
# 400000+65536 behind an empty range; $FAKE_SUBID=fail: a connection error,
# none: no range
build_fake() {
    cat >"$1/fake.c" <<'EOF'
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
struct subid_range { unsigned long start, count; };
enum subid_type { ID_TYPE_UID = 1, ID_TYPE_GID = 2 };
enum subid_status { SUCCESS, UNKNOWN_USER, ERROR_CONN, ERROR };
static bool mode(const char *m)
{
    const char *v = getenv("FAKE_SUBID");
    return v && strcmp(v, m) == 0;
}
enum subid_status shadow_subid_has_range(const char *owner, unsigned long start,
                                         unsigned long count, enum subid_type t, bool *result)
{
    unsigned long base = t == ID_TYPE_UID ? 300000 : 400000;
    *result = strcmp(owner, OWNER) == 0 && start >= base && start + count <= base + 65536;
    return SUCCESS;
}
enum subid_status shadow_subid_list_owner_ranges(const char *owner, enum subid_type t,
                                                 struct subid_range **ranges, int *count)
{
    *count = 0;
    *ranges = NULL;
    if (mode("fail"))
        return ERROR_CONN;
    if (mode("none") || strcmp(owner, OWNER) != 0)
        return SUCCESS;
    struct subid_range *r = calloc(2, sizeof *r);
    if (!r)
        return ERROR;
    r[0].start = 5; /* an empty range first: passed over */
    r[0].count = 0;
    r[1].start = t == ID_TYPE_UID ? 300000 : 400000;
    r[1].count = 65536;
    *ranges = r;
    *count = 2;
    return SUCCESS;
}
enum subid_status shadow_subid_find_subid_owners(unsigned long id, enum subid_type t,
                                                 uid_t **uids, int *count)
{
    *uids = NULL;
    *count = 0;
    return SUCCESS;
}
EOF
    gcc -shared -fPIC -DOWNER="\"$(id -un)\"" -o "$1/libsubid_fake.so" "$1/fake.c" ||
        fail "cannot build the fake subid module"
}

# in_nss LINE ARGS...: nroot ARGS with an nsswitch.conf holding LINE (and
# passwd/group lines), through bats' run ($output, $stderr)
in_nss() {
    printf 'passwd: files\ngroup: files\n%s\n' "$1" >"$NSS"
    shift
    echo "\$ [nsswitch: $(tail -1 "$NSS")] nroot ${*@Q}"
    run --separate-stderr env OUTER_UID="$(id -u)" OUTER_GID="$(id -g)" \
        timeout -k 5 "$NROOT_TEST_TIMEOUT" unshare -rm "$BATS_TEST_TMPDIR/in-nss" "$NSS" "$NROOT" "$@"
    echo "status $status"
    printf '%s\n' "$output" "--- stderr" "$stderr"
}

# the state and fix of `nroot info --format json`'s item $1
json_item() {
    python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
for it in d["items"]:
    if it["name"] == sys.argv[1]:
        print(it["state"], it["value"], it["fix"] or "", sep="|")
        break
else:
    print("absent")' "$1" <<<"$output"
}

@test "subid: the nsswitch module answers through libsubid, and info names it" {
    need_libsubid
    LD_LIBRARY_PATH=$FAKE in_nss 'subid: fake' info
    [ "$status" = 0 ] || fail "status $status"
    assert_line --regexp '^subid source +ok +nss module fake \(nsswitch.conf: subid: fake\)$'
    # the empty first range is passed over
    assert_line --regexp '^subordinate uids +ok +300000-365535 \(65536 ids\) from nss module fake$'
    assert_line --regexp '^subordinate gids +ok +400000-465535 \(65536 ids\) from nss module fake$'
    LD_LIBRARY_PATH=$FAKE in_nss 'SUBID:	fake files' info --format json
    [ "$(json_item 'subid source')" = "ok|nss module fake (nsswitch.conf: subid: fake)|" ]
    [ "$(json_item 'subordinate uids')" = "ok|300000-365535 (65536 ids) from nss module fake|" ]
}

@test "subid: without a subid line nroot reads the files itself, libsubid unloaded" {
    local line start count
    for line in '# subid: fake' 'subid: files'; do
        LD_LIBRARY_PATH=$FAKE LD_DEBUG=files in_nss "$line" info
        [ "$status" = 0 ] || fail "status $status"
        assert_line --regexp "^subid source +ok +nroot's parser"
        ! grep -q 'libsubid' <<<"$stderr" || fail "libsubid was loaded"
        read -r start count < <(subid_range /etc/subuid) || true
        if [ -n "$start" ]; then
            assert_line --regexp "^subordinate uids +ok +$start-$((start + count - 1)) \($count ids\) from /etc/subuid"
        else
            assert_line --regexp '^subordinate uids +warning +none from /etc/subuid'
        fi
    done
    # with the line, it is loaded
    need_libsubid
    LD_LIBRARY_PATH=$FAKE LD_DEBUG=files in_nss 'subid: fake' info
    grep -q 'file=libsubid.so.4' <<<"$stderr" || fail "libsubid was not loaded"
    grep -q 'file=libsubid_fake.so' <<<"$stderr" || fail "the module was not loaded"
}

@test "subid: a module libsubid cannot load: files via libsubid, a warning naming it" {
    need_libsubid
    in_nss 'subid: fake' info --format json
    [ "$status" = 0 ] || fail "status $status"
    local it
    it=$(json_item 'subid source')
    [[ $it == "warning|files via libsubid (nsswitch.conf: subid: fake); "*"libsubid_fake.so"*"|install libsubid_fake.so where the dynamic linker finds it" ]] ||
        fail "subid source: $it"
    it=$(json_item 'subordinate uids')
    [[ $it == *"from /etc/subuid|"* ]] || fail "subordinate uids: $it"
}

@test "subid: the module fails or libsubid is missing: nroot's parser, a warning saying why" {
    need_libsubid
    FAKE_SUBID=fail LD_LIBRARY_PATH=$FAKE in_nss 'subid: fake' info --format json
    [ "$status" = 0 ] || fail "status $status"
    [ "$(json_item 'subid source')" = "warning|nroot's parser (nsswitch.conf: subid: fake); libsubid failed to list the uid ranges of $(id -un)|check the service behind nss module fake" ]
    [[ $(json_item 'subordinate uids') == *"from /etc/subuid|"* ]]
    HIDE_LIBSUBID=$LIBSUBID LD_LIBRARY_PATH=$FAKE in_nss 'subid: fake' info --format json
    [ "$status" = 0 ] || fail "status $status"
    local it
    it=$(json_item 'subid source')
    [[ $it == "warning|nroot's parser (nsswitch.conf: subid: fake); libsubid.so.4 cannot be loaded: "*"|apt-get install libsubid4 (dnf install shadow-utils-subid)" ]] ||
        fail "subid source: $it"
}

@test "subid: no range from the module: run names it, not /etc/subuid" {
    need_libsubid
    FAKE_SUBID=none LD_LIBRARY_PATH=$FAKE in_nss 'subid: fake' run --userns=subids "$IMG" true
    assert_nroot_error "^nroot: error: --userns=subids: no subordinate uid range for user $(id -un) from nss module fake$"
    [[ $(nroot_hint) == *"nss module fake"* ]] || fail "hint: $(nroot_hint)"
    FAKE_SUBID=none LD_LIBRARY_PATH=$FAKE in_nss 'subid: fake' info
    assert_line --regexp '^subordinate uids +warning +none from nss module fake: a single-id mapping is used$'
}

@test "subid: a single-id run notice names the module" {
    need_libsubid
    FAKE_SUBID=none LD_LIBRARY_PATH=$FAKE in_nss 'subid: fake' run --net=none "$IMG" /bin/nr-test ids
    [ "$status" = 0 ] || fail "status $status"
    [[ $stderr == *"nroot: notice: no subordinate uid range for user $(id -un) from nss module fake; using a single-id mapping"* ]] ||
        fail "stderr: $stderr"
}
