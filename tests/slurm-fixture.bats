#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The private Slurm of tests/run (tests/helper/slurm-fixture, tests/slurm.bash)
# checked without nroot: srun, sbatch and salloc steps as the test user, PMI-2
# and PMIx reaching the tasks, MPI on the host, and scancel leaving nothing
# behind — what the Slurm and MPI tests of nroot build on.

load helpers
load slurm

setup() {
    slurm_setup
}

teardown() {
    slurm_teardown
}

@test "slurm fixture: its own ports, munge socket and directories, nothing of /etc" {
    local d=$NROOT_TEST_SLURM_DIR
    [ "$SLURM_CONF" = "$d/slurm.conf" ]
    run grep -E '^(SlurmctldPort|SlurmdPort|AuthInfo|StateSaveLocation|SlurmdSpoolDir|PlugStackConfig)=' "$SLURM_CONF"
    assert_success
    refute_output --partial '/etc/'
    refute_output --partial '/run/munge'
    refute_output --regexp 'Port=681[78]$'
    assert_output --partial "AuthInfo=socket=$d/munge/munge.socket"
    run timeout 20 sinfo -h -N -o '%N %T %c'
    assert_success
    assert_output "localhost idle 2"
}

@test "slurm fixture: srun -n2 hostname runs two tasks as the test user" {
    run slurm_srun -n2 sh -c 'echo "$SLURM_PROCID $(id -un) $(hostname)"'
    assert_success
    assert_line "0 $(id -un) $(hostname)"
    assert_line "1 $(id -un) $(hostname)"
    [ "${#lines[@]}" = 2 ]
}

@test "slurm fixture: the test's environment reaches the tasks" {
    export NROOT_SLURM_PROBE="a b=c"
    run slurm_srun -n1 printenv NROOT_SLURM_PROBE
    assert_success
    assert_output "a b=c"
}

@test "slurm fixture: srun -n2 --mpi=pmi2 pmi2-probe: ranks 0 and 1 of 2, PMI_FD a socket, the fence works" {
    run slurm_srun -n2 --mpi=pmi2 "$IMAGES/pmi2-probe"
    assert_success
    assert_line "pmi2-probe: rank=0 size=2"
    assert_line "pmi2-probe: rank=1 size=2"
    assert_line --regexp '^pmi2-probe: PMI_FD=[0-9]+ is a socket$'
    refute_line --partial 'is not a socket'
    assert_line "pmi2-probe: fence ok: rank 1 put hello-1"
    assert_line "pmi2-probe: fence ok: rank 0 put hello-0"
}

@test "slurm fixture: pmi2-probe without srun --mpi=pmi2 says PMI_FD is not set" {
    run slurm_srun -n1 "$IMG/bin/pmi2-probe"
    assert_failure
    assert_line "pmi2-probe: error: PMI_FD is not set (not started by srun --mpi=pmi2?)"
}

@test "slurm fixture: srun -n2 --mpi=pmix sets PMIX_RANK, PMIX_NAMESPACE and a server tmpdir in the spool" {
    run slurm_srun -n2 --mpi=pmix sh -c 'echo "rank=$PMIX_RANK ns=${PMIX_NAMESPACE:+set} tmp=$PMIX_SERVER_TMPDIR"'
    assert_success
    assert_line --regexp "^rank=0 ns=set tmp=$NROOT_TEST_SLURM_DIR/spool/pmix\.[0-9]+\.0/?\$"
    assert_line --regexp "^rank=1 ns=set tmp=$NROOT_TEST_SLURM_DIR/spool/pmix\.[0-9]+\.0/?\$"
}

@test "slurm fixture: sbatch --wait runs a batch script and its step" {
    local out=$BATS_TEST_TMPDIR/job.out
    cat >"$BATS_TEST_TMPDIR/job.sh" <<'EOF'
#!/bin/sh
echo "batch $SLURM_JOB_ID"
srun -n2 sh -c 'echo "step $SLURM_STEP_ID task $SLURM_PROCID"'
EOF
    run slurm_sbatch --wait -n2 -o "$out" "$BATS_TEST_TMPDIR/job.sh"
    assert_success
    local job=$output
    [[ $job =~ ^[0-9]+$ ]]
    run cat "$out"
    assert_line "batch $job"
    assert_line "step 0 task 0"
    assert_line "step 0 task 1"
}

@test "slurm fixture: sbatch --wait fails with the script's failure" {
    run slurm_sbatch --wait -n1 -o /dev/null --wrap 'exit 3'
    assert_failure
}

@test "slurm fixture: salloc -n2 srun runs the step in the allocation" {
    run slurm_salloc -n2 srun sh -c 'echo "task $SLURM_PROCID of $SLURM_NTASKS job ${SLURM_JOB_ID:+set}"'
    assert_success
    assert_line "task 0 of 2 job set"
    assert_line "task 1 of 2 job set"
}

@test "slurm fixture: more tasks than CPUs with --overcommit (-O)" {
    run slurm_srun -O -n4 sh -c 'echo "task $SLURM_PROCID"'
    assert_success
    [ "${#lines[@]}" = 4 ]
    assert_line "task 3"
}

@test "slurm fixture: mpi-ring on the host under srun --mpi=pmix -n2 (vader, CMA)" {
    [ -x "$IMAGES/mpi-bin/mpi-ring" ] ||
        skip "no mpi-ring: $(cat "$IMAGES/mpi.unavailable" 2>/dev/null || echo "tests/run did not build it")"
    export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=cma
    export OMPI_MCA_plm_rsh_agent=false
    run slurm_srun -n2 --mpi=pmix "$IMAGES/mpi-bin/mpi-ring"
    assert_success
    assert_line "mpi-ring: rank 0 of 2 on $(hostname)"
    assert_line "mpi-ring: rank 1 of 2 on $(hostname)"
    assert_line "mpi-ring: rank 0: ring sum 1"
    assert_line "mpi-ring: rank 0: ok"
    assert_line "mpi-ring: rank 1: ok"
}

@test "slurm fixture: scancel leaves none of a job's processes on the node, background ones included" {
    local out=$BATS_TEST_TMPDIR/bg.out job
    # a batch script with a background sleep, and a step whose two tasks
    # each leave a background sleep and wait
    job=$(slurm_sbatch -n2 -o "$out" --wrap \
        "sleep 301 & srun -n2 sh -c 'sleep 302 & echo started \$SLURM_PROCID; wait'")
    [[ $job =~ ^[0-9]+$ ]]
    local i
    for ((i = 0; i < 150; i++)); do
        [ "$(grep -c '^started' "$out" 2>/dev/null)" = 2 ] && break
        sleep 0.2
    done
    run grep -c '^started' "$out"
    assert_output 2
    run slurm_leftovers "$job"
    assert_success
    assert_line --regexp '^[0-9]+ sleep$'
    [ "$(grep -c ' sleep$' <<<"$output")" = 3 ]
    run timeout 20 scancel "$job"
    assert_success
    slurm_wait_gone "$job"
    slurm_wait_no_leftovers 30 "$job"
}

@test "slurm fixture: slurm_mounts_under lists the mounts under a directory" {
    run slurm_mounts_under /proc
    assert_success
    assert_line /proc
    run slurm_mounts_under "$BATS_TEST_TMPDIR"
    assert_success
    assert_output ""
}
