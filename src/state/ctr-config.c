/* SPDX-License-Identifier: Apache-2.0 */
/* ctr-config.c — a container's records (ctr.c's module): the config (the
 * record and the options it was made with, as data), its state, the
 * overlay kind of its layer, and what `run` writes while it runs. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "ctr-files.h"
#include "nr-cgroup.h"
#include "nr-devname.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-plan.h"
#include "nr-spawn.h"
#include "nr-store.h"
#include "nr-timens.h"
#include "nr-userns.h"
#include "nr-util.h"

/* ---- key=value files ----
 *
 * What is read back from the store and the runtime directory is checked
 * field by field before anything uses it: ids and names become paths (a
 * config with id=../../x once made rm delete outside the store), pids are
 * signalled, fd numbers opened.  A damaged file is refused, naming it. */

bool nr_ctr_is_id(const char *s)
{
    size_t n = strlen(s);
    return n == 12 && strspn(s, "0123456789abcdef") == n;
}

/* a decimal integer in [min, max], nothing around it */
static bool parse_i64(const char *v, int64_t min, int64_t max, int64_t *ret)
{
    const char *d = v[0] == '-' ? v + 1 : v;
    if (*d < '0' || *d > '9')
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return false;
    *ret = x;
    return true;
}

static bool parse_u64(const char *v, uint64_t *ret)
{
    if (*v < '0' || *v > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end)
        return false;
    *ret = x;
    return true;
}

static bool parse_bool(const char *v, bool *ret)
{
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        return false;
    *ret = v[0] == '1';
    return true;
}

/* an image id (64 lowercase hex digits), or the path of a root filesystem
 * directory or squashfs file */
static bool valid_image_key(const char *v)
{
    size_t n = strlen(v);
    if (n == 64 && strspn(v, "0123456789abcdef") == n)
        return true;
    return v[0] == '/' && n < PATH_MAX && !strstr(v, "/../") &&
           strcmp(v + (n >= 3 ? n - 3 : 0), "/..") != 0;
}

#define NR_PID_LIMIT 4194304 /* the kernel's PID_MAX_LIMIT */
#define NR_FD_LIMIT 1048576  /* the kernel's NR_OPEN */

/* ---- the options a container was made with (config format 1) ----
 *
 * One key per field of the plan (nr-plan.h); a key is left out where the
 * option was not given.  Lists repeat their key (in order) or, for
 * records, index it from 0:
 *
 *   version=1
 *   entrypoint=CMD             --entrypoint ('' clears the image's)
 *   argument=WORD ...          the words after IMAGE (none: the image's command)
 *   env=KEY=VALUE ...          -e and --env-file, resolved, in order
 *   workdir=/DIR               -w
 *   user=USER[:GROUP]          -u
 *   userns=auto|subids|single|keep-id
 *   net=none|host|slirp        --net (absent: slirp, loopback only without a tun)
 *   net=container:NAME         --net=container:NAME (NAME or id of the container)
 *   net=NAME ...               --net=NAME: user networks, in order (eth0, eth1...)
 *   network_alias=NAME ...     --network-alias
 *   host_loopback=0|1
 *   tcp_bypass=0|1 (absent: 0, as nroot before --tcp-bypass wrote it)
 *   overlay=auto|kernel|fuse   --overlay
 *   read_only=0|1
 *   caps=0xHEX                 the bounding set, bit N = capability N
 *   seccomp=unconfined|/PROFILE.json
 *   root_emulation=auto|on|off --root-emulation, as resolved for the run (on|off;
 *                              absent: auto, as before there was one)
 *   hostname=NAME
 *   time_offset=monotonic=S,boottime=S   --time-offset (the clocks given; S like -1.5)
 *   image_ref=NAME[:TAG]       --image-ref (the image resolves by image_key)
 *   rm=0|1                     --rm
 *   volume.N.src=/HOST  volume.N.dst=/CTR  volume.N.ro=0|1
 *   port.N.spec=[IP:]HOSTPORT:PORT[/udp]   as given, for messages
 *   port.N.proto=tcp|udp  port.N.host_ip=(empty: all)|IPv4|IPv6
 *   port.N.host_port=1-65535  port.N.port=1-65535
 *   device=VENDOR/CLASS=NAME|/HOST[:/CTR][:PERMS] ...   --device, --gpus (as CDI names),
 *                              resolved again at each start
 *   memory=BYTES  memory_swap=BYTES|-1  cpu_quota=µs per 100000 (--cpus)
 *   cpu_shares=2-262144  cpu_weight=1-10000  pids_limit=N     the limits (nr-cgroup.h)
 *
 * tty, interactive, image_key (and the record's id, name, image, created,
 * cmd) are the record's keys.  Every value is checked as the command line
 * checks it; a value that is not valid fails the whole file. */

#define NR_CTR_LIST_MAX 1024 /* volumes, ports: more is damage */

static const char *const userns_names[] = { "auto", "subids", "single", "keep-id" };
static const char *const net_names[] = { "none", "host", "slirp" };

/* a user network's name, or an alias on one */
static bool user_network(const char *v)
{
    return strlen(v) < 64 && nr_ctr_name_valid(v);
}
static const char *const overlay_names[] = { "auto", "kernel", "fuse" };
static const char *const rootemu_names[] = { "auto", "on", "off" };

static int choice(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}
#define CHOICE(v, names) choice(v, names, (int)(sizeof names / sizeof names[0]))

typedef struct KvRead {
    NrCtr *c;
    char bad[64];    /* the first key whose value is not valid */
    int64_t version; /* -1: none (format 0) */
    NrStrv args;     /* argument= */
    bool has_caps;
} KvRead;

static NrRunConfig *plan_of(NrCtr *c)
{
    if (!c->plan) {
        c->plan = nr_xmalloc(sizeof *c->plan);
        memset(c->plan, 0, sizeof *c->plan);
        c->plan->net = NR_NET_SLIRP;
    }
    return c->plan;
}

static void set_str(const char **field, const char *v)
{
    free((char *)*field);
    *field = nr_xstrdup(v);
}

static bool abs_path(const char *v)
{
    return v[0] == '/' && strlen(v) < PATH_MAX;
}

/* k is LIST.N.FIELD: 1 with N and FIELD, 0 if it is not of LIST, -1 if
 * it is but N is not an index below NR_CTR_LIST_MAX */
static int list_key(const char *k, const char *list, size_t *ret_i, const char **ret_field)
{
    size_t n = strlen(list);
    if (strncmp(k, list, n) != 0 || k[n] != '.')
        return 0;
    const char *d = k + n + 1;
    size_t digits = strspn(d, "0123456789");
    if (digits == 0 || digits > 4 || (digits > 1 && d[0] == '0') || d[digits] != '.')
        return -1;
    size_t i = (size_t)strtoul(d, NULL, 10);
    if (i >= NR_CTR_LIST_MAX)
        return -1;
    *ret_i = i;
    *ret_field = d + digits + 1;
    return 1;
}

/* arr grown (zeroed) to hold index i */
static void *grow_to(void *arr, size_t *n, size_t i, size_t size)
{
    if (i < *n)
        return arr;
    char *g = realloc(arr, (i + 1) * size);
    if (!g) {
        fputs("nroot: error: out of memory\n", stderr);
        _exit(NR_EXIT_FAILURE);
    }
    memset(g + *n * size, 0, (i + 1 - *n) * size);
    *n = i + 1;
    return g;
}

static bool parse_port_number(const char *v, uint16_t *ret)
{
    int64_t x;
    if (!parse_i64(v, 1, 65535, &x))
        return false;
    *ret = (uint16_t)x;
    return true;
}

static bool volume_kv(NrRunConfig *p, size_t i, const char *field, const char *v)
{
    p->volumes = grow_to(p->volumes, &p->n_volumes, i, sizeof *p->volumes);
    NrVolume *vol = &p->volumes[i];
    if (strcmp(field, "src") == 0 || strcmp(field, "dst") == 0) {
        char **f = field[0] == 's' ? &vol->src : &vol->dst;
        if (!abs_path(v))
            return false;
        free(*f);
        *f = nr_xstrdup(v);
        return true;
    }
    if (strcmp(field, "ro") == 0)
        return parse_bool(v, &vol->ro);
    return true; /* from a newer nroot */
}

static bool port_kv(NrRunConfig *p, size_t i, const char *field, const char *v)
{
    p->ports = grow_to(p->ports, &p->n_ports, i, sizeof *p->ports);
    NrPort *port = &p->ports[i];
    if (strcmp(field, "spec") == 0) {
        if (!*v || strlen(v) > 255)
            return false;
        set_str(&port->spec, v);
        return true;
    }
    if (strcmp(field, "proto") == 0) {
        port->udp = strcmp(v, "udp") == 0;
        return port->udp || strcmp(v, "tcp") == 0;
    }
    if (strcmp(field, "host_ip") == 0) {
        port->host_family = AF_UNSPEC;
        if (!*v)
            return true;
        if (inet_pton(AF_INET, v, &port->host_addr4) == 1)
            port->host_family = AF_INET;
        else if (inet_pton(AF_INET6, v, &port->host_addr6) == 1)
            port->host_family = AF_INET6;
        return port->host_family != AF_UNSPEC;
    }
    if (strcmp(field, "host_port") == 0)
        return parse_port_number(v, &port->host_port);
    if (strcmp(field, "port") == 0)
        return parse_port_number(v, &port->ctr_port);
    return true;
}

/* a key of the plan: 1 (ok or not in *ok), 0 if k is none */
static int plan_kv(KvRead *r, const char *k, const char *v, bool *ok)
{
    NrRunConfig *p;
    size_t i;
    const char *field;
    int m;
    *ok = true;
    if (strcmp(k, "version") == 0)
        *ok = parse_i64(v, 0, INT32_MAX, &r->version);
    else if (strcmp(k, "argument") == 0)
        nr_strv_push(&r->args, v);
    else if (strcmp(k, "entrypoint") == 0)
        set_str(&plan_of(r->c)->entrypoint, v);
    else if (strcmp(k, "env") == 0) {
        if ((*ok = v[0] != '=' && strchr(v, '=')))
            nr_strv_push(&plan_of(r->c)->env, v);
    } else if (strcmp(k, "device") == 0) {
        NrError e = { 0 };
        *ok = nr_devname_add_device(&plan_of(r->c)->devices, v, &e) == 0;
    } else if (strcmp(k, "workdir") == 0) {
        if ((*ok = abs_path(v)))
            set_str(&plan_of(r->c)->workdir, v);
    } else if (strcmp(k, "user") == 0) {
        if ((*ok = nr_user_spec_valid(v)))
            set_str(&plan_of(r->c)->user, v);
    } else if (strcmp(k, "hostname") == 0) {
        if ((*ok = nr_hostname_valid(v)))
            set_str(&plan_of(r->c)->hostname, v);
    } else if (strcmp(k, "time_offset") == 0) {
        NrError e = { 0 };
        NrTimeOffsets o = { 0 };
        if ((*ok = nr_timens_parse(v, &o, &e) == 0 && nr_timens_any(&o)))
            plan_of(r->c)->time_offsets = o;
    } else if (strcmp(k, "seccomp") == 0) {
        if ((*ok = strcmp(v, "unconfined") == 0 || abs_path(v)))
            set_str(&plan_of(r->c)->seccomp_profile, v);
    } else if (strcmp(k, "image_ref") == 0) {
        if ((*ok = *v && strlen(v) < 256))
            set_str(&plan_of(r->c)->image_ref, v);
    } else if (strcmp(k, "userns") == 0) {
        if ((*ok = (m = CHOICE(v, userns_names)) >= 0))
            plan_of(r->c)->userns = (NrUsernsMode)m;
    } else if (strcmp(k, "net") == 0) {
        NrRunConfig *pl = plan_of(r->c);
        if (strncmp(v, "container:", 10) == 0) {
            if ((*ok = nr_ctr_name_valid(v + 10) && !pl->networks.n)) {
                set_str(&pl->net_ctr, v + 10);
                pl->net = NR_NET_CONTAINER;
            }
        } else if ((m = CHOICE(v, net_names)) >= 0) {
            *ok = !pl->networks.n;
            free((char *)pl->net_ctr);
            pl->net_ctr = NULL;
            pl->net = (NrNetMode)m;
        } else if ((*ok = user_network(v) && pl->networks.n < 8 &&
                          (!pl->net_given || pl->net == NR_NET_USER))) {
            nr_strv_push(&pl->networks, v);
            pl->net = NR_NET_USER;
        }
        pl->net_given = true;
    } else if (strcmp(k, "network_alias") == 0) {
        if ((*ok = user_network(v)))
            nr_strv_push(&plan_of(r->c)->net_aliases, v);
    } else if (strcmp(k, "root_emulation") == 0) {
        if ((*ok = (m = CHOICE(v, rootemu_names)) >= 0))
            plan_of(r->c)->root_emulation = (NrRootEmu)m;
    } else if (strcmp(k, "overlay") == 0) {
        if ((*ok = (m = CHOICE(v, overlay_names)) >= 0))
            plan_of(r->c)->overlay = (NrOverlayMode)m;
    } else if (strcmp(k, "host_loopback") == 0)
        *ok = parse_bool(v, &plan_of(r->c)->host_loopback);
    else if (strcmp(k, "tcp_bypass") == 0)
        *ok = parse_bool(v, &plan_of(r->c)->tcp_bypass);
    else if (strcmp(k, "read_only") == 0)
        *ok = parse_bool(v, &plan_of(r->c)->read_only);
    else if (strcmp(k, "rm") == 0)
        *ok = parse_bool(v, &plan_of(r->c)->rm);
    else if (strcmp(k, "caps") == 0) {
        size_t n = strlen(v);
        if ((*ok = n > 2 && n <= 18 && v[0] == '0' && v[1] == 'x' &&
                   strspn(v + 2, "0123456789abcdef") == n - 2)) {
            plan_of(r->c)->caps = strtoull(v + 2, NULL, 16);
            r->has_caps = true;
        }
    } else if (strcmp(k, "memory") == 0)
        *ok = parse_i64(v, NR_CGROUP_MEMORY_MIN, INT64_MAX, &plan_of(r->c)->limits.memory);
    else if (strcmp(k, "memory_swap") == 0)
        *ok = parse_i64(v, -1, INT64_MAX, &plan_of(r->c)->limits.memory_swap);
    else if (strcmp(k, "cpu_quota") == 0)
        *ok = parse_i64(v, NR_CGROUP_CPU_PERIOD / 100, (int64_t)1e6 * NR_CGROUP_CPU_PERIOD,
                        &plan_of(r->c)->limits.cpu_quota);
    else if (strcmp(k, "cpu_shares") == 0)
        *ok = parse_i64(v, NR_CGROUP_SHARES_MIN, NR_CGROUP_SHARES_MAX,
                        &plan_of(r->c)->limits.cpu_shares);
    else if (strcmp(k, "cpu_weight") == 0)
        *ok = parse_i64(v, NR_CGROUP_WEIGHT_MIN, NR_CGROUP_WEIGHT_MAX,
                        &plan_of(r->c)->limits.cpu_weight);
    else if (strcmp(k, "pids_limit") == 0)
        *ok = parse_i64(v, 1, NR_CGROUP_PIDS_MAX, &plan_of(r->c)->limits.pids);
    else if ((m = list_key(k, "volume", &i, &field)) != 0) {
        p = plan_of(r->c);
        *ok = m > 0 && volume_kv(p, i, field, v);
    } else if ((m = list_key(k, "port", &i, &field)) != 0) {
        p = plan_of(r->c);
        *ok = m > 0 && port_kv(p, i, field, v);
    } else
        return 0;
    return 1;
}

static void ctr_kv(void *data, const char *k, char *v)
{
    KvRead *r = data;
    NrCtr *c = r->c;
    int64_t i = 0;
    bool ok = true;
    if (strcmp(k, "id") == 0) {
        if ((ok = nr_ctr_is_id(v)))
            snprintf(c->id, sizeof c->id, "%s", v);
    } else if (strcmp(k, "name") == 0) {
        if ((ok = !*v || nr_ctr_name_valid(v)))
            snprintf(c->name, sizeof c->name, "%s", v);
    } else if (strcmp(k, "image") == 0) {
        if ((ok = strlen(v) < PATH_MAX) && !c->image)
            c->image = nr_xstrdup(v);
    } else if (strcmp(k, "image_key") == 0) {
        if ((ok = !*v || valid_image_key(v)) && !c->image_key)
            c->image_key = nr_xstrdup(v);
    } else if (strcmp(k, "arg") == 0)
        nr_strv_push(&c->legacy_args, v); /* format 0 */
    else if (plan_kv(r, k, v, &ok))
        ;
    else if (strcmp(k, "cmd") == 0)
        nr_strv_push(&c->command, v);
    else if (strcmp(k, "created") == 0) {
        if ((ok = parse_i64(v, 0, INT64_MAX, &i)))
            c->created = i;
    } else if (strcmp(k, "started") == 0) {
        if ((ok = parse_i64(v, 0, INT64_MAX, &i)))
            c->started = i;
    } else if (strcmp(k, "finished") == 0) {
        if ((ok = parse_i64(v, 0, INT64_MAX, &i)))
            c->finished = i;
    } else if (strcmp(k, "exit_code") == 0) {
        if ((ok = parse_i64(v, -1, 255, &i)))
            c->exit_code = (int)i;
    } else if (strcmp(k, "status") == 0)
        ok = strcmp(v, "running") == 0 || strcmp(v, "exited") == 0;
    else if (strcmp(k, "pid") == 0) {
        if ((ok = parse_i64(v, 1, NR_PID_LIMIT, &i)))
            c->pid = (pid_t)i;
    } else if (strcmp(k, "pid_start") == 0)
        ok = parse_u64(v, &c->pid_start);
    else if (strcmp(k, "init_pid") == 0) {
        if ((ok = parse_i64(v, 1, NR_PID_LIMIT, &i)))
            c->init_pid = (pid_t)i;
    } else if (strcmp(k, "init_start") == 0)
        ok = parse_u64(v, &c->init_start);
    else if (strcmp(k, "detached") == 0)
        ok = parse_bool(v, &c->detached);
    else if (strcmp(k, "tty") == 0)
        ok = parse_bool(v, &c->pty);
    else if (strcmp(k, "interactive") == 0)
        ok = parse_bool(v, &c->interactive);
    else if (strncmp(k, "ns_", 3) == 0) {
        for (int n = 0; n < NR_NS_SLOTS; n++)
            if (strcmp(k + 3, nr_ns_names[n]) == 0 && (ok = parse_i64(v, 0, NR_FD_LIMIT, &i)))
                c->ns_fd[n] = (int)i;
    }
    /* other keys: from a newer nroot, ignored */
    if (!ok && !r->bad[0])
        snprintf(r->bad, sizeof r->bad, "%s", k);
}

/* Compatibility: a config of format 0 keeps the canonical `run`
 * arguments, which cmd/ctr.c parses as that nroot did; its mapping is
 * found here, for removing its files (--userns=MODE, as it wrote it). */
static NrUsernsMode legacy_userns(const NrStrv *args)
{
    NrUsernsMode mode = NR_USERNS_AUTO;
    for (size_t i = 0; i < args->n; i++) {
        int m =
            strncmp(args->v[i], "--userns=", 9) == 0 ? CHOICE(args->v[i] + 9, userns_names) : -1;
        if (m >= 0)
            mode = (NrUsernsMode)m;
    }
    return mode;
}

/* the format's rules, once the whole file is read */
static int finish_read(const char *path, KvRead *r, NrError *err)
{
    NrCtr *c = r->c;
    if (r->version > NR_CTR_CONFIG_VERSION)
        return nr_error_msg(err, "'%s' is of format %lld, of a newer nroot (this one reads %d)",
                            path, (long long)r->version, NR_CTR_CONFIG_VERSION);
    if (r->version < 0) {
        /* format 0 (or a state file): no options as data */
        nr_ctr_plan_free(c->plan);
        c->plan = NULL;
        c->userns = legacy_userns(&c->legacy_args);
        return 0;
    }
    if (r->version != NR_CTR_CONFIG_VERSION)
        return nr_error_msg(err, "'%s' is damaged: the value of 'version' is not valid", path);
    NrRunConfig *p = plan_of(c);
    nr_strv_clear(&c->legacy_args);
    if (!r->has_caps)
        return nr_error_msg(err, "'%s' is damaged: it has no 'caps'", path);
    for (size_t i = 0; i < p->n_volumes; i++)
        if (!p->volumes[i].src || !p->volumes[i].dst)
            return nr_error_msg(err, "'%s' is damaged: volume %zu is not complete", path, i);
    for (size_t i = 0; i < p->n_ports; i++)
        if (!p->ports[i].spec || !p->ports[i].host_port || !p->ports[i].ctr_port)
            return nr_error_msg(err, "'%s' is damaged: port %zu is not complete", path, i);
    if (p->n_ports && p->net != NR_NET_SLIRP && p->net != NR_NET_USER)
        return nr_error_msg(err, "'%s' is damaged: it publishes ports without the slirp network",
                            path);
    if ((p->net == NR_NET_CONTAINER) != (p->net_ctr != NULL))
        return nr_error_msg(err, "'%s' is damaged: the value of 'net' is not valid", path);
    NrError le = { 0 };
    if (nr_cgroup_check(&p->limits, &le) < 0)
        return nr_error_msg(err, "'%s' is damaged: %s", path, le.msg);
    if (p->net_aliases.n && p->net != NR_NET_USER)
        return nr_error_msg(err, "'%s' is damaged: it has network aliases without a user network",
                            path);
    if (r->args.n) {
        p->args = r->args.v; /* NULL-terminated, the plan's now */
        memset(&r->args, 0, sizeof r->args);
    }
    c->userns = p->userns;
    return 0;
}

/* read a config or state file into c; a value that is not valid fails
 * the whole file */
int nr_ctr_read_kv(const char *path, NrCtr *c, NrError *err)
{
    KvRead r = { .c = c, .version = -1 };
    int rc = nr_kv_read(path, ctr_kv, &r, err);
    if (rc == 0 && r.bad[0])
        rc = nr_error_msg(err, "'%s' is damaged: the value of '%s' is not valid", path, r.bad);
    if (rc == 0)
        rc = finish_read(path, &r, err);
    nr_strv_clear(&r.args);
    return rc;
}

int nr_ctr_read_config(const char *path, NrCtr *c, NrError *err)
{
    if (nr_ctr_read_kv(path, c, err) < 0)
        return -1;
    if (!c->id[0])
        return nr_error_msg(err, "'%s' is damaged: it has no container id", path);
    return 0;
}

/* write `text` to path atomically (a temporary file, then rename) */
static int replace_file(const char *path, const char *text, size_t len, NrError *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    nr_autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_error_errno(err, "cannot write '%s'", tmp);
    if (nr_write_all(fd, text, len) < 0 || rename(tmp, path) < 0) {
        nr_error_errno(err, "cannot write '%s'", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void put_plan(FILE *f, const NrRunConfig *p)
{
    char num[64];
    if (p->image_ref)
        nr_kv_put(f, "image_ref", p->image_ref);
    if (p->entrypoint)
        nr_kv_put(f, "entrypoint", p->entrypoint);
    for (char **a = p->args; a && *a; a++)
        nr_kv_put(f, "argument", *a);
    for (size_t i = 0; i < p->env.n; i++)
        nr_kv_put(f, "env", p->env.v[i]);
    for (size_t i = 0; i < p->devices.n; i++)
        nr_kv_put(f, "device", p->devices.v[i]);
    /* what the command line gave: the image's own come from the image again */
    if (p->workdir && !(p->img.workdir && p->workdir == p->img.workdir))
        nr_kv_put(f, "workdir", p->workdir);
    if (p->user && !p->user_from_image)
        nr_kv_put(f, "user", p->user);
    nr_kv_put(f, "userns", userns_names[p->userns]);
    if (p->net_given && p->net == NR_NET_CONTAINER) {
        nr_autofree char *v = nr_strdup_printf("container:%s", p->net_ctr);
        nr_kv_put(f, "net", v);
    } else if (p->net_given && p->net == NR_NET_USER) {
        for (size_t i = 0; i < p->networks.n; i++)
            nr_kv_put(f, "net", p->networks.v[i]);
    } else if (p->net_given)
        nr_kv_put(f, "net", net_names[p->net]);
    for (size_t i = 0; i < p->net_aliases.n; i++)
        nr_kv_put(f, "network_alias", p->net_aliases.v[i]);
    nr_kv_put(f, "host_loopback", p->host_loopback ? "1" : "0");
    nr_kv_put(f, "tcp_bypass", p->tcp_bypass ? "1" : "0");
    nr_kv_put(f, "overlay", overlay_names[p->overlay]);
    nr_kv_put(f, "read_only", p->read_only ? "1" : "0");
    snprintf(num, sizeof num, "0x%016llx", (unsigned long long)p->caps);
    nr_kv_put(f, "caps", num);
    if (p->seccomp_profile)
        nr_kv_put(f, "seccomp", p->seccomp_profile);
    nr_kv_put(f, "root_emulation", rootemu_names[p->root_emulation]);
    if (p->hostname)
        nr_kv_put(f, "hostname", p->hostname);
    if (nr_timens_any(&p->time_offsets)) {
        char offs[128];
        nr_timens_format(&p->time_offsets, offs, sizeof offs);
        nr_kv_put(f, "time_offset", offs);
    }
    nr_kv_put(f, "rm", p->rm ? "1" : "0");
    const int64_t *lim[] = { &p->limits.memory,     &p->limits.memory_swap, &p->limits.cpu_quota,
                             &p->limits.cpu_shares, &p->limits.cpu_weight,  &p->limits.pids };
    static const char *const lim_keys[] = { "memory",     "memory_swap", "cpu_quota",
                                            "cpu_shares", "cpu_weight",  "pids_limit" };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
        if (*lim[i]) {
            snprintf(num, sizeof num, "%lld", (long long)*lim[i]);
            nr_kv_put(f, lim_keys[i], num);
        }
    for (size_t i = 0; i < p->n_volumes; i++) {
        fprintf(f, "volume.%zu.", i);
        nr_kv_put(f, "src", p->volumes[i].src);
        fprintf(f, "volume.%zu.", i);
        nr_kv_put(f, "dst", p->volumes[i].dst);
        fprintf(f, "volume.%zu.ro=%d\n", i, p->volumes[i].ro);
    }
    for (size_t i = 0; i < p->n_ports; i++) {
        const NrPort *port = &p->ports[i];
        char ip[INET6_ADDRSTRLEN] = "";
        if (port->host_family == AF_INET)
            inet_ntop(AF_INET, &port->host_addr4, ip, sizeof ip);
        else if (port->host_family == AF_INET6)
            inet_ntop(AF_INET6, &port->host_addr6, ip, sizeof ip);
        fprintf(f, "port.%zu.", i);
        nr_kv_put(f, "spec", port->spec);
        fprintf(f,
                "port.%zu.proto=%s\nport.%zu.host_ip=%s\nport.%zu.host_port=%u\nport.%zu.port=%u\n",
                i, port->udp ? "udp" : "tcp", i, ip, i, (unsigned)port->host_port, i,
                (unsigned)port->ctr_port);
    }
}

int nr_ctr_write_config(const NrCtr *c, const NrRunConfig *plan, NrError *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config", c->store_dir ? c->store_dir : c->rt_dir);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return nr_error_errno(err, "open_memstream");
    char num[32];
    snprintf(num, sizeof num, "%d", NR_CTR_CONFIG_VERSION);
    nr_kv_put(f, "version", num);
    nr_kv_put(f, "id", c->id);
    nr_kv_put(f, "name", c->name);
    nr_kv_put(f, "image", c->image ? c->image : "");
    nr_kv_put(f, "image_key", c->image_key ? c->image_key : "");
    snprintf(num, sizeof num, "%lld", (long long)c->created);
    nr_kv_put(f, "created", num);
    nr_kv_put(f, "tty", c->pty ? "1" : "0");
    nr_kv_put(f, "interactive", c->interactive ? "1" : "0");
    for (size_t i = 0; i < c->command.n; i++)
        nr_kv_put(f, "cmd", c->command.v[i]);
    put_plan(f, plan);
    fclose(f);
    int rc = replace_file(path, text, len, err);
    free(text);
    return rc;
}

int nr_ctr_write_state(const NrCtr *c, bool running, NrError *err)
{
    if (!c->store_dir)
        return 0;
    char path[PATH_MAX], text[256];
    snprintf(path, sizeof path, "%s/state", c->store_dir);
    int n = snprintf(text, sizeof text, "status=%s\nstarted=%lld\nfinished=%lld\nexit_code=%d\n",
                     running ? "running" : "exited", (long long)c->started, (long long)c->finished,
                     c->exit_code);
    return replace_file(path, text, (size_t)n, err);
}

/* ---- the overlay kind ---- */

/* which overlay made a named container's layer: the other one does not
 * read its whiteouts and opaque directories the same way, so the next run
 * must use the same (cmd/run.c) */
void nr_ctr_write_overlay(const char *store_dir, NrOverlayMode kind)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/overlay", store_dir);
    if (kind == NR_OVERLAY_AUTO || access(path, F_OK) == 0)
        return;
    NrError ignored = { 0 };
    nr_write_file_at(AT_FDCWD, path, overlay_names[kind], 0644, &ignored);
}

NrOverlayMode nr_ctr_read_overlay(const char *store_dir)
{
    char path[PATH_MAX], kind[16] = "";
    snprintf(path, sizeof path, "%s/overlay", store_dir);
    nr_read_line(path, kind, sizeof kind);
    int m = CHOICE(kind, overlay_names);
    return m > 0 ? (NrOverlayMode)m : NR_OVERLAY_AUTO;
}

/* ---- what `run` records ---- */

const char *nr_ctr_image_key(const NrRunConfig *plan)
{
    /* a plain directory or squashfs file: its absolute path */
    return plan->img.dir ? plan->img.id : plan->lower ? plan->lower : plan->squashfs;
}

int nr_ctr_claim(const char *name, NrCtr *c, int *ret_lock, NrError *err)
{
    nr_autofree char *store = nr_store_dir(err);
    if (!store)
        return -1;
    free(c->store_dir);
    c->store_dir = nr_strdup_printf("%s/containers/%s", store, name);
    if (nr_mkdir_p(c->store_dir, 0700, err) < 0)
        return -1;
    int r = nr_ctr_lock(c->store_dir, ret_lock, err);
    if (r != 0)
        return r;
    /* held until nroot exits: nothing else starts, removes or exports it */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config", c->store_dir);
    if (access(path, F_OK) == 0 && nr_ctr_read_config(path, c, err) < 0)
        return -1;
    c->overlay = nr_ctr_read_overlay(c->store_dir);
    return 0;
}

void nr_ctr_record_plan(NrCtr *c, const NrRunConfig *plan)
{
    snprintf(c->id, sizeof c->id, "%s", plan->cid);
    snprintf(c->name, sizeof c->name, "%s", plan->name ? plan->name : "");
    char *image = nr_xstrdup(plan->ctr_image ? plan->ctr_image : plan->image);
    free(c->image);
    c->image = image;
    free(c->image_key);
    c->image_key = nr_xstrdup(nr_ctr_image_key(plan));
    nr_strv_clear(&c->command);
    for (char **a = plan->argv; *a; a++)
        nr_strv_push(&c->command, *a);
    c->pty = plan->pty;
    c->interactive = plan->interactive;
    c->userns = plan->userns;
    if (!c->created)
        c->created = (int64_t)time(NULL);
}

/* RT/containers/<id>: the live state (and an unnamed container's config
 * and log); left over from a killed run of the same named container, it
 * is emptied.  The directory itself is locked for as long as this nroot
 * (or its forks) lives: a run killed before it wrote the config leaves an
 * unlocked directory that nothing lists, and prune removes it
 * (nr_ctr_prune_runtime) while holding that lock. */
int nr_ctr_make_runtime(NrCtr *c, int *ret_lock, NrError *err)
{
    const char *root = nr_ctr_runtime_root(err);
    if (!root)
        return -1;
    free(c->rt_dir);
    c->rt_dir = nr_strdup_printf("%s/%s", root, c->id);
    for (int tries = 0; tries < 200; tries++) {
        if (mkdir(c->rt_dir, 0700) < 0) {
            if (errno != EEXIST)
                return nr_error_errno(err, "cannot create '%s'", c->rt_dir);
            static const char *const files[] = { "state", "state.tmp", "config", "config.tmp",
                                                 "log" };
            for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof p, "%s/%s", c->rt_dir, files[i]);
                unlink(p);
            }
        }
        int fd = open(c->rt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return nr_error_errno(err, "cannot open '%s'", c->rt_dir);
        struct stat a, b;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 && stat(c->rt_dir, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            *ret_lock = fd;
            return 0;
        }
        /* a prune is removing it: again, once it is gone */
        close(fd);
        usleep(10000);
    }
    return nr_error_msg(err, "'%s' stays locked by another nroot", c->rt_dir);
}

int nr_ctr_write_live(NrCtr *c, const NrRunConfig *plan, pid_t init_pid, int *ret_fd, NrError *err)
{
    NrError e = { 0 };
    char path[PATH_MAX], tmp[PATH_MAX];
    *ret_fd = -1;
    c->started = (int64_t)time(NULL);
    if (c->store_dir)
        nr_ctr_write_state(c, true, &e);
    else
        nr_ctr_write_config(c, plan, &e);
    snprintf(tmp, sizeof tmp, "%s/state.tmp", c->rt_dir);
    snprintf(path, sizeof path, "%s/state", c->rt_dir);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        nr_error_errno(err, "cannot record the container's state in '%s'", tmp);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    FILE *f = fdopen(dup(fd), "w");
    if (f) {
        char num[32];
#define PUT_NUM(k, v) (snprintf(num, sizeof num, "%lld", (long long)(v)), nr_kv_put(f, k, num))
        nr_kv_put(f, "id", c->id);
        nr_kv_put(f, "name", c->name);
        PUT_NUM("pid", getpid());
        PUT_NUM("pid_start", nr_proc_start_time(getpid()));
        PUT_NUM("init_pid", init_pid);
        PUT_NUM("init_start", nr_proc_start_time(init_pid));
        PUT_NUM("started", c->started);
        nr_kv_put(f, "detached", plan->detach ? "1" : "0");
        for (int i = 0; i < NR_NS_SLOTS; i++) {
            char key[32];
            snprintf(key, sizeof key, "ns_%s", nr_ns_names[i]);
            if (c->ns_fd[i] >= 0)
                PUT_NUM(key, c->ns_fd[i]);
        }
#undef PUT_NUM
        fclose(f);
    }
    if (rename(tmp, path) < 0) {
        close(fd);
        return 0;
    }
    *ret_fd = fd;
    return 0;
}

int nr_ctr_finish(NrCtr *c, int live_fd, int status, bool remove, NrError *err)
{
    c->exit_code = status;
    c->finished = (int64_t)time(NULL);
    if (live_fd >= 0) {
        /* `wait` may hold the file open: it reads this after nroot ends */
        lseek(live_fd, 0, SEEK_END);
        dprintf(live_fd, "exit_code=%d\nfinished=%lld\n", status, (long long)c->finished);
    }
    /* the store's record first: a reader that finds no live state then
     * finds the exit code there, never the "running" record of the start */
    int rc = 0;
    if (c->store_dir)
        rc = remove ? nr_ctr_remove(c, err) : nr_ctr_write_state(c, false, err);
    nr_ctr_remove_runtime(c->rt_dir);
    return rc;
}

/* ---- a plan from a container's config ---- */

static const char *dup_or_null(const char *s)
{
    return s ? nr_xstrdup(s) : NULL;
}

int nr_ctr_plan(const NrCtr *c, NrRunConfig *cfg, NrError *err)
{
    const NrRunConfig *p = c->plan;
    if (!p)
        return nr_error_msg(err, "container '%s' has no options recorded",
                            c->name[0] ? c->name : c->id);
    memset(cfg, 0, sizeof *cfg);
    cfg->image = nr_xstrdup(c->image_key ? c->image_key : "");
    cfg->name = c->name[0] ? nr_xstrdup(c->name) : NULL;
    cfg->pty = c->pty;
    cfg->interactive = c->interactive;
    cfg->image_ref = dup_or_null(p->image_ref);
    cfg->entrypoint = dup_or_null(p->entrypoint);
    cfg->workdir = dup_or_null(p->workdir);
    cfg->user = dup_or_null(p->user);
    cfg->hostname = dup_or_null(p->hostname);
    cfg->time_offsets = p->time_offsets;
    cfg->seccomp_profile = dup_or_null(p->seccomp_profile);
    if (p->args) {
        NrStrv args = { 0 };
        for (char **a = p->args; *a; a++)
            nr_strv_push(&args, *a);
        cfg->args = args.v;
    }
    for (size_t i = 0; i < p->env.n; i++)
        nr_strv_push(&cfg->env, p->env.v[i]);
    for (size_t i = 0; i < p->devices.n; i++)
        nr_strv_push(&cfg->devices, p->devices.v[i]);
    cfg->userns = p->userns;
    cfg->net = p->net;
    cfg->net_ctr = dup_or_null(p->net_ctr);
    cfg->net_given = p->net_given;
    for (size_t i = 0; i < p->networks.n; i++)
        nr_strv_push(&cfg->networks, p->networks.v[i]);
    for (size_t i = 0; i < p->net_aliases.n; i++)
        nr_strv_push(&cfg->net_aliases, p->net_aliases.v[i]);
    cfg->host_loopback = p->host_loopback;
    cfg->tcp_bypass = p->tcp_bypass;
    cfg->overlay = p->overlay;
    cfg->root_emulation = p->root_emulation;
    cfg->read_only = p->read_only;
    cfg->caps = p->caps;
    cfg->rm = p->rm;
    cfg->limits = p->limits;
    if (p->n_volumes) {
        cfg->volumes = nr_xmalloc(p->n_volumes * sizeof *cfg->volumes);
        for (size_t i = 0; i < p->n_volumes; i++) {
            cfg->volumes[i] = p->volumes[i];
            cfg->volumes[i].src = nr_xstrdup(p->volumes[i].src);
            cfg->volumes[i].dst = nr_xstrdup(p->volumes[i].dst);
        }
        cfg->n_volumes = p->n_volumes;
    }
    if (p->n_ports) {
        cfg->ports = nr_xmalloc(p->n_ports * sizeof *cfg->ports);
        for (size_t i = 0; i < p->n_ports; i++) {
            cfg->ports[i] = p->ports[i];
            cfg->ports[i].spec = nr_xstrdup(p->ports[i].spec);
        }
        cfg->n_ports = p->n_ports;
    }
    return 0;
}

void nr_ctr_network_label(const NrCtr *c, char *buf, size_t size)
{
    const NrRunConfig *p = c->plan;
    if (!p)
        snprintf(buf, size, "-");
    else if (p->net == NR_NET_CONTAINER)
        snprintf(buf, size, "container:%s", p->net_ctr);
    else if (p->net == NR_NET_USER) {
        /* the user networks, in order: web,db */
        size_t off = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < p->networks.n && off < size; i++)
            off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "", p->networks.v[i]);
    } else
        snprintf(buf, size, "%s", net_names[p->net]);
}
