/* SPDX-License-Identifier: Apache-2.0 */
/* devname.c — the names of devices (nr-devname.h): CDI's qualified names
 * VENDOR/CLASS=NAME, the values of --device and --gpus.  Pure: the
 * command line (cli/) and a named container's recorded plan (state/)
 * check them here; the specs are read by host/cdi.c. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nr-devname.h"
#include "nr-error.h"
#include "nr-util.h"

static bool alnum(char c)
{
    return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* vendor and class: a letter first, a letter or digit last, '_', '-' and
 * '.' between; a device name: a letter or digit first, ':' allowed too */
static bool part_valid(const char *s, size_t n, bool device)
{
    if (n == 0 || !alnum(s[0]) || (!device && !isalpha((unsigned char)s[0])) || !alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!alnum(s[i]) && !strchr(device ? "_-.:" : "_-.", s[i]))
            return false;
    return true;
}

bool nr_devname_kind_valid(const char *kind)
{
    const char *slash = strchr(kind, '/');
    return slash && part_valid(kind, (size_t)(slash - kind), false) &&
           part_valid(slash + 1, strlen(slash + 1), false);
}

bool nr_devname_name_valid(const char *name)
{
    return part_valid(name, strlen(name), true);
}

bool nr_devname_valid(const char *q)
{
    const char *eq = strchr(q, '=');
    if (!eq)
        return false;
    char kind[256];
    if ((size_t)(eq - q) >= sizeof kind)
        return false;
    memcpy(kind, q, (size_t)(eq - q));
    kind[eq - q] = '\0';
    return nr_devname_kind_valid(kind) && part_valid(eq + 1, strlen(eq + 1), true);
}

bool nr_devname_perms_valid(const char *s)
{
    return *s && strspn(s, "rwm") == strlen(s);
}

int nr_devname_add_device(NrStrv *devices, const char *arg, NrError *err)
{
    if (arg[0] == '/') {
        /* HOST[:CTR][:PERMS], as podman */
        nr_autofree char *copy = nr_xstrdup(arg);
        char *p = copy, *host = strsep(&p, ":"), *ctr = strsep(&p, ":"), *perms = strsep(&p, ":");
        if (ctr && !perms && nr_devname_perms_valid(ctr)) {
            perms = ctr;
            ctr = NULL;
        }
        if (p || (ctr && ctr[0] != '/') || (perms && !nr_devname_perms_valid(perms)) || !host[1])
            return nr_error_msg(err,
                                "invalid --device '%s': HOST[:CONTAINER][:PERMISSIONS] with "
                                "absolute paths and permissions of r, w and m",
                                arg);
        nr_strv_push(devices, arg);
        return 0;
    }
    if (!nr_devname_valid(arg)) {
        nr_error_msg(
            err, "invalid --device '%s': a host device path or a CDI name VENDOR/CLASS=NAME", arg);
        nr_error_hint(err, "e.g. --device nvidia.com/gpu=0 or --device /dev/fuse; 'nroot info' "
                           "lists the CDI devices found");
        return -1;
    }
    nr_strv_push(devices, arg);
    return 0;
}

int nr_devname_add_gpus(NrStrv *devices, const char *given, NrError *err)
{
    /* docker's quoted form, --gpus '"device=0,1"' (its value is a CSV
     * field, and a list needs the quotes there): the same without them */
    nr_autofree char *unquoted = nr_xstrdup(given);
    const char *arg = unquoted;
    size_t len = strlen(unquoted);
    if (len >= 2 && unquoted[0] == '"' && unquoted[len - 1] == '"') {
        unquoted[len - 1] = '\0';
        arg++;
    }
    uint32_t n;
    if (strcmp(arg, "all") == 0) {
        nr_strv_push(devices, "nvidia.com/gpu=all");
        return 0;
    }
    if (nr_parse_u32(arg, &n) && n >= 1 && n <= 1024) {
        /* docker's count: the first N */
        for (uint32_t i = 0; i < n; i++) {
            nr_autofree char *d = nr_strdup_printf("nvidia.com/gpu=%u", (unsigned)i);
            nr_strv_push(devices, d);
        }
        return 0;
    }
    if (strncmp(arg, "device=", 7) == 0 && arg[7]) {
        nr_autofree char *copy = nr_xstrdup(arg + 7);
        char *list = copy;
        size_t before = devices->n;
        for (char *id = strsep(&list, ","); id; id = strsep(&list, ",")) {
            nr_autofree char *d = nr_strdup_printf("nvidia.com/gpu=%s", id);
            if (!nr_devname_valid(d)) {
                while (devices->n > before)
                    free(devices->v[--devices->n]), devices->v[devices->n] = NULL;
                return nr_error_msg(err, "invalid --gpus '%s': '%s' is not a GPU index or UUID",
                                    given, id);
            }
            nr_strv_push(devices, d);
        }
        return 0;
    }
    return nr_error_msg(err,
                        "invalid --gpus '%s': all, a number N (the first N), or "
                        "device=ID[,ID...]",
                        given);
}
