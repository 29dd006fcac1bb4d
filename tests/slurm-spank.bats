#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# slurm-spank.bats — spank_nroot.so (nroot-slurm(8)) in the private Slurm of
# tests/run: the plugstack.conf there loads this tree's spank_nroot.so with
# nroot= the nroot under test (tests/slurm.bash: slurm_need skips without it).

load helpers
load slurm

REPO_DIR=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}

setup() {
    slurm_need
    [ -e "$REPO_DIR/spank_nroot.so" ] || skip "spank_nroot.so is not built (make spank: needs libslurm-dev)"
    IMG=$IMAGES/rootfs.tar.gz
    WORK=$(mktemp -d "${BATS_TMPDIR:-/tmp}/spank.XXXXXX")
    chmod 755 "$WORK"
    cd "$WORK"
}

teardown() {
    cd /
    [ -z "${WORK:-}" ] || rm -rf "$WORK"
}

# srun with a bound: a hung step fails the test instead of the suite
srun_t() {
    timeout 120 srun "$@"
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

@test "spank: four tasks share one container, with the image's files" {
    run srun_t -n4 --container-image="$IMG" sh -c \
        'echo $SLURM_PROCID $(readlink /proc/self/ns/user /proc/self/ns/mnt /proc/self/ns/ipc /proc/self/ns/pid) $(cat /data/unchanged.txt)'
    assert_success
    [ "$(echo "$output" | wc -l)" = 4 ] || fail "not four lines: $output"
    [ "$(echo "$output" | cut -d' ' -f1 | sort | tr '\n' ' ')" = "0 1 2 3 " ] || fail "ranks: $output"
    [ "$(echo "$output" | cut -d' ' -f2- | sort -u | wc -l)" = 1 ] || fail "not one container: $output"
    assert_output --partial original
    # the host's own namespaces are not the container's
    [[ "$output" != *"$(readlink /proc/self/ns/mnt)"* ]] || fail "the tasks ran on the host"
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
    run srun_t -n1 --container-image="$IMG" id -u
    assert_output "$(id -u)"
    run srun_t -n1 --container-image="$IMG" --no-container-remap-root id -u
    assert_output "$(id -u)"
    run srun_t -n1 --container-image="$IMG" --container-remap-root id -u
    assert_output 0
}

@test "spank: PMI-2 reaches the tasks: ranks, and PMI_FD a socket" {
    srun --mpi=list 2>&1 | grep -q pmi2 || skip "no mpi/pmi2 plugin"
    run srun_t -n2 --mpi=pmi2 --container-image="$IMG" sh -c \
        'echo $PMI_RANK $PMI_SIZE $(readlink /proc/self/fd/$PMI_FD | cut -d: -f1)'
    assert_success
    assert_line "0 2 socket"
    assert_line "1 2 socket"
}

@test "spank: sbatch --container-image runs the batch script in the container" {
    printf '#!/bin/sh\ncat /data/unchanged.txt\n' > "$WORK/job.sh"
    run timeout 120 sbatch --wait -o "$WORK/out" --container-image="$IMG" "$WORK/job.sh"
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
