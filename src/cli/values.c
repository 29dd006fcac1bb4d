/* SPDX-License-Identifier: Apache-2.0 */
/* values.c — the values of run's and exec's options: volume, port,
 * environment and env-file, user, hostname and security-opt specs, checked
 * and turned into the plan's data.  No getopt here: cli.c calls these for
 * the options it parsed (tests/unit/values.c tests them). */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "values.h"
#include "nr-error.h"
#include "nr-plan.h"
#include "nr-util.h"

static bool valid_env_key(const char *k, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (k[i] == '=' || k[i] == '\0')
            return false;
    return true;
}

int nr_cli_add_env(NrStrv *env, const char *spec, const char *where, NrError *err)
{
    const char *eq = strchr(spec, '=');
    size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
    if (!valid_env_key(spec, klen))
        return nr_error_msg(err, "invalid environment variable '%s'%s: expected KEY=VALUE or KEY",
                            spec, where);
    if (eq) {
        nr_strv_push(env, spec);
        return 0;
    }
    const char *v = getenv(spec);
    if (v)
        nr_strv_take(env, nr_strdup_printf("%s=%s", spec, v));
    return 0;
}

/* an --env-file: a regular file of at most NR_ENV_FILE_MAX bytes (the man
 * pages of run and exec say so), read whole before any of it is used, so
 * a read error never leaves a part */
#define NR_ENV_FILE_MAX (1u << 20)
int nr_cli_read_env_file(NrStrv *env, const char *path, NrError *err)
{
    nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return nr_error_errno(err, "--env-file '%s'", path);
    size_t len = 0;
    nr_autofree char *text = nr_read_fd(fd, path, NR_ENV_FILE_MAX, &len, err);
    if (!text) {
        nr_error_prefix(err, "--env-file");
        return -1;
    }
    if (strlen(text) != len)
        return nr_error_msg(err, "--env-file '%s' holds a NUL byte: not an environment file", path);
    int lineno = 0;
    for (char *line = text, *next; line && line < text + len; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t n = strlen(line);
        while (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, " in '%s' line %d", path, lineno);
        if (nr_cli_add_env(env, p, where, err) < 0)
            return -1;
    }
    return 0;
}

int nr_cli_parse_volume(NrRunConfig *cfg, const char *spec, NrError *err)
{
    nr_autofree char *copy = nr_xstrdup(spec);
    char *host = copy, *ctr = strchr(copy, ':'), *opts = NULL;
    if (!ctr || ctr == host || !ctr[1])
        return nr_error_msg(err, "invalid volume '%s': expected HOST:CONTAINER[:OPTIONS]", spec);
    *ctr++ = '\0';
    opts = strchr(ctr, ':');
    if (opts)
        *opts++ = '\0';
    if (ctr[0] != '/')
        return nr_error_msg(err, "invalid volume '%s': the container path '%s' is not absolute",
                            spec, ctr);
    bool ro = false;
    if (opts) {
        char *save = NULL;
        if (!*opts)
            return nr_error_msg(err, "invalid volume '%s': empty options", spec);
        for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
            if (strcmp(o, "ro") == 0)
                ro = true;
            else if (strcmp(o, "rw") == 0)
                ro = false;
            else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0 || strcmp(o, "rbind") == 0)
                ; /* SELinux relabel requests and rbind (always recursive): accepted */
            else
                return nr_error_msg(err,
                                    "invalid volume '%s': unknown option '%s' "
                                    "(expected ro or rw)",
                                    spec, o);
        }
    }
    char real[PATH_MAX];
    if (!realpath(host, real))
        return nr_error_errno(err, "volume source '%s'", host);
    struct stat st;
    if (stat(real, &st) < 0)
        return nr_error_errno(err, "volume source '%s'", host);
    cfg->volumes = realloc(cfg->volumes, (cfg->n_volumes + 1) * sizeof *cfg->volumes);
    if (!cfg->volumes)
        return nr_error_msg(err, "out of memory");
    cfg->volumes[cfg->n_volumes++] = (NrVolume){
        .src = nr_xstrdup(real),
        .dst = nr_xstrdup(ctr),
        .ro = ro,
        .src_is_dir = S_ISDIR(st.st_mode),
    };
    return 0;
}

int nr_cli_check_user(const char *spec, NrError *err)
{
    if (!nr_user_spec_valid(spec))
        return nr_error_msg(err, "invalid user '%s': expected USER[:GROUP] (a name or a number)",
                            spec);
    return 0;
}

int nr_cli_check_hostname(const char *h, NrError *err)
{
    size_t n = strlen(h);
    if (n == 0 || n > 64)
        return nr_error_msg(err, "invalid hostname '%s': 1 to 64 characters", h);
    if (!nr_hostname_valid(h))
        return nr_error_msg(err, "invalid hostname '%s': letters, digits, '-', '_' and '.' only",
                            h);
    return 0;
}

static bool parse_port_number(const char *s, uint16_t *ret)
{
    uint32_t v;
    if (!nr_parse_u32(s, &v) || v == 0 || v > 65535)
        return false;
    *ret = (uint16_t)v;
    return true;
}

/* [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]; an IPv6 HOSTIP in brackets */
int nr_cli_parse_port(NrRunConfig *cfg, const char *spec, NrError *err)
{
    nr_autofree char *copy = nr_xstrdup(spec);
    NrPort p = { .spec = spec, .host_family = AF_UNSPEC };
    char *proto = strchr(copy, '/');
    if (proto) {
        *proto++ = '\0';
        if (strcmp(proto, "udp") == 0)
            p.udp = true;
        else if (strcmp(proto, "tcp") != 0)
            return nr_error_msg(err, "invalid port '%s': the protocol is tcp or udp", spec);
    }
    char *ctr = strrchr(copy, ':');
    if (!ctr)
        return nr_error_msg(err, "invalid port '%s': expected [IP:]HOSTPORT:PORT[/udp]", spec);
    *ctr++ = '\0';
    char *host = copy, *ip = NULL;
    char *colon = strrchr(copy, ':');
    if (colon) {
        *colon = '\0';
        ip = copy;
        host = colon + 1;
        size_t n = strlen(ip);
        if (ip[0] == '[' && n > 2 && ip[n - 1] == ']') {
            ip[n - 1] = '\0';
            ip++;
            if (inet_pton(AF_INET6, ip, &p.host_addr6) != 1)
                return nr_error_msg(err, "invalid port '%s': '%s' is not an IPv6 address", spec,
                                    ip);
            p.host_family = AF_INET6;
        } else if (inet_pton(AF_INET, ip, &p.host_addr4) == 1) {
            p.host_family = AF_INET;
        } else
            return nr_error_msg(err, "invalid port '%s': '%s' is not an IP address (IPv6 in [ ])",
                                spec, ip);
    }
    if (!parse_port_number(host, &p.host_port) || !parse_port_number(ctr, &p.ctr_port))
        return nr_error_msg(err, "invalid port '%s': ports are numbers from 1 to 65535", spec);
    NrPort *grown = realloc(cfg->ports, (cfg->n_ports + 1) * sizeof *grown);
    if (!grown)
        return nr_error_msg(err, "out of memory");
    cfg->ports = grown;
    cfg->ports[cfg->n_ports++] = p;
    return 0;
}

/* --security-opt: seccomp=unconfined|FILE, no-new-privileges (docker's
 * "seccomp:FILE" spelling too) */
int nr_cli_parse_security_opt(NrRunConfig *cfg, const char *spec, NrError *err)
{
    if (strcmp(spec, "no-new-privileges") == 0 || strcmp(spec, "no-new-privileges=true") == 0 ||
        strcmp(spec, "no-new-privileges:true") == 0)
        return 0; /* always set (inside/payload.c) */
    if (strncmp(spec, "no-new-privileges", 17) == 0 && (spec[17] == '=' || spec[17] == ':'))
        return nr_error_msg(err, "invalid --security-opt '%s': no_new_privs is always set by nroot",
                            spec);
    if (strncmp(spec, "seccomp", 7) != 0 || (spec[7] != '=' && spec[7] != ':'))
        return nr_error_msg(err,
                            "unsupported --security-opt '%s': nroot takes seccomp=unconfined, "
                            "seccomp=PROFILE.json and no-new-privileges",
                            spec);
    const char *v = spec + 8;
    if (!*v)
        return nr_error_msg(err,
                            "invalid --security-opt '%s': expected seccomp=unconfined or "
                            "seccomp=PROFILE.json",
                            spec);
    if (strcmp(v, "unconfined") == 0) {
        cfg->seccomp_profile = "unconfined";
        return 0;
    }
    /* absolute: `start` finds it again from anywhere (the compiler,
     * nroot-unpack, checks the file; exec takes the container's filter
     * even when the file is gone) */
    char real[PATH_MAX];
    if (realpath(v, real))
        cfg->seccomp_profile = nr_xstrdup(real);
    else if (v[0] == '/')
        cfg->seccomp_profile = v;
    else
        return nr_error_errno(err, "--security-opt: seccomp profile '%s'", v);
    return 0;
}

/* ---- --preserve-fds, --preserve-fd ---- */

#define NR_PRESERVE_MAX 4096 /* no fd number at or above this is taken */

static void push_fd(int **v, size_t *n, int fd)
{
    int *w = nr_xmalloc((*n + 1) * sizeof *w);
    if (*n)
        memcpy(w, *v, *n * sizeof *w);
    free(*v);
    w[(*n)++] = fd;
    *v = w;
}

int nr_cli_add_preserve(int **v, size_t *n, const char *arg, bool count, NrError *err)
{
    uint32_t k;
    if (count) {
        if (!nr_parse_u32(arg, &k) || k > NR_PRESERVE_MAX - 3)
            return nr_error_msg(err, "invalid --preserve-fds '%s': a number of fds (3 and up)",
                                arg);
        for (uint32_t i = 0; i < k; i++)
            push_fd(v, n, (int)(3 + i));
        return 0;
    }
    nr_autofree char *list = nr_xstrdup(arg);
    char *save = NULL;
    int any = 0;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save), any++) {
        if (!nr_parse_u32(t, &k) || k < 3 || k >= NR_PRESERVE_MAX)
            return nr_error_msg(err,
                                "invalid --preserve-fd '%s': fd numbers of 3 and up, separated "
                                "by ','",
                                arg);
        push_fd(v, n, (int)k);
    }
    if (!any)
        return nr_error_msg(err, "--preserve-fd needs fd numbers, e.g. 3,5");
    return 0;
}

static int cmp_fd(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* PMI_FD as the command will see it: the last -e wins, else the host's */
static const char *pmi_fd(const NrStrv *env, bool env_host)
{
    const char *v = NULL;
    for (size_t i = 0; i < env->n; i++)
        if (strncmp(env->v[i], "PMI_FD=", 7) == 0)
            v = env->v[i] + 7;
    return v ? v : env_host ? getenv("PMI_FD") : NULL;
}

int nr_cli_finish_preserve(int **v, size_t *n, const NrStrv *env, bool env_host, NrError *err)
{
    const char *pmi = pmi_fd(env, env_host);
    uint32_t k;
    if (pmi && *pmi) {
        if (!nr_parse_u32(pmi, &k) || k < 3 || k >= NR_PRESERVE_MAX)
            return nr_error_msg(err, "PMI_FD '%s' is not an fd number of 3 and up", pmi);
        push_fd(v, n, (int)k);
    }
    if (!*n)
        return 0;
    qsort(*v, *n, sizeof **v, cmp_fd);
    size_t m = 0;
    for (size_t i = 0; i < *n; i++)
        if (m == 0 || (*v)[m - 1] != (*v)[i])
            (*v)[m++] = (*v)[i];
    *n = m;
    for (size_t i = 0; i < m; i++) {
        int fd = (*v)[i];
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
            return nr_error_msg(err, "fd %d is to be passed to the command, but it is not open%s",
                                fd, pmi && (uint32_t)fd == k ? " (PMI_FD)" : "");
    }
    return 0;
}
