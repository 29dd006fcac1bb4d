#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# review13.bats — found in the review of issue 13's restructure: the
# overlay kind of a named container's layer is recorded by the parent from
# NR_SYNC_OVERLAY, also when the container fails right after mounting it.

load helpers

teardown() {
    teardown_containers
}

@test "review13: a named container that fails after its layer was mounted records the overlay" {
    # the volume fails in the mount setup, after the overlay was mounted:
    # PID 1 sends OVERLAY, then ERROR, and dies; the file is written
    # however quickly the parent sees the death
    local k
    for k in 1 2 3 4 5; do
        run_nroot 125 run --name "ovfail$k" --net=none -v /etc/hostname:/bin "$IMG" true
        assert_nroot_error "cannot mount a file on a directory"
        [ -s "$STORE/containers/ovfail$k/overlay" ] || fail "run $k: no overlay file: $(ls -la "$STORE/containers/ovfail$k")"
        grep -qxE 'kernel|fuse' "$STORE/containers/ovfail$k/overlay"
        run_nroot 0 rm -f "ovfail$k"
    done
}

@test "review13: a read-only named container records no overlay kind" {
    run_nroot 0 run --name rofail --net=none --read-only "$IMG" true
    [ ! -e "$STORE/containers/rofail/overlay" ] || fail "a read-only run recorded $(cat "$STORE/containers/rofail/overlay")"
}
