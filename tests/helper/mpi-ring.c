// SPDX-License-Identifier: Apache-2.0
// tests/helper/mpi-ring.c — the MPI test program of the MPI image (tests/run
// compiles it on the host with mpicc and puts it at /usr/local/bin/mpi-ring):
// every rank prints its rank, size and host, passes a token around the ring
// (rank 0 sends 0, every rank adds its rank and passes it on; rank 0 checks
// the sum), runs an allreduce of the ranks and a 1 MiB allreduce (large
// enough that vader's single-copy mechanism, CMA, carries it between ranks of
// one node), then prints "mpi-ring: ok".
// Output, per rank R of N:
//   mpi-ring: rank R of N on HOST
//   mpi-ring: rank 0: ring sum S (0+1+...+N-1)        (rank 0 only)
//   mpi-ring: rank R: allreduce sum S, big ok
//   mpi-ring: rank R: ok
// Exit status 0, or 1 with "mpi-ring: rank R: error: ..." (MPI_Abort).

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG (1 << 18)   // ints: 1 MiB

static void fail(int rank, const char *what)
{
    printf("mpi-ring: rank %d: error: %s\n", rank, what);
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv)
{
    int rank, size, len, token, sum, want = 0;
    char host[MPI_MAX_PROCESSOR_NAME];

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        printf("mpi-ring: error: MPI_Init failed\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &len);
    printf("mpi-ring: rank %d of %d on %s\n", rank, size, host);
    for (int i = 0; i < size; i++)
        want += i;

    if (size > 1) {
        int next = (rank + 1) % size, prev = (rank + size - 1) % size;
        if (rank == 0) {
            token = 0;
            MPI_Send(&token, 1, MPI_INT, next, 0, MPI_COMM_WORLD);
            MPI_Recv(&token, 1, MPI_INT, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (token != want)
                fail(rank, "the ring's sum is wrong");
            printf("mpi-ring: rank 0: ring sum %d\n", token);
        } else {
            MPI_Recv(&token, 1, MPI_INT, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            token += rank;
            MPI_Send(&token, 1, MPI_INT, next, 0, MPI_COMM_WORLD);
        }
    }

    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (sum != want)
        fail(rank, "the allreduce's sum is wrong");

    int *in = malloc(BIG * sizeof *in), *out = malloc(BIG * sizeof *out);
    if (!in || !out)
        fail(rank, "out of memory");
    for (int i = 0; i < BIG; i++)
        in[i] = rank + i;
    MPI_Allreduce(in, out, BIG, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i < BIG; i++)
        if (out[i] != want + size * i)
            fail(rank, "the big allreduce is wrong");
    printf("mpi-ring: rank %d: allreduce sum %d, big ok\n", rank, sum);
    free(in);
    free(out);

    MPI_Barrier(MPI_COMM_WORLD);
    printf("mpi-ring: rank %d: ok\n", rank);
    MPI_Finalize();
    return 0;
}
