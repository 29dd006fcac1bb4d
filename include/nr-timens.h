/* SPDX-License-Identifier: Apache-2.0 */
/* nr-timens.h — the container's time namespace: offsets of its
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME (`run --time-offset`, an OCI bundle's
 * linux.timeOffsets).  The child unshares CLONE_NEWTIME (which moves only
 * its children) and writes the offsets to /proc/self/timens_offsets before
 * it forks anything: the kernel freezes them once a process entered. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nr-error.h"

typedef enum NrClock { NR_CLOCK_MONOTONIC, NR_CLOCK_BOOTTIME, NR_CLOCK_COUNT } NrClock;
/* "monotonic", "boottime": the names of --time-offset, timens_offsets and OCI */
extern const char *const nr_clock_names[NR_CLOCK_COUNT];

/* an offset is secs + nsecs / 1e9 with nsecs in [0, 1e9) (the kernel's
 * timespec): -1.5 s is secs -2, nsecs 500000000 */
typedef struct NrTimeOffsets {
    bool set[NR_CLOCK_COUNT];
    int64_t secs[NR_CLOCK_COUNT];
    uint32_t nsecs[NR_CLOCK_COUNT];
} NrTimeOffsets;

/* the largest offset either way, in seconds: the kernel's KTIME_SEC_MAX / 2,
 * the farthest a clock of a time namespace may read */
#define NR_TIMENS_MAX_SECS INT64_C(4611686018)

/* does any clock get an offset (and the container a time namespace)? */
bool nr_timens_any(const NrTimeOffsets *o);
/* --time-offset CLOCK=SECONDS[,CLOCK=SECONDS] (CLOCK boottime or monotonic,
 * SECONDS like 3600, -60 or 1.5): merged into *o, the last value of a clock
 * winning; on a failure *o is unchanged */
int nr_timens_parse(const char *value, NrTimeOffsets *o, NrError *err);
/* the offsets as --time-offset takes them, "monotonic=-60,boottime=1.5"
 * (the clocks set, in that order; "" when none) */
void nr_timens_format(const NrTimeOffsets *o, char *buf, size_t size);
/* does this kernel have time namespaces (Linux 5.6+, CONFIG_TIME_NS)? */
bool nr_timens_supported(void);
/* before the start, in the parent: the kernel has time namespaces, and no
 * clock would read below 0 or beyond the kernel's limit; `what` names the
 * offsets in the message ("--time-offset") */
int nr_timens_check(const NrTimeOffsets *o, const char *what, NrError *err);
/* in the child, after unshare(CLONE_NEWTIME) and before its first fork:
 * write the offsets set (none: nothing) */
int nr_timens_apply(const NrTimeOffsets *o, const char *what, NrError *err);
