/* SPDX-License-Identifier: Apache-2.0 */
/* nr-ctr.h — containers as things with a name and a life: the
 * persistent part in the store (STORE/containers/<name>/: config, state,
 * upper/ and work/ of the writable layer, log), and the live part in the
 * runtime directory (RT/containers/<id>/state), which the running nroot
 * keeps locked (flock) for as long as the container runs.  A state file
 * nobody locks belongs to a dead nroot: that container is not running,
 * whatever the file says. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-plan.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

/* the format of STORE/containers/<name>/config this nroot writes (its
 * `version` key); a config without one is format 0, of an nroot before
 * it, which kept the canonical `run` arguments (arg=) instead */
#define NR_CTR_CONFIG_VERSION 1

typedef struct NrCtr {
    char id[13];
    char name[129];  /* "" for an unnamed container */
    char *image;     /* as given to run, for people */
    char *image_key; /* what resolves it again: an image id, a directory or a squashfs file */
    NrOverlayMode
        overlay; /* the overlay that made its layer, AUTO: none yet (STORE/containers/<name>/overlay) */
    NrUsernsMode userns; /* its id mapping: the ids its files hold */
    NrRunConfig *plan;   /* the options it was made with (config format 1), all checked:
                              * strings, lists and arrays owned here; NULL for format 0 */
    NrStrv legacy_args;  /* format 0: the canonical `run` arguments (options, IMAGE,
                              * command), for the compatibility reader (cmd/ctr.c) */
    NrStrv command;      /* the command it runs, for people */
    int64_t created, started, finished;
    int exit_code; /* -1: unknown (nroot was killed, or it never ran) */
    bool running;
    bool ending;   /* its nroot still holds the live state, its PID 1 has ended:
                    * the exit code comes when that nroot ends (pid, pid_start set) */
    bool in_store; /* named: STORE/containers/<name> exists */
    /* live state (running only) */
    pid_t pid;      /* nroot's */
    pid_t init_pid; /* the container's PID 1, as the host sees it */
    uint64_t pid_start, init_start;
    int ns_fd[NR_NS_SLOTS]; /* fd numbers in nroot's table, -1 if none */
    bool detached;
    bool pty, interactive;
    char *store_dir; /* STORE/containers/<name>, NULL for unnamed */
    char *rt_dir;    /* RT/containers/<id> */
} NrCtr;

bool nr_ctr_name_valid(const char *name);
void nr_ctr_clear(NrCtr *c);

/* RT/containers, created if missing (state/runtime.c) */
const char *nr_ctr_runtime_root(NrError *err);
/* NAME, ID or a unique ID prefix -> the container (live state checked) */
int nr_ctr_find(const char *spec, NrCtr *ret, NrError *err);
/* every container: named ones from the store, running unnamed ones, and
 * unnamed ones whose nroot died (their leftovers) */
int nr_ctr_list(NrCtr **ret, size_t *ret_n, NrError *err);
void nr_ctr_list_free(NrCtr *c, size_t n);

/* ---- what `run` records (cmd/run.c calls these, in this order) ---- */

/* what resolves the plan's image again: its id in the store, or the root
 * filesystem directory it is */
const char *nr_ctr_image_key(const NrRunConfig *plan);
/* --name: STORE/containers/<name> made if missing and locked for this run
 * (*ret_lock, held until nroot exits); a config there is read into c (its
 * id, image and options) and the overlay its layer was made by.  1: a
 * running nroot holds it */
int nr_ctr_claim(const char *name, NrCtr *c, int *ret_lock, NrError *err);
/* the record of the plan: id, name, image, command, mapping, terminal */
void nr_ctr_record_plan(NrCtr *c, const NrRunConfig *plan);
/* the config (atomically): the record and the plan's options, as data;
 * in STORE/containers/<name>/ when named, else in RT/containers/<id>/ */
int nr_ctr_write_config(const NrCtr *c, const NrRunConfig *plan, NrError *err);
/* RT/containers/<id>, made (a leftover of a killed run emptied) and
 * locked for this nroot's life (*ret_lock) */
int nr_ctr_make_runtime(NrCtr *c, int *ret_lock, NrError *err);
/* the command runs: the state (named) or the config (unnamed), and the
 * live state, locked while nroot lives (*ret_fd, -1 if not written) */
int nr_ctr_write_live(NrCtr *c, const NrRunConfig *plan, pid_t init_pid, int *ret_fd, NrError *err);
/* the container ended with `status`: appended to the live state (live_fd),
 * the runtime directory removed; a named one's state written, or (remove:
 * --rm) the container removed */
int nr_ctr_finish(NrCtr *c, int live_fd, int status, bool remove, NrError *err);
/* STORE/containers/<name>/state: status=running|exited, times, exit code */
int nr_ctr_write_state(const NrCtr *c, bool running, NrError *err);
/* STORE/containers/<name>/overlay: the overlay that first mounted the
 * layer (written from the container's mount namespace, inside/rootfs.c;
 * kept once written) */
void nr_ctr_write_overlay(const char *store_dir, NrOverlayMode kind);

/* the plan of a container made by an nroot of format 1 (c->plan): a copy
 * that is the caller's (it lives as long as the process, like a parsed
 * command line); the image as its key.  The mapping and the image are not
 * resolved. */
int nr_ctr_plan(const NrCtr *c, NrRunConfig *ret_plan, NrError *err);

/* the start time of a process (clock ticks since boot, /proc/PID/stat), 0
 * if it does not exist */
uint64_t nr_proc_start_time(pid_t pid);
/* a pidfd for pid, if it is still the process that started at `start` */
int nr_ctr_pidfd(pid_t pid, uint64_t start);
/* wait until the pidfd's process ends; timeout_ms < 0: forever.  1 ended, 0 not */
int nr_pidfd_wait(int pidfd, int timeout_ms);

/* what `ps` shows in NETWORK: slirp, host, none, container:NAME, or the
 * user networks' names joined by ','; "-"
 * for a container made by an nroot that kept no options (format 0) */
void nr_ctr_network_label(const NrCtr *c, char *buf, size_t size);

/* the namespaces of a running container, from the fds its nroot keeps
 * (fds[i] = -1 for a slot it has none of; all closed on failure) */
int nr_ctr_open_namespaces(const NrCtr *c, int fds[NR_NS_SLOTS], NrError *err);

/* lock STORE/containers/<name>/lock: 0 taken (fd in *ret_fd), 1 held by a
 * running nroot, -1 error */
int nr_ctr_lock(const char *store_dir, int *ret_fd, NrError *err);
/* remove the container's files (its layer holds subordinate ids: removed
 * inside a user namespace with its map) */
int nr_ctr_remove(NrCtr *c, NrError *err);
/* `rm -f NAME` of a named container whose config or state is damaged:
 * STORE/containers/NAME removed, nothing else (its mapping is unknown:
 * subordinate ids if there are some).  1 if NAME is no such container */
int nr_ctr_remove_damaged(const char *name, NrError *err);
/* does a running nroot hold RT/containers/<id> (nr_ctr_make_runtime's lock)? */
bool nr_ctr_runtime_held(const char *id);
/* remove RT/containers/<id> (no subordinate ids there) */
void nr_ctr_remove_runtime(const char *dir);
/* remove the runtime directories no container owns: those of runs killed
 * before they wrote a config (`listed`: what nr_ctr_list found) */
void nr_ctr_prune_runtime(const NrCtr *listed, size_t n);

/* the user networks the container's config names (part N1 writes them:
 * its net= values that are no --net mode: none, host, slirp,
 * container:NAME), in order, into *ret */
void nr_ctr_networks(const NrCtr *c, NrStrv *ret);
