#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# security-exec.bats — issue 12, items 1, 3 and 4: nothing of the caller's
# reaches a container through `exec` or `run`.  A hostile process inside
# (the probe below, bound in at /probe) must never see a process of
# nroot's with the host's root directory or an fd beyond stdio (exec joins
# every namespace but pid before it can be seen, not dumpable until the
# command execs), never keep the caller's terminal or files (the command's
# stdio are pipes that nroot copies), and never read the caller's session
# keyring.

load helpers

setup_file() {
    PROBE=$BATS_FILE_TMPDIR/probe
    cat >"$PROBE.c" <<'PROBE_EOF'
/* probe: a hostile process inside the container (security-exec.bats) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int report(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int report(const char *dir, const char *name, const char *fmt, ...)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    return 0;
}

static int exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* try process `pid`: is /proc/N/root the host's / (HOSTDIR exists there:
 * write into it), can an fd >= 3 of it be opened (write through it)?
 * Returns whether the process exists. */
static bool try_pid(long pid, const char *out, const char *hostdir)
{
    char p[4096];
    snprintf(p, sizeof p, "/proc/%ld/root%s", pid, hostdir);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        report(out, "hits", "ROOT pid %ld: the host's %s through /proc/%ld/root\n", pid, hostdir, pid);
        int w = openat(fd, "written-through-proc-root", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (w >= 0)
            close(w);
        close(fd);
    }
    snprintf(p, sizeof p, "/proc/%ld/fd", pid);
    DIR *fds = opendir(p);
    if (!fds) {
        snprintf(p, sizeof p, "/proc/%ld", pid);
        return access(p, F_OK) == 0;
    }
    struct dirent *f;
    while ((f = readdir(fds))) {
        int n = atoi(f->d_name);
        if (f->d_name[0] == '.' || n <= 2)
            continue;
        char q[4096], link[4096] = "";
        snprintf(q, sizeof q, "/proc/%ld/fd/%d", pid, n);
        ssize_t l = readlink(q, link, sizeof link - 1);
        link[l > 0 ? l : 0] = '\0';
        int s = open(q, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (s < 0)
            continue;
        report(out, "hits", "FD pid %ld fd %d: %s\n", pid, n, link);
        int w = openat(s, "written-through-stolen-fd", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (w >= 0)
            close(w);
        close(s);
    }
    closedir(fds);
    return true;
}

/* watch OUT HOSTDIR: try every process that comes after this one, again
 * and again until OUT/stop exists, above all the newest and the next pids
 * (they are given in order): a new process is tried from its first moment */
static int watch(const char *out, const char *hostdir)
{
    pid_t self = getpid();
    long passes = 0, seen = 0, top = self;
    /* what was there before (fuse-overlayfs) is not exec's */
    DIR *d0 = opendir("/proc");
    struct dirent *e0;
    while (d0 && (e0 = readdir(d0)))
        if (atol(e0->d_name) > top)
            top = atol(e0->d_name);
    if (d0)
        closedir(d0);
    const long before = top;
    report(out, "ready", "ready\n");
    while (!exists(out, "stop")) {
        passes++;
        DIR *d = opendir("/proc");
        if (!d)
            return 1;
        struct dirent *e;
        while ((e = readdir(d))) {
            char *end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end || pid <= before)
                continue;
            if (pid > top)
                top = pid;
            if (try_pid(pid, out, hostdir))
                seen++;
        }
        closedir(d);
        for (int spin = 0; spin < 2000; spin++)
            for (long pid = top; pid <= top + 3; pid++)
                if (pid != self && try_pid(pid, out, hostdir) && pid > top) {
                    seen++;
                    top = pid;
                }
    }
    report(out, "done", "passes %ld processes seen %ld\n", passes, seen);
    return 0;
}

/* keep PATTERN OUT: wait for a process whose command line holds PATTERN
 * and whose stdio can be opened through /proc/N/fd (stdout and stderr read
 * and write where they allow it), keep it, say so (OUT/kept, "end" last);
 * once OUT/go exists, write into its stdout and stderr and read whatever
 * comes on the three for 3 s (OUT/stolen) */
static int keep(const char *pattern, const char *out)
{
    signal(SIGPIPE, SIG_IGN);
    int fd[3] = { -1, -1, -1 };
    report(out, "ready", "ready\n");
    for (time_t t0 = time(NULL); fd[1] < 0 && time(NULL) - t0 < 30;) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && fd[1] < 0 && (e = readdir(d))) {
            char *end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end || pid == getpid())
                continue;
            char p[256], cmd[4096];
            snprintf(p, sizeof p, "/proc/%ld/cmdline", pid);
            int c = open(p, O_RDONLY | O_CLOEXEC);
            ssize_t n = c >= 0 ? read(c, cmd, sizeof cmd - 1) : -1;
            if (c >= 0)
                close(c);
            if (n <= 0)
                continue;
            for (ssize_t i = 0; i < n; i++)
                if (!cmd[i])
                    cmd[i] = ' ';
            cmd[n] = '\0';
            if (!strstr(cmd, pattern))
                continue;
            char link[3][256];
            for (int k = 0; k < 3; k++) {
                snprintf(p, sizeof p, "/proc/%ld/fd/%d", pid, k);
                ssize_t l = readlink(p, link[k], sizeof link[k] - 1);
                link[k][l > 0 ? l : 0] = '\0';
                fd[k] = open(p, (k ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
                if (fd[k] < 0 && k)
                    fd[k] = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            }
            if (fd[1] < 0) {
                /* not yet (before its exec): again */
                for (int k = 0; k < 3; k++)
                    if (fd[k] >= 0)
                        close(fd[k]);
                fd[0] = fd[1] = fd[2] = -1;
                continue;
            }
            for (int k = 0; k < 3; k++)
                report(out, "kept", "fd %d of pid %ld (%s): %s\n", k, pid, cmd, link[k]);
        }
        if (d)
            closedir(d);
    }
    report(out, "kept", "end\n");
    while (!exists(out, "go"))
        usleep(20000);
    for (int k = 1; k < 3; k++)
        if (fd[k] >= 0 && write(fd[k], "INJECTED-BY-CONTAINER\n", 22) == 22)
            report(out, "result", "wrote into fd %d\n", k);
    char buf[4096];
    for (time_t t0 = time(NULL); time(NULL) - t0 < 3;) {
        struct pollfd p[3];
        for (int k = 0; k < 3; k++)
            p[k] = (struct pollfd){ .fd = fd[k], .events = POLLIN };
        if (poll(p, 3, 200) <= 0)
            continue;
        for (int k = 0; k < 3; k++) {
            if (!p[k].revents)
                continue;
            ssize_t n = read(fd[k], buf, sizeof buf - 1);
            if (n <= 0) {
                fd[k] = -1;   /* EOF: poll ignores it from now on */
                continue;
            }
            buf[n] = '\0';
            report(out, "stolen", "fd %d: %s", k, buf);
        }
    }
    report(out, "result", "end\n");
    return 0;
}

/* keys NAME: the caller's key NAME, searched for from the session
 * keyring; every key the session keyring holds, read */
static int keys(const char *name)
{
    long k = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", name, 0);
    char buf[4096];
    if (k >= 0) {
        long n = syscall(SYS_keyctl, KEYCTL_READ, k, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        printf("found %s: %s\n", name, buf);
    } else
        printf("search %s: %s\n", name, strerror(errno));
    int32_t ids[256];
    long n = syscall(SYS_keyctl, KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, ids, sizeof ids);
    if (n < 0)
        printf("session keyring: %s\n", strerror(errno));
    for (long i = 0; i < n / 4 && i < 256; i++) {
        long m = syscall(SYS_keyctl, KEYCTL_READ, ids[i], buf, sizeof buf - 1);
        buf[m > 0 ? m : 0] = '\0';
        printf("key %d in the session keyring: %s\n", ids[i], m >= 0 ? buf : strerror(errno));
    }
    n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    printf("session keyring: %s\n", n >= 0 ? buf : strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "watch") == 0)
        return watch(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "keep") == 0)
        return keep(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "keys") == 0)
        return keys(argv[2]);
    fprintf(stderr, "usage: probe watch OUT HOSTDIR | keep PATTERN OUT | keys NAME\n");
    return 2;
}
PROBE_EOF
    gcc -static -O2 -o "$PROBE" "$PROBE.c" || return 1
    export PROBE
}

teardown() {
    teardown_containers
}

# a container named $1 whose command is `/probe ARGS...` (after $1 come
# nroot's options, then --, then the probe's arguments), with the probe's
# report directory $OUTD at /out
probe_container() {
    local name=$1 opts=()
    shift
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    OUTD=$BATS_TEST_TMPDIR/out
    mkdir -p "$OUTD"
    run_nroot 0 run -d --name "$name" "${opts[@]}" -v "$PROBE:/probe:ro" -v "$OUTD:/out" "$IMG" \
        /probe "$@"
    wait_for 100 test -e "$OUTD/ready" || fail "the probe did not start"
}

# a watcher in container w (nroot options $@) tries /proc/N/root and
# /proc/N/fd of every other process and of the next pids to come, again
# and again, while 60 execs of `true` run with a host directory on fd 7
# (found through $PATH: the failed tries of /usr/local/sbin/true and so
# on are the widest window of the old exec)
execs_under_watch() {
    HOSTD=$BATS_TEST_TMPDIR/hostdir
    mkdir -p "$HOSTD"
    probe_container w "$@" -- watch /out "$HOSTD"
    local i
    echo "\$ 60 x nroot exec w true 7<HOSTDIR"
    for ((i = 0; i < 60; i++)); do
        timeout 20 "$NROOT" exec w true 7<"$HOSTD" || fail "exec number $i failed"
    done
    touch "$OUTD/stop"
    wait_for 100 test -e "$OUTD/done" || fail "the watcher did not end"
    cat "$OUTD/done"
    grep -q 'processes seen [1-9]' "$OUTD/done" || fail "the watcher saw no exec"
}

# what the watcher got: nothing
assert_watch_found_nothing() {
    [ ! -e "$OUTD/hits" ] || fail "the container reached into exec's processes: $(sort "$OUTD/hits" | uniq -c)"
    [ -z "$(ls -A "$HOSTD")" ] || fail "written into the host's directory: $(ls "$HOSTD")"
}

@test "security: exec with SYS_PTRACE in the container: /proc/PID/root never shows the host's /" {
    execs_under_watch --cap-add SYS_PTRACE
    assert_watch_found_nothing
}

@test "security: exec with the default capabilities: no fd of the caller's can be taken" {
    execs_under_watch
    assert_watch_found_nothing
}

# the keeper in container k keeps the stdio of the command whose command
# line holds $1, once it can open it; the command waits until it did
keeper() {
    probe_container k -- keep "$1" /out
}
KEEP_WAIT='while ! grep -q end /out/kept 2>/dev/null; do sleep 0.05; done'

# after exec returned: the keeper writes into what it kept and reads it
after_exec() {
    cat "$OUTD/kept"
    grep -q '^fd 1 ' "$OUTD/kept" || fail "the keeper kept nothing: the test proves nothing"
    touch "$OUTD/go"
    "$@"
    wait_for 100 grep -q '^end' "$OUTD/result" || fail "the keeper did not end"
    cat "$OUTD/result"
}

@test "security: exec: stdio kept by a container process is useless once exec returned (files, pipe)" {
    keeper marker-3f9a
    local t=$BATS_TEST_TMPDIR
    mkfifo "$t/in"
    exec 5<>"$t/in"
    echo "\$ nroot exec -i k sh -c ... <fifo >file 2>file"
    timeout 20 "$NROOT" exec -i k sh -c "$KEEP_WAIT" marker-3f9a <&5 >"$t/stdout" 2>"$t/stderr" ||
        fail "exec failed: $(cat "$t/stderr")"
    after_exec eval 'echo typed-after-exec >&5'
    exec 5>&-
    run cat "$t/stdout" "$t/stderr"
    refute_output --partial INJECTED
    [ ! -e "$OUTD/stolen" ] || ! grep typed-after-exec "$OUTD/stolen" ||
        fail "the container read the caller's stdin after exec returned"
}

@test "security: exec: the caller's terminal is out of the container's reach (script's pty)" {
    need_tool script
    keeper marker-77c1
    local t=$BATS_TEST_TMPDIR
    mkfifo "$t/in"
    exec 5<>"$t/in"
    echo "\$ script -c 'nroot exec k sh -c ...; sleep 4'"
    script -qefc "'$NROOT' exec k sh -c '$KEEP_WAIT' marker-77c1; echo exec-returned; sleep 4" \
        /dev/null <&5 >"$t/typescript" 2>&1 &
    BG_PIDS+=("$!")
    wait_for 200 file_has "$t/typescript" exec-returned || fail "exec did not return: $(cat "$t/typescript")"
    after_exec eval 'echo typed-after-exec >&5'
    exec 5>&-
    run cat "$t/typescript"
    refute_output --partial INJECTED
    [ ! -e "$OUTD/stolen" ] || ! grep typed-after-exec "$OUTD/stolen" ||
        fail "the container read keystrokes from the caller's terminal after exec returned"
}

@test "security: run without -t: a terminal on stdio reaches the container only as pipes" {
    need_tool script
    local opt
    for opt in -q -i; do
        echo "\$ script -c 'nroot run $opt IMG readlink /proc/self/fd/N'"
        run script -qefc "'$NROOT' run -q $opt '$IMG' sh -c 'for f in 0 1 2; do readlink /proc/self/fd/\$f; done'" /dev/null </dev/null
        assert_success
        refute_output --partial /dev/pts
        assert_line --index 1 --regexp '^pipe:'
        assert_line --index 2 --regexp '^pipe:'
    done
}

# run the commands of $1 in a new session keyring holding a key the
# container must not read
in_keyring_session() {
    keyctl session - bash -c 'keyctl add user nroot-test-secret "s3cret-$$" @s >/dev/null &&
        keyctl search @s user nroot-test-secret >/dev/null || { echo "key setup failed"; exit 99; }
        '"$1"
}

@test "security: run and exec: the caller's session keyring is not the container's" {
    need_tool keyctl
    # a default seccomp profile that denies keyctl would hide the keyring: off
    local unconfined=()
    "$NROOT" run --help | grep -q -- --security-opt && unconfined=(--security-opt seccomp=unconfined)
    export NROOT PROBE IMG
    NR_OPTS="${unconfined[*]}"
    export NR_OPTS
    echo "\$ keyctl session - ... nroot run IMG /probe keys nroot-test-secret"
    run in_keyring_session '"$NROOT" run -q $NR_OPTS -v "$PROBE:/probe:ro" "$IMG" /probe keys nroot-test-secret'
    assert_success
    assert_line --partial "search nroot-test-secret: "
    refute_output --partial s3cret
    refute_output --partial "key setup failed"
    run_nroot 0 run -d --name kr "${unconfined[@]}" -v "$PROBE:/probe:ro" "$IMG" sleep 1000
    echo "\$ keyctl session - ... nroot exec kr /probe keys nroot-test-secret"
    run in_keyring_session '"$NROOT" exec kr /probe keys nroot-test-secret'
    assert_success
    assert_line --partial "search nroot-test-secret: "
    refute_output --partial s3cret
}

@test "security: exec through the relay: a reader that goes away ends the command (SIGPIPE)" {
    run_nroot 0 run -d --name sp "$IMG" sleep 1000
    echo "\$ nroot exec sp yes | head -1"
    run timeout 20 bash -c '"$1" exec sp yes | head -1; echo "status=${PIPESTATUS[0]}"' _ "$NROOT"
    assert_success
    assert_line --index 0 y
    # yes died of SIGPIPE inside, as it would have on nroot's own stdout
    assert_line --index 1 status=141
}
