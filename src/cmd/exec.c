/* SPDX-License-Identifier: Apache-2.0 */
/* exec.c — `nroot exec`: a command in a running container, entered in
 * runc's order (below). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "cmd.h"
#include "nr-cdi.h"
#include "nr-cgroup.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-mounts.h"
#include "nr-ocirun.h"
#include "nr-payload.h"
#include "nr-plan.h"
#include "nr-pty.h"
#include "nr-spawn.h"
#include "nr-supervise.h"
#include "nr-util.h"

/* ---- exec ---- */

/* What enters the container, in runc's nsexec order:
 *
 *   nroot exec   stays on the host, in none of the container's namespaces:
 *                relays stdio (pipes, or the pty with -t), forwards
 *                signals, waits for the command
 *   `- joiner    not dumpable before its first setns and holding no fd of
 *                the caller's; joins user, mnt, uts, ipc, net and cgroup,
 *                and only then pid; forks the command as nroot's own child
 *                (CLONE_PARENT), sends its pid, ends
 *   command      the first process of this exec that the container can
 *                see: its root and working directory are the container's
 *                from its birth, its stdio pipes to nroot or the
 *                container's pty, and it is not dumpable (its memory is
 *                the host user namespace's) until it execs
 */
typedef struct ExecJob {
    const NrRunConfig *cfg;
    int fds[NR_NS_SLOTS]; /* the nested ones -1 unless SYS_ADMIN */
    int stdio[3];         /* the joiner's 0-2: pipes to nroot, or /dev/null */
    int sock;             /* the command's pid, GO; -t: the master */
    int errfd;            /* a failure before the exec */
    int ready;            /* the command closes it once it dies with nroot */
    pid_t nroot;
    NrCgroup cg; /* the container's cgroups (limits): entered before any namespace */
} ExecJob;

static _Noreturn void exec_fail(const ExecJob *j, NrError *e)
{
    nr_write_all(j->errfd, e, sizeof *e);
    _exit(e->code ? e->code : NR_EXIT_FAILURE);
}

/* the command: a child of nroot's in every namespace of the container */
static _Noreturn void exec_command(const ExecJob *j)
{
    NrError e = { 0 };
    /* dies with nroot, its parent (but under oci exec -d, which leaves it
     * to the caller); EOF instead of GO: nroot died first */
    if (!j->cfg->exec_detach)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(j->ready);
    NrSyncMsg go;
    if (nr_sync_recv(j->sock, &go) != 1 || go.type != NR_SYNC_GO)
        _exit(NR_EXIT_FAILURE);
    int slave = -1;
    if (j->cfg->pty && (slave = nr_payload_open_pty(j->sock, &e)) < 0)
        exec_fail(j, &e);
    if (!j->cfg->pty)
        setsid(); /* no controlling terminal; -t: the pty becomes it */
    nr_payload_exec(j->cfg, slave, false, &e);
    exec_fail(j, &e);
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* the joiner: a child of nroot's, outside the container's pid namespace */
static _Noreturn void exec_join(ExecJob *j)
{
    NrError e = { 0 };
    /* OCI's oomScoreAdj, for the command to inherit: set here, a host
     * process, where nothing of the container can trace it */
    if (j->cfg->oci && nr_oci_set_oom(j->cfg->oci, &e) < 0)
        exec_fail(j, &e);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != j->nroot)
        _exit(NR_EXIT_FAILURE);
    /* the container's limits apply to the command: its cgroups entered
     * from the host, before the cgroup namespace (whose root they are) */
    if (nr_cgroup_enter(&j->cg, 0, &e) < 0)
        exec_fail(j, &e);
    for (size_t i = 0; i < j->cg.n; i++)
        close(j->cg.procs[i]);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(j->stdio[fd], fd) < 0) {
            nr_error_errno(&e, "cannot set up the command's stdio");
            exec_fail(j, &e);
        }
    /* the caller's fds the command gets (--preserve-fd, PMI_FD) stay too */
    size_t cap = NR_NS_SLOTS + 2 + j->cfg->n_preserve_fds;
    nr_autofree int *keep = nr_xmalloc(cap * sizeof *keep);
    int n = 0;
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (j->fds[i] >= 0)
            keep[n++] = j->fds[i];
    keep[n++] = j->sock;
    keep[n++] = j->errfd;
    for (size_t i = 0; i < j->cfg->n_preserve_fds; i++)
        keep[n++] = j->cfg->preserve_fds[i];
    qsort(keep, (size_t)n, sizeof *keep, cmp_int);
    nr_close_range_except(3U, keep, n);
    /* --net=host: the network is the host's, where this process is */
    bool skip[NR_NS_SLOTS];
    for (int i = 0; i < NR_NS_SLOTS; i++)
        skip[i] = j->fds[i] < 0 || nr_ns_is_current(j->fds[i], i);
    /* --net=container:NAME: the network belongs to NAME's user namespace,
     * the parent of the container's: entered first (the owner's rights
     * are this process's there), the network joined from it, then the
     * container's own user namespace below it */
    if (!skip[NR_NS_NET] && !skip[NR_NS_USER] &&
        nr_ns_join_outer(j->fds[NR_NS_NET], NR_NS_NET, j->fds[NR_NS_USER]) == 1) {
        skip[NR_NS_NET] = true;
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != j->nroot)
            _exit(NR_EXIT_FAILURE);
    }
    /* a network, ipc, uts or cgroup namespace the container joined by path
     * may belong to an outer user namespace (rootless podman's network):
     * where nroot has the rights there, before the user namespace, where
     * it would have none (elsewhere this fails and the loop below joins) */
    for (int i = NR_NS_UTS; i <= NR_NS_CGROUP; i++)
        if (!skip[i] && setns(j->fds[i], nr_ns_flags[i]) == 0)
            skip[i] = true;
    /* user first (it grants the rights for the rest), pid after the others
     * (it applies to children only); with SYS_ADMIN then the payload's
     * nested user and mount namespaces, where the container's mounts are
     * locked (mounts.c): the command gets no more than the payload has */
    for (int i = NR_NS_USER; i < NR_NS_SLOTS; i++) {
        if (!skip[i] && setns(j->fds[i], nr_ns_flags[i]) < 0) {
            nr_error_errno(&e, "cannot join the container's %s namespace", nr_ns_names[i]);
            exec_fail(j, &e);
        }
        if (skip[i] || nr_ns_flags[i] != CLONE_NEWUSER)
            continue;
        /* new credentials: the kernel reset both */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != j->nroot)
            _exit(NR_EXIT_FAILURE);
        if (i == NR_NS_USER && nr_keyring_new_session(&e) < 0)
            exec_fail(j, &e);
    }
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (j->fds[i] >= 0)
            close(j->fds[i]);
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) {
        nr_error_errno(&e, "pipe");
        exec_fail(j, &e);
    }
    j->ready = ready[1];
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        nr_error_errno(&e, "cannot start the command");
        exec_fail(j, &e);
    }
    if (pid == 0)
        exec_command(j);
    /* nroot learns the pid, and sends GO, only once the command dies with
     * it: a GO sent before its PDEATHSIG would wait in the socket for a
     * command that nroot's death no longer ends (inside the pid namespace
     * getppid() cannot tell it was reparented) */
    close(ready[1]);
    char c;
    while (read(ready[0], &c, 1) < 0 && errno == EINTR)
        ;
    NrError which = { .code = pid };
    nr_sync_send(j->sock, NR_SYNC_PID, &which);
    _exit(0);
}

static int exec_prepare(const NrCtrArgs *a, NrCtr *c, NrRunConfig *cfg, NrError *err)
{
    if (nr_ctr_find(a->operands[0], c, err) < 0)
        return -1;
    if (!c->running) {
        nr_error_msg(err, "container '%s' is not running", a->operands[0]);
        if (c->in_store)
            nr_error_hint(err, "'nroot start %s' starts it", a->operands[0]);
        return -1;
    }
    if (nr_cmd_ctr_resolved(c, cfg, err) < 0)
        return -1;
    /* the devices' environment (their nodes and mounts are in place) */
    nr_cdi_resolve_command(cfg);
    if (nr_run_apply_image(cfg, err) < 0 || nr_run_filter(cfg, c->rt_dir, true, err) < 0)
        return -1;
    cfg->argv = &a->operands[1];
    if (a->workdir)
        cfg->workdir = a->workdir;
    if (a->user) {
        cfg->user = a->user;
        cfg->user_from_image = false;
    }
    for (size_t i = 0; i < a->env.n; i++)
        nr_strv_push(&cfg->env, a->env.v[i]);
    cfg->env_host = a->env_host;
    cfg->preserve_fds = a->preserve;
    cfg->n_preserve_fds = a->n_preserve;
    cfg->pty = a->tty;
    cfg->interactive = a->interactive;
    cfg->tty = isatty(STDIN_FILENO);
    return 0;
}

int nr_cmd_exec_in(NrCtr *c, NrRunConfig *cfg)
{
    return nr_cmd_exec_in_cb(c, cfg, NULL, NULL);
}

int nr_cmd_exec_in_cb(NrCtr *c, NrRunConfig *cfg, void (*started)(void *, pid_t), void *data)
{
    NrError err = { 0 };
    static ExecJob j;
    if (nr_ctr_open_namespaces(c, j.fds, &err) < 0)
        return nr_cmd_fail(&err);
    nr_cgroup_init(&j.cg);
    if (nr_cgroup_any(&cfg->limits) && c->init_pid > 0 &&
        nr_cgroup_of(c->init_pid, c->id, true, &j.cg, &err) < 0) {
        nr_error_prefix(&err, "cannot enter the cgroup of container '%s'", nr_ctr_display_name(c));
        return nr_cmd_fail(&err);
    }
    /* with SYS_ADMIN only the payload's nested namespaces keep the mounts
     * locked: an nroot that did not record them cannot exec safely */
    if (nr_mounts_lock_wanted(cfg) &&
        (j.fds[NR_NS_NESTED_USER] < 0 || j.fds[NR_NS_NESTED_MNT] < 0)) {
        nr_error_msg(&err,
                     "container '%s' has --cap-add=SYS_ADMIN, but the namespaces where its "
                     "mounts are locked are not known",
                     nr_ctr_display_name(c));
        nr_error_hint(&err, "stop it and start it again with this nroot");
        return nr_cmd_fail(&err);
    }
    nr_supervise_block(cfg->pty);
    /* the caller's stdio never enters the container: pipes, or with -t
     * the container's own pty (the joiner gets /dev/null); but oci exec -d */
    static const bool all[3] = { true, true, true };
    NrRelay *relay = NULL;
    int sp[2], ep[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(ep, O_CLOEXEC) < 0)
        return nr_error_errno(&err, "socketpair"), nr_cmd_fail(&err);
    if (cfg->exec_detach && !cfg->pty) {
        /* oci exec -d: the caller's stdio is the command's, as runc's */
        nr_stdio_fill();
        for (int fd = 0; fd < 3; fd++)
            if ((j.stdio[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
                return nr_error_errno(&err, "cannot pass the stdio on"), nr_cmd_fail(&err);
    } else if (nr_relay_plan(all, cfg->pty, cfg->interactive, j.stdio, &relay, &err) < 0)
        return nr_cmd_fail(&err);
    j.cfg = cfg;
    j.sock = sp[1];
    j.errfd = ep[1];
    j.nroot = getpid();
    fflush(NULL);
    pid_t joiner = fork();
    if (joiner < 0)
        return nr_error_errno(&err, "fork"), nr_cmd_fail(&err);
    if (joiner == 0) {
        close(sp[0]);
        close(ep[0]);
        exec_join(&j);
    }
    close(sp[1]);
    close(ep[1]);
    nr_cgroup_remove_fds(&j.cg);
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (j.fds[i] >= 0)
            close(j.fds[i]);
    for (int fd = 0; fd < 3; fd++)
        close(j.stdio[fd]);
    /* the command has the caller's fds it was to get; nroot needs them no more */
    for (size_t i = 0; i < cfg->n_preserve_fds; i++)
        close(cfg->preserve_fds[i]);
    /* until the command ends (its end is the end of exec), or the joiner
     * failed; the pty and the relay copy what it wrote before any message */
    NrSupervise sv = { .cfg = cfg,
                       .sync_fd = sp[0],
                       .joiner = joiner,
                       .err_fd = ep[0],
                       .relay = relay,
                       .started = started,
                       .data = data };
    int status;
    if (nr_supervise_wait(&sv, &status, &err) < 0)
        nr_error_print(&err);
    close(sp[0]);
    return status;
}

int nr_cmd_exec(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = nr_ctr_args_parse("exec", argc, argv, &a, 2, -1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    /* first of all: nothing the caller left open (`7<$HOME`) and nothing
     * opened below (the image's lock) can reach the container, but the
     * fds the command is to get (--preserve-fd, PMI_FD) */
    nr_close_range_except(3U, a.preserve, (int)a.n_preserve);
    nr_stdio_fill();
    static NrRunConfig cfg;
    NrCtr c;
    if (exec_prepare(&a, &c, &cfg, &err) < 0) {
        nr_ctr_clear(&c);
        return nr_cmd_fail(&err);
    }
    int status = nr_cmd_exec_in(&c, &cfg);
    nr_ctr_clear(&c);
    /* _exit: no exit-time work in a process whose children were in the
     * container (LeakSanitizer's tracer, in sanitizer builds, must not
     * wait on them) */
    fflush(NULL);
    _exit(status);
}
