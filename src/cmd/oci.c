/* SPDX-License-Identifier: Apache-2.0 */
/* oci.c — `nroot oci`: runc's command line over `nroot run BUNDLE`.
 * create sets the container up and leaves PID 1 waiting at the start
 * gate (ROOT/ID/exec.fifo, inside/init.c); start opens the gate; state,
 * kill, delete and list read ROOT/ID (state/ocistate.c).  Errors are one
 * line and exit code 1, as runc's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include <linux/capability.h>

#include "nr-caps.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-hook.h"
#include "nr-oci.h"
#include "nr-ocistate.h"
#include "nr-plan.h"
#include "nr-util.h"

static const char *root_dir;  /* --root */
static const char *log_file;  /* --log */
static bool log_json;         /* --log-format json */
static const char *create_id; /* the container being created or run */
static const char *pid_file;  /* --pid-file */
static bool started_ok;       /* its state was written */
static int ctr_lock = -1;     /* ROOT/ID/lock, while this command holds it */

/* ROOT/ID/lock: create (until the state is written), start, kill and
 * delete of one container, one at a time (made, with make, by create).
 * -1 with errno: ENOENT (no container, or a create before it made its
 * lock), EWOULDBLOCK (nb: another holds it) */
static int lock_ctr(const char *id, bool make, bool nb)
{
    nr_autofree char *path = nr_strdup_printf("%s/%s/lock", root_dir, id);
    for (;;) {
        int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (make ? O_CREAT | O_EXCL : 0), 0600);
        if (fd < 0)
            return -1;
        int r;
        do
            r = flock(fd, LOCK_EX | (nb ? LOCK_NB : 0));
        while (r < 0 && errno == EINTR);
        struct stat a, b;
        if (r == 0 && (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino ||
                       a.st_dev != b.st_dev)) {
            close(fd); /* deleted while we waited, maybe made again: that one */
            make = false;
            continue;
        }
        if (r < 0) {
            int er = errno;
            close(fd);
            errno = er;
            return -1;
        }
        ctr_lock = fd;
        return 0;
    }
}

static void unlock_ctr(void)
{
    if (ctr_lock >= 0)
        close(ctr_lock);
    ctr_lock = -1;
}

/* one line on stderr, and in --log as runc writes it */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "nroot: error: %s\n", msg);
    if (log_file) {
        FILE *f = fopen(log_file, "ae");
        if (f) {
            char ts[64];
            time_t now = time(NULL);
            struct tm tm;
            strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
            if (log_json) {
                fprintf(f, "{\"level\":\"error\",\"msg\":");
                nr_ocistate_json_string(f, msg);
                fprintf(f, ",\"time\":\"%s\"}\n", ts);
            } else
                fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", ts, msg);
            fclose(f);
        }
    }
    return 1;
}

static int fail_err(const NrError *e)
{
    if (e->errnum)
        return fail("%s: %s", e->msg, strerror(e->errnum));
    return fail("%s", e->msg);
}

static void now_rfc3339(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%09ldZ", base, ts.tv_nsec);
}

/* --pid-file, written through a temporary name as runc does */
static int write_pid_file(pid_t pid)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%d", (int)pid);
    nr_autofree char *tmp = nr_strdup_printf("%s.nroot-tmp", pid_file);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || nr_write_all(fd, num, (size_t)n) < 0 || close(fd) < 0 ||
        rename(tmp, pid_file) < 0)
        return fail("cannot write the pid file '%s': %s", pid_file, strerror(errno)), -1;
    return 0;
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* create's keeper: `nroot exec` joins a container through the namespace
 * fds its nroot holds (PID 1 is not dumpable: its /proc/PID/ns is closed
 * to us); create leaves, so a process of its own keeps them, in no
 * namespace of the container, holding nothing else, until PID 1 ends */
static pid_t spawn_keeper(pid_t init_pid, const int ns_fd[NR_NS_SLOTS])
{
    int pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
    if (pidfd < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; fd < 3 && null >= 0; fd++)
            dup2(null, fd);
        int keep[NR_NS_SLOTS + 1], n = 0;
        for (int i = 0; i < NR_NS_SLOTS; i++)
            if (ns_fd[i] >= 0)
                keep[n++] = ns_fd[i];
        keep[n++] = pidfd;
        qsort(keep, (size_t)n, sizeof *keep, cmp_int);
        nr_close_range_except(3U, keep, n);
        prctl(PR_SET_NAME, "nroot-oci-keep", 0, 0, 0);
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(pidfd);
    return pid;
}

bool nr_cmd_oci_started(const NrRunConfig *cfg, pid_t init_pid, const int ns_fd[NR_NS_SLOTS])
{
    if (!create_id)
        return false;
    const NrOciSpec *spec = cfg->oci;
    char created[64];
    now_rfc3339(created, sizeof created);
    NrOciState st = { .pid = init_pid,
                      .start_time = nr_ocistate_pid_start(init_pid),
                      .bundle = (char *)spec->bundle,
                      .rootfs = (char *)spec->root,
                      .created = created,
                      .oci_version = (char *)spec->version,
                      .annotations = spec->annotations };
    snprintf(st.id, sizeof st.id, "%s", create_id);
    /* exec's way in: this nroot's fds (run), or a keeper's (create) */
    st.keeper = cfg->oci_fifo ? spawn_keeper(init_pid, ns_fd) : getpid();
    if (st.keeper > 0) {
        st.keeper_start = nr_ocistate_pid_start(st.keeper);
        memcpy(st.ns_fd, ns_fd, sizeof st.ns_fd);
    } else {
        st.keeper = 0;
        for (int i = 0; i < NR_NS_SLOTS; i++)
            st.ns_fd[i] = -1;
    }
    /* the hooks start and delete run: config.json is not read again */
    NrHook hooks[64];
    for (size_t i = 0; i < cfg->dev.n_hooks && st.n_hooks < 64; i++)
        if (cfg->dev.hooks[i].stage == NR_HOOK_POSTSTART ||
            cfg->dev.hooks[i].stage == NR_HOOK_POSTSTOP)
            hooks[st.n_hooks++] = cfg->dev.hooks[i];
    st.hooks = hooks;
    NrError e = { 0 };
    /* exec's spec: the one read here, not config.json again (runc's) */
    nr_autofree char *dir = nr_strdup_printf("%s/%s", root_dir, create_id);
    if (nr_oci_save(spec, dir, &e) < 0 || nr_ocistate_write(root_dir, &st, &e) < 0) {
        fail_err(&e);
        kill(init_pid, SIGKILL);
        _exit(1);
    }
    if (pid_file && write_pid_file(init_pid) < 0) {
        kill(init_pid, SIGKILL);
        _exit(1);
    }
    started_ok = true;
    unlock_ctr(); /* start, kill, delete may come */
    return true;
}

/* ---- the command line ---- */

typedef struct Args {
    const char *bundle, *console_socket, *process, *cwd, *format, *user;
    int preserve_fds;
    bool detach, force, quiet, tty, rootless, all, no_new_privs;
    NrStrv env, caps;
    char **rest; /* the operands */
    int n_rest;
} Args;

/* the subcommand's options; runc's spellings (-b, --bundle=DIR, --bundle DIR) */
static int parse(const char *sub, int argc, char **argv, Args *a)
{
    int i = 0;
    for (; i < argc; i++) {
        char *o = argv[i];
        if (strcmp(o, "--") == 0) {
            i++;
            break;
        }
        if (o[0] != '-' || o[1] == '\0')
            break;
        /* --name=value and --name value */
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(o, '=');
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - o) : (int)strlen(o), o);
        if (eq)
            val = eq + 1;
        static const char *const with_value[] = { "-b",
                                                  "--bundle",
                                                  "--pid-file",
                                                  "--console-socket",
                                                  "--preserve-fds",
                                                  "--process",
                                                  "-p",
                                                  "--cwd",
                                                  "--env",
                                                  "-e",
                                                  "--format",
                                                  "-f",
                                                  "--user",
                                                  "-u",
                                                  "--cap",
                                                  "-c",
                                                  "--apparmor",
                                                  "--process-label" };
        bool wants = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            wants |= strcmp(name, with_value[k]) == 0;
        if (strcmp(name, "-f") == 0 && strcmp(sub, "delete") == 0)
            wants = false; /* delete's -f is --force; ps's and list's --format */
        if (wants && !val) {
            if (i + 1 >= argc)
                return fail("%s %s: option %s needs a value", "oci", sub, name);
            val = argv[++i];
        }
        if (strcmp(name, "-b") == 0 || strcmp(name, "--bundle") == 0)
            a->bundle = val;
        else if (strcmp(name, "--pid-file") == 0)
            pid_file = val;
        else if (strcmp(name, "--console-socket") == 0)
            a->console_socket = val;
        else if (strcmp(name, "--preserve-fds") == 0) {
            uint32_t n;
            if (!nr_parse_u32(val, &n) || n > 1000)
                return fail("--preserve-fds: invalid number '%s'", val);
            a->preserve_fds = (int)n;
        } else if (strcmp(name, "--process") == 0 || strcmp(name, "-p") == 0)
            a->process = val;
        else if (strcmp(name, "--cwd") == 0)
            a->cwd = val;
        else if (strcmp(name, "--env") == 0 || strcmp(name, "-e") == 0)
            nr_strv_push(&a->env, val);
        else if (strcmp(name, "--format") == 0 || (strcmp(name, "-f") == 0 && val))
            a->format = val;
        else if (strcmp(name, "--user") == 0 || strcmp(name, "-u") == 0)
            a->user = val;
        else if (strcmp(name, "--cap") == 0 || strcmp(name, "-c") == 0)
            nr_strv_push(&a->caps, val);
        else if (strcmp(name, "--no-new-privs") == 0)
            a->no_new_privs = true;
        else if (strcmp(name, "--apparmor") == 0 || strcmp(name, "--process-label") == 0)
            ; /* runc's, accepted: no AppArmor nor SELinux rootless */
        else if (strcmp(name, "-d") == 0 || strcmp(name, "--detach") == 0)
            a->detach = true;
        else if (strcmp(name, "-f") == 0 || strcmp(name, "--force") == 0)
            a->force = true;
        else if (strcmp(name, "-q") == 0 || strcmp(name, "--quiet") == 0)
            a->quiet = true;
        else if (strcmp(name, "-t") == 0 || strcmp(name, "--tty") == 0)
            a->tty = true;
        else if (strcmp(name, "-a") == 0 || strcmp(name, "--all") == 0)
            a->all = true;
        else if (strcmp(name, "--rootless") == 0)
            a->rootless = true;
        else if (strcmp(name, "--no-pivot") == 0 || strcmp(name, "--no-new-keyring") == 0 ||
                 strcmp(name, "--no-subreaper") == 0 || strcmp(name, "--keep") == 0 ||
                 strcmp(name, "--ignore-paused") == 0)
            ; /* runc's, accepted: nroot always pivots, has a keyring of its own */
        else
            return fail("oci %s: unknown option '%s'", sub, o);
    }
    a->rest = argv + i;
    a->n_rest = argc - i;
    return 0;
}

static int need_id(const char *sub, const Args *a, const char **id)
{
    if (a->n_rest < 1)
        return fail("oci %s: a container id is needed", sub);
    *id = a->rest[0];
    if (!nr_ocistate_valid_id(*id))
        return fail("invalid container id '%s'", *id);
    return 0;
}

/* ---- create, run ---- */

/* the preserved fds must be the caller's: an fd nroot opened would leak */
static int check_preserved(int n)
{
    for (int fd = 3; fd < 3 + n; fd++)
        if (fcntl(fd, F_GETFD) < 0)
            return fail("--preserve-fds: fd %d is not open", fd);
    return 0;
}

static int create(const Args *a, const char *id, bool gate)
{
    char bundle[PATH_MAX];
    if (!realpath(a->bundle ? a->bundle : ".", bundle))
        return fail("bundle '%s': %s", a->bundle ? a->bundle : ".", strerror(errno));
    if (!nr_oci_is_bundle(bundle))
        return fail("bundle '%s': no config.json in it", bundle);
    if (check_preserved(a->preserve_fds))
        return 1;
    NrError e = { 0 };
    if (nr_ocistate_make(root_dir, id, &e) < 0)
        return fail_err(&e);
    if (lock_ctr(id, true, false) < 0) {
        int er = errno;
        nr_ocistate_remove(root_dir, id, &e);
        return fail("cannot lock container %s: %s", id, strerror(er));
    }
    nr_autofree char *fifo = nr_strdup_printf("%s/%s/exec.fifo", root_dir, id);
    if (gate && mkfifo(fifo, 0600) < 0) {
        int er = errno;
        nr_ocistate_remove(root_dir, id, &e);
        return fail("cannot make '%s': %s", fifo, strerror(er));
    }
    static NrRunConfig cfg;
    char *argv[] = { "run", "--bundle", bundle, NULL };
    if (nr_cli_parse_run(3, argv, &cfg, &e) != NR_CLI_RUN) {
        nr_ocistate_remove(root_dir, id, &e);
        return fail_err(&e);
    }
    cfg.oci_fifo = gate ? fifo : NULL;
    cfg.dev.state_id = id; /* the hooks' state: the OCI id */
    cfg.console_socket = a->console_socket;
    static int fds[1001];
    for (int i = 0; i < a->preserve_fds; i++)
        fds[i] = 3 + i;
    cfg.preserve_fds = a->preserve_fds ? fds : NULL;
    cfg.n_preserve_fds = (size_t)a->preserve_fds;
    create_id = id;
    int status = nr_cmd_run_plan(&cfg);
    /* create returns only on failure; run with the command's status */
    if (gate || !started_ok) {
        nr_ocistate_remove(root_dir, id, &e);
        return gate || status == 0 ? (status ? 1 : 0) : status;
    }
    nr_ocistate_remove(root_dir, id, &e);
    return status;
}

/* ---- hooks ---- */

/* the saved hooks of `stage`, each with the state on its stdin; as the
 * runtime spec says of poststart and poststop, a failure is a warning and
 * the others still run */
static void run_hooks(const NrOciState *st, NrHookStage stage, const char *status)
{
    nr_autofree char *state = NULL;
    for (size_t i = 0; i < st->n_hooks; i++) {
        if (st->hooks[i].stage != stage)
            continue;
        if (!state)
            state = nr_ocistate_hook_state(st, status);
        NrError e = { 0 };
        if (nr_hooks_run(&st->hooks[i], 1, stage, state ? state : "{}", &e) < 0)
            nr_warn("%s", e.msg);
    }
}

/* ---- start ---- */

/* runc's words for a start that cannot be */
static int cannot_start(NrOciStatus s)
{
    if (s == NR_OCI_STOPPED)
        return fail("cannot start a container that has stopped");
    if (s == NR_OCI_RUNNING)
        return fail("cannot start an already running container");
    return fail("cannot start a container in the %s state", nr_ocistate_status_name(s));
}

static int start(const char *id)
{
    NrOciState st;
    NrError e = { 0 };
    lock_ctr(id, false, false); /* a second start waits, then finds it running */
    if (nr_ocistate_read(root_dir, id, &st, &e) < 0)
        return fail_err(&e);
    NrOciStatus s = nr_ocistate_status(root_dir, &st);
    if (s != NR_OCI_CREATED) {
        nr_ocistate_clear(&st);
        return cannot_start(s);
    }
    nr_autofree char *fifo = nr_strdup_printf("%s/%s/exec.fifo", root_dir, id);
    int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int er = errno;
        s = nr_ocistate_status(root_dir, &st);
        nr_ocistate_clear(&st);
        if (er == ENOENT)
            return cannot_start(s == NR_OCI_CREATED ? NR_OCI_RUNNING : s);
        return fail("cannot start container %s: %s", id, strerror(er));
    }
    int rc = 1;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n = poll(&p, 1, 100);
        if (n > 0 && (p.revents & POLLIN)) {
            char c;
            if (read(fd, &c, 1) == 1) {
                rc = 0;
                break;
            }
        }
        if (nr_ocistate_status(root_dir, &st) == NR_OCI_STOPPED) {
            fail("cannot start container %s: it ended before it was started", id);
            break;
        }
    }
    close(fd);
    if (rc == 0)
        unlink(fifo);
    unlock_ctr(); /* the hooks may kill or delete it */
    if (rc == 0) {
        run_hooks(&st, NR_HOOK_POSTSTART, "running");
    }
    nr_ocistate_clear(&st);
    return rc;
}

/* ---- state, list ---- */

static void print_state(FILE *f, const char *id, const NrOciState *st, NrOciStatus s)
{
    fprintf(f, "{\n  \"ociVersion\": ");
    nr_ocistate_json_string(f, st->oci_version ? st->oci_version : "1.0.2");
    fprintf(f, ",\n  \"id\": ");
    nr_ocistate_json_string(f, id);
    fprintf(f, ",\n  \"pid\": %d,\n  \"status\": \"%s\",\n  \"bundle\": ",
            s == NR_OCI_STOPPED ? 0 : (int)st->pid, nr_ocistate_status_name(s));
    nr_ocistate_json_string(f, st->bundle);
    fprintf(f, ",\n  \"rootfs\": ");
    nr_ocistate_json_string(f, st->rootfs);
    fprintf(f, ",\n  \"created\": ");
    nr_ocistate_json_string(f, st->created ? st->created : "");
    fprintf(f, ",\n  \"owner\": \"\"");
    if (st->annotations && *st->annotations) {
        fprintf(f, ",\n  \"annotations\": {");
        for (char **a = st->annotations; *a; a++) {
            size_t n = strcspn(*a, "=");
            nr_autofree char *key = nr_strdup_printf("%.*s", (int)n, *a);
            fprintf(f, "%s\n    ", a == st->annotations ? "" : ",");
            nr_ocistate_json_string(f, key);
            fprintf(f, ": ");
            nr_ocistate_json_string(f, (*a)[n] ? *a + n + 1 : "");
        }
        fprintf(f, "\n  }");
    }
    fprintf(f, "\n}");
}

static int state(const char *id)
{
    NrOciState st;
    NrError e = { 0 };
    if (nr_ocistate_read(root_dir, id, &st, &e) < 0)
        return fail_err(&e);
    print_state(stdout, id, &st, nr_ocistate_status(root_dir, &st));
    putchar('\n');
    nr_ocistate_clear(&st);
    return 0;
}

/* ---- exec ---- */

/* --process FILE: a runtime-spec process object, read by nroot-unpack as
 * the process of a config.json made for it in ROOT/ID (the launcher
 * parses no JSON) */
static int load_process(const char *file, const NrOciState *st, NrOciSpec **ret, NrError *err)
{
    size_t len = 0;
    nr_autofree char *text = nr_read_file(file, &len, err);
    if (!text)
        return -1;
    nr_autofree char *dir = nr_strdup_printf("%s/%s/process-XXXXXX", root_dir, st->id);
    if (!mkdtemp(dir))
        return nr_error_errno(err, "cannot make '%s'", dir);
    nr_autofree char *path = nr_strdup_printf("%s/config.json", dir);
    FILE *f = fopen(path, "wxe");
    int r = -1;
    if (!f)
        nr_error_errno(err, "cannot write '%s'", path);
    else {
        fprintf(f, "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": ");
        nr_ocistate_json_string(f, st->rootfs);
        fprintf(f, "},\n\"process\": ");
        fwrite(text, 1, len, f);
        fprintf(f, "\n}\n");
        if (fclose(f) != 0)
            nr_error_errno(err, "cannot write '%s'", path);
        else
            r = nr_oci_load(dir, ret, err);
        unlink(path);
    }
    rmdir(dir);
    if (r < 0 && strncmp(err->msg, "config.json: ", 13) == 0) {
        /* the error names the field as in config.json: say the file */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s: %s", file, err->msg + 13);
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return r;
}

/* the process of --process replaces the container's; what it leaves out
 * (capabilities, rlimits) stays the container's, as runc does.  The two
 * swap what they own: each frees its own. */
#define SWAP(x, y) \
    do { \
        __typeof__(x) t_ = (x); \
        (x) = (y); \
        (y) = t_; \
    } while (0)
static void take_process(NrOciSpec *s, NrOciSpec *p)
{
    SWAP(s->args, p->args);
    SWAP(s->env, p->env);
    SWAP(s->cwd, p->cwd);
    SWAP(s->gids, p->gids);
    SWAP(s->n_gids, p->n_gids);
    s->uid = p->uid;
    s->gid = p->gid;
    s->umask = p->umask;
    s->terminal = p->terminal;
    s->console_height = p->console_height;
    s->console_width = p->console_width;
    if (p->caps_given) {
        s->caps_given = true;
        memcpy(s->caps, p->caps, sizeof s->caps);
    }
    if (p->n_rlimits) {
        SWAP(s->rlimits, p->rlimits);
        SWAP(s->n_rlimits, p->n_rlimits);
    }
    s->no_new_privs = p->no_new_privs;
    s->has_oom = p->has_oom;
    s->oom_score_adj = p->oom_score_adj;
}
#undef SWAP

/* runc's exec options over the container's process (without --process) */
static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int exec_options(const Args *a, NrOciSpec *s, NrError *err)
{
    if (a->n_rest < 2)
        return nr_error_msg(err, "exec: args must not be empty");
    /* the spec owns what it holds (nr_oci_free): copies */
    free_strv(s->args);
    s->args = nr_xmalloc((size_t)a->n_rest * sizeof *s->args);
    for (int i = 1; i < a->n_rest; i++)
        s->args[i - 1] = nr_xstrdup(a->rest[i]);
    s->terminal = a->tty;
    if (a->cwd) {
        if (a->cwd[0] != '/')
            return nr_error_msg(err, "--cwd: '%s' is not an absolute path", a->cwd);
        free(s->cwd);
        s->cwd = nr_xstrdup(a->cwd);
    }
    if (a->user) {
        char *colon = strchr(a->user, ':');
        nr_autofree char *u = nr_strdup_printf(
            "%.*s", colon ? (int)(colon - a->user) : (int)strlen(a->user), a->user);
        uint32_t uid, gid;
        if (!nr_parse_u32(u, &uid) || (colon && !nr_parse_u32(colon + 1, &gid)))
            return nr_error_msg(err, "--user: '%s' is not UID[:GID]", a->user);
        s->uid = uid;
        if (colon)
            s->gid = gid;
    }
    if (a->env.n) {
        size_t n = 0;
        while (s->env[n])
            n++;
        char **env = nr_xmalloc((n + a->env.n + 1) * sizeof *env);
        memcpy(env, s->env, n * sizeof *env);
        for (size_t i = 0; i < a->env.n; i++) {
            const char *kv = a->env.v[i];
            size_t k = strcspn(kv, "=");
            size_t j = 0;
            while (j < n && !(strncmp(env[j], kv, k) == 0 && env[j][k] == '='))
                j++;
            char *v = !kv[k] /* -e NAME: the value of nroot's environment, as runc */
                          ? (getenv(kv) ? nr_strdup_printf("%s=%s", kv, getenv(kv)) : NULL)
                          : nr_xstrdup(kv);
            if (!v)
                continue;
            if (j < n)
                free(env[j]);
            env[j] = v;
            if (j == n)
                n++;
        }
        env[n] = NULL;
        free(s->env); /* its strings are env's now */
        s->env = env;
    }
    for (size_t i = 0; i < a->caps.n; i++) {
        uint64_t m;
        if (nr_caps_parse(a->caps.v[i], &m, err) < 0)
            return -1;
        if (!s->caps_given) {
            uint64_t d = nr_caps_default();
            s->caps[NR_OCI_CAP_BOUNDING] = s->caps[NR_OCI_CAP_EFFECTIVE] =
                s->caps[NR_OCI_CAP_PERMITTED] = d;
            s->caps[NR_OCI_CAP_INHERITABLE] = s->caps[NR_OCI_CAP_AMBIENT] = 0;
            s->caps_given = true;
        }
        s->caps[NR_OCI_CAP_BOUNDING] |= m;
        s->caps[NR_OCI_CAP_EFFECTIVE] |= m;
        s->caps[NR_OCI_CAP_PERMITTED] |= m;
        /* ambient only where inheritable has some (runc's rule) */
        if (s->caps[NR_OCI_CAP_INHERITABLE])
            s->caps[NR_OCI_CAP_AMBIENT] |= m;
    }
    if (a->no_new_privs)
        s->no_new_privs = true;
    return 0;
}

static bool exec_pid_failed; /* --pid-file could not be written: the command was killed */

static void exec_started(void *data, pid_t pid)
{
    if (pid_file && write_pid_file(pid) < 0) {
        kill(pid, SIGKILL);
        exec_pid_failed = true;
    }
}

static int exec_in(const Args *a, const char *id, const NrOciState *st);

static int exec_ctr(const Args *a, const char *id)
{
    NrOciState st;
    NrError e = { 0 };
    if (nr_ocistate_read(root_dir, id, &st, &e) < 0)
        return fail_err(&e);
    int r = exec_in(a, id, &st);
    nr_ocistate_clear(&st);
    return r;
}

/* (returns only on failure, or with -d once the command runs) */
static int exec_in(const Args *a, const char *id, const NrOciState *st)
{
    NrError e = { 0 };
    NrOciStatus status = nr_ocistate_status(root_dir, st);
    if (status == NR_OCI_STOPPED)
        return fail("cannot exec in a stopped container");
    if (status == NR_OCI_CREATING || st->keeper <= 0)
        return fail("container %s is not created yet", id);
    if (a->detach && a->tty && !a->console_socket)
        return fail("cannot allocate tty if nroot will detach without setting console socket");
    if (check_preserved(a->preserve_fds))
        return 1;
    static NrRunConfig cfg;
    char *argv[] = { "run", "--bundle", st->bundle, NULL };
    NrOciSpec *spec = NULL, *proc = NULL;
    /* the spec create read and saved: config.json may have changed since */
    nr_autofree char *dir = nr_strdup_printf("%s/%s", root_dir, id);
    if (nr_cli_parse_run(3, argv, &cfg, &e) != NR_CLI_RUN || nr_oci_load_saved(dir, &spec, &e) < 0)
        return fail_err(&e);
    if ((a->process ? load_process(a->process, st, &proc, &e) : exec_options(a, spec, &e)) < 0 ||
        (proc && (take_process(spec, proc), false)) || nr_oci_plan(&cfg, spec, NULL, &e) < 0) {
        int r = fail_err(&e);
        nr_oci_free(spec);
        nr_oci_free(proc);
        return r;
    }
    /* the hooks were the container's start, not this process's */
    cfg.dev.hooks = NULL;
    cfg.dev.n_hooks = 0;
    cfg.pty = spec->terminal;
    cfg.interactive = !a->detach;
    cfg.tty = isatty(STDIN_FILENO);
    cfg.console_socket = a->console_socket;
    static int fds[1001];
    for (int i = 0; i < a->preserve_fds; i++)
        fds[i] = 3 + i;
    cfg.preserve_fds = a->preserve_fds ? fds : NULL;
    cfg.n_preserve_fds = (size_t)a->preserve_fds;
    NrCtr c = { .pid = st->keeper, .pid_start = st->keeper_start };
    memcpy(c.ns_fd, st->ns_fd, sizeof c.ns_fd);
    snprintf(c.name, sizeof c.name, "%s", id);
    /* -d, as runc's: this nroot joins, the command (its child) gets the
     * caller's stdio, and once it exec'd nroot leaves it to the caller's
     * subreaper (conmon waits for the pid of --pid-file) or to init */
    cfg.exec_detach = a->detach;
    int r = nr_cmd_exec_in_cb(&c, &cfg, exec_started, NULL);
    fflush(NULL);
    _exit(r == 0 && exec_pid_failed ? 1 : r);
}

/* ---- ps ---- */

/* the processes of the container: PID 1 and its descendants (its /proc
 * files are closed to us, it is not dumpable; every process's parent is
 * in /proc/PID/stat); with starts, their start times too (0: a zombie),
 * read with their parents */
static size_t ctr_pids(pid_t init, const char *pidns, pid_t **ret, uint64_t **starts)
{
    typedef struct {
        pid_t pid, ppid;
        uint64_t start;
    } Pair;
    Pair *all = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *end, path[64], buf[512];
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t m = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (m <= 0)
            continue;
        buf[m] = '\0';
        char *rp = strrchr(buf, ')'); /* the name may hold anything */
        int ppid;
        char state;
        unsigned long long start = 0;
        /* state (3), ppid (4), ... starttime (22) */
        if (!rp || sscanf(rp + 1,
                          " %c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                          "%*s %*s %llu",
                          &state, &ppid, &start) < 2)
            continue;
        if (state == 'Z' || state == 'X')
            start = 0;
        if (n == cap) {
            Pair *v = realloc(all, (cap ? cap * 2 : 256) * sizeof *v);
            if (!v)
                break;
            all = v;
            cap = cap ? cap * 2 : 256;
        }
        all[n++] = (Pair){ (pid_t)pid, (pid_t)ppid, (uint64_t)start };
    }
    if (d)
        closedir(d);
    /* breadth first from PID 1 */
    pid_t *out = nr_xmalloc((n + 1) * sizeof *out);
    uint64_t *t = nr_xmalloc((n + 1) * sizeof *t);
    size_t k = 0;
    t[k] = 0;
    for (size_t j = 0; j < n; j++)
        if (all[j].pid == init)
            t[k] = all[j].start;
    out[k++] = init;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < n; j++)
            if (all[j].ppid == out[i] && k <= n) {
                t[k] = all[j].start;
                out[k++] = all[j].pid;
            }
    /* and those of `oci exec`, children of an nroot or, with -d, of the
     * caller's subreaper: the processes in the container's pid namespace */
    size_t tree = k;
    for (size_t j = 0; pidns && j < n && k <= n; j++) {
        char path[64], link[128];
        snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)all[j].pid);
        ssize_t m = readlink(path, link, sizeof link - 1);
        if (m <= 0)
            continue;
        link[m] = '\0';
        bool seen = false;
        for (size_t i = 0; i < tree && !seen; i++)
            seen = out[i] == all[j].pid;
        if (!seen && strcmp(link, pidns) == 0) {
            t[k] = all[j].start;
            out[k++] = all[j].pid;
        }
    }
    free(all);
    *ret = out;
    if (starts)
        *starts = t;
    else
        free(t);
    return k;
}

/* the container's own pid namespace, from the fd its keeper holds; ""
 * when it has none (the spec has no pid namespace, or the keeper ended) */
static void ctr_pidns(const NrOciState *st, char *pidns, size_t size)
{
    char path[64], own[128] = "";
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)st->keeper, st->ns_fd[NR_NS_PID]);
    ssize_t m = st->keeper > 0 && st->ns_fd[NR_NS_PID] >= 0 &&
                        nr_ocistate_pid_start(st->keeper) == st->keeper_start
                    ? readlink(path, pidns, size - 1)
                    : -1;
    pidns[m > 0 ? m : 0] = '\0';
    ssize_t o = readlink("/proc/self/ns/pid", own, sizeof own - 1);
    own[o > 0 ? o : 0] = '\0';
    if (strncmp(pidns, "pid:", 4) != 0 || strcmp(pidns, own) == 0)
        pidns[0] = '\0';
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* `ps [--format table|json] ID [PS-OPTIONS]`: runc's json is the array of
 * pids; the table is ps(1)'s (-ef unless options are given) for them */
static int ps_ctr(const Args *a, const char *id)
{
    NrOciState st;
    NrError e = { 0 };
    if (nr_ocistate_read(root_dir, id, &st, &e) < 0)
        return fail_err(&e);
    NrOciStatus s = nr_ocistate_status(root_dir, &st);
    pid_t init = st.pid;
    char pidns[128];
    ctr_pidns(&st, pidns, sizeof pidns);
    nr_ocistate_clear(&st);
    if (s == NR_OCI_STOPPED)
        return fail("container %s is not running", id);
    nr_autofree pid_t *pids = NULL;
    /* (a container without a pid namespace of its own: PID 1's tree only) */
    size_t n = ctr_pids(init, pidns[0] ? pidns : NULL, &pids, NULL);
    qsort(pids, n, sizeof *pids, cmp_pid);
    bool json = a->format && strcmp(a->format, "json") == 0;
    if (a->format && !json && strcmp(a->format, "table") != 0)
        return fail("ps: unknown format '%s' (table or json)", a->format);
    if (json) {
        putchar('[');
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", (int)pids[i]);
        puts("]");
        return 0;
    }
    if (!n)
        return 0;
    /* ps -f -p PID,PID... (or the caller's options instead of -f) */
    size_t len = n * 12 + 1;
    nr_autofree char *list = nr_xmalloc(len);
    list[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), len - strlen(list), "%s%d", i ? "," : "", (int)pids[i]);
    nr_autofree char **argv = nr_xmalloc(((size_t)a->n_rest + 4) * sizeof *argv);
    int k = 0;
    argv[k++] = "ps";
    if (a->n_rest > 1)
        for (int i = 1; i < a->n_rest; i++)
            argv[k++] = a->rest[i];
    else
        argv[k++] = "-f";
    argv[k++] = "-p";
    argv[k++] = list;
    argv[k] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork: %s", strerror(errno));
    if (pid == 0) {
        execvp("ps", argv);
        fprintf(stderr, "nroot: error: cannot run ps: %s\n", strerror(errno));
        _exit(1);
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(const Args *a)
{
    bool json = a->format && strcmp(a->format, "json") == 0;
    if (a->format && !json && strcmp(a->format, "table") != 0)
        return fail("invalid format option '%s': table or json", a->format);
    NrStrv ids = { 0 };
    DIR *d = opendir(root_dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.' && nr_ocistate_valid_id(de->d_name))
                nr_strv_push(&ids, de->d_name);
        closedir(d);
    }
    if (ids.n)
        qsort(ids.v, ids.n, sizeof *ids.v, cmp_str);
    size_t shown = 0;
    if (!json && !a->quiet)
        printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
               "OWNER");
    for (size_t i = 0; i < ids.n; i++) {
        NrOciState st;
        NrError e = { 0 };
        if (nr_ocistate_read(root_dir, ids.v[i], &st, &e) < 0)
            continue;
        NrOciStatus s = nr_ocistate_status(root_dir, &st);
        if (a->quiet)
            printf("%s\n", ids.v[i]);
        else if (json) {
            fputs(shown++ ? "," : "[", stdout);
            print_state(stdout, ids.v[i], &st, s);
        } else
            printf("%-12s %-8d %-10s %-40s %-30s %s\n", ids.v[i],
                   s == NR_OCI_STOPPED ? 0 : (int)st.pid, nr_ocistate_status_name(s),
                   st.bundle ? st.bundle : "", st.created ? st.created : "", "");
        nr_ocistate_clear(&st);
    }
    if (json) /* runc's: null for none */
        puts(shown ? "]" : "null");
    nr_strv_clear(&ids);
    return 0;
}

/* ---- kill, delete ---- */

static int parse_signal(const char *s)
{
    uint32_t n;
    if (nr_parse_u32(s, &n))
        return n < 65 ? (int)n : -1; /* 0 as runc's: is it there */
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    static const struct {
        const char *name;
        int sig;
    } t[] = { { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },
              { "ILL", SIGILL },       { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
              { "BUS", SIGBUS },       { "FPE", SIGFPE },   { "KILL", SIGKILL },
              { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
              { "PIPE", SIGPIPE },     { "ALRM", SIGALRM }, { "TERM", SIGTERM },
              { "CHLD", SIGCHLD },     { "CONT", SIGCONT }, { "STOP", SIGSTOP },
              { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
              { "URG", SIGURG },       { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
              { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
              { "IO", SIGIO },         { "PWR", SIGPWR },   { "SYS", SIGSYS } };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcasecmp(s, t[i].name) == 0)
            return t[i].sig;
    return -1;
}

/* sig to every process of the container but PID 1, through pidfds
 * checked with the start times read with their parents; SIGKILL in
 * rounds until none is left (a fork caught between listing and killing
 * is found the next round: orphans stay under PID 1, a subreaper) */
static void signal_others(const NrOciState *st, int sig)
{
    char pidns[128];
    ctr_pidns(st, pidns, sizeof pidns);
    for (int round = 0; round < 100; round++) {
        nr_autofree pid_t *pids = NULL;
        nr_autofree uint64_t *starts = NULL;
        size_t n = ctr_pids(st->pid, pidns[0] ? pidns : NULL, &pids, &starts);
        size_t sent = 0;
        for (size_t i = 1; i < n; i++) {
            nr_autoclose int fd = nr_ctr_pidfd(pids[i], starts[i]);
            if (fd >= 0 && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0)
                sent++;
        }
        if (sig != SIGKILL || !sent)
            return;
        struct timespec ts = { .tv_nsec = 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* a container without a pid namespace of its own: PID 1's end is not
 * the end of the others */
static bool own_pidns(const NrOciState *st)
{
    char pidns[128];
    ctr_pidns(st, pidns, sizeof pidns);
    return pidns[0] != '\0';
}

static int kill_ctr(const char *id, const char *sigs, bool all)
{
    int sig = parse_signal(sigs ? sigs : "TERM");
    if (sig < 0)
        return fail("invalid signal '%s'", sigs);
    NrOciState st;
    NrError e = { 0 };
    lock_ctr(id, false, false);
    if (nr_ocistate_read(root_dir, id, &st, &e) < 0)
        return fail_err(&e);
    NrOciStatus s = nr_ocistate_status(root_dir, &st);
    nr_autoclose int pfd =
        s == NR_OCI_CREATED || s == NR_OCI_RUNNING ? nr_ctr_pidfd(st.pid, st.start_time) : -1;
    if (pfd < 0) {
        nr_ocistate_clear(&st);
        /* as runc's: --all of a container that ended is done */
        return all && s == NR_OCI_STOPPED ? 0 : fail("container not running");
    }
    if (all)
        signal_others(&st, sig);
    nr_ocistate_clear(&st);
    if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
        return fail("cannot send signal %d to container %s: %s", sig, id, strerror(errno));
    return 0;
}

static int delete_ctr(const char *id, bool force)
{
    NrOciState st;
    NrError e = { 0 };
    if (lock_ctr(id, false, true) < 0 && errno == EWOULDBLOCK) {
        /* a create under way is not stopped; a start or kill soon is */
        if (!force && nr_ocistate_read(root_dir, id, &st, &e) == 0) {
            NrOciStatus s = nr_ocistate_status(root_dir, &st);
            nr_ocistate_clear(&st);
            if (s == NR_OCI_CREATING)
                return fail("cannot delete container %s that is not stopped: creating", id);
        }
        lock_ctr(id, false, false);
    }
    if (nr_ocistate_read(root_dir, id, &st, &e) < 0) {
        if (force)
            return 0; /* as runc: --force on a container that is not there */
        return fail_err(&e);
    }
    NrOciStatus s = nr_ocistate_status(root_dir, &st);
    if (s == NR_OCI_RUNNING && !force) {
        nr_ocistate_clear(&st);
        return fail("cannot delete container %s that is not stopped: running", id);
    }
    if (s == NR_OCI_CREATED || s == NR_OCI_RUNNING) {
        /* wait on a pidfd: its end wakes us at once (the loop below
         * polled at 10 ms, the most of a create+start+delete cycle) */
        nr_autoclose int pfd = nr_ctr_pidfd(st.pid, st.start_time);
        if (pfd >= 0 && !own_pidns(&st))
            signal_others(&st, SIGKILL);
        if (pfd >= 0 && syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0)
            nr_pidfd_wait(pfd, 5000);
        for (int i = 0; i < 500 && nr_ocistate_status(root_dir, &st) != NR_OCI_STOPPED; i++) {
            struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    if (st.pid > 0)
        run_hooks(&st, NR_HOOK_POSTSTOP, "stopped");
    int rc = 0;
    if (nr_ocistate_remove(root_dir, id, &e) < 0)
        rc = fail_err(&e);
    nr_ocistate_clear(&st);
    return rc;
}

/* ---- spec, features ---- */

static const char spec_template[] =
    "{\n"
    "\t\"ociVersion\": \"1.0.2\",\n"
    "\t\"process\": {\n"
    "\t\t\"terminal\": true,\n"
    "\t\t\"user\": { \"uid\": 0, \"gid\": 0 },\n"
    "\t\t\"args\": [ \"sh\" ],\n"
    "\t\t\"env\": [\n"
    "\t\t\t\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
    "\t\t\t\"TERM=xterm\"\n"
    "\t\t],\n"
    "\t\t\"cwd\": \"/\",\n"
    "\t\t\"capabilities\": {\n"
    "\t\t\t\"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
    "\t\t\t\"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
    "\t\t\t\"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
    "\t\t\t\"ambient\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
    "\t\t},\n"
    "\t\t\"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
    "\t\t\"noNewPrivileges\": true\n"
    "\t},\n"
    "\t\"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
    "\t\"hostname\": \"nroot\",\n"
    "\t\"mounts\": [\n"
    "\t\t{ \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
    "\t\t{ \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
    "\t\t{ \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", "
    "\"mode=0620\" ] },\n"
    "\t\t{ \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
    "\t\t{ \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
    "\t\t{ \"destination\": \"/sys\", \"type\": \"none\", \"source\": \"/sys\",\n"
    "\t\t  \"options\": [ \"rbind\", \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] },\n"
    "\t\t{ \"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\",\n"
    "\t\t  \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\" ] }\n"
    "\t],\n"
    "\t\"linux\": {\n"
    "\t\t\"uidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
    "\t\t\"gidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
    "\t\t\"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"ipc\" }, { \"type\": \"uts\" },\n"
    "\t\t\t{ \"type\": \"mount\" }, { \"type\": \"user\" } ],\n"
    "\t\t\"maskedPaths\": [ \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\",\n"
    "\t\t\t\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\",\n"
    "\t\t\t\"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\" ],\n"
    "\t\t\"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\",\n"
    "\t\t\t\"/proc/sysrq-trigger\" ]\n"
    "\t}\n"
    "}\n";

/* `runc spec --rootless`: the user namespace is always there (nroot is
 * rootless), so --rootless changes nothing */
static int spec(const Args *a)
{
    nr_autofree char *path = nr_strdup_printf("%s/config.json", a->bundle ? a->bundle : ".");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            return fail("File %s exists. Remove it first", path);
        return fail("cannot write '%s': %s", path, strerror(errno));
    }
    nr_autofree char *text =
        nr_strdup_printf(spec_template, (unsigned)getuid(), (unsigned)getgid());
    if (nr_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0)
        return fail("cannot write '%s': %s", path, strerror(errno));
    return 0;
}

/* runtime-spec 1.1's features document: what part B applies */
static int features(void)
{
    fputs("{\n"
          "  \"ociVersionMin\": \"1.0.0\",\n"
          "  \"ociVersionMax\": \"1.2.0\",\n"
          "  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", "
          "\"startContainer\", \"poststart\", \"poststop\"],\n"
          "  \"mountOptions\": [\"async\", \"atime\", \"bind\", \"defaults\", \"dev\", "
          "\"diratime\", \"dirsync\", \"exec\", \"iversion\", \"lazytime\", \"loud\", "
          "\"mand\", \"noatime\", \"nodev\", \"nodiratime\", \"noexec\", \"noiversion\", "
          "\"nolazytime\", \"nomand\", \"norelatime\", \"nostrictatime\", \"nosuid\", "
          "\"private\", \"rbind\", \"relatime\", \"remount\", \"ro\", \"rprivate\", "
          "\"rshared\", \"rslave\", \"runbindable\", \"rw\", \"shared\", \"silent\", "
          "\"slave\", \"strictatime\", \"suid\", \"sync\", \"unbindable\"],\n"
          "  \"linux\": {\n"
          "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", "
          "\"time\", \"user\", \"uts\"],\n"
          "    \"capabilities\": [",
          stdout);
    for (int c = 0; c <= CAP_LAST_CAP; c++) {
        nr_autofree char *n = nr_caps_name(c);
        if (n && n[0] >= 'A' && n[0] <= 'Z')
            printf("%s\"CAP_%s\"", c ? ", " : "", n);
    }
    fputs("],\n"
          "    \"cgroup\": { \"v1\": false, \"v2\": false, \"systemd\": false, "
          "\"systemdUser\": false },\n"
          "    \"seccomp\": { \"enabled\": true },\n"
          "    \"apparmor\": { \"enabled\": false },\n"
          "    \"selinux\": { \"enabled\": false }\n"
          "  },\n"
          "  \"annotations\": { \"org.opencontainers.runtime-spec.nroot\": \"rootless\" }\n"
          "}\n",
          stdout);
    return 0;
}

/* ---- nroot oci ---- */

int nr_cmd_oci(int argc, char **argv)
{
    int i = 1;
    /* runc's global options, before the subcommand */
    for (; i < argc && argv[i][0] == '-'; i++) {
        char *o = argv[i];
        const char *eq = strchr(o, '=');
        size_t n = eq ? (size_t)(eq - o) : strlen(o);
        const char *val = eq ? eq + 1 : NULL;
        bool wants = (n == 6 && strncmp(o, "--root", n) == 0) ||
                     (n == 5 && strncmp(o, "--log", n) == 0) ||
                     (n == 12 && strncmp(o, "--log-format", n) == 0) ||
                     (n == 10 && strncmp(o, "--criu", n) == 0);
        if (wants && !val) {
            if (i + 1 >= argc)
                return fail("option %s needs a value", o);
            val = argv[++i];
        }
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            nr_cli_help(nr_cli_command("oci"));
            return 0;
        }
        if (strcmp(o, "--version") == 0 || strcmp(o, "-v") == 0) {
            /* runc's shape: podman info and containerd read it */
            printf("nroot-oci version %s\nspec: 1.2.0\n", NR_VERSION);
            return 0;
        }
        if (n == 6 && strncmp(o, "--root", n) == 0)
            root_dir = val;
        else if (n == 5 && strncmp(o, "--log", n) == 0)
            log_file = val;
        else if (n == 12 && strncmp(o, "--log-format", n) == 0) {
            if (strcmp(val, "json") != 0 && strcmp(val, "text") != 0)
                return fail("--log-format: '%s' is not text or json", val);
            log_json = strcmp(val, "json") == 0;
        } else if (strncmp(o, "--debug", n) == 0 || strncmp(o, "--systemd-cgroup", n) == 0 ||
                   strncmp(o, "--rootless", n) == 0)
            ; /* accepted: nroot has no cgroup manager, and is always rootless */
        else
            return fail("oci: unknown option '%s'", o);
    }
    if (i >= argc) {
        nr_cli_help(nr_cli_command("oci"));
        return 1;
    }
    const char *sub = argv[i++];
    NrError rerr = { 0 };
    nr_autofree char *def = root_dir ? NULL : nr_ocistate_default_root(&rerr);
    if (!root_dir && !def)
        return fail_err(&rerr);
    if (!root_dir)
        root_dir = def;
    Args a = { 0 };
    for (int k = i; k < argc; k++)
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            nr_cli_help(nr_cli_command("oci"));
            return 0;
        }
    if (parse(sub, argc - i, argv + i, &a) != 0)
        return 1;
    const char *id = NULL;
    if (strcmp(sub, "create") == 0) {
        if (need_id(sub, &a, &id))
            return 1;
        return create(&a, id, true);
    }
    if (strcmp(sub, "run") == 0) {
        if (need_id(sub, &a, &id))
            return 1;
        if (!a.detach)
            return create(&a, id, false);
        /* create ends its process once PID 1 waits at the gate */
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork: %s", strerror(errno));
        if (pid == 0)
            _exit(create(&a, id, true));
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
        return start(id);
    }
    if (strcmp(sub, "start") == 0)
        return need_id(sub, &a, &id) ? 1 : start(id);
    if (strcmp(sub, "exec") == 0)
        return need_id(sub, &a, &id) ? 1 : exec_ctr(&a, id);
    if (strcmp(sub, "state") == 0)
        return need_id(sub, &a, &id) ? 1 : state(id);
    if (strcmp(sub, "kill") == 0)
        return need_id(sub, &a, &id) ? 1 : kill_ctr(id, a.n_rest > 1 ? a.rest[1] : NULL, a.all);
    if (strcmp(sub, "delete") == 0)
        return need_id(sub, &a, &id) ? 1 : delete_ctr(id, a.force);
    if (strcmp(sub, "list") == 0)
        return list(&a);
    if (strcmp(sub, "ps") == 0)
        return need_id(sub, &a, &id) ? 1 : ps_ctr(&a, id);
    if (strcmp(sub, "spec") == 0)
        return spec(&a);
    if (strcmp(sub, "features") == 0)
        return features();
    return fail("oci: unknown command '%s'", sub);
}
