/* SPDX-License-Identifier: Apache-2.0 */
/* spawn.c — clone into namespaces, numbered handshake, error transport. */
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "nr-error.h"
#include "nr-fs.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

const char *const nr_ns_names[NR_NS_SLOTS] = {
    "user", "mnt", "uts", "ipc", "net", "cgroup", "pid", "time", "nested_user", "nested_mnt"
};

void nr_spawn_become_root(void)
{
    pid_t parent = getppid();
    /* fails harmlessly when 0 is not mapped (single-id keep-id) */
    if (setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) < 0)
        return;
    /* a change of credentials clears the parent-death signal: re-arm it,
     * and leave if the parent died in between */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(NR_EXIT_FAILURE);
}

static const char *userns_hint(void)
{
    char v[32];
    nr_read_line("/proc/sys/kernel/unprivileged_userns_clone", v, sizeof v);
    if (strcmp(v, "0") == 0)
        return "unprivileged user namespaces are disabled: an administrator can run "
               "'sysctl -w kernel.unprivileged_userns_clone=1' ('nroot info' checks the rest)";
    nr_read_line("/proc/sys/user/max_user_namespaces", v, sizeof v);
    if (strcmp(v, "0") == 0)
        return "user namespaces are disabled: an administrator can run "
               "'sysctl -w user.max_user_namespaces=15000' ('nroot info' checks the rest)";
    nr_read_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", v, sizeof v);
    if (strcmp(v, "1") == 0)
        return "AppArmor restricts unprivileged user namespaces: an administrator can run "
               "'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0' or add an AppArmor "
               "profile for nroot ('nroot info' checks the rest)";
    return "user namespaces must be enabled for unprivileged users: 'nroot info' shows what "
           "is missing and the fix";
}

pid_t nr_spawn(unsigned long flags, const NrIdMap *map, NrChildFn fn, void *data, int *ret_sync_fd,
               NrError *err)
{
    return nr_spawn_cg(flags, map, NULL, 0, fn, data, ret_sync_fd, err);
}

/* ---- a new task's CPU ----
 *
 * A new task starts on its creator's CPU about half the time, and the two
 * share it, the other CPUs idle, until the scheduler moves one.  Where
 * that costs (the child's start, aside.c's thread), the new task is put
 * on the other CPUs and takes all of them back at once.  Only where the
 * process may run on every online CPU: a set given back by
 * sched_setaffinity is remembered (Linux 6.2+) and narrows every change
 * of the task's cpuset after it, so a process with a narrower set (taskset,
 * Slurm's binding, a cpuset) is left alone, and "all of them" is every bit
 * set, which narrows nothing: the task follows its cpuset as before. */

static int online_cpus(void)
{
    static int n = -1; /* the child has the parent's (a copy of its memory) */
    if (n < 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return n;
}

bool nr_cpus_others(cpu_set_t *ret)
{
    int cpu = sched_getcpu();
    if (sched_getaffinity(0, sizeof *ret, ret) < 0 || CPU_COUNT(ret) < 2 ||
        CPU_COUNT(ret) != online_cpus() || cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, ret))
        return false;
    CPU_CLR(cpu, ret);
    return true;
}

void nr_cpus_all(pid_t tid)
{
    cpu_set_t all;
    memset(&all, 0xff, sizeof all);
    sched_setaffinity(tid, sizeof all, &all);
}

pid_t nr_spawn_cg(unsigned long flags, const NrIdMap *map, const int *procs, size_t n_procs,
                  NrChildFn fn, void *data, int *ret_sync_fd, NrError *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return nr_error_errno(err, "socketpair");

    /* #1: fork-like clone (no new stack): the child gets a copy of the plan.
     * Only the user (and pid) namespaces are made here; the child makes the
     * others itself while the parent writes its id maps, since creating a
     * network namespace alone takes ~0.6 ms and newuidmap ~1.4 ms. */
    unsigned long late = flags & ~(unsigned long)(CLONE_NEWPID | CLONE_NEWUSER);
    /* limits: the child makes its cgroup namespace once the parent moved it
     * into its cgroup (#2), so that cgroup is its / */
    unsigned long cgroupns = n_procs ? late & CLONE_NEWCGROUP : 0;
    late &= ~cgroupns;
    unsigned long user = map->joined ? 0 : CLONE_NEWUSER;
    /* the parent goes on after the clone (maps, records): the child on
     * the other CPUs until it has its maps (#2), which come after the move */
    cpu_set_t other;
    bool move = nr_cpus_others(&other);
    pid_t pid =
        (pid_t)syscall(SYS_clone, (flags & CLONE_NEWPID) | user | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        nr_error_errno(err, "cannot create namespaces");
        if (e == EPERM || e == ENOSPC || e == EACCES)
            nr_error_hint(err, "%s", userns_hint());
        else if (e == EINVAL)
            nr_error_hint(err, "the kernel lacks a namespace type nroot needs (user, mount, pid, "
                               "uts, ipc, net, cgroup)");
        return -1;
    }
    if (pid == 0) {
        NrError cerr = { 0 };
        close(sv[0]);
        int fd = sv[1];
        /* #1 child: die with the parent; the socket tells whether it already did */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        NrSyncMsg msg;
        /* #1 child: the other namespaces need no id map, only the caps
         * the creator of a user namespace holds in it */
        int rc;
        if (late && unshare((int)late) < 0) {
            rc = nr_error_errno(&cerr, "cannot create namespaces");
            nr_error_hint(&cerr, "the kernel lacks a namespace type nroot needs (mount, uts, ipc, "
                                 "net, cgroup)");
        } else {
            /* #2 child: wait until the parent wrote our id maps (EOF: it died) */
            if (nr_sync_recv(fd, &msg) != 1 || msg.type != NR_SYNC_MAPS)
                _exit(NR_EXIT_FAILURE);
            if (move)
                nr_cpus_all(0);
            /* #2 child: in its cgroups now (limits) */
            if (cgroupns && unshare((int)cgroupns) < 0)
                rc = nr_error_errno(&cerr, "cannot create the cgroup namespace");
            else
                rc = fn(data, fd, &cerr);
        }
        if (rc < 0) {
            /* #3 child: the failure crosses the socket; the child never prints */
            nr_sync_send(fd, NR_SYNC_ERROR, &cerr);
            _exit(cerr.code ? cerr.code : NR_EXIT_FAILURE);
        }
        _exit(rc);
    }
    close(sv[1]);
    if (move)
        sched_setaffinity(pid, sizeof other, &other);
    /* #2 parent: write the id maps, put the child in its cgroups (limits),
     * then release the child */
    char num[32];
    int len = snprintf(num, sizeof num, "%d\n", (int)pid);
    bool moved = true;
    for (size_t i = 0; i < n_procs && moved; i++)
        moved = write(procs[i], num, (size_t)len) == len;
    if (!moved)
        nr_error_errno(err, "cannot put the container in its cgroup");
    if (!moved || (!map->joined && nr_userns_write_maps(pid, map, err) < 0) ||
        nr_sync_send(sv[0], NR_SYNC_MAPS, NULL) < 0) {
        if (!err || !err->code)
            nr_error_errno(err, "cannot start the container process");
        /* the child may have failed first (#1): its reason is the real one */
        NrSyncMsg msg;
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        if (nr_sync_recv(sv[0], &msg) == 1 && msg.type == NR_SYNC_ERROR && err)
            *err = msg.err;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(sv[0]);
        return -1;
    }
    *ret_sync_fd = sv[0];
    return pid;
}

int nr_spawn_wait(pid_t pid, int sync_fd, int *ret_status, char *ret_result, NrError *err)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return nr_error_errno(err, "waitpid");
    }
    /* #4 parent: a failure the child reported is re-raised here; the child
     * is gone, so whatever it sent is queued and recv must not block */
    fcntl(sync_fd, F_SETFL, O_NONBLOCK);
    NrSyncMsg msg;
    int r;
    while ((r = nr_sync_recv(sync_fd, &msg)) == 1) {
        if (msg.fd >= 0)
            close(msg.fd); /* a namespace or terminal nobody took */
        if (msg.type == NR_SYNC_ERROR) {
            *err = msg.err;
            return -1;
        }
        if (msg.type == NR_SYNC_RESULT && ret_result)
            memcpy(ret_result, msg.err.msg, sizeof msg.err.msg);
    }
    if (WIFEXITED(status))
        *ret_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        *ret_status = 128 + WTERMSIG(status);
    else
        *ret_status = NR_EXIT_FAILURE;
    return 0;
}

/* ---- removing trees owned by subordinate ids: done inside the userns ---- */

static int rmtree_child(void *data, int sync_fd, NrError *err)
{
    return nr_fs_rmtree(data, err);
}

int nr_spawn_rmtree(const char *path, const NrIdMap *map, NrError *err)
{
    int sync_fd = -1, status = 0;
    pid_t pid = nr_spawn(0, map, rmtree_child, (void *)path, &sync_fd, err);
    if (pid < 0)
        return -1;
    int rc = nr_spawn_wait(pid, sync_fd, &status, NULL, err);
    close(sync_fd);
    if (rc == 0 && status != 0)
        rc = nr_error_msg(err, "cannot remove '%s'", path);
    return rc;
}

/* ---- joining a running container's namespaces (exec, export) ---- */

const int nr_ns_flags[NR_NS_SLOTS] = { CLONE_NEWUSER, CLONE_NEWNS,     CLONE_NEWUTS, CLONE_NEWIPC,
                                       CLONE_NEWNET,  CLONE_NEWCGROUP, CLONE_NEWPID, CLONE_NEWTIME,
                                       CLONE_NEWUSER, CLONE_NEWNS };

/* is the namespace behind fd the one this process is in already?  (the
 * network of --net=host is the host's: joining it again would need rights
 * in the host's user namespace) */
bool nr_ns_is_current(int fd, int i)
{
    char path[64];
    struct stat a, b;
    snprintf(path, sizeof path, "/proc/self/ns/%s", nr_ns_names[i]);
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

int nr_ns_join_outer(int fd, int slot, int user_fd)
{
    int owner = ioctl(fd, NS_GET_USERNS);
    if (owner < 0)
        return 0;
    struct stat a, b;
    bool other = fstat(owner, &a) == 0 && fstat(user_fd, &b) == 0 &&
                 (a.st_ino != b.st_ino || a.st_dev != b.st_dev) &&
                 !nr_ns_is_current(owner, NR_NS_USER);
    int r = other && setns(owner, CLONE_NEWUSER) == 0 && setns(fd, nr_ns_flags[slot]) == 0;
    close(owner);
    return r;
}

int nr_ns_join(const int fds[NR_NS_COUNT], int from, int to, NrError *err)
{
    for (int i = from; i < to; i++)
        if (!nr_ns_is_current(fds[i], i) && setns(fds[i], nr_ns_flags[i]) < 0)
            return nr_error_errno(err, "cannot join the container's %s namespace", nr_ns_names[i]);
    return 0;
}
