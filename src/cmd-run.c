/* cmd-run.c — `nroot run`: parse the plan, resolve the image, spawn the
 * container, forward signals, and exit with the payload's status. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>

#include "nr-portfwd.h"
#include "nr-pty.h"
#include "nr-run.h"
#include "nr-slirp.h"
#include "nr-spawn.h"

static NrPortfwd *ports;   /* published TCP ports, bound before the start */

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

/* #3 child: runs inside every new namespace as root of the user namespace */
static int run_child(void *data, int sync_fd, NrError *err)
{
    const NrRunConfig *cfg = data;
    /* nothing nroot inherited (beyond stdio) reaches the container: not
     * PID 1, not fuse-overlayfs, not the payload */
    nr_close_fds_except(sync_fd);
    const char *hostname = cfg->hostname ? cfg->hostname : cfg->cid;
    if (cfg->hostname || cfg->net != NR_NET_HOST) {
        if (sethostname(hostname, strlen(hostname)) < 0)
            return nr_error_errno(err, "cannot set the host name");
    }
    if (nr_net_setup(cfg, sync_fd, err) < 0)
        return -1;
    char *root = NULL;
    if (nr_rootfs_mount(cfg, &root, err) < 0)
        return -1;
    if (nr_mounts_setup(cfg, root, err) < 0 || nr_rootfs_pivot(root, err) < 0) {
        free(root);
        return -1;
    }
    free(root);
    nr_init_main(cfg, sync_fd);
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
static int apply_image(NrRunConfig *cfg, NrError *err)
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

static int prepare(NrRunConfig *cfg, NrError *err)
{
    if (getuid() != geteuid() || getgid() != getegid())
        return nr_error_msg(err, "nroot must not be installed setuid or setgid");
    if (nr_userns_plan(cfg->userns, &cfg->map, err) < 0)
        return -1;
    if (cfg->user && check_user(cfg, cfg->user, err) < 0)
        return -1;
    NrImportOpts io = { .ref = cfg->image_ref, .progress = isatty(STDERR_FILENO) };
    if (nr_store_resolve(cfg->image, &cfg->map, &io, &cfg->img, err) < 0)
        return -1;
    if (cfg->image_ref && !cfg->img.dir)
        return nr_error_msg(err, "--image-ref: '%s' is a root filesystem directory, not an image "
                            "archive or OCI layout", cfg->image);
    cfg->lower = cfg->img.lower;
    if (apply_image(cfg, err) < 0)
        return -1;
    if (cfg->net == NR_NET_SLIRP && !cfg->net_given && access("/dev/net/tun", R_OK | W_OK) < 0) {
        /* the default network cannot be had here: say so once, run with
         * loopback only rather than not at all */
        nr_notice("no network: /dev/net/tun is not usable (%s); the container has loopback only "
                  "(--net=none silences this, see nroot-run(1))", strerror(errno));
        cfg->net = NR_NET_NONE;
        if (cfg->n_ports)
            return nr_error_msg(err, "cannot publish ports without a network: /dev/net/tun is not usable");
    }
    if (cfg->n_ports && !(ports = nr_portfwd_new(cfg, err)))
        return -1;
    const char *rt = nr_runtime_dir(err);
    if (!rt)
        return -1;
    char *scratch = nr_strdup_printf("%s/mnt", rt);
    if (mkdir(scratch, 0700) < 0 && errno != EEXIST) {
        nr_error_errno(err, "cannot create '%s'", scratch);
        free(scratch);
        return -1;
    }
    cfg->scratch = scratch;
    new_cid(cfg->cid);
    cfg->tty = isatty(STDIN_FILENO);
    /* -i without -t on a terminal: the payload reads the host terminal
     * itself, in its foreground (job control, Ctrl-C and Ctrl-Z as for any
     * command; TIOCSTI is filtered, seccomp.c).  Otherwise the container
     * is in a session of its own, without the host terminal (init.c). */
    cfg->give_tty = !cfg->pty && cfg->interactive && cfg->tty &&
                    tcgetpgrp(STDIN_FILENO) == getpgrp();
    return 0;
}

int nr_cmd_run(int argc, char **argv)
{
    static NrRunConfig cfg;
    NrError err = { 0 };
    int rc = nr_cli_parse_run(argc, argv, &cfg, &err);
    if (rc == NR_CLI_HELP)
        return 0;
    if (rc < 0 || prepare(&cfg, &err) < 0) {
        nr_error_print(&err);
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
    if (pid < 0) {
        nr_error_print(&err);
        return err.code ? err.code : NR_EXIT_FAILURE;
    }
    /* wait for PID 1's EXIT message, a failure report, or its death;
     * forward every other signal to it */
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        nr_error_errno(&err, "signalfd");
        nr_error_print(&err);
        kill(pid, SIGKILL);
        return NR_EXIT_FAILURE;
    }
    enum { MAX_POLL = 2 + 256 };
    struct pollfd pfd[MAX_POLL] = { { .fd = sfd, .events = POLLIN }, { .fd = sync_fd, .events = POLLIN } };
    NrError cerr = { 0 };
    bool have_status = false, dead = false, payload_has_tty = cfg.give_tty;
    int status = NR_EXIT_FAILURE;
    NrSlirp *net = NULL;
    NrPty *pty = NULL;
    /* a peer that closes while nroot writes to it (a forwarded connection,
     * the tap) must give EPIPE, not end nroot */
    signal(SIGPIPE, SIG_IGN);
    if (ports)
        nr_portfwd_start(ports, sync_fd);
    while (!have_status && !dead) {
        int timeout = -1, n = 2;
        if (net)
            n += nr_slirp_fill(net, pfd, 2, MAX_POLL, &timeout);
        if (ports)
            n += nr_portfwd_fill(ports, pfd, n, MAX_POLL);
        if (pty)
            n += nr_pty_fill(pty, pfd, n, MAX_POLL);
        int pr = poll(pfd, (nfds_t)n, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (net)
            nr_slirp_dispatch(net, pr < 0);
        if (ports && pr > 0)
            nr_portfwd_dispatch(ports, pfd);
        if (pty && pr > 0)
            nr_pty_dispatch(pty, pfd);
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
            } else if (r == 1 && msg.fd >= 0)
                close(msg.fd);
            if (r == 1 && msg.type == NR_SYNC_ERROR)
                cerr = msg.err;
            else if (r == 1 && msg.type == NR_SYNC_STOPPED && cfg.give_tty) {
                /* take the terminal back and stop like any job */
                if (payload_has_tty) {
                    nr_tty_take_foreground();
                    payload_has_tty = false;
                }
                raise(SIGTSTP);
                /* resumed: by `fg` when the terminal is ours again, else `bg` */
                payload_has_tty = tcgetpgrp(STDIN_FILENO) == getpgrp();
                kill(pid, payload_has_tty ? NR_SIG_FG : NR_SIG_BG);
            } else if (r == 1 && msg.type == NR_SYNC_EXIT) {
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
    if (payload_has_tty)
        nr_tty_take_foreground();   /* before printing anything */
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
    nr_pty_free(pty);   /* the rest of the output, the host terminal's mode */
    nr_slirp_free(net);
    nr_portfwd_free(ports);
    if (cerr.code) {
        nr_error_print(&cerr);
        if (!have_status)
            status = cerr.code;
    }
    close(sync_fd);
    return status;
}
