/* cli.c — the option table of `nroot run`.  One table drives getopt_long,
 * `--help` and (later) completions and the docs test, so they cannot drift. */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "nr-run.h"

enum {
    OPT_VOLUME = 'v', OPT_WORKDIR = 'w', OPT_USER = 'u', OPT_ENV = 'e',
    OPT_QUIET = 'q', OPT_HELP = 'h',
    OPT_READ_ONLY = 256, OPT_OVERLAY, OPT_USERNS, OPT_CAP_ADD, OPT_CAP_DROP,
    OPT_ENV_FILE, OPT_HOSTNAME, OPT_NET,
};

typedef struct NrOption {
    const char *name;
    int         id;       /* getopt value; a printable char is also the short option */
    const char *arg;      /* metavariable, NULL when the option takes none */
    const char *group;
    const char *help;
    const char *values;   /* fixed choices, for help and completion */
} NrOption;

static const NrOption run_options[] = {
    { "volume",    OPT_VOLUME,    "HOST:CTR[:ro]", "Filesystem",
      "bind-mount the host path HOST at CTR; ':ro' makes it read-only (repeatable)", NULL },
    { "read-only", OPT_READ_ONLY, NULL,            "Filesystem",
      "mount the image read-only, with no writable layer", NULL },
    { "overlay",   OPT_OVERLAY,   "MODE",          "Filesystem",
      "copy-on-write layer: kernel overlayfs, fuse-overlayfs, or auto (kernel, falling "
      "back to fuse; default, or $NROOT_OVERLAY)", "auto kernel fuse" },
    { "workdir",   OPT_WORKDIR,   "DIR",           "Filesystem",
      "start the command in DIR inside the container (created if missing)", NULL },
    { "user",      OPT_USER,      "USER[:GROUP]",  "Identity",
      "run the command as USER (a uid or a name from the image's /etc/passwd)", NULL },
    { "userns",    OPT_USERNS,    "MODE",          "Identity",
      "id mapping: auto (subordinate ids if granted, else single id), subids (require "
      "them), single (only your id, as root), keep-id (your own uid/gid inside)",
      "auto subids single keep-id" },
    { "cap-add",   OPT_CAP_ADD,   "CAP",           "Identity",
      "add a capability to the default set (e.g. NET_ADMIN, or ALL) (repeatable)", NULL },
    { "cap-drop",  OPT_CAP_DROP,  "CAP",           "Identity",
      "drop a capability from the default set (e.g. CHOWN, or ALL) (repeatable)", NULL },
    { "env",       OPT_ENV,       "KEY[=VALUE]",   "Environment",
      "set KEY inside; without =VALUE copy it from nroot's environment (repeatable)", NULL },
    { "env-file",  OPT_ENV_FILE,  "FILE",          "Environment",
      "read KEY=VALUE lines from FILE ('#' starts a comment) (repeatable)", NULL },
    { "hostname",  OPT_HOSTNAME,  "NAME",          "Environment",
      "the container's host name (default: its short id)", NULL },
    { "net",       OPT_NET,       "MODE",          "Network",
      "none: a private network with loopback only (default); host: the host's network",
      "none host" },
    { "network",   OPT_NET,       "MODE",          NULL, NULL, "none host" },
    { "quiet",     OPT_QUIET,     NULL,            "General",
      "print no notices", NULL },
    { "help",      OPT_HELP,      NULL,            "General",
      "show this help and exit", NULL },
};
#define N_RUN_OPTIONS (sizeof run_options / sizeof run_options[0])

static const char *const groups[] = { "Filesystem", "Identity", "Environment", "Network", "General" };

void nr_cli_main_help(void)
{
    printf("Usage: nroot [--version] [--help] COMMAND [ARG...]\n\n"
           "Rootless containers: no root, no daemon, no setuid binary of its own.\n\n"
           "Commands:\n"
           "  run       run a command in a new container\n\n"
           "Options:\n"
           "  -h, --help     show this help and exit\n"
           "  -V, --version  print the version and exit\n\n"
           "Run 'nroot COMMAND --help' for the options of a command; see nroot(1).\n");
}

void nr_cli_run_help(void)
{
    printf("Usage: nroot run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]\n\n"
           "Run COMMAND (default /bin/sh) in a new rootless container whose root is ROOTFS:\n"
           "a directory, or a rootfs tarball (tar, gzip, xz, zstd, bzip2), which is unpacked\n"
           "once into the store and reused.  Writes go to a throw-away layer; the image is\n"
           "never modified.\n");
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        printf("\n%s:\n", groups[g]);
        for (size_t i = 0; i < N_RUN_OPTIONS; i++) {
            const NrOption *o = &run_options[i];
            if (!o->group || strcmp(o->group, groups[g]) != 0)
                continue;
            char left[64];
            if (o->id < 256)
                snprintf(left, sizeof left, "-%c, --%s%s%s", o->id, o->name, o->arg ? "=" : "",
                         o->arg ? o->arg : "");
            else
                snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? "=" : "",
                         o->arg ? o->arg : "");
            printf("  %-26s", left);
            int col = 28;
            if (strlen(left) >= 26) {
                printf("\n%28s", "");
            }
            /* wrap the help at 79 columns */
            const char *h = o->help;
            bool first = true;
            while (*h) {
                while (*h == ' ')
                    h++;
                size_t w = strcspn(h, " ");
                if (!first && col + 1 + (int)w > 79) {
                    printf("\n%28s", "");
                    col = 28;
                } else if (!first) {
                    putchar(' ');
                    col++;
                }
                printf("%.*s", (int)w, h);
                col += (int)w;
                h += w;
                first = false;
            }
            putchar('\n');
        }
    }
    printf("\nExit status: 125 if nroot fails, 126 if COMMAND cannot be executed, 127 if it\n"
           "is not found, 128+N if it is killed by signal N, otherwise COMMAND's status.\n");
}

static int parse_choice(const NrOption *o, const char *val, NrError *err)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", o->values);
    int idx = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save), idx++)
        if (strcmp(t, val) == 0)
            return idx;
    nr_error_msg(err, "invalid value '%s' for --%s: expected one of: %s", val, o->name, o->values);
    return -1;
}

static const NrOption *find_opt(int id)
{
    for (size_t i = 0; i < N_RUN_OPTIONS; i++)
        if (run_options[i].id == id)
            return &run_options[i];
    return NULL;
}

static bool valid_env_key(const char *k, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (k[i] == '=' || k[i] == '\0')
            return false;
    return true;
}

static int add_env(NrRunConfig *cfg, const char *spec, const char *where, NrError *err)
{
    const char *eq = strchr(spec, '=');
    size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
    if (!valid_env_key(spec, klen))
        return nr_error_msg(err, "invalid environment variable '%s'%s: expected KEY=VALUE or KEY",
                            spec, where);
    if (eq) {
        nr_strv_push(&cfg->env, spec);
        return 0;
    }
    const char *v = getenv(spec);
    if (v)
        nr_strv_take(&cfg->env, nr_strdup_printf("%s=%s", spec, v));
    return 0;
}

static int read_env_file(NrRunConfig *cfg, const char *path, NrError *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return nr_error_errno(err, "--env-file '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, " in '%s' line %d", path, lineno);
        rc = add_env(cfg, p, where, err);
    }
    free(line);
    fclose(f);
    return rc;
}

static int parse_volume(NrRunConfig *cfg, const char *spec, NrError *err)
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
                return nr_error_msg(err, "invalid volume '%s': unknown option '%s' "
                                    "(expected ro or rw)", spec, o);
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
        .src = nr_xstrdup(real), .dst = nr_xstrdup(ctr), .ro = ro, .src_is_dir = S_ISDIR(st.st_mode),
    };
    return 0;
}

static int check_user_spec(const char *spec, NrError *err)
{
    const char *colon = strchr(spec, ':');
    if (!*spec || colon == spec || (colon && (!colon[1] || strchr(colon + 1, ':'))))
        return nr_error_msg(err, "invalid user '%s': expected USER[:GROUP] (a name or a number)", spec);
    for (const char *p = spec; *p; p++)
        if (isspace((unsigned char)*p) || *p == '/')
            return nr_error_msg(err, "invalid user '%s': expected USER[:GROUP] (a name or a number)", spec);
    return 0;
}

static int check_hostname(const char *h, NrError *err)
{
    size_t n = strlen(h);
    if (n == 0 || n > 64)
        return nr_error_msg(err, "invalid hostname '%s': 1 to 64 characters", h);
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return nr_error_msg(err, "invalid hostname '%s': letters, digits, '-', '_' and '.' only", h);
    return 0;
}

int nr_cli_parse_run(int argc, char **argv, NrRunConfig *cfg, NrError *err)
{
    struct option longopts[N_RUN_OPTIONS + 1];
    char shortopts[64] = "+:";
    size_t s = 2;
    for (size_t i = 0; i < N_RUN_OPTIONS; i++) {
        const NrOption *o = &run_options[i];
        longopts[i] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->id };
        if (o->id < 256 && !strchr(shortopts, o->id)) {
            shortopts[s++] = (char)o->id;
            if (o->arg)
                shortopts[s++] = ':';
        }
    }
    shortopts[s] = '\0';
    longopts[N_RUN_OPTIONS] = (struct option){ 0 };

    cfg->caps = nr_caps_default();
    const char *ov = getenv("NROOT_OVERLAY");
    if (ov && *ov) {
        int c = parse_choice(find_opt(OPT_OVERLAY), ov, err);
        if (c < 0) {
            nr_error_prefix(err, "$NROOT_OVERLAY");
            return -1;
        }
        cfg->overlay = (NrOverlayMode)c;
    }
    uint64_t add = 0, drop = 0;
    bool drop_all = false;

    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const NrOption *o = find_opt(c);
        int v;
        uint64_t mask;
        switch (c) {
        case OPT_HELP:
            nr_cli_run_help();
            return NR_CLI_HELP;
        case OPT_QUIET:
            nr_quiet = true;
            break;
        case OPT_VOLUME:
            if (parse_volume(cfg, optarg, err) < 0)
                return -1;
            break;
        case OPT_READ_ONLY:
            cfg->read_only = true;
            break;
        case OPT_OVERLAY:
            if ((v = parse_choice(o, optarg, err)) < 0)
                return -1;
            cfg->overlay = (NrOverlayMode)v;
            break;
        case OPT_WORKDIR:
            if (optarg[0] != '/')
                return nr_error_msg(err, "invalid workdir '%s': must be an absolute path", optarg);
            cfg->workdir = optarg;
            break;
        case OPT_USER:
            if (check_user_spec(optarg, err) < 0)
                return -1;
            cfg->user = optarg;
            break;
        case OPT_USERNS:
            if ((v = parse_choice(o, optarg, err)) < 0)
                return -1;
            cfg->userns = (NrUsernsMode)v;
            break;
        case OPT_CAP_ADD:
        case OPT_CAP_DROP:
            if (nr_caps_parse(optarg, &mask, err) < 0)
                return -1;
            if (c == OPT_CAP_ADD)
                add |= mask;
            else {
                drop |= mask;
                drop_all |= strcasecmp(optarg, "all") == 0;
            }
            break;
        case OPT_ENV:
            if (add_env(cfg, optarg, "", err) < 0)
                return -1;
            break;
        case OPT_ENV_FILE:
            if (read_env_file(cfg, optarg, err) < 0)
                return -1;
            break;
        case OPT_HOSTNAME:
            if (check_hostname(optarg, err) < 0)
                return -1;
            cfg->hostname = optarg;
            break;
        case OPT_NET:
            if ((v = parse_choice(o, optarg, err)) < 0)
                return -1;
            cfg->net = (NrNetMode)v;
            break;
        case ':':
            return nr_error_msg(err, "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && optopt < 256)
                nr_error_msg(err, "unknown option '-%c'", optopt);
            else
                nr_error_msg(err, "unknown option '%s'", argv[optind - 1]);
            nr_error_hint(err, "see 'nroot run --help'");
            return -1;
        }
    }
    /* docker semantics: drops apply to the default set, adds win over drops,
     * except that --cap-drop=ALL with --cap-add=X keeps only X */
    cfg->caps = drop_all ? add : ((cfg->caps & ~drop) | add);

    if (optind >= argc) {
        nr_error_msg(err, "missing ROOTFS");
        nr_error_hint(err, "usage: nroot run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]");
        return -1;
    }
    cfg->image = argv[optind++];
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    static char *default_cmd[] = { "/bin/sh", NULL };
    cfg->argv = optind < argc ? &argv[optind] : default_cmd;
    return NR_CLI_RUN;
}
