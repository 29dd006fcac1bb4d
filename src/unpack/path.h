/* SPDX-License-Identifier: Apache-2.0 */
/* path.h — names inside the image (path.c). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* "./a//b/" -> "/a/b", "" -> "/"; false if a component is ".." or too long */
bool nr_path_normalize(const char *in, char *out, size_t size);
/* "./blobs//sha256/x" -> "blobs/sha256/x" (g_free it); NULL if it leaves the top */
char *nr_path_clean(const char *in);
/* the member a link of an archive names: `target` relative to the directory
 * of the link `name`, ".." resolved lexically; NULL if it leaves the top */
char *nr_path_join_link(const char *name, const char *target);
