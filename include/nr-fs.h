/* SPDX-License-Identifier: Apache-2.0 */
/* nr-fs.h — file-system helpers with no policy (lib/fs.c): paths resolved
 * inside a tree, removing and measuring trees. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "nr-error.h"

/* openat2 of `path` inside the tree at rootfd (RESOLVE_IN_ROOT, no magic
 * links, O_CLOEXEC added): -1 with errno */
int nr_fs_openat_in_root(int rootfd, const char *path, int flags);
/* open `path` inside the tree at rootfd, creating it (dir or file) if missing */
int nr_fs_open_in_root(int rootfd, const char *path, bool create, bool dir, NrError *err);
/* does `path` exist inside the tree at rootfd (symlinks resolved inside it)? */
bool nr_fs_exists_in_root(int rootfd, const char *path);
/* remove a tree (never follows symlinks, stays on its file system) */
int nr_fs_rmtree(const char *path, NrError *err);
/* every entry of `dir` whose name starts with one of `prefixes` (a NULL-
 * terminated list) removed, file or tree; what cannot go stays */
void nr_fs_sweep(const char *dir, const char *const *prefixes);
/* the disk space of a tree, in bytes (st_blocks) */
uint64_t nr_fs_du(const char *path);
/* is `path` a regular file holding a squashfs image (the superblock's
 * magic "hsqs", little-endian, at offset 0), whatever its name? */
bool nr_fs_is_squashfs(const char *path);
/* the same for `name` relative to the directory `dfd` */
bool nr_fs_is_squashfs_at(int dfd, const char *name);
