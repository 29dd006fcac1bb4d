/* SPDX-License-Identifier: Apache-2.0 */
/* detach.c — `run -d` (nr-detach.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nr-detach.h"
#include "nr-error.h"
#include "nr-plan.h"
#include "nr-util.h"

static int notify_fd = -1; /* -d: the nroot in the foreground waits on this */

/* an error before the container started: with -d, the nroot in the
 * foreground prints it (and the log keeps it); code 0 says it started */
void nr_detach_report(const NrError *e)
{
    if (e->code)
        nr_error_print(e);
    if (notify_fd >= 0) {
        nr_write_all(notify_fd, e, sizeof *e);
        close(notify_fd);
        notify_fd = -1;
    }
}

/* -d: the foreground nroot waits until the command was executed (or
 * failed), prints the name or id and exits; this one goes on in a session
 * of its own with its output in the log */
int nr_detach(NrRunConfig *cfg, const char *log_dir, NrError *err)
{
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/log", log_dir);
    nr_autoclose int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return nr_error_errno(err, "cannot open the log '%s'", log);
    /* -i: stdin stays open and empty, as with docker run -di (a shell
     * waits instead of ending) */
    int keep[2] = { -1, -1 };
    if (cfg->interactive ? pipe2(keep, O_CLOEXEC) < 0
                         : (keep[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        return nr_error_errno(err, "cannot make the container's stdin");
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_error_errno(err, "pipe");
    fflush(NULL);
    pid_t child = fork();
    if (child < 0)
        return nr_error_errno(err, "fork");
    if (child > 0) {
        close(p[1]);
        NrError e = { 0 };
        ssize_t n;
        do
            n = read(p[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof e) {
            nr_error_msg(&e, "the container's nroot ended before the command started");
            nr_error_hint(&e, "see 'nroot logs %s'", cfg->name ? cfg->name : cfg->cid);
        }
        if (e.code == 0) {
            printf("%s\n", cfg->name ? cfg->name : cfg->cid);
            exit(0);
        }
        e.msg[sizeof e.msg - 1] = e.hint[sizeof e.hint - 1] = '\0';
        nr_error_print(&e);
        exit(e.code);
    }
    close(p[0]);
    notify_fd = p[1];
    setsid();
    /* no directory of the caller's stays busy (an NFS mount, a USB disk) */
    if (chdir("/") < 0)
        return nr_error_errno(err, "chdir /");
    if (dup2(keep[0], STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        return nr_error_errno(err, "cannot redirect to the log");
    close(keep[0]); /* keep[1], the write end, stays open in this nroot */
    cfg->tty = false;
    return 0;
}
