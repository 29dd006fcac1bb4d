/* SPDX-License-Identifier: Apache-2.0 */
/* squashfs.c — running mksquashfs for export and for images the store
 * keeps as squashfs files (nr-squashfs.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-spawn.h"
#include "nr-squashfs.h"
#include "nr-userns.h"
#include "nr-util.h"

int nr_squashfs_find(char *ret_path, size_t size, NrError *err)
{
    const char *why = NULL;
    if (nr_userns_find_program("mksquashfs", ret_path, size, &why))
        return 0;
    nr_error_msg(err, "mksquashfs %s: squashfs files are made with it", why);
    nr_error_hint(err, "install squashfs-tools (apt-get install squashfs-tools)");
    return -1;
}

void nr_squashfs_version(const char *prog, char *ret, size_t size)
{
    ret[0] = '\0';
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        execl(prog, "mksquashfs", "-version", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[256] = "";
    size_t n = 0;
    ssize_t r;
    while (pid > 0 && n < sizeof buf - 1 &&
           ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    buf[n] = '\0';
    close(p[0]);
    while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    /* "mksquashfs version 4.5.1 (2022/03/17)" */
    const char *v = strstr(buf, "version ");
    if (v)
        snprintf(ret, size, "%.*s", (int)strcspn(v + 8, " \n"), v + 8);
}

void nr_squashfs_argv(const char *prog, const char *src, const char *dest, const char *epoch,
                      bool progress, const char **argv)
{
    size_t i = 0;
    argv[i++] = prog;
    argv[i++] = src;
    argv[i++] = dest;
    argv[i++] = "-comp";
    argv[i++] = "zstd";
    argv[i++] = "-reproducible";
    argv[i++] = "-noappend";
    argv[i++] = "-quiet";
    if (!epoch) {
        /* mksquashfs refuses these with $SOURCE_DATE_EPOCH, which sets
         * the same and clamps later file times */
        argv[i++] = "-mkfs-time";
        argv[i++] = "0";
    }
    if (!progress)
        argv[i++] = "-no-progress";
    argv[i] = NULL;
}

void nr_squashfs_exec(const char *prog, const char *src, const char *dest, bool progress,
                      NrError *err)
{
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    uint32_t t;
    if (epoch && !nr_parse_u32(epoch, &t)) {
        unsetenv("SOURCE_DATE_EPOCH"); /* not a time mksquashfs takes */
        epoch = NULL;
    }
    const char *argv[NR_SQUASHFS_ARGV];
    nr_squashfs_argv("mksquashfs", src, dest, epoch, progress, argv);
    /* stdout may be data (export -o -) or the id import prints */
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        nr_error_errno(err, "dup2");
        return;
    }
    execv(prog, (char *const *)argv);
    nr_error_errno(err, "cannot run '%s'", prog);
}

typedef struct MakeJob {
    const char *prog, *src, *dest;
    bool progress;
} MakeJob;

static int make_child(void *data, int sync_fd, NrError *err)
{
    MakeJob *j = data;
    nr_close_fds_except(sync_fd);
    nr_spawn_become_root();
    nr_squashfs_exec(j->prog, j->src, j->dest, j->progress, err);
    return -1;
}

int nr_squashfs_make(const char *prog, const char *src, const char *dest, const NrIdMap *map,
                     bool progress, NrError *err)
{
    MakeJob j = { .prog = prog, .src = src, .dest = dest, .progress = progress };
    int sync_fd = -1, status = 0;
    pid_t pid = nr_spawn(0, map, make_child, &j, &sync_fd, err);
    if (pid < 0)
        return -1;
    int rc = nr_spawn_wait(pid, sync_fd, &status, NULL, err);
    close(sync_fd);
    if (rc == 0 && status != 0)
        rc = nr_error_msg(err, "mksquashfs failed (status %d) making '%s'", status, dest);
    return rc;
}
