#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# mount/pid/uts/ipc/cgroup/net namespaces, seen from inside and outside.

load helpers

start_host_sleep() {
    sleep 300 3>&- &
    HOST_PID=$!
    BG_PIDS+=("$HOST_PID")
}

@test "namespaces: hostname is set and --hostname overrides it" {
    nrun "$IMG" hostname
    local def=$output
    [ -n "$def" ] || fail "empty hostname inside"
    [ "$def" != "$(hostname)" ] || fail "the container has the host's hostname $def"
    nrun --hostname box1 "$IMG" sh -c 'hostname; cat /etc/hostname; echo "$HOSTNAME"'
    assert_equal "$output" "box1
box1
box1"
    # the host's name is untouched
    [ "$(hostname)" != box1 ]
}

@test "namespaces: an invalid --hostname fails with 125" {
    run_nroot 125 run --hostname "$(printf 'x%.0s' {1..70})" "$IMG" true
    assert_nroot_error
}

@test "namespaces: the command sees only the container's processes" {
    start_host_sleep
    nrun "$IMG" ps -o pid,args
    # header + PID 1 + the command (ps) + at most fuse-overlayfs
    [ "${#lines[@]}" -le 4 ] || fail "too many processes visible: $output"
    assert_line --regexp '^ *1 '
    refute_output --partial "sleep 300"
    # init, maybe fuse-overlayfs, the command: a fresh pid namespace
    nrun "$IMG" sh -c 'echo $$'
    [ "$output" -le 10 ] || fail "the command's pid is $output, not a fresh pid namespace"
}

@test "namespaces: PID 1 inside is nroot's init, not the command" {
    nrun "$IMG" sh -c 'test $$ -ne 1 && cat /proc/1/comm'
    [ -n "$output" ] || fail "no PID 1"
    [ "$output" != sh ] || fail "PID 1 is the command's shell"
}

@test "namespaces: the container cannot see or signal a host process" {
    start_host_sleep
    nrun "$IMG" sh -c "test -e /proc/$HOST_PID && echo visible; nr-test kill $HOST_PID 0; nr-test kill $HOST_PID 9; true"
    refute_line visible
    assert_equal "${lines[0]}" "ESRCH"
    assert_equal "${lines[1]}" "ESRCH"
    kill -0 "$HOST_PID" || fail "the host sleep died"
}

@test "namespaces: --net=none has only a loopback interface, up" {
    nrun --net=none "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
    assert_output "lo"
    nrun --net=none "$IMG" ip link show lo
    assert_output --regexp '<([A-Z_]+,)*UP[,>]'
}

@test "namespaces: --net=none: loopback carries traffic" {
    nrun --net=none "$IMG" sh -c '
        httpd -f -p 127.0.0.1:8080 -h /data &
        for i in $(seq 50); do
            wget -q -O - http://127.0.0.1:8080/unchanged.txt 2>/dev/null && exit 0
            sleep 0.1
        done
        exit 1'
    assert_output "original"
}

@test "namespaces: --net=host sees the host's interfaces" {
    local host
    host=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')
    nrun --net=host "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort | tr "\n" " "'
    assert_output "$host"
    nrun --net=host "$IMG" readlink /proc/self/ns/net
    assert_output "$(readlink /proc/self/ns/net)"
}

@test "namespaces: mnt, pid, uts, ipc, cgroup, user and net namespaces differ from the host's" {
    local ns
    for ns in mnt pid uts ipc cgroup user net; do
        nrun "$IMG" readlink "/proc/self/ns/$ns"
        assert_regex "$output" "^$ns:\[[0-9]+\]$"
        [ "$output" != "$(readlink "/proc/self/ns/$ns")" ] ||
            fail "the container shares the host's $ns namespace ($output)"
    done
}

@test "namespaces: the cgroup namespace is rooted at the container's cgroup" {
    nrun "$IMG" cat /proc/self/cgroup
    assert_line --regexp '^0::/$'
    # the host's paths do not leak in: inside, every path is the ns root
    local l
    for l in "${lines[@]}"; do
        [[ $l == *:/ ]] || fail "a cgroup path from outside the namespace: $l"
    done
}

@test "namespaces: System V IPC objects of the host are not visible" {
    command -v ipcmk >/dev/null || skip "ipcmk (util-linux) missing"
    local id
    id=$(ipcmk -Q | grep -o '[0-9]*$') || skip "cannot create a message queue on the host"
    nrun "$IMG" cat /proc/sysvipc/msg
    ipcrm -q "$id"
    refute_output --regexp "[[:space:]]${id}[[:space:]]"
    [ "${#lines[@]}" -le 1 ] || fail "host message queues visible: $output"
}

# nroot hands the last references of an ended container's namespaces to a
# child that drops them after nroot has ended (their teardown is not on the
# caller's way): that child holds no stdio, and is gone moments later with
# the namespaces
@test "namespaces: an ended container's namespaces go right after nroot, holding no caller's pipe" {
    local tag=nsgone$RANDOM$RANDOM out mnt
    # a command substitution returns at nroot's end: no process left holds its pipe
    out=$(timeout 20 "$NROOT" run "$IMG" sh -c 'readlink /proc/self/ns/mnt; readlink /proc/self/ns/net' "$tag") ||
        fail "nroot run failed: $out"
    mnt=$(sed -n 1p <<<"$out")
    [[ $mnt == mnt:\[* ]] || fail "no mount namespace read: $out"
    # nothing of the run is left, and nothing holds its namespaces
    wait_for 50 eval '! pgrep -f "$tag" >/dev/null' || fail "left behind: $(pgrep -af "$tag")"
    local held
    held() {
        local p
        for p in /proc/[0-9]*/ns/mnt /proc/[0-9]*/fd/*; do
            [ "$(readlink "$p" 2>/dev/null)" = "$mnt" ] && return 0
        done
        return 1
    }
    wait_for 50 eval '! held' || fail "the ended container's mount namespace $mnt is still held"
}
