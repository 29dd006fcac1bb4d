#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `nroot oci exec` (runc's options, every namespace and the seccomp filter
# of the container), the poststart and poststop hooks saved at create, the
# state's fields, --preserve-fds.

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

NS_PROBE='for n in user mnt pid net uts ipc cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done'

# a running container whose command wrote its namespaces to /tmp/ns
start_probe_ctr() {
    make_busybox_bundle "$B" /bin/sh -c "$NS_PROBE > /tmp/ns; exec sleep 100"
    oci_edit "$B" '.root.readonly = false | .hostname = "exec-host"'
    ocic create -b "$B" "$1" || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    ocic start "$1" || fail "start: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    wait_for 50 test -s "$B/rootfs/tmp/ns" || fail "the command did not run"
}

@test "oci exec: every namespace of the container, its hostname, and the command's exit code" {
    start_probe_ctr e1
    run oci exec e1 /bin/sh -c "$NS_PROBE"
    [ "$status" -eq 0 ] || fail "exec: $output"
    [ "$output" = "$(cat "$B/rootfs/tmp/ns")" ] || fail "namespaces differ: $output vs $(cat "$B/rootfs/tmp/ns")"
    [ "$(oci exec e1 hostname)" = exec-host ]
    # the container's pid namespace: its PID 1 and the command are there
    oci exec e1 /bin/sh -c 'kill -0 1 && test "$(cat /proc/1/cmdline | tr "\0" " ")" != ""' ||
        fail "PID 1 is not the container's"
    run oci exec e1 /bin/sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run oci exec e1 /bin/sh -c 'kill -9 $$'
    [ "$status" -eq 137 ]
    run -127 oci exec e1 /nonexistent
    # a file written by exec is in the container's root
    oci exec e1 /bin/sh -c 'echo from-exec > /tmp/x'
    [ "$(cat "$B/rootfs/tmp/x")" = from-exec ]
}

@test "oci exec: --cwd, --env/-e, --user, --cap, --no-new-privs, and stdin" {
    start_probe_ctr e2
    [ "$(oci exec --cwd /tmp e2 pwd)" = /tmp ]
    [ "$(oci exec -e A=1 --env B=2 e2 /bin/sh -c 'echo $A$B')" = 12 ]
    # the container's environment, a variable replaced
    [ "$(oci exec e2 /bin/sh -c 'echo $PATH')" = "$(jq -r '.process.env[] | select(startswith("PATH="))[5:]' "$B/config.json")" ]
    [ "$(oci exec -e PATH=/bin e2 /bin/sh -c 'echo $PATH')" = /bin ]
    [ "$(oci exec -u 0:0 e2 id -u)" = 0 ]
    run oci exec -u x e2 true
    [ "$status" -eq 1 ]
    # the spec's capabilities (runc spec: 3 of them), one more with --cap
    local base more
    base=$(oci exec e2 /bin/sh -c 'grep CapEff /proc/self/status')
    more=$(oci exec --cap CAP_CHOWN e2 /bin/sh -c 'grep CapEff /proc/self/status')
    [ "$base" != "$more" ] || fail "--cap changed nothing: $base"
    [ $(( 0x${more##*[[:space:]]} & 1 )) = 1 ] || fail "no CAP_CHOWN: $more"
    [ "$(oci exec --no-new-privs e2 /bin/sh -c 'grep NoNewPrivs /proc/self/status' | tr -d '[:space:]')" = NoNewPrivs:1 ]
    [ "$(echo piped | oci exec e2 cat)" = piped ]
    run oci exec e2
    [ "$status" -eq 1 ]
}

@test "oci exec: --process FILE, a runtime-spec process" {
    start_probe_ctr e3
    cat >"$BATS_TEST_TMPDIR/p.json" <<'EOF'
{ "args": ["/bin/sh", "-c", "pwd; echo $P; id -u; exit 3"], "env": ["P=proc", "PATH=/bin"],
  "cwd": "/etc", "user": {"uid": 0, "gid": 0}, "terminal": false, "noNewPrivileges": true,
  "apparmorProfile": "ignored" }
EOF
    run oci exec --process "$BATS_TEST_TMPDIR/p.json" e3
    [ "$status" -eq 3 ] || fail "status $status: $output"
    [ "${lines[0]}" = /etc ] && [ "${lines[1]}" = proc ] && [ "${lines[2]}" = 0 ] || fail "$output"
    echo '{ "args": [], "cwd": "/" }' >"$BATS_TEST_TMPDIR/bad.json"
    run oci exec -p "$BATS_TEST_TMPDIR/bad.json" e3
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ] || fail "$output"
    # nothing left in the container's directory
    [ "$(ls "$OCIROOT/e3" | grep -c process)" = 0 ]
}

@test "oci exec: the container's seccomp filter holds" {
    make_busybox_bundle "$B" /bin/sleep 100
    oci_edit "$B" '.root.readonly = false | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
    ocic create -b "$B" s1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    ocic start s1
    run oci exec s1 mkdir /tmp/d
    [ "$status" -ne 0 ] || fail "mkdir worked under the filter"
    [ ! -e "$B/rootfs/tmp/d" ]
    oci exec s1 touch /tmp/f
    [ -e "$B/rootfs/tmp/f" ]
}

@test "oci exec: uses the spec saved at create, not config.json as it is now" {
    make_busybox_bundle "$B" /bin/sleep 100
    oci_edit "$B" '.root.readonly = false | .process.env += ["X=create"] | .process.noNewPrivileges = true
        | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
    ocic create -b "$B" k1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    ocic start k1
    local probe='grep -E "^(CapBnd|CapEff|NoNewPrivs)" /proc/self/status; echo X=$X; mkdir /tmp/d 2>/dev/null && echo mkdir || echo denied'
    local before
    before=$(oci exec k1 /bin/sh -c "$probe") || fail "exec: $before"
    [[ $before == *"NoNewPrivs:"*1* && $before == *X=create* && $before == *denied ]] || fail "$before"
    # the host (or a container whose root is the bundle) edits config.json:
    # no later exec sees it, as with runc
    oci_edit "$B" '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])
        | .process.noNewPrivileges = false | .process.env = ["X=edited", "PATH=/bin"]
        | del(.linux.seccomp)'
    run oci exec k1 /bin/sh -c "$probe"
    [ "$status" -eq 0 ] || fail "exec after the edit: $output"
    [ "$output" = "$before" ] || fail "the edit changed exec: $output vs $before"
    # nor does config.json need to be there
    rm "$B/config.json"
    run oci exec k1 /bin/sh -c "$probe"
    [ "$status" -eq 0 ] && [ "$output" = "$before" ] || fail "exec without config.json: $output"
    # the saved spec is the caller's alone; without it exec fails clearly
    [ "$(stat -c %a "$OCIROOT/k1/spec")" = 600 ] && [ "$(stat -c %a "$OCIROOT/k1/seccomp")" = 600 ]
    rm "$OCIROOT/k1/spec"
    run oci exec k1 true
    [ "$status" -eq 1 ] && [[ $output == *"k1/spec' is missing"* ]] || fail "$output"
}

@test "oci exec: process.oomScoreAdj applies to PID 1's command and to exec'd processes" {
    local cur want
    cur=$(cat /proc/self/oom_score_adj)
    want=$(( cur < 900 ? cur + 100 : 1000 )) # raising needs no privilege
    make_busybox_bundle "$B" /bin/sh -c 'cat /proc/self/oom_score_adj > /tmp/oom; exec sleep 100'
    oci_edit "$B" '.root.readonly = false | .process.oomScoreAdj = $n' --argjson n "$want"
    ocic create -b "$B" o1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    [ "$(oci exec o1 cat /proc/self/oom_score_adj)" = "$want" ]
    ocic start o1
    wait_for 50 test -s "$B/rootfs/tmp/oom" || fail "the command did not run"
    [ "$(cat "$B/rootfs/tmp/oom")" = "$want" ]
    [ "$(oci exec o1 cat /proc/self/oom_score_adj)" = "$want" ]
}

@test "oci exec: enters the container's time namespace (linux.timeOffsets)" {
    [ -e /proc/self/ns/time ] || skip "no time namespaces in this kernel"
    make_busybox_bundle "$B" /bin/sh -c 'readlink /proc/self/ns/time > /tmp/ns; exec sleep 100'
    oci_edit "$B" '.root.readonly = false | .linux.namespaces += [{"type": "time"}]
        | .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0}}'
    ocic create -b "$B" t1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    ocic start t1
    wait_for 50 test -s "$B/rootfs/tmp/ns" || fail "the command did not run"
    [ "$(oci exec t1 readlink /proc/self/ns/time)" = "$(cat "$B/rootfs/tmp/ns")" ]
    [ "$(oci exec t1 cut -d. -f1 /proc/uptime)" -ge 864000 ]
}

@test "oci exec: into a created container (as runc), not into a stopped one" {
    make_busybox_bundle "$B" /bin/sh -c 'echo main > /tmp/main'
    oci_edit "$B" '.root.readonly = false'
    ocic create -b "$B" c1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    run oci exec c1 /bin/sh -c 'echo in-created; test ! -e /tmp/main'
    [ "$status" -eq 0 ] || fail "exec into created: $output"
    [ "$output" = in-created ]
    [ "$(status_of c1)" = created ]
    ocic start c1
    wait_status c1 stopped
    run oci exec c1 true
    [ "$status" -eq 1 ]
    [[ $output == *"stopped"* ]] || fail "$output"
    run oci exec nosuch true
    [ "$status" -eq 1 ]
}

# conmon's pattern: a child subreaper runs `exec -d --pid-file F`, then
# waits for the pid in F, which must be its child once nroot is gone
SUBREAPER='
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pidfile, argv = sys.argv[1], sys.argv[2:]
nroot = os.spawnvp(os.P_NOWAIT, argv[0], argv)
_, ws = os.waitpid(nroot, 0)
print("nroot", os.waitstatus_to_exitcode(ws), flush=True)
if ws:
    sys.exit(0)
pid = int(open(pidfile).read())
print("parent", open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1] == str(os.getpid()), flush=True)
ready = os.environ.get("READY")
if ready:
    open(ready, "w").close()
_, ws = os.waitpid(pid, 0)
print("status", os.waitstatus_to_exitcode(ws), flush=True)
'

@test "oci exec: -d with --pid-file leaves the command running in the container" {
    start_probe_ctr d1
    # (not `run`: the command keeps exec's stdout, as runc's -d does)
    oci exec -d --pid-file "$BATS_TEST_TMPDIR/epid" d1 /bin/sh -c 'echo $$ > /tmp/d; exec sleep 100' \
        </dev/null >/dev/null 2>&1 || fail "exec -d failed"
    local pid
    pid=$(cat "$BATS_TEST_TMPDIR/epid")
    [ "$pid" -gt 0 ] && kill -0 "$pid" || fail "pid file: $pid"
    wait_for 50 test -s "$B/rootfs/tmp/d" || fail "the command did not run"
    # the host's pid, of a process in the container's pid namespace
    [ "$(readlink /proc/"$pid"/ns/pid)" = "$(grep '^pid ' "$B/rootfs/tmp/ns" | cut -d' ' -f2)" ]
    # it is among the container's processes
    oci ps --format json d1 | jq -e --argjson p "$pid" 'index($p) != null' >/dev/null ||
        fail "$pid not in ps: $(oci ps --format json d1)"
    # no nroot stays: the command's parent is init (or the session's subreaper)
    [ "$(ps -o comm= -p "$(ps -o ppid= -p "$pid")")" != nroot ] || fail "an nroot is its parent"
    kill -9 "$pid"
    run oci exec -d -t d1 true </dev/null
    [ "$status" -eq 1 ]
    [[ $output == *"console socket"* ]] || fail "$output"
}

@test "oci exec: -d as conmon runs it: the command is the subreaper's child, its status comes back, stdio is the caller's" {
    start_probe_ctr d2
    local pf=$BATS_TEST_TMPDIR/epid
    run python3 -c "$SUBREAPER" "$pf" "$NROOT" oci --root "$OCIROOT" exec -d --pid-file "$pf" d2 \
        /bin/sh -c 'echo to-stdout; echo to-stderr >&2; read l; echo "read $l"; exit 5' \
        <<<from-stdin
    [ "$status" -eq 0 ] || fail "$output"
    [[ $output == *"nroot 0"* ]] || fail "$output"
    # the caller's stdio directly (bats' run: one pipe for both)
    [[ $output == *to-stdout* && $output == *to-stderr* && $output == *"read from-stdin"* ]] ||
        fail "stdio: $output"
    [[ $output == *"parent True"* ]] || fail "not the subreaper's child: $output"
    [ "${lines[-1]}" = "status 5" ] || fail "$output"
    # a command that is killed: its signal
    run python3 -c "$SUBREAPER" "$pf" "$NROOT" oci --root "$OCIROOT" exec -d --pid-file "$pf" d2 \
        /bin/sh -c 'kill -9 $$' </dev/null
    [ "${lines[-1]}" = "status -9" ] || fail "$output"
    # a command that cannot be executed: nroot says so, one line, runc's status
    run python3 -c "$SUBREAPER" "$pf" "$NROOT" oci --root "$OCIROOT" exec -d --pid-file "$pf" d2 /nonexistent </dev/null
    [ "${lines[-1]}" = "nroot 127" ] || fail "$output"
    [ "${#lines[@]}" -eq 2 ] || fail "not one line: $output"
}

@test "oci exec: -d -t --console-socket: nroot leaves, the command keeps its terminal" {
    start_probe_ctr d3
    local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/console.out
    local pf=$BATS_TEST_TMPDIR/epid ready=$BATS_TEST_TMPDIR/ready
    python3 "$BATS_TEST_DIRNAME/helper/console-recv.py" "$sock" "$out" --go "$ready" &
    BG_PIDS+=("$!")
    wait_for 50 test -S "$sock" || fail "no receiver"
    READY=$ready run python3 -c "$SUBREAPER" "$pf" "$NROOT" oci --root "$OCIROOT" exec -d -t \
        --console-socket "$sock" --pid-file "$pf" d3 /bin/sh -c 'read l; tty; echo "got $l done"; exit 4' </dev/null
    [ "${lines[0]}" = "nroot 0" ] || fail "$output"
    [[ $output == *"parent True"* ]] || fail "$output"
    [ "${lines[-1]}" = "status 4" ] || fail "$output"
    wait_for 100 file_has "$out" done || fail "nothing came through the terminal: $(cat "$out" 2>/dev/null)"
    grep -q '^/dev/pts/' <(tail -n +2 "$out") || fail "the command has no terminal: $(cat "$out")"
    grep -q 'got go done' "$out" || fail "$(cat "$out")"
}

@test "oci: poststart (start) and poststop (delete) hooks get the OCI state, saved at create" {
    make_busybox_bundle "$B" /bin/sleep 100
    local out=$BATS_TEST_TMPDIR
    oci_edit "$B" --arg o "$out" '.annotations = {"org.example.k": "v1"} |
        .hooks = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($o)/poststart.json"]},
                                {"path": "/bin/false"},
                                {"path": "/bin/sh", "args": ["sh", "-c", "echo second > \($o)/poststart2"]}],
                  "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($o)/poststop.json"]}]}'
    ocic create -b "$B" h1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    [ ! -e "$out/poststart.json" ] || fail "poststart ran at create"
    # a later edit of config.json changes nothing (config_updates_without_affect)
    oci_edit "$B" 'del(.hooks)'
    run oci start h1
    [ "$status" -eq 0 ] || fail "start: $output"
    [[ $output == *warning* ]] || fail "the failed hook is no warning: $output"
    [ "$(cat "$out/poststart2")" = second ] || fail "a failed hook stopped the others"
    jq -e '.id == "h1" and .status == "running" and .pid > 0 and .annotations["org.example.k"] == "v1"' \
        "$out/poststart.json" || fail "poststart state: $(cat "$out/poststart.json")"
    [ "$(jq -r .bundle "$out/poststart.json")" = "$(cd "$B" && pwd -P)" ]
    [ ! -e "$out/poststop.json" ]
    oci kill h1 KILL
    wait_status h1 stopped
    oci delete h1
    jq -e '.id == "h1" and .status == "stopped" and .annotations["org.example.k"] == "v1"' \
        "$out/poststop.json" || fail "poststop state: $(cat "$out/poststop.json")"
}

@test "oci: the createRuntime hooks' state has the OCI id and the annotations" {
    make_busybox_bundle "$B" /bin/true
    local out=$BATS_TEST_TMPDIR
    oci_edit "$B" --arg o "$out" '.annotations = {"a": "b"} |
        .hooks = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($o)/cr.json"]}]}'
    run oci run -b "$B" r1 </dev/null
    [ "$status" -eq 0 ] || fail "run: $output"
    jq -e '.id == "r1" and .annotations.a == "b"' "$out/cr.json" || fail "$(cat "$out/cr.json")"
}

@test "oci state: runc's fields (status, rootfs, created, owner, annotations)" {
    make_busybox_bundle "$B" /bin/sleep 100
    oci_edit "$B" '.annotations = {"k": "v"}'
    ocic create -b "$B" st1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    local s
    s=$(oci state st1)
    echo "$s" | jq -e --arg r "$(cd "$B/rootfs" && pwd -P)" \
        '.ociVersion != null and .id == "st1" and .status == "created" and .rootfs == $r and
         .owner == "" and .annotations.k == "v" and
         (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}Z$"))' >/dev/null ||
        fail "state: $s"
    # no annotations: no field, as runc
    oci delete --force st1
    oci_edit "$B" 'del(.annotations)'
    ocic create -b "$B" st2
    oci state st2 | jq -e 'has("annotations") | not' >/dev/null
}

@test "oci: --preserve-fds passes fds 3.. to create, run and exec" {
    make_busybox_bundle "$B" /bin/sh -c 'cat <&3 > /tmp/from3; cat <&4 > /tmp/from4; sleep 100'
    oci_edit "$B" '.root.readonly = false'
    echo three >"$BATS_TEST_TMPDIR/f3"
    echo four >"$BATS_TEST_TMPDIR/f4"
    oci create --preserve-fds 2 -b "$B" pf 3<"$BATS_TEST_TMPDIR/f3" 4<"$BATS_TEST_TMPDIR/f4" \
        </dev/null >>"$BATS_TEST_TMPDIR/ctr-out" 2>&1 || fail "create: $(cat "$BATS_TEST_TMPDIR/ctr-out")"
    ocic start pf
    wait_for 50 test -s "$B/rootfs/tmp/from4" || fail "nothing read from fd 4"
    [ "$(cat "$B/rootfs/tmp/from3")" = three ]
    [ "$(cat "$B/rootfs/tmp/from4")" = four ]
    [ "$(oci exec --preserve-fds 1 pf cat /proc/self/fd/3 3<"$BATS_TEST_TMPDIR/f4")" = four ]
    # without it, no fd 3
    run oci exec pf /bin/sh -c 'test -e /proc/self/fd/3' 3<"$BATS_TEST_TMPDIR/f4"
    [ "$status" -ne 0 ]
    # run: the same
    make_busybox_bundle "$BATS_TEST_TMPDIR/b2" /bin/sh -c 'cat <&3'
    run oci run --preserve-fds 1 -b "$BATS_TEST_TMPDIR/b2" pr 3<"$BATS_TEST_TMPDIR/f3" </dev/null
    [ "$status" -eq 0 ] && [ "$output" = three ] || fail "run: $status $output"
    # an fd that is not open is refused
    run oci exec --preserve-fds 200 pf true
    [ "$status" -eq 1 ]
}

@test "oci exec: -t --console-socket sends the command's terminal" {
    start_probe_ctr t1
    local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/console.out
    python3 "$BATS_TEST_DIRNAME/helper/console-recv.py" "$sock" "$out" --until hello-tty &
    BG_PIDS+=("$!")
    wait_for 50 test -S "$sock" || fail "no receiver"
    # (its status: 129 when the receiver closes the terminal first, SIGHUP)
    run oci exec -t --console-socket "$sock" t1 /bin/sh -c 'tty; echo hello-tty; sleep 1' </dev/null
    [ "$status" = 0 ] || [ "$status" = 129 ] || fail "exec -t: $status $output"
    wait_for 100 file_has "$out" hello-tty || fail "nothing came through the terminal: $(cat "$out" 2>/dev/null)"
    grep -q '/dev/pts/' <(tail -n +2 "$out") || fail "the command has no terminal: $(cat "$out")"
}
