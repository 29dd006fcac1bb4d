/* SPDX-License-Identifier: Apache-2.0 */
/* nr-spawn.h — clone into new namespaces and the numbered parent/child
 * handshake over a SOCK_SEQPACKET pair (HACKING.md, "The handshake").
 *
 *   #1  parent: clone()                   child: PDEATHSIG, waits
 *   #2  parent: writes id maps, sends MAPS child: sees MAPS (or EOF: parent died)
 *   #3  ...                               child: runs its function; a failure
 *                                                crosses back as an ERROR message
 *   #4  parent: waits for exit, reads ERROR (if any) and re-raises it
 */
#pragma once
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-userns.h"

/* the namespaces `exec` joins, in the order it joins them: the user
 * namespace first (it grants the rights for the others), pid and time
 * last (they apply to children only; time: PID 1's time_for_children, a
 * joiner's setns moves it too) */
enum {
    NR_NS_USER,
    NR_NS_MNT,
    NR_NS_UTS,
    NR_NS_IPC,
    NR_NS_NET,
    NR_NS_CGROUP,
    NR_NS_PID,
    NR_NS_TIME, /* absent (-1) where the kernel has no time namespaces */
    NR_NS_COUNT,
    /* --cap-add=SYS_ADMIN: the payload's nested user and mount
        * namespaces (mounts.c), joined last, after pid */
    NR_NS_NESTED_USER = NR_NS_COUNT,
    NR_NS_NESTED_MNT,
    NR_NS_SLOTS
};
extern const char *const nr_ns_names[NR_NS_SLOTS];
/* their CLONE_NEW* flags */
extern const int nr_ns_flags[NR_NS_SLOTS];

enum {
    NR_SYNC_MAPS = 1,    /* #2 parent -> child: id maps written */
    NR_SYNC_ERROR,       /* child -> parent: structured failure */
    NR_SYNC_RESULT,      /* child -> parent: a result string */
    NR_SYNC_EXIT,        /* PID 1 -> parent: the payload's exit status (err.code) */
    NR_SYNC_TAP,         /* #3 child -> parent: the tap device's fd (SCM_RIGHTS) */
    NR_SYNC_CONNECT,     /* parent -> PID 1: a socket to port err.code, request err.errnum */
    NR_SYNC_CONNECTED,   /* PID 1 -> parent: that socket (SCM_RIGHTS), or none: refused */
    NR_SYNC_CONNECT_UDP, /* parent -> PID 1: a connected UDP socket to port err.code, request
                         * err.errnum; answered by NR_SYNC_CONNECTED */
    NR_SYNC_PTY,         /* PID 1 -> parent: the master of the container's terminal (-t) */
    NR_SYNC_NS,          /* PID 1 -> parent: namespace number err.code (nr-ctr.h) */
    NR_SYNC_STARTED,     /* PID 1 -> parent: the command was executed */
    NR_SYNC_FUSE,        /* #3a child -> parent: start fuse-overlayfs in the mount
                         * namespace passed (SCM_RIGHTS); err.msg holds its
                         * options, err.hint the dir they are relative to */
    NR_SYNC_PID,         /* exec: the joining child -> nroot: the command's pid (err.code) */
    NR_SYNC_GO,          /* nroot -> the child: go on (exec: nroot knows the command's
                         * pid; HOOKS: they ran; SQUASHFS: its server was started) */
    NR_SYNC_OVERLAY,     /* child -> parent: a named container's layer was mounted by
                         * overlay err.code (NrOverlayMode): the parent records it */
    NR_SYNC_HOOKS,       /* child -> parent: run the createRuntime hooks (devices.c), then
                         * answer GO; a failing hook ends the container */
    NR_SYNC_SQUASHFS,    /* #3s child -> parent: mount the squashfs image for the mount
                         * namespace passed (SCM_RIGHTS); err.hint holds the scratch
                         * dir.  parent -> child: a clone of the shared server's mount
                         * (SCM_RIGHTS) to attach, or GO (a server of its own mounts it
                         * there).  Also the shared server's answer (sqfs/share.c). */
    NR_SYNC_NETNS,       /* #3n child -> parent: its network namespace (SCM_RIGHTS), to be
                         * attached to the user networks; answered by GO (err.msg:
                         * "NAMESERVER\tADDR0\tADDR1...") or ERROR */
    NR_SYNC_NOTIFY,      /* payload -> parent: --tcp-bypass's seccomp listener (SCM_RIGHTS) */
    NR_SYNC_NSSET,       /* PID 1 -> parent: its namespaces in one message, a bit of
                         * err.code per namespace number sent (nr-ctr.h), their fds in
                         * the order of the numbers */
};

/* the most fds one message carries */
#define NR_SYNC_MAX_FDS 8

/* The wire format: a keeper or network holder started by an older nroot
 * still speaks to this one (it outlives upgrades), so it stays this size */
typedef struct NrSyncMsg {
    uint32_t type;
    NrError err; /* for NR_SYNC_ERROR; err.msg carries NR_SYNC_RESULT text */
    int fd;      /* received with the message (NR_SYNC_TAP), else -1 */
} NrSyncMsg;

int nr_sync_send(int fd, uint32_t type, const NrError *err);
/* a message that carries a file descriptor */
int nr_sync_send_fd(int fd, uint32_t type, int pass);
int nr_sync_send_fd_err(int fd, uint32_t type, int pass, const NrError *err);
int nr_sync_send_result(int fd, const char *text);
/* a message that carries n (<= NR_SYNC_MAX_FDS) file descriptors */
int nr_sync_send_fds(int fd, uint32_t type, const int *pass, int n, const NrError *err);
/* nr_sync_recv, and the fds after msg->fd (up to NR_SYNC_MAX_FDS - 1) in
 * more[] (NR_SYNC_NSSET); nr_sync_recv closes those */
int nr_sync_recv_more(int fd, NrSyncMsg *msg, int *more, int *ret_n_more);
/* `len` bytes of `buf` with the fd `pass` (SCM_RIGHTS) on `sock`; 0 or -1 */
int nr_send_fd(int sock, const void *buf, size_t len, int pass);
/* returns 1 with a message, 0 on EOF, -1 on error */
int nr_sync_recv(int fd, NrSyncMsg *msg);

/* Child body: runs inside the new namespaces after the maps are written.
 * It returns the child's exit status or fills err (sent to the parent). */
typedef int (*NrChildFn)(void *data, int sync_fd, NrError *err);

/* Clone with `flags` (CLONE_NEW*), map ids with `map`, run `fn` in the child.
 * On success returns the pid and the parent's end of the sync socket. */
pid_t nr_spawn(unsigned long flags, const NrIdMap *map, NrChildFn fn, void *data, int *ret_sync_fd,
               NrError *err);

/* a new task beside its creator (spawn.c): false when the process may
 * not run on every online CPU, or there is one; else the CPUs but the
 * caller's, for the new task until nr_cpus_all(its tid, or 0 from it) */
bool nr_cpus_others(cpu_set_t *ret);
void nr_cpus_all(pid_t tid);
/* nr_spawn, and the child's pid written to each of the n_procs fds (cgroup.procs
 * of its cgroups, host/cgroup.c) at #2, before it makes its cgroup namespace */
pid_t nr_spawn_cg(unsigned long flags, const NrIdMap *map, const int *procs, size_t n_procs,
                  NrChildFn fn, void *data, int *ret_sync_fd, NrError *err);

/* Wait for `pid`; map its status to an exit code (128+N for signal N).  If
 * the child sent an ERROR message, it is copied to err and -1 returned; the
 * text of its last RESULT message goes to ret_result (NULL, or 1024 bytes). */
int nr_spawn_wait(pid_t pid, int sync_fd, int *ret_status, char *ret_result, NrError *err);

/* In a forked child inside the user namespace: become uid/gid 0 if mapped,
 * so an exec keeps full capabilities in the namespace. */
void nr_spawn_become_root(void);

/* remove a tree that may hold files of subordinate ids (inside a user
 * namespace with `map`, as root there) */
int nr_spawn_rmtree(const char *path, const NrIdMap *map, NrError *err);

/* is the namespace behind fd (slot i) the one this process is in already? */
bool nr_ns_is_current(int fd, int i);
/* a namespace (fd, of `slot`) owned by a user namespace other than user_fd
 * (--net=container:NAME: NAME's, the parent of the container's): that
 * owner entered, then the namespace; 1 joined so, 0 not (nothing or only
 * the owner joined: the caller joins as usual) */
int nr_ns_join_outer(int fd, int slot, int user_fd);
/* join the namespaces fds[from] .. fds[to - 1] in order (one this process
 * is in already is skipped: the host's network of --net=host) */
int nr_ns_join(const int fds[NR_NS_COUNT], int from, int to, NrError *err);
