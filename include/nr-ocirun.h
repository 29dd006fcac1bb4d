/* SPDX-License-Identifier: Apache-2.0 */
/* nr-ocirun.h — an OCI bundle's spec (cfg->oci, nr-oci.h) applied in the
 * container (inside/oci.c), rootless, as runc applies it. */
#pragma once
#include "nr-error.h"
#include "nr-oci.h"
#include "nr-plan.h"

/* linux.namespaces[].path: opened by the parent before the clone (a
 * /proc/PID/ns file of a process outside the new user namespace cannot be
 * opened from inside it), fds[i] for ns[i] or -1 (fds has spec->n_ns
 * entries); joined by the child first of all (setns; one it is in already,
 * the host's, is not joined again), before it closes the fds it does not
 * keep; closed by the parent after the clone */
int nr_oci_open_ns(const NrOciSpec *s, int *fds, NrError *err);
int nr_oci_join_ns(const NrOciSpec *s, const int *fds, NrError *err);
/* the parent, before the clone: the user namespace given by path (then
 * none is made; one the caller cannot join is an error), and the network,
 * ipc, uts and cgroup namespaces given by path that it has the rights to
 * join (those owned by the caller's own user namespace or the joined one,
 * as podman's rootless network): a new user namespace, a child of the
 * caller's, would have none over them.  Those it cannot join are left to
 * the child, which says why. */
int nr_oci_join_ns_early(const NrOciSpec *s, const int *fds, NrError *err);
void nr_oci_close_ns(const NrOciSpec *s, int *fds);
/* process.oomScoreAdj on this process, inherited by what it forks: the
 * write needs it dumpable for a moment, so it is done where nothing of the
 * container can trace it: the child before it joins a user namespace by
 * path (alone in its new one, or still the host's), exec's joiner before
 * it joins the container's; an error (lowering needs CAP_SYS_RESOURCE of
 * the host) fails the start */
int nr_oci_set_oom(const NrOciSpec *s, NrError *err);
/* the child, in its new namespaces, its ids mapped, those of paths
 * joined: time offsets, hostname and domainname, lo, the bundle's root
 * bound, the spec's mounts, devices, sysctls, masked and read-only paths,
 * the createRuntime (asked of the parent over sync_fd) and createContainer
 * hooks, pivot_root, rootfsPropagation, root.readonly */
int nr_oci_child(const NrRunConfig *cfg, int sync_fd, NrError *err);
/* the spec's process, forked by PID 1 (`slave`: its terminal, or -1):
 * rlimits, cwd, user and groups, the capability sets,
 * no_new_privs, umask, seccomp, the startContainer hooks, exec with
 * exactly the spec's environment.  Returns only on failure. */
int nr_oci_exec(const NrRunConfig *cfg, int slave, NrError *err);
