/* SPDX-License-Identifier: Apache-2.0 */
/* nr-cmd.h — the commands (src/cmd/, one file per group): each parses its
 * arguments, calls down, prints.  main.c's command table points here. */
#pragma once
#include <stdbool.h>

#include "nr-error.h"
#include "nr-plan.h"

/* run.c */
int nr_cmd_run(int argc, char **argv);
/* `nroot _net-holder`: the network holder of user networks (hidden; started
 * by `run --net=NAME`, nr-usernet.h) */
int nr_cmd_net_holder(int argc, char **argv);
/* run a plan made from a named container's config (`start`): its IMAGE is
 * an image key, looked up in the store only, never as a path in the
 * working directory */
int nr_cmd_run_plan(const NrRunConfig *plan);
/* the image's entrypoint, command, working directory and user, unless
 * the command line gave them */
int nr_run_apply_image(NrRunConfig *cfg, NrError *err);
/* an OCI bundle `dir` as the plan *cfg (the CLI's: cfg->args, if set,
 * replaces process.args): its spec read and kept in *ret_spec (cfg->oci
 * points into it), its notices printed, a new container id; the bundle's
 * plan for `nroot oci` too */
struct NrOciSpec;
int nr_run_oci_prepare(NrRunConfig *cfg, const char *dir, struct NrOciSpec **ret_spec,
                       NrError *err);
/* the seccomp filter of the run: made (or taken from the cache: run,
 * start; run records it in the container's runtime directory rt_dir once
 * the child is cloned), or the one recorded there (`recorded`: exec) */
int nr_run_filter(NrRunConfig *cfg, const char *rt_dir, bool recorded, NrError *err);
/* ctr.c */
int nr_cmd_start(int argc, char **argv);
int nr_cmd_stop(int argc, char **argv);
int nr_cmd_wait(int argc, char **argv);
int nr_cmd_logs(int argc, char **argv);
int nr_cmd_ps(int argc, char **argv);
int nr_cmd_rm(int argc, char **argv);
int nr_cmd_exec(int argc, char **argv);
int nr_cmd_oci(int argc, char **argv); /* oci.c: runc's command line */
int nr_cmd_export(int argc, char **argv);
/* info.c */
int nr_cmd_info(int argc, char **argv);
/* image.c */
int nr_cmd_import(int argc, char **argv);
int nr_cmd_images(int argc, char **argv);
int nr_cmd_rmi(int argc, char **argv);
int nr_cmd_prune(int argc, char **argv);
/* pull.c */
int nr_cmd_pull(int argc, char **argv);
/* network.c: nroot network create|ls|inspect|rm|prune */
int nr_cmd_network(int argc, char **argv);
/* login.c */
int nr_cmd_login(int argc, char **argv);
int nr_cmd_logout(int argc, char **argv);
