#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# info.bats — nroot info finds out by trying, says what is missing and the
# fix, and its exit status says whether nroot can run containers here.

load helpers

# the state of item $1 in the JSON output of the last run
json_state() {
    python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
for it in d["items"]:
    if it["name"] == sys.argv[1]:
        print(it["state"], it["fix"] or "", sep="|")
        break
else:
    print("absent")' "$1" <<<"$output"
}

@test "info: every item has a state; nroot can run containers here" {
    run_nroot 0 info
    assert_line --index 0 --regexp '^nroot [0-9]'
    local it
    for it in kernel 'user namespaces' 'subordinate uids' newuidmap 'kernel overlay' whiteouts \
              /dev/fuse fuse-overlayfs /dev/net/tun libslirp cgroups store 'runtime directory'; do
        assert_line --regexp "^$it +(ok|warning|missing) +[^ ]"
    done
    assert_line --regexp '^user namespaces +ok '
    assert_line --regexp '^kernel overlay +ok '
    assert_line 'nroot can run containers here.'
}

@test "info: --format json holds the same, with usable true" {
    run_nroot 0 info --format json
    python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); assert d["usable"] is True, d' <<<"$output"
    [ "$(json_state 'user namespaces')" = "ok|" ]
    [ "$(json_state store)" != absent ]
}

@test "info: the subordinate range and where it comes from" {
    skip_unless_subids
    run_nroot 0 info
    local start count
    read -r start count < <(subid_range /etc/subuid)
    assert_line --regexp "^subordinate uids +ok +$start-$((start + count - 1)) \($count ids\) from /etc/subuid"
    assert_line --regexp '^newuidmap +ok +/'
}

@test "info: missing helpers are warnings with the fix, and nroot still works" {
    run env PATH=/nonexistent "$NROOT" info --format json
    [ "$status" = 0 ] || fail "status $status: $output"
    [ "$(json_state newuidmap)" = "warning|apt-get install uidmap (dnf install shadow-utils)" ]
    [ "$(json_state fuse-overlayfs)" = "warning|apt-get install fuse-overlayfs" ]
}

@test "info: no user namespaces: missing, the sysctl to fix, exit status 1" {
    need_tool unshare
    # inside a user namespace of our own, its limit on nested ones can be 0
    unshare -r true 2>/dev/null || skip "unshare -r does not work here"
    run unshare -r sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$1" info' sh "$NROOT"
    [ "$status" = 1 ] || fail "status $status: $output"
    assert_line --regexp '^user namespaces +missing +an unprivileged user namespace cannot be made'
    assert_line --partial 'fix: sysctl -w user.max_user_namespaces='
    assert_line --partial 'nroot cannot run containers here'
}

@test "info: the store's file system is named" {
    export NROOT_STORE=$BATS_TEST_TMPDIR/store
    run_nroot 0 info
    assert_line --regexp "^store +ok +$NROOT_STORE \([a-z0-9]+\)"
}

@test "info: a bad option is a 125" {
    run_nroot 125 info --format yaml
    assert_nroot_error "invalid value 'yaml' for --format"
    run_nroot 125 info extra
    assert_nroot_error "takes no arguments"
}
