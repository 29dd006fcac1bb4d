/* SPDX-License-Identifier: Apache-2.0 */
/* cli.c — the commands and their option tables.  One table per command
 * drives getopt_long, `--help` and (later) completions and the docs test,
 * so they cannot drift. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "values.h"
#include "nr-bypass.h"
#include "nr-caps.h"
#include "nr-cgroup.h"
#include "nr-devname.h"
#include "nr-cli.h"
#include "nr-conf.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-join.h"
#include "nr-plan.h"
#include "nr-store.h"
#include "nr-timens.h"
#include "nr-userns.h"
#include "nr-util.h"

enum {
    OPT_VOLUME = 'v',
    OPT_WORKDIR = 'w',
    OPT_USER = 'u',
    OPT_ENV = 'e',
    OPT_QUIET = 'q',
    OPT_HELP = 'h',
    OPT_FORCE = 'f',
    OPT_READ_ONLY = 256,
    OPT_OVERLAY,
    OPT_USERNS,
    OPT_CAP_ADD,
    OPT_CAP_DROP,
    OPT_ENV_FILE,
    OPT_HOSTNAME,
    OPT_NET,
    OPT_IMAGE_REF,
    OPT_ENTRYPOINT,
    OPT_NAME,
    OPT_FORMAT,
    OPT_NO_TRUNC,
    OPT_NO_HOST_LOOPBACK,
    OPT_RM,
    OPT_TAIL,
    OPT_SECURITY_OPT,
    OPT_PULL,
    OPT_PLATFORM,
    OPT_TLS_VERIFY,
    OPT_DIGESTS,
    OPT_ENV_HOST,
    OPT_PRESERVE_FDS,
    OPT_PRESERVE_FD,
    OPT_JOIN,
    OPT_JOIN_COUNT,
    OPT_HPC,
    OPT_DEVICE,
    OPT_GPUS,
    OPT_ROOT_EMULATION,
    OPT_BUNDLE,
    OPT_TIME_OFFSET,
    OPT_MEMORY,
    OPT_MEMORY_SWAP,
    OPT_CPUS,
    OPT_CPU_SHARES,
    OPT_CPU_WEIGHT,
    OPT_PIDS_LIMIT,
    OPT_PUBLISH = 'p',
    OPT_TTY = 't',
    OPT_INTERACTIVE = 'i',
    OPT_DETACH = 'd',
    OPT_ATTACH = 'a',
    OPT_ALL = 'a',
    OPT_FOLLOW = 'f',
    OPT_TIME = 't',
    OPT_OUTPUT = 'o',
    OPT_HOST_LOOPBACK = 512,
    OPT_NETWORK_ALIAS,
    OPT_TCP_BYPASS,
    OPT_NO_TCP_BYPASS,
};

#define OPT_IMAGE_REF_ENTRY \
    { \
        "image-ref", OPT_IMAGE_REF, "NAME[:TAG]", "Image", \
            "pick one image of an archive or OCI layout that holds several", NULL \
    }
#define OPT_PULL_ENTRY \
    { \
        "pull", OPT_PULL, "POLICY", "Image", \
            "when to pull a registry reference: missing (when the store has no image for it; " \
            "the default), always, never, newer (when the registry's manifest differs; the " \
            "store's image if the registry cannot be asked)", \
            "missing always never newer" \
    }
#define OPT_PLATFORM_ENTRY \
    { \
        "platform", OPT_PLATFORM, "OS/ARCH[/VARIANT]", "Image", \
            "the image of a multi-platform reference to pull (default: the host's)", NULL \
    }
#define OPT_TLS_VERIFY_ENTRY \
    { \
        "tls-verify", OPT_TLS_VERIFY, "BOOL", "Image", \
            "false: do not verify the registry's TLS certificate, and allow plain HTTP", \
            "true false" \
    }
#define OPT_USERNS_ENTRY \
    { \
        "userns", OPT_USERNS, "MODE", "Identity", \
            "id mapping: auto (subordinate ids if granted, else single id), subids (require " \
            "them), single (only your id, as root), keep-id (your own uid/gid inside)", \
            "auto subids single keep-id" \
    }
#define OPT_QUIET_ENTRY(what) \
    { \
        "quiet", OPT_QUIET, NULL, "General", what, NULL \
    }
#define OPT_HELP_ENTRY \
    { \
        "help", OPT_HELP, NULL, "General", "show this help and exit", NULL \
    }

#define OPT_TTY_ENTRY(what) \
    { \
        "tty", OPT_TTY, NULL, "Terminal", what, NULL \
    }
#define OPT_INTERACTIVE_ENTRY(what) \
    { \
        "interactive", OPT_INTERACTIVE, NULL, "Terminal", what, NULL \
    }
#define OPT_ENV_ENTRY \
    { \
        "env", OPT_ENV, "KEY[=VALUE]", "Environment", \
            "set KEY inside; without =VALUE copy it from nroot's environment (repeatable)", NULL \
    }
#define OPT_ENV_FILE_ENTRY \
    { \
        "env-file", OPT_ENV_FILE, "FILE", "Environment", \
            "read KEY=VALUE lines from FILE ('#' starts a comment) (repeatable)", NULL \
    }
#define OPT_ENV_HOST_ENTRY \
    { \
        "env-host", OPT_ENV_HOST, NULL, "Environment", \
            "pass nroot's environment to the command; what the image sets keeps the image's " \
            "value, -e wins over both", \
            NULL \
    }
#define OPT_PRESERVE_ENTRIES \
    { "preserve-fds", \
      OPT_PRESERVE_FDS, \
      "N", \
      "Environment", \
      "pass nroot's fds 3 to 3+N-1 to the command at the same numbers", \
      NULL }, \
    { \
        "preserve-fd", OPT_PRESERVE_FD, "FD[,FD...]", "Environment", \
            "pass the listed fds of nroot's to the command at the same numbers (PMI_FD in the " \
            "command's environment always passes)", \
            NULL \
    }
#define OPT_WORKDIR_ENTRY \
    { \
        "workdir", OPT_WORKDIR, "DIR", "Filesystem", \
            "start the command in DIR inside the container (created if missing)", NULL \
    }
#define OPT_USER_ENTRY \
    { \
        "user", OPT_USER, "USER[:GROUP]", "Identity", \
            "run the command as USER (a uid or a name from the image's /etc/passwd)", NULL \
    }

static const NrOption run_options[] = {
    { "bundle", OPT_BUNDLE, "DIR", "Image",
      "run the OCI bundle DIR (its config.json and root file system) instead of an IMAGE; "
      "COMMAND, if given, replaces its process.args",
      NULL },
    OPT_IMAGE_REF_ENTRY,
    OPT_PULL_ENTRY,
    OPT_PLATFORM_ENTRY,
    OPT_TLS_VERIFY_ENTRY,
    { "name", OPT_NAME, "NAME", "Container",
      "name the container: it keeps its files after it ends, and 'nroot run --name' or "
      "'nroot start' resumes it (letters, digits, '_', '.', '-')",
      NULL },
    { "detach", OPT_DETACH, NULL, "Container",
      "run in the background, print the container's name or id; output goes to its log "
      "('nroot logs')",
      NULL },
    { "rm", OPT_RM, NULL, "Container",
      "remove a named container when it ends (unnamed containers always are)", NULL },
    { "join", OPT_JOIN, "[KEY]", "Container",
      "share one container among the commands started with the same KEY on this host: the "
      "first creates it, the others enter it (under Slurm KEY defaults to the job step)",
      NULL },
    { "join-count", OPT_JOIN_COUNT, "N", "Container",
      "with --join: keep the container until N commands have joined it (at most 60 s; under "
      "Slurm the step's tasks on this node)",
      NULL },
    { "hpc", OPT_HPC, NULL, "Container", "for MPI ranks under Slurm: --net=host --env-host --join",
      NULL },
    { "entrypoint", OPT_ENTRYPOINT, "CMD", "Image",
      "run CMD instead of the image's entrypoint ('' clears it); the image's default "
      "arguments are then not used",
      NULL },
    OPT_TTY_ENTRY("give the command a terminal of its own (from the container's devpts), "
                  "relayed to nroot's stdin and stdout"),
    OPT_INTERACTIVE_ENTRY("keep stdin open for the command (without it, stdin is /dev/null)"),
    { "volume", OPT_VOLUME, "HOST:CTR[:ro]", "Filesystem",
      "bind-mount the host path HOST at CTR; ':ro' makes it read-only (repeatable)", NULL },
    { "read-only", OPT_READ_ONLY, NULL, "Filesystem",
      "mount the image read-only, with no writable layer", NULL },
    { "device", OPT_DEVICE, "DEVICE", "Devices",
      "a CDI device VENDOR/CLASS=NAME (its nodes, mounts, environment and hooks, from the "
      "specs in /etc/cdi and /var/run/cdi), or a host device node /dev/X[:/dev/Y][:rwm] "
      "(repeatable)",
      NULL },
    { "gpus", OPT_GPUS, "GPUS", "Devices",
      "NVIDIA GPUs through CDI: all (nvidia.com/gpu=all), N (the first N: nvidia.com/gpu=0 "
      "to N-1) or device=ID[,ID...]",
      NULL },
    { "overlay", OPT_OVERLAY, "MODE", "Filesystem",
      "copy-on-write layer: kernel overlayfs, fuse-overlayfs, or auto (kernel, falling "
      "back to fuse; default, or $NROOT_OVERLAY)",
      "auto kernel fuse" },
    OPT_WORKDIR_ENTRY,
    OPT_USER_ENTRY,
    OPT_USERNS_ENTRY,
    { "cap-add", OPT_CAP_ADD, "CAP", "Identity",
      "add a capability to the default set (e.g. NET_ADMIN, or ALL) (repeatable)", NULL },
    { "cap-drop", OPT_CAP_DROP, "CAP", "Identity",
      "drop a capability from the default set (e.g. CHOWN, or ALL) (repeatable)", NULL },
    { "security-opt", OPT_SECURITY_OPT, "OPT", "Identity",
      "seccomp=unconfined (no seccomp profile), seccomp=PROFILE.json (a docker/podman "
      "profile instead of nroot's default), or no-new-privileges (always on)",
      NULL },
    { "root-emulation", OPT_ROOT_EMULATION, "MODE", "Identity",
      "make chown, setuid, setgroups and mknod of devices succeed without effect: auto (where "
      "only your id is mapped; default, or $NROOT_ROOT_EMULATION, or nroot.conf's "
      "root-emulation), on, off",
      "auto on off" },
    OPT_ENV_ENTRY,
    OPT_ENV_FILE_ENTRY,
    OPT_ENV_HOST_ENTRY,
    OPT_PRESERVE_ENTRIES,
    { "hostname", OPT_HOSTNAME, "NAME", "Environment",
      "the container's host name (default: its short id)", NULL },
    { "time-offset", OPT_TIME_OFFSET, "CLOCK=SECONDS[,...]", "Environment",
      "shift the container's clocks in a time namespace of its own: boottime (uptime) and "
      "monotonic, by SECONDS (like 86400, -60 or 1.5); repeated, the last value of a clock wins",
      NULL },
    { "net", OPT_NET, "MODE", "Network",
      "slirp: a private network with user-mode access to the outside (default); none: "
      "loopback only; host: the host's network; container:NAME: the network of the running "
      "container NAME; NAME: the user network NAME ('nroot network create'; repeatable: eth0, "
      "eth1, ...)",
      "none host slirp" },
    { "network", OPT_NET, "MODE", NULL, NULL, "none host slirp" },
    { "publish", OPT_PUBLISH, "[IP:]HOSTPORT:PORT[/udp]", "Network",
      "forward HOSTPORT of the host (all addresses, or IP) to PORT of the container; "
      "tcp unless /udp (repeatable)",
      NULL },
    { "network-alias", OPT_NETWORK_ALIAS, "NAME", "Network",
      "with --net=NAME: one more name of the container on its networks (repeatable)", NULL },
    { "host-loopback", OPT_HOST_LOOPBACK, NULL, "Network",
      "with slirp: 10.0.2.2 (fd00::2) reaches the services on the host's loopback (off by "
      "default)",
      NULL },
    { "no-host-loopback", OPT_NO_HOST_LOOPBACK, NULL, "Network",
      "10.0.2.2 does not reach the host's loopback (the default)", NULL },
    { "tcp-bypass", OPT_TCP_BYPASS, NULL, "Network",
      "with slirp: the command's TCP connections to the outside use sockets of the host's "
      "network namespace, at host speed (nroot-run(1), TCP BYPASS)",
      NULL },
    { "no-tcp-bypass", OPT_NO_TCP_BYPASS, NULL, "Network",
      "TCP goes through slirp (the default, unless nroot.conf says tcp-bypass = true)", NULL },
    { "memory", OPT_MEMORY, "BYTES", "Resources",
      "limit the container's memory (b, k, m, g: e.g. 512m; a cgroup the user may write: "
      "nroot info)",
      NULL },
    { "memory-swap", OPT_MEMORY_SWAP, "BYTES", "Resources",
      "with --memory: memory and swap together, -1: unlimited swap", NULL },
    { "cpus", OPT_CPUS, "N", "Resources", "limit the container to N CPUs' time (e.g. 0.5, 2)",
      NULL },
    { "cpu-shares", OPT_CPU_SHARES, "N", "Resources",
      "the container's CPU share, 2 to 262144 (cgroup v1 cpu.shares; converted on v2)", NULL },
    { "cpu-weight", OPT_CPU_WEIGHT, "N", "Resources",
      "the container's CPU weight, 1 to 10000 (cgroup v2 cpu.weight; converted on v1)", NULL },
    { "pids-limit", OPT_PIDS_LIMIT, "N", "Resources",
      "at most N processes in the container (0 or -1: unlimited)", NULL },
    OPT_QUIET_ENTRY("print no notices and no progress bar"),
    OPT_HELP_ENTRY,
};

static const NrOption import_options[] = {
    { "name", OPT_NAME, "NAME", "Image",
      "name the image (letters, digits, '_', '.', '-', ':' and '/'); without it, the "
      "names the archive gives its image are used",
      NULL },
    { "format", OPT_FORMAT, "FORMAT", "Image",
      "keep the image as a tree of files (tree) or as one squashfs file (squashfs, made "
      "with mksquashfs); default: the image-format setting ($NROOT_IMAGE_FORMAT, "
      "nroot.conf), else tree",
      "tree squashfs" },
    OPT_IMAGE_REF_ENTRY,
    OPT_PULL_ENTRY,
    OPT_PLATFORM_ENTRY,
    OPT_TLS_VERIFY_ENTRY,
    OPT_USERNS_ENTRY,
    OPT_QUIET_ENTRY("no notices and no progress bar (warnings and errors still go to stderr)"),
    OPT_HELP_ENTRY,
};

static const NrOption pull_options[] = {
    OPT_PLATFORM_ENTRY,
    OPT_TLS_VERIFY_ENTRY,
    OPT_USERNS_ENTRY,
    OPT_QUIET_ENTRY("no notices and no progress (the ids and errors are still printed)"),
    OPT_HELP_ENTRY,
};

static const NrOption images_options[] = {
    { "format", OPT_FORMAT, "FORMAT", "General", "table (default) or json", "table json" },
    { "no-trunc", OPT_NO_TRUNC, NULL, "General", "show full image ids", NULL },
    { "digests", OPT_DIGESTS, NULL, "General",
      "show the manifest digest pulled images came as (a DIGEST column)", NULL },
    OPT_QUIET_ENTRY("print only image ids"),
    OPT_HELP_ENTRY,
};

static const NrOption rmi_options[] = {
    { "force", OPT_FORCE, NULL, "General", "remove images that running containers use", NULL },
    OPT_HELP_ENTRY,
};

static const NrOption prune_options[] = {
    OPT_HELP_ENTRY,
};

static const NrOption start_options[] = {
    { "attach", OPT_ATTACH, NULL, "Container",
      "run in the foreground, attached to nroot's stdout and stderr (and its terminal if "
      "the container was made with -t), and exit with its status",
      NULL },
    OPT_INTERACTIVE_ENTRY("with --attach: stdin reaches the command"),
    OPT_HELP_ENTRY,
};

static const NrOption stop_options[] = {
    { "time", OPT_TIME, "SECONDS", "General",
      "how long to wait after SIGTERM before SIGKILL (default 10)", NULL },
    OPT_HELP_ENTRY,
};

static const NrOption wait_options[] = {
    OPT_HELP_ENTRY,
};

static const NrOption logs_options[] = {
    { "follow", OPT_FOLLOW, NULL, "General", "keep printing new output until the container ends",
      NULL },
    { "tail", OPT_TAIL, "N", "General", "start with the last N lines only", NULL },
    OPT_HELP_ENTRY,
};

static const NrOption ps_options[] = {
    { "all", OPT_ALL, NULL, "General", "also list containers that are not running", NULL },
    { "format", OPT_FORMAT, "FORMAT", "General", "table (default) or json", "table json" },
    { "no-trunc", OPT_NO_TRUNC, NULL, "General", "do not shorten commands", NULL },
    OPT_QUIET_ENTRY("print only container ids"),
    OPT_HELP_ENTRY,
};

static const NrOption rm_options[] = {
    { "force", OPT_FORCE, NULL, "General", "stop running containers first (SIGKILL)", NULL },
    OPT_HELP_ENTRY,
};

static const NrOption exec_options[] = {
    OPT_TTY_ENTRY("give the command a terminal of its own in the container, relayed to "
                  "nroot's stdin and stdout"),
    OPT_INTERACTIVE_ENTRY("keep stdin open for the command (without it, stdin is /dev/null)"),
    OPT_WORKDIR_ENTRY,
    OPT_USER_ENTRY,
    OPT_ENV_ENTRY,
    OPT_ENV_FILE_ENTRY,
    OPT_ENV_HOST_ENTRY,
    OPT_PRESERVE_ENTRIES,
    OPT_HELP_ENTRY,
};

static const NrOption info_options[] = {
    { "format", OPT_FORMAT, "FORMAT", "General", "table (default) or json", "table json" },
    OPT_HELP_ENTRY,
};

static const NrOption export_options[] = {
    { "output", OPT_OUTPUT, "FILE", "General",
      "write to FILE instead of stdout (needed for squashfs: mksquashfs cannot write to a "
      "pipe)",
      NULL },
    { "format", OPT_FORMAT, "FORMAT", "General",
      "tar (a rootfs tarball, the default) or squashfs (a zstd-compressed, reproducible "
      "squashfs file made with mksquashfs, which 'nroot run' takes)",
      "tar squashfs" },
    OPT_HELP_ENTRY,
};

/* login and logout (src/cmd/login.c): ids of their own, dispatched by name */
enum {
    OPT_LOGIN_USERNAME = 'u',
    OPT_LOGIN_PASSWORD = 'p',
    OPT_LOGIN_ALL = 'a',
    OPT_LOGIN_PASSWORD_STDIN = 1024,
    OPT_LOGIN_AUTHFILE,
    OPT_LOGIN_TLS_VERIFY,
    OPT_LOGIN_GET_LOGIN,
};

#define OPT_AUTHFILE_ENTRY(what) \
    { \
        "authfile", OPT_LOGIN_AUTHFILE, "FILE", "General", what, NULL \
    }

static const NrOption login_options[] = {
    { "username", OPT_LOGIN_USERNAME, "USER", "General",
      "the user name (asked on a terminal when not given)", NULL },
    { "password", OPT_LOGIN_PASSWORD, "PASSWORD", "General",
      "the password; other users can read it in the process list: prefer --password-stdin", NULL },
    { "password-stdin", OPT_LOGIN_PASSWORD_STDIN, NULL, "General",
      "read the password from stdin (one line; needs --username)", NULL },
    OPT_AUTHFILE_ENTRY("the auth file to write (default $REGISTRY_AUTH_FILE, else "
                       "${XDG_RUNTIME_DIR}/containers/auth.json, else "
                       "~/.config/containers/auth.json)"),
    { "tls-verify", OPT_LOGIN_TLS_VERIFY, "BOOL", "General",
      "false: do not verify the registry's certificate, and use plain HTTP if it answers "
      "only that (default true)",
      "true false" },
    { "get-login", OPT_LOGIN_GET_LOGIN, NULL, "General",
      "print the user name stored for REGISTRY and log in to nothing", NULL },
    OPT_HELP_ENTRY,
};

static const NrOption logout_options[] = {
    { "all", OPT_LOGIN_ALL, NULL, "General", "remove the credentials of every registry", NULL },
    OPT_AUTHFILE_ENTRY("the auth file to edit (default as for 'nroot login')"),
    OPT_HELP_ENTRY,
};

/* nroot oci (src/cmd/oci.c parses them, runc's way): listed for --help,
 * the completions and the man page */
static const NrOption oci_options[] = {
    { "root", 2048, "DIR", "General",
      "where the containers' state lives (default $XDG_RUNTIME_DIR/nroot/oci)", NULL },
    { "log", 2049, "FILE", "General", "also write errors to FILE", NULL },
    { "log-format", 2050, "FORMAT", "General", "the --log lines: text or json (runc's)",
      "text json" },
    { "debug", 2051, NULL, "General", "accepted, ignored", NULL },
    { "systemd-cgroup", 2052, NULL, "General", "accepted, ignored (nroot manages no cgroup)",
      NULL },
    { "rootless", 2053, "[BOOL]", "General", "accepted, ignored (nroot is always rootless)", NULL },
    { "version", 'v', NULL, "General", "print the version, as runc's --version", NULL },
    { "bundle", 'b', "DIR", "Container", "create, run, spec: the bundle (default .)", NULL },
    { "pid-file", 2054, "FILE", "Container",
      "create, run: write PID 1's host pid there; exec: the command's", NULL },
    { "console-socket", 2055, "SOCKET", "Container",
      "create, run, exec: send the terminal's master to this unix socket", NULL },
    { "preserve-fds", 2056, "N", "Container", "create, run, exec: pass fds 3 to 3+N-1 on", NULL },
    { "detach", 'd', NULL, "Container", "run: create and start, do not wait; exec: the same",
      NULL },
    { "process", 'p', "FILE", "Container", "exec: the process, a runtime-spec process JSON", NULL },
    { "tty", 't', NULL, "Container", "exec: a terminal for the command", NULL },
    { "cwd", 2058, "DIR", "Container", "exec: the working directory", NULL },
    { "env", 'e', "K=V", "Container", "exec: one more environment variable (repeatable)", NULL },
    { "user", 'u', "UID[:GID]", "Container", "exec: the command's uid and gid", NULL },
    { "cap", 'c', "CAP", "Container", "exec: one more capability (repeatable)", NULL },
    { "no-new-privs", 2059, NULL, "Container", "exec: set no_new_privs", NULL },
    { "force", 'f', NULL, "Container", "delete: kill a running container first", NULL },
    { "all", 'a', NULL, "Container", "kill: signal every process of the container", NULL },
    { "quiet", 'q', NULL, "Container", "list: ids only", NULL },
    { "format", 2057, "FORMAT", "Container", "list: table or json", "table json" },
    OPT_HELP_ENTRY,
};

/* nroot network (src/cmd/network.c): the command's table lists every
 * option of its commands (for --help, the completions and the man page);
 * each command parses with its own */
enum {
    OPT_NETWORK_SUBNET = 3072,
    OPT_NETWORK_INTERNAL,
};

#define OPT_NETWORK_SUBNET_ENTRY(what) \
    { \
        "subnet", OPT_NETWORK_SUBNET, "CIDR", "Network", what, NULL \
    }
#define OPT_NETWORK_INTERNAL_ENTRY(what) \
    { \
        "internal", OPT_NETWORK_INTERNAL, NULL, "Network", what, NULL \
    }
#define OPT_NETWORK_FORMAT_ENTRY(what) \
    { \
        "format", OPT_FORMAT, "FORMAT", "General", what, "table json" \
    }

static const NrOption network_options[] = {
    OPT_NETWORK_SUBNET_ENTRY("create: the network's IPv4 subnet, a private range from /16 to "
                             "/28 (default: the first free 10.89.N.0/24)"),
    OPT_NETWORK_INTERNAL_ENTRY("create: no way out of the network, only its containers"),
    OPT_NETWORK_FORMAT_ENTRY("ls: table (default) or json"),
    OPT_QUIET_ENTRY("ls: print only network names"),
    { "force", OPT_FORCE, NULL, "General", "rm: stop the containers on the network first", NULL },
    OPT_HELP_ENTRY,
};

static const NrOption network_create_options[] = {
    OPT_NETWORK_SUBNET_ENTRY("the network's IPv4 subnet, a private range from /16 to /28, "
                             "not used by another network (default: the first free "
                             "10.89.N.0/24)"),
    OPT_NETWORK_INTERNAL_ENTRY("no way out: the containers reach each other, nothing else"),
    OPT_HELP_ENTRY,
};

static const NrOption network_ls_options[] = {
    OPT_NETWORK_FORMAT_ENTRY("table (default) or json (as network inspect)"),
    OPT_QUIET_ENTRY("print only network names"),
    OPT_HELP_ENTRY,
};

static const NrOption network_rm_options[] = {
    { "force", OPT_FORCE, NULL, "General",
      "stop the containers on the network first (SIGTERM, SIGKILL after 10 s)", NULL },
    OPT_HELP_ENTRY,
};

static const NrOption network_plain_options[] = {
    OPT_HELP_ENTRY,
};

#define COMMAND(n, opts, usage, summary, desc) \
    { \
        n, usage, summary, desc, opts, sizeof opts / sizeof opts[0] \
    }

static const NrCommand commands[] = {
    COMMAND("run", run_options, "nroot run [OPTIONS] IMAGE [[OPTIONS] --] [COMMAND [ARG...]]",
            "run a command in a new container",
            "Run COMMAND in a new rootless container.  IMAGE is a root filesystem directory,\n"
            "a rootfs tarball (tar, gzip, xz, zstd, bzip2), a docker-archive ('docker save'),\n"
            "an OCI image (layout directory or archive), or a name or id from 'nroot images'.\n"
            "Archives are unpacked once into the store and reused.  Without COMMAND the\n"
            "image's default command runs (/bin/sh if it has none).  Writes go to a\n"
            "throw-away layer; the image is never modified.\n\n"
            "IMAGE may also be a registry reference (docker.io/library/debian:12, debian,\n"
            "quay.io/org/app@sha256:...): it is pulled into the store on first use\n"
            "(--pull).  A file or directory of that name wins.\n\n"
            "A directory holding config.json is an OCI bundle (as 'runc spec' and 'umoci\n"
            "unpack' make them): it runs as its config.json says, its root written in place;\n"
            "--bundle DIR names one, and then every operand is the command.\n\n"
            "Options may also follow IMAGE when a '--' ends them: 'nroot run IMAGE --net=none\n"
            "-- make'.  Without that '--', or when the word after IMAGE is not an option,\n"
            "everything after IMAGE is the command."),
    COMMAND("import", import_options, "nroot import [OPTIONS] FILE|DIR|REF",
            "unpack an image into the store and print its id",
            "Unpack FILE (a rootfs tarball, docker-archive or oci-archive) or DIR (an OCI\n"
            "layout or an unpacked 'docker save' directory) into the store, as 'nroot run'\n"
            "would on first use, and print the image id.  'nroot run NAME' then runs it by\n"
            "name.  REF, a registry reference that is not a file, is pulled (--pull)."),
    COMMAND("pull", pull_options, "nroot pull [OPTIONS] REF...",
            "pull images from a registry into the store and print their ids",
            "Pull each REF (docker.io/library/debian:12, debian, host:port/path:tag,\n"
            "...@sha256:DIGEST) from its registry: its manifest (the host's platform of a\n"
            "multi-platform image, or --platform), config and layers, each verified against\n"
            "its digest, into the store's blob cache, then import it.  Blobs already in the\n"
            "cache are not downloaded again.  Credentials come from the containers\n"
            "auth.json files and ~/.docker/config.json, CAs and client certificates from\n"
            "the certs.d directories."),
    COMMAND("images", images_options, "nroot images [OPTIONS]", "list the images in the store",
            "List the images in the store: one line per name (unnamed images as <none>),\n"
            "newest first."),
    COMMAND("rmi", rmi_options, "nroot rmi [OPTIONS] NAME|ID...",
            "remove names and images from the store",
            "Remove each NAME, and the image it named when no other name is left; remove\n"
            "each image given by ID (or a unique prefix of at least 4 digits) with all its\n"
            "names."),
    COMMAND("prune", prune_options, "nroot prune", "remove what no name or file refers to any more",
            "Remove the remains of interrupted imports, and the images imported from files\n"
            "that are gone or changed and that no name refers to, and the leftovers of\n"
            "unnamed containers whose nroot was killed."),
    COMMAND("ps", ps_options, "nroot ps [OPTIONS]", "list containers",
            "List the running containers, with -a also the named containers that are not\n"
            "running.  A container whose nroot was killed shows as exited, its status\n"
            "unknown."),
    COMMAND("start", start_options, "nroot start [OPTIONS] NAME...", "start named containers again",
            "Start each named container again with its files and the options and command it\n"
            "was made with, in the background (see 'nroot logs'), or with --attach in the\n"
            "foreground."),
    COMMAND("exec", exec_options, "nroot exec [OPTIONS] CONTAINER [[OPTIONS] --] COMMAND [ARG...]",
            "run a command in a running container",
            "Run COMMAND in the running CONTAINER (a name, an id or a unique id prefix): in\n"
            "all its namespaces and its root, as its user, with its capabilities and\n"
            "environment (plus -e), in its working directory (or -w).\n\n"
            "Options may also follow CONTAINER when a '--' ends them: 'nroot exec CONTAINER\n"
            "-w /src -- make'.  Without that '--', or when the word after CONTAINER is not\n"
            "an option, everything after CONTAINER is the command."),
    COMMAND("stop", stop_options, "nroot stop [OPTIONS] CONTAINER...", "stop running containers",
            "Send SIGTERM to each container's command; after the grace period, SIGKILL.\n"
            "Returns when the containers have ended.  A container that is not running is\n"
            "left alone."),
    COMMAND("wait", wait_options, "nroot wait CONTAINER...",
            "wait for containers to end and print their exit codes",
            "Wait until each container has ended and print its exit code (-1 when it is\n"
            "not known: its nroot was killed)."),
    COMMAND("logs", logs_options, "nroot logs [OPTIONS] CONTAINER",
            "print the output of a detached container",
            "Print what a container started with -d (or 'nroot start') wrote to its\n"
            "stdout and stderr."),
    COMMAND("rm", rm_options, "nroot rm [OPTIONS] CONTAINER...",
            "remove containers and their files",
            "Remove each container that is not running, with its writable layer and log."),
    COMMAND("info", info_options, "nroot info [OPTIONS]",
            "show what this machine lets nroot do, and how to fix what is missing",
            "Try what nroot needs (user namespaces, subordinate ids and their helpers,\n"
            "overlayfs in a user namespace, fuse-overlayfs, /dev/net/tun and libslirp,\n"
            "cgroups, the store's file system) and print, for each, its state and the fix\n"
            "an administrator would apply.  Exit status 0 when nroot can run containers\n"
            "here, 1 when it cannot."),
    COMMAND("export", export_options, "nroot export [OPTIONS] CONTAINER|IMAGE",
            "write a container's or an image's filesystem as a tarball or squashfs file",
            "Write the merged filesystem of CONTAINER (the image with the container's\n"
            "changes), or the root filesystem of IMAGE (a name or id from 'nroot images',\n"
            "or what 'nroot run' takes), as a rootfs tarball that 'nroot run' and 'nroot\n"
            "import' take, or with --format=squashfs as a squashfs file.  Owners are the\n"
            "ids the container sees.  Mounted filesystems (volumes, /proc, /dev) are not\n"
            "included."),
    COMMAND("login", login_options, "nroot login [OPTIONS] REGISTRY",
            "log in to a registry: check and store credentials",
            "Check a user name and password with REGISTRY (HOST[:PORT]; docker.io for\n"
            "Docker Hub) and store them in the containers auth file, where 'nroot pull'\n"
            "and podman find them.  Without --password or --password-stdin the password\n"
            "is asked on the terminal, not echoed."),
    COMMAND("logout", logout_options, "nroot logout [OPTIONS] REGISTRY|--all",
            "log out of a registry: remove stored credentials",
            "Remove the credentials of REGISTRY (or, with --all, of every registry) from\n"
            "the containers auth file 'nroot login' writes; its other contents stay."),
    COMMAND("oci", oci_options, "nroot oci [GLOBAL OPTIONS] COMMAND [OPTIONS] [ID] [ARG...]",
            "runc's command line: create, start, state, kill, delete, list, run OCI bundles",
            "Drive OCI bundles as runc does, for tools made for runc: create, start, state,\n"
            "kill [SIGNAL], delete [--force], list [-q] [--format], run [-d], exec, ps,\n"
            "spec, features.\n"
            "Errors are one line and exit code 1, as runc's (not 125)."),
    COMMAND("network", network_options, "nroot network COMMAND [OPTIONS] [NAME...]",
            "manage user networks: create, ls, inspect, rm, prune",
            "User networks: the containers on one network (--net=NAME of 'nroot run')\n"
            "reach each other by address and by container name; containers on different\n"
            "networks do not.  Commands:\n\n"
            "  create [--subnet CIDR] [--internal] NAME   make a network\n"
            "  ls [-q] [--format json]                    list the networks\n"
            "  inspect NAME...                            show networks as JSON\n"
            "  rm [-f] NAME...                            remove networks no container uses\n"
            "  prune                                      remove every network not in use\n\n"
            "Run 'nroot network COMMAND --help' for the options of one."),
};

/* the commands of `nroot network` */
static const NrCommand network_commands[] = {
    COMMAND("network create", network_create_options, "nroot network create [OPTIONS] NAME",
            "make a user network",
            "Make the network NAME (letters, digits, '_', '.', '-', starting with a letter\n"
            "or digit, at most 63; not none, host or slirp) and print its name.  Its\n"
            "subnet S gives the addresses: S.1 the bridge and the containers' DNS server,\n"
            "S.2 the gateway out, the containers from S.10 up."),
    COMMAND("network ls", network_ls_options, "nroot network ls [OPTIONS]", "list the networks",
            "List the networks: NAME SUBNET INTERNAL CONTAINERS (the running containers\n"
            "attached), sorted by name."),
    COMMAND("network inspect", network_plain_options, "nroot network inspect NAME...",
            "show networks as JSON",
            "Print a JSON array with one object per NAME: name, subnet, gateway, dns,\n"
            "internal, created (RFC 3339) and the running containers attached (name, id,\n"
            "address)."),
    COMMAND("network rm", network_rm_options, "nroot network rm [OPTIONS] NAME...",
            "remove networks",
            "Remove each network NAME and print its name.  A network that a running\n"
            "container uses is refused, unless --force stops those containers first."),
    COMMAND("network prune", network_plain_options, "nroot network prune",
            "remove the networks no container uses",
            "Remove every network that no running container uses and print the names."),
};

static const char *const groups[] = { "Image",     "Container", "Terminal",    "Filesystem",
                                      "Devices",   "Identity",  "Environment", "Network",
                                      "Resources", "General" };

const NrCommand *nr_cli_commands(size_t *ret_n)
{
    *ret_n = sizeof commands / sizeof commands[0];
    return commands;
}

const NrCommand *nr_cli_network_commands(size_t *ret_n)
{
    *ret_n = sizeof network_commands / sizeof network_commands[0];
    return network_commands;
}

const NrCommand *nr_cli_network_command(const char *sub)
{
    if (strcmp(sub, "list") == 0)
        sub = "ls";
    else if (strcmp(sub, "remove") == 0)
        sub = "rm";
    for (size_t i = 0; i < sizeof network_commands / sizeof network_commands[0]; i++)
        if (strcmp(network_commands[i].name + strlen("network "), sub) == 0)
            return &network_commands[i];
    return NULL;
}

const NrCommand *nr_cli_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void nr_cli_main_help(void)
{
    printf("Usage: nroot [--version] [--help] COMMAND [ARG...]\n\n"
           "Rootless containers: no root, no daemon, no setuid binary of its own.\n\n"
           "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].summary);
    printf("\nOptions:\n"
           "  -h, --help     show this help and exit\n"
           "  -V, --version  print the version and exit\n\n"
           "Run 'nroot COMMAND --help' for the options of a command; see nroot(1).\n");
}

void nr_cli_help(const NrCommand *c)
{
    printf("Usage: %s\n\n%s\n", c->usage, c->description);
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        bool any = false;
        for (size_t i = 0; i < c->n_opts; i++)
            any |= c->opts[i].group && strcmp(c->opts[i].group, groups[g]) == 0;
        if (!any)
            continue;
        printf("\n%s:\n", groups[g]);
        for (size_t i = 0; i < c->n_opts; i++) {
            const NrOption *o = &c->opts[i];
            if (!o->group || strcmp(o->group, groups[g]) != 0)
                continue;
            char left[64];
            /* an optional value: --join[=KEY] */
            bool opt = NR_OPT_OPTIONAL(o);
            const char *eq = !o->arg ? "" : opt ? "[=" : "=";
            const char *arg = !o->arg ? "" : opt ? o->arg + 1 : o->arg;
            if (o->id < 256)
                snprintf(left, sizeof left, "-%c, --%s%s%s", o->id, o->name, eq, arg);
            else
                snprintf(left, sizeof left, "    --%s%s%s", o->name, eq, arg);
            printf("  %-26s", left);
            int col = 28;
            if (strlen(left) >= 26) {
                printf("\n%28s", "");
            }
            /* wrap the help at 79 columns */
            const char *h = o->help;
            bool first = true;
            while (*h) {
                while (*h == ' ')
                    h++;
                size_t w = strcspn(h, " ");
                if (!first && col + 1 + (int)w > 79) {
                    printf("\n%28s", "");
                    col = 28;
                } else if (!first) {
                    putchar(' ');
                    col++;
                }
                printf("%.*s", (int)w, h);
                col += (int)w;
                h += w;
                first = false;
            }
            putchar('\n');
        }
    }
    if (strcmp(c->name, "run") == 0 || strcmp(c->name, "exec") == 0 ||
        strcmp(c->name, "start") == 0)
        printf("\nExit status: 125 if nroot fails, 126 if COMMAND cannot be executed, 127 if it\n"
               "is not found, 128+N if it is killed by signal N, otherwise COMMAND's status%s.\n",
               strcmp(c->name, "start") == 0 ? " (with --attach; else 0)" : "");
    else if (strcmp(c->name, "info") == 0)
        printf("\nExit status: 0 if nroot can run containers here, 1 if it cannot, 125 if nroot\n"
               "fails.\n");
    else
        printf("\nExit status: 0 on success, 125 if nroot fails.\n");
}

static int parse_choice(const NrOption *o, const char *val, NrError *err)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", o->values);
    int idx = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save), idx++)
        if (strcmp(t, val) == 0)
            return idx;
    nr_error_msg(err, "invalid value '%s' for --%s: expected one of: %s", val, o->name, o->values);
    return -1;
}

/* --net: a mode, or a user network's name (repeatable, not with a mode) */
static int parse_net(NrRunConfig *cfg, const NrOption *o, const char *arg, NrError *err)
{
    bool mode = strcmp(arg, "none") == 0 || strcmp(arg, "host") == 0 || strcmp(arg, "slirp") == 0;
    bool ctr = strncmp(arg, "container:", 10) == 0;
    if ((mode || ctr) && cfg->networks.n)
        return nr_error_msg(err, "--net=%s cannot be combined with --net=%s", arg,
                            cfg->networks.v[0]);
    cfg->net_ctr = NULL;
    if (ctr) {
        if (!nr_ctr_name_valid(arg + 10))
            return nr_error_msg(err,
                                "invalid --net '%s': container:NAME names a container by its name "
                                "or id",
                                arg);
        cfg->net = NR_NET_CONTAINER;
        cfg->net_ctr = arg + 10;
        cfg->net_given = true;
        return 0;
    }
    if (mode) {
        cfg->net = (NrNetMode)parse_choice(o, arg, err);
        cfg->net_given = true;
        return 0;
    }
    if (strlen(arg) > 63 || !nr_ctr_name_valid(arg))
        return nr_error_msg(err,
                            "invalid value '%s' for --net: expected one of: %s, container:NAME "
                            "(the network of a running container), or a network's name (letters, "
                            "digits, '_', '.' and '-', at most 63)",
                            arg, o->values);
    if (cfg->net_given && cfg->net != NR_NET_USER)
        return nr_error_msg(err, "--net=%s cannot be combined with --net=%s", arg,
                            cfg->net == NR_NET_HOST        ? "host"
                            : cfg->net == NR_NET_NONE      ? "none"
                            : cfg->net == NR_NET_CONTAINER ? "container:NAME"
                                                           : "slirp");
    for (size_t i = 0; i < cfg->networks.n; i++)
        if (strcmp(cfg->networks.v[i], arg) == 0)
            return nr_error_msg(err, "--net=%s is given twice", arg);
    if (cfg->networks.n == 8)
        return nr_error_msg(err, "--net=NAME: at most 8 networks");
    nr_strv_push(&cfg->networks, arg);
    cfg->net = NR_NET_USER;
    cfg->net_given = true;
    return 0;
}

/* os/arch[/variant]: lowercase letters, digits, '_' and '.' */
static int check_platform(const char *v, NrError *err)
{
    int parts = 1;
    bool ok = *v && v[strlen(v) - 1] != '/' && *v != '/' && !strstr(v, "//");
    for (const char *p = v; *p && ok; p++) {
        if (*p == '/')
            parts++;
        else
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.';
    }
    if (!ok || parts < 2 || parts > 3 || strlen(v) > 64)
        return nr_error_msg(err,
                            "invalid --platform '%s': expected OS/ARCH[/VARIANT], e.g. "
                            "linux/arm64",
                            v);
    return 0;
}

static const NrOption *find_opt_in(const NrCommand *c, int id)
{
    for (size_t i = 0; i < c->n_opts; i++)
        if (c->opts[i].id == id)
            return &c->opts[i];
    return NULL;
}

static const NrOption *find_opt(int id)
{
    return find_opt_in(nr_cli_command("run"), id);
}

#define GETOPT_HELP (-2)

typedef int (*OptionHandler)(void *ctx, const NrOption *o, const char *arg, NrError *err);

/* run and exec take a command after their first operand */
static bool takes_command(const NrCommand *c)
{
    return strcmp(c->name, "run") == 0 || strcmp(c->name, "exec") == 0;
}

/* getopt_long over the command's table (argv[0] is skipped):
 * handler(ctx, option, arg) for each option; returns the index of the
 * first operand, GETOPT_HELP, or -1.  *ret_dashdash (if not NULL) tells
 * whether the options ended with a `--` word (not an option's value). */
static int cli_getopt(const NrCommand *c, int argc, char **argv, OptionHandler handler, void *ctx,
                      bool *ret_dashdash, NrError *err)
{
    /* as many entries as the table has (a fixed array once dropped the
     * options past its size without a word) */
    nr_autofree struct option *longopts = nr_xmalloc((c->n_opts + 1) * sizeof *longopts);
    nr_autofree char *shortopts = nr_xmalloc(3 * c->n_opts + 3);
    /* run and exec stop at their first operand (what follows is the
     * command's); the others take options anywhere, as podman's do */
    size_t s = 0;
    if (takes_command(c))
        shortopts[s++] = '+';
    shortopts[s++] = ':';
    shortopts[s] = '\0';
    for (size_t i = 0; i < c->n_opts; i++) {
        const NrOption *o = &c->opts[i];
        int has = !o->arg              ? no_argument
                  : NR_OPT_OPTIONAL(o) ? optional_argument
                                       : required_argument;
        longopts[i] = (struct option){ o->name, has, NULL, o->id };
        if (o->id < 256 && !strchr(shortopts, o->id)) {
            shortopts[s++] = (char)o->id;
            if (o->arg)
                shortopts[s++] = ':';
            shortopts[s] = '\0';
        }
    }
    longopts[c->n_opts] = (struct option){ 0 };
    opterr = 0;
    optind = 0; /* a full restart: a command may parse twice (run's trailing options) */
    int id, before = 1;
    while ((id = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (id == OPT_HELP) {
            nr_cli_help(c);
            return GETOPT_HELP;
        }
        if (id == ':')
            return nr_error_msg(err, "option '%s' needs a value", argv[optind - 1]);
        const NrOption *o = id == '?' ? NULL : find_opt_in(c, id);
        if (!o) {
            if (optopt && optopt < 256)
                nr_error_msg(err, "unknown option '-%c'", optopt);
            else
                nr_error_msg(err, "unknown option '%s'", argv[optind - 1]);
            nr_error_hint(err, "see 'nroot %s --help'", c->name);
            return -1;
        }
        if (handler(ctx, o, optarg, err) < 0)
            return -1;
        before = optind;
    }
    if (ret_dashdash)
        *ret_dashdash = optind == before + 1 && strcmp(argv[before], "--") == 0;
    return optind;
}

/* The words after the first operand of run and exec (IMAGE, CONTAINER, at
 * argv[first]): when the first of them is an option and a `--` follows, the
 * words up to that `--` are nroot's options, parsed as those before the
 * operand, and any other word there is an error; otherwise, docker's rule,
 * they are the command (a `--` right after the operand is dropped).  A `--`
 * before the operand (`ended`) ended nroot's options for good, as in getopt.
 * Returns the index of the command's first word, GETOPT_HELP, or -1. */
static int cli_trailing(const NrCommand *c, int argc, char **argv, int first, bool ended,
                        OptionHandler handler, void *ctx, NrError *err)
{
    int i = first + 1;
    if (i >= argc || argv[i][0] != '-' || !argv[i][1])
        return i;
    if (strcmp(argv[i], "--") == 0)
        return i + 1;
    if (ended)
        return i;
    bool dashdash = false;
    for (int j = i + 1; j < argc && !dashdash; j++)
        dashdash = strcmp(argv[j], "--") == 0;
    if (!dashdash)
        return i;
    int n = cli_getopt(c, argc - first, argv + first, handler, ctx, &dashdash, err);
    if (n < 0)
        return n;
    if (!dashdash) {
        const char *what = strcmp(c->name, "run") == 0 ? "IMAGE" : "CONTAINER";
        if (first + n < argc)
            nr_error_msg(err, "'%s' is not an option: only nroot's options go between %s and '--'",
                         argv[first + n], what);
        else
            nr_error_msg(err,
                         "no '--' ends the options after %s (the '--' there is an option's "
                         "value)",
                         what);
        nr_error_hint(err, "the command goes after '--': %s", c->usage);
        return -1;
    }
    return first + n;
}

typedef struct RunCtx {
    NrRunConfig *cfg;
    uint64_t add, drop;
    bool drop_all;
} RunCtx;

static int run_option(void *data, const NrOption *o, const char *arg, NrError *err)
{
    RunCtx *ctx = data;
    NrRunConfig *cfg = ctx->cfg;
    int v;
    uint64_t mask;
    switch (o->id) {
    case OPT_QUIET: nr_quiet = true; return 0;
    case OPT_VOLUME: return nr_cli_parse_volume(cfg, arg, err);
    case OPT_READ_ONLY: cfg->read_only = true; return 0;
    case OPT_BUNDLE: cfg->bundle = arg; return 0;
    case OPT_DEVICE: return nr_devname_add_device(&cfg->devices, arg, err);
    case OPT_GPUS: return nr_devname_add_gpus(&cfg->devices, arg, err);
    case OPT_TTY: cfg->pty = true; return 0;
    case OPT_INTERACTIVE: cfg->interactive = true; return 0;
    case OPT_OVERLAY:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        cfg->overlay = (NrOverlayMode)v;
        return 0;
    case OPT_WORKDIR:
        if (arg[0] != '/')
            return nr_error_msg(err, "invalid workdir '%s': must be an absolute path", arg);
        cfg->workdir = arg;
        return 0;
    case OPT_USER:
        if (nr_cli_check_user(arg, err) < 0)
            return -1;
        cfg->user = arg;
        return 0;
    case OPT_USERNS:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        cfg->userns = (NrUsernsMode)v;
        return 0;
    case OPT_CAP_ADD:
    case OPT_CAP_DROP:
        if (nr_caps_parse(arg, &mask, err) < 0)
            return -1;
        if (o->id == OPT_CAP_ADD)
            ctx->add |= mask;
        else {
            ctx->drop |= mask;
            ctx->drop_all |= strcasecmp(arg, "all") == 0;
        }
        return 0;
    case OPT_ENV: return nr_cli_add_env(&cfg->env, arg, "", err);
    case OPT_ENV_FILE: return nr_cli_read_env_file(&cfg->env, arg, err);
    case OPT_HOSTNAME:
        if (nr_cli_check_hostname(arg, err) < 0)
            return -1;
        cfg->hostname = arg;
        return 0;
    case OPT_TIME_OFFSET: return nr_timens_parse(arg, &cfg->time_offsets, err);
    case OPT_NET: return parse_net(cfg, o, arg, err);
    case OPT_NETWORK_ALIAS:
        if (strlen(arg) > 63 || !nr_ctr_name_valid(arg))
            return nr_error_msg(err,
                                "invalid --network-alias '%s': letters, digits, '_', '.' and "
                                "'-', starting with a letter or digit, at most 63",
                                arg);
        nr_strv_push(&cfg->net_aliases, arg);
        return 0;
    case OPT_PUBLISH: return nr_cli_parse_port(cfg, arg, err);
    case OPT_HOST_LOOPBACK:
    case OPT_NO_HOST_LOOPBACK: cfg->host_loopback = o->id == OPT_HOST_LOOPBACK; return 0;
    case OPT_TCP_BYPASS:
    case OPT_NO_TCP_BYPASS:
        cfg->tcp_bypass = o->id == OPT_TCP_BYPASS;
        cfg->tcp_bypass_given = true;
        return 0;
    case OPT_SECURITY_OPT: return nr_cli_parse_security_opt(cfg, arg, err);
    case OPT_IMAGE_REF:
        if (!*arg)
            return nr_error_msg(err, "--image-ref needs a NAME[:TAG]");
        cfg->image_ref = arg;
        return 0;
    case OPT_ENTRYPOINT: cfg->entrypoint = arg; return 0;
    case OPT_PULL:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        cfg->pull = v;
        return 0;
    case OPT_PLATFORM:
        if (check_platform(arg, err) < 0)
            return -1;
        cfg->platform = arg;
        return 0;
    case OPT_TLS_VERIFY:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        cfg->tls_no_verify = v == 1;
        return 0;
    case OPT_NAME:
        if (!nr_ctr_name_valid(arg))
            return nr_error_msg(err,
                                "invalid container name '%s': letters, digits, '_', '.' and "
                                "'-', starting with a letter or digit, at most 128",
                                arg);
        cfg->name = arg;
        return 0;
    case OPT_DETACH: cfg->detach = true; return 0;
    case OPT_RM: cfg->rm = true; return 0;
    case OPT_ENV_HOST: cfg->env_host = true; return 0;
    case OPT_PRESERVE_FDS:
    case OPT_PRESERVE_FD:
        return nr_cli_add_preserve(&cfg->preserve_fds, &cfg->n_preserve_fds, arg,
                                   o->id == OPT_PRESERVE_FDS, err);
    case OPT_ROOT_EMULATION:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        cfg->root_emulation = (NrRootEmu)v;
        return 0;
    case OPT_HPC:
        if (cfg->networks.n)
            return nr_error_msg(err, "--hpc (--net=host) cannot be combined with --net=%s",
                                cfg->networks.v[0]);
        cfg->net = NR_NET_HOST;
        cfg->net_ctr = NULL;
        cfg->net_given = true;
        cfg->env_host = true;
        cfg->join = true;
        return 0;
    case OPT_JOIN:
        cfg->join = true;
        if (arg && !nr_join_key_valid(arg))
            return nr_error_msg(err,
                                "invalid --join key '%s': letters, digits, '_', '.' and '-', "
                                "starting with a letter or digit, at most 128",
                                arg);
        cfg->join_key = arg;
        return 0;
    case OPT_MEMORY: return nr_cgroup_parse_bytes("--memory", arg, &cfg->limits.memory, err);
    case OPT_MEMORY_SWAP: return nr_cgroup_parse_swap(arg, &cfg->limits.memory_swap, err);
    case OPT_CPUS:
        return nr_cgroup_parse_cpus(arg, sysconf(_SC_NPROCESSORS_ONLN), &cfg->limits.cpu_quota,
                                    err);
    case OPT_CPU_SHARES: return nr_cgroup_parse_shares(arg, &cfg->limits.cpu_shares, err);
    case OPT_CPU_WEIGHT: return nr_cgroup_parse_weight(arg, &cfg->limits.cpu_weight, err);
    case OPT_PIDS_LIMIT: return nr_cgroup_parse_pids(arg, &cfg->limits.pids, err);
    case OPT_JOIN_COUNT: {
        uint32_t k;
        if (!nr_parse_u32(arg, &k) || k < 1 || k > 100000)
            return nr_error_msg(err, "invalid --join-count '%s': a number of commands (1 and up)",
                                arg);
        cfg->join_count = k;
        return 0;
    }
    }
    return nr_error_msg(err, "option --%s is not handled", o->name);
}

/* --root-emulation's default: $NROOT_ROOT_EMULATION, else nroot.conf's
 * root-emulation (nr_conf_value's rule), else auto; the option wins over
 * both */
static int default_root_emulation(NrRunConfig *cfg, NrError *err)
{
    const char *from;
    const char *v = nr_conf_value("root-emulation", "NROOT_ROOT_EMULATION", &from);
    if (!v)
        return 0;
    int c = parse_choice(find_opt(OPT_ROOT_EMULATION), v, err);
    if (c < 0) {
        nr_error_prefix(err, "%s%s", from, *from == '$' ? "" : ": root-emulation");
        return -1;
    }
    cfg->root_emulation = (NrRootEmu)c;
    return 0;
}

/* --tcp-bypass's default: $NROOT_TCP_BYPASS, else nroot.conf's
 * tcp-bypass, else off; the options win over both */
static int default_tcp_bypass(NrRunConfig *cfg, NrError *err)
{
    const char *from;
    const char *v = nr_conf_value("tcp-bypass", "NROOT_TCP_BYPASS", &from);
    if (!v)
        return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        cfg->tcp_bypass = true;
    else if (strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
        return nr_error_msg(err, "%s%s: '%s' is not true or false", from,
                            *from == '$' ? "" : ": tcp-bypass", v);
    return 0;
}

/* --tcp-bypass where it can be had: the default slirp network, no OCI
 * bundle, a kernel with SECCOMP_IOCTL_NOTIF_ADDFD.  Asked for on the
 * command line, anything else is an error; nroot.conf's default only
 * holds where it can */
static int check_tcp_bypass(NrRunConfig *cfg, NrError *err)
{
    static const char *const nets[] = { [NR_NET_NONE] = "none", [NR_NET_HOST] = "host" };
    if (!cfg->tcp_bypass)
        return 0;
    const char *why = NULL;
    char buf[160];
    if (cfg->net != NR_NET_SLIRP) {
        const char *n = cfg->net == NR_NET_CONTAINER ? "container:NAME"
                        : cfg->net == NR_NET_USER    ? "NAME (a user network)"
                        : (size_t)cfg->net < sizeof nets / sizeof nets[0] && nets[cfg->net]
                            ? nets[cfg->net]
                            : "?";
        snprintf(buf, sizeof buf, "it needs the default slirp network, not --net=%s", n);
        why = buf;
    } else if (cfg->bundle)
        why = "an OCI bundle runs without it";
    else
        why = nr_bypass_unsupported();
    if (!why)
        return 0;
    if (!cfg->tcp_bypass_given) {
        cfg->tcp_bypass = false;
        return 0;
    }
    return nr_error_msg(err, "--tcp-bypass: %s", why);
}

int nr_cli_parse_run(int argc, char **argv, NrRunConfig *cfg, NrError *err)
{
    cfg->caps = nr_caps_default();
    const char *ov = getenv("NROOT_OVERLAY");
    if (ov && *ov) {
        int c = parse_choice(find_opt(OPT_OVERLAY), ov, err);
        if (c < 0) {
            nr_error_prefix(err, "$NROOT_OVERLAY");
            return -1;
        }
        cfg->overlay = (NrOverlayMode)c;
    }
    if (default_root_emulation(cfg, err) < 0 || default_tcp_bypass(cfg, err) < 0)
        return -1;
    cfg->net = NR_NET_SLIRP;
    RunCtx ctx = { .cfg = cfg };
    const NrCommand *run = nr_cli_command("run");
    bool ended = false;
    int first = cli_getopt(run, argc, argv, run_option, &ctx, &ended, err);
    /* options between IMAGE and a `--` count as if they came before IMAGE */
    /* with --bundle there is no IMAGE: the first operand is the command */
    int cmd = first >= 0 && first < argc && !cfg->bundle
                  ? cli_trailing(run, argc, argv, first, ended, run_option, &ctx, err)
                  : first;
    if (cmd < 0)
        return cmd == GETOPT_HELP ? NR_CLI_HELP : -1;
    /* docker semantics: drops apply to the default set, adds win over drops,
     * except that --cap-drop=ALL with --cap-add=X keeps only X */
    cfg->caps = ctx.drop_all ? ctx.add : ((cfg->caps & ~ctx.drop) | ctx.add);
    if (cfg->n_ports && cfg->net == NR_NET_CONTAINER)
        return nr_error_msg(err,
                            "--publish cannot be used with --net=container:%s: publish the port "
                            "on '%s' (its published ports serve this container too)",
                            cfg->net_ctr, cfg->net_ctr);
    if (cfg->n_ports && cfg->net != NR_NET_SLIRP && cfg->net != NR_NET_USER)
        return nr_error_msg(err,
                            "--publish needs the slirp network or a user network, not --net=%s",
                            cfg->net == NR_NET_HOST ? "host" : "none");
    if (cfg->net_aliases.n && cfg->net != NR_NET_USER)
        return nr_error_msg(err, "--network-alias needs --net=NAME (a user network)");
    if (check_tcp_bypass(cfg, err) < 0)
        return -1;
    if (cfg->join && cfg->detach)
        return nr_error_msg(err, "--join cannot be used with --detach");
    if (cfg->join_count && !cfg->join)
        return nr_error_msg(err, "--join-count needs --join");
    if (nr_cgroup_check(&cfg->limits, err) < 0)
        return -1;
    if (nr_cli_finish_preserve(&cfg->preserve_fds, &cfg->n_preserve_fds, &cfg->env, cfg->env_host,
                               err) < 0)
        return -1;

    if (cfg->bundle) {
        cfg->image = cfg->bundle;
        cfg->args = cmd < argc ? &argv[cmd] : NULL;
        return NR_CLI_RUN;
    }
    if (first >= argc) {
        nr_error_msg(err, "missing IMAGE");
        nr_error_hint(err, "usage: %s", run->usage);
        return -1;
    }
    cfg->image = argv[first];
    cfg->args = cmd < argc ? &argv[cmd] : NULL;
    return NR_CLI_RUN;
}

int nr_cli_volume(NrRunConfig *cfg, const char *spec, NrError *err)
{
    return nr_cli_parse_volume(cfg, spec, err);
}

static int image_option(void *data, const NrOption *o, const char *arg, NrError *err)
{
    NrImageArgs *a = data;
    int v;
    switch (o->id) {
    case OPT_QUIET:
        a->quiet = true;
        nr_quiet = true;
        return 0;
    case OPT_NAME:
        if (!nr_store_name_valid(arg))
            return nr_error_msg(err,
                                "invalid name '%s': letters, digits, '_', '.', '-', ':' and "
                                "'/', starting with a letter or digit, at most 128",
                                arg);
        a->name = arg;
        return 0;
    case OPT_IMAGE_REF:
        if (!*arg)
            return nr_error_msg(err, "--image-ref needs a NAME[:TAG]");
        a->ref = arg;
        return 0;
    case OPT_USERNS:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        a->userns = (NrUsernsMode)v;
        return 0;
    case OPT_FORMAT:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        if (strcmp(o->values, "tree squashfs") == 0) /* import */
            a->format = arg;
        else
            a->json = v == 1;
        return 0;
    case OPT_NO_TRUNC: a->no_trunc = true; return 0;
    case OPT_FORCE: a->force = true; return 0;
    case OPT_DIGESTS: a->digests = true; return 0;
    case OPT_PULL:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        a->pull = v;
        return 0;
    case OPT_PLATFORM:
        if (check_platform(arg, err) < 0)
            return -1;
        a->platform = arg;
        return 0;
    case OPT_TLS_VERIFY:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        a->tls_no_verify = v == 1;
        return 0;
    }
    return nr_error_msg(err, "option --%s is not handled", o->name);
}

int nr_cli_parse_image(const char *cmd, int argc, char **argv, NrImageArgs *a, NrError *err)
{
    const NrCommand *c = nr_cli_command(cmd);
    int first = cli_getopt(c, argc, argv, image_option, a, NULL, err);
    if (first < 0)
        return first == GETOPT_HELP ? NR_CLI_HELP : -1;
    a->operands = &argv[first];
    a->n_operands = argc - first;
    return NR_CLI_RUN;
}

static int ctr_option(void *data, const NrOption *o, const char *arg, NrError *err)
{
    NrCtrArgs *a = data;
    const char *n = o->name;
    int v;
    if (strcmp(n, "attach") == 0)
        a->attach = true;
    else if (strcmp(n, "interactive") == 0)
        a->interactive = true;
    else if (strcmp(n, "tty") == 0)
        a->tty = true;
    else if (strcmp(n, "follow") == 0)
        a->follow = true;
    else if (strcmp(n, "all") == 0)
        a->all = true;
    else if (strcmp(n, "quiet") == 0)
        a->quiet = true;
    else if (strcmp(n, "no-trunc") == 0)
        a->no_trunc = true;
    else if (strcmp(n, "force") == 0)
        a->force = true;
    else if (strcmp(n, "format") == 0) {
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        if (strcmp(o->values, "tar squashfs") == 0) /* export */
            a->squashfs = v == 1;
        else
            a->json = v == 1;
    } else if (strcmp(n, "time") == 0) {
        uint32_t t;
        if (!nr_parse_u32(arg, &t) || t > 86400 * 365)
            return nr_error_msg(err, "invalid --time '%s': a number of seconds", arg);
        a->time = (int)t;
    } else if (strcmp(n, "output") == 0) {
        if (!*arg)
            return nr_error_msg(err, "--output needs a file name");
        a->output = arg;
    } else if (strcmp(n, "workdir") == 0) {
        if (arg[0] != '/')
            return nr_error_msg(err, "invalid workdir '%s': must be an absolute path", arg);
        a->workdir = arg;
    } else if (strcmp(n, "user") == 0) {
        if (nr_cli_check_user(arg, err) < 0)
            return -1;
        a->user = arg;
    } else if (strcmp(n, "env") == 0)
        return nr_cli_add_env(&a->env, arg, "", err);
    else if (strcmp(n, "env-host") == 0)
        a->env_host = true;
    else if (strcmp(n, "preserve-fds") == 0 || strcmp(n, "preserve-fd") == 0)
        return nr_cli_add_preserve(&a->preserve, &a->n_preserve, arg,
                                   strcmp(n, "preserve-fds") == 0, err);
    else if (strcmp(n, "env-file") == 0)
        return nr_cli_read_env_file(&a->env, arg, err);
    else if (strcmp(n, "tail") == 0) {
        uint32_t t;
        if (!nr_parse_u32(arg, &t))
            return nr_error_msg(err, "invalid --tail '%s': a number of lines", arg);
        a->tail = (long)t;
    } else
        return nr_error_msg(err, "option --%s is not handled", n);
    return 0;
}

int nr_cli_parse_ctr(const char *cmd, int argc, char **argv, NrCtrArgs *a, NrError *err)
{
    const NrCommand *c = nr_cli_command(cmd);
    a->time = -1;
    a->tail = -1;
    bool ended = false;
    int first = cli_getopt(c, argc, argv, ctr_option, a, &ended, err);
    if (first >= 0 && first < argc && takes_command(c)) {
        /* exec: options between CONTAINER and a `--` count as if they came
         * before it; the operands are CONTAINER and the command */
        int command = cli_trailing(c, argc, argv, first, ended, ctr_option, a, err);
        if (command >= 0) {
            argv[command - 1] = argv[first];
            first = command - 1;
        } else
            first = command;
    }
    if (first < 0)
        return first == GETOPT_HELP ? NR_CLI_HELP : -1;
    if (nr_cli_finish_preserve(&a->preserve, &a->n_preserve, &a->env, a->env_host, err) < 0)
        return -1;
    a->operands = &argv[first];
    a->n_operands = argc - first;
    return NR_CLI_RUN;
}

static int login_option(void *data, const NrOption *o, const char *arg, NrError *err)
{
    NrLoginArgs *a = data;
    int v;
    switch (o->id) {
    case OPT_LOGIN_USERNAME: a->username = arg; return 0;
    case OPT_LOGIN_PASSWORD: a->password = arg; return 0;
    case OPT_LOGIN_PASSWORD_STDIN: a->password_stdin = true; return 0;
    case OPT_LOGIN_ALL: a->all = true; return 0;
    case OPT_LOGIN_GET_LOGIN: a->get_login = true; return 0;
    case OPT_LOGIN_AUTHFILE:
        if (!*arg)
            return nr_error_msg(err, "--authfile needs a file name");
        a->authfile = arg;
        return 0;
    case OPT_LOGIN_TLS_VERIFY:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        a->tls_verify = v == 0;
        return 0;
    }
    return nr_error_msg(err, "option --%s is not handled", o->name);
}

int nr_cli_parse_login(const char *cmd, int argc, char **argv, NrLoginArgs *a, NrError *err)
{
    const NrCommand *c = nr_cli_command(cmd);
    a->tls_verify = true;
    int first = cli_getopt(c, argc, argv, login_option, a, NULL, err);
    if (first < 0)
        return first == GETOPT_HELP ? NR_CLI_HELP : -1;
    a->operands = &argv[first];
    a->n_operands = argc - first;
    return NR_CLI_RUN;
}

static int network_option(void *data, const NrOption *o, const char *arg, NrError *err)
{
    NrNetworkArgs *a = data;
    int v;
    switch (o->id) {
    case OPT_NETWORK_SUBNET: a->subnet = arg; return 0;
    case OPT_NETWORK_INTERNAL: a->internal = true; return 0;
    case OPT_QUIET: a->quiet = true; return 0;
    case OPT_FORCE: a->force = true; return 0;
    case OPT_FORMAT:
        if ((v = parse_choice(o, arg, err)) < 0)
            return -1;
        a->json = v == 1;
        return 0;
    }
    return nr_error_msg(err, "option --%s is not handled", o->name);
}

int nr_cli_parse_network(const NrCommand *sub, int argc, char **argv, NrNetworkArgs *a,
                         NrError *err)
{
    memset(a, 0, sizeof *a);
    int first = cli_getopt(sub, argc, argv, network_option, a, NULL, err);
    if (first < 0)
        return first == GETOPT_HELP ? NR_CLI_HELP : -1;
    a->operands = &argv[first];
    a->n_operands = argc - first;
    return NR_CLI_RUN;
}
