#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# slurm.bats — plain `srun ... nroot run --hpc IMAGE -- CMD` (no plugin) in
# the private Slurm of tests/run: the tasks of a step on the node share one
# container, the image is imported once, PMI-2 works, a killed step leaves
# nothing, and a node that cannot run containers fails each task with one
# line naming the node and the cause.  The MPI side: mpi.bats.

load helpers
load slurm

setup() {
    slurm_setup
    IMG=$IMAGES/rootfs.tar.gz
}

teardown() {
    slurm_teardown
}

@test "srun nroot run --hpc: four tasks, one container, one import" {
    # stdout only: in mode single nroot notes its one-id mapping on stderr
    run --separate-stderr slurm_srun -O -n4 "$NROOT" run --hpc "$IMG" -- sh -c \
        'echo $SLURM_PROCID $(for n in user mnt ipc pid; do readlink /proc/self/ns/$n; done) $(cat /data/unchanged.txt)'
    assert_success
    [ "$(echo "$output" | grep -c ' original$')" = 4 ] || fail "not four tasks: $output"
    [ "$(echo "$output" | cut -d' ' -f1 | sort | tr '\n' ' ')" = "0 1 2 3 " ] || fail "ranks: $output"
    [ "$(echo "$output" | cut -d' ' -f2- | sort -u | wc -l)" = 1 ] || fail "not one container: $output"
    [[ "$output" != *"$(readlink /proc/self/ns/mnt)"* ]] || fail "the tasks ran on the host"
    # four nroots started at once: one unpacked the image (one source line,
    # each import adds one), the others waited on the store's lock and found it
    [ "$(ls "$STORE/images" | wc -l)" = 1 ] || fail "images: $(ls "$STORE/images")"
    [ "$(wc -l < "$STORE/images"/*/sources)" = 1 ] || fail "sources: $(cat "$STORE/images"/*/sources)"
    [ -z "$(ls -A "$XDG_RUNTIME_DIR/nroot/join" 2>/dev/null)" ] || fail "join files left"
}

@test "srun nroot run --hpc: a single-id mapping's notice comes from the creator only, not from the tasks that join" {
    # mode single (no newuidmap): the creator maps one id and says so; the
    # joiners enter its user namespace and map nothing
    run --separate-stderr slurm_srun -O -n4 "$NROOT" run --hpc "$IMG" -- true
    assert_success
    local notices
    notices=$(echo "$stderr" | grep -c 'single-id mapping' || true)
    if [ "$NROOT_TEST_MODE" = single ]; then
        [ "$notices" = 1 ] || fail "not one notice: $stderr"
    else
        [ "$notices" = 0 ] || fail "a notice: $stderr"
    fi
}

@test "srun nroot run --hpc: PMI-2 for real (pmi2-probe: ranks, size, PMI_FD a socket, fence)" {
    srun --mpi=list 2>&1 | grep -q pmi2 || skip "no mpi/pmi2 plugin"
    run slurm_srun -n2 --mpi=pmi2 "$NROOT" run --hpc "$IMG" -- pmi2-probe
    assert_success
    assert_line "pmi2-probe: rank=0 size=2"
    assert_line "pmi2-probe: rank=1 size=2"
    assert_line --regexp "^pmi2-probe: PMI_FD=[0-9]+ is a socket$"
    [ "$(echo "$output" | grep -c 'fence ok')" = 2 ] || fail "fence: $output"
}

@test "srun nroot run --hpc: scancel mid-step leaves no process, mount or join file" {
    mkdir -p "$BATS_TEST_TMPDIR/up"
    slurm_srun -n2 "$NROOT" run --hpc -v "$BATS_TEST_TMPDIR/up:/up" "$IMG" -- \
        sh -c 'touch /up/$SLURM_PROCID; exec sleep 300' >/dev/null 2>&1 &
    BG_PIDS+=($!)
    wait_for 300 test -e "$BATS_TEST_TMPDIR/up/1" -a -e "$BATS_TEST_TMPDIR/up/0" ||
        fail "the tasks did not start"
    local job
    job=$(slurm_jobs)
    [ -n "$job" ] || fail "no job"
    timeout 20 scancel "$job"
    slurm_wait_gone "$job"
    slurm_wait_no_leftovers 20 "$job"
    [ -z "$(slurm_mounts_under "$BATS_TEST_TMPDIR")" ] || fail "mounts left: $(slurm_mounts_under "$BATS_TEST_TMPDIR")"
    wait_for 50 eval "[ -z \"\$(ls -A '$XDG_RUNTIME_DIR/nroot/join' 2>/dev/null)\" ]" ||
        fail "join files left: $(ls -A "$XDG_RUNTIME_DIR/nroot/join")"
}

# A node whose kernel refuses user namespaces, or whose /dev/fuse is not
# usable: provoked per task in a user namespace of its own (unshare -r),
# where max_user_namespaces is 0, or /dev/fuse is a file the task cannot
# write (a bind of a file of the real root).  Every task fails with 125 and
# one line: "nroot: error: NODE: CAUSE".
@test "srun nroot run --hpc: a refused user namespace fails each task with one line naming the node" {
    run slurm_srun -n2 unshare -r sh -c \
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" run --userns=single --hpc "$1" -- true' \
        "$NROOT" "$IMG"
    assert_failure
    [ "$(echo "$output" | grep -c '^nroot: error: ')" = 2 ] || fail "not one line per task: $output"
    [ "$(echo "$output" | grep -c '^nroot: error: localhost: cannot create namespaces: ')" = 2 ] ||
        fail "the node or the cause is missing: $output"
    assert_line --regexp "srun: error: .*: tasks? 0-1: Exited with exit code 125"
}

@test "srun nroot run --hpc: an unusable /dev/fuse fails each task with one line naming the node" {
    run slurm_srun -n2 unshare -rm sh -c \
        'mount --bind /etc/hostname /dev/fuse && NROOT_OVERLAY=fuse exec "$0" run --userns=single --hpc "$1" -- true' \
        "$NROOT" "$IMG"
    assert_failure
    [ "$(echo "$output" | grep -c '^nroot: error: localhost: cannot use fuse-overlayfs: /dev/fuse: ')" = 2 ] ||
        fail "not one line per task naming the node: $output"
    assert_line --regexp "srun: error: .*: tasks? 0-1: Exited with exit code 125"
}
