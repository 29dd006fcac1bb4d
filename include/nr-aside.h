/* SPDX-License-Identifier: Apache-2.0 */
/* nr-aside.h — the set-up work the container's child does aside, on a
 * thread of its own, while its main thread mounts the root (inside/aside.c). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-plan.h"

/* The thread: it makes the container's network namespace (loopback up)
 * when `netns`, then loads `profile` (nr_seccomp_early; NULL: none) on
 * itself and `rootemu` after it (nr_payload_root_alone; NULL: none),
 * drops from its bounding set what *bound lacks (NULL: nothing), and
 * waits to start the payload.  It also makes the child a session leader
 * and a subreaper (nr_aside_session).  Without a thread the network
 * namespace is made here.  Called once the child closed the fds it does
 * not keep, with its session keyring and time namespace in place (the
 * thread's, and so the payload's). */
int nr_aside_begin(bool netns, const struct NrBpf *profile, const struct NrBpf *rootemu,
                   const uint64_t *bound, NrError *err);
/* true when the thread made the child a session leader (setsid) and a
 * child subreaper, as PID 1 wants to be; false: not (yet) done */
bool nr_aside_session(void);
/* PID 1's namespaces, opened by the thread (NR_NS_COUNT fds, -1 where
 * one could not be), now the caller's; false: none, open them */
bool nr_aside_namespaces(int fds[]);
/* the child enters the thread's network namespace: 1 when its loopback
 * is up (made here or by the thread), 0 when nr_aside_begin made none */
int nr_aside_enter_netns(NrError *err);
/* fn(arg) in a new process that shares the caller's memory until it
 * exec()s or ends (CLONE_VM|CLONE_VFORK, stack_top its stack), as
 * posix_spawn starts one; a fork where the kernel refuses that (or under
 * ASan) */
pid_t nr_aside_clone(int (*fn)(void *), void *arg, void *stack_top);
/* the root is mounted at `root`: the thread looks up what the exec of
 * argv will (the command in `path`, its interpreters), when it has the
 * time (nothing waits for it) */
void nr_aside_warm(const char *root, char *const argv[], const char *path);
/* in the payload the thread started: its bounding set is the one asked */
bool nr_aside_bounded(void);
/* whether nr_aside_spawn will start the payload from the thread */
bool nr_aside_will_spawn(void);
/* what the thread did that the payload it starts inherits */
typedef struct NrAsideDone {
    bool filtered;    /* the profile is loaded */
    bool emulated;    /* the root emulation filter too, after it */
    bool sigs;        /* no handler but glibc's: only the signals in
                         `ignored` need SIG_DFL */
    uint64_t ignored; /* nr_signals_ignored's bits */
} NrAsideDone;
/* start fn(arg) on stack_top in the child's memory (CLONE_VM|CLONE_VFORK)
 * from the thread, so that it inherits the filters loaded there (*done,
 * filled before fn runs, zero when -2 is returned); -2 when there is no
 * thread to do it.  Once the thread is told, meanwhile(marg) runs here
 * while the payload starts (NULL: nothing); not when -2 is returned.
 * NULL fn: the thread just ends. */
pid_t nr_aside_spawn(int (*fn)(void *), void *arg, void *stack_top, void (*meanwhile)(void *),
                     void *marg, NrAsideDone *done);
