#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# netctr.bats — --net=container:NAME: a container joins the network
# namespace of a running one (a pod): it sees NAME's interfaces, reaches
# NAME's services on localhost, publishes nothing itself, and is told when
# NAME ends.

load helpers

teardown() {
    teardown_containers
}

need_tun() {
    [ -c /dev/net/tun ] && [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        skip "/dev/net/tun is not read-writable by $(id -un)"
}

@test "netctr: the joiner sees NAME's interfaces: tap0 with 10.0.2.100 of NAME's slirp" {
    need_tun
    start_bg web
    nrun --net=container:web "$IMG" sh -c 'ip -4 -o addr show tap0; ip route show default; cat /etc/resolv.conf'
    assert_line --index 0 --partial "inet 10.0.2.100/24"
    assert_line --index 1 --partial "default via 10.0.2.2 dev tap0"
    assert_line "nameserver 10.0.2.3"
    # the same network namespace as NAME's processes, its own uts
    local nsw nsj
    nsw=$("$NROOT" exec web readlink /proc/self/ns/net)
    run_nroot 0 run --network container:web --hostname side "$IMG" sh -c 'readlink /proc/self/ns/net; hostname'
    nsj=${lines[0]}
    [ "$nsw" = "$nsj" ] || fail "the joiner's network is $nsj, NAME's $nsw"
    assert_line --index 1 side
}

@test "netctr: a service on NAME's 127.0.0.1 answers the joiner on localhost, and the other way" {
    run_nroot 0 run -d --name web --net=none "$IMG" httpd -f -p 127.0.0.1:8080 -h /data
    run_nroot 0 run --net=container:web "$IMG" sh -c \
        'for i in $(seq 50); do wget -q -O - http://127.0.0.1:8080/unchanged.txt && exit 0; sleep 0.1; done; exit 1'
    assert_output --partial original
    # a joiner's service serves NAME too
    run_nroot 0 run -d --name side --net=container:web "$IMG" httpd -f -p 127.0.0.1:8081 -h /data
    run_nroot 0 exec web sh -c \
        'for i in $(seq 50); do wget -q -O - http://127.0.0.1:8081/unchanged.txt && exit 0; sleep 0.1; done; exit 1'
    assert_output --partial original
    # the joiner's root has no capability over NAME's network: no port below 1024
    run_nroot 1 run --net=container:web "$IMG" httpd -f -p 127.0.0.1:80 -h /data
    # exec into the joiner enters that network as well
    run_nroot 0 exec side sh -c 'wget -q -O - http://127.0.0.1:8080/unchanged.txt'
    assert_output --partial original
}

@test "netctr: -p with --net=container: is refused: publish on NAME" {
    run_nroot 125 run -p 8080:80 --net=container:web "$IMG" true
    assert_nroot_error "--publish cannot be used with --net=container:web"
    run_nroot 125 run --net=container:web -p 8080:80 "$IMG" true
    assert_nroot_error "publish the port on 'web'"
}

@test "netctr: NAME missing, not running, bad or itself is one line 125" {
    run_nroot 125 run --net=container:nosuch "$IMG" true
    assert_nroot_error "nosuch"
    nrun --name stopped --net=none "$IMG" true
    run_nroot 125 run --net=container:stopped "$IMG" true
    assert_nroot_error "container 'stopped' is not running"
    run_nroot 125 run --net=container:-x "$IMG" true
    assert_nroot_error "invalid --net"
    # any other word names a user network; one that cannot be a name is bad
    run_nroot 125 run --net=bogus "$IMG" true
    assert_nroot_error "no network 'bogus'"
    run_nroot 125 run --net=a/b "$IMG" true
    assert_nroot_error "invalid value 'a/b' for --net"
    start_bg self --net=none
    run_nroot 125 run --name self --net=container:self "$IMG" true
    assert_nroot_error
    start_bg hostnet --net=host
    run_nroot 125 run --net=container:hostnet "$IMG" true
    assert_nroot_error "uses the host's network"
    nroot_hint | grep -q -- --net=host || fail "no hint to --net=host"
    start_bg side --net=container:self
    run_nroot 125 run --net=container:side "$IMG" true
    assert_nroot_error "shares the network of another container, self"
}

@test "netctr: a joiner whose ids NAME does not map is 125" {
    skip_unless_mode subids fuse
    start_bg single --userns=single --net=none
    run_nroot 125 run --userns=subids --net=container:single "$IMG" true
    assert_nroot_error "does not map the ids of this container"
    # without --userns the joiner takes NAME's mapping
    nrun --net=container:single "$IMG" cat /proc/self/uid_map
    [ "${#lines[@]}" = 1 ] || fail "not NAME's single id: $output"
}

@test "netctr: when NAME ends the joiner is told once and keeps running with lo" {
    start_bg web --net=none
    start_nroot "$BATS_TEST_TMPDIR/out" run --net=container:web "$IMG" sh -c \
        'echo started; while [ ! -e /tmp/go ]; do sleep 0.1; done; ip -o link show | cut -d" " -f2; echo still-here'
    wait_for 100 file_has "$BATS_TEST_TMPDIR/out" started || fail "the joiner did not start: $(cat "$BATS_TEST_TMPDIR/out.err")"
    run_nroot 0 stop web
    wait_for 100 file_has "$BATS_TEST_TMPDIR/out.err" "container web, whose network this one shares, ended" ||
        fail "no notice: $(cat "$BATS_TEST_TMPDIR/out.err")"
    # rm of NAME while the joiner runs
    run_nroot 0 rm web
    local id
    id=$("$NROOT" ps -q)
    [ -n "$id" ] || fail "the joiner is not running"
    [ "$(ps_field "$id" network)" = '"container:web"' ] || fail "ps: $("$NROOT" ps)"
    run_nroot 0 exec "$id" touch /tmp/go
    wait_exit "$NROOT_PID" 100 || fail "the joiner did not end"
    [ "$WAIT_STATUS" = 0 ] || fail "the joiner exited $WAIT_STATUS: $(cat "$BATS_TEST_TMPDIR/out.err")"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line "lo:"
    assert_line still-here
    [ "$(grep -c 'whose network this one shares' "$BATS_TEST_TMPDIR/out.err")" = 1 ] ||
        fail "the notice is not there once: $(cat "$BATS_TEST_TMPDIR/out.err")"
}

@test "netctr: a named joiner keeps net=container:NAME: start, ps NETWORK, stop, rm, --rm" {
    start_bg web --net=none
    start_bg side --net=container:web
    grep -qx 'net=container:web' "$STORE/containers/side/config" || fail "config: $(cat "$STORE/containers/side/config")"
    run_nroot 0 ps
    assert_line --index 0 --regexp '^NAME +ID +IMAGE +COMMAND +STATUS +PID +NETWORK +MEM +PIDS +CREATED$'
    assert_line --regexp '^side .* container:web  '
    assert_line --regexp '^web .* none  '
    [ "$(ps_field side network)" = '"container:web"' ]
    run_nroot 0 stop side
    run_nroot 0 start side
    local a b
    a=$("$NROOT" exec web readlink /proc/self/ns/net)
    b=$("$NROOT" exec side readlink /proc/self/ns/net)
    [ "$a" = "$b" ] || fail "after start the joiner's network is $b, NAME's $a"
    run_nroot 0 stop side
    # start finds NAME as run does: not running is 125, nothing started
    run_nroot 0 stop web
    run_nroot 125 start side
    assert_nroot_error "container 'web' is not running"
    [ "$(ps_field side running)" = false ]
    run_nroot 0 start web
    run_nroot 0 start side
    run_nroot 0 rm -f side
    run_nroot 0 run --rm --name gone --net=container:web "$IMG" true
    run_nroot 0 ps -a -q
    [ "${#lines[@]}" = 1 ] || fail "left: $output"
}

@test "netctr: a joiner from a squashfs image uses a server of its own, not the shared one" {
    [ -x "${NROOT%/*}/nroot-squashfs" ] || skip "nroot-squashfs is not built"
    need_tool mksquashfs
    [ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse is not usable"
    local sq=$BATS_TEST_TMPDIR/busybox.sqsh
    mksquashfs "$IMG" "$sq" -all-root -noappend -quiet >/dev/null || fail "mksquashfs failed"
    start_bg web --net=none
    run_nroot 0 run --net=container:web "$sq" sh -c 'readlink /proc/self/ns/net; cat /data/unchanged.txt'
    # the shared server (if one lingers) is in none of web's namespaces
    local p net
    net=$("$NROOT" exec web readlink /proc/self/ns/net)
    assert_line --index 0 "$net"
    assert_line --index 1 --partial original
    for p in $(pgrep -u "$(id -u)" -x nroot-squashfs); do
        [ "$(readlink "/proc/$p/ns/net")" != "$net" ] || fail "nroot-squashfs $p lives in web's network"
    done
    # and a container of its own runs from the image after it
    nrun --net=none "$sq" true
}
