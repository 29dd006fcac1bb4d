#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# rootless podman with nroot as its OCI runtime (`podman --runtime
# nroot-oci`, through conmon), as issue 17's stretch goal: podman writes
# the bundles, conmon calls create/start/kill/delete/exec, and nothing edits
# config.json in between.  Each test has a podman of its own: storage and
# run root under $BATS_TEST_TMPDIR (vfs), its own XDG_RUNTIME_DIR (so its
# own pause process, killed in the teardown) and an image imported from a
# tar of the test rootfs (nothing is downloaded).

load helpers
load oci-helpers

eval "helpers_$(declare -f setup)"

setup() {
    command -v podman >/dev/null || skip "podman is not installed (apt-get install podman conmon catatonit slirp4netns uidmap)"
    command -v conmon >/dev/null || skip "conmon is not installed (apt-get install conmon)"
    # under podman nroot writes the identity map of podman's user namespace
    # itself (no newuidmap) and overlays nothing (podman gives the rootfs):
    # the modes change nothing for nroot, the subids mode covers it.  The
    # single mode's PATH hides newuidmap, without which podman refuses a
    # user with a subordinate range ("command required for rootless mode
    # with multiple IDs").
    case $NROOT_TEST_MODE in
        single) skip "podman refuses to run without newuidmap for a user with a subordinate range (the subids mode covers nroot)" ;;
        fuse) skip "podman gives nroot the rootfs: no overlay, nothing of the fuse mode is used (the subids mode covers it)" ;;
    esac
    setup_default_podman
}

setup_default_podman() {
    # helpers.bash's setup, then podman's own places
    helpers_setup
    PM=$BATS_TEST_TMPDIR/podman
    mkdir -p "$PM"
    # the runtime's name: nroot dispatches on nroot-oci
    ln -s "$NROOT" "$PM/nroot-oci"
    tar -C "$IMG" -cf "$PM/rootfs.tar" . || fail "cannot tar the test rootfs"
    run --separate-stderr pm import "$PM/rootfs.tar" localhost/nroot-test
    [ "$status" = 0 ] || fail "podman import: $stderr"
}

teardown() {
    if [ -n "${PM:-}" ] && [ -d "$PM/root" ]; then
        pm rm -a -f -t 0 >/dev/null 2>&1
        # the storage holds files of the subordinate ids: removed inside
        # podman's user namespace, then its pause process goes (by the pid
        # in this test's own XDG_RUNTIME_DIR)
        pm unshare rm -rf "$PM/root" "$PM/runroot" >/dev/null 2>&1
        local pause
        pause=$(cat "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid" 2>/dev/null)
        [ -n "$pause" ] && kill -9 "$pause" 2>/dev/null
    fi
    teardown_default
}

# podman with this test's storage and nroot as its runtime
pm() {
    timeout -k 5 "$((NROOT_TEST_TIMEOUT * 2))" podman --root "$PM/root" --runroot "$PM/runroot" \
        --storage-driver vfs --cgroup-manager cgroupfs --events-backend file \
        --runtime "$PM/nroot-oci" "$@"
}

@test "oci-podman: run --rm with podman's default network (slirp4netns), exit codes, -t, --network none" {
    run --separate-stderr pm run --rm localhost/nroot-test echo hello-from-nroot
    [ "$status" = 0 ] || fail "podman run: $stderr"
    [ "$output" = hello-from-nroot ]
    # the container's own interface of podman's network namespace (joined
    # by path: it belongs to podman's user namespace)
    run --separate-stderr pm run --rm localhost/nroot-test sh -c 'ip -o addr show | grep -v " lo "'
    [ "$status" = 0 ] || fail "podman run: $stderr"
    [[ $output == *inet* ]] || fail "no interface but lo: $output"
    run --separate-stderr pm run --rm localhost/nroot-test sh -c 'exit 3'
    [ "$status" = 3 ] || fail "exit 3 gave $status: $stderr"
    run --separate-stderr pm run --rm -t localhost/nroot-test tty </dev/null
    [ "$status" = 0 ] || fail "podman run -t: $stderr"
    [[ $output == /dev/pts/* ]] || fail "$output"
    run --separate-stderr pm run --rm --network none localhost/nroot-test sh -c 'ls /sys/class/net'
    [ "$status" = 0 ] || fail "podman run --network none: $stderr"
    [ "$output" = lo ]
}

@test "oci-podman: -v a host directory, --user" {
    mkdir -p "$BATS_TEST_TMPDIR/vol"
    echo from-host >"$BATS_TEST_TMPDIR/vol/in"
    run --separate-stderr pm run --rm -v "$BATS_TEST_TMPDIR/vol:/vol" localhost/nroot-test \
        sh -c 'cat /vol/in; echo from-ctr > /vol/out; id -u'
    [ "$status" = 0 ] || fail "podman run -v: $stderr"
    [ "$(echo $output)" = "from-host 0" ]
    # root of the container is the user (podman's map), so is the file
    [ "$(cat "$BATS_TEST_TMPDIR/vol/out")" = from-ctr ]
    [ "$(stat -c %u "$BATS_TEST_TMPDIR/vol/out")" = "$(id -u)" ]
    run --separate-stderr pm run --rm --user 1000 localhost/nroot-test id -u
    [ "$status" = 0 ] || fail "podman run --user: $stderr"
    [ "$output" = 1000 ]
}

@test "oci-podman: run -d, exec, kill, stop, rm -f" {
    run --separate-stderr pm run -d --name c1 localhost/nroot-test \
        sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
    [ "$status" = 0 ] || fail "podman run -d: $stderr"
    run --separate-stderr pm exec c1 sh -c 'echo in-exec; cat /proc/1/cmdline | tr "\0" " "'
    [[ ${lines[0]} == in-exec ]] || fail "podman exec: $output $stderr"
    [ "$status" = 0 ] || fail "podman exec: $status $stderr"
    # the exec's exit status: conmon waits for the pid of --pid-file, its
    # child once `nroot oci exec -d` left (as runc's)
    run --separate-stderr pm exec c1 sh -c 'exit 5'
    [ "$status" = 5 ] || fail "exit 5 gave $status: $stderr"
    run --separate-stderr pm exec c1 sh -c 'kill -9 $$'
    [ "$status" = 137 ] || fail "SIGKILL gave $status: $stderr"
    run --separate-stderr pm exec -t c1 tty </dev/null
    [ "$status" = 0 ] || fail "podman exec -t: $status $stderr"
    [[ $output == /dev/pts/* ]] || fail "podman exec -t: $output"
    run --separate-stderr pm exec -i c1 cat <<<piped-in
    [ "$output" = piped-in ] || fail "podman exec -i: $output $stderr"
    run --separate-stderr pm ps --format '{{.Names}} {{.Status}}'
    [[ $output == "c1 Up"* ]] || fail "podman ps: $output"
    run --separate-stderr pm stop -t 10 c1
    [ "$status" = 0 ] || fail "podman stop: $stderr"
    run --separate-stderr pm inspect -f '{{.State.ExitCode}}' c1
    [ "$output" = 7 ] || fail "stopped with $output: $stderr"
    run --separate-stderr pm start c1
    [ "$status" = 0 ] || fail "podman start: $stderr"
    run --separate-stderr pm kill -s KILL c1
    [ "$status" = 0 ] || fail "podman kill: $stderr"
    run --separate-stderr pm run -d --name c2 localhost/nroot-test sleep 1000
    [ "$status" = 0 ] || fail "podman run -d: $stderr"
    run --separate-stderr pm rm -f c1 c2
    [ "$status" = 0 ] || fail "podman rm -f: $stderr"
    run --separate-stderr pm ps -a -q
    [ -z "$output" ] || fail "left: $output"
    # nroot's state of them is gone too (conmon ran nroot as root of
    # podman's user namespace, with nroot's default root)
    [ -z "$(ls -A "$XDG_RUNTIME_DIR/nroot/oci" 2>/dev/null)" ] ||
        fail "nroot state left: $(ls "$XDG_RUNTIME_DIR/nroot/oci")"
}

@test "oci-podman: -p publishes a port (slirp4netns' port forwarder)" {
    command -v curl >/dev/null || skip "curl is not installed"
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo hello-port >"$BATS_TEST_TMPDIR/www/index.html"
    local port=$((20000 + RANDOM % 20000))
    # port 80 in the container: podman's network namespace belongs to its
    # user namespace, where the container's root (in a user namespace of
    # its own under nroot) has no CAP_NET_BIND_SERVICE; the sysctl lets it
    run --separate-stderr pm run -d -p "127.0.0.1:$port:80" --sysctl net.ipv4.ip_unprivileged_port_start=0 \
        -v "$BATS_TEST_TMPDIR/www:/www" localhost/nroot-test busybox httpd -f -p 80 -h /www
    [ "$status" = 0 ] || fail "podman run -p: $stderr"
    wait_for 50 curl -sf --max-time 2 "http://127.0.0.1:$port/index.html" >/dev/null ||
        fail "nothing on port $port: $(pm logs -l 2>&1)"
    [ "$(curl -s --max-time 5 "http://127.0.0.1:$port/index.html")" = hello-port ]
}
