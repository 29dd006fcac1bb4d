# SPDX-License-Identifier: Apache-2.0
# tests/slurm.bash — the private Slurm of tests/run for the Slurm and MPI
# tests (issue 15).  Load it after helpers:   load helpers; load slurm
#
# tests/run (as root) starts a single-node Slurm (tests/helper/slurm-fixture)
# when a tests/slurm*.bats or tests/mpi*.bats file is selected, and gives the
# suite:
#   SLURM_CONF            its slurm.conf: srun, sbatch, salloc, squeue,
#                         scancel, sinfo use it (node "localhost", CPUs=2,
#                         partition debug, OverSubscribe=FORCE: more tasks
#                         than CPUs need --overcommit, i.e. slurm_srun -O)
#   NROOT_TEST_SLURM_DIR  its directory: ok or unavailable (the reason),
#                         plugstack.conf, spool/ (SlurmdSpoolDir: PMIx
#                         rendezvous dirs), log/slurmd.log, log/slurmctld.log
# The MPI image (tests/run's build_mpi_image, in the image cache):
#   $IMAGES/mpi.tar.zst          bookworm minbase + openmpi-bin, with
#                                /usr/local/bin/mpi-ring and pmi2-probe
#   $IMAGES/mpi-bin/mpi-ring     the same programs for the host
#   $IMAGES/mpi-bin/pmi2-probe   (pmi2-probe is also $IMG/bin/pmi2-probe in
#                                the busybox test image and $IMAGES/pmi2-probe)
#
# slurm_need                skip the test (with the reason) without Slurm
# slurm_need_mpi_image      skip without the MPI image; sets MPI_IMAGE, MPI_BIN
# slurm_need_spank          skip unless plugstack.conf loads spank_nroot.so
#                           and srun shows its --container-image
# slurm_srun ARGS...        srun -J "$SLURM_TEST_JOB" ARGS, bounded by
#                           SLURM_TEST_TIMEOUT (default 60 s; TERM, KILL
#                           10 s later); the test's environment (exported
#                           variables, cwd) reaches the tasks (srun's
#                           --export=ALL default).  Use it under `run`.
# slurm_sbatch ARGS...      sbatch --parsable -J "$SLURM_TEST_JOB" ARGS
#                           (bounded); prints the job id
# slurm_salloc ARGS...      salloc -J "$SLURM_TEST_JOB" ARGS, non-interactive
#                           (e.g. slurm_salloc -n2 srun hostname), bounded
# slurm_jobs                this test's job ids (queued or running)
# slurm_cancel_all          scancel this test's jobs and wait (bounded) until
#                           squeue has none of them; slurm_teardown does it
# slurm_wait_gone JOBID     wait (bounded) until the job left squeue
# slurm_leftovers JOBID...  the processes (pid comm, one a line) on the node
#                           that still belong to the jobs: any process with
#                           SLURM_JOB_ID=JOBID in its environment, and every
#                           descendant of one (containers that cleared their
#                           environment included); empty when all are gone
# slurm_wait_no_leftovers SECONDS JOBID...  wait until slurm_leftovers is
#                           empty; fails (printing them) after SECONDS
# slurm_mounts_under DIR    the mount points under DIR in the node's (this
#                           process's) mount namespace, one a line
# slurm_setup               for setup(): helpers.bash's setup, then slurm_need
# slurm_teardown            for teardown(): cancel this test's jobs, then
#                           teardown_default
# A file of Slurm tests:
#   load helpers; load slurm
#   setup() { slurm_setup; }        (or slurm_need in each test)
#   teardown() { slurm_teardown; }
#
# Every job a test submits through these helpers is named SLURM_TEST_JOB
# (nroottest-PID-TESTNUMBER), so slurm_jobs/slurm_cancel_all see only it.

: "${SLURM_TEST_TIMEOUT:=60}"
# helpers.bash's setup, under another name (a file's setup() replaces it)
eval "$(declare -f setup | sed '1s/^setup/slurm_helpers_setup/')"
SLURM_TEST_JOB="nroottest-$$-${BATS_TEST_NUMBER:-0}"

slurm_need() {
    local d=${NROOT_TEST_SLURM_DIR:-}
    if [ -z "$d" ]; then
        skip "no Slurm: tests/run starts one when it runs as root (tests/helper/slurm-fixture)"
    fi
    if [ ! -f "$d/ok" ] || [ -z "${SLURM_CONF:-}" ]; then
        skip "no Slurm: $(cat "$d/unavailable" 2>/dev/null || echo "the fixture in $d did not start")"
    fi
    SLURM_TEST_JOB="nroottest-$$-${BATS_TEST_NUMBER:-0}"
}

slurm_need_mpi_image() {
    slurm_need
    if [ ! -s "$IMAGES/mpi.tar.zst" ]; then
        skip "no MPI image: $(cat "$IMAGES/mpi.unavailable" 2>/dev/null || echo "tests/run did not build it")"
    fi
    MPI_IMAGE=$IMAGES/mpi.tar.zst
    MPI_BIN=$IMAGES/mpi-bin
}

slurm_need_spank() {
    slurm_need
    grep -q 'spank_nroot\.so' "$NROOT_TEST_SLURM_DIR/plugstack.conf" 2>/dev/null ||
        skip "the private Slurm loads no spank_nroot.so (make spank, or NROOT_TEST_SPANK=FILE)"
    timeout 20 srun --help 2>&1 | grep -q -- '--container-image' ||
        skip "srun --help shows no --container-image: spank_nroot.so did not load"
}

_slurm_bounded() {
    timeout -k 10 "$SLURM_TEST_TIMEOUT" "$@"
}

slurm_srun() {
    _slurm_bounded srun -J "$SLURM_TEST_JOB" "$@"
}

slurm_sbatch() {
    _slurm_bounded sbatch --parsable -J "$SLURM_TEST_JOB" "$@"
}

slurm_salloc() {
    _slurm_bounded salloc -J "$SLURM_TEST_JOB" "$@"
}

slurm_jobs() {
    timeout 20 squeue -h -n "$SLURM_TEST_JOB" -o %A 2>/dev/null
}

slurm_wait_gone() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ -z "$(timeout 20 squeue -h -j "$1" -o %A 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    echo "job $1 is still in squeue after 30 s" >&2
    return 1
}

slurm_cancel_all() {
    local jobs i
    [ -n "${SLURM_CONF:-}" ] || return 0
    jobs=$(slurm_jobs)
    [ -n "$jobs" ] || return 0
    # shellcheck disable=SC2086
    timeout 20 scancel $jobs 2>/dev/null
    for ((i = 0; i < 300; i++)); do
        [ -z "$(slurm_jobs)" ] && return 0
        sleep 0.1
    done
    echo "jobs still queued after scancel: $(slurm_jobs | tr '\n' ' ')" >&2
    return 1
}

slurm_leftovers() {
    local -A mine=() parent=() comm=()
    local p j pp line pats=()
    for j in "$@"; do pats+=(-e "SLURM_JOB_ID=$j"); done
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
        # "pid (comm) state ppid ...": comm may hold spaces and parens
        comm[$p]=${line#*(}
        comm[$p]=${comm[$p]%)*}
        line=${line##*) }
        read -r _ pp _ <<<"$line"
        parent[$p]=$pp
        grep -qxz "${pats[@]}" "/proc/$p/environ" 2>/dev/null && mine[$p]=1
    done
    for p in "${!parent[@]}"; do
        [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
        pp=$p
        while [ -n "$pp" ] && [ "$pp" -gt 1 ]; do
            if [ -n "${mine[$pp]:-}" ]; then
                [ -d "/proc/$p" ] && echo "$p ${comm[$p]}"
                break
            fi
            pp=${parent[$pp]:-}
        done
    done
}

slurm_wait_no_leftovers() {
    local t=$1 i left
    shift
    for ((i = 0; i < t * 5; i++)); do
        left=$(slurm_leftovers "$@")
        [ -z "$left" ] && return 0
        sleep 0.2
    done
    echo "processes of job(s) $* left on the node after $t s:" >&2
    echo "$left" >&2
    return 1
}

slurm_mounts_under() {
    local dir
    dir=$(realpath -m "$1")
    awk -v d="$dir" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' \
        /proc/self/mountinfo
}

slurm_teardown() {
    slurm_cancel_all
    teardown_default
}

slurm_setup() {
    slurm_helpers_setup
    slurm_need
}
