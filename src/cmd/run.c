/* cmd-run.c — `nroot run`: parse the plan, resolve the image, spawn the
 * container, forward signals, and exit with the payload's status. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-container.h"
#include "nr-error.h"
#include "nr-filter.h"
#include "nr-fuse.h"
#include "nr-image.h"
#include "nr-init.h"
#include "nr-mounts.h"
#include "nr-net.h"
#include "nr-plan.h"
#include "nr-portfwd.h"
#include "nr-pty.h"
#include "nr-rootfs.h"
#include "nr-slirp.h"
#include "nr-spawn.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

static NrPortfwd *ports;   /* published TCP ports, bound before the start */
static NrCtr ctr;          /* this container, as recorded for ps, exec, start */
static int notify_fd = -1; /* -d: the nroot in the foreground waits on this */
static int state_fd = -1;  /* RT/containers/<id>/state, locked while it runs */
static int ctr_lock = -1;  /* STORE/containers/<name>/lock, held while it runs */
static int child_stdio[3] = { -1, -1, -1 };   /* PID 1's stdio instead of a terminal */
static NrRelay *relay;     /* copies between those pipes and nroot's stdio */

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

/* #3 child: runs inside every new namespace as root of the user namespace */
static int run_child(void *data, int sync_fd, NrError *err)
{
    const NrRunConfig *cfg = data;
    /* from the start until the payload's exec, nothing in the container
     * can ptrace PID 1 or its children or open their /proc files (their
     * memory belongs to the host's user namespace, where nothing in the
     * container has a capability) */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* nothing nroot inherited reaches the container: not the caller's
     * terminal (child_stdio), no fd beyond stdio, not the session keyring;
     * not for PID 1, fuse-overlayfs or the payload */
    for (int fd = 0; fd < 3; fd++)
        if (child_stdio[fd] >= 0 && dup2(child_stdio[fd], fd) < 0)
            return nr_error_errno(err, "cannot set up the container's stdio");
    nr_close_fds_except(sync_fd);
    if (nr_keyring_new_session(err) < 0)
        return -1;
    const char *hostname = cfg->hostname ? cfg->hostname : cfg->cid;
    if (cfg->hostname || cfg->net != NR_NET_HOST) {
        if (sethostname(hostname, strlen(hostname)) < 0)
            return nr_error_errno(err, "cannot set the host name");
    }
    if (nr_net_setup(cfg, sync_fd, err) < 0)
        return -1;
    char *root = NULL;
    if (nr_rootfs_mount(cfg, sync_fd, &root, err) < 0)
        return -1;
    if (nr_mounts_setup(cfg, root, err) < 0 || nr_rootfs_pivot(root, err) < 0) {
        free(root);
        return -1;
    }
    free(root);
    nr_init_main(cfg, sync_fd);
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

static void new_cid(char cid[13])
{
    unsigned char r[6] = { 0 };
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t v = nr_fnv1a(&r, sizeof r, NR_FNV_INIT ^ (uint64_t)getpid());
        memcpy(r, &v, sizeof r);
    }
    for (int i = 0; i < 6; i++)
        snprintf(cid + 2 * i, 3, "%02x", r[i]);
}

/* numeric ids in a -u spec can be checked before anything starts */
static int check_user(const NrRunConfig *cfg, const char *user, NrError *err)
{
    char spec[256];
    snprintf(spec, sizeof spec, "%s", user);
    char *colon = strchr(spec, ':');
    if (colon)
        *colon = '\0';
    uint32_t u, g;
    long uid = nr_parse_u32(spec, &u) ? (long)u : -1;
    long gid = colon && nr_parse_u32(colon + 1, &g) ? (long)g : -1;
    return nr_userns_check_ids(&cfg->map, user, uid, gid, err);
}

/* the image's config, unless the command line says otherwise */
int nr_run_apply_image(NrRunConfig *cfg, NrError *err)
{
    NrImage *img = &cfg->img;
    NrStrv argv = { 0 };
    if (cfg->entrypoint) {
        if (*cfg->entrypoint)
            nr_strv_push(&argv, cfg->entrypoint);
    } else
        for (size_t i = 0; i < img->entrypoint.n; i++)
            nr_strv_push(&argv, img->entrypoint.v[i]);
    if (cfg->args)
        for (char **a = cfg->args; *a; a++)
            nr_strv_push(&argv, *a);
    else if (!cfg->entrypoint)
        for (size_t i = 0; i < img->cmd.n; i++)
            nr_strv_push(&argv, img->cmd.v[i]);
    if (argv.n == 0)
        nr_strv_push(&argv, "/bin/sh");
    cfg->argv = argv.v;
    if (!cfg->workdir && img->workdir) {
        /* docker takes a relative WorkingDir from / */
        char *wd = img->workdir[0] == '/' ? nr_xstrdup(img->workdir)
                                          : nr_strdup_printf("/%s", img->workdir);
        free(img->workdir);
        img->workdir = wd;
        cfg->workdir = wd;
    }
    if (!cfg->user && img->user) {
        NrError e = { 0 };
        if (check_user(cfg, img->user, &e) == 0) {
            cfg->user = img->user;
            cfg->user_from_image = true;
        } else if (!cfg->map.helpers) {
            /* only your own id exists: running as it (root inside) is what
             * the image's user would have been, minus nothing you own */
            nr_notice("the image's user '%s' is not mapped with a single-id mapping: running as "
                      "root (your own id)", img->user);
        } else {
            *err = e;
            nr_error_hint(err, "run as another user with -u, e.g. -u 0");
            return -1;
        }
    }
    return 0;
}

/* --name: the container's directory in the store, locked for this run;
 * made on first use, resumed after (same image, same layer overlay) */
static int claim_named(NrRunConfig *cfg, NrError *err)
{
    int r = nr_ctr_claim(cfg->name, &ctr, &ctr_lock, err);
    if (r < 0)
        return -1;
    if (r == 1) {
        nr_error_msg(err, "container '%s' is already running", cfg->name);
        nr_error_hint(err, "'nroot exec %s COMMAND' runs a command in it, 'nroot stop %s' stops it",
                      cfg->name, cfg->name);
        return -1;
    }
    const char *key = nr_ctr_image_key(cfg);
    if (ctr.id[0]) {
        if (!ctr.image_key || strcmp(ctr.image_key, key) != 0) {
            nr_error_msg(err, "container '%s' exists and was made from image '%s' (%.12s), not "
                         "'%s' (%.12s)", cfg->name, ctr.image ? ctr.image : "?",
                         ctr.image_key ? ctr.image_key : "?", cfg->image, key);
            nr_error_hint(err, "'nroot start %s' resumes it; 'nroot rm %s' removes it", cfg->name,
                          cfg->name);
            return -1;
        }
        cfg->ctr_image = nr_xstrdup(ctr.image ? ctr.image : cfg->image);
        snprintf(cfg->cid, sizeof cfg->cid, "%s", ctr.id);
    }
    if (ctr.overlay != NR_OVERLAY_AUTO) {
        if (cfg->overlay != NR_OVERLAY_AUTO && cfg->overlay != ctr.overlay)
            return nr_error_msg(err, "container '%s' has a layer made by %s; it cannot be used with "
                                "--overlay=%s", cfg->name, ctr.overlay == NR_OVERLAY_KERNEL ?
                                "kernel overlayfs" : "fuse-overlayfs",
                                cfg->overlay == NR_OVERLAY_KERNEL ? "kernel" : "fuse");
        cfg->overlay = ctr.overlay;
    }
    cfg->ctr_dir = ctr.store_dir;
    nr_ctr_record_plan(&ctr, cfg);
    return nr_ctr_write_config(&ctr, cfg, err);
}

static int rt_lock = -1;   /* RT/containers/<id> itself, locked for this nroot's life */

/* image_is_key: IMAGE is a key nroot recorded (`start`), resolved in the
 * store only */
static int prepare(NrRunConfig *cfg, bool image_is_key, NrError *err)
{
    if (getuid() != geteuid() || getgid() != getegid())
        return nr_error_msg(err, "nroot must not be installed setuid or setgid");
    if (nr_userns_plan(cfg->userns, false, &cfg->map, err) < 0)
        return -1;
    if (cfg->user && check_user(cfg, cfg->user, err) < 0)
        return -1;
    NrImportOpts io = { .ref = cfg->image_ref, .progress = isatty(STDERR_FILENO) };
    if (image_is_key ? nr_store_resolve_key(cfg->image, &cfg->map, &cfg->img, err) < 0
                     : nr_store_resolve(cfg->image, &cfg->map, &io, &cfg->img, err) < 0)
        return -1;
    if (cfg->image_ref && !cfg->img.dir)
        return nr_error_msg(err, "--image-ref: '%s' is a root filesystem directory, not an image "
                            "archive or OCI layout", cfg->image);
    cfg->lower = cfg->img.lower;
    if (nr_run_apply_image(cfg, err) < 0)
        return -1;
    new_cid(cfg->cid);
    if (cfg->name && claim_named(cfg, err) < 0)
        return -1;
    if (!cfg->name)
        nr_ctr_record_plan(&ctr, cfg);
    if (nr_ctr_make_runtime(&ctr, &rt_lock, err) < 0 || nr_seccomp_prepare(cfg, ctr.rt_dir, err) < 0)
        return -1;
    if (cfg->net == NR_NET_SLIRP && !cfg->net_given && access("/dev/net/tun", R_OK | W_OK) < 0) {
        /* the default network cannot be had here: say so once, run with
         * loopback only rather than not at all */
        nr_notice("no network: /dev/net/tun is not usable (%s); the container has loopback only "
                  "(--net=none silences this; 'nroot info' tells the fix)", strerror(errno));
        cfg->net = NR_NET_NONE;
        if (cfg->n_ports)
            return nr_error_msg(err, "cannot publish ports without a network: /dev/net/tun is not usable");
    }
    if (cfg->n_ports && !(ports = nr_portfwd_new(cfg, err)))
        return -1;
    char *scratch = nr_runtime_subdir("mnt", err);
    if (!scratch)
        return -1;
    cfg->scratch = scratch;
    cfg->tty = isatty(STDIN_FILENO);
    return 0;
}

/* an error before the container started: with -d, the nroot in the
 * foreground prints it (and the log keeps it); code 0 says it started */
static void report(const NrError *e)
{
    if (e->code)
        nr_error_print(e);
    if (notify_fd >= 0) {
        nr_write_all(notify_fd, e, sizeof *e);
        close(notify_fd);
        notify_fd = -1;
    }
}

/* -d: the foreground nroot waits until the command was executed (or
 * failed), prints the name or id and exits; this one goes on in a session
 * of its own with its output in the log */
static int detach(NrRunConfig *cfg, NrError *err)
{
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/log", ctr.store_dir ? ctr.store_dir : ctr.rt_dir);
    nr_autoclose int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return nr_error_errno(err, "cannot open the log '%s'", log);
    /* -i: stdin stays open and empty, as with docker run -di (a shell
     * waits instead of ending) */
    int keep[2] = { -1, -1 };
    if (cfg->interactive ? pipe2(keep, O_CLOEXEC) < 0
                         : (keep[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        return nr_error_errno(err, "cannot make the container's stdin");
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_error_errno(err, "pipe");
    fflush(NULL);
    pid_t child = fork();
    if (child < 0)
        return nr_error_errno(err, "fork");
    if (child > 0) {
        close(p[1]);
        NrError e = { 0 };
        ssize_t n;
        do
            n = read(p[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof e) {
            nr_error_msg(&e, "the container's nroot ended before the command started");
            nr_error_hint(&e, "see 'nroot logs %s'", cfg->name ? cfg->name : cfg->cid);
        }
        if (e.code == 0) {
            printf("%s\n", cfg->name ? cfg->name : cfg->cid);
            exit(0);
        }
        e.msg[sizeof e.msg - 1] = e.hint[sizeof e.hint - 1] = '\0';
        nr_error_print(&e);
        exit(e.code);
    }
    close(p[0]);
    notify_fd = p[1];
    setsid();
    /* no directory of the caller's stays busy (an NFS mount, a USB disk) */
    if (chdir("/") < 0)
        return nr_error_errno(err, "chdir /");
    if (dup2(keep[0], STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        return nr_error_errno(err, "cannot redirect to the log");
    close(keep[0]);   /* keep[1], the write end, stays open in this nroot */
    cfg->tty = false;
    return 0;
}

/* A terminal on nroot's stdio never enters the container, where a process
 * could reopen it (/proc/PID/fd) and read the keystrokes meant for the
 * host shell: without -t it is relayed through a pipe (stdin only with
 * -i), as docker and podman do; with -t the container's own terminal
 * carries the payload's stdio, and PID 1 gets /dev/null.  Files, pipes
 * and sockets the caller gave are passed as they are: the container ends
 * with nroot. */
static int plan_stdio(const NrRunConfig *cfg, NrError *err)
{
    bool tty[3], any = false;
    for (int fd = 0; fd < 3; fd++)
        any |= tty[fd] = isatty(fd);
    if (!any)
        return 0;
    nr_stdio_fill();
    return nr_relay_plan(tty, cfg->pty, cfg->interactive, child_stdio, &relay, err);
}

/* the command runs: the live state that ps, exec, stop and wait read,
 * locked for as long as this nroot lives */
static void write_live_state(const NrRunConfig *cfg, pid_t init_pid)
{
    NrError e = { 0 };
    if (nr_ctr_write_live(&ctr, cfg, init_pid, &state_fd, &e) < 0)
        nr_warn("%s: %s", e.msg, strerror(e.errnum));
}

/* the container ended: its status where `wait` and `ps -a` find it */
static void finish_record(const NrRunConfig *cfg, int status)
{
    NrError e = { 0 };
    if (nr_ctr_finish(&ctr, state_fd, status, cfg->rm, &e) < 0)
        nr_error_print(&e);
}

/* the plan: parsed from argv (`run`), or `saved` (`start`: made from a
 * container's config, its IMAGE an image key) */
static int run(int argc, char **argv, const NrRunConfig *saved)
{
    static NrRunConfig cfg;
    NrError err = { 0 };
    nr_ctr_clear(&ctr);
    int rc = NR_CLI_RUN;
    if (saved)
        cfg = *saved;
    else
        rc = nr_cli_parse_run(argc, argv, &cfg, &err);
    if (rc == NR_CLI_HELP)
        return 0;
    /* a container in the background must not keep what its caller had
     * open beyond stdio (a test runner's pipe, a shell's script) */
    if (rc == NR_CLI_RUN && cfg.detach)
        nr_close_fds_except(-1);
    if (rc < 0 || prepare(&cfg, saved != NULL, &err) < 0 || (cfg.detach && detach(&cfg, &err) < 0) ||
        plan_stdio(&cfg, &err) < 0) {
        report(&err);
        if (ctr.rt_dir)
            nr_ctr_remove_runtime(ctr.rt_dir);
        return err.code ? err.code : NR_EXIT_FAILURE;
    }

    /* forwarded signals and SIGCHLD are taken synchronously from here on;
     * the child inherits the mask (PID 1 waits for the same set) */
    sigset_t set, old;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    if (cfg.pty) {
        /* a stop must give the host terminal back its mode first */
        sigaddset(&set, SIGTSTP);
        sigaddset(&set, SIGCONT);
    }
    sigprocmask(SIG_BLOCK, &set, &old);

    unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    if (cfg.net != NR_NET_HOST)
        flags |= CLONE_NEWNET;
    int sync_fd = -1;
    pid_t pid = nr_spawn(flags, &cfg.map, run_child, &cfg, &sync_fd, &err);
    for (int fd = 0; fd < 3; fd++)
        if (child_stdio[fd] >= 0)
            close(child_stdio[fd]);
    if (pid < 0) {
        report(&err);
        finish_record(&cfg, err.code ? err.code : NR_EXIT_FAILURE);
        return err.code ? err.code : NR_EXIT_FAILURE;
    }
    /* wait for PID 1's EXIT message, a failure report, or its death;
     * forward every other signal to it */
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        nr_error_errno(&err, "signalfd");
        report(&err);
        kill(pid, SIGKILL);
        finish_record(&cfg, NR_EXIT_FAILURE);
        return NR_EXIT_FAILURE;
    }
    /* the poll set grows with the connections (slirp's, the ports') */
    struct pollfd *pfd = NULL;
    int cap = 0;
    nr_portfwd_poll_grow(&pfd, &cap, 2);
    pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = sync_fd, .events = POLLIN };
    NrError cerr = { 0 };
    bool have_status = false, dead = false;
    int status = NR_EXIT_FAILURE;
    NrSlirp *net = NULL;
    NrPty *pty = NULL;
    pid_t fuse_pid = 0;
    /* a peer that closes while nroot writes to it (a forwarded connection,
     * the tap) must give EPIPE, not end nroot */
    signal(SIGPIPE, SIG_IGN);
    /* many connections need many descriptors: nroot's own limit only, the
     * container (cloned above) keeps the one it was started with */
    raise_nofile();
    if (ports)
        nr_portfwd_start(ports, sync_fd);
    while (!have_status && !dead) {
        int timeout = -1, n = 2;
        if (net)
            n += nr_slirp_fill(net, &pfd, &cap, 2, &timeout);
        if (ports)
            n += nr_portfwd_fill(ports, &pfd, &cap, n, &timeout);
        if (pty) {
            nr_portfwd_poll_grow(&pfd, &cap, n + 3);
            n += nr_pty_fill(pty, pfd, n, cap);
        }
        if (relay) {
            nr_portfwd_poll_grow(&pfd, &cap, n + 6);
            n += nr_relay_fill(relay, pfd, n, cap);
        }
        int pr = poll(pfd, (nfds_t)n, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (net)
            nr_slirp_dispatch(net, pr < 0);
        if (ports && pr > 0)
            nr_portfwd_dispatch(ports, pfd);
        if (pty && pr > 0)
            nr_pty_dispatch(pty, pfd);
        if (relay && pr > 0)
            nr_relay_dispatch(relay, pfd);
        if (pr <= 0)
            continue;
        if (pfd[1].revents) {
            NrSyncMsg msg;
            int r = nr_sync_recv(sync_fd, &msg);
            if (r == 1 && msg.type == NR_SYNC_TAP && !net && msg.fd >= 0) {
                /* #3 parent: the network's other end */
                if (!(net = nr_slirp_new(msg.fd, &cfg, &cerr))) {
                    kill(pid, SIGKILL);
                    pfd[1].fd = -1;
                }
            } else if (r == 1 && msg.type == NR_SYNC_PTY && cfg.pty && !pty && msg.fd >= 0) {
                pty = nr_pty_new(msg.fd, cfg.interactive);
            } else if (r == 1 && msg.type == NR_SYNC_CONNECTED && ports) {
                nr_portfwd_connected(ports, &msg);
            } else if (r == 1 && msg.type == NR_SYNC_FUSE && fuse_pid == 0 && msg.fd >= 0) {
                /* #3a parent: the overlay's daemon, outside the container */
                if ((fuse_pid = nr_fuse_start(&msg, &cerr)) < 0) {
                    kill(pid, SIGKILL);
                    pfd[1].fd = -1;
                }
                close(msg.fd);
            } else if (r == 1 && msg.type == NR_SYNC_NS && msg.fd >= 0 && msg.err.code >= 0 &&
                       msg.err.code < NR_NS_SLOTS && ctr.ns_fd[msg.err.code] < 0) {
                ctr.ns_fd[msg.err.code] = msg.fd;   /* kept for exec until nroot ends */
            } else if (r == 1 && msg.fd >= 0)
                close(msg.fd);
            if (r == 1 && msg.type == NR_SYNC_ERROR)
                cerr = msg.err;
            else if (r == 1 && msg.type == NR_SYNC_STARTED) {
                write_live_state(&cfg, pid);
                report(&(NrError){ 0 });
            }
            else if (r == 1 && msg.type == NR_SYNC_EXIT) {
                status = msg.err.code;
                have_status = true;
            } else if (r <= 0)
                pfd[1].fd = -1;
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
                continue;
            int sig = (int)si.ssi_signo;
            if (pty && sig == SIGWINCH) {
                nr_pty_resize(pty);   /* the kernel tells the container's foreground */
                continue;
            }
            if (cfg.pty && (sig == SIGTSTP || sig == SIGCONT)) {
                if (sig == SIGTSTP && pty)
                    nr_pty_stop(pty);   /* returns once continued */
                continue;
            }
            if (sig != SIGCHLD) {
                kill(pid, sig);
                continue;
            }
            siginfo_t wi = { 0 };
            if (waitid(P_PID, (id_t)pid, &wi, WEXITED | WNOHANG | WNOWAIT) == 0 && wi.si_pid == pid)
                dead = true;
        }
    }
    close(sfd);
    free(pfd);
    if (!have_status) {
        /* PID 1 died without a status: a setup failure (reported on the
         * socket) or a kill from outside */
        if (nr_spawn_wait(pid, sync_fd, &status, NULL, &err) < 0)
            cerr = err;
    }
    if (have_status) {
        /* reap PID 1: when nroot returns, no process of the container is
         * left, and no zombie is handed to an init that may not reap it */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    /* the container is gone: its overlay's daemon goes too */
    nr_fuse_stop(fuse_pid, cfg.scratch, cfg.ctr_dir && !cfg.read_only);
    nr_pty_free(pty);   /* the rest of the output, the host terminal's mode */
    nr_relay_free(relay);
    relay = NULL;
    nr_slirp_free(net);
    nr_portfwd_free(ports);
    if (cerr.code) {
        if (!have_status)
            status = cerr.code;
        report(&cerr);
    }
    finish_record(&cfg, status);
    close(sync_fd);
    return status;
}

int nr_cmd_run(int argc, char **argv)
{
    return run(argc, argv, NULL);
}

int nr_cmd_run_plan(const NrRunConfig *plan)
{
    return run(0, NULL, plan);
}
