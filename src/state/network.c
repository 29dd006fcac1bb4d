/* SPDX-License-Identifier: Apache-2.0 */
/* network.c — user networks as records (nr-network.h has the layout):
 * STORE/networks/NAME/{config,lock}.  `nroot network` writes them, `nroot
 * run --net=NAME` reads them and holds the lock while it runs.
 *
 * A network appears by one rename of a finished directory
 * (STORE/networks/.tmp-XXXXXX -> NAME, never over an existing one) and
 * goes by one rename out of sight (NAME -> .rm-XXXXXX/n) before its files
 * are removed: a create or rm killed at any point leaves the network or
 * none, plus a dot directory that the next create, rm or prune removes.
 * Both happen under the store lock.  Whether a network is in use is told
 * by its lock alone: every attached container's nroot holds it shared, and
 * the kernel drops that when nroot dies, however it dies. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-fs.h"
#include "nr-network.h"
#include "nr-runtime.h"
#include "nr-store.h"
#include "nr-util.h"

bool nr_network_name_valid(const char *name)
{
    static const char *const modes[] = { "none", "host", "slirp" };
    if (strlen(name) > NR_NETWORK_NAME_MAX || !nr_ctr_name_valid(name))
        return false;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(name, modes[i]) == 0)
            return false;
    return true;
}

/* ---- subnets ---- */

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~0u << (32 - prefix);
}

bool nr_network_overlaps(struct in_addr a, int prefix_a, struct in_addr b, int prefix_b)
{
    uint32_t m = mask_of(prefix_a < prefix_b ? prefix_a : prefix_b);
    return (ntohl(a.s_addr) & m) == (ntohl(b.s_addr) & m);
}

static bool in_range(uint32_t addr, int prefix, const char *net, int net_prefix)
{
    struct in_addr n;
    inet_pton(AF_INET, net, &n);
    return prefix >= net_prefix && (addr & mask_of(net_prefix)) == ntohl(n.s_addr);
}

int nr_network_parse_subnet(const char *s, struct in_addr *ret_net, int *ret_prefix, NrError *err)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : 0;
    const char *p = slash ? slash + 1 : "";
    size_t digits = strspn(p, "0123456789");
    struct in_addr a;
    if (!slash || alen >= sizeof addr || digits == 0 || digits > 2 || p[digits] ||
        (digits == 2 && p[0] == '0'))
        goto syntax;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, &a) != 1)
        goto syntax;
    int prefix = atoi(p);
    if (prefix < NR_NETWORK_PREFIX_MIN || prefix > NR_NETWORK_PREFIX_MAX)
        return nr_error_msg(err, "invalid subnet '%s': the prefix must be /%d to /%d", s,
                            NR_NETWORK_PREFIX_MIN, NR_NETWORK_PREFIX_MAX);
    uint32_t h = ntohl(a.s_addr);
    if (!in_range(h, prefix, "10.0.0.0", 8) && !in_range(h, prefix, "172.16.0.0", 12) &&
        !in_range(h, prefix, "192.168.0.0", 16))
        return nr_error_msg(err,
                            "invalid subnet '%s': not a private range (10.0.0.0/8, "
                            "172.16.0.0/12, 192.168.0.0/16)",
                            s);
    if (h & ~mask_of(prefix)) {
        struct in_addr n = { htonl(h & mask_of(prefix)) };
        char nb[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &n, nb, sizeof nb);
        return nr_error_msg(err, "invalid subnet '%s': host bits are set (the network is %s/%d)", s,
                            nb, prefix);
    }
    struct in_addr slirp;
    inet_pton(AF_INET, "10.0.2.0", &slirp);
    if (nr_network_overlaps(a, prefix, slirp, 24))
        return nr_error_msg(err,
                            "invalid subnet '%s': it overlaps 10.0.2.0/24, the network of "
                            "--net=slirp",
                            s);
    *ret_net = a;
    *ret_prefix = prefix;
    return 0;
syntax:
    return nr_error_msg(err,
                        "invalid subnet '%s': expected an IPv4 network A.B.C.D/PREFIX, e.g. "
                        "10.89.5.0/24",
                        s);
}

int nr_network_pick_subnet(const NrNetwork *used, size_t n, struct in_addr *ret_net,
                           int *ret_prefix, NrError *err)
{
    for (uint32_t k = 1; k < 256; k++) {
        struct in_addr cand = { htonl((10u << 24) | (89u << 16) | (k << 8)) };
        bool free_ = true;
        for (size_t i = 0; i < n && free_; i++)
            free_ = !nr_network_overlaps(cand, 24, used[i].net, used[i].prefix);
        if (free_) {
            *ret_net = cand;
            *ret_prefix = 24;
            return 0;
        }
    }
    nr_error_msg(err, "no free subnet left in 10.89.1.0 to 10.89.255.0");
    nr_error_hint(err, "give one with --subnet, e.g. --subnet 10.90.1.0/24");
    return -1;
}

struct in_addr nr_network_host(const NrNetwork *n, uint32_t host)
{
    return (struct in_addr){ htonl(ntohl(n->net.s_addr) + host) };
}

void nr_network_subnet_text(const NrNetwork *n, char *buf, size_t size)
{
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &n->net, a, sizeof a);
    snprintf(buf, size, "%s/%d", a, n->prefix);
}

/* ---- the records ---- */

/* STORE/networks, malloc()ed */
static char *networks_dir(NrError *err)
{
    nr_autofree char *store = nr_store_dir(err);
    return store ? nr_strdup_printf("%s/networks", store) : NULL;
}

typedef struct KvRead {
    NrNetwork *n;
    char bad[32]; /* the first key whose value is not valid */
    bool version, name, subnet, internal, created;
    int64_t version_seen;
} KvRead;

static void bad(KvRead *r, const char *k)
{
    if (!r->bad[0])
        snprintf(r->bad, sizeof r->bad, "%s", k);
}

static void record_kv(void *data, const char *k, char *v)
{
    KvRead *r = data;
    NrError ignored = { 0 };
    if (strcmp(k, "version") == 0) {
        r->version = true;
        uint32_t x;
        if (!nr_parse_u32(v, &x) || x < 1)
            bad(r, k);
        else
            r->version_seen = x;
    } else if (strcmp(k, "name") == 0) {
        r->name = true;
        if (!nr_network_name_valid(v))
            bad(r, k);
        else
            snprintf(r->n->name, sizeof r->n->name, "%s", v);
    } else if (strcmp(k, "subnet") == 0) {
        r->subnet = true;
        if (nr_network_parse_subnet(v, &r->n->net, &r->n->prefix, &ignored) < 0)
            bad(r, k);
    } else if (strcmp(k, "internal") == 0) {
        r->internal = true;
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
            bad(r, k);
        r->n->internal = v[0] == '1';
    } else if (strcmp(k, "created") == 0) {
        r->created = true;
        size_t d = strspn(v, "0123456789");
        if (d == 0 || d > 12 || v[d])
            bad(r, k);
        else
            r->n->created = strtoll(v, NULL, 10);
    }
    /* other keys: a later nroot's additions of the same format */
}

/* `dir`/NAME/config into *ret (set only on success) */
static int load_at(const char *dir, const char *name, NrNetwork *ret, NrError *err)
{
    NrNetwork n = { 0 };
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/config", dir, name);
    KvRead r = { .n = &n };
    NrError e = { 0 };
    if (nr_kv_read(path, record_kv, &r, &e) < 0) {
        if (e.errnum == ENOENT) {
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", dir, name);
            if (lstat(path, &st) == 0)
                return nr_error_msg(err, "network '%s' is damaged: it has no config", name);
            nr_error_msg(err, "no network '%s'", name);
            nr_error_hint(err, "create it first: nroot network create %s", name);
            return -1;
        }
        *err = e;
        return -1;
    }
    if (r.version && !r.bad[0] && r.version_seen > NR_NETWORK_CONFIG_VERSION)
        return nr_error_msg(err,
                            "network '%s' was made by a newer nroot (its config is of format "
                            "%lld)",
                            name, (long long)r.version_seen);
    const char *missing = !r.version    ? "version"
                          : !r.name     ? "name"
                          : !r.subnet   ? "subnet"
                          : !r.internal ? "internal"
                          : !r.created  ? "created"
                                        : NULL;
    if (r.bad[0])
        return nr_error_msg(err, "'%s' is damaged: its %s is not valid", path, r.bad);
    if (missing)
        return nr_error_msg(err, "'%s' is damaged: it has no %s", path, missing);
    if (strcmp(n.name, name) != 0)
        return nr_error_msg(err, "'%s' is damaged: it names network '%s'", path, n.name);
    *ret = n;
    return 0;
}

int nr_network_load(const char *name, NrNetwork *ret, NrError *err)
{
    if (!nr_network_name_valid(name))
        return nr_error_msg(err, "no network '%s' (not a network name)", name);
    nr_autofree char *dir = networks_dir(err);
    if (!dir)
        return -1;
    return load_at(dir, name, ret, err);
}

int nr_network_hold(const char *name, NrError *err)
{
    NrNetwork n;
    if (nr_network_load(name, &n, err) < 0)
        return -1;
    nr_autofree char *dir = networks_dir(err);
    if (!dir)
        return -1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/lock", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == ENOENT)
        goto removed;
    if (fd < 0)
        return nr_error_errno(err, "cannot open the lock of network '%s'", name);
    /* a removal under way holds it exclusively for a moment: wait, then
     * check that the lock is still the network's */
    while (flock(fd, LOCK_SH) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == ENOLCK || errno == EOPNOTSUPP)
            break; /* a file system without locks: rm cannot tell, it still works */
        nr_error_errno(err, "cannot lock '%s'", path);
        close(fd);
        return -1;
    }
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        return fd;
    close(fd);
removed:
    nr_error_msg(err, "network '%s' was removed meanwhile", name);
    nr_error_hint(err, "create it again: nroot network create %s", name);
    return -1;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(((const NrNetwork *)x)->name, ((const NrNetwork *)y)->name);
}

/* the networks in dir; the damaged ones warned about (warn) and skipped */
static int list_at(const char *dir, bool warn, NrNetwork **ret, size_t *ret_n, NrError *err)
{
    *ret = NULL;
    *ret_n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return nr_error_errno(err, "cannot read '%s'", dir);
    }
    NrNetwork *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (!nr_network_name_valid(de->d_name)) {
            if (warn)
                nr_warn("'%s/%s' is no network's name; skipped", dir, de->d_name);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            NrNetwork *g = realloc(v, cap * sizeof *v);
            if (!g)
                break;
            v = g;
        }
        NrError e = { 0 };
        if (load_at(dir, de->d_name, &v[n], &e) < 0) {
            if (warn)
                nr_warn("%s; skipped ('nroot network rm %s' removes it)", e.msg, de->d_name);
            continue;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_name);
    *ret = v;
    *ret_n = n;
    return 0;
}

int nr_network_list(NrNetwork **ret, size_t *ret_n, NrError *err)
{
    nr_autofree char *dir = networks_dir(err);
    if (!dir)
        return -1;
    return list_at(dir, true, ret, ret_n, err);
}

/* the dot directories a killed create or rm left (under the store lock) */
static void clean_leftovers(const char *dir)
{
    static const char *const dots[] = { ".tmp-", ".rm-", NULL };
    nr_fs_sweep(dir, dots);
}

/* STORE/networks made, the store locked (*ret_lock: -1 where the file
 * system cannot lock), the leftovers of killed runs removed */
static int begin(char **ret_dir, int *ret_lock, NrError *err)
{
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    char *dir = nr_strdup_printf("%s/networks", store);
    if (nr_mkdir_p(dir, 0700, err) < 0 || nr_store_lock(store, ret_lock, err) < 0) {
        free(dir);
        return -1;
    }
    clean_leftovers(dir);
    *ret_dir = dir;
    return 0;
}

static void end(char *dir, int lock)
{
    free(dir);
    if (lock >= 0)
        close(lock);
}

static char *record_text(const NrNetwork *n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    char num[32], subnet[32];
    snprintf(num, sizeof num, "%d", NR_NETWORK_CONFIG_VERSION);
    nr_kv_put(f, "version", num);
    nr_kv_put(f, "name", n->name);
    nr_network_subnet_text(n, subnet, sizeof subnet);
    nr_kv_put(f, "subnet", subnet);
    nr_kv_put(f, "internal", n->internal ? "1" : "0");
    snprintf(num, sizeof num, "%lld", (long long)n->created);
    nr_kv_put(f, "created", num);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* dir/.tmp-XXXXXX with the config and the lock, renamed to dir/NAME */
static int write_network(const char *dir, const NrNetwork *n, NrError *err)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", dir);
    if (!mkdtemp(tmp))
        return nr_error_errno(err, "cannot create a directory in '%s'", dir);
    nr_autofree char *text = record_text(n);
    nr_autoclose int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    NrError ignored = { 0 };
    if (!text || dfd < 0 || nr_write_file_at(dfd, "config", text, 0600, err) < 0 ||
        nr_write_file_at(dfd, "lock", "", 0600, err) < 0 || fsync(dfd) < 0) {
        if (!err->code)
            nr_error_errno(err, "cannot write network '%s' in '%s'", n->name, tmp);
        nr_fs_rmtree(tmp, &ignored);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, n->name);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
        if (errno == EEXIST)
            nr_error_msg(err, "network '%s' already exists", n->name);
        else
            nr_error_errno(err, "cannot create network '%s' in '%s'", n->name, dir);
        nr_fs_rmtree(tmp, &ignored);
        return -1;
    }
    return 0;
}

static int create_locked(const char *dir, const char *name, const char *subnet, bool internal,
                         NrNetwork *ret, NrError *err)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lstat(path, &st) == 0)
        return nr_error_msg(err, "network '%s' already exists", name);
    NrNetwork *all;
    size_t n;
    if (list_at(dir, false, &all, &n, err) < 0)
        return -1;
    NrNetwork net = { .internal = internal, .created = (int64_t)time(NULL) };
    snprintf(net.name, sizeof net.name, "%s", name);
    int rc = 0;
    if (!subnet)
        rc = nr_network_pick_subnet(all, n, &net.net, &net.prefix, err);
    else if ((rc = nr_network_parse_subnet(subnet, &net.net, &net.prefix, err)) == 0)
        for (size_t i = 0; i < n && rc == 0; i++)
            if (nr_network_overlaps(net.net, net.prefix, all[i].net, all[i].prefix)) {
                char other[32];
                nr_network_subnet_text(&all[i], other, sizeof other);
                rc = nr_error_msg(err, "subnet %s overlaps %s of network '%s'", subnet, other,
                                  all[i].name);
            }
    free(all);
    if (rc == 0)
        rc = write_network(dir, &net, err);
    if (rc == 0)
        *ret = net;
    return rc;
}

int nr_network_create(const char *name, const char *subnet, bool internal, NrNetwork *ret,
                      NrError *err)
{
    if (!nr_network_name_valid(name))
        return nr_error_msg(err,
                            "invalid network name '%s': letters, digits, '_', '.' and '-', "
                            "starting with a letter or digit, at most %d, and not none, host "
                            "or slirp",
                            name, NR_NETWORK_NAME_MAX);
    char *dir;
    int lock;
    if (begin(&dir, &lock, err) < 0)
        return -1;
    int rc = create_locked(dir, name, subnet, internal, ret, err);
    end(dir, lock);
    return rc;
}

static int remove_locked(const char *dir, const char *name, NrError *err)
{
    char path[PATH_MAX], lockp[PATH_MAX + 8];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return nr_error_msg(err, "no network '%s'", name);
    snprintf(lockp, sizeof lockp, "%s/lock", path);
    nr_autoclose int fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot open '%s'", lockp);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return 1;
        if (errno != ENOLCK && errno != EOPNOTSUPP)
            return nr_error_errno(err, "cannot lock '%s'", lockp);
    }
    /* out of sight in one step, then removed; an nroot waiting for the
     * lock finds it gone (nr_network_hold) */
    char tmp[PATH_MAX], dst[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s/.rm-XXXXXX", dir);
    if (!mkdtemp(tmp))
        return nr_error_errno(err, "cannot create a directory in '%s'", dir);
    snprintf(dst, sizeof dst, "%s/n", tmp);
    NrError ignored = { 0 };
    if (rename(path, dst) < 0) {
        nr_error_errno(err, "cannot remove network '%s'", name);
        rmdir(tmp);
        return -1;
    }
    if (nr_fs_rmtree(tmp, &ignored) < 0)
        nr_warn("the files of network '%s' stay in '%s' until the next network command", name, tmp);
    return 0;
}

bool nr_network_exists(const char *name)
{
    NrError ignored = { 0 };
    nr_autofree char *dir = nr_network_name_valid(name) ? networks_dir(&ignored) : NULL;
    if (!dir)
        return false;
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int nr_network_remove(const char *name, NrError *err)
{
    if (!nr_network_name_valid(name))
        return nr_error_msg(err, "no network '%s'", name);
    char *dir;
    int lock;
    if (begin(&dir, &lock, err) < 0)
        return -1;
    int rc = remove_locked(dir, name, err);
    end(dir, lock);
    return rc;
}

/* ---- what runs on a network ---- */

char *nr_network_hosts_file(const char *name, NrError *err)
{
    const char *rt = nr_runtime_dir(err);
    return rt ? nr_strdup_printf("%s/net/hosts-%s/hosts", rt, name) : NULL;
}

/* the address of container `id` in the holder's hosts file of network
 * `name` ("" when it has none) */
static void member_address(const char *name, const char *id, char *buf, size_t size)
{
    buf[0] = '\0';
    NrError ignored = { 0 };
    nr_autofree char *path = nr_network_hosts_file(name, &ignored);
    nr_autofree char *text = path ? nr_read_file(path, NULL, &ignored) : NULL;
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *wsave = NULL, *addr = strtok_r(line, " \t", &wsave);
        struct in_addr a;
        if (!addr || inet_pton(AF_INET, addr, &a) != 1)
            continue;
        for (char *w = strtok_r(NULL, " \t", &wsave); w; w = strtok_r(NULL, " \t", &wsave))
            if (strcmp(w, id) == 0) {
                inet_ntop(AF_INET, &a, buf, (socklen_t)size);
                return;
            }
    }
}

int nr_network_members(NrNetworkMember **ret, size_t *ret_n, NrError *err)
{
    *ret = NULL;
    *ret_n = 0;
    NrCtr *all;
    size_t n_all;
    if (nr_ctr_list(&all, &n_all, err) < 0)
        return -1;
    NrNetworkMember *v = NULL;
    size_t n = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (!all[i].running)
            continue;
        NrStrv nets = { 0 };
        nr_ctr_networks(&all[i], &nets);
        for (size_t j = 0; j < nets.n; j++) {
            if (!nr_network_name_valid(nets.v[j]))
                continue;
            NrNetworkMember *g = realloc(v, (n + 1) * sizeof *v);
            if (!g)
                break;
            v = g;
            NrNetworkMember *m = &v[n++];
            memset(m, 0, sizeof *m);
            snprintf(m->network, sizeof m->network, "%s", nets.v[j]);
            snprintf(m->name, sizeof m->name, "%s", all[i].name);
            snprintf(m->id, sizeof m->id, "%s", all[i].id);
            member_address(m->network, m->id, m->address, sizeof m->address);
        }
        nr_strv_clear(&nets);
    }
    nr_ctr_list_free(all, n_all);
    *ret = v;
    *ret_n = n;
    return 0;
}
