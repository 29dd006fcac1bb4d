/* SPDX-License-Identifier: Apache-2.0 */
/* nr-userns.h — subordinate id ranges and the id-map ladder (HACKING.md, "The id-map ladder"). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "nr-error.h"

typedef enum NrUsernsMode {
    NR_USERNS_AUTO,   /* full range if granted, else single id with a notice */
    NR_USERNS_SUBIDS, /* full range required */
    NR_USERNS_SINGLE, /* single id, silently */
    NR_USERNS_KEEPID, /* caller's own uid/gid inside */
} NrUsernsMode;

typedef struct NrIdRange {
    uint32_t inside, outside, count;
} NrIdRange;

#define NR_MAX_RANGES 3

typedef struct NrIdMap {
    bool helpers;        /* written with newuidmap/newgidmap */
    bool setgroups;      /* written directly by a process privileged over the
                          * parent namespace: setgroups stays allowed */
    bool joined;         /* an existing user namespace, joined by nroot before
                          * the clone (an OCI spec's path): none is made, no
                          * map written; uid/gid are its map, as read */
    bool direct;         /* written directly by nroot, which joined the user
                          * namespace of the network holder (nr_userns_join):
                          * uid/gid are in that namespace's ids, the map of
                          * the same host ids as planned (tag unchanged) */
    char newuidmap[256]; /* their absolute paths, found in PATH */
    char newgidmap[256];
    NrIdRange uid[NR_MAX_RANGES];
    NrIdRange gid[NR_MAX_RANGES];
    int n_uid, n_gid;
    uid_t user_uid; /* default uid of the payload, inside */
    gid_t user_gid;
    char tag[17];     /* identifies the on-disk ownership of images */
    const char *rung; /* "subids", "single", "keep-id", ... */
} NrIdMap;

/* Choose a mapping for `mode`.  May print the single-id notice, unless
 * NR_USERNS_QUIET (the mapping is wanted for something other than a run:
 * removing files, entering a running container); NR_USERNS_ROOTEMU: the
 * notice says root emulation is on (the run's --root-emulation is not off). */
#define NR_USERNS_QUIET 1u
#define NR_USERNS_ROOTEMU 2u
int nr_userns_plan(NrUsernsMode mode, unsigned flags, NrIdMap *ret_map, NrError *err);
/* what nr_userns_plan finds on the machine, and plans from */
typedef struct NrIdHost {
    uid_t uid;
    gid_t gid;
    const char *user;            /* the caller's name; NULL: not in passwd */
    bool has_subuid, has_subgid; /* a range in /etc/subuid, /etc/subgid */
    const char *subid_module;    /* or from this nsswitch module; NULL: the files */
    uint32_t subuid_start, subuid_count, subgid_start, subgid_count;
    bool helpers;                        /* ranges, and newuidmap and newgidmap usable */
    const char *why_uidmap, *why_gidmap; /* why newuidmap (newgidmap) is not */
    bool quiet;                          /* no single-id notice (NR_USERNS_QUIET) */
    bool rootemu;                        /* the notice says root emulation (NR_USERNS_ROOTEMU) */
} NrIdHost;
/* the mapping for `mode` on such a machine, without the helpers' paths
 * (pure but for the single-id notice) */
int nr_userns_plan_host(NrUsernsMode mode, const NrIdHost *host, NrIdMap *ret_map, NrError *err);
/* Join the user namespace behind `fd` (one the caller owns: the network
 * holder's, nr-usernet.h) for the rest of this process: every map planned
 * afterwards (and `map`, planned before) is translated into its ids and
 * written directly.  Fails (125) when `map` needs an id the namespace does
 * not map. */
int nr_userns_join(int fd, NrIdMap *map, NrError *err);
/* the same for a namespace known to map the host ids of `map` onto
 * themselves, setgroups allowed or not (the keeper's, which says so):
 * nothing is read from /proc */
int nr_userns_join_identity(int fd, NrIdMap *map, bool setgroups, NrError *err);
/* Move this process into a new user namespace mapped as `map` (host ids;
 * newuidmap/newgidmap run by a child left outside, or the single id
 * written).  The process must be single-threaded. */
int nr_userns_unshare(const NrIdMap *map, NrError *err);
/* the ranges of `map` as one line ("u IN OUT N ...;g IN OUT N ..."): two
 * maps are the same ids when their lines are equal */
void nr_userns_map_text(const NrIdMap *map, char *buf, size_t size);
/* `map` (host ids) in the ids of a namespace whose uid_map/gid_map lines
 * are `uid`/`gid` (inside, outside=host, count): pure */
int nr_userns_translate(NrIdMap *map, const NrIdRange *uid, int n_uid, const NrIdRange *gid,
                        int n_gid, bool setgroups, NrError *err);
/* The mapping used to unpack images for runs with `map` (ownership on disk). */
void nr_userns_unpack_map(const NrIdMap *map, NrIdMap *ret_map);
/* Write uid_map/gid_map (and setgroups) of process `pid`; after
 * nr_userns_enter, the identity of the map's inside ids, directly. */
int nr_userns_write_maps(pid_t pid, const NrIdMap *map, NrError *err);
bool nr_userns_uid_mapped(const NrIdMap *map, uint32_t uid);
bool nr_userns_gid_mapped(const NrIdMap *map, uint32_t gid);
/* fail, naming `user` and the mapping, unless uid and gid (-1: unknown,
 * not checked) are mapped */
int nr_userns_check_ids(const NrIdMap *map, const char *user, long uid, long gid, NrError *err);
/* the ranges of a uid_map or gid_map file (/proc/PID/uid_map: as seen
 * from this process's user namespace), at most NR_MAX_RANGES */
int nr_userns_read_map(const char *file, NrIdRange *r, int *ret_n, NrError *err);
/* does `outer` map every id of `inner` (inside -> outside) the same, each
 * range of inner within one range of outer?  (a namespace nested in
 * outer's with inner's ids as an identity map gets the same host ids) */
bool nr_userns_map_covers(const NrIdRange *outer, int n_outer, const NrIdRange *inner, int n_inner);
/* join another container's user namespace (fd), for good: nroot gets all
 * the rights there, and the namespaces it makes after are children of it,
 * their maps written as identities (nr_userns_write_maps) */
int nr_userns_enter(int fd, NrError *err);
/* has this process done so? */
bool nr_userns_entered(void);
/* The first subordinate range of the caller in FILE (/etc/subuid, /etc/subgid). */
bool nr_userns_subid_range(const char *file, const char *user, uid_t id, uint32_t *ret_start,
                           uint32_t *ret_count);
/* the same from the text of such a file: the first line "NAME:START:COUNT"
 * whose NAME is `user` or the number `id`, COUNT not 0 */
bool nr_userns_subid_scan(FILE *f, const char *user, uid_t id, uint32_t *ret_start,
                          uint32_t *ret_count);

/* where the caller's subordinate ranges came from (src/ns/subid.c) */
typedef enum NrSubidSource {
    NR_SUBID_PARSER, /* nroot read /etc/subuid and /etc/subgid itself */
    NR_SUBID_FILES,  /* libsubid read them: its nsswitch module could not be used */
    NR_SUBID_NSS,    /* libsubid asked the nsswitch module `module` */
} NrSubidSource;
typedef struct NrSubids {
    NrSubidSource source;
    char module[64]; /* the `subid:` module of /etc/nsswitch.conf; "" none */
    char why[256];   /* why libsubid did not answer, or not from its module */
    bool has_uid, has_gid;
    uint32_t uid_start, uid_count, gid_start, gid_count;
} NrSubids;
/* The caller's first subordinate uid and gid ranges: through libsubid
 * (dlopen()ed) when /etc/nsswitch.conf names a `subid:` module other than
 * files, else, or when libsubid is missing or fails, from the files. */
void nr_userns_subids(const char *user, uid_t uid, NrSubids *ret);
/* the module of the first `subid:` line of nsswitch.conf text, as libsubid
 * reads it; false if none (or too long for `size`) */
bool nr_userns_nss_subid(FILE *f, char *ret_module, size_t size);
/* "nss module NAME" or the file (/etc/subuid, /etc/subgid) the range is from */
const char *nr_userns_subid_from(const NrSubids *s, bool gid, char *buf, size_t size);
/* an executable in PATH that can map ids for us: setuid root or with file
 * capabilities; else false with the reason in *why */
bool nr_userns_find_helper(const char *name, char *ret_path, size_t size, const char **why);
/* an executable in PATH */
bool nr_userns_find_program(const char *name, char *ret_path, size_t size, const char **why);
/* the FUSE server for squashfs images: nroot's own nroot-squashfs (a
 * helper, $NROOT_SQUASHFS or beside nroot), else squashfuse_ll in PATH.
 * Returns its name with its path in ret_path, or NULL with *why. */
const char *nr_userns_find_squashfs(char *ret_path, size_t size, const char **why);
