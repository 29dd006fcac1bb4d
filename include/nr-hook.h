/* SPDX-License-Identifier: Apache-2.0 */
/* nr-hook.h — OCI hooks (runtime-spec config.md, "POSIX-platform Hooks"):
 * a program run at a point of the container's life with the container's
 * state as JSON on its stdin.  nroot runs the hooks of CDI specs (cdi.c)
 * from the parent and from the container's child (devices.c). */
#pragma once
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "nr-error.h"

/* the points of the container's life, as OCI names them */
typedef enum NrHookStage {
    NR_HOOK_CREATE_RUNTIME,   /* the parent, the container's namespaces made, before pivot_root */
    NR_HOOK_CREATE_CONTAINER, /* the container's mount namespace, before pivot_root */
    NR_HOOK_START_CONTAINER,  /* inside, after pivot_root, before the command */
    NR_HOOK_POSTSTART,        /* the parent, once the command runs */
    NR_HOOK_POSTSTOP,         /* the parent, once the container ended */
    NR_HOOK_PRESTART,         /* OCI's deprecated "prestart": where createRuntime runs, before
                               * it, with the status "created" (as crun, and the runtime-tools
                               * validation, hooks_stdin, want) */
    NR_HOOK_STAGES
} NrHookStage;

typedef struct NrHook {
    NrHookStage stage;
    char *path;  /* absolute */
    char **args; /* argv (NULL-terminated), NULL: just path */
    char **env;  /* the hook's whole environment (NULL-terminated), NULL: empty */
    int timeout; /* seconds, 0: none */
} NrHook;

/* the stage of an OCI hook name, -1 if none */
int nr_hook_stage(const char *name);
const char *nr_hook_stage_name(NrHookStage stage);

/* a JSON string, quoted and escaped */
void nr_hook_json_put(FILE *f, const char *s);
/* the OCI state: {"ociVersion","id","status","pid","bundle","annotations"}
 * (annotations: NULL-terminated "key=value", NULL: none) */
char *nr_hook_state(const char *id, const char *status, pid_t pid, const char *bundle,
                    char *const *annotations);

/* run every hook of `stage` in order with `state` on its stdin; the first
 * that fails (exits non-zero, is killed, or outlives its timeout) fails
 * the call */
int nr_hooks_run(const NrHook *hooks, size_t n, NrHookStage stage, const char *state, NrError *err);
