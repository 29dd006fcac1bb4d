/* SPDX-License-Identifier: Apache-2.0 */
/* payload.c — the container's command: its stdio (the terminal of the
 * container's own with -t), user and groups from the image's /etc files,
 * environment, capabilities, seccomp filter, and exec.  PID 1 (init.c)
 * forks it; `nroot exec` runs the same steps for its command. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/capability.h>
#include <termios.h>

#include "nr-aside.h"
#include "nr-caps.h"
#include "nr-devices.h"
#include "nr-error.h"
#include "nr-filter.h"
#include "nr-ocirun.h"
#include "nr-payload.h"
#include "nr-plan.h"
#include "nr-spawn.h"
#include "nr-userns.h"
#include "nr-util.h"

extern char **environ;

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41) /* Linux 4.13 */
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct Ident {
    uid_t uid;
    gid_t gid;
    char home[256];
    char name[64];
    bool found; /* the user has a line in /etc/passwd */
    gid_t groups[64];
    int n_groups;
} Ident;

/* /etc/passwd and /etc/group of the image, read by hand: NSS modules of
 * the host must not be loaded into the container.  The image decides what
 * they are: only a regular file of at most NR_READ_MAX bytes is read (a
 * FIFO would hang the start, /dev/zero or a huge sparse file would never
 * end); anything else counts as no file. */
static const char *etc_unusable;

static FILE *open_etc(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    FILE *f = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= NR_READ_MAX &&
        fcntl(fd, F_SETFL, 0) == 0)
        f = fdopen(fd, "re");
    if (!f) {
        etc_unusable = path;
        close(fd);
    }
    return f;
}

static bool passwd_lookup(const char *name, uid_t uid, bool by_name, Ident *id)
{
    FILE *f = open_etc("/etc/passwd");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *fld[7] = { 0 }, *p = line;
        int n = 0;
        while (n < 7 && (fld[n] = strsep(&p, ":\n")))
            n++;
        if (n < 6)
            continue;
        uint32_t u, g;
        if (!nr_parse_u32(fld[2], &u) || !nr_parse_u32(fld[3], &g))
            continue;
        if (by_name ? strcmp(fld[0], name) != 0 : u != uid)
            continue;
        id->uid = u;
        id->gid = g;
        snprintf(id->home, sizeof id->home, "%s", fld[5][0] ? fld[5] : "/");
        snprintf(id->name, sizeof id->name, "%s", fld[0]);
        found = true;
    }
    fclose(f);
    return found;
}

static bool group_lookup(const char *name, gid_t *ret)
{
    FILE *f = open_etc("/etc/group");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *p = line, *gname = strsep(&p, ":"), *pw = strsep(&p, ":"), *gid = strsep(&p, ":");
        uint32_t g;
        (void)pw;
        if (gname && gid && strcmp(gname, name) == 0 && nr_parse_u32(gid, &g)) {
            *ret = g;
            found = true;
        }
    }
    fclose(f);
    return found;
}

static void supplementary_groups(Ident *id)
{
    FILE *f = open_etc("/etc/group");
    if (!f)
        return;
    char line[4096];
    while (id->n_groups < 64 && fgets(line, sizeof line, f)) {
        char *p = line;
        strsep(&p, ":");
        strsep(&p, ":");
        char *gid = strsep(&p, ":"), *members = strsep(&p, "\n");
        uint32_t g;
        if (!gid || !members || !nr_parse_u32(gid, &g))
            continue;
        for (char *m = strsep(&members, ","); m; m = strsep(&members, ","))
            if (strcmp(m, id->name) == 0 && g != id->gid)
                id->groups[id->n_groups++] = g;
    }
    fclose(f);
}

static int resolve_user(const NrRunConfig *cfg, Ident *id, NrError *err)
{
    memset(id, 0, sizeof *id);
    id->uid = cfg->map.user_uid;
    id->gid = cfg->map.user_gid;
    char spec[256];
    const char *group = NULL;
    if (cfg->user) {
        snprintf(spec, sizeof spec, "%s", cfg->user);
        char *colon = strchr(spec, ':');
        if (colon) {
            *colon = '\0';
            group = colon + 1;
        }
        uint32_t u;
        if (nr_parse_u32(spec, &u)) {
            id->found = passwd_lookup(NULL, u, false, id);
            id->uid = u;
            if (!id->found) /* the mapping's own user keeps its group */
                id->gid = u == cfg->map.user_uid ? cfg->map.user_gid : 0;
        } else if (!(id->found = passwd_lookup(spec, 0, true, id))) {
            return nr_error_msg(err, "user '%s' not found in the image's /etc/passwd%s", spec,
                                etc_unusable ? " (not a regular file of at most 16 MiB)" : "");
        }
    } else {
        id->found = passwd_lookup(NULL, id->uid, false, id);
        id->uid = cfg->map.user_uid;
        id->gid = cfg->map.user_gid;
    }
    if (group) {
        uint32_t g;
        if (nr_parse_u32(group, &g))
            id->gid = g;
        else if (!group_lookup(group, &id->gid))
            return nr_error_msg(err, "group '%s' not found in the image's /etc/group%s", group,
                                etc_unusable ? " (not a regular file of at most 16 MiB)" : "");
    }
    if (!id->found)
        snprintf(id->home, sizeof id->home, "%s", id->uid == 0 ? "/root" : "/");
    else
        supplementary_groups(id);
    return 0;
}

static void env_set(NrStrv *env, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], kv, klen) == 0 && env->v[i][klen] == '=') {
            free(env->v[i]);
            env->v[i] = nr_xstrdup(kv);
            return;
        }
    }
    nr_strv_push(env, kv);
}

/* --env-host: nroot's environment but its own variables (NROOT_*), those
 * the container sets itself below, and the dynamic loader's LD_PRELOAD and
 * LD_AUDIT: they name the host's libraries (a cluster's module, XALT,
 * darshan), which the container's ld.so would load into every program,
 * built for another libc, or complain about in every program (-e passes
 * them) */
static void host_env(NrStrv *env)
{
    static const char *const never[] = { "HOSTNAME=", "TERM=", "LD_PRELOAD=", "LD_AUDIT=" };
    for (char **e = environ; e && *e; e++) {
        bool pass = strchr(*e, '=') && strncmp(*e, "NROOT_", 6) != 0;
        for (size_t i = 0; pass && i < sizeof never / sizeof never[0]; i++)
            pass = strncmp(*e, never[i], strlen(never[i])) != 0;
        if (pass)
            env_set(env, *e);
    }
}

/* the last PATH= of v, or NULL */
static const char *path_in(const NrStrv *v)
{
    const char *r = NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strncmp(v->v[i], "PATH=", 5) == 0)
            r = v->v[i] + 5;
    return r;
}

const char *nr_payload_path(const NrRunConfig *cfg)
{
    /* build_env's order: -e over the devices' over the image's */
    const char *p = path_in(&cfg->env);
    if (!p)
        p = path_in(&cfg->dev.env);
    if (!p)
        p = path_in(&cfg->img.env);
    return p ? p : DEFAULT_PATH;
}

static void build_env(const NrRunConfig *cfg, const Ident *id, NrStrv *env)
{
    char buf[512], hn[65] = "";
    gethostname(hn, sizeof hn - 1);
    if (cfg->env_host)
        host_env(env);
    /* the container's PATH, not the host's (whose directories it does not
     * have): the image's, else the default; -e PATH passes the host's */
    env_set(env, "PATH=" DEFAULT_PATH);
    snprintf(buf, sizeof buf, "HOSTNAME=%s", hn);
    env_set(env, buf);
    snprintf(buf, sizeof buf, "HOME=%s", id->home);
    env_set(env, buf);
    env_set(env, "container=nroot");
    if (cfg->tty || cfg->pty) {
        const char *term = getenv("TERM");
        snprintf(buf, sizeof buf, "TERM=%s", term && *term ? term : "xterm");
        env_set(env, buf);
    }
    for (size_t i = 0; i < cfg->img.env.n; i++)
        env_set(env, cfg->img.env.v[i]);
    /* the devices' (CDI specs): over the image's, under -e */
    for (size_t i = 0; i < cfg->dev.env.n; i++)
        env_set(env, cfg->dev.env.v[i]);
    for (size_t i = 0; i < cfg->env.n; i++)
        env_set(env, cfg->env.v[i]);
}

/* the payload's stdin, stdout and stderr: the container's own terminal
 * with -t (its session's controlling terminal), else stdin from /dev/null
 * unless -i */
static int payload_stdio(const NrRunConfig *cfg, int slave, NrError *err)
{
    if (slave >= 0) {
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
            return nr_error_errno(err, "-t: cannot make the terminal the command's own");
        for (int fd = 0; fd < 3; fd++)
            if (dup2(slave, fd) < 0)
                return nr_error_errno(err, "-t: dup2");
        if (slave > 2)
            close(slave);
        return 0;
    }
    if (!cfg->interactive) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
            return nr_error_errno(err, "cannot open /dev/null for stdin");
        close(fd);
    }
    return 0;
}

/* --tcp-bypass: the sync socket, kept by PID 1's child for the filter's
 * listener (nr_seccomp_apply_bypass); -1 in `nroot exec`'s command */
static int bypass_sock = -1;

void nr_payload_bypass_sock(int fd)
{
    bypass_sock = fd;
}

/* The payload starts in PID 1's memory (init.c, aside.c: CLONE_VM until
 * its exec): what it writes to globals (environ, these flags) stays there
 * for PID 1, which reads none of them afterwards. */

/* started by aside.c's thread, which ended since: no parent-death signal
 * (it would come at that thread's end; PID 1's death ends the PID
 * namespace anyway); what that thread did for it; `go`: PID 1's word that
 * the payload may go on to its exec (init.c) */
static bool from_aside, bounded;
static NrAsideDone aside_done;
static int go_fd = -1;

void nr_payload_aside(const NrAsideDone *done, bool bound, int go)
{
    from_aside = true;
    aside_done = *done;
    bounded = bound;
    go_fd = go;
}

bool nr_payload_root_alone(const NrRunConfig *cfg)
{
    const NrIdMap *m = &cfg->map;
    if (m->helpers || m->n_uid != 1 || m->uid[0].inside != 0 || m->uid[0].count != 1 ||
        m->n_gid != 1 || m->gid[0].inside != 0 || m->gid[0].count != 1)
        return false;
    if (!cfg->user)
        return m->user_uid == 0;
    char spec[256];
    snprintf(spec, sizeof spec, "%s", cfg->user);
    spec[strcspn(spec, ":")] = '\0';
    uint32_t u;
    return nr_parse_u32(spec, &u) && u == 0;
}

/* The payload: runs in a child of PID 1 (or of `nroot exec`, inside the
 * container's namespaces).  Returns only on failure. */
int nr_payload_exec(const NrRunConfig *cfg, int slave, bool first, NrError *err)
{
    if (cfg->oci)
        return nr_oci_exec(cfg, slave, err);
    /* PID 1 sets no handler: only what it ignores needs SIG_DFL */
    nr_signals_default_only(from_aside && aside_done.sigs ? &aside_done.ignored : NULL);
    if (payload_stdio(cfg, slave, err) < 0)
        return -1;
    Ident id;
    if (resolve_user(cfg, &id, err) < 0)
        return -1;
    if (nr_userns_check_ids(&cfg->map, cfg->user ? cfg->user : id.name, (long)id.uid, (long)id.gid,
                            err) < 0) {
        if (!cfg->user_from_image || cfg->map.helpers)
            return -1;
        /* the image's user by name, not mapped with a single id: as in
         * apply_image(), run as root, which is the caller's own id */
        nr_notice("the image's user '%s' is not mapped with a single-id mapping: running as "
                  "root (your own id)",
                  cfg->user);
        NrRunConfig plain = *cfg;
        plain.user = NULL;
        if (resolve_user(&plain, &id, err) < 0)
            return -1;
    }
    NrStrv env = { 0 };
    build_env(cfg, &id, &env);

    const char *wd = cfg->workdir ? cfg->workdir : "/";
    if (cfg->workdir && nr_mkdir_p(cfg->workdir, 0755, err) < 0) {
        nr_error_prefix(err, "workdir");
        return -1;
    }
    if (cfg->pty)
        (void)!fchown(STDIN_FILENO, id.uid, (gid_t)-1); /* the user's terminal, as login does */
    /* the thread that started it dropped them (aside.c) */
    if (!bounded && nr_caps_bound(cfg->caps, err) < 0)
        return -1;
    if (cfg->map.helpers) {
        gid_t groups[128];
        int n = 0;
        for (int i = 0; i < id.n_groups; i++)
            if (nr_userns_gid_mapped(&cfg->map, id.groups[i]))
                groups[n++] = id.groups[i];
        /* the devices' additionalGids (cdi.c kept the mapped ones) */
        for (size_t i = 0; i < cfg->dev.n_gids && n < 128; i++)
            groups[n++] = cfg->dev.gids[i];
        if (setgroups((size_t)n, groups) < 0)
            return nr_error_errno(err, "setgroups");
    }
    if (setresgid(id.gid, id.gid, id.gid) < 0)
        return nr_error_errno(err, "cannot switch to gid %u", (unsigned)id.gid);
    pid_t parent = getppid();
    if (setresuid(id.uid, id.uid, id.uid) < 0)
        return nr_error_errno(err, "cannot switch to uid %u", (unsigned)id.uid);
    /* a change of uid clears the parent-death signal and makes the process
     * dumpable as fs.suid_dumpable says: both again, until the exec; a
     * parent (nroot exec's) that died in between left it reparented
     * (oci exec -d: no parent-death signal, the command outlives nroot) */
    if (!cfg->exec_detach && !from_aside)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (getppid() != parent)
        _exit(NR_EXIT_FAILURE);
    if (nr_caps_set(id.uid == 0 ? cfg->caps : 0, err) < 0)
        return -1;
    if (chdir(wd) < 0)
        return nr_error_errno(err, "cannot enter the working directory '%s'", wd);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return nr_error_errno(err, "cannot set no_new_privs");
    umask(022);
    /* every fd but stdio (and the exec-status pipe, already CLOEXEC) */
    if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0) {
        for (int fd = 3; fd < 1024; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    /* but those the caller passed on (--preserve-fd, PMI_FD), at their
     * own numbers: nothing of nroot's sits there (they were open in nroot
     * from its start) */
    for (size_t i = 0; i < cfg->n_preserve_fds; i++)
        if (fcntl(cfg->preserve_fds[i], F_SETFD, 0) < 0)
            return nr_error_errno(err, "fd %d, to be passed to the command", cfg->preserve_fds[i]);
    if (go_fd >= 0) {
        uint64_t v;
        while (read(go_fd, &v, sizeof v) < 0 && errno == EINTR)
            ;
        close(go_fd);
        go_fd = -1;
    }
    /* --tcp-bypass's filter first: the profile may refuse seccomp() */
    if (bypass_sock >= 0) {
        int rc = nr_seccomp_apply_bypass(cfg, bypass_sock, err);
        close(bypass_sock);
        bypass_sock = -1;
        if (rc < 0)
            return -1;
    }
    /* the root emulation filter loaded by the thread is for uid 0 only
     * (nr_payload_root_alone) */
    if (aside_done.emulated && id.uid != 0)
        return nr_error_msg(err,
                            "the root emulation filter is loaded for a command that does "
                            "not start as root (uid %u)",
                            (unsigned)id.uid);
    if (!aside_done.emulated && (aside_done.filtered ? nr_seccomp_apply_rest(cfg, id.uid == 0, err)
                                                     : nr_seccomp_apply(cfg, id.uid == 0, err)) < 0)
        return -1;
    /* the devices' startContainer hooks, as runc runs them: as the
     * command's user, with its capabilities, no_new_privs and seccomp
     * filters (their path is the image's: the image supplies them) */
    if (first && nr_devices_start_hooks(&cfg->dev, cfg->cid, err) < 0)
        return -1;
    environ = env.v; /* execvp searches the container's PATH */
    return nr_payload_execvp(cfg->argv, err);
}

int nr_payload_execvp(char **argv, NrError *err)
{
    const char *cmd = argv[0];
    execvp(cmd, argv);
    int e = errno;
    if (e == ENOENT && !strchr(cmd, '/'))
        return nr_error_set(err, NR_EXIT_NOTFOUND, 0, "'%s': executable file not found in $PATH",
                            cmd);
    if (e == ENOENT || e == ENOTDIR)
        return nr_error_set(err, NR_EXIT_NOTFOUND, e, "cannot run '%s'", cmd);
    return nr_error_set(err, NR_EXIT_CANNOT, e, "cannot run '%s'", cmd);
}

int nr_payload_open_pty(int sock, NrError *err)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return nr_error_errno(err, "-t: cannot open /dev/ptmx in the container");
    int slave = -1;
    if (unlockpt(master) < 0 ||
        (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
        nr_error_errno(err, "-t: cannot open a pseudo-terminal");
    else if (nr_sync_send_fd(sock, NR_SYNC_PTY, master) < 0) {
        nr_error_errno(err, "-t: cannot hand the terminal to nroot");
        close(slave);
        slave = -1;
    }
    close(master);
    return slave;
}
