#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# join.bats — `nroot run --join`: one container shared by the commands of a
# key (MPI ranks on a node), its lifetime held by flocks; --env-host,
# --preserve-fds/--preserve-fd and PMI_FD for run and exec; the Slurm
# defaults (a faked step environment: no Slurm needed here).

load helpers

eval "helpers_$(declare -f setup)"

setup() {
    # the Slurm variables of a step nroot may run in: unset unless a test
    # fakes them
    unset SLURM_JOB_ID SLURM_STEP_ID SLURM_STEP_TASKS_PER_NODE SLURM_NODEID SLURMD_NODENAME
    unset PMI_FD PMIX_SERVER_TMPDIR NROOT_JOIN_TIMEOUT
    # a bound on a creator's wait for --join-count, so a test never waits 60 s
    export NROOT_JOIN_TIMEOUT=20
    helpers_setup
    JOIN=$BATS_TEST_TMPDIR
    PIDS=()
}

teardown() {
    teardown_containers
}

# the key's files and the runtime directories of containers: none left
assert_no_join_state() {
    local rt=$XDG_RUNTIME_DIR/nroot
    wait_for 50 eval "[ -z \"\$(ls -A '$rt/join' 2>/dev/null)\" ]" ||
        fail "the key's files are left: $(ls -la "$rt/join")"
    wait_for 50 eval "[ -z \"\$(ls -A '$rt/containers' 2>/dev/null)\" ]" ||
        fail "runtime state is left: $(ls -la "$rt/containers")"
    ! grep -F "$BATS_TEST_TMPDIR" /proc/self/mountinfo || fail "a mount is left"
}

# start_join N OUT ARGS...: nroot run ARGS in the background, output in OUT,
# its pid in PIDS[N]
start_join() {
    local n=$1 out=$2
    shift 2
    echo "\$ nroot ${*@Q} &  # $n"
    "$NROOT" "$@" >"$out" 2>"$out.err" 3>&- </dev/null &
    PIDS[n]=$!
    BG_PIDS+=("$!")
}

@test "join: four commands of one key share the user, mount, ipc and pid namespaces and /dev/shm" {
    local i
    # each one waits until all four wrote their file in /dev/shm, then
    # lists it, then waits until it sees the four sleeps (one of each) and
    # all four saw them
    for i in 1 2 3 4; do
        start_join "$i" "$JOIN/o$i" run -q --join=k4 --join-count 4 "$IMG" sh -c '
            upto() { i=0; while [ "$(eval "$1")" -lt 4 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; eval "$1"; }
            for n in user mnt ipc pid; do readlink /proc/self/ns/$n; done | tr "\n" " "; echo
            touch /dev/shm/rank'"$i"'
            upto "ls /dev/shm | grep -c rank" >/dev/null
            ls /dev/shm | grep rank | tr "\n" " "; echo
            nr-test sleep 1000 sleeper'"$i"' &
            upto "ps -o args | grep -c \"^nr-test sleep 1000 sleeper\""
            touch /dev/shm/saw'"$i"'
            upto "ls /dev/shm | grep -c saw" >/dev/null
            kill %1; exit '"$((10 + i))"
    done
    for i in 1 2 3 4; do
        wait_exit "${PIDS[i]}" 300 || fail "nroot $i did not end: $(cat "$JOIN/o$i.err")"
        assert_equal "$WAIT_STATUS" "$((10 + i))"
    done
    local first
    first=$(head -1 "$JOIN/o1")
    [[ $first == user:* ]] || fail "no namespaces in the output: $(cat "$JOIN/o1" "$JOIN/o1.err")"
    for i in 2 3 4; do
        assert_equal "$(head -1 "$JOIN/o$i")" "$first"
    done
    for i in 1 2 3 4; do
        assert_equal "$(sed -n 2p "$JOIN/o$i")" "rank1 rank2 rank3 rank4 "
        assert_equal "$(sed -n 3p "$JOIN/o$i")" 4
    done
    assert_no_join_state
}

@test "join: the creator's command ending first does not end the others; each exit status is its own" {
    start_join 1 "$JOIN/a" run -q --join=early "$IMG" sh -c '
        echo up; echo kept >/dev/shm/x
        i=0; while [ ! -e /dev/shm/b ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; exit 5'
    wait_for 100 file_has "$JOIN/a" '^up$' || fail "no start: $(cat "$JOIN/a.err")"
    # the second is in when the first command ends, and reads after that
    start_join 2 "$JOIN/b" run -q --join=early "$IMG" sh -c 'touch /dev/shm/b; sleep 2; cat /dev/shm/x; exit 7'
    wait_exit "${PIDS[2]}" 200 || fail "the joiner did not end: $(cat "$JOIN/b.err")"
    assert_equal "$WAIT_STATUS" 7
    assert_equal "$(cat "$JOIN/b")" kept
    wait_exit "${PIDS[1]}" 100 || fail "the creator did not end"
    assert_equal "$WAIT_STATUS" 5
    assert_no_join_state
}

@test "join: the creator stays until a joiner that came after its command ended is done" {
    start_join 1 "$JOIN/a" run -q --join=late "$IMG" sh -c 'echo up; sleep 1; echo a >/dev/shm/a; exit 3'
    wait_for 100 file_has "$JOIN/a" '^up$' || fail "no start: $(cat "$JOIN/a.err")"
    start_join 2 "$JOIN/b" run -q --join=late "$IMG" sh -c 'echo in; sleep 3; cat /dev/shm/a; exit 4'
    wait_for 100 file_has "$JOIN/b" '^in$' || fail "no join: $(cat "$JOIN/b.err")"
    # the creator's command ends after 1 s; its nroot stays while the joiner runs
    sleep 2
    kill -0 "${PIDS[1]}" || fail "the creator ended while a joiner was in its container"
    wait_exit "${PIDS[2]}" 100 || fail "the joiner did not end"
    assert_equal "$WAIT_STATUS" 4
    assert_equal "$(tail -1 "$JOIN/b")" a
    wait_exit "${PIDS[1]}" 100 || fail "the creator did not end after the joiner"
    assert_equal "$WAIT_STATUS" 3
    assert_no_join_state
}

@test "join: SIGKILL of a joiner ends its command only; SIGKILL of the creator ends all and leaves nothing" {
    local tag=nroot-join-$$-$RANDOM
    start_join 1 "$JOIN/a" run -q --join=kill "$IMG" sh -c "echo up; exec nr-test sleep 1000 $tag-a"
    wait_for 100 file_has "$JOIN/a" '^up$' || fail "no start: $(cat "$JOIN/a.err")"
    start_join 2 "$JOIN/b" run -q --join=kill "$IMG" sh -c "echo up; exec nr-test sleep 1000 $tag-b"
    start_join 3 "$JOIN/c" run -q --join=kill "$IMG" sh -c "echo up; exec nr-test sleep 1000 $tag-c"
    wait_for 100 pgrep -f "sleep 1000 $tag-b" >/dev/null || fail "no joiner b: $(cat "$JOIN/b.err")"
    wait_for 100 pgrep -f "sleep 1000 $tag-c" >/dev/null || fail "no joiner c: $(cat "$JOIN/c.err")"
    kill -KILL "${PIDS[2]}"
    wait "${PIDS[2]}" 2>/dev/null || true
    wait_for 50 eval "! pgrep -f 'sleep 1000 $tag-b' >/dev/null" ||
        fail "the killed joiner's command is left: $(pgrep -af "$tag-b")"
    pgrep -f "sleep 1000 $tag-a" >/dev/null || fail "the creator's command ended with a joiner"
    pgrep -f "sleep 1000 $tag-c" >/dev/null || fail "another joiner's command ended with a joiner"
    kill -KILL "${PIDS[1]}"
    wait "${PIDS[1]}" 2>/dev/null || true
    wait_exit "${PIDS[3]}" 100 || fail "the joiner did not end with the creator's container"
    assert_equal "$WAIT_STATUS" 137
    wait_for 50 eval "! pgrep -f '$tag' >/dev/null" || fail "left behind: $(pgrep -af "$tag")"
    wait_for 50 eval "! pgrep -f '$BATS_TEST_TMPDIR' >/dev/null" ||
        fail "helpers left behind: $(pgrep -af "$BATS_TEST_TMPDIR")"
    assert_no_join_state
    # the key works again: a new container
    run_nroot 0 run -q --join=kill "$IMG" true
}

@test "join: --join-count keeps the container until that many came, at most the bound" {
    start_join 1 "$JOIN/a" run -q --join=count --join-count 2 "$IMG" sh -c 'echo up; exit 2'
    wait_for 100 file_has "$JOIN/a" '^up$' || fail "no start: $(cat "$JOIN/a.err")"
    sleep 1
    kill -0 "${PIDS[1]}" || fail "the creator did not wait for the second"
    run_nroot 6 run -q --join=count "$IMG" sh -c 'exit 6'
    wait_exit "${PIDS[1]}" 100 || fail "the creator did not end once the second came and went"
    assert_equal "$WAIT_STATUS" 2
    assert_no_join_state
    # nobody comes: the creator gives up after NROOT_JOIN_TIMEOUT seconds
    local t0=$SECONDS
    NROOT_JOIN_TIMEOUT=2 run_nroot 0 run -q --join=count --join-count 3 "$IMG" true
    [ $((SECONDS - t0)) -ge 2 ] || fail "the creator did not wait for the count"
    [ $((SECONDS - t0)) -le 10 ] || fail "the creator waited past the bound"
    assert_no_join_state
}

@test "join: a missing KEY outside Slurm, a bad key, --join-count without --join, --join with -d fail" {
    run_nroot 125 run --join "$IMG" true
    assert_nroot_error "needs a KEY outside a Slurm job step"
    run_nroot 125 run --join=bad/key "$IMG" true
    assert_nroot_error "invalid --join key"
    run_nroot 125 run --join-count 2 "$IMG" true
    assert_nroot_error "--join-count needs --join"
    run_nroot 125 run --join=k -d "$IMG" true
    assert_nroot_error "--detach"
}

@test "join: a creator whose container cannot start leaves no key behind; the next comer creates" {
    run_nroot 125 run --join=broken "$BATS_TEST_TMPDIR/no-such-image" true
    assert_nroot_error "no-such-image"
    assert_no_join_state
    run_nroot 0 run -q --join=broken "$IMG" echo next
    assert_output next
    assert_no_join_state
}

@test "join: in a Slurm step the key is the step's and the count its tasks on the node; errors name the node" {
    export SLURM_JOB_ID=77 SLURM_STEP_ID=3 SLURM_STEP_TASKS_PER_NODE='1,2(x2)' SLURM_NODEID=1
    export SLURMD_NODENAME=node-a
    start_join 1 "$JOIN/a" run -q --join "$IMG" sh -c 'echo up; exit 0'
    wait_for 100 file_has "$JOIN/a" '^up$' || fail "no start: $(cat "$JOIN/a.err")"
    [ -f "$XDG_RUNTIME_DIR/nroot/join/key-slurm-77.3.ctr" ] ||
        fail "no record of key slurm-77.3: $(ls "$XDG_RUNTIME_DIR/nroot/join")"
    # node 1 has 2 tasks: the creator waits for the second
    sleep 1
    kill -0 "${PIDS[1]}" || fail "the creator did not wait for the step's second task"
    run_nroot 0 run -q --hpc "$IMG" sh -c 'echo $SLURM_STEP_ID'
    assert_output 3
    wait_exit "${PIDS[1]}" 100 || fail "the creator did not end"
    assert_equal "$WAIT_STATUS" 0
    assert_no_join_state
    run_nroot 125 run --join=bad/key "$IMG" true
    assert_nroot_error "^nroot: error: node-a: invalid --join key"
    run_nroot 125 run "$BATS_TEST_TMPDIR/no-such-image" true
    assert_nroot_error "^nroot: error: node-a: "
}

@test "join: --env-host passes nroot's environment; the image's variables win, -e over both" {
    need_oci
    # busybox sets FOO=from-image, BAR=image-bar and its PATH
    FOO=from-host ONLY_HOST=yes NROOT_SECRET=no BAR=host-bar run_nroot 0 run -q --env-host \
        -e BAR "$OCI/busybox" sh -c 'echo "$FOO $ONLY_HOST ${NROOT_SECRET:-unset} $BAR $PATH"'
    assert_output "from-image yes unset host-bar /opt/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    FOO=from-host run_nroot 0 run -q --env-host -e FOO=given "$OCI/busybox" sh -c 'echo $FOO'
    assert_output given
    # the host's preloaded libraries are not the container's; -e passes them
    # (set but empty: a real library would be preloaded into nroot itself,
    # which an ASan build refuses)
    LD_PRELOAD= LD_AUDIT= run_nroot 0 run -q --env-host "$IMG" sh -c 'echo ${LD_PRELOAD-unset} ${LD_AUDIT-unset}'
    assert_output "unset unset"
    LD_PRELOAD= run_nroot 0 run -q --env-host -e LD_PRELOAD "$IMG" sh -c 'echo "[${LD_PRELOAD-unset}]"'
    assert_output "[]"
    # an image without a PATH of its own: nroot's default, not the host's
    ONLY_HOST=yes run_nroot 0 run -q --env-host "$IMG" sh -c 'echo $ONLY_HOST $PATH'
    assert_output "yes /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    # without it, nothing of the host's
    ONLY_HOST=yes run_nroot 0 run -q "$IMG" sh -c 'echo ${ONLY_HOST:-unset}'
    assert_output unset
}

@test "join: --preserve-fds and --preserve-fd pass the caller's fds at their numbers, in run and exec" {
    echo three >"$JOIN/f3"
    echo four >"$JOIN/f4"
    echo five >"$JOIN/f5"
    run bash -c '"$1" run -q --preserve-fds 2 "$2" sh -c "cat <&3; cat <&4; ls /proc/\$\$/fd; true" 3<"$3/f3" 4<"$3/f4" 5<"$3/f5"' \
        _ "$NROOT" "$IMG" "$JOIN"
    assert_success
    assert_line --index 0 three
    assert_line --index 1 four
    refute_line 5
    run bash -c '"$1" run -q --preserve-fd 5 "$2" sh -c "cat <&5; ls /proc/\$\$/fd; true" 3<"$3/f3" 5<"$3/f5"' \
        _ "$NROOT" "$IMG" "$JOIN"
    assert_success
    assert_line --index 0 five
    refute_line 3
    # an fd that is not open
    run_nroot 125 run --preserve-fd 9 "$IMG" true
    assert_nroot_error "fd 9 is to be passed to the command, but it is not open"
    run_nroot 125 run --preserve-fd x "$IMG" true
    assert_nroot_error "invalid --preserve-fd"
    # exec
    run_nroot 0 run -d -q --name pfd "$IMG" sleep 1000
    run bash -c '"$1" exec --preserve-fd 4 pfd sh -c "cat <&4; ls /proc/\$\$/fd; true" 3<"$2/f3" 4<"$2/f4"' \
        _ "$NROOT" "$JOIN"
    assert_success
    assert_line --index 0 four
    refute_line 3
    run_nroot 125 exec --preserve-fd 3,9 pfd true
    assert_nroot_error "fd 9 is to be passed"
}

@test "join: PMI_FD in the command's environment passes that fd; PMIX_SERVER_TMPDIR is bound under --join" {
    echo pmi >"$JOIN/pmi"
    run bash -c 'PMI_FD=6 "$1" run -q --env-host "$2" sh -c "echo \$PMI_FD; cat <&6" 6<"$3/pmi"' \
        _ "$NROOT" "$IMG" "$JOIN"
    assert_success
    assert_output "6
pmi"
    run bash -c '"$1" run -q -e PMI_FD=6 "$2" sh -c "cat <&6" 6<"$3/pmi"' _ "$NROOT" "$IMG" "$JOIN"
    assert_success
    assert_output pmi
    PMI_FD=9 run_nroot 125 run --env-host "$IMG" true
    assert_nroot_error "fd 9 is to be passed to the command, but it is not open \\(PMI_FD\\)"
    # without --env-host or -e the host's PMI_FD is nothing to the command
    PMI_FD=9 run_nroot 0 run -q "$IMG" true
    mkdir "$JOIN/pmix"
    echo server >"$JOIN/pmix/uri"
    PMIX_SERVER_TMPDIR=$JOIN/pmix run_nroot 0 run -q --join=pmix --env-host "$IMG" \
        sh -c 'cat $PMIX_SERVER_TMPDIR/uri; echo rank >$PMIX_SERVER_TMPDIR/rank0'
    assert_output server
    assert_equal "$(cat "$JOIN/pmix/rank0")" rank
}

@test "join: with --name the named container is the shared one; a later run resumes its layer" {
    start_join 1 "$JOIN/a" run -q --join=s1 --name shared "$IMG" sh -c 'echo up; echo one >/kept; sleep 2; exit 1'
    wait_for 100 file_has "$JOIN/a" '^up$' || fail "no start: $(cat "$JOIN/a.err")"
    # another key, the same name: it joins the running container
    run_nroot 2 run -q --join=s2 --name shared "$IMG" sh -c 'cat /kept; exit 2'
    assert_output one
    wait_exit "${PIDS[1]}" 100 || fail "the creator did not end"
    assert_equal "$WAIT_STATUS" 1
    # ended: the next one resumes its layer
    run_nroot 0 run -q --join=s3 --name shared "$IMG" cat /kept
    assert_output one
    assert_no_join_state
}

@test "join: a signal to a creator whose command ended ends its wait for --join-count" {
    start_join 1 "$JOIN/a" run -q --join=sig --join-count 5 "$IMG" sh -c 'echo up; exit 4'
    wait_for 100 file_has "$JOIN/a" '^up$' || fail "no start: $(cat "$JOIN/a.err")"
    sleep 0.5
    kill -0 "${PIDS[1]}" || fail "the creator did not wait for the count"
    kill -TERM "${PIDS[1]}"
    wait_exit "${PIDS[1]}" 50 || fail "the creator still waits after SIGTERM"
    assert_equal "$WAIT_STATUS" 4
    assert_no_join_state
}

@test "join: the ranks of a key read each other's memory with process_vm_readv (CMA), in the default seccomp profile" {
    need_tool gcc
    mkdir "$JOIN/bin"
    cat >"$JOIN/cma.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
static char buf[64] = "from the other rank";
/* cma serve FILE: write pid and address, wait; cma read FILE: read them */
int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    if (strcmp(argv[1], "serve") == 0) {
        FILE *f = fopen(argv[2], "w");
        fprintf(f, "%d %p\n", getpid(), (void *)buf);
        fclose(f);
        sleep(20);
        return 0;
    }
    int pid;
    void *addr;
    FILE *f = fopen(argv[2], "r");
    if (!f || fscanf(f, "%d %p", &pid, &addr) != 2)
        return 2;
    char got[64] = "";
    struct iovec l = { got, sizeof got }, r = { addr, sizeof got };
    if (process_vm_readv(pid, &l, 1, &r, 1, 0) < 0) {
        printf("process_vm_readv: %s\n", strerror(errno));
        return 1;
    }
    printf("%s\n", got);
    return 0;
}
C
    gcc -static -O1 -o "$JOIN/bin/cma" "$JOIN/cma.c" 2>/dev/null || skip "gcc cannot link a static program here"
    start_join 1 "$JOIN/a" run -q --join=cma -v "$JOIN/bin:/x:ro" "$IMG" /x/cma serve /dev/shm/addr
    wait_for 100 pgrep -f "/x/cma serve /dev/shm/addr" >/dev/null ||
        fail "the first rank did not start: $(cat "$JOIN/a.err")"
    run_nroot 0 run -q --join=cma "$IMG" sh -c 'i=0; while [ ! -s /dev/shm/addr ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; /x/cma read /dev/shm/addr'
    assert_output "from the other rank"
    kill -TERM "${PIDS[1]}"
    wait_exit "${PIDS[1]}" 100 || fail "the first rank did not end"
    assert_equal "$WAIT_STATUS" 143
}

@test "join: with --name, a run of that name still ending (not of the key) is waited for, a bounded while" {
    # a creator's last moments look like this: its key files gone, the
    # named container still held; a detached run of the name stands in
    run_nroot 0 run -d -q --name ending "$IMG" sh -c 'echo kept >/kept; sleep 2'
    local t0=$SECONDS
    run_nroot 0 run -q --join=jx --name ending "$IMG" cat /kept
    assert_output kept
    [ $((SECONDS - t0)) -le 10 ] || fail "waited $((SECONDS - t0)) s"
    assert_no_join_state
}
