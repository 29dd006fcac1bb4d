/* SPDX-License-Identifier: Apache-2.0 */
/* nr-oci.h — an OCI bundle: a directory holding config.json (the OCI
 * runtime specification, 1.0 to 1.2) and a root file system.  nroot-unpack
 * --oci-spec parses and checks the JSON and compiles its seccomp object
 * (unpack/ocispec.c; the launcher links no JSON parser); the launcher reads
 * what it wrote (oci/spec.c) into an NrOciSpec, plain data of the plan that
 * the child applies.  The records between the two are described in
 * HACKING.md, "The OCI records". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-hook.h"
#include "nr-timens.h"
#include "nr-userns.h"

/* process.capabilities' five sets, in this order (NrOciSpec.caps[]) */
typedef enum NrOciCapSet {
    NR_OCI_CAP_BOUNDING,
    NR_OCI_CAP_EFFECTIVE,
    NR_OCI_CAP_INHERITABLE,
    NR_OCI_CAP_PERMITTED,
    NR_OCI_CAP_AMBIENT,
    NR_OCI_CAP_SETS
} NrOciCapSet;

/* mounts[]: as given; the child parses the options (bind, rbind, ro,
 * nosuid, propagation, tmpfs data, ...) where it applies them */
typedef struct NrOciMount {
    char *dst;      /* absolute, inside the container */
    char *type;     /* "" when absent (a bind) */
    char *src;      /* "" when absent */
    char **options; /* NULL-terminated, never NULL */
} NrOciMount;

/* linux.namespaces[] */
typedef struct NrOciNs {
    int type;   /* CLONE_NEWPID, CLONE_NEWNET, ... CLONE_NEWTIME */
    char *path; /* join this one, NULL: a new one */
} NrOciNs;

/* process.rlimits[] */
typedef struct NrOciRlimit {
    int resource; /* RLIMIT_* */
    uint64_t soft, hard;
} NrOciRlimit;

/* linux.devices[] */
typedef struct NrOciDevice {
    char type;  /* 'c', 'b', 'u' (as c), 'p' (a fifo) */
    char *path; /* absolute, inside the container */
    uint32_t major, minor;
    bool has_mode, has_uid, has_gid;
    mode_t mode; /* permission bits */
    uid_t uid;
    gid_t gid;
} NrOciDevice;

typedef struct NrOciSpec {
    char *version; /* ociVersion */
    char *bundle;  /* absolute, resolved */
    /* process */
    char **args; /* NULL-terminated, at least one */
    char **env;  /* NULL-terminated K=V, never NULL */
    char *cwd;   /* absolute */
    uid_t uid;
    gid_t gid;
    gid_t *gids; /* additionalGids */
    size_t n_gids;
    int umask; /* -1: not given (0022, as runc) */
    bool terminal;
    unsigned console_height, console_width; /* 0: not given */
    bool caps_given;                        /* process.capabilities present */
    uint64_t caps[NR_OCI_CAP_SETS];         /* bit N = capability N */
    NrOciRlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privs;
    bool has_oom;
    int oom_score_adj;
    /* root, names */
    char *root; /* absolute, resolved: inside the bundle, or as given */
    bool root_ro;
    char *hostname;   /* NULL: not given */
    char *domainname; /* NULL: not given */
    /* mounts, in order */
    NrOciMount *mounts;
    size_t n_mounts;
    /* linux */
    NrOciNs *ns;
    size_t n_ns;
    NrIdRange uid_map[NR_MAX_RANGES], gid_map[NR_MAX_RANGES];
    int n_uid_map, n_gid_map; /* more than NR_MAX_RANGES ranges: refused */
    char **masked;            /* NULL-terminated, never NULL */
    char **readonly;          /* NULL-terminated, never NULL */
    char **sysctl;            /* NULL-terminated "key=value", sorted, never NULL */
    NrOciDevice *devices;
    size_t n_devices;
    NrTimeOffsets time_offsets;       /* linux.timeOffsets (nr-timens.h) */
    unsigned long rootfs_propagation; /* MS_SHARED|MS_REC ..., 0: not given */
    struct NrBpf *seccomp;            /* linux.seccomp compiled, NULL: none */
    bool has_seccomp;                 /* a `seccomp` record: nr_oci_load reads the program */
    uint32_t seccomp_flags;           /* SECCOMP_FILTER_FLAG_* to load it with */
    NrHook *hooks;                    /* in stage order, each stage in the spec's order */
    size_t n_hooks;
    char **annotations; /* NULL-terminated "key=value", sorted, never NULL */
    char **warnings;    /* NULL-terminated: fields not applied, one line each */
    /* nr_oci_load's: the helper's output as it was, for nr_oci_save */
    char *saved_records, *saved_program;
    size_t saved_records_len, saved_program_len;
} NrOciSpec;

/* linux.namespaces[].type -> CLONE_NEW*, 0 if unknown; process.rlimits[].type
 * (RLIMIT_NOFILE) -> RLIMIT_*, -1 if unknown: both binaries judge the names
 * with these tables */
static inline int nr_oci_ns_type(const char *name)
{
    static const struct {
        const char *name;
        int flag;
    } t[] = { { "pid", CLONE_NEWPID },       { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
              { "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS },     { "user", CLONE_NEWUSER },
              { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME } };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].flag;
    return 0;
}

static inline int nr_oci_rlimit_type(const char *name)
{
    static const struct {
        const char *name;
        int resource;
    } t[] = { { "RLIMIT_AS", RLIMIT_AS },
              { "RLIMIT_CORE", RLIMIT_CORE },
              { "RLIMIT_CPU", RLIMIT_CPU },
              { "RLIMIT_DATA", RLIMIT_DATA },
              { "RLIMIT_FSIZE", RLIMIT_FSIZE },
              { "RLIMIT_LOCKS", RLIMIT_LOCKS },
              { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
              { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
              { "RLIMIT_NICE", RLIMIT_NICE },
              { "RLIMIT_NOFILE", RLIMIT_NOFILE },
              { "RLIMIT_NPROC", RLIMIT_NPROC },
              { "RLIMIT_RSS", RLIMIT_RSS },
              { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
              { "RLIMIT_RTTIME", RLIMIT_RTTIME },
              { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
              { "RLIMIT_STACK", RLIMIT_STACK } };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, name) == 0)
            return (int)t[i].resource;
    return -1;
}

/* is `path` a bundle: a directory with a regular file config.json (a
 * symlink to one counts, as for runc) */
bool nr_oci_is_bundle(const char *path);

/* read the bundle at `dir`: run nroot-unpack --oci-spec (found as for
 * imports, $NROOT_UNPACK first) and read its records and seccomp program;
 * the seccomp rules' includes/excludes of capabilities are judged against
 * the spec's bounding set.  On failure err holds the helper's one line. */
int nr_oci_load(const char *dir, NrOciSpec **ret_spec, NrError *err);

/* `nroot oci create` keeps the spec of create, as runc keeps its config,
 * so that exec does not read config.json again (an edit of it, by the host
 * or by a container whose root is the bundle, changes no later process):
 * nr_oci_save writes what nr_oci_load read (the records, the seccomp
 * program) into the directory `dir` (the caller's: ROOT/ID), each file
 * made new (O_EXCL, O_NOFOLLOW, 0600) then renamed into place;
 * nr_oci_load_saved reads them back, as nr_oci_load would (the root and
 * the bundle as resolved at create).  A spec without them: an error. */
int nr_oci_save(const NrOciSpec *spec, const char *dir, NrError *err);
int nr_oci_load_saved(const char *dir, NrOciSpec **ret_spec, NrError *err);

/* the records in text[0 .. len) (HACKING.md, "The OCI records") into *spec (zeroed first);
 * a pure function for the unit tests.  The seccomp program is not among
 * them: nr_oci_load adds it (has_seccomp, seccomp_flags say there is one);
 * the `seccomp` record's note becomes a warning.  On failure *spec holds
 * nothing (nr_oci_clear'ed); on success nr_oci_clear it. */
int nr_oci_parse_records(const char *text, size_t len, NrOciSpec *spec, NrError *err);

/* oci/plan.c: the run plan of `spec` in *cfg (the CLI's, with no option
 * that the spec decides): the id map from linux.uidMappings/gidMappings,
 * the command (`args`, when not NULL, replaces process.args), the network
 * (lo only), the seccomp program, the hooks; what nroot cannot apply
 * rootless is refused here, one line naming config.json's field */
struct NrRunConfig;
int nr_oci_plan(struct NrRunConfig *cfg, const NrOciSpec *spec, char **args, NrError *err);
/* the CLONE_NEW* flags of the namespaces the spec makes (those with a
 * `path` are joined by the child instead) */
unsigned long nr_oci_clone_flags(const NrOciSpec *spec);

/* free what *spec holds (it is zeroed, umask -1); nr_oci_free frees the
 * spec itself too (nr_oci_load's, NULL is fine) */
void nr_oci_clear(NrOciSpec *spec);
void nr_oci_free(NrOciSpec *spec);
