#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `nroot run BUNDLE` and `nroot run --bundle DIR`: OCI bundles made by `runc
# spec --rootless` and `umoci unpack --rootless` run as their config.json
# says, with the probes' outputs of runc where runc is installed; one test
# per field of the spec nroot applies; bad bundles are one line and 125.

load helpers
load oci-helpers

teardown() {
    [ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
    oci_teardown_containers
    teardown_default
}

# the probes under nroot (oci_run_probes runs runc and crun)
nroot_probes() {
    local dir=$1
    oci_edit "$dir" '.process.args = ["/bin/sh", "-c", $s]
        | .process.env += ["OCI_MASKED=" + $m, "OCI_PROBE_EXIT=" + $x]' \
        --arg s "$OCI_PROBE_SCRIPT" --arg m "$OCI_MASKED" --arg x "${OCI_PROBE_EXIT:-0}" || return 1
    run_nroot "${OCI_PROBE_EXIT:-0}" run --bundle "$dir"
}

# compare the sections of two probe outputs
same_sections() {
    local a=$1 b=$2 s
    shift 2
    for s in "$@"; do
        diff <(oci_section "$s" "$a") <(oci_section "$s" "$b") ||
            fail "section $s differs (< runc, > nroot)"
    done
}

# mountinfo lines as the probes print them, but the options of the root's
# own file system (the bundle's disk: the same for both) and the tmpfs
# uid=/gid= of the mapping
norm_mounts() {
    oci_section mounts "$1" | sed -E 's/,?(uid|gid)=[0-9]+//g'
}

bundle() {  # DIR [ARG...]: a runc spec --rootless busybox bundle
    make_busybox_bundle "$@"
}

# runc's probes first (where runc is installed), then nroot's
compare_with_runc() {
    local kind=$1 b=$BATS_TEST_TMPDIR/nroot-$1 r=$BATS_TEST_TMPDIR/runc-$1 sections
    case $kind in
        spec) bundle "$b" && bundle "$r" ;;
        umoci) make_umoci_bundle "$b" && make_umoci_bundle "$r" ;;
    esac
    nroot_probes "$b"
    local mine=$output
    [ "$(oci_section exit "$mine")" = "${OCI_PROBE_EXIT:-0}" ]
    command -v runc >/dev/null || skip "runc is not installed: nroot's probes ran, not compared"
    oci_run_probes runc "$r"
    [ "$status" = "${OCI_PROBE_EXIT:-0}" ] || fail "runc exited $status: $stderr"
    local theirs=$output
    sections=(id hostname caps ulimit env pwd masked exit)
    same_sections "$theirs" "$mine" "${sections[@]}"
    diff <(norm_mounts "$theirs") <(norm_mounts "$mine") || fail "mounts differ (< runc, > nroot)"
}

@test "oci-run: a runc spec --rootless bundle gives runc's probe outputs" {
    compare_with_runc spec
}

@test "oci-run: an umoci unpack --rootless bundle gives runc's probe outputs" {
    compare_with_runc umoci
}

@test "oci-run: the process's exit code is nroot's, as runc's" {
    OCI_PROBE_EXIT=7 compare_with_runc spec
}

@test "oci-run: nroot run BUNDLE CMD replaces process.args; --bundle DIR CMD too" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" false
    run_nroot 0 run "$b" echo replaced
    [ "$output" = replaced ]
    run_nroot 0 run --bundle "$b" sh -c 'echo "$0 $1"' x y
    [ "$output" = "x y" ]
    run_nroot 1 run "$b"
    # relative, as runc is used
    cd "$BATS_TEST_TMPDIR"
    run_nroot 0 run --bundle b true
}

@test "oci-run: the root is the bundle's, written in place; root.readonly" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    run_nroot 1 run "$b" touch /written
    [[ $stderr == *Read-only* ]]
    oci_edit "$b" '.root.readonly = false'
    run_nroot 0 run "$b" sh -c 'echo in-place >/written'
    [ "$(cat "$b/rootfs/written")" = in-place ]
}

@test "oci-run: mounts in order: bind with options, tmpfs with data, propagation" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    mkdir -p "$BATS_TEST_TMPDIR/host"
    echo from-host >"$BATS_TEST_TMPDIR/host/f"
    oci_edit "$b" '.mounts += [
        {"destination": "/mnt/ro", "type": "bind", "source": $h, "options": ["rbind", "ro", "nosuid", "rprivate"]},
        {"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec"]},
        {"destination": "/mnt/t/inner", "type": "bind", "source": $h}]' \
        --arg h "$BATS_TEST_TMPDIR/host"
    run_nroot 0 run "$b" sh -c 'cat /mnt/ro/f; touch /mnt/ro/x 2>/dev/null && echo writable;
        cat /mnt/t/inner/f; stat -c %a /mnt/t; awk "\$5 ~ /^\/mnt/ { print \$5, \$6 }" /proc/self/mountinfo'
    [ "${lines[0]}" = from-host ]
    [ "${lines[1]}" = from-host ]
    [ "${lines[2]}" = 700 ]
    [[ ${lines[3]} == "/mnt/ro ro,nosuid"* ]]
    [[ ${lines[4]} == "/mnt/t rw,"*noexec* ]]
    [[ ${lines[5]} == "/mnt/t/inner "* ]]
    [ ! -e "$BATS_TEST_TMPDIR/host/x" ]
}

@test "oci-run: devpts gid= is kept only where that gid is mapped" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.mounts |= map(if .destination == "/dev/pts" then .options += ["gid=5"] else . end)'
    run_nroot 0 run "$b" sh -c 'grep " /dev/pts " /proc/self/mounts'
    if [ "$NROOT_TEST_MODE" = subids ]; then
        local s
        s=$(grep "^$(id -un):" /etc/subgid | head -1 | cut -d: -f2)
        oci_edit "$b" '.linux.gidMappings = [{"containerID": 0, "hostID": ($g|tonumber), "size": 1},
                {"containerID": 1, "hostID": ($s|tonumber), "size": 100}]' --arg g "$(id -g)" --arg s "$s"
        # (the kernel shows the gid as the host's)
        run_nroot 0 run "$b" sh -c 'grep " /dev/pts " /proc/self/mounts'
        [[ $output == *,gid=* ]]
    else
        [[ $output != *,gid=* ]]
    fi
}

@test "oci-run: a mount target escaping the root through a symlink is one line, 125, nothing mounted" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    mkdir -p "$BATS_TEST_TMPDIR/outside"
    ln -s ../../../../../../../../../.."$BATS_TEST_TMPDIR/outside" "$b/rootfs/esc"
    oci_edit "$b" '.root.readonly = false | .mounts += [{"destination": "/esc/sub", "type": "tmpfs", "source": "tmpfs"}]'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"/esc/sub"*"leads out of the container's root"* ]]
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/outside")" ]
    # an absolute symlink stays inside the root, as the container sees it
    rm "$b/rootfs/esc"
    ln -s /tmp "$b/rootfs/esc"
    run_nroot 0 run "$b" sh -c 'grep -c " /tmp/sub " /proc/self/mountinfo'
    [ "$output" = 1 ]
}

@test "oci-run: bad bundles are one line and 125, nothing changed" {
    local b=$BATS_TEST_TMPDIR/b
    mkdir -p "$b"
    run_nroot 125 run --bundle "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *config.json* ]]
    echo '{ not json' >"$b/config.json"
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *config.json* ]]
    rm -rf "$b"
    bundle "$b"
    oci_edit "$b" '.root.path = "../../.."'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *root* ]]
    rm -rf "$b"
    bundle "$b"
    oci_edit "$b" '.linux.namespaces += [{"type": "bogus"}]'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *bogus* ]]
    rm -rf "$b"
    bundle "$b"
    oci_edit "$b" '.linux.namespaces |= map(select(.type != "user"))'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"no user namespace"* ]]
}

@test "oci-run: an id range that is not the caller's is one line naming it, 125" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.linux.uidMappings = [{"containerID": 0, "hostID": 0, "size": 1}]'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"linux.uidMappings: the range 0 0 1"* ]]
}

@test "oci-run: uidMappings and gidMappings of the subordinate range go through newuidmap, exactly" {
    [ "$NROOT_TEST_MODE" = subids ] || skip "needs newuidmap (the subids mode)"
    local b=$BATS_TEST_TMPDIR/b start count
    IFS=: read -r _ start count < <(grep "^$(id -un):" /etc/subuid | head -1)
    [ -n "$start" ] || skip "no subordinate uid range"
    local gstart
    IFS=: read -r _ gstart _ < <(grep "^$(id -un):" /etc/subgid | head -1)
    bundle "$b"
    oci_edit "$b" '.linux.uidMappings = [{"containerID": 0, "hostID": ($u|tonumber), "size": 1},
            {"containerID": 1, "hostID": ($s|tonumber), "size": 1000}]
        | .linux.gidMappings = [{"containerID": 0, "hostID": ($g|tonumber), "size": 1},
            {"containerID": 1, "hostID": ($gs|tonumber), "size": 1000}]
        | .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5]}' \
        --arg u "$(id -u)" --arg g "$(id -g)" --arg s "$start" --arg gs "$gstart"
    run_nroot 0 run "$b" sh -c 'cat /proc/self/uid_map; id -u; id -g; id -G'
    [ "$(echo "${lines[0]}" | tr -s ' ')" = " 0 $(id -u) 1" ]
    [ "$(echo "${lines[1]}" | tr -s ' ')" = " 1 $start 1000" ]
    [ "${lines[2]}" = 1000 ]
    [ "${lines[3]}" = 1000 ]
    [[ ${lines[4]} == *5* ]]
}

@test "oci-run: process.user, cwd, env exactly, umask, rlimits, noNewPrivileges, oomScoreAdj" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.process.cwd = "/made/here" | .process.env = ["ONLY=this", "PATH=/bin"]
        | .process.user.umask = 63 | .process.oomScoreAdj = 500
        | .process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
                              {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
    run_nroot 0 run "$b" sh -c 'pwd; env | sort | grep -v "^PWD=\|^SHLVL="; umask; ulimit -n; ulimit -Hn;
        ulimit -c; grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj'
    [ "${lines[0]}" = /made/here ]
    # HOME is added as runc adds it, from the image's /etc/passwd
    [ "${lines[1]}" = HOME=/root ]
    [ "${lines[2]}" = ONLY=this ]
    [ "${lines[3]}" = PATH=/bin ]
    [ "${lines[4]}" = 0077 ]
    [ "${lines[5]}" = 100 ]
    [ "${lines[6]}" = 200 ]
    [ "${lines[7]}" = 0 ]
    [[ ${lines[8]} == NoNewPrivs:*1 ]]
    [ "${lines[9]}" = 500 ]
    oci_edit "$b" '.process.noNewPrivileges = false'
    run_nroot 0 run "$b" grep NoNewPrivs /proc/self/status
    [[ $output == NoNewPrivs:*0 ]]
}

@test "oci-run: an unmapped process.user or additionalGid is refused clearly" {
    [ "$NROOT_TEST_MODE" != subids ] || skip "the single-id map is what refuses here"
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.process.user.uid = 1000'
    run_nroot 125 run "$b" true
    [[ $stderr == *"process.user 1000:0 is not mapped"* ]]
    oci_edit "$b" '.process.user.uid = 0 | .process.user.additionalGids = [5]'
    run_nroot 125 run "$b" true
    [[ $stderr == *additionalGids* ]]
}

@test "oci-run: the five capability sets" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.process.capabilities = {"bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"],
        "permitted": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
        "inheritable": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]}
        | .process.user.uid = 0'
    # a shell as root: exec gives it the bounding set; read the sets
    # through a non-root exec instead: the ambient set survives it
    run_nroot 0 run "$b" grep -E '^Cap(Inh|Bnd|Amb)' /proc/self/status
    [[ ${lines[0]} == CapInh:*0000000000000001 ]]
    [[ ${lines[1]} == CapBnd:*0000000000002021 ]]
    [[ ${lines[2]} == CapAmb:*0000000000000001 ]]
}

@test "oci-run: maskedPaths and readonlyPaths" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.root.readonly = false | .linux.maskedPaths += ["/etc/passwd", "/home"]
        | .linux.readonlyPaths += ["/tmp"]'
    mkdir -p "$b/rootfs/home/someone"
    run_nroot 0 run "$b" sh -c 'wc -c </etc/passwd; ls -A /home | wc -l; touch /tmp/x 2>/dev/null || echo ro'
    [ "${lines[0]}" = 0 ]
    [ "${lines[1]}" = 0 ]
    [ "${lines[2]}" = ro ]
}

@test "oci-run: hostname, domainname, sysctl (namespaced only)" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.hostname = "oci-host" | .domainname = "oci.example"
        | .linux.sysctl = {"kernel.shmmni": "1234"}'
    run_nroot 0 run "$b" sh -c 'hostname; cat /proc/sys/kernel/domainname /proc/sys/kernel/shmmni'
    [ "$output" = "$(printf 'oci-host\noci.example\n1234')" ]
    oci_edit "$b" '.linux.sysctl = {"vm.swappiness": "1"}'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"'vm.swappiness' is not a namespaced sysctl"* ]]
}

@test "oci-run: namespaces are exactly those listed; a network namespace has lo only" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.linux.namespaces += [{"type": "network"}]'
    run_nroot 0 run "$b" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1'
    [ "$(echo $output)" = lo ]
    # not listed: the host's (here the network and the cgroup namespace)
    oci_edit "$b" '.linux.namespaces |= map(select(.type != "network"))'
    run_nroot 0 run "$b" readlink /proc/self/ns/net
    [ "$output" = "$(readlink /proc/self/ns/net)" ]
}

@test "oci-run: a namespace path is joined; one that cannot be is one line, 125" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    # the host's network namespace by path: the container shares it
    oci_edit "$b" '.linux.namespaces += [{"type": "network", "path": $p}]' --arg p "/proc/$$/ns/net"
    run_nroot 0 run "$b" readlink /proc/self/ns/net
    [ "$output" = "$(readlink /proc/self/ns/net)" ]
    oci_edit "$b" '.linux.namespaces |= map(if .type == "network" then .path = "/etc/hostname" else . end)'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"cannot join '/etc/hostname'"* ]]
}

@test "oci-run: no user namespace in the spec, run by root of a user namespace (as rootless podman runs its runtime): the same ids, that namespace's network joined" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.linux.namespaces |= map(select(.type != "user"))
        | del(.linux.uidMappings, .linux.gidMappings)'
    # the caller has no rights in its own user namespace: refused, as before
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"has no user namespace"* ]]
    # root of a user namespace (one id here): every id of it onto itself
    run --separate-stderr unshare -r "$NROOT" run "$b" sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g'
    [ "$status" = 0 ] || fail "$stderr"
    [ "$(echo $output)" = "0 0 1 0 0 1 0 0" ]
    # a network namespace made in that user namespace, joined by path (the
    # container's own user namespace, a child of it, has no rights there)
    cat >"$BATS_TEST_TMPDIR/join.sh" <<'EOS'
unshare -n sleep 60 &
holder=$!
while [ "$(readlink /proc/$holder/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.05; done
want=$(readlink /proc/$holder/ns/net)
jq --arg p /proc/$holder/ns/net '.linux.namespaces += [{"type": "network", "path": $p}]' \
    "$2/config.json" >"$2/config.new" && mv "$2/config.new" "$2/config.json"
got=$("$1" run "$2" readlink /proc/self/ns/net)
rc=$?
kill $holder
echo "$rc $want $got"
EOS
    run --separate-stderr unshare -r sh "$BATS_TEST_TMPDIR/join.sh" "$NROOT" "$b"
    [ "$status" = 0 ]
    set -- $output
    [ "$1" = 0 ] || fail "$stderr"
    [[ $2 == net:* ]]
    [ "$2" = "$3" ]
}

@test "oci-run: a user namespace by path is joined with the network namespace it owns (a pod's), none made, no map written" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    # a user and a network namespace of the caller's, held by a process
    unshare -rn sleep 60 &
    local holder=$!
    HOLDER=$holder # (teardown kills it)
    wait_for 50 sh -c '[ "$(readlink /proc/$1/ns/user)" != "$(readlink /proc/self/ns/user)" ]' sh "$holder"
    # (the spec's uidMappings stay: they describe the joined namespace, as runc reads them)
    oci_edit "$b" '.linux.namespaces |= map(select(.type != "user" and .type != "network"))
        + [{"type": "user", "path": ($p + "/user")}, {"type": "network", "path": ($p + "/net")}]' \
        --arg p "/proc/$holder/ns"
    run_nroot 0 run "$b" sh -c 'readlink /proc/self/ns/user; readlink /proc/self/ns/net; cat /proc/self/uid_map; id -u'
    local want_user want_net
    want_user=$(readlink /proc/$holder/ns/user)
    want_net=$(readlink /proc/$holder/ns/net)
    [ "${lines[0]}" = "$want_user" ]
    [ "${lines[1]}" = "$want_net" ]
    [ "$(echo ${lines[2]})" = "0 $(id -u) 1" ]
    [ "${lines[3]}" = 0 ]
    # one that cannot be joined: one line, 125
    oci_edit "$b" '.linux.namespaces |= map(if .type == "user" then .path = "/etc/hostname" else . end)'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"cannot join '/etc/hostname'"* ]]
}

@test "oci-run: rootfsPropagation" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    run_nroot 0 run "$b" awk '$5 == "/" { print $7 }' /proc/self/mountinfo
    [[ $output != shared:* ]]
    oci_edit "$b" '.linux.rootfsPropagation = "rshared"'
    run_nroot 0 run "$b" awk '$5 == "/" { print $7 }' /proc/self/mountinfo
    [[ $output == shared:* ]]
}

@test "oci-run: timeOffsets make a time namespace with those offsets" {
    [ -e /proc/self/ns/time ] || skip "no time namespaces in this kernel"
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.linux.namespaces += [{"type": "time"}]
        | .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0}}'
    run_nroot 0 run "$b" cut -d. -f1 /proc/uptime
    [ "$output" -ge 864000 ]
    [ "$(cut -d. -f1 /proc/uptime)" -lt 864000 ] || skip "the host has been up for 10 days"
}

@test "oci-run: linux.devices are bound from the host; one missing there is one line, 125" {
    [ -c /dev/fuse ] || skip "no /dev/fuse on the host"
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]'
    run_nroot 0 run "$b" sh -c 'ls -l /dev/fuse /dev/null /dev/ptmx'
    [[ ${lines[0]} == c* ]]
    [[ $output == *"ptmx -> pts/ptmx"* ]]
    oci_edit "$b" '.linux.devices = [{"path": "/dev/nroot-none", "type": "c", "major": 1, "minor": 99}]'
    run_nroot 125 run "$b" true
    [ "${#stderr_lines[@]}" = 1 ]
    [[ $stderr == *"/dev/nroot-none"*"not on the host"* ]]
}

@test "oci-run: the spec's seccomp program, and none without a seccomp object" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.root.readonly = false | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
    run_nroot 1 run "$b" mkdir /nope
    [[ $stderr == *"Operation not permitted"* ]]
    run_nroot 0 run "$b" grep Seccomp: /proc/self/status
    [[ $output == *2 ]]
    oci_edit "$b" 'del(.linux.seccomp)'
    run_nroot 0 run "$b" grep Seccomp: /proc/self/status
    [[ $output == *0 ]]
}

@test "oci-run: hooks run at their stages with the state on stdin" {
    local b=$BATS_TEST_TMPDIR/b log=$BATS_TEST_TMPDIR/hooks
    bundle "$b"
    local h=$BATS_TEST_TMPDIR/hook.sh
    printf '#!/bin/sh\n{ printf "%%s " "$1"; cat; echo; } >>%s\n' "$log" >"$h"
    chmod +x "$h"
    # startContainer runs in the container: its path and log are the bundle's
    printf '#!/bin/sh\necho startContainer >/hooklog\n' >"$b/rootfs/bin/start-hook"
    chmod +x "$b/rootfs/bin/start-hook"
    oci_edit "$b" '.root.readonly = false | .hooks = {
        "createRuntime": [{"path": $h, "args": ["hook.sh", "createRuntime"]}],
        "createContainer": [{"path": $h, "args": ["hook.sh", "createContainer"]}],
        "startContainer": [{"path": "/bin/start-hook"}],
        "poststart": [{"path": $h, "args": ["hook.sh", "poststart"]}],
        "poststop": [{"path": $h, "args": ["hook.sh", "poststop"]}]}' --arg h "$h"
    run_nroot 0 run "$b" true
    [ "$(cut -d' ' -f1 "$log" | tr '\n' ' ')" = "createRuntime createContainer poststart poststop " ]
    grep -q "\"bundle\":\"$b\"" "$log"
    [ "$(cat "$b/rootfs/hooklog")" = startContainer ]
}

@test "oci-run: fields nroot does not apply are one notice each" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.process.apparmorProfile = "foo"'
    run_nroot 0 run "$b" true
    [ "$(grep -c '^nroot: notice: .*apparmorProfile' <<<"$stderr")" = 1 ]
}

@test "oci-run: options the spec decides are refused with a bundle" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    run_nroot 125 run -v /tmp:/mnt "$b" true
    [[ $stderr == *"--volume cannot be used with an OCI bundle"* ]]
}

@test "oci-run: process.terminal (as -t)" {
    need_tool script
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b"
    oci_edit "$b" '.process.terminal = true'
    run script -qec "$NROOT run $b sh -c 'tty; test -t 0 && echo term'" /dev/null
    [ "$status" = 0 ]
    [[ $output == */dev/pts/0* ]]
    [[ $output == *term* ]]
}
