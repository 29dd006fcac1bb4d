/* SPDX-License-Identifier: Apache-2.0 */
/* nr-cdi.h — devices through the Container Device Interface (host/cdi.c):
 * the CDI specs (JSON or YAML, read with a dlopen()ed libyaml) found in
 * the spec directories, `--device` and `--gpus` (checked by lib/devname.c)
 * resolved into the plan's NrDevices, and the hooks that run in the parent. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "nr-error.h"
#include "nr-plan.h"

/* cdi-spec-dirs of nroot.conf, or $NROOT_CDI_SPEC_DIRS (which wins);
 * default /etc/cdi:/var/run/cdi; a later directory wins on a clash */
const char *nr_cdi_spec_dirs(void);

/* cfg->devices into cfg->dev (cfg->map decides which additional groups
 * are kept): an unknown device is an error naming the known ones */
int nr_cdi_resolve(NrRunConfig *cfg, NrError *err);
/* `nroot exec` and --join's joiners: of cfg->devices only what the
 * container's command got from them, its environment and (mapped)
 * additional groups; quietly: the container's start warned already, and
 * a device that fails now is left out */
void nr_cdi_resolve_command(NrRunConfig *cfg);
/* the hooks' bundle: RT_DIR/bundle/config.json with root.path as the
 * child sees it before pivot_root (nothing if there are no hooks) */
int nr_cdi_write_bundle(NrRunConfig *cfg, const char *rt_dir, NrError *err);
/* the hooks of a parent's stage (createRuntime, poststart, poststop) */
int nr_cdi_run_hooks(const NrRunConfig *cfg, NrHookStage stage, pid_t pid, NrError *err);

/* `nroot info`: each spec file found, its kind and device names (comma
 * separated), or the problem that makes it unusable */
typedef void (*NrCdiListFn)(void *data, const char *path, const char *kind, const char *devices,
                            const char *problem);
void nr_cdi_list(NrCdiListFn fn, void *data);

/* a JSON text made readable as YAML's flow style (tabs between tokens,
 * the \/ escape); malloc()ed */
char *nr_cdi_json_to_yaml(const char *text, size_t len);
