#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# security-seccomp.bats — the payload's seccomp profile: nroot's default
# (an allowlist for x86_64, i386 and x32: ENOSYS for what it does not
# name, EPERM for the dangerous calls, capability-bound rules opened by
# --cap-add), --security-opt seccomp=unconfined, a JSON profile in the
# docker/podman format, and exec under the container's own filter.
#
# A static probe (built here, bound in at /probe) makes the calls by number
# with harmless arguments, in the ABI asked for, and prints NAME=OK or
# NAME=ERRNO: the arguments are chosen so that the kernel's own answer
# (EINVAL, EFAULT, EOPNOTSUPP...) differs from the filter's.

load helpers

setup_file() {
    need_tool gcc
    PROBE=$BATS_FILE_TMPDIR/probe
    cat >"$BATS_FILE_TMPDIR/probe.c" <<'EOF'
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* name, x86_64 (and x32) number, i386 number, arguments */
struct call { const char *name; long nr64, nr32; long a[6]; };
static const struct call calls[] = {
    { "getpid", 39, 20, { 0 } },
    { "keyctl", 250, 288, { 9999 } },                /* bad command: EOPNOTSUPP */
    { "add_key", 248, 286, { 0 } },                  /* NULL type: EFAULT */
    { "request_key", 249, 287, { 0 } },
    { "bpf", 321, 357, { 9999 } },                   /* bad command: EINVAL */
    { "kexec_load", 246, 283, { 0 } },
    { "open_by_handle_at", 304, 342, { -1 } },
    { "init_module", 175, 128, { 0 } },
    { "swapon", 167, 87, { 0 } },
    { "reboot", 169, 88, { 0 } },
    { "clock_settime", 227, 264, { 9999 } },         /* bad clock: EINVAL */
    { "userfaultfd", 323, 374, { 1 | 0x8000000 } },  /* bad flag: EINVAL */
    { "io_uring_setup", 425, 425, { 0 } },           /* NULL params: EFAULT */
    { "personality_norandom", 135, 136, { 0x0040000 } },
    { "personality_query", 135, 136, { 0xffffffff } },
    { "mount", 165, 21, { 0 } },                     /* NULL target: EFAULT */
    { "unshare_ns", 272, 310, { 0x00020000 } },      /* CLONE_NEWNS */
    { "unshare_files", 272, 310, { 0x00000400 } },   /* CLONE_FILES */
    { "setns", 308, 346, { -1 } },                   /* bad fd: EBADF */
    { "clone3", 435, 435, { 0, 0 } },                /* NULL: EINVAL */
    { "clone_ns", 56, 120, { 0x00020200 } },         /* NEWNS|FS: EINVAL */
    { "mkdir", 83, 39, { 0 } },                      /* NULL: EFAULT */
    { "unknown", 1000, 1000, { 0 } },
};

static long sys64(long nr, const long *a)
{
    long r;
    register long r10 __asm__("r10") = a[3], r8 __asm__("r8") = a[4], r9 __asm__("r9") = a[5];
    __asm__ volatile("syscall" : "=a"(r)
                     : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

/* the i386 ABI from a 64-bit process */
static long sys32(long nr, const long *a)
{
    long r;
    __asm__ volatile("push %%rbp\n\tmov %7, %%rbp\n\tint $0x80\n\tpop %%rbp" : "=a"(r)
                     : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4]), "g"(a[5])
                     : "memory");
    return (int)r;
}

int main(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        const struct call *c = NULL;
        for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++)
            if (strcmp(calls[k].name, argv[i]) == 0)
                c = &calls[k];
        if (!c)
            return 2;
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) {
            long r = strcmp(argv[1], "i386") == 0 ? sys32(c->nr32, c->a)
                   : sys64(strcmp(argv[1], "x32") == 0 ? c->nr64 | 0x40000000L : c->nr64, c->a);
            if (r < 0 && r > -4096)
                printf("%s=%s\n", c->name, strerrorname_np((int)-r));
            else
                printf("%s=OK\n", c->name);
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st))
            printf("%s=signal %d\n", c->name, WTERMSIG(st));
    }
    return 0;
}
EOF
    gcc -static -O1 -o "$PROBE" "$BATS_FILE_TMPDIR/probe.c"
    chmod 0755 "$BATS_FILE_TMPDIR" "$PROBE"
}

PROBE_ARGS() { echo -v "$BATS_FILE_TMPDIR/probe:/probe:ro"; }

# containers a failed test left running
teardown() {
    teardown_containers
}

# probe ABI [NROOT OPTIONS] -- CALL...: the results, one per line, in $output
probe() {
    local abi=$1 opts=()
    shift
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    nrun -q --net=none "${opts[@]}" -v "$BATS_FILE_TMPDIR/probe:/probe:ro" "$IMG" /probe "$abi" "$@"
}

# the lines that must be in $output, in any order
expect() {
    local l
    for l in "$@"; do assert_line "$l"; done
}

# i386 system calls (int 0x80) work on this kernel
i386_usable() {
    [ "$("$BATS_FILE_TMPDIR/probe" i386 getpid)" = getpid=OK ]
}

DENIED=(keyctl add_key request_key bpf kexec_load open_by_handle_at init_module swapon reboot
        clock_settime userfaultfd mount setns)

@test "seccomp: the default profile refuses the dangerous calls with EPERM (x86_64)" {
    probe x86_64 -- getpid mkdir "${DENIED[@]}"
    expect getpid=OK mkdir=EFAULT
    local c
    for c in "${DENIED[@]}"; do assert_line "$c=EPERM"; done
}

@test "seccomp: the default profile covers the i386 ABI (int 0x80)" {
    i386_usable || skip "the kernel does not run i386 system calls (IA32 emulation off)"
    probe i386 -- getpid mkdir unknown io_uring_setup "${DENIED[@]}"
    expect getpid=OK mkdir=EFAULT unknown=ENOSYS io_uring_setup=ENOSYS
    local c
    for c in "${DENIED[@]}"; do assert_line "$c=EPERM"; done
}

@test "seccomp: the default profile covers the x32 ABI" {
    if [ "$("$BATS_FILE_TMPDIR/probe" x32 getpid)" = getpid=OK ]; then
        # the kernel runs x32 calls: the profile's rules hold for them
        probe x32 -- keyctl add_key bpf unshare_ns setns unknown
        expect keyctl=EPERM add_key=EPERM bpf=EPERM unshare_ns=EPERM setns=EPERM unknown=ENOSYS
    else
        # it runs none: the filter leaves x32 out, and every x32 call gets
        # the kernel's own answer, ENOSYS (not a kill for an unknown ABI)
        probe x32 -- getpid keyctl add_key bpf unshare_ns setns mount unknown
        expect getpid=ENOSYS keyctl=ENOSYS add_key=ENOSYS bpf=ENOSYS unshare_ns=ENOSYS
        expect setns=ENOSYS mount=ENOSYS unknown=ENOSYS
        # the x86_64 and i386 rules are unchanged by it
        probe x86_64 -- keyctl mount getpid
        expect keyctl=EPERM mount=EPERM getpid=OK
    fi
}

@test "seccomp: what the profile does not name fails with ENOSYS; ordinary calls pass" {
    probe x86_64 -- unknown io_uring_setup clone3 personality_norandom personality_query \
        unshare_files unshare_ns clone_ns getpid
    # io_uring as podman; clone3 so that libc falls back to clone, whose
    # flags the filter can read
    expect unknown=ENOSYS io_uring_setup=ENOSYS clone3=ENOSYS personality_norandom=ENOSYS
    expect personality_query=OK unshare_files=OK getpid=OK
    # no nested namespaces without CAP_SYS_ADMIN
    expect unshare_ns=EPERM clone_ns=EPERM
    # what the container's programs do still works: threads (clone), a shell
    nrun -q --net=none "$IMG" sh -c 'sleep 0 & wait; mkfifo /tmp/f && echo ok'
    assert_output ok
}

@test "seccomp: --cap-add opens the rules of that capability" {
    probe x86_64 -- clock_settime mount setns clone3 clone_ns
    expect clock_settime=EPERM mount=EPERM setns=EPERM clone3=ENOSYS clone_ns=EPERM
    # allowed by the filter, then refused by the kernel for what it is
    probe x86_64 --cap-add SYS_TIME -- clock_settime mount
    expect clock_settime=EINVAL mount=EPERM
    probe x86_64 --cap-add SYS_ADMIN -- mount setns clone3 clone_ns clock_settime
    expect mount=EFAULT setns=EBADF clone3=EINVAL clone_ns=EINVAL clock_settime=EPERM
    probe x86_64 --cap-drop ALL --cap-add SYS_ADMIN -- setns keyctl
    expect setns=EBADF keyctl=EPERM
}

@test "seccomp: --security-opt seccomp=unconfined turns the profile off" {
    probe x86_64 --security-opt seccomp=unconfined -- keyctl add_key clock_settime io_uring_setup clone3
    expect keyctl=EOPNOTSUPP add_key=EFAULT clock_settime=EINVAL clone3=EINVAL
    refute_line io_uring_setup=ENOSYS
    # docker's older spelling, and no-new-privileges (always on)
    probe x86_64 --security-opt seccomp:unconfined --security-opt no-new-privileges -- keyctl
    expect keyctl=EOPNOTSUPP
}

@test "seccomp: a JSON profile in the docker format replaces the default" {
    cat >"$BATS_TEST_TMPDIR/p.json" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    { "names": ["mkdir", "mkdirat", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
    { "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
      "includes": { "caps": ["CAP_SYS_TIME"] } },
    { "names": ["personality"], "action": "SCMP_ACT_ERRNO",
      "args": [ { "index": 0, "value": 262144, "op": "SCMP_CMP_EQ" } ] }
  ]
}
EOF
    run_nroot 0 run --net=none --security-opt "seccomp=$BATS_TEST_TMPDIR/p.json" \
        -v "$BATS_FILE_TMPDIR/probe:/probe:ro" "$IMG" sh -c 'mkdir /x 2>&1; /probe x86_64 keyctl getpid personality_norandom personality_query'
    assert_line "mkdir: can't create directory '/x': Permission denied"
    expect keyctl=EOPNOTSUPP getpid=OK personality_norandom=EPERM personality_query=OK
    # the unknown name is ignored, as docker does, and said once
    [ "$(grep -c 'no_such_syscall' <<<"$stderr")" = 1 ] || fail "unknown name not reported once: $stderr"
    assert_equal "$(grep seccomp <<<"$stderr")" \
        "nroot: notice: seccomp profile '$BATS_TEST_TMPDIR/p.json': 1 syscall name unknown to libseccomp $(grep -o '2\.[0-9]*\.[0-9]*' <<<"$stderr"), ignored: no_such_syscall"
    # includes.caps: the rule exists with the capability
    probe x86_64 --cap-add SYS_TIME --security-opt "seccomp=$BATS_TEST_TMPDIR/p.json" -- getpid
    expect getpid=EIO
    # the i386 ABI is listed: it gets the rule too
    if i386_usable; then
        probe i386 --security-opt "seccomp=$BATS_TEST_TMPDIR/p.json" -- mkdir
        expect mkdir=EACCES
    fi
}

@test "seccomp: a bad profile or --security-opt is a one-line error (125)" {
    local d=$BATS_TEST_TMPDIR
    printf '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [' >"$d/truncated.json"
    echo '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir"], "action": "SCMP_ACT_NOPE" } ] }' >"$d/action.json"
    echo '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [ { "index": 7, "value": 1, "op": "SCMP_CMP_EQ" } ] } ] }' >"$d/index.json"
    echo '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [ { "index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES" } ] } ] }' >"$d/op.json"
    echo '{ "syscalls": [] }' >"$d/nodefault.json"
    echo '[1, 2]' >"$d/array.json"
    python3 -c 'print("[" * 100000)' >"$d/deep.json"
    local f
    for f in truncated action index op nodefault array deep; do
        run_nroot 125 run --security-opt "seccomp=$d/$f.json" "$IMG" true
        assert_nroot_error "seccomp profile '$d/$f.json': "
    done
    run_nroot 125 run --security-opt "seccomp=$d/missing.json" "$IMG" true
    assert_nroot_error "missing.json"
    run_nroot 125 run --security-opt "seccomp=$d" "$IMG" true
    assert_nroot_error "not a regular file"
    run_nroot 125 run --security-opt seccomp= "$IMG" true
    assert_nroot_error "seccomp="
    run_nroot 125 run --security-opt label=disable "$IMG" true
    assert_nroot_error "unsupported --security-opt 'label=disable'"
    run_nroot 125 run --security-opt no-new-privileges=false "$IMG" true
    assert_nroot_error "always set"
}

@test "seccomp: exec runs under its container's filter, even when the profile file is gone" {
    cp "$BATS_FILE_TMPDIR/probe" "$BATS_TEST_TMPDIR/probe"
    local bind="$BATS_TEST_TMPDIR/probe:/probe:ro"
    echo '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 } ] }' \
        >"$BATS_TEST_TMPDIR/p.json"
    run_nroot 0 run -d --name dflt --net=none -v "$bind" "$IMG" sleep 1000
    run_nroot 0 run -d --name free --net=none -v "$bind" --security-opt seccomp=unconfined "$IMG" sleep 1000
    run_nroot 0 run -d --name json --net=none -v "$bind" --security-opt "seccomp=$BATS_TEST_TMPDIR/p.json" "$IMG" sleep 1000
    rm "$BATS_TEST_TMPDIR/p.json"
    run_nroot 0 exec dflt /probe x86_64 keyctl clone3
    expect keyctl=EPERM clone3=ENOSYS
    run_nroot 0 exec free /probe x86_64 keyctl clone3
    expect keyctl=EOPNOTSUPP clone3=EINVAL
    run_nroot 0 exec json sh -c 'mkdir /x 2>&1; /probe x86_64 keyctl'
    expect "mkdir: can't create directory '/x': Permission denied" keyctl=EOPNOTSUPP
    run_nroot 0 exec -t json /probe x86_64 keyctl
    run_nroot 0 stop -t 0 dflt free json
}

@test "seccomp: a container's record of a cached filter is a link to the cache; exec needs neither cache nor link" {
    cp "$BATS_FILE_TMPDIR/probe" "$BATS_TEST_TMPDIR/probe"
    local bind="$BATS_TEST_TMPDIR/probe:/probe:ro" cache=$XDG_RUNTIME_DIR/nroot/seccomp rec f first
    run_nroot 0 run -d --name linked --net=none -v "$bind" "$IMG" sleep 1000
    rec=$(find "$XDG_RUNTIME_DIR/nroot/containers" -name seccomp)
    [ -f "$rec" ] || fail "no record of the filter in $XDG_RUNTIME_DIR/nroot/containers"
    for f in seccomp rootemu; do
        [ -e "${rec%/*}/$f" ] || continue
        local c=("$cache/${f/seccomp/default}"-*.bpf)
        [ "$(stat -c %i "${rec%/*}/$f")" = "$(stat -c %i "${c[0]}")" ] ||
            fail "the record $f is not a link to the cache's ${c[0]}"
    done
    first=${rec%/*}
    # the cache may go (the record keeps the program)
    rm -r "$cache"
    run_nroot 0 exec linked /probe x86_64 keyctl clone3
    expect keyctl=EPERM clone3=ENOSYS
    # a cache that cannot be written (exec made the directory again): the
    # record is a copy, and serves the same
    mkdir -p "$cache" && rm -f "$cache"/* && chmod 0500 "$cache"
    run_nroot 0 run -d --name copied --net=none -v "$bind" "$IMG" sleep 1000
    rec=$(find "$XDG_RUNTIME_DIR/nroot/containers" -name seccomp -not -path "$first/*")
    [ -f "$rec" ] && [ "$(stat -c %h "$rec")" = 1 ] || fail "no copied record of the filter: $rec"
    [ -z "$(ls -A "$cache")" ] || fail "the cache was written: $(ls -A "$cache")"
    run_nroot 0 exec copied /probe x86_64 keyctl clone3
    expect keyctl=EPERM clone3=ENOSYS
    if [ -e "${rec%/*}/rootemu" ]; then
        run_nroot 0 exec copied sh -c 'chown 1234 /tmp && echo faked'
        [[ $output == *faked* ]] || fail "root emulation not in exec: $output"
    fi
    chmod 0700 "$cache"
    run_nroot 0 stop -t 0 linked copied
}

@test "seccomp: a named container whose nroot was killed, run again, leaves no temporary link; no cache file changes" {
    local cache=$XDG_RUNTIME_DIR/nroot/seccomp pid rt sums
    start_bg again --net=none
    sums=$(cd "$cache" && sha256sum -- *)
    pid=$(ps_field again nroot_pid)
    [[ $pid =~ ^[0-9]+$ ]] || fail "no nroot pid: $pid"
    kill -9 "$pid"
    wait_for 50 eval '[ "$(ps_field again running)" != true ]' || fail "still shown as running"
    # its records stay; run again, they are made over them
    run_nroot 0 start again
    wait_for 30 eval '[ "$(ps_field again running)" = true ]' || fail "not running again"
    rt=$(dirname "$(grep -l '^name=again$' "$XDG_RUNTIME_DIR"/nroot/containers/*/state)")
    [ -f "$rt/seccomp" ] || fail "no record in $rt"
    [ -z "$(find "$rt" "$cache" -name '*.tmp')" ] || fail "temporary files left: $(ls -A "$rt" "$cache")"
    [ "$(cd "$cache" && sha256sum -- *)" = "$sums" ] || fail "a cache file changed: $(cd "$cache" && sha256sum -- *)"
    run_nroot 0 exec again sh -c 'mkdir /x && echo made'
    assert_output made
    run_nroot 0 stop -t 0 again
}

@test "seccomp: start keeps the profile a named container was made with" {
    echo '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 } ] }' \
        >"$BATS_TEST_TMPDIR/p.json"
    run_nroot 1 run --name s --net=none --security-opt "seccomp=$BATS_TEST_TMPDIR/p.json" "$IMG" mkdir /x
    rm "$BATS_TEST_TMPDIR/p.json"
    run_nroot 125 start --attach s
    assert_nroot_error "seccomp profile '$BATS_TEST_TMPDIR/p.json': No such file"
    echo '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 } ] }' \
        >"$BATS_TEST_TMPDIR/p.json"
    run_nroot 1 start --attach s
    [[ $stderr == *"Permission denied"* ]] || fail "mkdir was not refused: $stderr"
    run_nroot 0 run --name u --net=none --security-opt seccomp=unconfined "$IMG" sh -c 'mkdir -p /x'
    run_nroot 0 start --attach u
}

@test "seccomp: the compiled default profile is cached per capability set, and checked when read" {
    local dir=$XDG_RUNTIME_DIR/nroot/seccomp f
    probe x86_64 -- keyctl
    expect keyctl=EPERM
    # (root emulation's filter, with a single id, is cached next to them)
    run ls -I 'rootemu-*' "$dir"
    [ "${#lines[@]}" = 1 ] || fail "expected one cached filter: ${lines[*]}"
    f=$dir/${lines[0]}
    [ "$(stat -c %a "$f")" = 600 ] || fail "the cache file is not 0600"
    probe x86_64 --cap-add SYS_TIME -- keyctl
    run ls -I 'rootemu-*' "$dir"
    [ "${#lines[@]}" = 2 ] || fail "expected a second filter for another capability set: ${lines[*]}"
    # a damaged file is not loaded: it is compiled again and replaced
    truncate -s 300 "$f"
    probe x86_64 -- keyctl getpid
    expect keyctl=EPERM getpid=OK
    [ $((($(stat -c %s "$f") - 256) % 8)) = 0 ] && [ "$(stat -c %s "$f")" -gt 300 ] ||
        fail "the damaged cache file was not replaced"
    # the same for a file of the right size with another key
    printf 'NRBPF01\0' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
    dd if=/dev/zero of="$f" bs=1 seek=16 count=200 conv=notrunc status=none
    probe x86_64 -- keyctl
    expect keyctl=EPERM
    [ "$(dd if="$f" bs=1 skip=16 count=7 status=none)" = default ] || fail "the key was not written again"
}
