/* SPDX-License-Identifier: Apache-2.0 */
/* nr-ocirun.h — an OCI bundle's spec (cfg->oci, nr-oci.h) applied in the
 * container (inside/oci.c), rootless, as runc applies it. */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"

/* the child, in its new namespaces, its ids mapped: namespaces joined by
 * path, time offsets, hostname and domainname, lo, the bundle's root
 * bound, the spec's mounts, devices, sysctls, masked and read-only paths,
 * the createRuntime (asked of the parent over sync_fd) and createContainer
 * hooks, pivot_root, rootfsPropagation, root.readonly */
int nr_oci_child(const NrRunConfig *cfg, int sync_fd, NrError *err);
/* the spec's process, forked by PID 1 (`slave`: its terminal, or -1):
 * rlimits, oomScoreAdj, cwd, user and groups, the capability sets,
 * no_new_privs, umask, seccomp, the startContainer hooks, exec with
 * exactly the spec's environment.  Returns only on failure. */
int nr_oci_exec(const NrRunConfig *cfg, int slave, NrError *err);
