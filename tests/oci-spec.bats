#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# oci-spec.bats — nroot-unpack --oci-spec (src/unpack/ocispec.c, issue 17
# part A): an OCI bundle's config.json checked and written as the records
# of HACKING.md, "The OCI records" on fd 3, its seccomp program on fd 5.  The helper runs
# directly, with fd 4 not a socket: its error is printed (one line, 125).

load helpers

UNPACK=${NROOT_UNPACK:-$(dirname "$NROOT")/nroot-unpack}

# run the helper on bundle $1: records in $OUT/rec, the program in $OUT/bpf
oci_spec() {
    OUT=$BATS_TEST_TMPDIR/out
    rm -rf "$OUT" && mkdir -p "$OUT"
    echo "\$ nroot-unpack --oci-spec $1"
    run --separate-stderr timeout 20 "$UNPACK" --oci-spec --caps=800405fb "$1" \
        3>"$OUT/rec" 4>/dev/null 5>"$OUT/bpf"
}

# a bundle at $1 with an empty rootfs and the smallest config nroot runs,
# changed by the jq filter $2
minimal_bundle() {
    local b=$1 filter=${2:-.}
    mkdir -p "$b/rootfs"
    jq "$filter" >"$b/config.json" <<'EOF'
{
  "ociVersion": "1.2.0",
  "root": {"path": "rootfs"},
  "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
}
EOF
}

@test "oci-spec: a minimal config.json gives the least records" {
    need_tool jq
    local b=$BATS_TEST_TMPDIR/b
    minimal_bundle "$b"
    oci_spec "$b"
    [ "$status" = 0 ] || fail "status $status: $stderr"
    [ -z "$stderr" ] || fail "stderr: $stderr"
    b=$(realpath "$b")
    assert_equal "$(cat "$OUT/rec")" "$(printf '%s\n' \
        "version	1.2.0" "bundle	$b" "root	$b/rootfs	rw" "arg	sh" "cwd	/" \
        "user	0	0	-" "terminal	0	0	0" "nnp	0" "mount	/proc	proc	proc" \
        "ns	pid	" "ns	mount	")"
    [ ! -s "$OUT/bpf" ] || fail "a seccomp program without linux.seccomp"
}

@test "oci-spec: a config.json with every field gives every record, warnings for the rest" {
    need_tool jq
    local b=$BATS_TEST_TMPDIR/full
    mkdir -p "$b/rootfs"
    cat >"$b/config.json" <<'EOF'
{
  "ociVersion": "1.2.0",
  "frob": {"x": 1},
  "root": {"path": "rootfs", "readonly": true},
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [5, 6]},
    "args": ["sh", "-c", "100%\tdone\nnext\r"],
    "env": ["PATH=/bin:/usr/bin", "TERM=xterm"],
    "cwd": "/work",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_KILL"],
      "effective": ["CAP_KILL"],
      "inheritable": [],
      "permitted": ["CAP_KILL"],
      "ambient": ["CAP_KILL"]
    },
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024},
      {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}
    ],
    "noNewPrivileges": true,
    "oomScoreAdj": -500,
    "apparmorProfile": "docker-default",
    "selinuxLabel": "",
    "scheduler": {"policy": "SCHED_OTHER"},
    "ioPriority": {"class": "IOPRIO_CLASS_IDLE"}
  },
  "hostname": "box",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "source": "/srv/data", "options": ["rbind", "ro"],
     "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]},
    {"destination": "/tmp", "type": "tmpfs"}
  ],
  "hooks": {
    "prestart": [{"path": "/bin/pre"}],
    "createRuntime": [{"path": "/bin/cr", "args": ["cr", "--flag"], "env": ["A=1"], "timeout": 5}],
    "poststop": [{"path": "/bin/stop"}]
  },
  "annotations": {"z": "last", "a.b": "first"},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"},
                   {"type": "mount"}, {"type": "user"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "cgroup"}, {"type": "time"}],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1},
                    {"containerID": 1, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "timeOffsets": {"monotonic": {"secs": -3600, "nanosecs": 0},
                    "boottime": {"secs": 86400, "nanosecs": 500}},
    "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0},
                {"type": "p", "path": "/dev/fifo"}],
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.domainname": "x"},
    "rootfsPropagation": "rslave",
    "cgroupsPath": "/nroot/x",
    "resources": {"memory": {"limit": 1000000}, "devices": []},
    "intelRdt": {"closID": "x"},
    "personality": {"domain": "LINUX32"},
    "seccomp": {
      "defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/agent.sock",
      "syscalls": [
        {"names": ["mkdir", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
      ]
    }
  }
}
EOF
    oci_spec "$b"
    [ "$status" = 0 ] || fail "status $status: $stderr"
    b=$(realpath "$b")
    # the seccomp record names libseccomp's version: matched apart
    grep -qxE 'seccomp	2	1 syscall name unknown to libseccomp [0-9.]+, ignored: no_such_syscall' \
        "$OUT/rec" || fail "no seccomp record: $(grep seccomp "$OUT/rec")"
    diff -u <(cat <<EOF
version	1.2.0
bundle	$b
root	$b/rootfs	ro
arg	sh
arg	-c
arg	100%25%09done%0Anext%0D
env	PATH=/bin:/usr/bin
env	TERM=xterm
cwd	/work
user	1000	100	18
group	5
group	6
terminal	1	24	80
cap	bounding	CAP_CHOWN
cap	bounding	CAP_KILL
cap	effective	CAP_KILL
cap	permitted	CAP_KILL
cap	ambient	CAP_KILL
caps	given
rlimit	RLIMIT_NOFILE	1024	4096
rlimit	RLIMIT_CORE	0	18446744073709551615
nnp	1
oom	-500
hostname	box
domainname	example.org
mount	/proc	proc	proc
mount	/data		/srv/data
mopt	rbind
mopt	ro
mount	/tmp	tmpfs	
ns	pid	
ns	network	/proc/1/ns/net
ns	mount	
ns	user	
ns	ipc	
ns	uts	
ns	cgroup	
ns	time	
uidmap	0	1000	1
uidmap	1	100000	65536
gidmap	0	1000	1
masked	/proc/kcore
readonly	/proc/sys
sysctl	kernel.domainname	x
sysctl	net.ipv4.ip_forward	1
device	c	/dev/fuse	10	229	438	0	-
device	p	/dev/fifo	0	0	-	-	-
timeoffset	boottime	86400	500
timeoffset	monotonic	-3600	0
propagation	rslave
hook	prestart	/bin/pre	0
hook	createRuntime	/bin/cr	5
hookarg	cr
hookarg	--flag
hookenv	A=1
hook	poststop	/bin/stop	0
annotation	a.b	first
annotation	z	last
warn	config.json: frob is not known to nroot, ignored
warn	config.json: process.apparmorProfile is ignored (no AppArmor rootless)
warn	config.json: process.scheduler is ignored (not applied by nroot)
warn	config.json: process.ioPriority is ignored (not applied by nroot)
warn	config.json: mounts[1].uidMappings is ignored (id-mapped mounts are not supported)
warn	config.json: linux.cgroupsPath is ignored (nroot manages no cgroups)
warn	config.json: linux.intelRdt is ignored (no Intel RDT rootless)
warn	config.json: linux.personality is ignored (not applied by nroot)
warn	config.json: linux.resources.memory is ignored (nroot manages no cgroups)
warn	config.json: linux.seccomp.listenerPath is ignored (no seccomp agent in nroot)
EOF
    ) <(grep -v '^seccomp	' "$OUT/rec") || fail "the records differ (above)"
    # the program: whole struct sock_filter instructions
    local size
    size=$(stat -c %s "$OUT/bpf")
    [ "$size" -gt 0 ] && [ $((size % 8)) = 0 ] || fail "the seccomp program has $size bytes"
}

@test "oci-spec: the config runc spec --rootless makes is read whole, nothing ignored" {
    command -v runc >/dev/null || skip "runc is not installed (issue 17's peers come from part T)"
    need_tool jq
    local b=$BATS_TEST_TMPDIR/runc
    mkdir -p "$b/rootfs"
    (cd "$b" && runc spec --rootless) || fail "runc spec --rootless failed"
    oci_spec "$b"
    [ "$status" = 0 ] || fail "status $status: $stderr"
    b=$(realpath "$b")
    local c=$b/config.json rec=$OUT/rec
    grep -qx "version	$(jq -r .ociVersion "$c")" "$rec" || fail "no version record"
    grep -qx "root	$b/rootfs	ro" "$rec" || fail "no root record"
    grep -qx "uidmap	0	$(id -u)	1" "$rec" || fail "no uid map of the user"
    grep -qx "gidmap	0	$(id -g)	1" "$rec" || fail "no gid map of the user"
    grep -qx "caps	given" "$rec" || fail "no caps record"
    # as many records as the config has entries
    assert_equal "$(grep -c '^arg	' "$rec")" "$(jq '.process.args | length' "$c")"
    assert_equal "$(grep -c '^env	' "$rec")" "$(jq '.process.env | length' "$c")"
    assert_equal "$(grep -c '^mount	' "$rec")" "$(jq '.mounts | length' "$c")"
    assert_equal "$(grep -c '^mopt	' "$rec")" "$(jq '[.mounts[].options // [] | length] | add' "$c")"
    assert_equal "$(grep -c '^ns	' "$rec")" "$(jq '.linux.namespaces | length' "$c")"
    assert_equal "$(grep -c '^masked	' "$rec")" "$(jq '.linux.maskedPaths | length' "$c")"
    assert_equal "$(grep -c '^readonly	' "$rec")" "$(jq '.linux.readonlyPaths | length' "$c")"
    assert_equal "$(grep -c '^cap	' "$rec")" \
        "$(jq '[.process.capabilities[] | length] | add' "$c")"
    # nroot applies everything runc's rootless spec holds
    run grep '^warn' "$rec"
    [ -z "$output" ] || fail "warnings for runc's spec: $output"
}

@test "oci-spec: the bundle given by a relative path, root.path absolute" {
    need_tool jq
    local b=$BATS_TEST_TMPDIR/rel
    mkdir -p "$BATS_TEST_TMPDIR/elsewhere"
    minimal_bundle "$b" ".root.path = \"$BATS_TEST_TMPDIR/elsewhere\""
    cd "$BATS_TEST_TMPDIR"
    oci_spec rel
    [ "$status" = 0 ] || fail "status $status: $stderr"
    grep -qx "bundle	$(realpath "$b")" "$OUT/rec" || fail "bundle not absolute: $(cat "$OUT/rec")"
    grep -qx "root	$(realpath "$BATS_TEST_TMPDIR/elsewhere")	rw" "$OUT/rec" ||
        fail "root: $(grep ^root "$OUT/rec")"
}

# each bad bundle: one line naming config.json (and the field), 125,
# nothing written on fd 3 or fd 5
@test "oci-spec: each bad config.json is one line, 125, nothing written" {
    need_tool jq
    local d=$BATS_TEST_TMPDIR failed=() name filter want
    mkdir -p "$d/outside"
    while IFS='#' read -r name filter want; do
        [ -n "$name" ] || continue
        local b=$d/bad-$name
        minimal_bundle "$b" "$filter"
        oci_spec "$b"
        if [ "$status" != 125 ] || [ ${#stderr_lines[@]} != 1 ] ||
            [[ $stderr != "nroot: error: config.json: "*"$want"* ]] ||
            [ -s "$OUT/rec" ] || [ -s "$OUT/bpf" ]; then
            failed+=("$name: status $status, records $(wc -c <"$OUT/rec") bytes, stderr: $stderr")
        fi
    done <<EOF
version-missing#del(.ociVersion)#ociVersion is missing
version-major#.ociVersion = "2.0.0"#ociVersion '2.0.0' is not supported
version-minor#.ociVersion = "1.3.0"#ociVersion '1.3.0' is not supported
version-junk#.ociVersion = "one"#ociVersion 'one' is not a version
root-missing#del(.root)#root is missing
root-dotdot#.root.path = "../outside"#root.path '../outside' leads out of the bundle
root-dotdot-deep#.root.path = "rootfs/../../outside"#leads out of the bundle
root-absent#.root.path = "nothere"#root.path 'nothere'
process-missing#del(.process)#process is missing
args-empty#.process.args = []#process.args is missing or empty
args-not-strings#.process.args = [1]#process.args[0] must be a string
cwd-relative#.process.cwd = "work"#process.cwd 'work' is not an absolute path
cwd-missing#del(.process.cwd)#process.cwd is missing
env-no-eq#.process.env = ["JUSTNAME"]#process.env[0] 'JUSTNAME' is not KEY=VALUE
ns-unknown#.linux.namespaces += [{"type": "net"}]#linux.namespaces[2].type: unknown namespace 'net'
ns-twice#.linux.namespaces += [{"type": "pid"}]#the pid namespace is given twice
idmap-zero#.linux.uidMappings = [{"containerID": 0, "hostID": 1000, "size": 0}]#linux.uidMappings[0].size is 0
idmap-overflow#.linux.gidMappings = [{"containerID": 4294967295, "hostID": 1000, "size": 2}]#linux.gidMappings[0]: the range goes past the last id
idmap-many#.linux.uidMappings = [range(4) | {"containerID": ., "hostID": ., "size": 1}]#nroot maps at most 3
mount-no-dst#.mounts += [{"type": "tmpfs"}]#mounts[1].destination is missing
mount-relative#.mounts += [{"destination": "tmp", "type": "tmpfs"}]#mounts[1].destination 'tmp' is not an absolute path
mounts-too-many#.mounts = [range(4097) | {"destination": "/m"}]#mounts has more than 4096 entries
cap-unknown#.process.capabilities.ambient += ["CAP_TEST"]#process.capabilities.ambient: unknown capability 'CAP_TEST'
rlimit-unknown#.process.rlimits = [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]#process.rlimits[0].type: unknown resource 'RLIMIT_FOO'
hook-relative#.hooks = {"poststart": [{"path": "bin/hook"}]}#hooks.poststart[0].path 'bin/hook' is not an absolute path
hook-timeout#.hooks = {"poststop": [{"path": "/bin/true", "timeout": 0}]}#hooks.poststop[0].timeout must be above 0
device-type#.linux.devices = [{"type": "x", "path": "/dev/x", "major": 1, "minor": 1}]#linux.devices[0].type 'x' is not c, b, u or p
propagation#.linux.rootfsPropagation = "sideways"#unknown propagation 'sideways'
seccomp-action#.linux.seccomp = {"defaultAction": "SCMP_ACT_NOPE"}#linux.seccomp: defaultAction: unknown action 'SCMP_ACT_NOPE'
not-object#[1, 2]#not a JSON object
EOF
    # the files themselves
    local b=$d/bad-none
    mkdir -p "$b"
    oci_spec "$b"
    [[ $status = 125 && $stderr == "nroot: error: config.json: cannot read '$(realpath "$b")/config.json': No such file or directory" ]] ||
        failed+=("no config.json: $status $stderr")
    b=$d/bad-dir && mkdir -p "$b/config.json"
    oci_spec "$b"
    [[ $status = 125 && $stderr == *"config.json' is not a regular file" ]] || failed+=("dir: $stderr")
    b=$d/bad-json && mkdir -p "$b" && echo '{"ociVersion": ' >"$b/config.json"
    oci_spec "$b"
    [[ $status = 125 && $stderr == "nroot: error: config.json: not valid JSON"* && ${#stderr_lines[@]} = 1 ]] ||
        failed+=("invalid JSON: $stderr")
    b=$d/bad-big && minimal_bundle "$b" && head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >>"$b/config.json"
    oci_spec "$b"
    [[ $status = 125 && $stderr == "nroot: error: config.json: larger than 4 MiB" ]] || failed+=("big: $stderr")
    b=$d/bad-nul && minimal_bundle "$b" '.process.args = ["a\u0000b"]'
    oci_spec "$b"
    [[ $status = 125 && $stderr == "nroot: error: config.json: holds a NUL character" ]] || failed+=("NUL: $stderr")
    b=$d/bad-deep && minimal_bundle "$b" ".annotations = $(printf '[%.0s' {1..70})$(printf ']%.0s' {1..70})"
    oci_spec "$b"
    [[ $status = 125 && $stderr == *"nested more than"* ]] || failed+=("deep: $stderr")
    # a rootfs that is a symlink out of the bundle
    b=$d/bad-link && minimal_bundle "$b" && rmdir "$b/rootfs" && ln -s "$d/outside" "$b/rootfs"
    oci_spec "$b"
    [[ $status = 125 && $stderr == *"root.path 'rootfs' leads out of the bundle" ]] || failed+=("symlink: $stderr")
    b=$d/bad-link2 && minimal_bundle "$b" && rmdir "$b/rootfs" && ln -s ../outside "$b/rootfs"
    oci_spec "$b"
    [[ $status = 125 && $stderr == *"root.path 'rootfs' leads out of the bundle" ]] || failed+=("symlink ..: $stderr")
    [ ${#failed[@]} = 0 ] || fail "$(printf '%s\n' "${failed[@]}")"
}

@test "oci-spec: a symlink inside the bundle is followed; one out of it is refused" {
    need_tool jq
    local b=$BATS_TEST_TMPDIR/link
    minimal_bundle "$b"
    mv "$b/rootfs" "$b/real" && ln -s real "$b/rootfs"
    oci_spec "$b"
    [ "$status" = 0 ] || fail "status $status: $stderr"
    grep -qx "root	$(realpath "$b")/real	rw" "$OUT/rec" || fail "root: $(grep ^root "$OUT/rec")"
}
