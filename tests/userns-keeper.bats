#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The user-namespace keeper (nr-keeper.h): runs with the default
# subordinate-id plan share one user namespace U per user, held by `nroot
# _userns-keeper`, instead of running newuidmap and newgidmap per container.

load helpers

eval "helpers_setup() $(declare -f setup | tail -n +2)"

setup() {
    helpers_setup
    export NROOT_USERNS_LINGER=2
    KDIR=$XDG_RUNTIME_DIR/nroot/userns
}

teardown() {
    local k
    k=$(keeper_pid)
    [ -n "$k" ] && kill -9 "$k" 2>/dev/null
    teardown_containers
}

keeper_pid() { cat "$KDIR/keeper.pid" 2>/dev/null || true; }
keeper_alive() { [ -n "$1" ] && [ "$(cat /proc/"$1"/comm 2>/dev/null)" = nroot-userns ]; }
keeper_gone() { ! keeper_alive "$1"; }
# a keeper started and serving: the run that starts one maps its own
# namespace with the helpers; the runs after it are in U
warm_keeper() {
    nrun "$IMG" true
    wait_for 100 eval 'keeper_alive "$(keeper_pid)"' || fail "no keeper: $(cat "$KDIR/keeper.log" 2>&1)"
}
keepers_started() { grep -c ' started: ' "$KDIR/keeper.log" 2>/dev/null || true; }

# the inode of user namespace of process $1, or of its N-th parent
# (NS_GET_PARENT N times)
ns_of() {
    python3 -c '
import fcntl, os, sys
fd = os.open("/proc/%s/ns/user" % sys.argv[1], os.O_RDONLY)
for _ in range(int(sys.argv[2])):
    fd = fcntl.ioctl(fd, 0xb702)  # NS_GET_PARENT
print(os.fstat(fd).st_ino)' "$1" "${2:-0}"
}
# named container $1 (start_bg) is in a keeper's U: its user namespace's
# parent is not the host's
in_u() {
    local name=$1
    wait_for 50 eval '[ -n "$(payload_of "$name")" ]' || fail "no payload of $name"
    [ "$(ns_of "$(payload_of "$name")" 1)" != "$(ns_of self)" ]
}
# the container's command (sleep, the child of its process 1)
payload_of() {
    pgrep -P "$(ps_field "$1" pid)" -x sleep | head -n1
}

@test "keeper: two runs share U, a child of the host's user namespace, their parent" {
    skip_unless_subids
    warm_keeper
    start_bg k1
    start_bg k2
    local k a b
    k=$(keeper_pid)
    keeper_alive "$k" || fail "no keeper runs (pid file: '$k')"
    [ "$(keepers_started)" = 1 ] || fail "$(cat "$KDIR/keeper.log")"
    wait_for 50 eval '[ -n "$(payload_of k1)" ] && [ -n "$(payload_of k2)" ]'
    a=$(ns_of "$(payload_of k1)" 1)
    b=$(ns_of "$(payload_of k2)" 1)
    assert_equal "$a" "$b"
    [ "$a" != "$(ns_of self)" ] || fail "the containers' parent namespace is the host's"
    assert_equal "$(ns_of "$(payload_of k1)" 2)" "$(ns_of self)"
    # inside: the same host ids as without the keeper (U maps the user's
    # ids onto themselves)
    run_nroot 0 exec k1 cat /proc/self/uid_map
    assert_equal "$(printf '%s\n' "$output" | awk '{ $1 = $1; print }')" "0 $(id -u) 1
1 $(subid_range /etc/subuid)"
    run_nroot 0 exec k1 cat /proc/self/gid_map
    assert_equal "$(printf '%s\n' "$output" | awk '{ $1 = $1; print }')" "0 $(id -g) 1
1 $(subid_range /etc/subgid)"
    # the keeper holds nothing but U
    run grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' "/proc/$k/status"
    assert_output "CapPrm:	0000000000000000
CapEff:	0000000000000000
CapBnd:	0000000000000000
NoNewPrivs:	1"
}

@test "keeper: files of uid 1000 made in U are removed by --rm and rm; the image stays" {
    skip_unless_subids
    warm_keeper
    nrun --rm "$IMG" sh -c 'mkdir -p /k/d && touch /k/d/f && chown -R 1000:1000 /k && ls -ln /k/d/f'
    assert_output --regexp ' 1000 +1000 '
    nrun --name kr "$IMG" sh -c 'mkdir -p /k/d && touch /k/d/f && chown -R 1000:1000 /k'
    run_nroot 0 rm kr
    run find "$STORE" -path '*/k/d/f'
    assert_output ""
    nrun "$IMG" sh -c 'test ! -e /k && ls /bin/sh'
}

@test "keeper: exec, stop and start of a named container made in U" {
    skip_unless_subids
    warm_keeper
    start_bg ke
    run_nroot 0 exec ke id -u
    assert_output 0
    run_nroot 0 exec ke sh -c 'echo x >/f; chown 1000 /f; stat -c %u /f'
    assert_output 1000
    run_nroot 0 stop ke
    run_nroot 0 start ke
    run_nroot 0 exec ke sh -c 'stat -c %u /f'
    assert_output 1000
}

@test "keeper: it ends after its linger, socket and pid file gone" {
    skip_unless_subids
    export NROOT_USERNS_LINGER=1
    warm_keeper
    local k
    k=$(keeper_pid)
    wait_for 60 keeper_gone "$k" || fail "the keeper outlived its linger"
    [ ! -e "$KDIR/sock" ] && [ ! -e "$KDIR/keeper.pid" ] || fail "$(ls -la "$KDIR")"
    assert_regex "$(tail -n1 "$KDIR/keeper.log")" 'no run for 1 s: exiting'
    warm_keeper
    [ "$(keepers_started)" = 2 ]
}

@test "keeper: userns-linger off starts none; the helpers map the container" {
    skip_unless_subids
    export NROOT_USERNS_LINGER=off
    nrun "$IMG" cat /proc/self/uid_map
    assert_regex "$output" "^ *0 +$(id -u) +1"
    [ ! -e "$KDIR/sock" ] && [ -z "$(keeper_pid)" ]
    unset NROOT_USERNS_LINGER
    mkdir -p "$XDG_CONFIG_HOME/nroot"
    echo 'userns-linger = off' >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    nrun "$IMG" true
    [ ! -e "$KDIR/sock" ]
    run_nroot 0 info
    assert_output --regexp 'user namespace keeper +ok +off'
}

@test "keeper: none for single-id runs" {
    nrun --userns=single "$IMG" true
    [ -z "$(keeper_pid)" ] || fail "a keeper for --userns=single"
    PATH=$NROOT_TEST_NOMAP_PATH nrun -q "$IMG" true
    [ -z "$(keeper_pid)" ] || fail "a keeper without newuidmap"
    if [ "$NROOT_TEST_MODE" = single ]; then
        nrun "$IMG" true
        [ -z "$(keeper_pid)" ] || fail "a keeper in single mode"
    fi
}

@test "keeper: a killed keeper is replaced by the next run" {
    skip_unless_subids
    export NROOT_USERNS_LINGER=30
    warm_keeper
    local k1 k2
    k1=$(keeper_pid)
    start_bg r1
    in_u r1 || fail "r1 is not in a keeper's namespace"
    kill -9 "$k1"
    wait_for 50 keeper_gone "$k1"
    # the socket is left: the next run finds it dead, maps its own
    # namespace with the helpers (a child of the host's) and starts
    # another keeper, which serves the run after it
    start_bg r2
    ! in_u r2 || fail "r2 is in a user namespace below the host's"
    wait_for 100 eval 'k2=$(keeper_pid); keeper_alive "$k2" && [ "$k2" != "$k1" ]' ||
        fail "no new keeper ($k1, $(keeper_pid))"
    start_bg r3
    in_u r3 || fail "r3 is not in the new keeper's namespace"
    [ "$(ns_of "$(payload_of r3)" 1)" != "$(ns_of "$(payload_of r1)" 1)" ] ||
        fail "r3 is in the killed keeper's namespace"
}

@test "keeper: two first runs at once start one keeper" {
    skip_unless_subids
    export NROOT_USERNS_LINGER=5
    local p1 p2
    start_nroot "$BATS_TEST_TMPDIR/a" run --net=none "$IMG" true
    p1=$NROOT_PID
    start_nroot "$BATS_TEST_TMPDIR/b" run --net=none "$IMG" true
    p2=$NROOT_PID
    wait_exit "$p1" 200 && assert_equal "$WAIT_STATUS" 0
    wait_exit "$p2" 200 && assert_equal "$WAIT_STATUS" 0
    wait_for 100 eval 'keeper_alive "$(keeper_pid)"'
    assert_equal "$(keepers_started)" 1
}

@test "keeper: a bad userns-linger is one error line, 125" {
    NROOT_USERNS_LINGER=soon run_nroot 125 run "$IMG" true
    assert_nroot_error "NROOT_USERNS_LINGER: userns-linger 'soon' is neither a number"
    NROOT_USERNS_LINGER=-1 run_nroot 125 run "$IMG" true
    assert_nroot_error "userns-linger '-1'"
    [ -z "$(keeper_pid)" ]
}

@test "keeper: info tells whether one runs" {
    skip_unless_subids
    export NROOT_USERNS_LINGER=20
    run_nroot 0 info
    assert_output --regexp 'user namespace keeper +ok +on \(linger 20 s, \$NROOT_USERNS_LINGER\): none running'
    warm_keeper
    run_nroot 0 info
    assert_output --regexp "user namespace keeper +ok +on .*: running \\(pid $(keeper_pid)\\)"
}

@test "keeper: not for --net=container:NAME, which enters NAME's namespace" {
    skip_unless_subids
    warm_keeper
    start_bg kn
    local k
    k=$(keeper_pid)
    run_nroot 0 run --rm --net=container:kn "$IMG" true
    assert_equal "$(keepers_started)" 1
    assert_equal "$(keeper_pid)" "$k"
}

@test "keeper: a run in U has U's setgroups from the keeper, and the groups it had without one" {
    skip_unless_subids
    local img with without
    img=$(copy_image)
    echo 'wheel:x:10:root,tester' >>"$img/etc/group"
    export NROOT_USERNS_LINGER=off
    nrun "$img" sh -c 'cat /proc/self/setgroups; nr-test ids'
    without=$output
    nrun --user tester "$img" nr-test ids
    without+=" $output"
    export NROOT_USERNS_LINGER=2
    warm_keeper
    nrun "$img" sh -c 'cat /proc/self/setgroups; nr-test ids'
    with=$output
    nrun --user tester "$img" nr-test ids
    with+=" $output"
    assert_equal "$with" "$without"
    assert_regex "$with" '^allow'
    assert_regex "$with" 'groups=([0-9]+,)*10'
    [ "$(keepers_started)" = 1 ] || fail "the runs were not in one keeper's U"
}
