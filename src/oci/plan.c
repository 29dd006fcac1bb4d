/* SPDX-License-Identifier: Apache-2.0 */
/* plan.c — an OCI bundle's spec as nroot's run plan.  The child applies
 * the spec itself (inside/oci.c); this file makes what the parent needs
 * of it (the id map, the namespaces, the command, the hooks) and refuses,
 * as one line before anything starts, what a rootless nroot cannot do:
 * ids that are not the caller's, a spec without a user namespace (but
 * where root of the current one runs it), a sysctl of the host's. */
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "nr-caps.h"
#include "nr-oci.h"
#include "nr-plan.h"
#include "nr-userns.h"
#include "nr-util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const NrOciNs *find_ns(const NrOciSpec *spec, int type)
{
    for (size_t i = 0; i < spec->n_ns; i++)
        if (spec->ns[i].type == type)
            return &spec->ns[i];
    return NULL;
}

unsigned long nr_oci_clone_flags(const NrOciSpec *spec)
{
    unsigned long flags = 0;
    for (size_t i = 0; i < spec->n_ns; i++)
        if (!spec->ns[i].path)
            flags |= (unsigned long)spec->ns[i].type;
    return flags;
}

/* one range is the caller's own id, or inside its subordinate range */
static bool range_ok(const NrIdRange *r, uint32_t own, bool has_sub, uint32_t start, uint32_t count)
{
    if (r->outside == own && r->count == 1)
        return true;
    return has_sub && r->outside >= start && r->count <= count &&
           r->outside - start <= count - r->count;
}

static int check_ranges(const char *field, const NrIdRange *r, int n, uint32_t own, bool has_sub,
                        uint32_t start, uint32_t count, const char *file, NrError *err)
{
    for (int i = 0; i < n; i++) {
        if (range_ok(&r[i], own, has_sub, start, count))
            continue;
        char sub[96] = ", and you have no subordinate range";
        if (has_sub)
            snprintf(sub, sizeof sub, ", your subordinate range in %s is %u-%u", file, start,
                     start + count - 1);
        nr_error_msg(err,
                     "config.json: linux.%s: the range %u %u %u (container, host, size) is "
                     "not yours: your id is %u%s",
                     field, r[i].inside, r[i].outside, r[i].count, own, sub);
        return -1;
    }
    return 0;
}

/* linux.uidMappings/gidMappings: `0 UID 1` (or none) is the single-id
 * rung, written by nroot itself; ranges of the caller's own id and
 * subordinate ranges go through newuidmap/newgidmap, exactly as given */
static int plan_map(const NrOciSpec *spec, NrIdMap *m, NrError *err)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    memset(m, 0, sizeof *m);
    snprintf(m->tag, sizeof m->tag, "oci");
    if (!spec->n_uid_map != !spec->n_gid_map)
        return nr_error_msg(err, "config.json: linux.%s is missing (give both or neither)",
                            spec->n_uid_map ? "gidMappings" : "uidMappings");
    bool single =
        !spec->n_uid_map || (spec->n_uid_map == 1 && spec->n_gid_map == 1 &&
                             spec->uid_map[0].count == 1 && spec->gid_map[0].count == 1 &&
                             spec->uid_map[0].outside == uid && spec->gid_map[0].outside == gid);
    if (single) {
        m->n_uid = m->n_gid = 1;
        m->uid[0] = (NrIdRange){ spec->n_uid_map ? spec->uid_map[0].inside : 0, uid, 1 };
        m->gid[0] = (NrIdRange){ spec->n_gid_map ? spec->gid_map[0].inside : 0, gid, 1 };
        m->user_uid = m->uid[0].inside;
        m->user_gid = m->gid[0].inside;
        m->rung = "single";
        return 0;
    }
    struct passwd *pw = getpwuid(uid);
    NrSubids s;
    nr_userns_subids(pw ? pw->pw_name : NULL, uid, &s);
    char from[128];
    if (check_ranges("uidMappings", spec->uid_map, spec->n_uid_map, uid, s.has_uid, s.uid_start,
                     s.uid_count, nr_userns_subid_from(&s, false, from, sizeof from), err) < 0 ||
        check_ranges("gidMappings", spec->gid_map, spec->n_gid_map, gid, s.has_gid, s.gid_start,
                     s.gid_count, nr_userns_subid_from(&s, true, from, sizeof from), err) < 0)
        return -1;
    const char *why = NULL;
    if (!nr_userns_find_helper("newuidmap", m->newuidmap, sizeof m->newuidmap, &why) ||
        !nr_userns_find_helper("newgidmap", m->newgidmap, sizeof m->newgidmap, &why)) {
        return nr_error_msg(err,
                            "config.json: linux.uidMappings and gidMappings of more than your "
                            "own id need newuidmap and newgidmap (the package uidmap): %s",
                            why ? why : "not found");
    }
    m->helpers = true;
    m->n_uid = spec->n_uid_map;
    m->n_gid = spec->n_gid_map;
    memcpy(m->uid, spec->uid_map, sizeof m->uid);
    memcpy(m->gid, spec->gid_map, sizeof m->gid);
    m->user_uid = spec->uid;
    m->user_gid = spec->gid;
    m->rung = "subids";
    return 0;
}

/* linux.sysctl: only the keys of a namespace the container has of its
 * own (as runc judges them) */
static int check_sysctl(const NrOciSpec *spec, NrError *err)
{
    static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                       "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                       "kernel.shmmni", "kernel.shm_rmid_forced" };
    for (char **kv = spec->sysctl; *kv; kv++) {
        size_t klen = strcspn(*kv, "=");
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(klen < sizeof key ? klen : sizeof key - 1), *kv);
        int need = 0;
        for (size_t i = 0; i < sizeof ipc / sizeof ipc[0]; i++)
            if (strcmp(key, ipc[i]) == 0)
                need = CLONE_NEWIPC;
        if (strncmp(key, "fs.mqueue.", 10) == 0)
            need = CLONE_NEWIPC;
        if (strncmp(key, "net.", 4) == 0)
            need = CLONE_NEWNET;
        if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
            need = CLONE_NEWUTS;
        if (!need)
            return nr_error_msg(err,
                                "config.json: linux.sysctl: '%s' is not a namespaced sysctl: it "
                                "would change the host",
                                key);
        if (!find_ns(spec, need))
            return nr_error_msg(err,
                                "config.json: linux.sysctl: '%s' needs a %s namespace of the "
                                "container's own",
                                key,
                                need == CLONE_NEWIPC   ? "ipc"
                                : need == CLONE_NEWNET ? "network"
                                                       : "uts");
        if (strchr(key, '/') || strstr(key, ".."))
            return nr_error_msg(err, "config.json: linux.sysctl: invalid key '%s'", key);
    }
    return 0;
}

/* is this process root with the rights to map ids and mount in its user
 * namespace (uid 0 of a rootless podman's, or the host's root)? */
static bool privileged(void)
{
    if (geteuid() != 0)
        return false;
    cap_t caps = cap_get_proc();
    if (!caps)
        return false;
    static const cap_value_t need[] = { CAP_SETUID, CAP_SETGID, CAP_SYS_ADMIN };
    bool ok = true;
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        cap_flag_value_t v = CAP_CLEAR;
        if (cap_get_flag(caps, need[i], CAP_EFFECTIVE, &v) < 0 || v != CAP_SET)
            ok = false;
    }
    cap_free(caps);
    return ok;
}

/* the ids of this process's user namespace, as its uid_map or gid_map
 * lists them, mapped onto themselves, range by range: adjacent ranges are
 * not joined, the kernel takes a range of the child's map only within one
 * range of the parent's (podman's "0 UID 1" and "1 SUBUID 65536") */
static int identity_map(const char *file, NrIdRange *r, int *n, NrError *err)
{
    if (nr_userns_read_map(file, r, n, err) < 0)
        return -1;
    for (int i = 0; i < *n; i++)
        r[i].outside = r[i].inside;
    return 0;
}

/* a spec without a user namespace, run by root of a user namespace (a
 * rootless podman's conmon runs its runtime so): the container gets one
 * anyway, mapping every id of the current one onto itself, written by
 * nroot (root there may) -- the same ids, files and groups as runc's run
 * in the current namespace, and nroot's one way of building a container */
static int plan_identity(NrIdMap *m, NrError *err)
{
    memset(m, 0, sizeof *m);
    snprintf(m->tag, sizeof m->tag, "oci-identity");
    if (identity_map("/proc/self/uid_map", m->uid, &m->n_uid, err) < 0 ||
        identity_map("/proc/self/gid_map", m->gid, &m->n_gid, err) < 0)
        return -1;
    m->setgroups = true;
    m->rung = "identity";
    return 0;
}

/* a user namespace given by path: nroot joins it before the clone (where
 * the caller may: one it owns, e.g. another container's) and makes none;
 * linux.uidMappings/gidMappings describe that namespace, as runc reads
 * them, and are not written */
static void plan_joined(NrIdMap *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->tag, sizeof m->tag, "oci-joined");
    m->joined = true;
    m->setgroups = true;
    m->rung = "joined";
}

static int check_namespaces(const NrOciSpec *spec, NrError *err)
{
    const NrOciNs *user = find_ns(spec, CLONE_NEWUSER), *mnt = find_ns(spec, CLONE_NEWNS);
    if (!user && !privileged()) {
        return nr_error_msg(err, "config.json: linux.namespaces has no user namespace: a "
                                 "rootless container needs one ('runc spec --rootless' writes it)");
    }
    if (!mnt || mnt->path)
        return nr_error_msg(err, "config.json: linux.namespaces: a rootless container needs a "
                                 "mount namespace of its own");
    for (size_t i = 0; i < spec->n_ns; i++)
        if (spec->ns[i].path && spec->ns[i].path[0] != '/')
            return nr_error_msg(err, "config.json: linux.namespaces: the path '%s' is not absolute",
                                spec->ns[i].path);
    const NrOciNs *uts = find_ns(spec, CLONE_NEWUTS);
    if ((spec->hostname || spec->domainname) && (!uts || uts->path))
        return nr_error_msg(err, "config.json: %s needs a uts namespace of the container's own",
                            spec->hostname ? "hostname" : "domainname");
    const NrOciNs *time = find_ns(spec, CLONE_NEWTIME);
    if (nr_timens_any(&spec->time_offsets) && (!time || time->path))
        return nr_error_msg(err, "config.json: linux.timeOffsets needs a time namespace of the "
                                 "container's own");
    if (time && !nr_timens_supported())
        return nr_error_msg(err,
                            "config.json: linux.namespaces: this kernel has no time namespaces "
                            "(Linux 5.6 or later with CONFIG_TIME_NS)");
    return nr_timens_check(&spec->time_offsets, "config.json: linux.timeOffsets", err);
}

int nr_oci_plan(NrRunConfig *cfg, const NrOciSpec *spec, char **args, NrError *err)
{
    const NrOciNs *user = find_ns(spec, CLONE_NEWUSER);
    if (check_namespaces(spec, err) < 0 || check_sysctl(spec, err) < 0)
        return -1;
    if (user && user->path)
        plan_joined(&cfg->map);
    else if ((user ? plan_map(spec, &cfg->map, err) : plan_identity(&cfg->map, err)) < 0)
        return -1;
    /* (the kernel judges the ids of a joined namespace: its map is not ours to read) */
    if (!cfg->map.joined && (!nr_userns_uid_mapped(&cfg->map, spec->uid) ||
                             !nr_userns_gid_mapped(&cfg->map, spec->gid)))
        return nr_error_msg(err,
                            "config.json: process.user %u:%u is not mapped by "
                            "linux.uidMappings/gidMappings",
                            (unsigned)spec->uid, (unsigned)spec->gid);
    for (size_t i = 0; i < spec->n_gids; i++) {
        if (cfg->map.joined)
            continue;
        if (!cfg->map.helpers && !cfg->map.setgroups)
            return nr_error_msg(err, "config.json: process.user.additionalGids needs gid ranges "
                                     "written by newgidmap (a single-id map denies setgroups)");
        if (!nr_userns_gid_mapped(&cfg->map, spec->gids[i]))
            return nr_error_msg(err,
                                "config.json: process.user.additionalGids: %u is not mapped by "
                                "linux.gidMappings",
                                (unsigned)spec->gids[i]);
    }
    cfg->userns = cfg->map.helpers || cfg->map.setgroups ? NR_USERNS_SUBIDS : NR_USERNS_SINGLE;
    cfg->argv = args && *args ? args : spec->args;
    cfg->lower = spec->root;
    cfg->read_only = spec->root_ro;
    cfg->hostname = spec->hostname;
    cfg->time_offsets = spec->time_offsets;
    cfg->workdir = spec->cwd;
    const NrOciNs *net = find_ns(spec, CLONE_NEWNET);
    cfg->net = net && !net->path ? NR_NET_NONE : NR_NET_HOST;
    cfg->caps = spec->caps_given ? spec->caps[NR_OCI_CAP_BOUNDING] : nr_caps_default();
    cfg->seccomp = spec->seccomp;
    cfg->rootemu = NULL;
    cfg->root_emulation = NR_ROOTEMU_OFF;
    cfg->pty = cfg->pty || spec->terminal;
    cfg->interactive = true; /* as runc: the caller's stdin is the process's */
    cfg->dev.hooks = spec->hooks;
    cfg->dev.n_hooks = spec->n_hooks;
    cfg->dev.bundle = spec->bundle;
    cfg->dev.annotations = spec->annotations;
    cfg->oci = spec;
    return 0;
}
