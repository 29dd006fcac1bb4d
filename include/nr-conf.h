/* SPDX-License-Identifier: Apache-2.0 */
/* nr-conf.h — nroot's configuration file: the settings an administrator or
 * a user gives once instead of on every command line.  Read from
 * SYSCONFDIR/nroot/nroot.conf (the administrator's), then
 * $XDG_CONFIG_HOME/nroot/nroot.conf (default ~/.config/nroot/nroot.conf,
 * the user's, which wins key by key).  $NROOT_CONFIG names the user's file
 * instead (tests, and users who keep several).  Lines `key = value`; `#`
 * starts a comment line; blank lines are skipped; a line without `=` is
 * warned about once and ignored. */
#pragma once
#include "nr-error.h"

/* the value of KEY (trimmed), NULL if neither file sets it.  The files are
 * read once, on the first call; the strings live as long as the process. */
const char *nr_conf_get(const char *key);
/* KEY's value by nroot's one rule for a setting that an environment
 * variable gives too: ENVVAR (NULL: none), when set, wins over the files,
 * even when empty; else the later file that sets KEY.  An empty value means
 * the key's built-in default, as one not set anywhere: NULL is returned
 * for both, and the caller uses its default.  *ret_from (if not NULL) says
 * where the answer came from, for messages and `nroot info`: "$ENVVAR",
 * the path of the file, or "default". */
const char *nr_conf_value(const char *key, const char *envvar, const char **ret_from);
/* a linger in seconds (a helper that outlives its runs: KEY in the
 * files, ENVVAR): `def` when not set, -1 for "off", else 0 to 86400; a
 * bad value fails (125) naming where it came from */
int nr_conf_linger(const char *key, const char *envvar, int def, int *ret_secs,
                   const char **ret_from, NrError *err);
/* the files read (for `nroot info`): "PATH" or "PATH (missing)", one per line */
const char *nr_conf_sources(void);
/* tests: forget what was read */
void nr_conf_reset(void);
/* tests: read `path` (kept, not copied) as the administrator's file (NULL:
 * the default again); forgets what was read */
void nr_conf_set_system_file(const char *path);
