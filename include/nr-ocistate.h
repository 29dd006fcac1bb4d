/* SPDX-License-Identifier: Apache-2.0 */
/* nr-ocistate.h — the containers of `nroot oci` (state/ocistate.c): one
 * directory ROOT/ID each (ROOT: --root, default
 * $XDG_RUNTIME_DIR/nroot/oci), holding state.json (runc's fields, read by
 * tools), state (the same as key=value, read by nroot) and, until
 * `start`, exec.fifo (the start gate). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-hook.h"
#include "nr-spawn.h"

typedef enum {
    NR_OCI_CREATING,
    NR_OCI_CREATED,
    NR_OCI_RUNNING,
    NR_OCI_STOPPED,
} NrOciStatus;

typedef struct NrOciState {
    char id[256];
    pid_t pid;           /* PID 1's host pid, 0: not yet */
    uint64_t start_time; /* its start time (/proc/PID/stat), to tell a reused pid */
    char *bundle, *rootfs, *created, *oci_version;
    char **annotations; /* NULL-terminated "key=value", NULL: none */
    /* the process that keeps the namespaces' fds for exec (create's
     * keeper, or run's nroot), 0: none; the fd numbers in its table */
    pid_t keeper;
    uint64_t keeper_start;
    int ns_fd[NR_NS_SLOTS]; /* -1: none */
    /* the poststart and poststop hooks, saved at create (config.json is
     * not read again) */
    NrHook *hooks;
    size_t n_hooks;
} NrOciState;

/* the default --root: oci in nroot's runtime directory (its checks: the
 * caller's own, private; never a /tmp directory another user may hold) */
char *nr_ocistate_default_root(NrError *err);
/* runc's rule for ids: [A-Za-z0-9_+.-]+, not . or .. */
bool nr_ocistate_valid_id(const char *id);
/* ROOT/ID made (mode 0711; ROOT made too); -1 with EEXIST in err when the
 * container exists */
int nr_ocistate_make(const char *root, const char *id, NrError *err);
/* state.json and state written (atomically) */
int nr_ocistate_write(const char *root, const NrOciState *st, NrError *err);
/* read ROOT/ID/state; a container without one (create failed or is under
 * way) has pid 0 */
int nr_ocistate_read(const char *root, const char *id, NrOciState *st, NrError *err);
void nr_ocistate_clear(NrOciState *st);
/* its status now: the pid checked with its start time, the gate's fifo */
NrOciStatus nr_ocistate_status(const char *root, const NrOciState *st);
const char *nr_ocistate_status_name(NrOciStatus s);
/* a process's start time, 0: gone */
uint64_t nr_ocistate_pid_start(pid_t pid);
/* the OCI state given to hooks: id, status, pid, bundle, annotations */
char *nr_ocistate_hook_state(const NrOciState *st, const char *status);
/* ROOT/ID removed with what it holds */
int nr_ocistate_remove(const char *root, const char *id, NrError *err);
/* a JSON string to f */
void nr_ocistate_json_string(FILE *f, const char *s);
