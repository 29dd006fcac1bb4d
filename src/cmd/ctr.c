/* SPDX-License-Identifier: Apache-2.0 */
/* ctr.c — the commands that work on containers after `run` made them:
 * ps, start, stop, wait, logs, rm (exec.c and export.c: the others). */
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

#include "cmd.h"
#include "nr-cgroup.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-plan.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

/* parse a container command's options and check the count of operands
 * (max < 0: any); 1: --help was shown */
int nr_ctr_args_parse(const char *cmd, int argc, char **argv, NrCtrArgs *a, int min_operands,
                      int max_operands, NrError *err)
{
    memset(a, 0, sizeof *a);
    int rc = nr_cli_parse_ctr(cmd, argc, argv, a, err);
    if (rc == NR_CLI_HELP || rc < 0)
        goto fail;
    if (a->n_operands < min_operands) {
        nr_error_msg(err, "missing %s", a->n_operands == 1 ? "COMMAND" : "CONTAINER");
        nr_error_hint(err, "usage: %s", nr_cli_command(cmd)->usage);
        goto fail;
    }
    if (max_operands >= 0 && a->n_operands > max_operands) {
        if (max_operands == 0)
            nr_error_msg(err, "%s takes no arguments", cmd);
        else
            nr_error_msg(err, "%s takes one container", cmd);
        nr_error_hint(err, "usage: %s", nr_cli_command(cmd)->usage);
        goto fail;
    }
    return 0;
fail:
    nr_strv_clear(&a->env); /* what the options gave: the caller gets nothing */
    free(a->preserve);
    a->preserve = NULL;
    a->n_preserve = 0;
    return rc == NR_CLI_HELP ? 1 : -1;
}

int nr_cmd_fail(const NrError *err)
{
    nr_error_print(err);
    return err->code ? err->code : NR_EXIT_FAILURE;
}

const char *nr_ctr_display_name(const NrCtr *c)
{
    return c->name[0] ? c->name : c->id;
}

/* Compatibility reader: a config of format 0 (an nroot before the config
 * kept its options as data) holds the canonical `run` arguments that
 * nroot wrote (options, the image key as IMAGE, `--`, the command).  They
 * are parsed as that nroot parsed them; the next start of the container
 * writes its config anew, in the current format. */
static int legacy_plan(const NrCtr *c, NrRunConfig *cfg, NrError *err)
{
    /* the words stay allocated for as long as the process: cfg points into them */
    NrStrv args = { 0 };
    for (size_t i = 0; i < c->legacy_args.n; i++)
        nr_strv_push(&args, c->legacy_args.v[i]);
    if (args.n < 2 || strcmp(args.v[0], "run") != 0 ||
        nr_cli_parse_run((int)args.n, args.v, cfg, err) != NR_CLI_RUN)
        return nr_error_msg(err, "container '%s' has a damaged config", nr_ctr_display_name(c));
    cfg->name = c->name[0] ? c->name : NULL;
    cfg->pty = c->pty;
    cfg->interactive = c->interactive;
    return 0;
}

int nr_cmd_ctr_plan(const NrCtr *c, NrRunConfig *cfg, NrError *err)
{
    return c->plan ? nr_ctr_plan(c, cfg, err) : legacy_plan(c, cfg, err);
}

int nr_cmd_ctr_resolved(const NrCtr *c, NrRunConfig *cfg, NrError *err)
{
    if (nr_cmd_ctr_plan(c, cfg, err) < 0 || nr_userns_plan(cfg->userns, true, &cfg->map, err) < 0)
        return -1;
    if (nr_store_resolve_key(c->image_key ? c->image_key : "", &cfg->map, &cfg->img, err) < 0)
        return -1;
    cfg->lower = cfg->img.lower;
    cfg->squashfs = cfg->img.squashfs;
    return 0;
}

/* ---- stopping ---- */

int nr_cmd_ctr_stop(const NrCtr *c, int grace, NrError *err)
{
    nr_autoclose int init = nr_ctr_pidfd(c->init_pid, c->init_start);
    nr_autoclose int nroot = nr_ctr_pidfd(c->pid, c->pid_start);
    if (init < 0 || nroot < 0)
        return 0; /* ended meanwhile */
    if (grace >= 0) {
        syscall(SYS_pidfd_send_signal, init, SIGTERM, NULL, 0);
        if (nr_pidfd_wait(init, grace * 1000))
            goto ended;
    }
    if (syscall(SYS_pidfd_send_signal, init, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        return nr_error_errno(err, "cannot kill container '%s'", nr_ctr_display_name(c));
ended:
    /* its nroot records the end: wait for it, not for longer than it needs */
    if (!nr_pidfd_wait(nroot, 10000))
        return nr_error_msg(err, "container '%s' was killed, but its nroot (pid %d) did not end",
                            nr_ctr_display_name(c), (int)c->pid);
    return 0;
}

int nr_cmd_stop(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = nr_ctr_args_parse("stop", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    int rc = 0;
    for (int i = 0; i < a.n_operands; i++) {
        NrCtr c;
        NrError e = { 0 };
        if (nr_ctr_find(a.operands[i], &c, &e) < 0 ||
            (c.running && nr_cmd_ctr_stop(&c, a.time < 0 ? 10 : a.time, &e) < 0))
            rc = nr_cmd_fail(&e);
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
    int r = nr_ctr_args_parse("wait", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    int rc = 0;
    for (int i = 0; i < a.n_operands; i++) {
        NrCtr c;
        NrError e = { 0 };
        if (nr_ctr_find(a.operands[i], &c, &e) < 0) {
            rc = nr_cmd_fail(&e);
            continue;
        }
        int code = c.exit_code;
        if (c.running || c.ending) {
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
    int r = nr_ctr_args_parse("logs", argc, argv, &a, 1, 1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    NrCtr c;
    if (nr_ctr_find(a.operands[0], &c, &err) < 0)
        return nr_cmd_fail(&err);
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
        return nr_error_errno(&err, "cannot read '%s'", path), nr_cmd_fail(&err);
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

/* what a running container's cgroup counts (-1: not known); a container
 * without limits has none, and its cgroup files are never opened */
static void usage_of(const NrCtr *c, int64_t *mem, int64_t *pids)
{
    *mem = *pids = -1;
    if (c->running && c->plan && nr_cgroup_any(&c->plan->limits))
        nr_cgroup_usage(c->init_pid, c->id, mem, pids);
}

/* MEM, PIDS: what its cgroup counts (limits only), else "-" */
static void usage_text(const NrCtr *c, bool memory, char *buf, size_t size)
{
    int64_t mem, pids;
    usage_of(c, &mem, &pids);
    if (memory && mem >= 0)
        nr_cgroup_format_bytes(mem, buf, size);
    else if (!memory && pids >= 0)
        snprintf(buf, size, "%lld", (long long)pids);
    else
        snprintf(buf, size, "-");
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
        printf("], \"status\": \"%s\", \"running\": %s",
               c->running   ? "running"
               : c->started ? "exited"
                            : "created",
               c->running ? "true" : "false");
        if (!c->running && c->started && c->exit_code >= 0 && c->finished)
            printf(", \"exit_code\": %d", c->exit_code);
        else
            printf(", \"exit_code\": null");
        if (c->running)
            printf(", \"pid\": %d, \"nroot_pid\": %d", (int)c->init_pid, (int)c->pid);
        else
            printf(", \"pid\": null, \"nroot_pid\": null");
        char net[160];
        nr_ctr_network_label(c, net, sizeof net);
        printf(", \"network\": ");
        nr_json_string(net);
        int64_t mem, pids;
        usage_of(c, &mem, &pids);
        printf(mem >= 0 ? ", \"memory\": %lld" : ", \"memory\": null", (long long)mem);
        printf(pids >= 0 ? ", \"pids\": %lld" : ", \"pids\": null", (long long)pids);
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
    int r = nr_ctr_args_parse("ps", argc, argv, &a, 0, 0, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    NrCtr *all;
    size_t n_all;
    if (nr_ctr_list(&all, &n_all, &err) < 0)
        return nr_cmd_fail(&err);
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
        const char *head[] = { "NAME", "ID",      "IMAGE", "COMMAND", "STATUS",
                               "PID",  "NETWORK", "MEM",   "PIDS",    "CREATED" };
        enum { NCOL = 10 };
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
                } else {
                    if (k == 4)
                        status_text(c, buf, sizeof buf);
                    else if (k == 5)
                        snprintf(buf, sizeof buf, "%s", "-");
                    if (k == 5 && c->running)
                        snprintf(buf, sizeof buf, "%d", (int)c->init_pid);
                    if (k == 6)
                        nr_ctr_network_label(c, buf, sizeof buf);
                    if (k == 7 || k == 8)
                        usage_text(c, k == 7, buf, sizeof buf);
                    if (k == 9) {
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
    int r = nr_ctr_args_parse("rm", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
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
                rc = nr_cmd_fail(r2 < 0 ? &d : &e);
            continue;
        }
        if (c.running && !a.force) {
            nr_error_msg(&e, "container '%s' is running", spec);
            nr_error_hint(&e, "'nroot stop %s' first, or 'nroot rm -f %s'", spec, spec);
            rc = nr_cmd_fail(&e);
            nr_ctr_clear(&c);
            continue;
        }
        if (c.running && nr_cmd_ctr_stop(&c, -1, &e) < 0) {
            rc = nr_cmd_fail(&e);
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
            rc = nr_cmd_fail(&e);
        } else if (nr_ctr_remove(&c, &e) < 0)
            rc = nr_cmd_fail(&e);
        else
            printf("%s\n", spec);
        if (lock >= 0)
            close(lock);
        nr_ctr_clear(&c);
    }
    return rc;
}

/* ---- start ---- */

/* run the container again as its config says: in the background, or
 * (--attach) in the foreground */
static int start_one(const NrCtr *c, const NrCtrArgs *a)
{
    static NrRunConfig plan;
    NrError err = { 0 };
    if (nr_cmd_ctr_plan(c, &plan, &err) < 0)
        return nr_cmd_fail(&err);
    /* the volumes' sources as they are now (a file may have become a
     * directory, or be gone) */
    for (size_t i = 0; i < plan.n_volumes; i++) {
        struct stat st;
        if (stat(plan.volumes[i].src, &st) < 0)
            return nr_error_errno(&err, "volume source '%s'", plan.volumes[i].src),
                   nr_cmd_fail(&err);
        plan.volumes[i].src_is_dir = S_ISDIR(st.st_mode);
    }
    plan.detach = !a->attach;
    plan.interactive = a->attach ? a->interactive : c->interactive;
    return nr_cmd_run_plan(&plan);
}

int nr_cmd_start(int argc, char **argv)
{
    NrCtrArgs a;
    NrError err = { 0 };
    int r = nr_ctr_args_parse("start", argc, argv, &a, 1, -1, &err);
    if (r)
        return r > 0 ? 0 : nr_cmd_fail(&err);
    if (a.attach && a.n_operands > 1)
        return nr_error_msg(&err, "--attach takes one container"), nr_cmd_fail(&err);
    if (a.interactive && !a.attach)
        return nr_error_msg(&err, "--interactive needs --attach"), nr_cmd_fail(&err);
    int rc = 0;
    for (int i = 0; i < a.n_operands; i++) {
        NrCtr c;
        NrError e = { 0 };
        if (nr_ctr_find(a.operands[i], &c, &e) < 0) {
            rc = nr_cmd_fail(&e);
            continue;
        }
        if (!c.in_store) {
            nr_error_msg(&e,
                         "container '%s' has no name: only named containers can be started "
                         "again",
                         a.operands[i]);
            nr_error_hint(&e, "'nroot run --name NAME' makes one");
            rc = nr_cmd_fail(&e);
        } else if (c.running && !a.attach) {
            printf("%s\n", c.name); /* already running: nothing to do */
        } else {
            if (a.attach) {
                rc = start_one(&c, &a);
                nr_ctr_clear(&c);
                return rc;
            }
            /* run -d ends once the command started: one at a time */
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0)
                _exit(start_one(&c, &a));
            int status = 0;
            while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                rc = pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : NR_EXIT_FAILURE;
        }
        nr_ctr_clear(&c);
    }
    return rc;
}
