/* SPDX-License-Identifier: Apache-2.0 */
/* nr-cgroup.h — resource limits (--memory, --memory-swap, --cpus,
 * --cpu-shares, --cpu-weight, --pids-limit) in a cgroup the user may write
 * (host/cgroup.c).  Without limits nothing here runs and no cgroup file is
 * opened.
 *
 * Where: below `cgroup-parent` (nroot.conf) or $NROOT_CGROUP_PARENT, a path
 * relative to each hierarchy's root; else, cgroup v2, the caller's own
 * cgroup (/proc/self/cgroup) when it and its cgroup.subtree_control are the
 * user's; else, cgroup v1, the caller's cgroup in each hierarchy a limit
 * needs, when the user may write it.  There `nroot-<cid>` is made, the
 * limits written, the container's first process put in it before it makes
 * its cgroup namespace (so the container sees its cgroup as /), and the
 * directory removed when the container ends; those of dead containers are
 * removed by the next run with limits. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nr-error.h"

#define NR_CGROUP_CPU_PERIOD 100000 /* µs: --cpus N is a quota of N * this */
#define NR_CGROUP_SHARES_MIN 2
#define NR_CGROUP_SHARES_MAX 262144
#define NR_CGROUP_WEIGHT_MIN 1
#define NR_CGROUP_WEIGHT_MAX 10000
#define NR_CGROUP_MEMORY_MIN (6 * 1024 * 1024) /* docker's smallest --memory */
#define NR_CGROUP_PIDS_MAX 4194304             /* the kernel's PID_MAX_LIMIT */
#define NR_CGROUP_HIER_MAX 4                   /* memory, cpu, pids (and one spare) */

/* the limits asked for; 0 in a field: not given */
typedef struct NrLimits {
    int64_t memory;      /* --memory: bytes */
    int64_t memory_swap; /* --memory-swap: bytes of memory and swap together, -1: unlimited swap */
    int64_t cpu_quota;   /* --cpus: µs per NR_CGROUP_CPU_PERIOD */
    int64_t cpu_shares;  /* --cpu-shares: 2..262144 (v1 cpu.shares) */
    int64_t cpu_weight;  /* --cpu-weight: 1..10000 (v2 cpu.weight) */
    int64_t pids;        /* --pids-limit: processes (-1 or 0 on the command line: none) */
} NrLimits;

/* ---- pure: values and file formats (tests/unit/cgroup.c) ---- */

/* a size: digits (a fraction allowed with a unit), then b, k, m, g or t
 * (powers of 1024; kb, KiB... too); `what` names the option in messages */
int nr_cgroup_parse_bytes(const char *what, const char *s, int64_t *ret, NrError *err);
/* --memory-swap: a size or -1 */
int nr_cgroup_parse_swap(const char *s, int64_t *ret, NrError *err);
/* --cpus: a decimal from 0.01 to ncpu (the host's CPUs; 0: no upper bound)
 * as a quota in µs per NR_CGROUP_CPU_PERIOD */
int nr_cgroup_parse_cpus(const char *s, long ncpu, int64_t *ret_quota, NrError *err);
/* --cpu-shares, --cpu-weight: an integer in their ranges */
int nr_cgroup_parse_shares(const char *s, int64_t *ret, NrError *err);
int nr_cgroup_parse_weight(const char *s, int64_t *ret, NrError *err);
/* --pids-limit: a positive number, or 0 / -1 (unlimited: *ret 0) */
int nr_cgroup_parse_pids(const char *s, int64_t *ret, NrError *err);
/* the checks between options (--memory-swap needs --memory and is not
 * below it; --cpu-shares and --cpu-weight are one setting) */
int nr_cgroup_check(const NrLimits *l, NrError *err);
/* shares <-> weight, as crun converts them */
int64_t nr_cgroup_shares_to_weight(int64_t shares);
int64_t nr_cgroup_weight_to_shares(int64_t weight);

bool nr_cgroup_any(const NrLimits *l);
/* the controllers the limits need: a NULL-terminated list in `ret`
 * (at most 4 entries with the NULL): "memory", "cpu", "pids" */
void nr_cgroup_controllers(const NrLimits *l, const char *ret[NR_CGROUP_HIER_MAX]);

/* one file to write in the container's cgroup, in order */
typedef struct NrCgroupFile {
    const char *controller;
    const char *name; /* e.g. "pids.max" */
    char value[48];
} NrCgroupFile;
/* the files for the limits in a v2 (cgroup2) or v1 hierarchy; their count */
size_t nr_cgroup_files(const NrLimits *l, bool v2, NrCgroupFile ret[8]);

/* a line of /proc/PID/cgroup, "ID:CONTROLLERS:PATH": true with PATH (a
 * pointer into line) if it is the one of `controller` (v1), or, for
 * controller NULL, the v2 line "0::PATH" */
bool nr_cgroup_proc_line(const char *line, const char *controller, const char **ret_path);
/* a line of /proc/self/mountinfo: true for a cgroup (v1) or cgroup2 mount,
 * its mount point (octal escapes undone) in mnt, v1's super options
 * (controllers and more, comma-separated) in opts */
bool nr_cgroup_mount_line(const char *line, char *mnt, size_t mnt_size, bool *ret_v2, char *opts,
                          size_t opts_size);
/* is `word` one of the comma-separated words of `list`? */
bool nr_cgroup_has_word(const char *list, const char *word);
/* bytes for people: "512B", "1.5KiB", "12.3MiB", "2GiB" */
void nr_cgroup_format_bytes(int64_t n, char *buf, size_t size);

/* ---- on the host ---- */

/* tests: read these instead of /proc/self/mountinfo and /proc/self/cgroup
 * (NULL: those again) */
void nr_cgroup_set_proc_files(const char *mountinfo, const char *self_cgroup);

/* the cgroups made for one container */
typedef struct NrCgroup {
    size_t n;
    char *dir[NR_CGROUP_HIER_MAX]; /* .../nroot-<cid> in each hierarchy used */
    bool v2[NR_CGROUP_HIER_MAX];
    int procs[NR_CGROUP_HIER_MAX]; /* their cgroup.procs, open for writing */
} NrCgroup;

void nr_cgroup_init(NrCgroup *cg);
/* can the limits be had?  (nr_cgroup_create's checks, nothing made) */
int nr_cgroup_check_where(const NrLimits *l, NrError *err);
/* find where the limits can go, check every controller there first (one
 * line naming the controller, why, and the fix), then make nroot-<cid> in
 * each hierarchy, write the limits and open cgroup.procs.  Stale
 * nroot-<id> directories of the user's beside it, empty, whose id
 * `alive` says no nroot holds, are removed first. */
int nr_cgroup_create(const NrLimits *l, const char *cid, bool (*alive)(const char *cid),
                     NrCgroup *ret, NrError *err);
/* put pid (0: the caller) in every cgroup of cg (the parent, before the
 * child makes its cgroup namespace; exec's joiner, before it joins one) */
int nr_cgroup_enter(const NrCgroup *cg, pid_t pid, NrError *err);
/* close the fds and forget the directories (they stay) */
void nr_cgroup_remove_fds(NrCgroup *cg);
/* remove the directories (retried while the last processes leave) and
 * close the fds */
void nr_cgroup_remove(NrCgroup *cg);
/* the cgroups of a running container, from its PID 1's /proc/PID/cgroup:
 * the hierarchies where it is in nroot-<cid> (cg->procs opened for
 * writing when `open_procs`); 0 with cg->n 0 if it has none */
int nr_cgroup_of(pid_t init_pid, const char *cid, bool open_procs, NrCgroup *ret, NrError *err);
/* memory and processes in use by a container (-1: not known) */
void nr_cgroup_usage(pid_t init_pid, const char *cid, int64_t *ret_memory, int64_t *ret_pids);
/* `nroot info`: the layout (v1, v2, hybrid), where limits would go and
 * which controllers are writable there, or why none; a fix when not all */
bool nr_cgroup_describe(char *buf, size_t size, char *fix, size_t fix_size);
