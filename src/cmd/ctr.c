/* cmd-ctr.c — the commands that work on containers after `run` made them:
 * ps, start, stop, wait, logs, rm, exec, export. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-container.h"
#include "nr-error.h"
#include "nr-fuse.h"
#include "nr-filter.h"
#include "nr-mounts.h"
#include "nr-payload.h"
#include "nr-plan.h"
#include "nr-pty.h"
#include "nr-rootfs.h"
#include "nr-spawn.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif

static const int ns_flags[NR_NS_SLOTS] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
                                           CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWPID,
                                           CLONE_NEWUSER, CLONE_NEWNS };

/* parse a container command's options and check the count of operands
 * (max < 0: any); 1: --help was shown */
static int parse(const char *cmd, int argc, char **argv, NrCtrArgs *a, int min_operands,
                 int max_operands, NrError *err)
{
    memset(a, 0, sizeof *a);
    int rc = nr_cli_parse_ctr(cmd, argc, argv, a, err);
    if (rc == NR_CLI_HELP)
        return 1;
    if (rc < 0)
        return -1;
    if (a->n_operands < min_operands) {
        nr_error_msg(err, "missing %s", a->n_operands == 1 ? "COMMAND" : "CONTAINER");
        nr_error_hint(err, "usage: %s", nr_cli_command(cmd)->usage);
        return -1;
    }
    if (max_operands >= 0 && a->n_operands > max_operands) {
        if (max_operands == 0)
            nr_error_msg(err, "%s takes no arguments", cmd);
        else
            nr_error_msg(err, "%s takes one container", cmd);
        nr_error_hint(err, "usage: %s", nr_cli_command(cmd)->usage);
        return -1;
    }
    return 0;
}

static int fail(const NrError *err)
{
    nr_error_print(err);
    return err->code ? err->code : NR_EXIT_FAILURE;
}

static const char *display_name(const NrCtr *c)
{
    return c->name[0] ? c->name : c->id;
}

/* ---- stopping ---- */

/* SIGTERM (unless grace < 0: SIGKILL at once), SIGKILL after `grace`
 * seconds; returns when the container's nroot has ended */
static int stop_container(const NrCtr *c, int grace, NrError *err)
{
    nr_autoclose int init = nr_ctr_pidfd(c->init_pid, c->init_start);
    nr_autoclose int nroot = nr_ctr_pidfd(c->pid, c->pid_start);
    if (init < 0 || nroot < 0)
        return 0;   /* ended meanwhile */
    if (grace >= 0) {
        syscall(SYS_pidfd_send_signal, init, SIGTERM, NULL, 0);
        if (nr_pidfd_wait(init, grace * 1000))
            goto ended;
    }
    if (syscall(SYS_pidfd_send_signal, init, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        return nr_error_errno(err, "cannot kill container '%s'", display_name(c));
ended:
    /* its nroot records the end: wait for it, not for longer than it needs */
    if (!nr_pidfd_wait(nroot, 10000))
        return nr_error_msg(err, "container '%s' was killed, but its nroot (pid %d) did not end",
                            display_name(c), (int)c->pid);
    return 0;
}

int nr_cmd_stop(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("stop", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    int rc = 0;
    for (int i = 0; i < a.n_operands; i++) {
        NrCtr c;
        NrError e = { 0 };
        if (nr_ctr_find(a.operands[i], &c, &e) < 0 ||
            (c.running && stop_container(&c, a.time < 0 ? 10 : a.time, &e) < 0))
            rc = fail(&e);
        else
            printf("%s\n", a.operands[i]);
        nr_ctr_clear(&c);
    }
    return rc;
}

/* ---- wait ---- */

static int exit_code_of(const char *text)
{
    int code = -1;
    for (const char *p = text; (p = strstr(p, "exit_code=")); p += 10)
        if (p == text || p[-1] == '\n')
            code = atoi(p + 10);
    return code;
}

int nr_cmd_wait(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("wait", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    int rc = 0;
    for (int i = 0; i < a.n_operands; i++) {
        NrCtr c;
        NrError e = { 0 };
        if (nr_ctr_find(a.operands[i], &c, &e) < 0) {
            rc = fail(&e);
            continue;
        }
        int code = c.exit_code;
        if (c.running) {
            /* the state file, held open: its nroot appends the exit code
             * before it removes the file and ends */
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/state", c.rt_dir);
            nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
            nr_autoclose int nroot = nr_ctr_pidfd(c.pid, c.pid_start);
            if (nroot >= 0)
                nr_pidfd_wait(nroot, -1);
            char buf[4096];
            ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
            buf[n > 0 ? n : 0] = '\0';
            code = exit_code_of(buf);
            if (code < 0 && c.in_store) {
                /* ended before we opened the file: the store has it */
                NrCtr again;
                if (nr_ctr_find(a.operands[i], &again, &e) == 0)
                    code = again.exit_code;
                nr_ctr_clear(&again);
            }
        }
        printf("%d\n", code);
        fflush(stdout);
        nr_ctr_clear(&c);
    }
    return rc;
}

/* ---- logs ---- */

static int copy_out(int fd)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (nr_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
            return -1;
    return 0;
}

/* where the last `lines` lines of the file start */
static off_t tail_offset(int fd, long lines)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 0;
    off_t end = st.st_size, pos = end;
    if (lines == 0)
        return end;
    long seen = 0;
    static char buf[65536];
    while (pos > 0) {
        size_t n = pos > (off_t)sizeof buf ? sizeof buf : (size_t)pos;
        pos -= (off_t)n;
        if (pread(fd, buf, n, pos) != (ssize_t)n)
            return 0;
        for (size_t i = n; i-- > 0;)
            /* the newline that ends the file ends the last line */
            if (buf[i] == '\n' && pos + (off_t)i != end - 1 && ++seen == lines)
                return pos + (off_t)i + 1;
    }
    return 0;
}

int nr_cmd_logs(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("logs", argc, argv, &a, 1, 1, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    NrCtr c;
    if (nr_ctr_find(a.operands[0], &c, &err) < 0)
        return fail(&err);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/log", c.store_dir ? c.store_dir : c.rt_dir);
    nr_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        nr_ctr_clear(&c);
        if (e == ENOENT) {
            /* never detached: its output went to the terminal that ran it */
            return 0;
        }
        errno = e;
        return nr_error_errno(&err, "cannot read '%s'", path), fail(&err);
    }
    signal(SIGPIPE, SIG_DFL);
    if (a.tail >= 0)
        lseek(fd, tail_offset(fd, a.tail), SEEK_SET);
    copy_out(fd);
    if (a.follow && c.running) {
        nr_autoclose int nroot = nr_ctr_pidfd(c.pid, c.pid_start);
        /* a log is a plain file: new output is polled for, until the
         * container's nroot ends */
        while (nroot >= 0 && !nr_pidfd_wait(nroot, 200))
            if (copy_out(fd) < 0)
                break;
        copy_out(fd);
    }
    nr_ctr_clear(&c);
    return 0;
}

/* ---- ps ---- */

static void status_text(const NrCtr *c, char *buf, size_t size)
{
    char d[64];
    int64_t now = (int64_t)time(NULL);
    if (c->running) {
        nr_human_duration(now - c->started, d, sizeof d);
        snprintf(buf, size, "Up %s", d);
    } else if (c->started == 0)
        snprintf(buf, size, "Created");
    else if (c->exit_code < 0 || c->finished == 0)
        snprintf(buf, size, "Exited (unknown)");
    else {
        nr_human_duration(now - c->finished, d, sizeof d);
        snprintf(buf, size, "Exited (%d) %s ago", c->exit_code, d);
    }
}

static char *command_text(const NrCtr *c, bool full)
{
    size_t len = 0;
    for (size_t i = 0; i < c->command.n; i++)
        len += strlen(c->command.v[i]) + 1;
    char *s = nr_xmalloc(len + 1);
    s[0] = '\0';
    for (size_t i = 0; i < c->command.n; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, c->command.v[i]);
    }
    if (!full && strlen(s) > 30)
        strcpy(s + 27, "...");
    return s;
}

static int cmp_created(const void *x, const void *y)
{
    const NrCtr *a = x, *b = y;
    return a->created < b->created ? 1 : a->created > b->created ? -1 : strcmp(a->id, b->id);
}

static void ps_json(const NrCtr *v, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        const NrCtr *c = &v[i];
        printf("%s\n  {\"id\": ", i ? "," : "");
        nr_json_string(c->id);
        printf(", \"name\": ");
        if (c->name[0])
            nr_json_string(c->name);
        else
            printf("null");
        printf(", \"image\": ");
        nr_json_string(c->image);
        printf(", \"command\": [");
        for (size_t j = 0; j < c->command.n; j++) {
            printf("%s", j ? ", " : "");
            nr_json_string(c->command.v[j]);
        }
        printf("], \"status\": \"%s\", \"running\": %s", c->running ? "running" :
               c->started ? "exited" : "created", c->running ? "true" : "false");
        if (!c->running && c->started && c->exit_code >= 0 && c->finished)
            printf(", \"exit_code\": %d", c->exit_code);
        else
            printf(", \"exit_code\": null");
        if (c->running)
            printf(", \"pid\": %d, \"nroot_pid\": %d", (int)c->init_pid, (int)c->pid);
        else
            printf(", \"pid\": null, \"nroot_pid\": null");
        printf(", \"created\": %lld, \"started\": %lld, \"finished\": %lld, \"detached\": %s}",
               (long long)c->created, (long long)c->started, (long long)c->finished,
               c->running && c->detached ? "true" : "false");
    }
    printf("%s]\n", n ? "\n" : "");
}

int nr_cmd_ps(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("ps", argc, argv, &a, 0, 0, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    NrCtr *all;
    size_t n_all;
    if (nr_ctr_list(&all, &n_all, &err) < 0)
        return fail(&err);
    size_t n = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (all[i].running || a.all) {
            NrCtr t = all[n];
            all[n++] = all[i];
            all[i] = t;
        }
    }
    if (n > 1)
        qsort(all, n, sizeof *all, cmp_created);
    if (a.json)
        ps_json(all, n);
    else if (a.quiet) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", all[i].id);
    } else {
        /* columns as wide as their widest cell */
        const char *head[] = { "NAME", "ID", "IMAGE", "COMMAND", "STATUS", "PID", "CREATED" };
        enum { NCOL = 7 };
        char *(*cells)[NCOL] = nr_xmalloc((n + 1) * sizeof *cells);
        size_t w[NCOL] = { 0 };
        for (size_t i = 0; i <= n; i++) {
            for (int k = 0; k < NCOL; k++) {
                char buf[256] = "";
                const NrCtr *c = i ? &all[i - 1] : NULL;
                if (!c)
                    cells[i][k] = nr_xstrdup(head[k]);
                else if (k == 0)
                    cells[i][k] = nr_xstrdup(c->name[0] ? c->name : "-");
                else if (k == 1)
                    cells[i][k] = nr_xstrdup(c->id);
                else if (k == 2)
                    cells[i][k] = nr_escape(c->image ? c->image : "");
                else if (k == 3) {
                    /* an image's Cmd may hold anything: never raw to the terminal */
                    nr_autofree char *cmd = command_text(c, a.no_trunc);
                    cells[i][k] = nr_escape(cmd);
                }
                else {
                    if (k == 4)
                        status_text(c, buf, sizeof buf);
                    else if (k == 5)
                        snprintf(buf, sizeof buf, "%s", "-");
                    if (k == 5 && c->running)
                        snprintf(buf, sizeof buf, "%d", (int)c->init_pid);
                    if (k == 6) {
                        char d[64];
                        nr_human_duration((int64_t)time(NULL) - c->created, d, sizeof d);
                        snprintf(buf, sizeof buf, "%s ago", d);
                    }
                    cells[i][k] = nr_xstrdup(buf);
                }
                size_t l = strlen(cells[i][k]);
                if (l > w[k])
                    w[k] = l;
            }
        }
        for (size_t i = 0; i <= n; i++) {
            for (int k = 0; k < NCOL; k++) {
                if (k < NCOL - 1)
                    printf("%-*s  ", (int)w[k], cells[i][k]);
                else
                    printf("%s\n", cells[i][k]);
                free(cells[i][k]);
            }
        }
        free(cells);
    }
    nr_ctr_list_free(all, n_all);
    return 0;
}

/* ---- rm ---- */

int nr_cmd_rm(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("rm", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    int rc = 0;
    for (int i = 0; i < a.n_operands; i++) {
        const char *spec = a.operands[i];
        NrCtr c;
        NrError e = { 0 };
        if (nr_ctr_find(spec, &c, &e) < 0) {
            /* -f: a container whose files are damaged goes too */
            NrError d = { 0 };
            int r2 = a.force ? nr_ctr_remove_damaged(spec, &d) : 1;
            if (r2 == 0)
                printf("%s\n", spec);
            else
                rc = fail(r2 < 0 ? &d : &e);
            continue;
        }
        if (c.running && !a.force) {
            nr_error_msg(&e, "container '%s' is running", spec);
            nr_error_hint(&e, "'nroot stop %s' first, or 'nroot rm -f %s'", spec, spec);
            rc = fail(&e);
            nr_ctr_clear(&c);
            continue;
        }
        if (c.running && stop_container(&c, -1, &e) < 0) {
            rc = fail(&e);
            nr_ctr_clear(&c);
            continue;
        }
        int lock = -1, held = 0;
        /* a container just stopped: its nroot's last children may hold the
         * lock for a moment longer */
        for (int tries = 0; c.store_dir && tries < 20; tries++) {
            if ((held = nr_ctr_lock(c.store_dir, &lock, &e)) != 1)
                break;
            usleep(100 * 1000);
        }
        if (c.store_dir && held != 0) {
            if (held > 0)
                nr_error_msg(&e, "container '%s' was started again meanwhile", spec);
            rc = fail(&e);
        } else if (nr_ctr_remove(&c, &e) < 0)
            rc = fail(&e);
        else
            printf("%s\n", spec);
        if (lock >= 0)
            close(lock);
        nr_ctr_clear(&c);
    }
    return rc;
}

/* ---- start ---- */

static void start_args(const NrCtr *c, const NrCtrArgs *a, NrStrv *out)
{
    nr_strv_push(out, "run");
    nr_strv_take(out, nr_strdup_printf("--name=%s", c->name));
    if (!a->attach)
        nr_strv_push(out, "--detach");
    if (c->pty)
        nr_strv_push(out, "--tty");
    if (a->attach ? a->interactive : c->interactive)
        nr_strv_push(out, "--interactive");
    for (size_t i = 1; i < c->args.n; i++)
        nr_strv_push(out, c->args.v[i]);
}

int nr_cmd_start(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("start", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    if (a.attach && a.n_operands > 1)
        return nr_error_msg(&err, "--attach takes one container"), fail(&err);
    if (a.interactive && !a.attach)
        return nr_error_msg(&err, "--interactive needs --attach"), fail(&err);
    int rc = 0;
    for (int i = 0; i < a.n_operands; i++) {
        NrCtr c;
        NrError e = { 0 };
        if (nr_ctr_find(a.operands[i], &c, &e) < 0) {
            rc = fail(&e);
            continue;
        }
        if (!c.in_store) {
            nr_error_msg(&e, "container '%s' has no name: only named containers can be started "
                         "again", a.operands[i]);
            nr_error_hint(&e, "'nroot run --name NAME' makes one");
            rc = fail(&e);
        } else if (c.running && !a.attach) {
            printf("%s\n", c.name);   /* already running: nothing to do */
        } else {
            NrStrv args = { 0 };
            start_args(&c, &a, &args);
            if (a.attach) {
                rc = nr_cmd_run_stored((int)args.n, args.v);
                nr_strv_clear(&args);
                nr_ctr_clear(&c);
                return rc;
            }
            /* run -d ends once the command started: one at a time */
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0)
                _exit(nr_cmd_run_stored((int)args.n, args.v));
            int status = 0;
            while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                rc = pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : NR_EXIT_FAILURE;
            nr_strv_clear(&args);
        }
        nr_ctr_clear(&c);
    }
    return rc;
}

/* ---- joining a running container (exec, export) ---- */

/* the container's namespaces, from the fds its nroot keeps */
static int open_namespaces(const NrCtr *c, int fds[NR_NS_SLOTS], NrError *err)
{
    for (int i = 0; i < NR_NS_SLOTS; i++)
        fds[i] = -1;
    nr_autoclose int nroot = nr_ctr_pidfd(c->pid, c->pid_start);
    if (nroot < 0)
        return nr_error_msg(err, "container '%s' is not running", display_name(c));
    for (int i = 0; i < NR_NS_COUNT; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->pid, c->ns_fd[i]);
        if (c->ns_fd[i] < 0 || (fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
            ioctl(fds[i], NS_GET_NSTYPE) != ns_flags[i]) {
            nr_error_errno(err, "cannot open the %s namespace of container '%s'", nr_ns_names[i],
                           display_name(c));
            goto fail;
        }
    }
    /* --cap-add=SYS_ADMIN: the payload's nested user and mount namespaces */
    for (int i = NR_NS_COUNT; i < NR_NS_SLOTS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->pid, c->ns_fd[i]);
        if (c->ns_fd[i] >= 0 && ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
                                 ioctl(fds[i], NS_GET_NSTYPE) != ns_flags[i])) {
            nr_error_errno(err, "cannot open the %s namespace of container '%s'", nr_ns_names[i],
                           display_name(c));
            goto fail;
        }
    }
    /* still the same nroot: the fds opened are its own */
    if (syscall(SYS_pidfd_send_signal, nroot, 0, NULL, 0) < 0) {
        nr_error_msg(err, "container '%s' ended", display_name(c));
        goto fail;
    }
    return 0;
fail:
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return -1;
}

/* is the namespace behind fd the one this process is in already?  (the
 * network of --net=host is the host's: joining it again would need rights
 * in the host's user namespace) */
static bool same_ns(int fd, int i)
{
    char path[64];
    struct stat a, b;
    snprintf(path, sizeof path, "/proc/self/ns/%s", nr_ns_names[i]);
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static int join(const int fds[NR_NS_COUNT], int from, int to, NrError *err)
{
    for (int i = from; i < to; i++)
        if (!same_ns(fds[i], i) && setns(fds[i], ns_flags[i]) < 0)
            return nr_error_errno(err, "cannot join the container's %s namespace", nr_ns_names[i]);
    return 0;
}

/* the container's run configuration, as `run` recorded it */
static int container_config(const NrCtr *c, NrRunConfig *cfg, NrError *err)
{
    NrStrv args = { 0 };
    for (size_t i = 0; i < c->args.n; i++)
        nr_strv_push(&args, c->args.v[i]);
    int rc = nr_cli_parse_run((int)args.n, args.v, cfg, err);
    /* args stays allocated: cfg points into it */
    if (rc != NR_CLI_RUN)
        return nr_error_msg(err, "container '%s' has a damaged config", display_name(c));
    bool q = nr_quiet;
    nr_quiet = true;
    rc = nr_userns_plan(cfg->userns, &cfg->map, err);
    nr_quiet = q;
    if (rc < 0)
        return -1;
    if (nr_store_resolve_key(c->image_key ? c->image_key : "", &cfg->map, &cfg->img, err) < 0)
        return -1;
    cfg->lower = cfg->img.lower;
    return 0;
}

/* ---- exec ---- */

/* What enters the container, in runc's nsexec order:
 *
 *   nroot exec   stays on the host, in none of the container's namespaces:
 *                relays stdio (pipes, or the pty with -t), forwards
 *                signals, waits for the command
 *   `- joiner    not dumpable before its first setns and holding no fd of
 *                the caller's; joins user, mnt, uts, ipc, net and cgroup,
 *                and only then pid; forks the command as nroot's own child
 *                (CLONE_PARENT), sends its pid, ends
 *   command      the first process of this exec that the container can
 *                see: its root and working directory are the container's
 *                from its birth, its stdio pipes to nroot or the
 *                container's pty, and it is not dumpable (its memory is
 *                the host user namespace's) until it execs
 */
typedef struct ExecJob {
    const NrRunConfig *cfg;
    int                fds[NR_NS_SLOTS];   /* the nested ones -1 unless SYS_ADMIN */
    int                stdio[3];   /* the joiner's 0-2: pipes to nroot, or /dev/null */
    int                sock;       /* the command's pid, GO; -t: the master */
    int                errfd;      /* a failure before the exec */
    pid_t              nroot;
} ExecJob;

static _Noreturn void exec_fail(const ExecJob *j, NrError *e)
{
    nr_write_all(j->errfd, e, sizeof *e);
    _exit(e->code ? e->code : NR_EXIT_FAILURE);
}

/* the command: a child of nroot's in every namespace of the container */
static _Noreturn void exec_command(const ExecJob *j)
{
    NrError e = { 0 };
    /* dies with nroot, its parent; EOF instead of GO: nroot died first */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    NrSyncMsg go;
    if (nr_sync_recv(j->sock, &go) != 1 || go.type != NR_SYNC_GO)
        _exit(NR_EXIT_FAILURE);
    int slave = -1;
    if (j->cfg->pty && (slave = nr_payload_open_pty(j->sock, &e)) < 0)
        exec_fail(j, &e);
    if (!j->cfg->pty)
        setsid();   /* no controlling terminal; -t: the pty becomes it */
    nr_payload_exec(j->cfg, slave, &e);
    exec_fail(j, &e);
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* the joiner: a child of nroot's, outside the container's pid namespace */
static _Noreturn void exec_join(ExecJob *j)
{
    NrError e = { 0 };
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != j->nroot)
        _exit(NR_EXIT_FAILURE);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(j->stdio[fd], fd) < 0) {
            nr_error_errno(&e, "cannot set up the command's stdio");
            exec_fail(j, &e);
        }
    int keep[NR_NS_SLOTS + 2], n = 0;
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (j->fds[i] >= 0)
            keep[n++] = j->fds[i];
    keep[n++] = j->sock;
    keep[n++] = j->errfd;
    qsort(keep, (size_t)n, sizeof *keep, cmp_int);
    nr_close_range_except(3U, keep, n);
    /* --net=host: the network is the host's, where this process is */
    bool skip[NR_NS_SLOTS];
    for (int i = 0; i < NR_NS_SLOTS; i++)
        skip[i] = j->fds[i] < 0 || same_ns(j->fds[i], i);
    /* user first (it grants the rights for the rest), pid after the others
     * (it applies to children only); with SYS_ADMIN then the payload's
     * nested user and mount namespaces, where the container's mounts are
     * locked (mounts.c): the command gets no more than the payload has */
    for (int i = NR_NS_USER; i < NR_NS_SLOTS; i++) {
        if (!skip[i] && setns(j->fds[i], ns_flags[i]) < 0) {
            nr_error_errno(&e, "cannot join the container's %s namespace", nr_ns_names[i]);
            exec_fail(j, &e);
        }
        if (skip[i] || ns_flags[i] != CLONE_NEWUSER)
            continue;
        /* new credentials: the kernel reset both */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != j->nroot)
            _exit(NR_EXIT_FAILURE);
        if (i == NR_NS_USER && nr_keyring_new_session(&e) < 0)
            exec_fail(j, &e);
    }
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (j->fds[i] >= 0)
            close(j->fds[i]);
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        nr_error_errno(&e, "cannot start the command");
        exec_fail(j, &e);
    }
    if (pid == 0)
        exec_command(j);
    NrError which = { .code = pid };
    nr_sync_send(j->sock, NR_SYNC_PID, &which);
    _exit(0);
}

static int exec_prepare(const NrCtrArgs *a, NrCtr *c, NrRunConfig *cfg, NrError *err)
{
    if (nr_ctr_find(a->operands[0], c, err) < 0)
        return -1;
    if (!c->running) {
        nr_error_msg(err, "container '%s' is not running", a->operands[0]);
        if (c->in_store)
            nr_error_hint(err, "'nroot start %s' starts it", a->operands[0]);
        return -1;
    }
    if (container_config(c, cfg, err) < 0 || nr_run_apply_image(cfg, err) < 0 ||
        nr_seccomp_recorded(cfg, c->rt_dir, err) < 0)
        return -1;
    cfg->argv = &a->operands[1];
    if (a->workdir)
        cfg->workdir = a->workdir;
    if (a->user) {
        cfg->user = a->user;
        cfg->user_from_image = false;
    }
    for (size_t i = 0; i < a->env.n; i++)
        nr_strv_push(&cfg->env, a->env.v[i]);
    cfg->pty = a->tty;
    cfg->interactive = a->interactive;
    cfg->tty = isatty(STDIN_FILENO);
    return 0;
}

static int status_of(int ws)
{
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : NR_EXIT_FAILURE;
}

int nr_cmd_exec(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("exec", argc, argv, &a, 2, -1, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    /* first of all: nothing the caller left open (`7<$HOME`) and nothing
     * opened below (the image's lock) can reach the container */
    nr_close_fds_except(-1);
    nr_stdio_fill();
    static NrRunConfig cfg;
    static ExecJob j;
    NrCtr c;
    if (exec_prepare(&a, &c, &cfg, &err) < 0 || open_namespaces(&c, j.fds, &err) < 0) {
        nr_ctr_clear(&c);
        return fail(&err);
    }
    /* with SYS_ADMIN only the payload's nested namespaces keep the mounts
     * locked: an nroot that did not record them cannot exec safely */
    if (nr_mounts_lock_wanted(&cfg) && (j.fds[NR_NS_NESTED_USER] < 0 || j.fds[NR_NS_NESTED_MNT] < 0)) {
        nr_error_msg(&err, "container '%s' has --cap-add=SYS_ADMIN, but the namespaces where its "
                     "mounts are locked are not known", display_name(&c));
        nr_error_hint(&err, "stop it and start it again with this nroot");
        nr_ctr_clear(&c);
        return fail(&err);
    }
    sigset_t set;
    sigemptyset(&set);
    static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };
    for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
        sigaddset(&set, fwd[i]);
    if (cfg.pty) {
        sigaddset(&set, SIGTSTP);
        sigaddset(&set, SIGCONT);
    }
    sigprocmask(SIG_BLOCK, &set, NULL);
    /* the caller's stdio never enters the container: pipes, or with -t
     * the container's own pty (the joiner gets /dev/null) */
    static const bool all[3] = { true, true, true };
    NrRelay *relay = NULL;
    int sv[2], ep[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(ep, O_CLOEXEC) < 0)
        return nr_error_errno(&err, "socketpair"), fail(&err);
    if (nr_relay_plan(all, cfg.pty, cfg.interactive, j.stdio, &relay, &err) < 0)
        return fail(&err);
    j.cfg = &cfg;
    j.sock = sv[1];
    j.errfd = ep[1];
    j.nroot = getpid();
    fflush(NULL);
    pid_t joiner = fork();
    if (joiner < 0)
        return nr_error_errno(&err, "fork"), fail(&err);
    if (joiner == 0) {
        close(sv[0]);
        close(ep[0]);
        exec_join(&j);
    }
    close(sv[1]);
    close(ep[1]);
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (j.fds[i] >= 0)
            close(j.fds[i]);
    for (int fd = 0; fd < 3; fd++)
        close(j.stdio[fd]);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    NrPty *pty = NULL;
    NrError perr = { 0 };
    int status = NR_EXIT_FAILURE, joiner_status = -1;
    pid_t pid = 0;   /* the command's, once the joiner sent it */
    sigset_t early;  /* signals that came before */
    sigemptyset(&early);
    bool done = false;
    enum { MAX_POLL = 12 };
    struct pollfd pfd[MAX_POLL];
    int errfd = ep[0], sock = sv[0];
    while (!done) {
        pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        pfd[1] = (struct pollfd){ .fd = sock, .events = POLLIN };
        pfd[2] = (struct pollfd){ .fd = errfd, .events = POLLIN };
        int n = 3;
        if (pty)
            n += nr_pty_fill(pty, pfd, n, MAX_POLL);
        if (relay)
            n += nr_relay_fill(relay, pfd, n, MAX_POLL);
        int pr = poll(pfd, (nfds_t)n, -1);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && pty)
            nr_pty_dispatch(pty, pfd);
        if (pr > 0 && relay)
            nr_relay_dispatch(relay, pfd);
        if (pr > 0 && pfd[1].revents) {
            NrSyncMsg msg;
            int got = nr_sync_recv(sock, &msg);
            if (got == 1 && msg.type == NR_SYNC_PID && !pid && msg.err.code > 0) {
                pid = msg.err.code;
                nr_sync_send(sock, NR_SYNC_GO, NULL);
                for (int sig = 1; sig < NSIG; sig++)
                    if (sigismember(&early, sig) == 1)
                        kill(pid, sig);
            } else if (got == 1 && msg.type == NR_SYNC_PTY && msg.fd >= 0 && !pty) {
                pty = nr_pty_new(msg.fd, cfg.interactive);
            } else if (got == 1) {
                if (msg.fd >= 0)
                    close(msg.fd);
            } else {
                close(sock);
                sock = -1;
            }
        }
        if (pr > 0 && pfd[2].revents) {
            /* EOF: the command was executed; a message: why it was not */
            ssize_t got = read(errfd, &perr, sizeof perr);
            if (got != (ssize_t)sizeof perr)
                memset(&perr, 0, sizeof perr);
            close(errfd);
            errfd = -1;
        }
        struct signalfd_siginfo si;
        if (pr > 0 && (pfd[0].revents & POLLIN) && read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            int sig = (int)si.ssi_signo;
            if (pty && sig == SIGWINCH)
                nr_pty_resize(pty);
            else if (cfg.pty && (sig == SIGTSTP || sig == SIGCONT)) {
                if (sig == SIGTSTP && pty)
                    nr_pty_stop(pty);
            } else if (sig != SIGCHLD) {
                if (pid)
                    kill(pid, sig);
                else
                    sigaddset(&early, sig);
            }
        }
        /* the joiner ends once it sent the pid (or failed: errfd says
         * why); the command's end is the end of exec */
        int ws;
        if (joiner_status < 0 && waitpid(joiner, &ws, WNOHANG) == joiner)
            joiner_status = status_of(ws);
        if (pid && waitpid(pid, &ws, WNOHANG) == pid) {
            status = status_of(ws);
            done = true;
        } else if (!pid && joiner_status >= 0 && (joiner_status != 0 || sock < 0)) {
            status = joiner_status ? joiner_status : NR_EXIT_FAILURE;
            done = true;
        }
    }
    if (errfd >= 0) {
        ssize_t got = read(errfd, &perr, sizeof perr);
        if (got != (ssize_t)sizeof perr)
            memset(&perr, 0, sizeof perr);
    }
    while (joiner_status < 0 && waitpid(joiner, NULL, 0) < 0 && errno == EINTR)
        ;
    nr_pty_free(pty);
    nr_relay_free(relay);   /* what the command wrote, before any message */
    if (perr.code) {
        perr.msg[sizeof perr.msg - 1] = perr.hint[sizeof perr.hint - 1] = '\0';
        nr_error_print(&perr);
        status = perr.code;
    }
    nr_ctr_clear(&c);
    /* _exit: no exit-time work in a process whose children were in the
     * container (LeakSanitizer's tracer, in sanitizer builds, must not
     * wait on them) */
    fflush(NULL);
    _exit(status);
}

/* ---- export ---- */

/* in the container's user namespace as its root, with the tree to write
 * as the working directory: the helper writes the tarball to `out` */
static _Noreturn void exec_export_helper(int out, const char *name, NrError *err)
{
    nr_autofree char *helper = nr_store_helper_path();
    if (dup2(out, STDOUT_FILENO) < 0) {
        nr_error_errno(err, "dup2");
        _exit(NR_EXIT_FAILURE);
    }
    nr_close_fds_except(-1);
    nr_spawn_become_root();
    char *argv[] = { "nroot-unpack", "--export", (char *)name, NULL };
    execv(helper, argv);
    nr_error_errno(err, "cannot run the helper '%s'", helper);
    nr_error_print(err);
    _exit(NR_EXIT_FAILURE);
}

typedef struct ExportJob {
    NrRunConfig *cfg;
    int          out;
    const char  *name;
} ExportJob;

/* a stopped named container: its layer over its image, mounted read-only
 * in a mount namespace of this child's own */
static int export_child(void *data, int sync_fd, NrError *err)
{
    ExportJob *j = data;
    /* nothing of the caller's reaches fuse-overlayfs or the helper */
    int keep[2] = { sync_fd < j->out ? sync_fd : j->out, sync_fd < j->out ? j->out : sync_fd };
    nr_close_range_except(3U, keep, 2);
    char *root = NULL;
    if (nr_rootfs_mount(j->cfg, sync_fd, &root, err) < 0)
        return -1;
    if (chdir(root) < 0)
        return nr_error_errno(err, "cannot enter '%s'", root);
    free(root);
    /* errors of the helper reach stderr, in its own words */
    close(sync_fd);
    exec_export_helper(j->out, j->name, err);
}

static int export_stopped(NrCtr *c, int out, NrError *err)
{
    if (!c->in_store)
        return nr_error_msg(err, "container '%s' has ended and left no files: unnamed containers "
                            "are removed when they end", c->id);
    int lock = -1;
    int held = nr_ctr_lock(c->store_dir, &lock, err);
    if (held)
        return held > 0 ? nr_error_msg(err, "container '%s' was started meanwhile: try again",
                                       c->name) : -1;
    static NrRunConfig cfg;
    int rc = -1;
    if (container_config(c, &cfg, err) < 0)
        goto out;
    cfg.overlay = nr_rootfs_layer_overlay(c->store_dir);
    cfg.ctr_dir = c->store_dir;
    cfg.read_only = true;
    cfg.n_volumes = 0;
    char *scratch = nr_runtime_subdir("mnt", err);
    if (!scratch)
        goto out;
    cfg.scratch = scratch;
    ExportJob j = { .cfg = &cfg, .out = out, .name = c->name };
    int sync_fd = -1, status = 0;
    /* a pid namespace too: the helper is its process 1 */
    pid_t pid = nr_spawn(CLONE_NEWNS | CLONE_NEWPID, &cfg.map, export_child, &j, &sync_fd, err);
    if (pid >= 0) {
        /* #3a: a fuse-overlayfs layer is mounted by a daemon of ours; the
         * child closes the socket when it runs the helper */
        pid_t fuse = 0;
        NrError cerr = { 0 };
        NrSyncMsg msg;
        while (!cerr.code && nr_sync_recv(sync_fd, &msg) == 1) {
            if (msg.type == NR_SYNC_FUSE && fuse == 0 && (fuse = nr_fuse_start(&msg, &cerr)) < 0)
                kill(pid, SIGKILL);
            else if (msg.type == NR_SYNC_ERROR)
                cerr = msg.err;
            if (msg.fd >= 0)
                close(msg.fd);
        }
        rc = nr_spawn_wait(pid, sync_fd, &status, NULL, err);
        close(sync_fd);
        nr_fuse_stop(fuse, cfg.scratch, false);
        if (cerr.code) {
            *err = cerr;
            rc = -1;
        } else if (rc == 0 && status != 0)
            rc = nr_error_set(err, status, 0, "the export of container '%s' failed", c->name);
    }
    free(scratch);
out:
    close(lock);
    return rc;
}

static int export_running(NrCtr *c, int out, NrError *err)
{
    int fds[NR_NS_SLOTS];   /* the outer ones: the files as the layer has them */
    if (open_namespaces(c, fds, err) < 0)
        return -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return nr_error_errno(err, "socketpair");
    /* a child enters the container's mounts and hands back its root: the
     * helper itself must run from the host's files */
    pid_t a = fork();
    if (a == 0) {
        NrError e = { 0 };
        int root = -1;
        /* a detached copy of the root mount alone: the container's files
         * as its layer and image make them, not what is mounted on top
         * (/proc, /dev, volumes, the generated /etc/hosts) */
        if (join(fds, NR_NS_USER, NR_NS_UTS, &e) == 0)
            root = (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        nr_sync_send_fd(sv[1], NR_SYNC_RESULT, root);
        _exit(root >= 0 ? 0 : 1);
    }
    close(sv[1]);
    NrSyncMsg msg = { .fd = -1 };
    int got = a > 0 ? nr_sync_recv(sv[0], &msg) : -1;
    close(sv[0]);
    while (a > 0 && waitpid(a, NULL, 0) < 0 && errno == EINTR)
        ;
    if (got != 1 || msg.fd < 0) {
        for (int i = 0; i < NR_NS_SLOTS; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        return nr_error_msg(err, "cannot enter the root of container '%s'", display_name(c));
    }
    fflush(NULL);
    pid_t b = fork();
    if (b == 0) {
        NrError e = { 0 };
        if (join(fds, NR_NS_USER, NR_NS_MNT, &e) < 0 || fchdir(msg.fd) < 0) {
            nr_error_print(&e);
            _exit(NR_EXIT_FAILURE);
        }
        exec_export_helper(out, display_name(c), &e);
    }
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(msg.fd);
    int status = 0;
    while (b > 0 && waitpid(b, &status, 0) < 0 && errno == EINTR)
        ;
    if (b < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return nr_error_set(err, NR_EXIT_FAILURE, 0, "the export of container '%s' failed",
                            display_name(c));
    return 0;
}

int nr_cmd_export(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = parse("export", argc, argv, &a, 1, 1, &err);
    if (r)
        return r > 0 ? 0 : fail(&err);
    if (!a.output && isatty(STDOUT_FILENO)) {
        nr_error_msg(&err, "refusing to write a tarball to a terminal");
        nr_error_hint(&err, "redirect stdout, or give -o FILE");
        return fail(&err);
    }
    NrCtr c;
    if (nr_ctr_find(a.operands[0], &c, &err) < 0)
        return fail(&err);
    int out = STDOUT_FILENO;
    char tmp[PATH_MAX] = "";
    if (a.output) {
        /* written beside, renamed when complete: a failed export leaves
         * no half tarball under the name asked for */
        snprintf(tmp, sizeof tmp, "%s.XXXXXX", a.output);
        out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0) {
            nr_error_errno(&err, "cannot create '%s'", a.output);
            nr_ctr_clear(&c);
            return fail(&err);
        }
        mode_t mask = umask(0);
        umask(mask);
        fchmod(out, 0666 & ~mask);
    }
    int rc = c.running ? export_running(&c, out, &err) : export_stopped(&c, out, &err);
    if (a.output) {
        if (rc == 0 && (fsync(out) < 0 || rename(tmp, a.output) < 0))
            rc = nr_error_errno(&err, "cannot write '%s'", a.output);
        if (rc < 0)
            unlink(tmp);
        close(out);
    }
    nr_ctr_clear(&c);
    return rc < 0 ? fail(&err) : 0;
}
