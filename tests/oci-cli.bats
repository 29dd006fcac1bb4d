#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `nroot oci`: runc's command line (create, start, state, kill, delete,
# list, run, spec, features), the start gate, the state JSON, --pid-file.

load helpers
load oci-helpers

eval "$(declare -f setup | sed '1s/^setup/setup_default/')"
setup() {
    setup_default
    oci_cli_setup
}

teardown() {
    oci_cli_teardown
    teardown_default
}

@test "oci: create waits at the gate, start runs the command, state says created, running, stopped" {
    make_busybox_bundle "$B" /bin/sh -c 'echo hi > /tmp/started; sleep 1'
    oci_edit "$B" '.root.readonly = false'
    ocic create -b "$B" c1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    [ "$(status_of c1)" = created ]
    pid=$(oci state c1 | jq -r .pid)
    [ "$pid" -gt 0 ]
    kill -0 "$pid"
    [ "$(oci state c1 | jq -r .bundle)" = "$(cd "$B" && pwd -P)" ]
    [ ! -e "$B/rootfs/tmp/started" ] || fail "the command ran before start"
    run oci start c1
    [ "$status" -eq 0 ] || fail "start: $output"
    [ "$(status_of c1)" = running ]
    wait_status c1 stopped
    [ "$(cat "$B/rootfs/tmp/started")" = hi ]
    [ "$(oci state c1 | jq -r .pid)" = 0 ]
    run oci start c1
    [ "$status" -eq 1 ]
    run oci delete c1
    [ "$status" -eq 0 ] || fail "delete: $output"
    run oci state c1
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
}

@test "oci: kill by name and number, delete refuses a running container without --force" {
    make_busybox_bundle "$B" /bin/sleep 100
    ocic create -b "$B" --pid-file "$BATS_TEST_TMPDIR/pid" c2
    [ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$(oci state c2 | jq -r .pid)" ]
    oci start c2
    [ "$(status_of c2)" = running ]
    run oci delete c2
    [ "$status" -eq 1 ]
    [[ $output == *"not stopped"* ]]
    run oci kill c2 NOSUCH
    [ "$status" -eq 1 ]
    oci kill c2 KILL
    wait_status c2 stopped
    run oci kill c2 15
    [ "$status" -eq 1 ]
    oci delete c2
    make_busybox_bundle "$BATS_TEST_TMPDIR/b3" /bin/sleep 100
    ocic create -b "$BATS_TEST_TMPDIR/b3" c3
    oci start c3
    oci delete --force c3
    run oci state c3
    [ "$status" -eq 1 ]
}

@test "oci: list, list -q, list --format json" {
    make_busybox_bundle "$B" /bin/true
    ocic create -b "$B" l1
    ocic create -b "$B" l2
    run oci list -q
    [ "$output" = "$(printf 'l1\nl2')" ]
    run oci list
    [[ ${lines[0]} == ID* ]]
    [[ ${lines[1]} == l1*created* ]]
    [ "$(oci list --format json | jq -r '.[1].id')" = l2 ]
    oci delete l1
    oci delete l2
    [ -z "$(oci list -q)" ]
}

@test "oci: run in the foreground exits with the command's status and leaves nothing" {
    make_busybox_bundle "$B" /bin/sh -c 'exit 7'
    run oci run -b "$B" r1 </dev/null
    [ "$status" -eq 7 ]
    [ -z "$(oci list -q)" ]
    make_busybox_bundle "$BATS_TEST_TMPDIR/b2" /bin/sleep 100
    ocic run -d -b "$BATS_TEST_TMPDIR/b2" r2
    [ "$(status_of r2)" = running ]
}

@test "oci: bad ids, bundles and commands are one line and exit 1" {
    make_busybox_bundle "$B" /bin/true
    run oci create -b "$B" 'bad/id'
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    run oci create -b "$BATS_TEST_TMPDIR/nothing" x1
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    run oci state nosuch
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    run oci frobnicate
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    ocic create -b "$B" dup
    run ocic create -b "$B" dup
    [ "$status" -eq 1 ]
    grep -q "already exists" "$BATS_TEST_TMPDIR/ctr-out"
    echo '{' >"$B/config.json"
    run ocic create -b "$B" x2
    [ "$status" -eq 1 ]
    [ -z "$(oci list -q | grep x2)" ]
}

@test "oci: create without proc at /proc is one line before anything starts (the gate is reopened through it); run without a gate runs" {
    make_busybox_bundle "$B" /bin/echo ran
    oci_edit "$B" '.mounts |= map(select(.type != "proc"))'
    run --separate-stderr "$NROOT" oci --root "$OCIROOT" create -b "$B" np </dev/null
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == *"no proc at /proc"* ]]
    [ -z "$(oci list -q)" ]
    run_nroot 0 run "$B"
    [ "$output" = ran ]
}

@test "oci: --log --log-format json writes runc's lines" {
    run oci --log "$BATS_TEST_TMPDIR/log" --log-format json state nosuch
    [ "$status" -eq 1 ]
    jq -e '.level == "error" and (.msg | length > 0) and (.time | length > 0)' "$BATS_TEST_TMPDIR/log"
    run oci --systemd-cgroup --debug --rootless state nosuch
    [ "$status" -eq 1 ]
}

@test "oci: spec writes a rootless config.json that runs, and refuses to overwrite it" {
    mkdir -p "$B"
    cp -a "$IMG" "$B/rootfs"
    oci spec -b "$B"
    jq -e --argjson u "$(id -u)" '.linux.uidMappings[0].hostID == $u' "$B/config.json"
    run oci spec -b "$B"
    [ "$status" -eq 1 ]
    oci_edit "$B" '.process.terminal = false | .process.args = ["/bin/sh", "-c", "echo ok"]'
    run oci run -b "$B" s1 </dev/null
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
}

@test "oci: features lists the hooks and namespaces" {
    oci features | jq -e '.ociVersionMax == "1.2.0" and (.linux.namespaces | index("user")) and (.hooks | index("poststop"))'
}

@test "oci: --console-socket receives the terminal's master; a terminal without one is refused" {
    make_busybox_bundle "$B" /bin/sh -c 'tty; echo hello-tty; sleep 1'
    oci_edit "$B" '.process.terminal = true'
    local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/console.out
    # a receiver as conmon is one: the master comes with SCM_RIGHTS, then
    # what the command writes is read from it
    python3 "$BATS_TEST_DIRNAME/helper/console-recv.py" "$sock" "$out" --until hello-tty &
    BG_PIDS+=("$!")
    wait_for 50 test -S "$sock" || fail "no receiver"
    ocic create --console-socket "$sock" -b "$B" tty1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    ocic start tty1 || fail "start: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    wait_for 100 file_has "$out" hello-tty || fail "nothing came through the terminal: $(cat "$out" 2>/dev/null)"
    grep -q '^/dev/pts/[0-9]' "$out" || fail "the message is not the terminal's name: $(head -1 "$out")"
    # the command's tty is that terminal
    grep -q '/dev/pts/' <(tail -n +2 "$out") || fail "the command has no terminal: $(cat "$out")"
    # without a socket, create cannot relay a terminal: refused
    run oci create -b "$B" tty2 </dev/null
    [ "$status" = 1 ] || fail "status $status: $output"
    [[ "$output" == *"needs --console-socket"* ]] || fail "$output"
}

@test "oci: ps lists the container's processes, as json and as a table" {
    make_busybox_bundle "$B" /bin/sh -c 'sleep 100 & sleep 101'
    ocic create -b "$B" p1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    ocic start p1 || fail "start: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    wait_for 50 eval '[ "$(oci ps --format json p1 | jq length)" -ge 3 ]' ||
        fail "ps json: $(oci ps --format json p1)"
    local pid init ns=
    # every pid listed but PID 1 (not dumpable: its ns links are closed) is
    # a process of the container's own pid namespace
    init=$(oci state p1 | jq .pid)
    oci ps --format json p1 | jq -e --argjson i "$init" 'index($i) != null' >/dev/null ||
        fail "PID 1 ($init) is not listed"
    for pid in $(oci ps --format json p1 | jq '.[]'); do
        [ "$pid" = "$init" ] && continue
        : "${ns:=$(readlink /proc/"$pid"/ns/pid)}"
        [ "$(readlink /proc/"$pid"/ns/pid)" = "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/pid)" ] ||
            fail "$pid is not in the container"
    done
    run oci ps p1
    [ "$status" = 0 ] || fail "ps: $output"
    [[ "$output" == *"sleep 101"* ]] || fail "no sleep 101 in: $output"
    run oci ps --format yaml p1
    [ "$status" = 1 ] || fail "a bad format: status $status"
    oci kill p1 KILL
    wait_status p1 stopped
    run oci ps p1
    [ "$status" = 1 ] || fail "ps of a stopped container: status $status"
}

# $1 is a live process (not a zombie)
alive() {
    local s
    s=$(ps -o stat= -p "$1") && [[ $s != Z* ]]
}

none_alive() {
    local p
    for p in "$@"; do
        alive "$p" && return 1
    done
    return 0
}

@test "oci: without a pid namespace, kill --all and delete --force end every process, double forks too" {
    make_busybox_bundle "$B" /bin/sh -c '(sleep 1000 &); sleep 1001 & sleep 1002'
    oci_edit "$B" '.linux.namespaces |= map(select(.type != "pid")) | .linux.maskedPaths = [] | .linux.readonlyPaths = []'
    local pids
    for c in np1 np2; do
        ocic create -b "$B" $c || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
        oci start $c
        # PID 1, the three sleeps (the first orphaned: it stays under PID 1)
        wait_for 50 eval '[ "$(oci ps --format json $c | jq length)" -ge 4 ]' ||
            fail "ps: $(oci ps $c)"
        pids=$(oci ps --format json $c | jq '.[]')
        if [ $c = np1 ]; then
            oci kill --all $c KILL
        else
            oci delete --force $c
        fi
        # shellcheck disable=SC2086
        wait_for 50 none_alive $pids || fail "left running: $(ps -f -p "$(echo $pids | tr ' ' ,)")"
    done
    wait_status np1 stopped
    # as runc's: --all of a stopped container is no error, a plain kill is
    oci kill --all np1 KILL
    run oci kill np1 KILL
    [ "$status" = 1 ]
    oci delete np1
}

@test "oci: a create killed before its state was written leaves no PID 1 at the gate" {
    make_busybox_bundle "$B" /bin/sleep 1000
    oci_edit "$B" '.hooks.createContainer = [{"path": "/bin/sleep", "args": ["sleep", "2"]}]'
    "$NROOT" oci --root "$OCIROOT" create -b "$B" kc </dev/null >/dev/null 2>&1 &
    local p=$!
    wait_for 50 eval '[ "$(status_of kc 2>/dev/null)" = creating ]' || fail "not creating"
    sleep 0.5
    kill -KILL $p
    # PID 1 still has create's command line until its gate opens
    wait_for 60 eval '! pgrep -f -- "--root $OCIROOT create -b $B kc" >/dev/null' ||
        fail "left: $(pgrep -af -- "--root $OCIROOT create")"
    [ "$(status_of kc)" = creating ]
    oci delete kc
    run oci state kc
    [ "$status" = 1 ]
}

@test "oci: a delete during a create of the same id fails, and so does a second create" {
    make_busybox_bundle "$B" /bin/sleep 1000
    oci_edit "$B" '.hooks.createContainer = [{"path": "/bin/sleep", "args": ["sleep", "2"]}]'
    "$NROOT" oci --root "$OCIROOT" create -b "$B" dc </dev/null >/dev/null 2>&1 &
    local p=$!
    wait_for 50 eval '[ "$(status_of dc 2>/dev/null)" = creating ]' || fail "not creating"
    sleep 0.5
    run oci delete dc
    [ "$status" = 1 ] || fail "delete of a creating container: $output"
    [[ $output == *"not stopped: creating"* ]] || fail "$output"
    run oci create -b "$B" dc </dev/null
    [ "$status" = 1 ] || fail "a second create: $output"
    [[ $output == *"already exists"* ]] || fail "$output"
    wait $p || fail "the first create failed"
    [ "$(status_of dc)" = created ]
    oci delete --force dc
}

@test "oci: two starts at once: one starts, the other fails at once with runc's words" {
    make_busybox_bundle "$B" /bin/sleep 100
    ocic create -b "$B" s1
    local t=$BATS_TEST_TMPDIR a b ra rb
    timeout 10 "$NROOT" oci --root "$OCIROOT" start s1 >"$t/start-a" 2>&1 &
    a=$!
    timeout 10 "$NROOT" oci --root "$OCIROOT" start s1 >"$t/start-b" 2>&1 &
    b=$!
    wait $a && ra=0 || ra=$?
    wait $b && rb=0 || rb=$?
    [ "$((ra + rb))" = 1 ] || fail "start statuses $ra and $rb: $(cat "$t/start-a" "$t/start-b")"
    grep -q "cannot start an already running container" "$t/start-a" "$t/start-b" || fail "$(cat "$t/start-a" "$t/start-b")"
    run oci start s1
    [ "$status" = 1 ]
    [[ $output == *"cannot start an already running container"* ]] || fail "$output"
    oci kill s1 KILL
    wait_status s1 stopped
    run oci start s1
    [[ $output == *"cannot start a container that has stopped"* ]] || fail "$output"
}

@test "oci: kill takes signal 0, list --format json says null for none and skips what it cannot read" {
    make_busybox_bundle "$B" /bin/sleep 100
    mkdir -p "$OCIROOT"
    [ "$(oci list --format json)" = null ]
    touch "$OCIROOT/aaa" # listed first, cannot be read
    ocic create -b "$B" k0
    oci list --format json | jq -e 'length == 1 and .[0].id == "k0"' >/dev/null ||
        fail "$(oci list --format json)"
    oci kill k0 0
    [ "$(status_of k0)" = created ]
    run oci kill k0 65
    [ "$status" = 1 ]
    oci delete --force k0
    run oci kill k0 0
    [ "$status" = 1 ]
    rm "$OCIROOT/aaa"
    [ "$(oci list --format json)" = null ]
}
