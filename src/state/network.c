/* SPDX-License-Identifier: Apache-2.0 */
/* network.c — PART N1 STAND-IN for part N2's records module (nr-network.h):
 * reads STORE/networks/NAME/config and takes its lock.  Dropped at the
 * merge for N2's. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-network.h"
#include "nr-store.h"
#include "nr-util.h"

typedef struct Load {
    NrNetwork *n;
    bool bad, has_subnet;
} Load;

static void on_kv(void *data, const char *key, char *value)
{
    Load *l = data;
    if (strcmp(key, "subnet") == 0) {
        char *slash = strchr(value, '/');
        uint32_t p;
        if (!slash)
            goto bad;
        *slash = '\0';
        if (inet_pton(AF_INET, value, &l->n->net) != 1 || !nr_parse_u32(slash + 1, &p) || p < 8 ||
            p > 30)
            goto bad;
        l->n->prefix = (int)p;
        l->has_subnet = true;
    } else if (strcmp(key, "internal") == 0) {
        l->n->internal = strcmp(value, "1") == 0;
    } else if (strcmp(key, "created") == 0) {
        l->n->created = strtoll(value, NULL, 10);
    }
    return;
bad:
    l->bad = true;
}

static int network_dir(const char *name, char *buf, size_t size, NrError *err)
{
    if (strlen(name) >= sizeof(((NrNetwork *)0)->name) || !nr_ctr_name_valid(name))
        return nr_error_msg(err, "invalid network name '%s'", name);
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    snprintf(buf, size, "%s/networks/%s", store, name);
    return 0;
}

int nr_network_load(const char *name, NrNetwork *ret, NrError *err)
{
    char dir[PATH_MAX], path[PATH_MAX + 8];
    if (network_dir(name, dir, sizeof dir, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/config", dir);
    NrNetwork n = { 0 };
    snprintf(n.name, sizeof n.name, "%s", name);
    Load l = { .n = &n };
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        nr_error_msg(err, "no network '%s'", name);
        nr_error_hint(err, "create it first: nroot network create %s", name);
        return -1;
    }
    if (nr_kv_read(path, on_kv, &l, err) < 0)
        return -1;
    if (l.bad || !l.has_subnet)
        return nr_error_msg(err, "network '%s': its record '%s' is damaged", name, path);
    /* the host part off */
    uint32_t mask = htonl(0xffffffffu << (32 - n.prefix));
    n.net.s_addr &= mask;
    *ret = n;
    return 0;
}

int nr_network_hold(const char *name, NrError *err)
{
    char dir[PATH_MAX], path[PATH_MAX + 8];
    if (network_dir(name, dir, sizeof dir, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot open '%s'", path);
    while (flock(fd, LOCK_SH) < 0) {
        if (errno != EINTR) {
            nr_error_errno(err, "cannot lock '%s'", path);
            close(fd);
            return -1;
        }
    }
    return fd;
}
