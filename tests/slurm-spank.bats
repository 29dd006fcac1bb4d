#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# slurm-spank.bats — spank_nroot.so (nroot-slurm(8)) in the private Slurm of
# tests/run: the plugstack.conf there loads this tree's spank_nroot.so with
# nroot= the nroot under test (tests/slurm.bash: slurm_need skips without it).

load helpers
load slurm

REPO_DIR=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}

setup() {
    slurm_setup
    [ -e "$REPO_DIR/spank_nroot.so" ] || skip "spank_nroot.so is not built (make spank: needs libslurm-dev)"
    IMG=$IMAGES/rootfs.tar.gz
    WORK=$(mktemp -d "${BATS_TMPDIR:-/tmp}/spank.XXXXXX")
    chmod 755 "$WORK"
    cd "$WORK"
}

teardown() {
    cd /
    [ -z "${WORK:-}" ] || rm -rf "$WORK"
    slurm_teardown
}

# srun with a bound: a hung step fails the test instead of the suite
srun_t() {
    slurm_srun "$@"
}

@test "spank: a bad option value is one line from srun and nothing starts" {
    run srun_t -n1 --container-image="$IMG" --container-mounts=relative:/b touch "$WORK/ran"
    assert_failure
    assert_output "srun: error: Invalid --container-mounts argument: relative:/b"
    [ ! -e "$WORK/ran" ]
    run srun_t -n1 --container-image="$IMG" --container-workdir=rel true
    assert_failure
    assert_output "srun: error: Invalid --container-workdir argument: rel"
    run srun_t -n1 --container-image="$IMG" --container-env=1BAD true
    assert_output "srun: error: Invalid --container-env argument: 1BAD"
}

@test "spank: four tasks share one container, with the image's files; one import" {
    # 4 tasks on 2 CPUs: -O; the namespaces one a line (busybox readlink takes one file)
    run srun_t -O -n4 --container-image="$IMG" sh -c \
        'echo $SLURM_PROCID $(for n in user mnt ipc pid; do readlink /proc/self/ns/$n; done) $(cat /data/unchanged.txt)'
    assert_success
    [ "$(echo "$output" | wc -l)" = 4 ] || fail "not four lines: $output"
    [ "$(echo "$output" | cut -d' ' -f1 | sort | tr '\n' ' ')" = "0 1 2 3 " ] || fail "ranks: $output"
    [ "$(echo "$output" | cut -d' ' -f2- | sort -u | wc -l)" = 1 ] || fail "not one container: $output"
    [ "$(echo "$output" | head -n1 | wc -w)" = 6 ] || fail "not four namespaces: $output"
    assert_output --partial original
    # the host's own namespaces are not the container's
    [[ "$output" != *"$(readlink /proc/self/ns/mnt)"* ]] || fail "the tasks ran on the host"
    # one import: the plugin's (user_init, once per node); the tasks found
    # the image in the store and did not unpack it again
    [ "$(ls "$STORE/images" | wc -l)" = 1 ] || fail "images: $(ls "$STORE/images")"
    [ "$(wc -l < "$STORE/images"/*/sources)" = 1 ] || fail "sources: $(cat "$STORE/images"/*/sources)"
}

@test "spank: an image that fails on the node fails every task with 125 and one line naming it" {
    run srun_t -n2 --container-image="$WORK/missing.tar" true
    assert_failure
    local node
    node=$(srun_t -n1 hostname)
    [ "$(echo "$output" | grep -c '^nroot: error: ')" = 1 ] || fail "not one nroot line: $output"
    assert_line --regexp "^nroot: error: [^ ]+: .*missing\.tar"
    assert_line --regexp "srun: error: .*: tasks? 0-1: Exited with exit code 125"
}

@test "spank: an import failure with a hint reports its cause, not the hint" {
    # nroot import's error line is followed by a hint line: the cause is the error
    echo garbage > "$WORK/bad.tar"
    run srun_t -n2 --container-image="$WORK/bad.tar" true
    assert_failure
    [ "$(echo "$output" | grep -c '^nroot: error: ')" = 1 ] || fail "not one nroot line: $output"
    assert_line --regexp "^nroot: error: [^ ]+: .*bad\.tar.*: Unrecognized archive format$"
    refute_output --partial "hint"
}

@test "spank: an image that looks like an option of nroot run's is refused by srun" {
    run srun_t -n1 --container-image=--cap-add=ALL touch "$WORK/ran"
    assert_failure
    assert_output "srun: error: Invalid --container-image argument: --cap-add=ALL"
    [ ! -e "$WORK/ran" ]
}

@test "spank: the task's TMPDIR is bound in; one with a ':' (which -v cannot say) is not, and the task runs" {
    mkdir -p "$WORK/tmp" "$WORK/t:mp"
    seen=$(TMPDIR=$WORK/tmp srun_t -n1 --container-image="$IMG" sh -c 'touch "$TMPDIR/x" && echo ok')
    [ "$seen" = ok ] && [ -e "$WORK/tmp/x" ] || fail "TMPDIR not bound: $seen"
    seen=$(TMPDIR=$WORK/t:mp srun_t -n1 --container-image="$IMG" echo ran)
    [ "$seen" = ran ] || fail "a TMPDIR with ':' failed the task: $seen"
}

@test "spank: --container-mounts, --container-workdir, --container-env" {
    mkdir -p "$WORK/in" && echo from-host > "$WORK/in/f"
    run srun_t -n1 --container-image="$IMG" --container-mounts="$WORK/in:/mnt/in:ro" \
        --container-workdir=/mnt/in sh -c 'pwd; cat f; touch g 2>/dev/null || echo read-only'
    assert_success
    assert_output "/mnt/in
from-host
read-only"
    seen=$(FOO=bar srun_t -n1 --container-image="$IMG" --container-env=FOO sh -c 'echo $FOO')
    [ "$seen" = bar ]
}

@test "spank: the user's own uid by default, root with --container-remap-root" {
    # stdout only: in mode single nroot notes its one-id mapping on stderr
    run --separate-stderr srun_t -n1 --container-image="$IMG" id -u
    assert_output "$(id -u)"
    run --separate-stderr srun_t -n1 --container-image="$IMG" --no-container-remap-root id -u
    assert_output "$(id -u)"
    run --separate-stderr srun_t -n1 --container-image="$IMG" --container-remap-root id -u
    assert_output 0
}

@test "spank: PMI-2 reaches the tasks: pmi2-probe (ranks, size, PMI_FD a socket, fence)" {
    srun --mpi=list 2>&1 | grep -q pmi2 || skip "no mpi/pmi2 plugin"
    run srun_t -n2 --mpi=pmi2 --container-image="$IMG" sh -c \
        'echo $PMI_RANK $PMI_SIZE $(readlink /proc/self/fd/$PMI_FD | cut -d: -f1); exec pmi2-probe'
    assert_success
    assert_line "0 2 socket"
    assert_line "1 2 socket"
    assert_line "pmi2-probe: rank=0 size=2"
    assert_line "pmi2-probe: rank=1 size=2"
    [ "$(echo "$output" | grep -c 'fence ok')" = 2 ] || fail "fence: $output"
}

@test "spank: sbatch --container-image runs the batch script in the container" {
    printf '#!/bin/sh\ncat /data/unchanged.txt\n' > "$WORK/job.sh"
    run slurm_sbatch --wait -o "$WORK/out" --container-image="$IMG" "$WORK/job.sh"
    assert_success
    [ "$(cat "$WORK/out")" = original ] || fail "batch output: $(cat "$WORK/out")"
}

@test "spank: --container-name is reused by the next step" {
    local name=spank$$
    srun_t -n1 --container-image="$IMG" --container-name=$name sh -c 'echo kept > /state'
    run srun_t -n1 --container-image="$IMG" --container-name=$name cat /state
    assert_output kept
    run_nroot 0 rm $name
}

@test "spank: steps inside salloc run in the container" {
    run slurm_salloc -n2 --container-image="$IMG" srun cat /data/unchanged.txt
    assert_success
    [ "$(echo "$output" | grep -c '^original$')" = 2 ] || fail "salloc's step: $output"
    # the option on srun inside a plain allocation
    run slurm_salloc -n1 srun --container-image="$IMG" cat /data/unchanged.txt
    assert_success
    assert_line original
}

@test "spank: scancel mid-step leaves no process and no mount on the node" {
    mkdir -p "$WORK/up"
    slurm_srun -n2 --container-image="$IMG" --container-mounts="$WORK/up:/up" \
        sh -c 'touch /up/$SLURM_PROCID; exec sleep 300' >/dev/null 2>&1 &
    BG_PIDS+=($!)
    local i job
    for ((i = 0; i < 300; i++)); do
        [ -e "$WORK/up/0" ] && [ -e "$WORK/up/1" ] && break
        sleep 0.1
    done
    [ -e "$WORK/up/1" ] || fail "the tasks did not start: $(ls "$WORK/up")"
    job=$(slurm_jobs)
    [ -n "$job" ] || fail "no job"
    [ -n "$(slurm_leftovers "$job")" ] || fail "the step's processes are not seen"
    timeout 20 scancel "$job"
    slurm_wait_gone "$job"
    slurm_wait_no_leftovers 20 "$job"
    [ -z "$(slurm_mounts_under "$STORE")" ] || fail "mounts left: $(slurm_mounts_under "$STORE")"
    [ -z "$(slurm_mounts_under "$XDG_RUNTIME_DIR")" ] || fail "mounts left: $(slurm_mounts_under "$XDG_RUNTIME_DIR")"
    [ -z "$(ls -A "$XDG_RUNTIME_DIR/nroot/join" 2>/dev/null)" ] ||
        fail "join files left: $(ls -A "$XDG_RUNTIME_DIR/nroot/join")"
}
