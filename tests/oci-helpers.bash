# SPDX-License-Identifier: Apache-2.0
# tests/oci-helpers.bash — OCI bundles and the peer runtimes (runc, crun) for
# the tests of issue 17.  Load it after helpers:
#     load helpers
#     load oci-helpers
#
#   make_busybox_bundle DIR [ARG...]   DIR/rootfs (a copy of the test rootfs:
#                     busybox + nr-test) and DIR/config.json from `runc spec
#                     --rootless` (the stored equivalent, OCI_STORED_SPEC, when
#                     runc is not installed), process.args = ARG... if given,
#                     terminal false.  OCI_SPEC_SOURCE says which it was.
#   make_umoci_bundle DIR [ARG...]     `umoci unpack --rootless` of the OCI
#                     layout tests/run makes from the same rootfs
#                     ($OCI/busybox:latest: Env FOO BAR SPACED PATH, Cmd cat
#                     unchanged.txt, WorkingDir /data); ARG... as above
#   oci_set_args DIR ARG...            process.args of DIR/config.json
#   oci_edit DIR JQ-FILTER [jq option...]   any other change to config.json
#                     (the options after the filter: --arg N V, --argjson N J)
#   run_runc ARGS...  / run_crun ARGS...    bats `run --separate-stderr` of
#                     runc --root $XDG_RUNTIME_DIR/runc ARGS (crun:
#                     --cgroup-manager=disabled too), as the test user, under
#                     the test timeout
#   oci_run_probes RUNTIME DIR [ID]    `RUNTIME run --bundle DIR ID` of the
#                     probe script: $output holds sections "## NAME" (below)
#   oci_section NAME [TEXT]            one section of a probe output
#   need_runc / need_crun / need_umoci skip with the reason when unusable
#
# The probes (OCI_PROBES), one section each, outputs comparable between
# runtimes: id, hostname, mounts (/proc/self/mountinfo as "mountpoint fstype
# mount-options", in order), caps (CapInh CapPrm CapEff CapBnd CapAmb of
# /proc/self/status), ulimit (ulimit -a), env (sorted), pwd, masked (each of
# OCI_MASKED: its type, and empty or data: what it reads or lists), exit (the probe script
# exits $OCI_PROBE_EXIT, default 0, and the section is what it would exit).
#
# The private mount namespace: this host has the hybrid cgroup layout (v1
# controllers plus cgroup2 at /sys/fs/cgroup/unified); crun refuses it, runc
# does not.  tests/run (as root) must hide that mount for the tests, as
# bench/lib.sh does: see oci_cgroup_hybrid.  runc runs either way.

OCI_PROBES=(id hostname mounts caps ulimit env pwd masked exit)
OCI_MASKED="/proc/acpi /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list /proc/sched_debug /proc/scsi /sys/firmware"

# `runc spec --rootless` of runc 1.1.5 (Debian bookworm), with the caller's
# ids: what make_busybox_bundle writes when runc is not installed
# shellcheck disable=SC2016
OCI_STORED_SPEC='{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "none", "source": "/sys",
     "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": $uid, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": $gid, "size": 1}],
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}'

# the probe script (busybox sh in the bundle's rootfs)
# shellcheck disable=SC2016
OCI_PROBE_SCRIPT='
echo "## id"; id
echo "## hostname"; hostname
echo "## mounts"
awk "{ for (i = 7; \$i != \"-\"; i++) ; print \$5, \$(i + 1), \$6 }" /proc/self/mountinfo
echo "## caps"; grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status
echo "## ulimit"; ulimit -a
echo "## env"; env | sort
echo "## pwd"; pwd
echo "## masked"
for p in $OCI_MASKED; do
    if [ -c "$p" ]; then t=char; elif [ -d "$p" ]; then t=dir; elif [ -e "$p" ]; then t=file; else t=absent; fi
    if [ -d "$p" ]; then n=$(ls -A "$p" 2>/dev/null | wc -l); else n=$(head -c 4096 "$p" 2>/dev/null | wc -c); fi
    [ "$n" = 0 ] && n=empty || n=data
    echo "$p $t $n"
done
echo "## exit"; echo "${OCI_PROBE_EXIT:-0}"
exit "${OCI_PROBE_EXIT:-0}"
'

need_runc() { command -v runc >/dev/null || skip "runc is not installed (apt-get install runc; tests/peers/oci-tools)"; }
need_umoci() { command -v umoci >/dev/null || skip "umoci is not installed (apt-get install umoci)"; }
need_crun() {
    command -v crun >/dev/null || skip "crun is not installed (apt-get install crun)"
    oci_cgroup_hybrid &&
        skip "crun refuses this host's hybrid cgroup layout: tests/run must hide /sys/fs/cgroup/unified (a private mount namespace)"
    return 0
}

# is the hybrid layout's cgroup2 mount visible here?
oci_cgroup_hybrid() {
    [ -d /sys/fs/cgroup/memory ] && awk '$5 == "/sys/fs/cgroup/unified" { f = 1 } END { exit !f }' /proc/self/mountinfo
}

oci_edit() {
    local dir=$1 filter=$2
    shift 2
    # (the file on stdin: after --args every word is a positional argument)
    jq "$filter" "$@" <"$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

oci_set_args() {
    local dir=$1
    shift
    # (not jq --args: jq would take an argument "-c" for its own option)
    local json a
    json=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -s .) || return 1
    oci_edit "$dir" '.process.args = $a' --argjson a "$json"
}

make_busybox_bundle() {
    local dir=$1
    shift
    need_tool jq
    mkdir -p "$dir" || return 1
    cp -a "$IMG" "$dir/rootfs" || return 1
    if command -v runc >/dev/null; then
        (cd "$dir" && runc spec --rootless) || return 1
        OCI_SPEC_SOURCE="runc spec --rootless"
    else
        jq -n --argjson uid "$(id -u)" --argjson gid "$(id -g)" "$OCI_STORED_SPEC" >"$dir/config.json" || return 1
        OCI_SPEC_SOURCE=stored
    fi
    oci_edit "$dir" '.process.terminal = false' || return 1
    [ $# -eq 0 ] || oci_set_args "$dir" "$@"
}

make_umoci_bundle() {
    local dir=$1 layout=$BATS_TEST_TMPDIR/umoci-layout
    shift
    need_umoci
    need_oci
    need_tool jq
    # a copy: umoci may write to the layout it reads (locks, GC)
    rm -rf "$layout" && cp -a "$OCI/busybox" "$layout" || return 1
    umoci --log error unpack --rootless --image "$layout:latest" "$dir" || return 1
    oci_edit "$dir" '.process.terminal = false' || return 1
    [ $# -eq 0 ] || oci_set_args "$dir" "$@"
}

# runc_cmd / crun_cmd: the command line of each runtime, rootless
runc_cmd() { echo runc --root "$XDG_RUNTIME_DIR/runc"; }
crun_cmd() { echo crun --root "$XDG_RUNTIME_DIR/crun" --cgroup-manager=disabled; }

run_runc() {
    # shellcheck disable=SC2046
    run --separate-stderr timeout -k 5 "$NROOT_TEST_TIMEOUT" $(runc_cmd) "$@"
}
run_crun() {
    # shellcheck disable=SC2046
    run --separate-stderr timeout -k 5 "$NROOT_TEST_TIMEOUT" $(crun_cmd) "$@"
}

# oci_run_probes RUNTIME DIR [ID]: the probes in DIR's container under
# RUNTIME (runc or crun); the bundle's args are replaced by the probe script
oci_run_probes() {
    local rt=$1 dir=$2 id=${3:-probe-$$-$RANDOM}
    oci_edit "$dir" '.process.args = ["/bin/sh", "-c", $s]
        | .process.env += ["OCI_MASKED=" + $m, "OCI_PROBE_EXIT=" + $x]' \
        --arg s "$OCI_PROBE_SCRIPT" --arg m "$OCI_MASKED" --arg x "${OCI_PROBE_EXIT:-0}" || return 1
    "run_$rt" run --bundle "$dir" "$id"
}

# oci_section NAME [TEXT]: the lines of section NAME of a probe output
# (default $output)
oci_section() {
    local text=${2-$output}
    awk -v s="## $1" '$0 == s { on = 1; next } /^## / { on = 0 } on' <<<"$text"
}

# the teardown of files that create containers: every runc and crun
# container under this test's roots is deleted
oci_teardown_containers() {
    local rt c
    for rt in runc crun; do
        command -v "$rt" >/dev/null || continue
        for c in $($(${rt}_cmd) list -q 2>/dev/null); do
            timeout 20 $(${rt}_cmd) delete --force "$c" >/dev/null 2>&1
        done
    done
    return 0
}

# ---- `nroot oci` tests (oci-cli, oci-exec, oci-runtime): a state root per test

oci_cli_setup() {
    OCIROOT=$BATS_TEST_TMPDIR/ociroot
    B=$BATS_TEST_TMPDIR/b
}

# every container the test left under its root, deleted by force
oci_cli_teardown() {
    local id
    for id in $("$NROOT" oci --root "$OCIROOT" list -q 2>/dev/null); do
        "$NROOT" oci --root "$OCIROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
    oci_teardown_containers
}

oci() { "$NROOT" oci --root "$OCIROOT" "$@"; }

# the container keeps create's stdio (as runc's): never a pipe bats waits on
ocic() { oci "$@" </dev/null >>"$BATS_TEST_TMPDIR/ctr-out" 2>&1; }

status_of() { oci state "$1" | jq -r .status; }

# wait (5 s at most) until container $1 is $2
wait_status() {
    local i
    for i in $(seq 50); do
        [ "$(status_of "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    fail "container $1 is $(status_of "$1"), not $2"
}
