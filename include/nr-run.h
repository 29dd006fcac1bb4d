/* nr-run.h — the run plan: pure data, built by the CLI in the parent and
 * executed in the child (which gets a copy through the fork-like clone). */
#pragma once
#include <stdbool.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>

#include "nr-error.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

/* the order of the --net choices in cli.c */
typedef enum NrNetMode { NR_NET_NONE, NR_NET_HOST, NR_NET_SLIRP } NrNetMode;

/* -p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp] */
typedef struct NrPort {
    const char     *spec;        /* as given, for messages */
    int             host_family; /* AF_UNSPEC (all addresses), AF_INET or AF_INET6 */
    struct in_addr  host_addr4;
    struct in6_addr host_addr6;
    uint16_t        host_port, ctr_port;
    bool            udp;
} NrPort;
typedef enum NrOverlayMode { NR_OVERLAY_AUTO, NR_OVERLAY_KERNEL, NR_OVERLAY_FUSE } NrOverlayMode;

typedef struct NrVolume {
    char *src;        /* absolute, resolved host path */
    char *dst;        /* absolute path inside the container */
    bool  ro;
    bool  src_is_dir;
} NrVolume;

typedef struct NrRunConfig {
    const char   *image;        /* as given on the command line */
    const char   *image_ref;    /* --image-ref */
    NrImage       img;          /* the resolved image */
    char         *lower;        /* resolved read-only root directory */
    char        **args;         /* arguments after IMAGE, NULL if none */
    const char   *entrypoint;   /* --entrypoint, NULL if not given */
    char        **argv;         /* command to run: entrypoint + (args or image cmd) */
    NrStrv        env;          /* K=V given with -e/--env-file, in order */
    const char   *workdir;
    const char   *hostname;
    const char   *user;         /* -u spec (or the image's), NULL = mapping default */
    bool          user_from_image; /* unmapped ids fall back to root (single-id map) */
    NrUsernsMode  userns;
    NrIdMap       map;
    NrNetMode     net;
    bool          net_given;    /* --net on the command line (else slirp falls back) */
    bool          host_loopback;
    NrPort       *ports;
    size_t        n_ports;
    NrOverlayMode overlay;
    bool          read_only;
    NrVolume     *volumes;
    size_t        n_volumes;
    uint64_t      caps;         /* bounding set, bit N = capability N */
    char          cid[13];      /* short random container id */
    const char   *scratch;      /* host directory the scratch tmpfs covers */
    bool          pty;          /* -t: a terminal of the container's own, relayed */
    bool          interactive;  /* -i: stdin reaches the payload (else /dev/null) */
    bool          tty;          /* nroot's stdin is a terminal (TERM is passed) */
    const char   *name;         /* --name: a container that keeps its layer */
    bool          detach;       /* -d: in the background, output to its log */
    bool          rm;           /* --rm: remove a named container when it ends */
    char         *ctr_dir;      /* STORE/containers/<name>: upper/ and work/ live there */
    char         *ctr_image;    /* the image as given when the container was made */
    const char   *seccomp_profile; /* --security-opt seccomp=: "unconfined", an absolute
                                    * path to a JSON profile, or NULL: nroot's default */
    struct NrBpf *seccomp;      /* the compiled filter (seccomp.c), NULL: none */
} NrRunConfig;

/* cli.c: one option table per command */
typedef struct NrOption {
    const char *name;
    int         id;       /* getopt value; a printable char is also the short option */
    const char *arg;      /* metavariable, NULL when the option takes none */
    const char *group;
    const char *help;
    const char *values;   /* fixed choices, for help and completion */
} NrOption;

typedef struct NrCommand {
    const char     *name, *usage, *summary, *description;
    const NrOption *opts;
    size_t          n_opts;
} NrCommand;

/* the parsed options of the image commands (import, images, rmi, prune) */
typedef struct NrImageArgs {
    const char   *name, *ref;
    NrUsernsMode  userns;
    bool          quiet, json, no_trunc, force;
    char        **operands;
    int           n_operands;
} NrImageArgs;

/* the parsed options of the container commands (start, stop, exec, ...) */
typedef struct NrCtrArgs {
    bool         attach, interactive, tty, follow, all, quiet, json, no_trunc, force;
    int          time;        /* stop --time, -1 when not given */
    long         tail;        /* logs --tail, -1 when not given */
    const char  *output, *workdir, *user;
    NrStrv       env;
    char       **operands;
    int          n_operands;
} NrCtrArgs;

enum { NR_CLI_RUN = 0, NR_CLI_HELP = 1 };
const NrCommand *nr_cli_command(const char *name);
/* every command, in the order of --help */
const NrCommand *nr_cli_commands(size_t *ret_n);
int  nr_cli_parse_run(int argc, char **argv, NrRunConfig *cfg, NrError *err);
/* the arguments that make `cfg` again, IMAGE replaced by `image_key`:
 * what a named container keeps, for `start` and `exec` */
void nr_cli_run_args(const NrRunConfig *cfg, const char *image_key, NrStrv *out);
int  nr_cli_parse_image(const char *cmd, int argc, char **argv, NrImageArgs *a, NrError *err);
int  nr_cli_parse_ctr(const char *cmd, int argc, char **argv, NrCtrArgs *a, NrError *err);
void nr_cli_main_help(void);
void nr_cli_help(const NrCommand *c);

/* cmd-run.c */
int  nr_cmd_run(int argc, char **argv);
/* run the args a named container recorded (`start`): its IMAGE is an image
 * key, looked up in the store only, never as a path in the working directory */
int  nr_cmd_run_stored(int argc, char **argv);
/* the image's entrypoint, command, working directory and user, unless
 * the command line gave them */
int  nr_run_apply_image(NrRunConfig *cfg, NrError *err);
/* cmd-ctr.c */
int  nr_cmd_start(int argc, char **argv);
int  nr_cmd_stop(int argc, char **argv);
int  nr_cmd_wait(int argc, char **argv);
int  nr_cmd_logs(int argc, char **argv);
int  nr_cmd_ps(int argc, char **argv);
int  nr_cmd_rm(int argc, char **argv);
int  nr_cmd_exec(int argc, char **argv);
int  nr_cmd_export(int argc, char **argv);
/* complete.c: `nroot __complete WORD...` for the shell completions */
int  nr_cmd_complete(int argc, char **argv);
/* cmd-info.c */
int  nr_cmd_info(int argc, char **argv);
/* cmd-image.c */
int  nr_cmd_import(int argc, char **argv);
int  nr_cmd_images(int argc, char **argv);
int  nr_cmd_rmi(int argc, char **argv);
int  nr_cmd_prune(int argc, char **argv);

/* rootfs.c: scratch tmpfs + overlay (kernel or fuse) at <scratch>/root */
int  nr_rootfs_mount(const NrRunConfig *cfg, int sync_fd, char **ret_root, NrError *err);
/* parent, on NR_SYNC_FUSE (#3a): start fuse-overlayfs for the child,
 * outside its pid namespace; returns the daemon's pid (a child of ours) */
struct NrSyncMsg;
pid_t nr_rootfs_fuse_start(const struct NrSyncMsg *req, NrError *err);
/* parent, once the container has ended: flush a kept layer (`keep`), then
 * kill and reap the daemon */
void nr_rootfs_fuse_stop(pid_t pid, const char *scratch, bool keep);
int  nr_rootfs_pivot(const char *root, NrError *err);
/* the overlay that made a named container's layer (AUTO: none yet) */
NrOverlayMode nr_rootfs_layer_overlay(const char *ctr_dir);

/* mounts.c: everything mounted under the new root before pivot_root */
int  nr_mounts_setup(const NrRunConfig *cfg, const char *root, NrError *err);
/* mounts.c: with SYS_ADMIN the payload gets a nested user and mount
 * namespace, in which every mount nroot made is locked by the kernel:
 * the payload's side (just after the fork) and PID 1's (writes its maps,
 * passes both namespaces on to nroot over sync_fd for exec) */
bool nr_mounts_lock_wanted(const NrRunConfig *cfg);
int  nr_mounts_lock_enter(int sock, NrError *err);
void nr_mounts_lock_map(pid_t pid, int sock, int sync_fd);
/* open `path` inside the tree at rootfd, creating it (dir or file) if missing */
int  nr_mounts_open_in_root(int rootfd, const char *path, bool create, bool dir, NrError *err);
/* does `path` exist inside the tree at rootfd (symlinks resolved inside it)? */
bool nr_mounts_exists_in_root(int rootfd, const char *path);

/* net.c: loopback; with slirp, tap0 configured and its fd sent (#3) */
int  nr_net_setup(const NrRunConfig *cfg, int sync_fd, NrError *err);

/* caps.c */
uint64_t nr_caps_default(void);
int  nr_caps_parse(const char *name, uint64_t *ret_mask, NrError *err);
/* "CHOWN" for 0, ...: malloc()ed, NULL if unknown */
char *nr_caps_name(int cap);
/* drop everything outside `caps` from the bounding set (before setuid) */
int  nr_caps_bound(uint64_t caps, NrError *err);
/* permitted = effective = caps, inheritable and ambient empty (after setuid) */
int  nr_caps_set(uint64_t caps, NrError *err);

/* seccomp.c: in the parent, before the clone: cfg->seccomp from the
 * profile, recorded in the container's runtime directory rt_dir (run,
 * start); exec takes the filter its container recorded */
int  nr_seccomp_prepare(NrRunConfig *cfg, const char *rt_dir, NrError *err);
int  nr_seccomp_recorded(NrRunConfig *cfg, const char *rt_dir, NrError *err);
/* in the payload, the last step before exec: load the filters */
int  nr_seccomp_apply(const NrRunConfig *cfg, NrError *err);

/* init.c: the command, in the container: stdio (the terminal `slave` with
 * -t), user, environment, capabilities, seccomp, exec.  Returns only on
 * failure. */
int  nr_init_payload(const NrRunConfig *cfg, int slave, NrError *err);
/* init.c: -t: a pseudo-terminal of the container's devpts; the master goes
 * over `sock` (NR_SYNC_PTY) to the nroot that relays it, the slave is
 * returned */
int  nr_init_open_pty(int sock, NrError *err);
/* init.c: PID 1 of the container; never returns */
__attribute__((noreturn)) void nr_init_main(const NrRunConfig *cfg, int sync_fd);
