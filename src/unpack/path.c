/* SPDX-License-Identifier: Apache-2.0 */
/* path.c — names inside the image: a layer entry's path made absolute and
 * checked, an archive member's name made clean, an archive's own link
 * resolved to the member it names (nroot-unpack). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "path.h"

/* "./a//b/" -> "/a/b"; "" stays "/" (the root).  false if a component is ".." */
bool nr_path_normalize(const char *in, char *out, size_t size)
{
    size_t o = 0;
    out[o++] = '/';
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "/");
        if (n == 1 && p[0] == '.') {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (o > 1) {
            if (o + 1 >= size)
                return false;
            out[o++] = '/';
        }
        if (o + n >= size)
            return false;
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    return true;
}

/* "./blobs//sha256/x" -> "blobs/sha256/x"; NULL if it leaves the top */
char *nr_path_clean(const char *in)
{
    char buf[PATH_MAX];
    if (!nr_path_normalize(in, buf, sizeof buf))
        return NULL;
    return g_strdup(buf + 1);
}

/* a symlink's target, relative to the link's directory, as a clean name */
char *nr_path_join_link(const char *name, const char *target)
{
    if (target[0] == '/')
        return nr_path_clean(target);
    const char *slash = strrchr(name, '/');
    g_autofree char *joined =
        g_strdup_printf("%.*s/%s", slash ? (int)(slash - name) : 0, name, target);
    char buf[PATH_MAX];
    /* ".." is resolved lexically here: an archive's own alias, never a path on disk */
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    gchar **comp = g_strsplit(joined, "/", -1);
    for (gchar **c = comp; *c; c++) {
        if (!**c || strcmp(*c, ".") == 0)
            continue;
        if (strcmp(*c, "..") == 0) {
            if (parts->len == 0) {
                g_strfreev(comp);
                g_ptr_array_free(parts, TRUE);
                return NULL;
            }
            g_ptr_array_remove_index(parts, parts->len - 1);
            continue;
        }
        g_ptr_array_add(parts, g_strdup(*c));
    }
    g_strfreev(comp);
    g_ptr_array_add(parts, NULL);
    g_autofree char *out = g_strjoinv("/", (gchar **)parts->pdata);
    g_ptr_array_free(parts, TRUE);
    snprintf(buf, sizeof buf, "%s", out);
    return g_strdup(buf);
}
