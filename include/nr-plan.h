/* SPDX-License-Identifier: Apache-2.0 */
/* nr-plan.h — the run plan: pure data, built by the CLI in the parent and
 * executed in the child (which gets a copy through the fork-like clone).
 * Everything that runs inside the container sees the plan, and nothing of
 * the store's bookkeeping. */
#pragma once
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>

#include "nr-cgroup.h"
#include "nr-devices.h"
#include "nr-image.h"
#include "nr-timens.h"
#include "nr-userns.h"
#include "nr-util.h"

/* the order of the --net choices in cli.c */
typedef enum NrNetMode {
    NR_NET_NONE,
    NR_NET_HOST,
    NR_NET_SLIRP,
    NR_NET_USER,      /* --net=NAME: user networks (networks below; nr-usernet.h) */
    NR_NET_CONTAINER, /* --net=container:NAME (net_ctr below) */
} NrNetMode;

/* -p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp] */
typedef struct NrPort {
    const char *spec; /* as given, for messages */
    int host_family;  /* AF_UNSPEC (all addresses), AF_INET or AF_INET6 */
    struct in_addr host_addr4;
    struct in6_addr host_addr6;
    uint16_t host_port, ctr_port;
    bool udp;
} NrPort;
typedef enum NrOverlayMode { NR_OVERLAY_AUTO, NR_OVERLAY_KERNEL, NR_OVERLAY_FUSE } NrOverlayMode;
/* --root-emulation, in the order of its choices in cli.c; auto is
 * resolved against the id map (nr_rootemu_resolve) before anything records
 * it, so a container's records say on or off */
typedef enum NrRootEmu { NR_ROOTEMU_AUTO, NR_ROOTEMU_ON, NR_ROOTEMU_OFF } NrRootEmu;
/* root emulation's apt drop-in (inside/mounts.c binds it; its mount point
 * is in the skeleton layer, inside/rootfs.c) */
#define NR_ROOTEMU_APT_DIR "etc/apt/apt.conf.d"
#define NR_ROOTEMU_APT_FILE "99nroot-root-emulation"

typedef struct NrVolume {
    char *src; /* absolute, resolved host path */
    char *dst; /* absolute path inside the container */
    bool ro;
    bool src_is_dir;
} NrVolume;

typedef struct NrRunConfig {
    const char *image;      /* as given on the command line */
    const char *image_ref;  /* --image-ref */
    int pull;               /* --pull (NrPullPolicy) */
    const char *platform;   /* --platform */
    bool tls_no_verify;     /* --tls-verify=false */
    NrImage img;            /* the resolved image */
    char *lower;            /* resolved read-only root directory (NULL: squashfs) */
    char *squashfs;         /* or a squashfs file to mount as the lower layer */
    char **args;            /* arguments after IMAGE, NULL if none */
    const char *entrypoint; /* --entrypoint, NULL if not given */
    char **argv;            /* command to run: entrypoint + (args or image cmd) */
    NrStrv env;             /* K=V given with -e/--env-file, in order */
    const char *workdir;
    const char *hostname;
    const char *user;     /* -u spec (or the image's), NULL = mapping default */
    bool user_from_image; /* unmapped ids fall back to root (single-id map) */
    NrUsernsMode userns;
    NrIdMap map;
    NrNetMode net;
    bool net_given; /* --net on the command line (else slirp falls back) */
    /* --net=container:NAME: NAME (or ID) of the running container whose
     * network namespace this one joins, and that container's own network
     * (slirp or none: its resolv.conf is this one's) */
    const char *net_ctr;
    NrNetMode net_shared;
    NrStrv networks;    /* --net=NAME (NR_NET_USER): eth0, eth1, ... in order */
    NrStrv net_aliases; /* --network-alias: more names on those networks */
    bool host_loopback;
    bool tcp_bypass;       /* --tcp-bypass (host/bypass.c) */
    bool tcp_bypass_given; /* on the command line (else nroot.conf's) */
    struct NrBpf *bypass;  /* its filter, NULL: none */
    NrPort *ports;
    size_t n_ports;
    NrOverlayMode overlay;
    bool read_only;
    NrVolume *volumes;
    size_t n_volumes;
    uint64_t caps;               /* bounding set, bit N = capability N */
    char cid[13];                /* short random container id */
    const char *scratch;         /* host directory the scratch tmpfs covers */
    bool pty;                    /* -t: a terminal of the container's own, relayed */
    bool interactive;            /* -i: stdin reaches the payload (else /dev/null) */
    bool tty;                    /* nroot's stdin is a terminal (TERM is passed) */
    const char *name;            /* --name: a container that keeps its layer */
    bool detach;                 /* -d: in the background, output to its log */
    bool rm;                     /* --rm: remove a named container when it ends */
    char *ctr_dir;               /* STORE/containers/<name>: upper/ and work/ live there */
    char *ctr_image;             /* the image as given when the container was made */
    const char *seccomp_profile; /* --security-opt seccomp=: "unconfined", an absolute
                                    * path to a JSON profile, or NULL: nroot's default */
    struct NrBpf *seccomp;       /* the compiled filter (seccomp.c), NULL: none */
    NrRootEmu root_emulation;    /* --root-emulation (seccomp/rootemu.c) */
    struct NrBpf *rootemu;       /* its filter, stacked after the profile, NULL: none */
    bool env_host;               /* --env-host: the host's environment, under the image's */
    int *preserve_fds;           /* --preserve-fds/--preserve-fd/PMI_FD: fds the command gets at
                                  * their own numbers, sorted, unique */
    size_t n_preserve_fds;
    bool join;            /* --join: a container shared by the processes of one key */
    const char *join_key; /* its KEY, NULL: the default (Slurm's step) */
    unsigned join_count;  /* --join-count: participants to wait for, 0: unknown */
    NrStrv devices;       /* --device, --gpus: CDI names or host paths, in order (cdi.c) */
    NrDevices dev;        /* what they resolve to, applied by the child (devices.c) */
    const char *bundle;   /* --bundle: an OCI bundle's directory instead of IMAGE */
    /* an OCI bundle's spec (nr-oci.h; oci/plan.c made this plan from it),
     * applied by the child as runc does (inside/oci.c); NULL: an image */
    const struct NrOciSpec *oci;
    /* `nroot oci create`: ROOT/ID/exec.fifo, the start gate (PID 1 waits
     * on it before it forks the command; nroot leaves once it waits and
     * the container outlives it); NULL: none */
    const char *oci_fifo;
    const char *console_socket; /* --console-socket: the terminal's master goes there */
    /* `nroot oci exec -d` (runc's -d): the command gets the caller's stdio
     * (no relay), does not die with nroot, and nroot returns once it
     * exec'd: it is then the child of the caller's subreaper (conmon) */
    bool exec_detach;
    /* --time-offset (or an OCI bundle's linux.timeOffsets): with any, the
     * container gets a time namespace of its own (nr-timens.h) */
    NrTimeOffsets time_offsets;
    NrLimits limits; /* --memory, --cpus, --pids-limit...: a cgroup (host/cgroup.c) */
} NrRunConfig;
