#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The user namespace and the id-map ladder (HACKING.md, "The id-map ladder").

load helpers

# the map of the last run's output, whitespace squeezed
squeeze() { printf '%s\n' "$output" | awk '{ $1 = $1; print }'; }

@test "userns: the command runs as root inside" {
    nrun "$IMG" nr-test ids
    assert_output --regexp '^uid=0 gid=0 euid=0 egid=0 '
    nrun "$IMG" id -u
    assert_output "0"
}

@test "userns: subids maps 0 to the caller and 1.. to the subordinate range" {
    skip_unless_subids
    local r
    r=$(subid_range /etc/subuid)
    nrun "$IMG" cat /proc/self/uid_map
    assert_equal "$(squeeze)" "0 $(id -u) 1
1 $r"
    r=$(subid_range /etc/subgid)
    nrun "$IMG" cat /proc/self/gid_map
    assert_equal "$(squeeze)" "0 $(id -g) 1
1 $r"
}

@test "userns: with the range, auto prints no notice" {
    skip_unless_subids
    nrun "$IMG" true
    assert_equal "$stderr" ""
}

@test "userns: --userns=subids uses the range" {
    skip_unless_subids
    nrun --userns=subids "$IMG" cat /proc/self/uid_map
    assert_equal "$(squeeze | wc -l)" 2
    assert_equal "$stderr" ""
}

@test "userns: single mode maps only 0 to the caller, with one notice" {
    skip_unless_mode single
    nrun "$IMG" cat /proc/self/uid_map
    assert_equal "$(squeeze)" "0 $(id -u) 1"
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "${stderr_lines[0]}" '^nroot: notice: '
    nrun "$IMG" cat /proc/self/gid_map
    assert_equal "$(squeeze)" "0 $(id -g) 1"
}

@test "userns: auto without newuidmap falls back to a single id with one notice" {
    PATH=$NROOT_TEST_NOMAP_PATH nrun --userns=auto "$IMG" cat /proc/self/uid_map
    assert_equal "$(squeeze)" "0 $(id -u) 1"
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "${stderr_lines[0]}" '^nroot: notice: .*newuidmap'
}

@test "userns: -q silences the fallback notice" {
    PATH=$NROOT_TEST_NOMAP_PATH nrun -q "$IMG" cat /proc/self/uid_map
    assert_equal "$(squeeze)" "0 $(id -u) 1"
    assert_equal "$stderr" ""
}

@test "userns: --userns=single maps 0 to the caller silently" {
    nrun --userns=single "$IMG" cat /proc/self/uid_map
    assert_equal "$(squeeze)" "0 $(id -u) 1"
    assert_equal "$stderr" ""
    nrun --userns=single "$IMG" id -u
    assert_output "0"
}

@test "userns: --userns=keep-id runs as the caller's uid and gid" {
    nrun --userns=keep-id "$IMG" nr-test ids
    assert_output --regexp "^uid=$(id -u) gid=$(id -g) euid=$(id -u) egid=$(id -g) "
}

@test "userns: --userns=keep-id: files the command creates in a volume are the caller's" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir "$vol"
    nrun --userns=keep-id -v "$vol:/vol" "$IMG" sh -c 'echo hi > /vol/f && stat -c %u /vol/f'
    assert_output "$(id -u)"
    assert_equal "$(stat -c %u:%g "$vol/f")" "$(id -u):$(id -g)"
}

@test "userns: --userns=subids without newuidmap fails with 125 and a hint" {
    PATH=$NROOT_TEST_NOMAP_PATH run_nroot 125 run --userns=subids "$IMG" true
    assert_nroot_error 'newuidmap'
    [ -n "$(nroot_hint)" ] || fail "no 'nroot: hint:' line: $stderr"
}

@test "userns: --userns=subids without an /etc/subuid entry fails with a usermod hint" {
    # as root of a fresh user namespace nroot is user "root", who has no range
    if grep -qE '^(root|0):' /etc/subuid /etc/subgid; then
        skip "root has a subordinate range on this machine"
    fi
    echo "\$ unshare -r nroot run --userns=subids IMG true"
    run --separate-stderr unshare --map-root-user "$NROOT" run --userns=subids "$IMG" true
    assert_nroot_error 'subuid|subordinate'
    assert_regex "$(nroot_hint)" 'usermod --add-subuids'
}

@test "userns: a tarball's owners are kept under the subordinate range" {
    skip_unless_subids
    nrun "$IMAGES/rootfs.tar.gz" stat -c '%u:%g' /home/tester /bin/busybox
    assert_equal "${lines[0]}" "1000:1000"
    assert_equal "${lines[1]}" "0:0"
}

@test "userns: the store holds the image under subordinate ids on the host" {
    skip_unless_subids
    local r
    r=$(subid_range /etc/subuid)
    nrun "$IMAGES/rootfs.tar" true
    local root
    root=$(store_image_root "$STORE") || fail "no image in the store $STORE"
    # /home/tester is uid 1000 inside: START + 999 outside
    assert_equal "$(stat -c %u "$root/home/tester")" "$(( ${r% *} + 999 ))"
    assert_equal "$(stat -c %u "$root/bin/busybox")" "$(id -u)"
}

@test "userns: chown to another id works inside with the range" {
    skip_unless_subids
    nrun "$IMG" sh -c 'touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f'
    assert_output "1000:1000"
}

@test "userns: an image unpacked for a single-id map is unpacked again for the range" {
    skip_unless_subids
    local t=$BATS_TEST_TMPDIR/image.tar
    cp "$IMAGES/rootfs.tar" "$t"
    nrun --userns=single "$t" stat -c %u /home/tester
    nrun "$t" stat -c %u:%g /home/tester
    assert_output "1000:1000"
}

@test "userns: --userns=keep-id runs a tarball image" {
    nrun --userns=keep-id "$IMAGES/rootfs.tar.zst" sh -c 'id -u; cat /data/unchanged.txt'
    assert_output "$(id -u)
original"
}
