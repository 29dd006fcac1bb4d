#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# mpi.bats — MPI in the private Slurm of tests/run, with spank_nroot.so
# (srun --container-image) and with plain `srun nroot run --hpc`: PMIx
# reaches the ranks, and OpenMPI's ring/allreduce (tests/helper/mpi-ring.c
# in the MPI image) passes over shared memory with CMA (btl self,vader,
# single copy cma: no TCP, so the ranks must share the container) between
# the ranks of one container; mpirun inside one container works too.
# PMI-2 is checked by its wire protocol (pmi2-probe) in slurm.bats and
# slurm-spank.bats: Debian's OpenMPI has no PMI-2 support (only PMIx), so
# its ranks under --mpi=pmi2 cannot MPI_Init, in a container or not.

load helpers
load slurm

REPO_DIR=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}

setup() {
    slurm_setup
    slurm_need_mpi_image
    # shared memory only: vader for the bytes, CMA (process_vm_readv) for
    # the 1 MiB allreduce
    export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=cma
}

teardown() {
    slurm_teardown
}

need_pmix() {
    srun --mpi=list 2>&1 | grep -q pmix || skip "no mpi/pmix plugin in this Slurm"
}

need_plugin() {
    [ -e "$REPO_DIR/spank_nroot.so" ] || skip "spank_nroot.so is not built (make spank: needs libslurm-dev)"
    slurm_need_spank
}

# the ring's lines for N ranks, all ok
assert_ring() {
    local n=$1 r
    assert_success
    for ((r = 0; r < n; r++)); do
        assert_line --regexp "^mpi-ring: rank $r of $n on "
        assert_line "mpi-ring: rank $r: ok"
        assert_line --regexp "^mpi-ring: rank $r: allreduce sum [0-9]+, big ok$"
    done
}

@test "mpi: PMIx with srun --container-image: PMIX_* set, the server reachable, the ring over vader/CMA" {
    need_pmix
    need_plugin
    run slurm_srun -n2 --mpi=pmix --container-image="$MPI_IMAGE" sh -c \
        'echo env $PMIX_RANK ${PMIX_NAMESPACE:+ns} ${PMIX_SERVER_URI2:+uri} $(test -d "$PMIX_SERVER_TMPDIR" && echo tmpdir) $(for n in user ipc pid; do readlink /proc/self/ns/$n; done); exec mpi-ring'
    assert_ring 2
    assert_line --regexp "^env 0 ns uri tmpdir "
    assert_line --regexp "^env 1 ns uri tmpdir "
    [ "$(echo "$output" | grep '^env ' | cut -d' ' -f6- | sort -u | wc -l)" = 1 ] ||
        fail "the ranks are not in one container: $output"
}

@test "mpi: PMIx with plain srun nroot run --hpc --userns=keep-id: the ring over vader/CMA" {
    need_pmix
    run slurm_srun -n2 --mpi=pmix "$NROOT" run --hpc --userns=keep-id "$MPI_IMAGE" -- sh -c \
        'echo env $PMIX_RANK $(test -d "$PMIX_SERVER_TMPDIR" && echo tmpdir); exec mpi-ring'
    assert_ring 2
    assert_line "env 0 tmpdir"
    assert_line "env 1 tmpdir"
}

@test "mpi: mpirun inside one container (srun -n1 --container-image, and nroot run outside Slurm)" {
    run timeout 120 "$NROOT" run --userns=keep-id "$MPI_IMAGE" -- mpirun -np 2 --oversubscribe mpi-ring
    assert_ring 2
    need_plugin
    run slurm_srun -n1 --container-image="$MPI_IMAGE" mpirun -np 2 --oversubscribe mpi-ring
    assert_ring 2
}
