/* SPDX-License-Identifier: Apache-2.0 */
/* supervise.c — the one loop of the parent while a container's process
 * runs (nr-supervise.h): PID 1 of a new container for `run` and `start`,
 * a command a joiner forked into a running one for `exec`.
 *
 * One poll set: the signals (signalfd), the sync socket, exec's failure
 * pipe, then what slirp, the published ports, the terminal and the stdio
 * relay fill in; it grows with the connections.  Every pass fills, polls
 * and dispatches; the sync messages go through one table of handlers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "nr-bypass.h"
#include "nr-cdi.h"
#include "nr-error.h"
#include "nr-fuse.h"
#include "nr-plan.h"
#include "nr-portfwd.h"
#include "nr-pty.h"
#include "nr-signals.h"
#include "nr-slirp.h"
#include "nr-spawn.h"
#include "nr-supervise.h"

/* the first entries of the poll set; the fills follow */
enum { P_SIG, P_SYNC, P_ERR, P_WATCH, P_FIXED };

typedef struct Loop {
    const NrSupervise *s;
    const NrRunConfig *cfg;
    bool exec; /* a command a joiner forked, not PID 1 */
    int sfd;
    bool sync_open;                        /* no EOF on the sync socket, no failure that ended it */
    int more[NR_SYNC_MAX_FDS - 1], n_more; /* the message's fds after its first */
    int err_fd;
    int watch_fd; /* s->watch_fd until it fired */
    struct pollfd *pfd;
    int cap;
    NrSlirp *net;
    NrBypass *bypass;        /* --tcp-bypass: the payload's connect notifications */
    struct stat ctr_net;     /* the container's network namespace (st_ino 0: unknown) */
    int bp_userns, bp_netns; /* --tcp-bypass: its user and network namespaces, until bypass */
    NrPty *pty;
    pid_t fuse_pid;
    NrSquashfs sqfs;
    pid_t pid;         /* where signals go; exec: 0 until NR_SYNC_PID */
    sigset_t early;    /* exec: signals that came before the pid */
    int joiner_status; /* exec: -1 until the joiner is reaped */
    bool done;
    bool lingering; /* run --join: the command ended, others may still be in */
    bool hurry;     /* a signal came while lingering */
    bool exited;    /* status is the process's own */
    int status;
    NrError err; /* what the container or the command reported */
} Loop;

static void signal_set(sigset_t *set, bool pty)
{
    sigemptyset(set);
    nr_signals_forwarded(set, NR_SIG_BY_NROOT);
    sigaddset(set, SIGCHLD);
    if (pty) {
        /* a stop must give the host terminal back its mode first */
        sigaddset(set, SIGTSTP);
        sigaddset(set, SIGCONT);
    }
}

void nr_supervise_block(bool pty)
{
    sigset_t set;
    signal_set(&set, pty);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

/* nroot's soft RLIMIT_NOFILE up to the hard one: the relays of published
 * ports and slirp's sockets hold a descriptor or more per connection */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int status_of(int ws)
{
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : NR_EXIT_FAILURE;
}

/* a failure that leaves the container useless: it is killed, and nothing
 * more is taken from it */
static void give_up(Loop *l)
{
    kill(l->pid, SIGKILL);
    l->sync_open = false;
}

/* ---- the sync messages; a handler sets m->fd to -1 when it takes it ---- */

typedef void (*Handler)(Loop *l, NrSyncMsg *m);

/* #3 parent: the network's other end */
static void on_tap(Loop *l, NrSyncMsg *m)
{
    if (l->net || m->fd < 0)
        return;
    if (!(l->net = nr_slirp_new(m->fd, l->cfg, &l->err)))
        give_up(l);
    m->fd = -1;
}

/* the payload's --tcp-bypass filter: its listener */
static void on_notify(Loop *l, NrSyncMsg *m)
{
    if (l->bypass || m->fd < 0 || !l->cfg->tcp_bypass)
        return;
    if (!l->ctr_net.st_ino) {
        nr_error_msg(&l->err, "--tcp-bypass: the container's network namespace is unknown");
        give_up(l);
        return;
    }
    l->bypass =
        nr_bypass_new(m->fd, l->cfg, &l->ctr_net, l->bp_userns, l->bp_netns, l->s->ports, &l->err);
    l->bp_userns = l->bp_netns = -1; /* taken */
    if (!l->bypass)
        give_up(l);
    m->fd = -1;
}

/* #3a parent: the overlay's daemon, outside the container */
static void on_fuse(Loop *l, NrSyncMsg *m)
{
    if (l->fuse_pid == 0 && m->fd >= 0 && (l->fuse_pid = nr_fuse_start(m, &l->err)) < 0)
        give_up(l);
}

/* #3s parent: the squashfs image's daemon, outside the container */
static void on_squashfs(Loop *l, NrSyncMsg *m)
{
    if (nr_fuse_squashfs_start(m, l->cfg, l->s->sync_fd, &l->sqfs, &l->err) < 0)
        give_up(l);
}

/* nroot oci --console-socket: the terminal's master goes to that unix
 * socket, as runc sends it (SCM_RIGHTS, the terminal's name as the
 * message); the caller (conmon, a test) relays it, nroot does not */
static int send_console(const char *path, int master, NrError *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path)
        return nr_error_msg(err, "--console-socket '%s': too long a path", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    nr_autoclose int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        return nr_error_errno(err, "cannot connect to the console socket '%s'", path);
    unsigned n = 0;
    char name[32] = "/dev/pts/?";
    if (ioctl(master, TIOCGPTN, &n) == 0)
        snprintf(name, sizeof name, "/dev/pts/%u", n);
    if (nr_send_fd(s, name, strlen(name), master) < 0)
        return nr_error_errno(err, "cannot send the terminal to '%s'", path);
    return 0;
}

static void on_pty(Loop *l, NrSyncMsg *m)
{
    if (m->fd >= 0 && l->cfg->console_socket) {
        if (send_console(l->cfg->console_socket, m->fd, &l->err) < 0)
            give_up(l);
        return;
    }
    if (m->fd >= 0 && l->cfg->oci_fifo) {
        /* create leaves: nobody would relay the terminal */
        nr_error_msg(&l->err, "process.terminal needs --console-socket with nroot oci create");
        give_up(l);
        return;
    }
    if (l->cfg->pty && !l->pty && m->fd >= 0) {
        l->pty = nr_pty_new(m->fd, l->cfg->interactive);
        m->fd = -1;
    }
}

static void on_connected(Loop *l, NrSyncMsg *m)
{
    if (l->s->ports) {
        nr_portfwd_connected(l->s->ports, m);
        m->fd = -1;
    }
}

/* namespace `slot` of the container: true when it kept fd */
static bool take_ns(Loop *l, int slot, int fd)
{
    if (slot == NR_NS_NET && fstat(fd, &l->ctr_net) < 0)
        l->ctr_net.st_ino = 0;
    /* --tcp-bypass makes sockets there (a host socket's AF_UNSPEC) */
    int *keep = slot == NR_NS_USER ? &l->bp_userns : slot == NR_NS_NET ? &l->bp_netns : NULL;
    if (keep && *keep < 0 && l->cfg->tcp_bypass && !l->bypass)
        *keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return slot >= 0 && slot < NR_NS_SLOTS && l->s->keep_ns && l->s->keep_ns(l->s->data, slot, fd);
}

static void on_ns(Loop *l, NrSyncMsg *m)
{
    if (m->fd >= 0 && take_ns(l, m->err.code, m->fd))
        m->fd = -1;
}

/* PID 1's namespaces, one fd per bit of err.code */
static void on_nsset(Loop *l, NrSyncMsg *m)
{
    int k = 0;
    for (int slot = 0; slot < NR_NS_COUNT; slot++) {
        if (!(m->err.code & (1 << slot)))
            continue;
        int *fd = k == 0 ? &m->fd : k - 1 < l->n_more ? &l->more[k - 1] : NULL;
        k++;
        if (!fd || *fd < 0)
            break;
        if (take_ns(l, slot, *fd))
            *fd = -1;
    }
}

static void on_overlay(Loop *l, NrSyncMsg *m)
{
    if (l->s->overlay && (m->err.code == NR_OVERLAY_KERNEL || m->err.code == NR_OVERLAY_FUSE))
        l->s->overlay(l->s->data, (NrOverlayMode)m->err.code);
}

static void on_started(Loop *l, NrSyncMsg *m)
{
    if (l->s->started)
        l->s->started(l->s->data, l->pid);
}

static void on_error(Loop *l, NrSyncMsg *m)
{
    l->err = m->err;
}

static void on_exit_status(Loop *l, NrSyncMsg *m)
{
    if (l->exited)
        return;
    l->status = m->err.code;
    l->exited = true;
    /* --join: PID 1 stays for the commands that joined */
    l->lingering = l->s->linger != NULL;
    l->done = !l->lingering;
}

/* exec: the joiner forked the command; it goes on once nroot knows it */
static void on_pid(Loop *l, NrSyncMsg *m)
{
    if (l->pid || m->err.code <= 0)
        return;
    l->pid = m->err.code;
    if (l->s->started) /* nroot oci exec: --pid-file, --detach */
        l->s->started(l->s->data, l->pid);
    nr_sync_send(l->s->sync_fd, NR_SYNC_GO, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&l->early, sig) == 1)
            kill(l->pid, sig);
}

/* the child's devices are in place: the prestart and createRuntime hooks, in nroot's
 * namespaces (devices.c waits for GO) */
static void on_hooks(Loop *l, NrSyncMsg *m)
{
    if (nr_cdi_run_hooks(l->cfg, NR_HOOK_PRESTART, l->pid, &l->err) < 0 ||
        nr_cdi_run_hooks(l->cfg, NR_HOOK_CREATE_RUNTIME, l->pid, &l->err) < 0)
        give_up(l);
    else
        nr_sync_send(l->s->sync_fd, NR_SYNC_GO, NULL);
}

/* #3n parent: the container's network namespace onto its user networks */
static void on_netns(Loop *l, NrSyncMsg *m)
{
    char info[sizeof m->err.msg];
    NrError go = { 0 };
    if (m->fd < 0 || !l->s->netns ||
        l->s->netns(l->s->data, m->fd, info, sizeof info, &l->err) < 0) {
        if (!l->err.code)
            nr_error_msg(&l->err, "the container's network namespace was not attached");
        nr_sync_send(l->s->sync_fd, NR_SYNC_ERROR, &l->err);
        give_up(l);
        return;
    }
    snprintf(go.msg, sizeof go.msg, "%s", info);
    nr_sync_send(l->s->sync_fd, NR_SYNC_GO, &go);
}

enum { RUN = 1, EXEC = 2 };

/* who may send what: PID 1 to run, the joiner and the command to exec */
static const struct {
    Handler fn;
    unsigned to;
} handlers[] = {
    [NR_SYNC_ERROR] = { on_error, RUN },     [NR_SYNC_EXIT] = { on_exit_status, RUN },
    [NR_SYNC_TAP] = { on_tap, RUN },         [NR_SYNC_CONNECTED] = { on_connected, RUN },
    [NR_SYNC_PTY] = { on_pty, RUN | EXEC },  [NR_SYNC_NS] = { on_ns, RUN },
    [NR_SYNC_STARTED] = { on_started, RUN }, [NR_SYNC_FUSE] = { on_fuse, RUN },
    [NR_SYNC_PID] = { on_pid, EXEC },        [NR_SYNC_OVERLAY] = { on_overlay, RUN },
    [NR_SYNC_HOOKS] = { on_hooks, RUN },     [NR_SYNC_SQUASHFS] = { on_squashfs, RUN },
    [NR_SYNC_NETNS] = { on_netns, RUN },     [NR_SYNC_NOTIFY] = { on_notify, RUN },
    [NR_SYNC_NSSET] = { on_nsset, RUN },
};

static void on_sync(Loop *l)
{
    NrSyncMsg m;
    if (nr_sync_recv_more(l->s->sync_fd, &m, l->more, &l->n_more) != 1) {
        l->sync_open = false;
        return;
    }
    if (m.type < sizeof handlers / sizeof handlers[0] && handlers[m.type].fn &&
        (handlers[m.type].to & (l->exec ? EXEC : RUN)))
        handlers[m.type].fn(l, &m);
    /* what nobody took */
    if (m.fd >= 0)
        close(m.fd);
    for (int i = 0; i < l->n_more; i++)
        if (l->more[i] >= 0)
            close(l->more[i]);
    l->n_more = 0;
}

/* ---- the rest of the poll set ---- */

/* exec: EOF, the command was executed; a message, why it was not */
static void read_failure(Loop *l)
{
    ssize_t got = read(l->err_fd, &l->err, sizeof l->err);
    if (got != (ssize_t)sizeof l->err)
        memset(&l->err, 0, sizeof l->err);
    l->err.msg[sizeof l->err.msg - 1] = l->err.hint[sizeof l->err.hint - 1] = '\0';
    close(l->err_fd);
    l->err_fd = -1;
}

/* run: PID 1 ended (WNOWAIT: reaped at the end, where its failure report
 * is read).  What it sent before is queued, and the loop reads one
 * message a pass: a short command's NS, STARTED and EXIT can all be
 * there when its SIGCHLD is read.  They are handled now, as if read
 * before it: the command started and ended, its status is its own. */
static void check_pid1(Loop *l)
{
    siginfo_t wi = { 0 };
    if (waitid(P_PID, (id_t)l->pid, &wi, WEXITED | WNOHANG | WNOWAIT) != 0 || wi.si_pid != l->pid)
        return;
    int fl = fcntl(l->s->sync_fd, F_GETFL);
    if (fl >= 0 && fcntl(l->s->sync_fd, F_SETFL, fl | O_NONBLOCK) == 0)
        while (l->sync_open && !l->exited)
            on_sync(l); /* EOF or nothing left: sync_open false */
    l->done = true;
}

static void on_signal(Loop *l)
{
    struct signalfd_siginfo si;
    if (read(l->sfd, &si, sizeof si) != (ssize_t)sizeof si)
        return;
    int sig = (int)si.ssi_signo;
    if (l->pty && sig == SIGWINCH)
        nr_pty_resize(l->pty); /* the kernel tells the container's foreground */
    else if (l->cfg->pty && (sig == SIGTSTP || sig == SIGCONT)) {
        if (sig == SIGTSTP && l->pty)
            nr_pty_stop(l->pty); /* returns once continued */
    } else if (sig == SIGCHLD) {
        if (!l->exec)
            check_pid1(l);
    } else if (l->lingering)
        l->hurry = true; /* the command is gone; the others have nroots of their own */
    else if (l->pid)
        kill(l->pid, sig);
    else
        sigaddset(&l->early, sig);
}

/* run --join, once the command ended: the end of the container when the
 * others are gone */
static void check_linger(Loop *l)
{
    if (!l->lingering || l->done || l->s->linger(l->s->data, l->hurry))
        return;
    kill(l->pid, SIGKILL);
    l->done = true;
}

/* exec, after every pass: the joiner ends once it sent the pid (or failed:
 * err_fd says why); the command's end is the end of exec */
static void check_exec(Loop *l)
{
    int ws;
    if (l->joiner_status < 0 && waitpid(l->s->joiner, &ws, WNOHANG) == l->s->joiner)
        l->joiner_status = status_of(ws);
    if (l->pid && l->cfg->exec_detach) {
        /* oci exec -d: the end is the command's exec (EOF on err_fd and,
         * its terminal sent, on the socket) or its failure; it is not
         * reaped unless it failed: its parent-to-be (conmon) waits for it */
        if (l->err_fd >= 0 || l->sync_open)
            return;
        if (l->err.code)
            while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        l->status = 0;
        l->done = true;
    } else if (l->pid && waitpid(l->pid, &ws, WNOHANG) == l->pid) {
        l->status = status_of(ws);
        l->exited = l->done = true;
    } else if (!l->pid && l->joiner_status >= 0 && (l->joiner_status != 0 || !l->sync_open)) {
        l->status = l->joiner_status ? l->joiner_status : NR_EXIT_FAILURE;
        l->done = true;
    }
}

static int fill(Loop *l, int *timeout)
{
    const NrSupervise *s = l->s;
    l->pfd[P_SIG] = (struct pollfd){ .fd = l->sfd, .events = POLLIN };
    l->pfd[P_SYNC] = (struct pollfd){ .fd = l->sync_open ? s->sync_fd : -1, .events = POLLIN };
    l->pfd[P_ERR] = (struct pollfd){ .fd = l->err_fd, .events = POLLIN };
    l->pfd[P_WATCH] = (struct pollfd){ .fd = l->watch_fd, .events = POLLIN };
    int n = P_FIXED;
    if (l->net)
        n += nr_slirp_fill(l->net, &l->pfd, &l->cap, n, timeout);
    if (s->ports)
        n += nr_portfwd_fill(s->ports, &l->pfd, &l->cap, n, timeout);
    if (l->bypass)
        n += nr_bypass_fill(l->bypass, &l->pfd, &l->cap, n, timeout);
    if (l->pty) {
        nr_portfwd_poll_grow(&l->pfd, &l->cap, n + 3);
        n += nr_pty_fill(l->pty, l->pfd, n, l->cap);
    }
    if (s->relay) {
        nr_portfwd_poll_grow(&l->pfd, &l->cap, n + 6);
        n += nr_relay_fill(s->relay, l->pfd, n, l->cap);
    }
    return n;
}

static void dispatch(Loop *l, int pr)
{
    const NrSupervise *s = l->s;
    if (l->net)
        nr_slirp_dispatch(l->net, pr < 0); /* its timers, even without events */
    if (l->bypass)
        nr_bypass_dispatch(l->bypass, l->pfd); /* the pending also on a timeout */
    if (pr <= 0)
        return;
    if (s->ports)
        nr_portfwd_dispatch(s->ports, l->pfd);
    if (l->pty)
        nr_pty_dispatch(l->pty, l->pfd);
    if (s->relay)
        nr_relay_dispatch(s->relay, l->pfd);
    if (l->pfd[P_SYNC].revents)
        on_sync(l);
    if (l->pfd[P_ERR].revents)
        read_failure(l);
    if (l->pfd[P_WATCH].revents) {
        l->watch_fd = -1;
        if (s->watch)
            s->watch(s->data);
    }
    if (l->pfd[P_SIG].revents & POLLIN)
        on_signal(l);
}

/* the process is gone, or going: reap it, then the rest in order */
static void finish(Loop *l)
{
    const NrSupervise *s = l->s;
    if (l->exec) {
        if (l->err_fd >= 0)
            read_failure(l);
        while (l->joiner_status < 0 && waitpid(s->joiner, NULL, 0) < 0 && errno == EINTR)
            ;
    } else if (!l->exited) {
        /* PID 1 died without a status: a setup failure (reported on the
         * socket) or a kill from outside.  What it sent before dying is
         * queued: the overlay kind of a layer it mounted is recorded even
         * so (the loop ends at the first SIGCHLD, which may come before
         * that message was read); the failure is kept for below */
        NrError e = { 0 }, failed = { 0 };
        NrSyncMsg m;
        fcntl(s->sync_fd, F_SETFL, O_NONBLOCK);
        while (l->sync_open && nr_sync_recv(s->sync_fd, &m) == 1) {
            if (m.type == NR_SYNC_OVERLAY)
                on_overlay(l, &m);
            else if (m.type == NR_SYNC_ERROR && !failed.code)
                failed = m.err;
            if (m.fd >= 0)
                close(m.fd);
        }
        if (nr_spawn_wait(l->pid, s->sync_fd, &l->status, NULL, &e) < 0)
            l->err = e;
        else if (failed.code)
            l->err = failed;
    } else {
        /* reap PID 1: when nroot returns, no process of the container is
         * left, and no zombie is handed to an init that may not reap it */
        if (s->ended)
            s->ended(s->data, l->status);
        while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    /* the container is gone: its overlay's daemon goes too */
    nr_fuse_stop(l->fuse_pid, l->cfg->scratch, l->cfg->ctr_dir && !l->cfg->read_only);
    nr_fuse_squashfs_stop(&l->sqfs, l->cfg->scratch); /* its lower layer, after it */
    nr_pty_free(l->pty);     /* the rest of the output, the host terminal's mode */
    nr_relay_free(s->relay); /* what the command wrote, before any message */
    nr_slirp_free(l->net);
    nr_bypass_free(l->bypass);
    if (l->bp_userns >= 0)
        close(l->bp_userns);
    if (l->bp_netns >= 0)
        close(l->bp_netns);
    nr_portfwd_free(s->ports);
}

int nr_supervise_wait(const NrSupervise *s, int *ret_status, NrError *err)
{
    Loop l = { .s = s,
               .cfg = s->cfg,
               .exec = s->joiner > 0,
               .pid = s->pid,
               .err_fd = s->err_fd,
               .watch_fd = s->watch ? s->watch_fd : -1,
               .sync_open = true,
               .joiner_status = -1,
               .sqfs = NR_SQUASHFS_INIT,
               .bp_userns = -1,
               .bp_netns = -1,
               .status = NR_EXIT_FAILURE };
    sigemptyset(&l.early);
    *ret_status = NR_EXIT_FAILURE;
    sigset_t set;
    signal_set(&set, l.cfg->pty);
    if ((l.sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        nr_error_errno(err, "signalfd");
        if (l.pid > 0)
            kill(l.pid, SIGKILL);
        return -1;
    }
    /* a peer that closes while nroot writes to it (a forwarded connection,
     * the tap, the caller's stdout) must give EPIPE, not end nroot */
    signal(SIGPIPE, SIG_IGN);
    /* many connections need many descriptors: nroot's own limit only, the
     * container (cloned already) keeps the one it was started with */
    if (!l.exec)
        raise_nofile();
    if (s->ports)
        nr_portfwd_start(s->ports, s->sync_fd);
    nr_portfwd_poll_grow(&l.pfd, &l.cap, P_FIXED);
    while (!l.done) {
        int timeout = l.lingering ? 100 : -1;
        int n = fill(&l, &timeout);
        int pr = poll(l.pfd, (nfds_t)n, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        dispatch(&l, pr);
        if (l.exec)
            check_exec(&l);
        check_linger(&l);
    }
    close(l.sfd);
    free(l.pfd);
    finish(&l);
    if (l.err.code && !l.exited)
        l.status = l.err.code;
    *ret_status = l.status;
    if (l.err.code) {
        *err = l.err;
        return -1;
    }
    return 0;
}
