#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# faults.bats — nroot killed with SIGKILL at random moments of import, run,
# exec, stop and rm; a store on a full file system; many runs at once and
# one after another (issue 12, "Faults" and "Load").
#
# Every trial runs nroot under a small subreaper (built in setup_file):
# whatever nroot leaves behind when it is killed is reparented to it, so
# "no process left" is exact, not a guess from process names.  Payloads
# carry a unique marker in their argv for what lives in a container's pid
# namespace.  After each trial: no process, no mount, a following command
# on the same name or image does not wait for a lock, and the store is
# consistent; `nroot prune` then leaves no temporary file or directory.
#
# NROOT_FAULT_TRIALS (trials per operation, default 12; set, it also sweeps
# rmi and every mode) and NROOT_LOAD_RUNS (sequential runs, default 200)
# are raised by bench/faults; the figures are printed as TAP comments.

load helpers

# helpers.bash's setup, called by ours
eval "helpers_setup() $(declare -f setup | tail -n +2)"

TRIALS=${NROOT_FAULT_TRIALS:-12}
# (loops count with k: bats' run changes a variable named i)

setup_file() {
    cat >"$BATS_FILE_TMPDIR/reap.c" <<'EOF'
/* faults-reap DELAY_US GRACE_MS CMD...: become a child subreaper, run CMD,
 * SIGKILL it DELAY_US after its start unless it ended (DELAY_US < 0: never),
 * print "killed STATUS" or "exited STATUS".  Then wait up to GRACE_MS for
 * the processes CMD left (orphans are reparented here): exit 0 when none is
 * left, else print "leftover PID (STATE) CMDLINE" for each, kill them, exit 3. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    long delay = atol(argv[1]), grace = atol(argv[2]);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return 2;
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    int killed = 0, st = 0;
    if (delay >= 0) {
        int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        struct pollfd p = { .fd = pfd, .events = POLLIN };
        struct timespec ts = { delay / 1000000, (delay % 1000000) * 1000 };
        while (ppoll(&p, 1, &ts, NULL) < 0 && errno == EINTR)
            ;
        if (!(p.revents & POLLIN)) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        close(pfd);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    printf("%s %d\n", killed ? "killed" : "exited",
           WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    fflush(stdout);
    long end = now_ms() + grace;
    for (;;) {
        pid_t r = waitpid(-1, &st, WNOHANG);
        if (r > 0)
            continue;
        if (r < 0 && errno == ECHILD)
            return 0;
        if (now_ms() >= end)
            break;
        usleep(5000);
    }
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[300], buf[4096];
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *rp = strrchr(buf, ')'), state = 0;
        int ppid = 0;
        if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t m = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (m < 0)
            m = 0;
        for (ssize_t i = 0; i < m; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[m] = '\0';
        printf("leftover %s (%c) %s\n", de->d_name, state, buf);
        kill(atoi(de->d_name), SIGKILL);
    }
    if (d)
        closedir(d);
    while (waitpid(-1, &st, 0) > 0)
        ;
    return 3;
}
EOF
    gcc -O2 -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/faults-reap" "$BATS_FILE_TMPDIR/reap.c"
}

setup() {
    # the store, the runtime directory and the image files carry a unique
    # marker in their paths: every process nroot starts names one of them
    # (fuse-overlayfs, nroot-unpack) or has the marker in its argv
    MARK=nrfault$RANDOM$RANDOM$RANDOM
    BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/$MARK
    mkdir -p "$BATS_TEST_TMPDIR"
    helpers_setup
    REAP=$BATS_FILE_TMPDIR/faults-reap
    KILLED=0 EXITED=0
}

teardown() {
    teardown_containers
}

note() { echo "# $*" >&3; }

# now_us: microseconds, from bash's clock (no fork)
now_us() {
    local t=${EPOCHREALTIME/./}
    echo "$t"
}

# duration_us CMD...: how long one undisturbed CMD takes (it must succeed)
duration_us() {
    local t0 t1
    t0=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>&1 || fail "the undisturbed '$*' failed"
    t1=${EPOCHREALTIME/./}
    echo $((t1 - t0))
}

# kill_at_random SPAN_US ARGS...: nroot ARGS under the subreaper, SIGKILLed
# at a random moment of [0, SPAN_US]; fails if it left a process.  Counts
# the trials where it was killed (KILLED) and where it ended first (EXITED).
kill_at_random() {
    local span=$1 delay out
    shift
    delay=$(((RANDOM * 32768 + RANDOM) % (span + 1)))
    out=$("$REAP" "$delay" 5000 "$NROOT" "$@" 2>"$BATS_TEST_TMPDIR/trial.err" </dev/null) || {
        local rc=$?
        fail "nroot $* killed after ${delay} us: exit $rc, $([ "$rc" = 3 ] && echo "processes left behind:")
$out
stderr: $(cat "$BATS_TEST_TMPDIR/trial.err")"
    }
    case $out in
        killed*) KILLED=$((KILLED + 1)) ;;
        *) EXITED=$((EXITED + 1)) ;;
    esac
    LAST_DELAY=$delay LAST_RESULT=$out
}

# assert_no_marked_process MARKER: no live process has MARKER in its argv
# (bounded wait: a killed container's processes take a moment to go)
assert_no_marked_process() {
    local pat="${1:0:1}[${1:1:1}]${1:2}" left=
    wait_for 50 eval '[ -z "$(pgrep -f -- "$pat")" ]' && return 0
    left=$(pgrep -af -- "$pat")
    [ -z "$left" ] || fail "processes left after trial ($LAST_DELAY us, $LAST_RESULT):
$left"
}

# nothing nroot made is mounted in the test's own mount namespace
assert_no_mount() {
    ! grep -F -- "$MARK" /proc/self/mountinfo ||
        fail "a mount of the test's directories is visible outside"
}

# run_unlocked ARGS...: nroot ARGS must succeed without waiting for a lock
run_unlocked() {
    run --separate-stderr timeout -k 2 10 "$NROOT" "$@"
    if [ "$status" != 0 ] || [[ $stderr == *"waiting for another nroot"* ]]; then
        fail "after the trial ($LAST_DELAY us, $LAST_RESULT), 'nroot $*' exited $status:
$stderr"
    fi
}

# the store agrees with itself: every tree in images/ is listed by `nroot
# images`, every link points to one; ps -a shows no container as running
# unless $1 names one that is
assert_store_consistent() {
    local n_dirs n_ids dangling
    run_unlocked images -q --no-trunc
    n_ids=$(grep -c . <<<"$output" || true)
    n_dirs=$(find "$STORE/images" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
    [ "$n_dirs" = "$n_ids" ] || fail "images/ holds $n_dirs trees, nroot images lists $n_ids"
    dangling=$(find "$STORE/by-file" "$STORE/names" -xtype l 2>/dev/null || true)
    [ -z "$dangling" ] || fail "dangling links: $dangling"
    [ -z "${NO_PS:-}" ] || return 0
    run_unlocked ps -a --format json
    local up
    up=$(jq -r '.[] | select(.running) | .name // .id' <<<"$output")
    [ "$up" = "${1:-}" ] || fail "running containers: '$up', expected '${1:-}'"
}

# after prune: no temporary file or directory anywhere in the store, and no
# runtime directory of a container that is not running
assert_pruned() {
    run_unlocked prune
    local left
    left=$(find "$STORE" \( -path "$STORE/tmp/*" -o -name '*.tmp*' \) -print 2>/dev/null || true)
    [ -z "$left" ] || fail "prune left temporary files: $left"
    local rt=$XDG_RUNTIME_DIR/nroot/containers n_rt n_up
    n_rt=$(find "$rt" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    n_up=$("$NROOT" ps -q | wc -l)
    [ "$n_rt" -le "$n_up" ] || fail "runtime directories left: $(ls "$rt")"
}

report_trials() {
    note "$1: $((KILLED + EXITED)) trials, $KILLED killed in flight, $EXITED ended before the kill (span ${2} us)"
}

# ---------------------------------------------------------------- import --

@test "faults: SIGKILL at random moments of import leaves no process, no lock, a consistent store" {
    local src=$IMAGES/rootfs.tar.gz k f span
    [ -f "$OCI/ok" ] && src=$OCI/busybox.docker.tar
    cp "$src" "$BATS_TEST_TMPDIR/probe.tar"
    span=$(duration_us "$NROOT" import "$BATS_TEST_TMPDIR/probe.tar")
    span=$((span * 5 / 4))
    run_unlocked rmi -f "$("$NROOT" images -q)"
    for ((k = 0; k < TRIALS; k++)); do
        # a new file each time: the import is never a cache hit
        f=$BATS_TEST_TMPDIR/img-$k.tar
        cp "$src" "$f"
        kill_at_random "$span" import --name "img$k" "$f"
        assert_no_marked_process "$MARK"
        assert_no_mount
        assert_store_consistent
        # a name is there only with its whole image (killed after the
        # import, the name may be there): it runs
        if "$NROOT" images --format json | jq -e --arg n "img$k" 'any(.[]; .names | index($n))' >/dev/null; then
            run_unlocked run --net=none "img$k" cat /data/unchanged.txt
            [ "$output" = original ] || fail "the image of img$k is not whole: $output"
        fi
        if [ $((k % 3)) = 2 ]; then
            assert_pruned
            assert_store_consistent
        fi
        # the same file imports, at once, and runs
        run_unlocked import --name "img$k" "$f"
        run_unlocked run --net=none "img$k" cat /data/unchanged.txt
        [ "$output" = original ] || fail "the image of img$k is not whole: $output"
        run_unlocked rmi -f "img$k"
    done
    assert_pruned
    assert_store_consistent
    report_trials import "$span"
}

# at every call that changes the file system: the kill lands exactly
# between two steps (strace's fault injection: SIGKILL on entry to the Nth
# of these calls, which then does not happen)
@test "faults: SIGKILL at each file-system call of import, run and rmi leaves a consistent store" {
    need_tool strace
    # the store does not depend on the mode: one mode in the suite, every
    # mode in bench/faults
    [ -n "${NROOT_FAULT_TRIALS:-}" ] || skip_unless_mode subids
    local calls=mkdir,mkdirat,rename,renameat,renameat2,symlink,symlinkat,unlink,unlinkat,rmdir,openat
    # LeakSanitizer stops the world with ptrace, which a traced process
    # cannot: no leak check in this test of a `make asan` build
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
    local f=$BATS_TEST_TMPDIR/img.tar.gz n total op
    cp "$IMAGES/rootfs.tar.gz" "$f"
    local ops=(import run)
    [ -n "${NROOT_FAULT_TRIALS:-}" ] && ops+=(rmi)   # (bench/faults: rmi too)
    local -A argv=([import]="import --name x $f" [run]="run --net=none x true" [rmi]="rmi x")
    for op in "${ops[@]}"; do
        local args
        read -ra args <<<"${argv[$op]}"
        # how many such calls an undisturbed run makes (nroot's own
        # process: its helpers die with it)
        # (the store as in every trial: made, holding no image, pruned)
        run_unlocked import --name x "$f"
        run_unlocked rmi x
        run_unlocked prune
        [ "$op" != import ] && run_unlocked import --name x "$f"
        strace -qq -o "$BATS_TEST_TMPDIR/calls" -e trace="$calls" "$NROOT" "${args[@]}" >/dev/null 2>&1
        total=$(grep -cE '^[a-z0-9_]+\(' "$BATS_TEST_TMPDIR/calls")
        [ "$total" -gt 5 ] || fail "strace saw $total calls"
        # strace counts the calls of each name apart: "NAME N" for each call
        local sc points=() point
        mapfile -t points < <(grep -E '^[a-z0-9_]+\(' "$BATS_TEST_TMPDIR/calls" | sed 's/(.*//' | awk '{ print $1, ++n[$1] }')
        for point in "${points[@]}"; do
            sc=${point% *} n=${point#* }
            [ "$op" != import ] && run_unlocked import --name x "$f"
            run --separate-stderr "$REAP" -1 5000 strace -qq -o /dev/null -e trace="$calls" \
                -e inject="$sc":signal=KILL:when="$n" "$NROOT" "${args[@]}"
            [ "$status" = 0 ] || fail "$op killed at $sc call $n: processes left: $output"
            # (a call a trial does not reach: the kill does not happen)
            [[ $output == "exited 137"* ]] && KILLED=$((KILLED + 1))
            LAST_DELAY="$sc call $n" LAST_RESULT=$op
            assert_no_mount
            NO_PS=1 assert_store_consistent
            # the image is whole or absent, and imports at once; prune
            # cleans what is left beside it
            run_unlocked import --name x "$f"
            run_unlocked run --net=none x cat /data/unchanged.txt
            [ "$output" = original ] || fail "after $op killed at call $n: the image is not whole"
            assert_pruned
            # (each trial from the state the calls were counted in)
            run_unlocked rmi x
            run_unlocked prune
        done
        note "$op: $KILLED kills, one at each of its $total file-system calls"
        [ $((KILLED * 2)) -ge "$total" ] || fail "only $KILLED of $total calls were reached"
        KILLED=0
    done
}

# ------------------------------------------------------------------- run --

@test "faults: SIGKILL at random moments of run (named, unnamed, new image) leaves nothing running" {
    local k span name img args
    cp "$IMAGES/rootfs.tar.gz" "$BATS_TEST_TMPDIR/probe.tar.gz"
    # the time to start: a run of a new tarball (import included)
    span=$(duration_us "$NROOT" run --net=none "$BATS_TEST_TMPDIR/probe.tar.gz" true)
    span=$((span * 3 / 2))
    for ((k = 0; k < TRIALS; k++)); do
        img=$IMG
        if [ $((k % 2)) = 1 ]; then
            img=$BATS_TEST_TMPDIR/new-$k.tar.gz
            cp "$IMAGES/rootfs.tar.gz" "$img"
        fi
        args=()
        name=
        [ $((k % 4)) -ge 2 ] && name=r$k && args=(--name "$name")
        [ $((k % 3)) = 0 ] || args+=(--net=none)
        # the payload blocks for ever (one process, the marker in its argv)
        kill_at_random "$span" run "${args[@]}" "$img" sh -c 'mkfifo /tmp/f; read x </tmp/f' "$MARK-payload"
        [[ $LAST_RESULT == killed* ]] || [ "$(wc -l <"$BATS_TEST_TMPDIR/trial.err")" -le 1 ] ||
            fail "a run that was not killed failed: $LAST_RESULT $(cat "$BATS_TEST_TMPDIR/trial.err")"
        assert_no_marked_process "$MARK"
        assert_no_mount
        assert_store_consistent
        if [ -n "$name" ]; then
            # the name is free again: it runs, then goes
            run_unlocked run --net=none "${args[@]}" "$img" true
            run_unlocked rm "$name"
        fi
        run_unlocked run --net=none "$img" true
        [ $((k % 3)) = 2 ] && assert_pruned
    done
    assert_pruned
    assert_store_consistent
    report_trials run "$span"
}

# ------------------------------------------------------------------ exec --

@test "faults: SIGKILL at random moments of exec ends the exec'd process, the container runs on" {
    local k span
    run_unlocked run -d --name ex "$IMG" sh -c 'mkfifo /tmp/f; read x </tmp/f' "$MARK-ctr"
    span=$(duration_us "$NROOT" exec ex true)
    span=$((span * 3 / 2))
    for ((k = 0; k < TRIALS; k++)); do
        kill_at_random "$span" exec ex sh -c 'mkfifo /tmp/g$$ 2>/dev/null; read x </tmp/g$$' "$MARK-exec"
        assert_no_marked_process "$MARK-exe"
        assert_no_mount
        assert_store_consistent ex
        run_unlocked exec ex true
    done
    run_unlocked rm -f ex
    assert_no_marked_process "$MARK"
    assert_pruned
    assert_store_consistent
    report_trials exec "$span"
}

# ------------------------------------------------------------------ stop --

@test "faults: SIGKILL at random moments of stop leaves a container that stops or starts cleanly" {
    local k span
    # a payload that ignores SIGTERM: stop waits its grace period, then kills
    local payload=(sh -c 'trap "" TERM; mkfifo /tmp/f; read x </tmp/f' "$MARK-ctr")
    run_unlocked run -d --name st "$IMG" "${payload[@]}"
    span=$(duration_us "$NROOT" stop -t 0 st)
    # half the trials with the grace period, half with -t 0
    for ((k = 0; k < TRIALS; k++)); do
        "$NROOT" ps --format json | jq -e 'any(.[]; .name == "st")' >/dev/null ||
            run_unlocked start st
        wait_for 50 eval '"$NROOT" ps -q | grep -q .' || fail "st did not start"
        if [ $((k % 2)) = 0 ]; then
            kill_at_random $((span * 3 / 2)) stop -t 0 st
        else
            kill_at_random 1200000 stop -t 1 st
        fi
        assert_no_mount
        # running or exited, never half: it stops, or it was stopped
        run_unlocked ps -a --format json
        jq -e '.[] | select(.name == "st") | (.running | type == "boolean")' <<<"$output" >/dev/null ||
            fail "st is not listed properly: $output"
        run_unlocked stop -t 0 st
        assert_no_marked_process "$MARK"
        assert_store_consistent
    done
    run_unlocked rm st
    assert_pruned
    assert_store_consistent
    report_trials stop "$span (-t 0), 1200000 (-t 1)"
}

# -------------------------------------------------------------------- rm --

@test "faults: SIGKILL at random moments of rm (stopped and running) leaves it removable" {
    local k span fill
    # a layer of a few thousand files, some owned by another id: rm takes a moment
    fill='mkdir -p /many/sub && cd /many && seq 1 1500 | xargs touch && chown -R 1000:1000 sub 2>/dev/null; true'
    run_unlocked run --net=none --name probe "$IMG" sh -c "$fill"
    span=$(duration_us "$NROOT" rm probe)
    span=$((span * 3 / 2))
    for ((k = 0; k < TRIALS; k++)); do
        if [ $((k % 2)) = 0 ]; then
            run_unlocked run --net=none --name "rm$k" "$IMG" sh -c "$fill"
            kill_at_random "$span" rm "rm$k"
        else
            run_unlocked run -d --net=none --name "up$k" "$IMG" sh -c "$fill; mkfifo /tmp/f; read x </tmp/f" "$MARK-ctr"
            # (killed before it stopped it, the container runs on: it is
            # removed below, and then nothing of it may be left)
            kill_at_random $((span * 2)) rm -f "up$k"
        fi
        assert_no_mount
        # (up$k may still run here)
        NO_PS=1 assert_store_consistent
        # gone, or still there and removable at once
        local n
        for n in "rm$k" "up$k"; do
            if "$NROOT" ps -a --format json | jq -e --arg n "$n" 'any(.[]; .name == $n)' >/dev/null; then
                run_unlocked rm -f "$n"
            fi
            [ ! -e "$STORE/containers/$n" ] || fail "rm left $STORE/containers/$n"
        done
        assert_no_marked_process "$MARK"
        assert_store_consistent
        # the name is free
        run_unlocked run --net=none --rm --name "rm$k" "$IMG" true
        [ $((k % 3)) = 2 ] && assert_pruned
    done
    assert_pruned
    assert_store_consistent
    report_trials rm "$span"
}

# ------------------------------------------------------- full file system --

@test "faults: import onto a full file system fails with 125 and one line, leaves nothing, succeeds once space is back" {
    need_tool unshare
    unshare -rm true 2>/dev/null || skip "unshare -rm does not work here"
    local script=$BATS_TEST_TMPDIR/full.sh
    cp "$IMAGES/rootfs.tar.gz" "$BATS_TEST_TMPDIR/a.tar.gz"
    local b=$IMAGES/rootfs.tar.xz
    [ -f "$OCI/ok" ] && b=$OCI/busybox.docker.tar
    cp "$b" "$BATS_TEST_TMPDIR/b.tar"
    # c.tar.gz: a compressed docker-archive of one layer, big (3 MiB) then
    # important (1 MiB).  The unpack helper spools the layer into the store
    # first and removes the spool at the end: a write that fails for want of
    # space, then space that comes back before the end.  A store that let
    # the failed write pass would keep a file with a hole instead of its data.
    mkdir -p "$BATS_TEST_TMPDIR/c"
    python3 - "$BATS_TEST_TMPDIR/c" <<'PY'
import hashlib, io, json, os, sys, tarfile
d = sys.argv[1]
def layer(name, files):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data in files:
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            t.addfile(ti, io.BytesIO(data))
    os.makedirs(os.path.join(d, name))
    b = bio.getvalue()
    open(os.path.join(d, name, "layer.tar"), "wb").write(b)
    return "sha256:" + hashlib.sha256(b).hexdigest()
def pattern(word, n):
    return b"".join(b"%s %08d\n" % (word, i) for i in range(n // 10 + 1))[:n]
files = [("big", pattern(b"b", 3 << 20)), ("important", pattern(b"i", 1 << 20))]
with open(os.path.join(d, "sums"), "w") as f:
    for name, data in files:
        f.write("%s  %s\n" % (hashlib.sha256(data).hexdigest(), name))
ids = [layer("l1", files)]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ids}}).encode()
h = hashlib.sha256(cfg).hexdigest()
open(os.path.join(d, h + ".json"), "wb").write(cfg)
json.dump([{"Config": h + ".json", "RepoTags": ["nroot-test/c:latest"],
            "Layers": ["l1/layer.tar"]}], open(os.path.join(d, "manifest.json"), "w"))
PY
    (cd "$BATS_TEST_TMPDIR/c" && tar -cf - manifest.json [0-9a-f]*.json l1 | gzip -1 >../c.tar.gz && cp sums ..)
    # inside a user and mount namespace of its own: a small tmpfs holds the
    # store.  nroot runs with one id there (no newuidmap in a namespace).
    cat >"$script" <<'EOF'
set -u
fail() { echo "FAIL: $*"; exit 1; }
T=$1 NROOT=$2
mnt=$T/full
mkdir -p "$mnt"
mount -t tmpfs -o size=32m,mode=0700 tmpfs "$mnt" || fail "mount tmpfs"
export XDG_DATA_HOME=$mnt NROOT_STORE=$mnt/nroot
# a first image, for "nothing else changes"
"$NROOT" import --name a "$T/a.tar.gz" >/dev/null 2>"$T/err" || fail "first import: $(cat "$T/err")"
before=$("$NROOT" images --format json | jq -c "[.[] | {id, names, size}]")
ls_before=$(cd "$mnt/nroot" && find . | sort)
fails=0
for free in 0 4 32 128 512 1024 1536 2048 2560 3072 3584 4096; do
    # a filler file leaves FREE kB (tmpfs cannot be remounted smaller
    # inside a user namespace)
    rm -f "$mnt/filler"
    avail=$(df -k --output=avail "$mnt" | tail -n1)
    [ "$avail" -gt "$free" ] || fail "only ${avail}k free"
    fallocate -l $(((avail - free) * 1024)) "$mnt/filler" 2>/dev/null ||
        head -c $(((avail - free) * 1024)) /dev/zero >"$mnt/filler" 2>/dev/null
    "$NROOT" import --name b "$T/b.tar" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc = 0 ]; then
        # it fit: undo, and go on with less space
        "$NROOT" rmi b >/dev/null 2>&1 || fail "rmi b"
        "$NROOT" prune >/dev/null 2>&1
        echo "free=${free}k: fits"
        continue
    fi
    fails=$((fails + 1))
    [ $rc = 125 ] || fail "free=${free}k: import exited $rc: $(cat "$T/err")"
    [ "$(grep -vc '^nroot: \(hint\|notice\|warning\): ' "$T/err")" = 1 ] ||
        fail "free=${free}k: not one error line: $(cat "$T/err")"
    grep -q '^nroot: error: ' "$T/err" || fail "free=${free}k: no error line: $(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "free=${free}k: printed an id: $(cat "$T/out")"
    [ "$("$NROOT" images --format json | jq -c "[.[] | {id, names, size}]")" = "$before" ] || fail "free=${free}k: images changed"
    now=$(cd "$mnt/nroot" && find . | sort)
    [ "$now" = "$ls_before" ] || fail "free=${free}k: the store changed: $(diff <(echo "$ls_before") <(echo "$now"))"
    echo "free=${free}k: $(grep '^nroot: error: ' "$T/err")"
    "$NROOT" run --net=none a cat /data/unchanged.txt >/dev/null 2>"$T/err" || fail "free=${free}k: a does not run: $(cat "$T/err")"
done
[ $fails -gt 0 ] || fail "no import failed"
# a failed write in the middle, space back before the end (c.tar.gz, above)
for free in 4096 4608 5120 5632 6144 6656 7168 7680 8192 8704 9216; do
    rm -f "$mnt/filler"
    avail=$(df -k --output=avail "$mnt" | tail -n1)
    fallocate -l $(((avail - free) * 1024)) "$mnt/filler" 2>/dev/null ||
        head -c $(((avail - free) * 1024)) /dev/zero >"$mnt/filler" 2>/dev/null
    "$NROOT" import --name c "$T/c.tar.gz" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc = 0 ]; then
        root=$(dirname "$(find "$mnt/nroot/images" -path '*/rootfs/important' | head -n1)")
        (cd "$root" && sha256sum -c --quiet "$T/sums" >/dev/null 2>&1) ||
            fail "c.tar.gz, free=${free}k: a file that could not be written was stored with a hole (import exited 0)"
        "$NROOT" rmi c >/dev/null 2>&1
        "$NROOT" prune >/dev/null 2>&1
        echo "c.tar.gz, free=${free}k: fits"
        continue
    fi
    [ $rc = 125 ] || fail "c.tar.gz: import exited $rc: $(cat "$T/err")"
    [ "$("$NROOT" images --format json | jq -c "[.[] | {id, names, size}]")" = "$before" ] || fail "c.tar.gz: images changed"
    now=$(cd "$mnt/nroot" && find . | sort)
    [ "$now" = "$ls_before" ] || fail "c.tar.gz: the store changed: $(diff <(echo "$ls_before") <(echo "$now"))"
    echo "c.tar.gz, free=${free}k: $(grep '^nroot: error: ' "$T/err")"
done
rm -f "$mnt/filler"
"$NROOT" import --name b "$T/b.tar" >/dev/null 2>"$T/err" || fail "the import with space back: $(cat "$T/err")"
"$NROOT" run --net=none b cat /data/unchanged.txt >/dev/null 2>"$T/err" || fail "b does not run: $(cat "$T/err")"
echo "ok: $fails failed imports"
EOF
    run env PATH="$NROOT_TEST_NOMAP_PATH" timeout 120 unshare -rm bash "$script" "$BATS_TEST_TMPDIR" "$NROOT"
    printf '%s\n' "$output" | sed 's/^/# /' >&3
    [ "$status" = 0 ] || fail "$output"
    assert_no_mount
}

# ------------------------------------------------------------------ load --

@test "load: 50 concurrent runs of one new image: one import, 50 successes" {
    local img=$BATS_TEST_TMPDIR/new.tar.gz k ok=0 t0 t1
    cp "$IMAGES/rootfs.tar.gz" "$img"
    local pids=()
    t0=${EPOCHREALTIME/./}
    for ((k = 0; k < 50; k++)); do
        "$NROOT" run --net=none "$img" cat /data/unchanged.txt \
            >"$BATS_TEST_TMPDIR/c$k.out" 2>"$BATS_TEST_TMPDIR/c$k.err" </dev/null &
        pids+=($!)
    done
    for ((k = 0; k < 50; k++)); do
        if timeout 120 tail --pid="${pids[$k]}" -f /dev/null && wait "${pids[$k]}" &&
            [ "$(cat "$BATS_TEST_TMPDIR/c$k.out")" = original ]; then
            ok=$((ok + 1))
        else
            echo "run $k: $(cat "$BATS_TEST_TMPDIR/c$k.err")"
        fi
    done
    t1=${EPOCHREALTIME/./}
    note "50 concurrent runs of a new image: $ok succeeded in $(((t1 - t0) / 1000)) ms"
    [ "$ok" = 50 ] || fail "$ok of 50 runs succeeded"
    local n_img n_src
    n_img=$(find "$STORE/images" -mindepth 1 -maxdepth 1 -type d | wc -l)
    # every import appends its source line: one line, one import
    n_src=$(cat "$STORE"/images/*/sources | wc -l)
    note "images in the store: $n_img, imports recorded: $n_src"
    [ "$n_img" = 1 ] || fail "$n_img image trees"
    [ "$n_src" = 1 ] || fail "the image was imported $n_src times"
    [ -z "$(ls -A "$STORE/tmp")" ] || fail "tmp/ is not empty: $(ls -A "$STORE/tmp")"
    assert_store_consistent
}

# figures for the sequential runs: what could grow if a run leaked
figures() {
    local fds=0 p
    # fds anywhere on the system that point into the store or runtime dir
    for p in /proc/[0-9]*/fd/*; do
        [[ $(readlink "$p" 2>/dev/null) == *"$MARK"* ]] && fds=$((fds + 1))
    done
    printf 'store_entries=%s store_kb=%s runtime_entries=%s mounts=%s marked_procs=%s user_procs=%s fds_into_dirs=%s' \
        "$(find "$STORE" 2>/dev/null | wc -l)" "$(du -sk "$STORE" | cut -f1)" \
        "$(find "$XDG_RUNTIME_DIR" | wc -l)" "$(wc -l </proc/self/mountinfo)" \
        "$(pgrep -fc "${MARK:0:1}[${MARK:1:1}]${MARK:2}" || true)" \
        "$(ps -u "$(id -u)" -o stat= | grep -vc '^Z')" "$fds"
}

@test "load: many sequential runs leak no process, mount, directory, fd or store space" {
    local n=${NROOT_LOAD_RUNS:-200}
    cp "$IMAGES/rootfs.tar.gz" "$BATS_TEST_TMPDIR/img.tar.gz"
    run_unlocked import --name img "$BATS_TEST_TMPDIR/img.tar.gz"
    # warm: the first run makes the runtime directories
    run_unlocked run --net=none img true
    local before after t0 t1
    before=$(figures)
    t0=${EPOCHREALTIME/./}
    # all under one subreaper: a process any run left is reported
    run "$REAP" -1 5000 bash -c 'for ((i = 0; i < $1; i++)); do
        "$2" run --net=none img /bin/true "$3" 2>"$4" || { echo "run $i failed: $(cat "$4")"; exit 1; }
        done' sh "$n" "$NROOT" "$MARK" "$BATS_TEST_TMPDIR/run.err"
    t1=${EPOCHREALTIME/./}
    [ "$status" = 0 ] && [ "$output" = "exited 0" ] || fail "$output"
    after=$(figures)
    note "$n sequential runs in $(((t1 - t0) / 1000)) ms ($(((t1 - t0) / n)) us each)"
    note "before: $before"
    note "after:  $after"
    # everything but the user's process count (other tests share the user)
    # must be the same
    [ "${before% user_procs=*}" = "${after% user_procs=*}" ] && [ "${before#* fds_into_dirs=}" = "${after#* fds_into_dirs=}" ] ||
        fail "something grew: before $before, after $after"
}
