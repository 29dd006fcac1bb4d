# SPDX-License-Identifier: Apache-2.0
# bench/lib.sh — what bench/startup, bench/import, bench/exec, bench/pull and bench/slurm share: the root setup
# (packages, the cached rootfs and its tarball, the bench user), the private
# mount namespace, running as the bench user, the results directory and the
# nroot snapshot.  Sourced by them, not run.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)/$(basename "${BASH_SOURCE[1]}")  # re-executed as root
BENCH_NAME=bench/$(basename "$SELF")                                             # for messages

NROOT=${NROOT:-$REPO/nroot}
NROOT_ARGS=${NROOT_ARGS:-}          # extra options for `nroot run`, e.g. --userns=single
BENCH_DIR=${BENCH_DIR:-/var/tmp/nroot-bench}
BENCH_USER=${BENCH_USER:-nrbench}
SUITE=${SUITE:-bookworm}
OUT=${OUT:-}
ROOTFS=${ROOTFS:-$BENCH_DIR/rootfs}
TARBALL=$BENCH_DIR/rootfs.tar

# per tool (or row): its command, the environment it runs with, its outcome
declare -A CMD=() ENVS=() STATUS=() PREP=()

say() { printf '== %s\n' "$*" >&2; }
warn() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }

# parse_args OPTION=VARIABLE... -- ARG...: --OPTION VALUE and --OPTION=VALUE
# set VARIABLE; -h and --help print the caller's usage; --inner-stage (the
# re-exec inside the mount namespace) sets INNER=1.
parse_args() {
    local -A var_of=()
    local name value n
    while [ "$1" != -- ]; do var_of[${1%%=*}]=${1#*=}; shift; done
    shift
    INNER=0
    while [ $# -gt 0 ]; do
        case $1 in
            --inner-stage) INNER=1; shift; continue ;;
            -h|--help) usage; exit 0 ;;
            --*=*) name=${1%%=*}; value=${1#*=}; n=1 ;;
            --*) name=$1; value=${2-}; n=2 ;;
            *) name=$1 ;;
        esac
        if [ -z "${var_of[${name#--}]:-}" ]; then
            echo "$BENCH_NAME: unknown argument '$1'" >&2; usage >&2; exit 2
        fi
        [ $# -ge $n ] || { echo "$BENCH_NAME: $1 needs a value" >&2; exit 2; }
        printf -v "${var_of[${name#--}]}" '%s' "$value"
        shift $n
    done
}

# ---------------------------------------------------------------- root setup
# Everything that needs root: packages, the rootfs, the bench user.
# Arguments: COMMAND=PACKAGE pairs, installed when COMMAND is missing.
# With NEED_TARBALL=1 the tarball is made even without podman.
setup_as_root() {
    local missing=() c
    for c in "$@"; do
        command -v "${c%%=*}" >/dev/null 2>&1 || missing+=("${c#*=}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing: ${missing[*]}"
        apt-get update -qq >/dev/null 2>&1
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
            # one unavailable package must not block the others
            for c in "${missing[@]}"; do
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$c" >/dev/null 2>&1 ||
                    warn "could not install $c"
            done
        fi
    fi

    mkdir -p "$BENCH_DIR" && chmod 755 "$BENCH_DIR"

    # The rootfs: built once, reused.  Written into a fresh directory and
    # renamed, never untarred over a tree that was just deleted.
    if [ ! -x "$ROOTFS/bin/true" ]; then
        if [ "$ROOTFS" != "$BENCH_DIR/rootfs" ]; then
            warn "ROOTFS=$ROOTFS has no /bin/true"; return 1
        fi
        local tmp=$BENCH_DIR/rootfs.new.$$
        say "building $SUITE minbase rootfs with mmdebstrap (once, cached in $BENCH_DIR)"
        if ! mmdebstrap --variant=minbase "$SUITE" "$tmp" ${MIRROR:+"$MIRROR"} \
                >"$BENCH_DIR/mmdebstrap.log" 2>&1; then
            warn "mmdebstrap failed, see $BENCH_DIR/mmdebstrap.log"; rm -rf "$tmp"; return 1
        fi
        mv "$tmp" "$ROOTFS" && date +%Y%m%d%H%M%S >"$BENCH_DIR/rootfs.id"
        rm -f "$TARBALL"
    fi
    [ -s "$BENCH_DIR/rootfs.id" ] || date +%Y%m%d%H%M%S >"$BENCH_DIR/rootfs.id"
    # A tarball for `podman import` (and bench/import), made as root: some
    # files of the rootfs (/etc/shadow, ...) are unreadable to the bench user.
    if [ ! -s "$TARBALL" ] && { [ "${NEED_TARBALL:-0}" = 1 ] || command -v podman >/dev/null; }; then
        tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.new" . && mv "$TARBALL.new" "$TARBALL" &&
            chmod 644 "$TARBALL"
    fi

    # The unprivileged user the benchmark runs as, with subordinate ids.
    if ! id "$BENCH_USER" >/dev/null 2>&1; then
        say "creating user $BENCH_USER"
        useradd -m -s /bin/bash "$BENCH_USER" || return 1
    fi
    local uid home
    uid=$(id -u "$BENCH_USER"); home=$(getent passwd "$BENCH_USER" | cut -d: -f6)
    local f
    for f in /etc/subuid /etc/subgid; do
        touch "$f"
        if ! grep -qE "^($BENCH_USER|$uid):" "$f"; then
            local start
            start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' /etc/subuid /etc/subgid)
            echo "$BENCH_USER:$start:65536" >>"$f"
        fi
    done
    install -d -m 700 -o "$uid" -g "$(id -g "$BENCH_USER")" "/run/user/$uid"
    # podman: native kernel overlay.  /dev/fuse is root-only here, so without
    # this podman silently picks vfs, which copies the whole image per run.
    if [ ! -e "$home/.config/containers/storage.conf" ] &&
       [ ! -d "$home/.local/share/containers/storage" ]; then
        runuser -u "$BENCH_USER" -- mkdir -p "$home/.config/containers"
        printf '[storage]\ndriver = "overlay"\n' |
            runuser -u "$BENCH_USER" -- tee "$home/.config/containers/storage.conf" >/dev/null
    fi
    install -d -m 755 -o "$uid" -g "$(id -g "$BENCH_USER")" "$BENCH_DIR/$BENCH_USER"
}

# crun and podman refuse the hybrid cgroup layout (v1 controllers plus a
# cgroup2 at /sys/fs/cgroup/unified): run in a private mount namespace
# without that mount.  Nothing here leaks to the host's mounts.  The caller
# exports the settings the second stage needs.
enter_namespace() {
    exec unshare --mount --propagation private -- bash "$SELF" --inner-stage
}

# ---------------------------------------------------------------- as the bench user
# The bench user's /run/user/UID as a login session has it from
# systemd-logind: a tmpfs of its own, mode 0700.  This machine keeps /run
# on its disk (ext4 mounted with discard); a directory there would time
# that disk (nroot makes a directory and two small files per container and
# removes them at its end, each a block allocated, freed and discarded:
# ~0.25 ms a run here), which a logind session does not have.
# BENCH_RUNTIME=disk keeps the directory on the disk.  Mounted only in the
# benchmark's private mount namespace; it goes with it.
runtime_tmpfs() {
    [ "${BENCH_RUNTIME:-tmpfs}" = tmpfs ] || return 0
    [ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || return 0
    mountpoint -q "$B_RUNTIME" && return 0
    mount -t tmpfs -o "nosuid,nodev,mode=0700,uid=$B_UID,gid=$B_GID,size=10%" \
        "nrbench-runtime" "$B_RUNTIME" ||
        warn "could not mount a tmpfs on $B_RUNTIME: the runtime directory stays on the disk"
}

# Sets B_UID, B_RUNTIME, WORK, AS_USER (and as root B_GID, B_HOME, USER_ENV).
become_bench_user() {
    if [ "$(id -u)" = 0 ]; then
        if mountpoint -q /sys/fs/cgroup/unified && [ -d /sys/fs/cgroup/memory ]; then
            umount /sys/fs/cgroup/unified || warn "could not unmount /sys/fs/cgroup/unified"
        fi
        # a shared / (only inside this namespace) keeps podman from warning
        mount --make-rshared / 2>/dev/null
        B_UID=$(id -u "$BENCH_USER"); B_GID=$(id -g "$BENCH_USER")
        B_HOME=$(getent passwd "$BENCH_USER" | cut -d: -f6)
        B_RUNTIME=/run/user/$B_UID
        runtime_tmpfs
        USER_ENV=(env -i HOME="$B_HOME" USER="$BENCH_USER" LOGNAME="$BENCH_USER" LANG=C.UTF-8
                  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                  XDG_RUNTIME_DIR="$B_RUNTIME")
        AS_USER=(setpriv --reuid="$B_UID" --regid="$B_GID" --init-groups "${USER_ENV[@]}")
        WORK=$BENCH_DIR/$BENCH_USER
    else
        BENCH_USER=$(id -un); B_UID=$(id -u)
        B_RUNTIME=${XDG_RUNTIME_DIR:-}
        if [ -z "$B_RUNTIME" ] || [ ! -w "$B_RUNTIME" ]; then
            B_RUNTIME=${TMPDIR:-/tmp}/nroot-bench-runtime-$B_UID
            mkdir -p "$B_RUNTIME" && chmod 700 "$B_RUNTIME"; export XDG_RUNTIME_DIR=$B_RUNTIME
        fi
        export USER=${USER:-$BENCH_USER}
        AS_USER=(env)
        WORK=$BENCH_DIR/$BENCH_USER
        mkdir -p "$WORK" 2>/dev/null || WORK=${TMPDIR:-/tmp}/nroot-bench-$B_UID
        mkdir -p "$WORK" || exit 1
    fi
}
u() { "${AS_USER[@]}" "$@"; }

# The results directory $OUT (default $WORK/results/DATE), writable by the
# bench user; then the tools every benchmark needs.
make_out_dir() {
    [ -n "$OUT" ] || OUT=$WORK/results/$(date +%Y%m%d-%H%M%S)
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$OUT" && chown "$B_UID:$B_GID" "$OUT"
    fi
    u mkdir -p "$OUT" && u test -w "$OUT" || { warn "cannot write to $OUT"; exit 1; }

    local c
    for c in hyperfine jq; do
        command -v $c >/dev/null || { warn "$c is required"; exit 1; }
    done
}

# Benchmark a snapshot of the nroot binary (and its helpers nroot-unpack,
# nroot-pull and nroot-squashfs, which nroot finds next to itself): a
# rebuild during the run cannot break it, and the bench user can reach it wherever the repo lives.  NROOT_SRC keeps the
# original path.
snapshot_nroot() {
    NROOT_SRC=$NROOT
    if [ -f "$NROOT" ] && cp "$NROOT" "$OUT/nroot" && chmod 755 "$OUT/nroot"; then
        NROOT=$OUT/nroot
        local helper
        for helper in nroot-unpack nroot-ocispec nroot-pull nroot-squashfs; do
            if [ -f "$(dirname "$NROOT_SRC")/$helper" ] &&
               cp "$(dirname "$NROOT_SRC")/$helper" "$OUT/$helper"; then
                chmod 755 "$OUT/$helper"
            fi
        done
    fi
    # NROOT_BEFORE: an older build to measure beside it in the same run
    # (the nroot-before rows), copied the same way into OUT/before/
    if [ -n "${NROOT_BEFORE:-}" ] && [ -f "$NROOT_BEFORE" ] && mkdir -p "$OUT/before" &&
       cp "$NROOT_BEFORE" "$OUT/before/nroot" && chmod 755 "$OUT/before" "$OUT/before/nroot"; then
        NROOT_BEFORE_SRC=$NROOT_BEFORE
        NROOT_BEFORE=$OUT/before/nroot
    else
        NROOT_BEFORE=
    fi
}

# rootless podman keeps a pause process (catatonit -P) holding its user
# namespace; the ones a benchmark starts are stopped at the end
pause_pids() { pgrep -u "$B_UID" -f '^(catatonit -P|podman pause)' 2>/dev/null | sort; }
stop_new_pause() {   # the pause pids seen before the benchmark
    local pid
    for pid in $(comm -13 <(printf '%s\n' $1) <(pause_pids)); do
        kill "$pid" 2>/dev/null
    done
}

# last meaningful line of a log, for "failed: <reason>"
reason_of() {
    local r
    r=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | grep -viE '^(time=.*level=warning|warning)' | tail -n 1)
    [ -n "$r" ] || r=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1)
    printf '%s' "${r:-$2}" | cut -c1-160
}

# hyperfine -N on CMD[TOOL], as the bench user, with the environment
# ENVS[TOOL] (if any) and the hyperfine options given; results in
# $OUT/NAME.json, the outcome in STATUS[NAME]: ok, or "failed: <reason>".
measure() {   # tool name runs warmup [hyperfine option...]
    local t=$1 name=$2 runs=$3 warmup=$4
    shift 4
    if u env ${ENVS[$t]:-} hyperfine -N --style basic --warmup "$warmup" --runs "$runs" "$@" \
            --command-name "$name" --export-json "$OUT/$name.json" "${CMD[$t]}" \
            </dev/null >"$OUT/$name.hyperfine.log" 2>&1; then
        STATUS[$name]=ok
    else
        STATUS[$name]="failed: hyperfine: $(reason_of "$OUT/$name.hyperfine.log" error)"
        say "$name: ${STATUS[$name]}"
    fi
}

# ---------------------------------------------------------------- timed runs in rounds
# On a shared machine other work comes in bursts, so the tools take turns:
# round after round, one hyperfine call per tool (its order rotating each
# round), the warm-up runs in the first round; the rounds' times are then
# merged into $OUT/NAME.json with the statistics hyperfine would give.
# A tool's PREP (above) is its hyperfine --prepare command, if any.
merge_rounds() {   # name json...: one hyperfine export from several
    jq -s --arg name "$1" '[.[].results[0]] as $r | ($r | map(.times) | add) as $t
        | ($t | sort) as $s | ($t | length) as $n | ($t | add / $n) as $mean
        | {results: [{command: $name, mean: $mean,
            stddev: (if $n > 1 then ($t | map((. - $mean) * (. - $mean)) | add / ($n - 1) | sqrt) else 0 end),
            median: (if $n % 2 == 1 then $s[($n - 1) / 2] else ($s[$n / 2 - 1] + $s[$n / 2]) / 2 end),
            min: $s[0], max: $s[-1],
            user: ($r | map(.user * (.times | length)) | add / $n),
            system: ($r | map(.system * (.times | length)) | add / $n),
            times: $t, exit_codes: ($r | map(.exit_codes) | add), rounds: ($r | length)}]}' \
        "${@:2}" >"$OUT/$1.json.new" && mv "$OUT/$1.json.new" "$OUT/$1.json"
}
rounds() {   # prefix rounds runs warmup tool...: measures PREFIX-TOOL (TOOL if no prefix)
    local prefix=$1 nr=$2 runs=$3 warmup=$4 r i t n name
    shift 4
    local tools=("$@") k=$#
    u mkdir -p "$OUT/rounds" || return
    for (( r = 1; r <= nr; r++ )); do
        n=$(( runs / nr + (r <= runs % nr ? 1 : 0) ))
        [ "$n" -gt 0 ] || continue
        for (( i = 0; i < k; i++ )); do
            t=${tools[(i + r - 1) % k]}; name=${prefix:+$prefix-}$t
            [ "${STATUS[$name]:-ok}" = ok ] || continue
            measure "$t" "rounds/$name.$r" "$n" $(( r == 1 ? warmup : 0 )) \
                ${PREP[$t]:+--prepare "${PREP[$t]}"}
            STATUS[$name]=${STATUS[rounds/$name.$r]}
        done
    done
    local files
    for t in "${tools[@]}"; do
        name=${prefix:+$prefix-}$t
        [ "${STATUS[$name]:-}" = ok ] || continue
        files=()
        for (( r = 1; r <= nr; r++ )); do
            [ -f "$OUT/rounds/$name.$r.json" ] && files+=("$OUT/rounds/$name.$r.json")
        done
        merge_rounds "$name" "${files[@]}" ||
            STATUS[$name]="failed: could not merge the rounds' results"
    done
}

# a statistic of hyperfine's JSON export, in milliseconds
ms() { jq -r "(.results[0].$1 // 0) * 1000" "$2"; }

# the header lines about the machine
machine_lines() {
    echo "kernel $(uname -r), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "load average before: $(cut -d" " -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
    if [ -n "${B_RUNTIME:-}" ]; then
        echo "runtime directory $B_RUNTIME on $(stat -f -c %T "$B_RUNTIME" 2>/dev/null || echo '?')"
    fi
}
nroot_version() {   # " nroot VERSION (PATH);" if there is a binary
    [ -x "$NROOT" ] && printf ' nroot %s (%s);' "$("$NROOT" --version 2>/dev/null | head -n1 | awk '{print $NF}')" "$NROOT_SRC"
}
