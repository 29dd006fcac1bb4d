/* SPDX-License-Identifier: Apache-2.0 */
/* run.c — `nroot run`: parse the plan, resolve the image, spawn the
 * container, forward signals, and exit with the payload's status. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "nr-aside.h"
#include "nr-bypass.h"
#include "nr-caps.h"
#include "nr-cdi.h"
#include "nr-cgroup.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-ctr.h"
#include "nr-detach.h"
#include "nr-error.h"
#include "nr-filter.h"
#include "nr-image.h"
#include "nr-init.h"
#include "nr-join.h"
#include "nr-keeper.h"
#include "nr-mounts.h"
#include "nr-net.h"
#include "nr-oci.h"
#include "nr-ocirun.h"
#include "nr-payload.h"
#include "nr-plan.h"
#include "nr-portfwd.h"
#include "nr-pty.h"
#include "nr-rootfs.h"
#include "nr-runtime.h"
#include "nr-spawn.h"
#include "nr-store.h"
#include "nr-supervise.h"
#include "nr-timens.h"
#include "nr-userns.h"
#include "nr-usernet.h"
#include "nr-util.h"

static NrPortfwd *ports;                    /* published TCP ports, bound before the start */
static NrCtr ctr;                           /* this container, as recorded for ps, exec, start */
static int state_fd = -1;                   /* RT/containers/<id>/state, locked while it runs */
static int ctr_lock = -1;                   /* STORE/containers/<name>/lock, held while it runs */
static int child_stdio[3] = { -1, -1, -1 }; /* PID 1's stdio instead of a terminal */
static NrRelay *relay;                      /* copies between those pipes and nroot's stdio */
static NrJoin join = { .lock_fd = -1, .users_fd = -1 }; /* --join: the key */
static int *oci_ns_fds;    /* an OCI spec's namespaces to join, opened before the clone */
static int pid1_sync = -1; /* PID 1's sync socket: oci create's GO at the gate */
/* --net=container:NAME: NAME's namespaces until the clone, its nroot's pidfd */
static NrNetPeer peer = { .user = -1, .net = -1, .watch = -1 };
static NrCgroup cgroup; /* --memory, --cpus...: the container's cgroups, removed at its end */

/* every fd of nroot's closed but `also` and the caller's fds the command
 * is to get (--preserve-fd, PMI_FD: PID 1 closes them once it forked it) */
static void keep_only(const NrRunConfig *cfg, int also)
{
    size_t n = cfg->n_preserve_fds;
    nr_autofree int *keep = nr_xmalloc((n + 1) * sizeof *keep);
    size_t k = 0;
    bool placed = also < 0;
    for (size_t i = 0; i < n; i++) {
        if (!placed && also < cfg->preserve_fds[i]) {
            keep[k++] = also;
            placed = true;
        }
        keep[k++] = cfg->preserve_fds[i];
    }
    if (!placed)
        keep[k++] = also;
    nr_close_range_except(3U, keep, (int)k);
}

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
    if (cfg->oci &&
        (nr_oci_set_oom(cfg->oci, err) < 0 || nr_oci_join_ns(cfg->oci, oci_ns_fds, err) < 0))
        return -1;
    keep_only(cfg, sync_fd);
    if (nr_keyring_new_session(err) < 0)
        return -1;
    /* before anything is forked into the time namespace */
    if (nr_timens_apply(&cfg->time_offsets,
                        cfg->oci ? "config.json: linux.timeOffsets" : "--time-offset", err) < 0)
        return -1;
    /* from here on a thread makes the network namespace and loads the
     * default profile while this one mounts; it starts the payload
     * (aside.c) */
    bool lock = nr_mounts_lock_wanted(cfg); /* the payload is PID 1's fork then */
    const struct NrBpf *early = lock ? NULL : nr_seccomp_early(cfg);
    if (!cfg->oci && nr_aside_begin(nr_net_own(cfg), early,
                                    early && nr_payload_root_alone(cfg) ? cfg->rootemu : NULL,
                                    lock ? NULL : &cfg->caps, err) < 0)
        return -1;
    if (cfg->oci_fifo) {
        /* `nroot oci create`: the container outlives this nroot, and waits
         * at its start gate, opened before pivot_root hides it */
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        int gate = open(cfg->oci_fifo, O_PATH | O_CLOEXEC);
        if (gate < 0)
            return nr_error_errno(err, "cannot open '%s'", cfg->oci_fifo);
        nr_init_gate(gate);
    }
    if (cfg->oci) {
        if (nr_oci_child(cfg, sync_fd, err) < 0)
            return -1;
        nr_init_main(cfg, sync_fd);
    }
    const char *hostname = cfg->hostname ? cfg->hostname : cfg->cid;
    if (cfg->hostname || cfg->net != NR_NET_HOST) {
        if (sethostname(hostname, strlen(hostname)) < 0)
            return nr_error_errno(err, "cannot set the host name");
    }
    /* the root, /proc, /dev and /tmp while the network namespace is made,
     * then the rest in it */
    char *root = NULL;
    if (nr_rootfs_mount(cfg, sync_fd, &root, err) < 0)
        return -1;
    nr_aside_warm(root, cfg->argv, nr_payload_path(cfg));
    if (nr_mounts_setup(cfg, root, err) < 0 || nr_net_setup(cfg, sync_fd, err) < 0 ||
        nr_mounts_setup_late(cfg, root, err) < 0 ||
        nr_devices_setup(&cfg->dev, cfg->cid, root, sync_fd, err) < 0 ||
        nr_rootfs_pivot(root, err) < 0) {
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
                      "root (your own id)",
                      img->user);
        } else {
            *err = e;
            nr_error_hint(err, "run as another user with -u, e.g. -u 0");
            return -1;
        }
    }
    return 0;
}

int nr_run_filter(NrRunConfig *cfg, const char *rt_dir, bool recorded, NrError *err)
{
    /* the cache of nroot's own filters (the default profile, root
     * emulation's and --tcp-bypass's: also beside seccomp=unconfined or a
     * JSON profile), and the helper that compiles a JSON one */
    NrError ignored = { 0 };
    nr_autofree char *cache = nr_runtime_subdir("seccomp", &ignored);
    nr_autofree char *helper =
        cfg->seccomp_profile ? nr_helper_path("nroot-unpack", "NROOT_UNPACK") : NULL;
    NrFilterDirs at = { .rt_dir = rt_dir, .cache_dir = cache, .helper = helper };
    return recorded ? nr_seccomp_recorded(cfg, &at, err) : nr_seccomp_prepare(cfg, &at, err);
}

/* the filters made before the clone, recorded for exec while the child
 * mounts; one that cannot be written is made again by exec (the default
 * profile from its cache, a JSON profile from its file) */
static void record_filter(const NrRunConfig *cfg)
{
    NrFilterDirs at = { .rt_dir = ctr.rt_dir };
    NrError e = { 0 };
    if (nr_seccomp_record(cfg, &at, &e) < 0)
        nr_warn("%s: %s ('nroot exec' makes the filter again)", e.msg, strerror(e.errnum));
}

/* --name: the container's directory in the store, locked for this run;
 * made on first use, resumed after (same image, same layer overlay) */
static int claim_named(NrRunConfig *cfg, NrError *err)
{
    int r = nr_ctr_claim(cfg->name, &ctr, &ctr_lock, err);
    /* --join: the key was free, so a run of this name that still holds it
     * is its last creator ending (its key files already gone): wait for
     * it, a bounded while, instead of failing the task */
    for (int i = 0; r == 1 && cfg->join && i < 100; i++) {
        struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        r = nr_ctr_claim(cfg->name, &ctr, &ctr_lock, err);
    }
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
            nr_error_msg(err,
                         "container '%s' exists and was made from image '%s' (%.12s), not "
                         "'%s' (%.12s)",
                         cfg->name, ctr.image ? ctr.image : "?",
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
            return nr_error_msg(
                err,
                "container '%s' has a layer made by %s; it cannot be used with "
                "--overlay=%s",
                cfg->name, ctr.overlay == NR_OVERLAY_KERNEL ? "kernel overlayfs" : "fuse-overlayfs",
                cfg->overlay == NR_OVERLAY_KERNEL ? "kernel" : "fuse");
        cfg->overlay = ctr.overlay;
    }
    cfg->ctr_dir = ctr.store_dir;
    nr_ctr_record_plan(&ctr, cfg);
    return nr_ctr_write_config(&ctr, cfg, err);
}

static int rt_lock = -1;    /* RT/containers/<id> itself, locked for this nroot's life */
static NrOciSpec *oci_spec; /* an OCI bundle's, for this nroot's life */

/* an OCI bundle's config.json decides what these options would: given
 * with a bundle, they are refused rather than silently ignored */
static int oci_options(const NrRunConfig *cfg, NrError *err)
{
    static const char *const what[] = { "--volume",
                                        "-e/--env-file",
                                        "--user",
                                        "--workdir",
                                        "--hostname",
                                        "--net",
                                        "--publish",
                                        "--read-only",
                                        "--name",
                                        "--join",
                                        "--device/--gpus",
                                        "--entrypoint",
                                        "--image-ref",
                                        "--security-opt",
                                        "--cap-add/--cap-drop",
                                        "--env-host",
                                        "--memory/--cpus/--pids-limit" };
    bool given[] = { cfg->n_volumes,
                     cfg->env.n,
                     cfg->user,
                     cfg->workdir,
                     cfg->hostname,
                     cfg->net_given,
                     cfg->n_ports,
                     cfg->read_only,
                     cfg->name,
                     cfg->join,
                     cfg->devices.n,
                     cfg->entrypoint,
                     cfg->image_ref,
                     cfg->seccomp_profile,
                     cfg->caps != nr_caps_default(),
                     cfg->env_host,
                     nr_cgroup_any(&cfg->limits) };
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++)
        if (given[i])
            return nr_error_msg(
                err, "%s cannot be used with an OCI bundle: its config.json says that", what[i]);
    if (nr_timens_any(&cfg->time_offsets))
        return nr_error_msg(err, "--time-offset cannot be used with an OCI bundle: its "
                                 "config.json says that (linux.timeOffsets)");
    if (cfg->tcp_bypass && cfg->tcp_bypass_given)
        return nr_error_msg(err, "--tcp-bypass: an OCI bundle runs without it");
    return 0;
}

/* an OCI bundle (cfg->image, a directory with config.json): the spec
 * read (nroot-unpack checks it), its notices printed once, the plan made
 * from it; no store, no overlay, no network but lo */
static bool has_proc(const NrOciSpec *spec)
{
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (strcmp(spec->mounts[i].type, "proc") == 0 && strcmp(spec->mounts[i].dst, "/proc") == 0)
            return true;
    return false;
}

int nr_run_oci_prepare(NrRunConfig *cfg, const char *dir, NrOciSpec **ret_spec, NrError *err)
{
    NrOciSpec *spec = NULL;
    if (nr_oci_load(dir, &spec, err) < 0)
        return -1;
    for (char **w = spec->warnings; *w; w++)
        nr_notice("%s", *w);
    if (nr_oci_plan(cfg, spec, cfg->args, err) < 0 ||
        (cfg->oci_fifo && !has_proc(spec) &&
         nr_error_msg(err, "config.json: mounts: no proc at /proc, which `nroot oci create` needs "
                           "(PID 1 reopens the start gate through /proc/self/fd)") < 0)) {
        nr_oci_free(spec);
        return -1;
    }
    new_cid(cfg->cid);
    *ret_spec = spec;
    return 0;
}

static int prepare_oci(NrRunConfig *cfg, NrError *err)
{
    if (getuid() != geteuid() || getgid() != getegid())
        return nr_error_msg(err, "nroot must not be installed setuid or setgid");
    if (oci_options(cfg, err) < 0 || nr_run_oci_prepare(cfg, cfg->image, &oci_spec, err) < 0)
        return -1;
    cfg->tcp_bypass = false; /* nroot.conf's default: a bundle has no slirp */
    nr_ctr_record_plan(&ctr, cfg);
    if (nr_ctr_make_runtime(&ctr, &rt_lock, err) < 0)
        return -1;
    cfg->tty = isatty(STDIN_FILENO);
    oci_ns_fds = nr_xmalloc((oci_spec->n_ns + 1) * sizeof *oci_ns_fds);
    return nr_oci_open_ns(oci_spec, oci_ns_fds, err);
}

/* the user-namespace keeper's U (nr-keeper.h) for a run that has no other
 * user namespace to be in: not an OCI bundle's, a --join's, a user
 * network's (the holder's U) or another container's */
static bool keeper_wanted(const NrRunConfig *cfg)
{
    return !cfg->oci && !cfg->join && cfg->net != NR_NET_USER && cfg->net != NR_NET_CONTAINER;
}

/* image_is_key: IMAGE is a key nroot recorded (`start`), resolved in the
 * store only */
static int prepare(NrRunConfig *cfg, bool image_is_key, NrError *err)
{
    if (getuid() != geteuid() || getgid() != getegid())
        return nr_error_msg(err, "nroot must not be installed setuid or setgid");
    if (nr_timens_check(&cfg->time_offsets, "--time-offset", err) < 0)
        return -1;
    /* limits: a place for them, checked before anything is made */
    if (nr_cgroup_any(&cfg->limits) && nr_cgroup_check_where(&cfg->limits, err) < 0)
        return -1;
    if (cfg->net == NR_NET_CONTAINER && nr_netctr_open(cfg, &peer, err) < 0)
        return -1;
    if (nr_userns_plan(cfg->userns, cfg->root_emulation == NR_ROOTEMU_OFF ? 0 : NR_USERNS_ROOTEMU,
                       &cfg->map, err) < 0)
        return -1;
    cfg->root_emulation = nr_rootemu_resolve(cfg->root_emulation, &cfg->map);
    int linger; /* a bad userns-linger fails every run that could use the keeper */
    if (keeper_wanted(cfg) && nr_keeper_linger(&linger, NULL, err) < 0)
        return -1;
    if (cfg->user && check_user(cfg, cfg->user, err) < 0)
        return -1;
    if (cfg->net == NR_NET_CONTAINER && nr_netctr_check_map(cfg, &peer, err) < 0)
        return -1;
    NrImportOpts io = { .ref = cfg->image_ref,
                        .progress = isatty(STDERR_FILENO),
                        .pull = (NrPullPolicy)cfg->pull,
                        .platform = cfg->platform,
                        .tls_no_verify = cfg->tls_no_verify };
    if (image_is_key ? nr_store_resolve_key(cfg->image, &cfg->map, &cfg->img, err) < 0
                     : nr_store_resolve(cfg->image, &cfg->map, &io, &cfg->img, err) < 0)
        return -1;
    if (cfg->image_ref && !cfg->img.dir)
        return nr_error_msg(err,
                            "--image-ref: '%s' is a root filesystem directory, not an image "
                            "archive or OCI layout",
                            cfg->image);
    cfg->lower = cfg->img.lower;
    cfg->squashfs = cfg->img.squashfs;
    if (nr_run_apply_image(cfg, err) < 0 || nr_cdi_resolve(cfg, err) < 0)
        return -1;
    new_cid(cfg->cid);
    if (cfg->name && claim_named(cfg, err) < 0)
        return -1;
    if (!cfg->name)
        nr_ctr_record_plan(&ctr, cfg);
    /* the keeper answers while the records are made */
    if (keeper_wanted(cfg))
        nr_keeper_begin(&cfg->map);
    if (nr_ctr_make_runtime(&ctr, &rt_lock, err) < 0)
        return -1;
    if (cfg->net == NR_NET_SLIRP && !cfg->net_given && access("/dev/net/tun", R_OK | W_OK) < 0) {
        /* the default network cannot be had here: say so once, run with
         * loopback only rather than not at all */
        nr_notice("no network: /dev/net/tun is not usable (%s); the container has loopback only "
                  "(--net=none silences this; 'nroot info' tells the fix)",
                  strerror(errno));
        cfg->net = NR_NET_NONE;
        if (cfg->tcp_bypass && cfg->tcp_bypass_given)
            return nr_error_msg(err, "--tcp-bypass: it needs the slirp network, and "
                                     "/dev/net/tun is not usable");
        cfg->tcp_bypass = false; /* nroot.conf's default, a named container's */
        if (cfg->n_ports)
            return nr_error_msg(
                err, "cannot publish ports without a network: /dev/net/tun is not usable");
    }
    /* a named container's --tcp-bypass, started again (run checked its own
     * in the options): where the kernel has lost it, without */
    if (cfg->tcp_bypass && !cfg->tcp_bypass_given && nr_bypass_unsupported())
        cfg->tcp_bypass = false;
    /* the filters once --tcp-bypass is settled: a bypass filter whose
     * listener nobody serves would make every connect ENOSYS */
    if (nr_run_filter(cfg, ctr.rt_dir, false, err) < 0)
        return -1;
    if (cfg->n_ports && !(ports = nr_portfwd_new(cfg, err)))
        return -1;
    char *scratch = nr_runtime_subdir("mnt", err);
    if (!scratch)
        return -1;
    cfg->scratch = scratch;
    cfg->tty = isatty(STDIN_FILENO);
    return nr_cdi_write_bundle(cfg, ctr.rt_dir, err);
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

/* PID 1 is ending: an unnamed container's records go while its
 * namespaces are torn down, unless something after the reap comes first
 * (poststop hooks, the cgroup's removal, --join's key, freed ports) */
static bool recorded_end;
static void on_ended(void *data, int status)
{
    const NrRunConfig *cfg = data;
    /* published ports and a user network's address are freed after the
     * reap: a `wait` that saw the record gone must find them free */
    if (cfg->oci || cfg->dev.n_hooks || ctr.store_dir || nr_cgroup_any(&cfg->limits) || cfg->join ||
        cfg->n_ports || cfg->net == NR_NET_USER)
        return;
    finish_record(cfg, status);
    recorded_end = true;
}

/* NR_SYNC_STARTED: the command runs */
static void on_started(void *data, pid_t init_pid)
{
    const NrRunConfig *cfg = data;
    if (cfg->oci && nr_cmd_oci_started(cfg, init_pid, ctr.ns_fd) && cfg->oci_fifo) {
        /* `nroot oci create`: PID 1 waits at the gate, on its own, once
         * told its state is written (killed before, it ends: init.c) */
        nr_sync_send(pid1_sync, NR_SYNC_GO, NULL);
        nr_ctr_remove_runtime(ctr.rt_dir);
        fflush(NULL);
        _exit(0);
    }
    /* an unnamed container whose command has ended already (its EXIT is
     * the next message: /bin/true) is not recorded as running, only to be
     * removed at once: `ps` could not have found it alive */
    uint32_t next = 0;
    bool ended =
        !ctr.store_dir && !cfg->detach && !cfg->join && !cfg->oci &&
        recv(pid1_sync, &next, sizeof next, MSG_PEEK | MSG_DONTWAIT) == (ssize_t)sizeof next &&
        next == NR_SYNC_EXIT;
    if (!ended)
        write_live_state(cfg, init_pid);
    /* the keeper this run found missing: made now, its work not on the
     * run's way */
    nr_keeper_start();
    NrError he = { 0 };
    if (nr_cdi_run_hooks(cfg, NR_HOOK_POSTSTART, init_pid, &he) < 0)
        nr_warn("%s", he.msg);
    nr_detach_report(&(NrError){ 0 });
    if (cfg->join) {
        /* joiners may come: they wait on the key's lock until now */
        NrError e = { 0 };
        if (nr_join_ready(&join, ctr.name[0] ? ctr.name : ctr.id, &e) < 0)
            nr_warn("--join: %s: %s", e.msg, strerror(e.errnum));
    }
}

/* --join, once the creator's command ended: the container stays while
 * the others need it; a signal for the creator (Ctrl-C, scancel) ends the
 * wait for --join-count, not the commands that came */
static bool join_linger(void *data, bool hurry)
{
    if (hurry)
        join.deadline = 0;
    return !nr_join_may_end(&join);
}

/* the last value of NAME in the command's environment: -e, else the
 * host's with --env-host */
static const char *command_env(const NrRunConfig *cfg, const char *name)
{
    const char *v = NULL;
    size_t len = strlen(name);
    for (size_t i = 0; i < cfg->env.n; i++)
        if (strncmp(cfg->env.v[i], name, len) == 0 && cfg->env.v[i][len] == '=')
            v = cfg->env.v[i] + len + 1;
    return v ? v : cfg->env_host ? getenv(name) : NULL;
}

/* --join: PMIx's rendezvous directory, read-write at its own path */
static int bind_pmix(NrRunConfig *cfg, NrError *err)
{
    const char *dir = command_env(cfg, "PMIX_SERVER_TMPDIR");
    struct stat st;
    if (!dir || dir[0] != '/' || strchr(dir, ':') || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    nr_autofree char *spec = nr_strdup_printf("%s:%s", dir, dir);
    return nr_cli_volume(cfg, spec, err);
}

/* --join, a container of the key runs: the command enters it as `nroot
 * exec` does, with its own command, environment, working directory, user
 * and fds; the container's options are the creator's */
static _Noreturn void run_joined(const NrRunConfig *own, const char *id)
{
    static NrRunConfig cfg;
    NrError err = { 0 };
    NrCtr c;
    int status;
    if (nr_ctr_find(id, &c, &err) < 0 || nr_cmd_ctr_resolved(&c, &cfg, &err) < 0) {
        status = nr_cmd_fail(&err);
        goto out;
    }
    nr_cdi_resolve_command(&cfg); /* the devices' environment, as exec */
    cfg.entrypoint = own->entrypoint;
    cfg.args = own->args;
    cfg.workdir = own->workdir;
    cfg.user = own->user;
    cfg.user_from_image = false;
    cfg.env = own->env;
    cfg.env_host = own->env_host;
    cfg.preserve_fds = own->preserve_fds;
    cfg.n_preserve_fds = own->n_preserve_fds;
    cfg.pty = own->pty;
    cfg.interactive = own->interactive;
    cfg.tty = isatty(STDIN_FILENO);
    if (nr_run_apply_image(&cfg, &err) < 0 || nr_run_filter(&cfg, c.rt_dir, true, &err) < 0) {
        status = nr_cmd_fail(&err);
        goto out;
    }
    nr_stdio_fill();
    status = nr_cmd_exec_in(&c, &cfg);
out:
    nr_ctr_clear(&c);
    nr_join_leave(&join);
    fflush(NULL);
    _exit(status);
}

/* --join: the key taken; returns as its creator, or never (a joiner) */
static int take_join(NrRunConfig *cfg, NrError *err)
{
    if (nr_join_open(cfg->join_key, cfg->name, cfg->join_count, &join, err) < 0)
        return -1;
    char id[129];
    int r = nr_join_enter(&join, id, err);
    if (r < 0)
        return -1;
    if (r == 1)
        run_joined(cfg, id);
    return 0;
}

/* NR_SYNC_OVERLAY: the layer is read back by the overlay that made it */
static void keep_overlay(void *data, NrOverlayMode kind)
{
    const NrRunConfig *cfg = data;
    /* a named container's writable layer only, as the child decides:
     * nothing the child sends makes the parent write elsewhere */
    if (cfg->ctr_dir && !cfg->read_only)
        nr_ctr_write_overlay(cfg->ctr_dir, kind);
}

/* --net=container:NAME: NAME's nroot ended */
static void peer_ended(void *data)
{
    nr_netctr_ended(&peer);
}

/* NR_SYNC_NSSET (NR_SYNC_NS: --cap-add=SYS_ADMIN's nested ones): kept for exec
 * until nroot ends */
static bool keep_ns(void *data, int slot, int fd)
{
    if (ctr.ns_fd[slot] >= 0)
        return false;
    ctr.ns_fd[slot] = fd;
    return true;
}

/* --net=NAME: the holder's connection, for the container's life */
static NrUsernet *usernet;

/* #3n parent: the child's network namespace onto the user networks */
static int attach_netns(void *data, int fd, char *ret_info, size_t size, NrError *err)
{
    return nr_usernet_attach(usernet, data, fd, ret_info, size, err);
}

/* the holder ended (killed): the container keeps its interfaces, which
 * lead nowhere now */
static void holder_gone(void *data)
{
    const NrRunConfig *cfg = data;
    nr_notice("the network holder ended: container %s is cut off from its networks",
              cfg->name ? cfg->name : cfg->cid);
}

/* the container's namespaces, whose last references are the fds kept for
 * exec (keep_ns), dropped off the caller's way: unmounting the overlay,
 * /proc, /dev and the rest waits for RCU grace periods (~0.5 ms), which
 * nroot's exit would spend while its caller waits.  A child takes the
 * last references instead and drops them once nroot has ended (a pidfd
 * of nroot, readable then); it holds nothing else, no stdio a caller
 * reads to EOF.  Not for a named container (its layer may be mounted
 * again at once) nor a squashfs image (its server outlives this run). */
/* the dropper: a process that shares nroot's memory (CLONE_VM) and has
 * a copy of its fd table; it keeps only the namespace fds and a pidfd of
 * nroot, waits for nroot's end, and drops them.  Sharing the memory
 * spares a copy of nroot's page tables at the clone and their teardown at
 * nroot's exit (both paid by the dropper, after nroot ended).  Its code
 * makes raw system calls only (no libc state: it runs on nroot's TLS). */
typedef struct Dropper {
    int keep[NR_NS_SLOTS + 1], n, self;
    struct sched_param idle;
    struct pollfd p;
} Dropper;

/* not instrumented: under ASan its locals would come from nroot's fake
 * stack, which the two share (everything it touches is in *data) */
__attribute__((no_sanitize_address)) static int dropper(void *data)
{
    Dropper *d = data;
    /* the teardown is work nobody waits for: SCHED_IDLE, so that nroot's
     * caller, woken by nroot's exit on this CPU, runs before it (a shell,
     * a job script's next command) */
    syscall(SYS_sched_setscheduler, 0, SCHED_IDLE, &d->idle);
    unsigned lo = 0;
    for (int i = 0; i < d->n; i++) {
        if ((unsigned)d->keep[i] > lo)
            syscall(SYS_close_range, lo, (unsigned)d->keep[i] - 1, 0);
        lo = (unsigned)d->keep[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0U, 0);
    /* nroot installs no signal handler on this path: ppoll returns when
     * nroot has ended; on any failure the namespaces go now (errno is
     * nroot's, in the TLS the two share) */
    d->p = (struct pollfd){ .fd = d->self, .events = POLLIN };
    syscall(SYS_ppoll, &d->p, 1, NULL, NULL, 0);
    return 0;
}

static void drop_namespaces_later(const NrRunConfig *cfg)
{
    /* static: the dropper reads it after nroot's frames are gone */
    static Dropper d;
    static char stack[16384] __attribute__((aligned(16)));
    d.n = 0;
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (ctr.ns_fd[i] >= 0)
            d.keep[d.n++] = ctr.ns_fd[i];
    if (d.n == 0 || cfg->oci || cfg->squashfs || ctr.store_dir || cfg->detach)
        return;
    d.self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (d.self < 0)
        return;
    d.keep[d.n++] = d.self;
    /* everything but keep[] goes, in the ascending order close_range needs */
    for (int i = 1; i < d.n; i++)
        for (int j = i; j > 0 && d.keep[j - 1] > d.keep[j]; j--) {
            int t = d.keep[j];
            d.keep[j] = d.keep[j - 1];
            d.keep[j - 1] = t;
        }
    /* what stdio holds reaches the caller before the dropper copies the
     * fd table (it closes its copy of them at once) */
    fflush(NULL);
    pid_t pid = clone(dropper, stack + sizeof stack, CLONE_VM | SIGCHLD, &d);
    if (pid > 0)
        for (int i = 0; i < NR_NS_SLOTS; i++)
            if (ctr.ns_fd[i] >= 0) {
                close(ctr.ns_fd[i]);
                ctr.ns_fd[i] = -1;
            }
    close(d.self);
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
        keep_only(&cfg, -1);
    /* an OCI bundle is told by its content, before any image lookup */
    bool oci = rc == NR_CLI_RUN && (cfg.bundle || (!saved && nr_oci_is_bundle(cfg.image)));
    if (rc == NR_CLI_RUN && cfg.bundle && !nr_oci_is_bundle(cfg.bundle)) {
        nr_error_msg(&err, "--bundle: '%s' is not a directory holding a config.json file",
                     cfg.bundle);
        rc = -1;
    }
    if (rc < 0 || (oci && prepare_oci(&cfg, &err) < 0) ||
        (!oci && cfg.join && take_join(&cfg, &err) < 0) ||
        (!oci && prepare(&cfg, saved != NULL, &err) < 0) ||
        (cfg.join && bind_pmix(&cfg, &err) < 0) ||
        (cfg.detach && nr_detach(&cfg, ctr.store_dir ? ctr.store_dir : ctr.rt_dir, &err) < 0) ||
        plan_stdio(&cfg, &err) < 0) {
        nr_detach_report(&err);
        if (ctr.rt_dir)
            nr_ctr_remove_runtime(ctr.rt_dir);
        nr_join_abandon(&join);
        return err.code ? err.code : NR_EXIT_FAILURE;
    }

    nr_supervise_block(cfg.pty);
    unsigned long flags =
        CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    /* no CLONE_NEWNET: the child makes its network namespace itself, on a
     * thread (aside.c); container:NAME: NAME's, entered below */
    if (nr_timens_any(&cfg.time_offsets))
        flags |= CLONE_NEWTIME;
    if (cfg.oci)
        flags = nr_oci_clone_flags(cfg.oci) & ~(unsigned long)CLONE_NEWUSER;
    int sync_fd = -1;
    nr_cgroup_init(&cgroup);
    /* the cgroups are made from the caller's namespaces, before nroot
     * enters NAME's (--net=container:NAME) or the user networks' */
    pid_t pid =
        (cfg.oci && nr_oci_join_ns_early(cfg.oci, oci_ns_fds, &err) < 0) ||
                (nr_cgroup_any(&cfg.limits) &&
                 nr_cgroup_create(&cfg.limits, cfg.cid, nr_ctr_runtime_held, &cgroup, &err) < 0) ||
                (cfg.net == NR_NET_CONTAINER && nr_netctr_enter(&peer, &err) < 0) ||
                (cfg.net == NR_NET_USER && !(usernet = nr_usernet_open(&cfg, &err))) ||
                (keeper_wanted(&cfg) && nr_keeper_join(&cfg.map, &err) < 0)
            ? -1
            : nr_spawn_cg(flags, &cfg.map, cgroup.procs, cgroup.n, run_child, &cfg, &sync_fd, &err);
    pid1_sync = sync_fd;
    if (pid > 0 && !cfg.oci)
        record_filter(&cfg);
    for (int fd = 0; fd < 3; fd++)
        if (child_stdio[fd] >= 0)
            close(child_stdio[fd]);
    if (cfg.oci)
        nr_oci_close_ns(cfg.oci, oci_ns_fds);
    /* the container has the caller's fds it was to pass on */
    for (size_t i = 0; i < cfg.n_preserve_fds; i++)
        close(cfg.preserve_fds[i]);
    if (pid < 0) {
        nr_cgroup_remove(&cgroup);
        nr_detach_report(&err);
        nr_usernet_close(usernet);
        usernet = NULL;
        finish_record(&cfg, err.code ? err.code : NR_EXIT_FAILURE);
        nr_join_abandon(&join);
        return err.code ? err.code : NR_EXIT_FAILURE;
    }
    /* until PID 1's EXIT message, a failure report, or its death; every
     * other signal is forwarded to it */
    NrSupervise sv = { .cfg = &cfg,
                       .sync_fd = sync_fd,
                       .pid = pid,
                       .err_fd = -1,
                       .relay = relay,
                       .ports = ports,
                       .started = on_started,
                       .ended = on_ended,
                       .overlay = keep_overlay,
                       .keep_ns = keep_ns,
                       .linger = cfg.join ? join_linger : NULL,
                       .netns = usernet ? attach_netns : NULL,
                       /* the holder's connection, or a pidfd of NAME's nroot */
                       .watch_fd = usernet ? nr_usernet_fd(usernet) : peer.watch,
                       .watch = usernet           ? holder_gone
                                : peer.watch >= 0 ? peer_ended
                                                  : NULL,
                       .data = &cfg };
    int status;
    if (nr_supervise_wait(&sv, &status, &err) < 0)
        nr_detach_report(&err);
    relay = NULL;
    ports = NULL;
    nr_cgroup_remove(&cgroup);
    NrError he = { 0 };
    if (nr_cdi_run_hooks(&cfg, NR_HOOK_POSTSTOP, 0, &he) < 0)
        nr_warn("%s", he.msg);
    if (!recorded_end)
        finish_record(&cfg, status);
    nr_netctr_close(&peer);
    /* the holder detaches the container, and ends with its last one */
    nr_usernet_close(usernet);
    usernet = NULL;
    /* --join: a container that never started leaves no key behind */
    nr_join_abandon(&join);
    close(sync_fd);
    drop_namespaces_later(&cfg);
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

int nr_cmd_net_holder(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return nr_netholder_main();
}
