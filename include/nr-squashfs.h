/* SPDX-License-Identifier: Apache-2.0 */
/* nr-squashfs.h — squashfs files made with mksquashfs (squashfs-tools):
 * `nroot export --format=squashfs` and the store's images kept as one
 * squashfs file each (`image-format = squashfs`).  The tree is read inside
 * a user namespace as its root, so the file records the ids the container
 * sees (0, 42 for _apt, ...): it is the same under every id mapping. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "nr-error.h"
#include "nr-userns.h"

/* the most arguments nr_squashfs_argv() makes */
#define NR_SQUASHFS_ARGV 20

/* mksquashfs in PATH, its absolute path to ret_path; else -1 and one line
 * naming the package */
int nr_squashfs_find(char *ret_path, size_t size, NrError *err);
/* "4.5.1" from `PROG -version`; "" when it does not say */
void nr_squashfs_version(const char *prog, char *ret, size_t size);
/* The arguments of `prog` making `dest` from the tree `src`, NULL-ended in
 * argv (NR_SQUASHFS_ARGV entries): zstd, reproducible (the creation time
 * fixed at 0, file times as the tree has them; with $SOURCE_DATE_EPOCH,
 * `epoch`, mksquashfs's own rule instead: that time, later file times
 * clamped to it), never appended to, quiet, a progress bar only if
 * `progress`.  Pure. */
void nr_squashfs_argv(const char *prog, const char *src, const char *dest, const char *epoch,
                      bool progress, const char **argv);
/* in a child that is root of the user namespace already: run mksquashfs
 * (stdout to stderr; $SOURCE_DATE_EPOCH kept only when it is a number).
 * Returns only on failure. */
void nr_squashfs_exec(const char *prog, const char *src, const char *dest, bool progress,
                      NrError *err);
/* make `dest` from the tree `src` in a user namespace with `map`, as its
 * root: files of subordinate ids are read and keep their ids */
int nr_squashfs_make(const char *prog, const char *src, const char *dest, const NrIdMap *map,
                     bool progress, NrError *err);
