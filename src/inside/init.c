/* SPDX-License-Identifier: Apache-2.0 */
/* init.c — PID 1 of the container.
 *
 * PID 1 forks the payload (payload.c) and stays: it reaps every zombie, forwards the
 * signals it gets (from the parent, which forwards its own) to the payload,
 * and exits with the payload's status (128+N when it died of signal N).
 * When PID 1 exits, the kernel kills everything else in the namespace. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/capability.h>
#include <termios.h>

#include "nr-aside.h"
#include "nr-caps.h"
#include "nr-error.h"
#include "nr-init.h"
#include "nr-mounts.h"
#include "nr-payload.h"
#include "nr-plan.h"
#include "nr-signals.h"
#include "nr-spawn.h"
#include "nr-util.h"

extern char **nr_main_argv;
extern int nr_main_argc;

/* `ps` inside shows "nroot-init" as PID 1, not nroot's command line: the
 * argument strings are contiguous, so they can be overwritten in place
 * (the payload, already forked, keeps its own copy) */
static void rename_self(void)
{
    prctl(PR_SET_NAME, "nroot-init", 0, 0, 0);
    if (!nr_main_argv || nr_main_argc < 1)
        return;
    char *start = nr_main_argv[0];
    char *end = nr_main_argv[nr_main_argc - 1] + strlen(nr_main_argv[nr_main_argc - 1]);
    size_t len = (size_t)(end - start);
    memset(start, 0, len);
    snprintf(start, len + 1, "nroot-init");
}

static _Noreturn void init_fail(int sync_fd, NrError *e)
{
    nr_sync_send(sync_fd, NR_SYNC_ERROR, e);
    _exit(NR_EXIT_FAILURE);
}

/* -t in PID 1: a failure ends the start */
static int open_pty(int sync_fd)
{
    NrError e = { 0 };
    int slave = nr_payload_open_pty(sync_fd, &e);
    if (slave < 0)
        init_fail(sync_fd, &e);
    return slave;
}

/* the namespaces, for `nroot exec`: nroot keeps these fds while the
 * container runs; only PID 1 can open them (it is not dumpable later).
 * PID 1 itself stays in the time namespace it was born in: the
 * container's is that of its children */
static void send_namespaces(int sync_fd)
{
    _Static_assert(NR_NS_COUNT <= NR_SYNC_MAX_FDS, "one message holds every namespace");
    int fds[NR_NS_COUNT], n = 0, opened[NR_NS_COUNT];
    NrError which = { .code = 0 }; /* a bit per namespace sent */
    /* opened already by aside.c's thread, while the root was mounted */
    bool aside = nr_aside_namespaces(opened);
    for (int i = 0; i < NR_NS_COUNT; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/ns/%s%s", nr_ns_names[i],
                 i == NR_NS_TIME ? "_for_children" : "");
        int fd = aside && opened[i] >= 0 ? opened[i] : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        fds[n++] = fd;
        which.code |= 1 << i;
    }
    if (n > 0)
        nr_sync_send_fds(sync_fd, NR_SYNC_NSSET, fds, n, &which);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static int gate_fd = -1; /* nroot oci create: the exec.fifo, O_PATH */

void nr_init_gate(int fd)
{
    gate_fd = fd;
}

/* the start gate: nroot is told the container was created, records it
 * and answers GO; then the fifo, reopened for writing through
 * /proc/self/fd, blocks until `nroot oci start` opens it for reading.
 * Without GO (create was killed before its state and --pid-file were
 * written) nobody could ever start or find this PID 1: it ends.  Returns
 * the sync socket that is left: none. */
static int wait_gate(int sync_fd)
{
    nr_sync_send(sync_fd, NR_SYNC_STARTED, NULL);
    NrSyncMsg go;
    if (nr_sync_recv(sync_fd, &go) != 1 || go.type != NR_SYNC_GO)
        _exit(NR_EXIT_FAILURE);
    close(sync_fd);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", gate_fd);
    int fd;
    do
        fd = open(path, O_WRONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        fprintf(stderr, "nroot: error: cannot open the start gate %s: %s\n", path, strerror(errno));
        _exit(NR_EXIT_FAILURE);
    }
    if (write(fd, "0", 1) != 1)
        _exit(NR_EXIT_FAILURE);
    close(fd);
    close(gate_fd);
    gate_fd = -1;
    return -1;
}

/* PID 1 from here on only waits and signals: it keeps CAP_KILL (the
 * payload may run as another uid) and no other capability.  It has not
 * been dumpable since it began (run_child), so the payload cannot ptrace
 * it or read it through /proc; its fds were closed then too: only stdio
 * (never the caller's terminal) and sync_fd. */
static void drop_to_kill(void)
{
    NrError ignored;
    uint64_t kill_only = 1ULL << CAP_KILL;
    if (nr_caps_bound(kill_only, &ignored) == 0)
        nr_caps_set(kill_only, &ignored);
}

typedef struct Payload {
    const NrRunConfig *cfg;
    int slave, sync_fd, ep, lock;
    bool aside;       /* started by aside.c's thread */
    NrAsideDone done; /* what that thread did for it */
    int go;           /* the payload's wait for PID 1 (pid1_meanwhile); -1: none */
} Payload;

static int payload_main(void *data)
{
    const Payload *p = data;
    NrError e = { 0 };
    if (p->cfg->bypass && p->sync_fd >= 0)
        nr_payload_bypass_sock(p->sync_fd); /* the listener goes to nroot on it */
    else
        close(p->sync_fd);
    if (p->aside)
        nr_payload_aside(&p->done, nr_aside_bounded(), p->go);
    if (p->lock < 0 || nr_mounts_lock_enter(p->lock, &e) == 0)
        nr_payload_exec(p->cfg, p->slave, true, &e);
    nr_write_all(p->ep, &e, sizeof e);
    _exit(e.code ? e.code : NR_EXIT_FAILURE);
}

/* What PID 1 owes the payload before its exec, done while aside.c's thread
 * starts it: PID 1 keeps only CAP_KILL (the command never sees it with
 * more), and with --tcp-bypass nroot gets the namespaces (the payload's
 * listener must come after them; otherwise they come with STARTED); then
 * the payload goes on (`go`). */
static void pid1_meanwhile(void *data)
{
    const Payload *p = data;
    if (p->sync_fd >= 0 && p->cfg->bypass)
        send_namespaces(p->sync_fd);
    drop_to_kill();
    uint64_t one = 1;
    while (write(p->go, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

/* The payload is started as posix_spawn starts a program: in PID 1's
 * memory (CLONE_VM), PID 1 suspended until it exec'd or failed
 * (CLONE_VFORK), on a stack of its own.  No copy of PID 1's page tables
 * is made, and its exec has none to tear down.  Not when the payload
 * waits for PID 1 (--cap-add=SYS_ADMIN: PID 1 maps its nested user
 * namespace): a plain fork then. */
static pid_t start_payload(Payload *p, int ep_read, int lock_other)
{
    if (p->lock >= 0) {
        NrAsideDone unused;
        nr_aside_spawn(NULL, NULL, NULL, NULL, NULL, &unused); /* the thread ends */
        pid_t pid = fork();
        if (pid == 0) {
            close(ep_read);
            close(lock_other);
            payload_main(p);
        }
        return pid;
    }
    /* 1 MiB, a guard page under it */
    size_t page = (size_t)sysconf(_SC_PAGESIZE), size = 1024 * 1024 + page;
    void *stack =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -1;
    mprotect(stack, page, PROT_NONE);
    /* ep_read is CLOEXEC: the payload's exec closes it, as fork's child
     * closed it; a failure writes to ep only.  From the thread that loaded
     * the profile when there is one (aside.c), else from here */
    p->aside = true;
    pid_t pid = nr_aside_spawn(payload_main, p, (char *)stack + size,
                               p->go >= 0 ? pid1_meanwhile : NULL, p, &p->done);
    if (pid == -2) {
        p->aside = false;
        if (p->go >= 0) /* before: the payload would wait for it */
            pid1_meanwhile(p);
        pid = nr_aside_clone(payload_main, p, (char *)stack + size);
    }
    int e = errno;
    munmap(stack, size);
    errno = e;
    return pid;
}

void nr_init_main(const NrRunConfig *cfg, int sync_fd)
{
    sigset_t set;
    sigemptyset(&set);
    nr_signals_forwarded(&set, NR_SIG_BY_INIT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    /* without a pid namespace of its own PID 1 is no namespace init: the
     * orphans of the container (double forks) still come to it, stay in
     * its tree (where nroot oci kill --all and delete find them) and are
     * reaped by it */
    /* The container leaves nroot's session: it has no controlling terminal
     * of the host's (it never gets the host's terminal at all: run.c
     * relays it through pipes), gets no job-control signals from it, and
     * nroot forwards signals.  Both done by aside.c's thread when there
     * is one. */
    if (!nr_aside_session()) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        setsid();
    }
    int slave = cfg->pty ? open_pty(sync_fd) : -1;

    int ep[2], lock[2] = { -1, -1 };
    NrError e = { 0 };
    /* before the payload's exec: the start gate's STARTED must come after
     * the namespaces (nroot oci create records them then), --tcp-bypass's
     * listener (sent by the payload) needs the network namespace known, and
     * PID 1 must drop its capabilities as soon as the payload has exec'd
     * (sent after the fork, they held PID 1 back while the payload could
     * already read its full capabilities: signals.bats).  Started by
     * aside.c's thread, the payload has that thread's capabilities: PID 1
     * drops its own while the payload gets ready (pid1_meanwhile), which
     * waits for that before its exec; a payload forked by PID 1 (the
     * SYS_ADMIN lock) has its own, and PID 1 drops them after its exec */
    bool lock_wanted = nr_mounts_lock_wanted(cfg);
    bool dropped = !lock_wanted && nr_aside_will_spawn();
    int go = dropped && gate_fd < 0 ? eventfd(0, EFD_CLOEXEC) : -1;
    /* then the namespaces come with STARTED (one wake of nroot for both,
     * off the payload's way), unless the payload's --tcp-bypass listener
     * needs them known before (pid1_meanwhile) */
    bool ns_late = go >= 0 && !cfg->bypass && sync_fd >= 0;
    if (go < 0 && sync_fd >= 0)
        send_namespaces(sync_fd);
    if (gate_fd >= 0)
        sync_fd = wait_gate(sync_fd);
    if (pipe2(ep, O_CLOEXEC) < 0 ||
        (lock_wanted && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lock) < 0)) {
        nr_error_errno(&e, "pipe");
        init_fail(sync_fd, &e);
    }
    Payload p = {
        .cfg = cfg, .slave = slave, .sync_fd = sync_fd, .ep = ep[1], .lock = lock[1], .go = go
    };
    if (dropped && go < 0)
        drop_to_kill();
    pid_t pid = start_payload(&p, ep[0], lock[0]);
    if (go >= 0)
        close(go);
    if (pid < 0) {
        nr_error_errno(&e, "cannot start the command");
        init_fail(sync_fd, &e);
    }
    close(ep[1]);
    /* the caller's fds the payload got (--preserve-fd, PMI_FD) are the
     * payload's: PID 1 keeps none (a socket must see its end with them) */
    for (size_t i = 0; i < cfg->n_preserve_fds; i++)
        close(cfg->preserve_fds[i]);
    if (lock[0] >= 0) {
        /* --cap-add=SYS_ADMIN: the payload's nested user namespace (mounts.c) */
        close(lock[1]);
        nr_mounts_lock_map(pid, lock[0], sync_fd);
        close(lock[0]);
    }
    if (slave >= 0)
        close(slave);
    rename_self();
    /* #4: EOF means the payload exec'd; a message is its failure */
    NrError perr;
    ssize_t n;
    do
        n = read(ep[0], &perr, sizeof perr);
    while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (ns_late)
        send_namespaces(sync_fd);
    if (n == (ssize_t)sizeof perr) {
        perr.msg[sizeof perr.msg - 1] = '\0';
        perr.hint[sizeof perr.hint - 1] = '\0';
        if (sync_fd < 0) /* after the start gate: nobody else can say it */
            fprintf(stderr, "nroot: error: %s\n", perr.msg);
        nr_sync_send(sync_fd, NR_SYNC_ERROR, &perr);
    } else
        nr_sync_send(sync_fd, NR_SYNC_STARTED, NULL);
    if (!dropped)
        drop_to_kill();

    /* signals, and the parent's requests for sockets into the container's
     * network (published ports, portfwd.c) */
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    for (;;) {
        int sig;
        if (sfd >= 0) {
            struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN },
                                     { .fd = sync_fd, .events = POLLIN } };
            if (poll(pfd, 2, -1) < 0)
                continue;
            if (sync_fd >= 0 && (pfd[1].revents & POLLIN))
                nr_connect_serve(sync_fd);
            if (!(pfd[0].revents & POLLIN))
                continue;
            struct signalfd_siginfo ssi;
            if (read(sfd, &ssi, sizeof ssi) != (ssize_t)sizeof ssi)
                continue;
            sig = (int)ssi.ssi_signo;
        } else {
            siginfo_t si;
            if ((sig = sigwaitinfo(&set, &si)) < 0)
                continue;
        }
        if (sig != SIGCHLD) {
            if (pid > 0)
                kill(pid, sig);
            continue;
        }
        int status;
        pid_t w;
        while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
            if (w != pid)
                continue;
            /* #5: the status goes to the parent as a message, so that an
             * exit code of our own (125) is never mistaken for it; the rest
             * of the container dies with PID 1 */
            NrError ex = { .code =
                               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status) };
            nr_sync_send(sync_fd, NR_SYNC_EXIT, &ex);
            if (!cfg->join)
                _exit(ex.code);
            /* --join: the container stays for the commands that joined it,
             * until the parent ends it; PID 1 reaps their orphans, and its
             * payload's pid may now be another's */
            pid = 0;
        }
    }
}
