/* SPDX-License-Identifier: Apache-2.0 */
/* fetch.c — an image from a registry into the store's blob cache, by the
 * nroot-pull helper (libcurl stays out of the launcher).
 *
 * nroot-pull runs as the user on the host, in no namespace: the host's
 * resolver, CAs and auth files.  It writes one status line per event on a
 * pipe (src/pull/main.c lists them); this side keeps the manifest digest,
 * feeds the layer, progress and blob lines to the per-layer progress on a
 * terminal (pullbar.c), and turns a
 * failure into one NrError: nroot-pull's own error line and hint (its
 * stderr), code 125.  Its other stderr lines (warnings) are passed on.
 *
 * The import streams: nr_fetch_start returns once the manifest and config
 * lines have come (both blobs whole in the cache), nroot-pull still
 * fetching the layers; the store runs nroot-unpack meanwhile, calling
 * nr_fetch_pump while it waits, and nr_fetch_finish at the end. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch.h"
#include "nr-util.h"
#include "pullbar.h"

typedef struct Reader {
    char buf[4096];
    size_t len;
    bool eof;
} Reader;

typedef struct State {
    const NrFetch *f;
    char manifest[80];
    bool config; /* the config line came: manifest and config are in the cache */
    char status_err[1024], err_line[1024], hint[512];
    NrPullbar bar;
} State;

/* one status line of nroot-pull */
static void on_line(State *s, char *line)
{
    char a[80] = "", b[80] = "";
    unsigned long long x = 0, y = 0;
    if (sscanf(line, "manifest %79s", a) == 1) {
        snprintf(s->manifest, sizeof s->manifest, "%s", a);
    } else if (sscanf(line, "config %79s", a) == 1) {
        s->config = true;
    } else if (sscanf(line, "layer %llu %79s %llu", &x, a, &y) == 3) {
        nr_pullbar_layer(&s->bar, a, y);
    } else if (sscanf(line, "progress %79s %llu %llu", a, &x, &y) == 3) {
        nr_pullbar_progress(&s->bar, a, x);
    } else if (sscanf(line, "blob %79s %79s", a, b) == 2) {
        if (strcmp(b, "done") == 0)
            nr_pullbar_done(&s->bar, a);
        else if (strcmp(b, "present") == 0)
            nr_pullbar_present(&s->bar, a);
    } else if (strncmp(line, "error ", 6) == 0) {
        snprintf(s->status_err, sizeof s->status_err, "%s", line + 6);
    }
}

/* one line nroot-pull wrote to stderr: its error and hint are kept for the
 * one error nroot prints, the rest (warnings) passed on */
static void on_stderr(State *s, char *line)
{
    const char *p;
    if ((p = strstr(line, ": error: ")) && p - line < 16)
        snprintf(s->err_line, sizeof s->err_line, "%s", p + 9);
    else if ((p = strstr(line, ": hint: ")) && p - line < 16)
        snprintf(s->hint, sizeof s->hint, "%s", p + 8);
    else
        nr_pullbar_print(&s->bar, line);
}

/* read what is there; call fn for each whole line */
static void pump(State *s, int fd, Reader *r, void (*fn)(State *, char *))
{
    ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        r->eof = true;
        if (r->len) { /* a last line without its newline */
            r->buf[r->len] = '\0';
            fn(s, r->buf);
            r->len = 0;
        }
        return;
    }
    r->len += (size_t)n;
    char *start = r->buf, *nl;
    while ((nl = memchr(start, '\n', r->len - (size_t)(start - r->buf)))) {
        *nl = '\0';
        fn(s, start);
        start = nl + 1;
    }
    size_t left = r->len - (size_t)(start - r->buf);
    if (left == sizeof r->buf - 1) { /* a line too long: cut it */
        r->buf[left] = '\0';
        fn(s, r->buf);
        left = 0;
    }
    memmove(r->buf, start, left);
    r->len = left;
}

struct NrFetchRun {
    State s;
    pid_t pid;
    int status_fd, err_fd;
    Reader rs, re;
    bool exited, finished;
    int wst, rc;
    NrError err;
};

static bool ended(NrFetchRun *r)
{
    return r->rs.eof && r->re.eof;
}

static void reap(NrFetchRun *r)
{
    if (r->exited || !ended(r))
        return;
    while (waitpid(r->pid, &r->wst, 0) < 0 && errno == EINTR)
        ;
    r->exited = true;
}

bool nr_fetch_pump(NrFetchRun *r, int extra_fd, int timeout_ms)
{
    if (ended(r)) {
        reap(r);
        if (extra_fd >= 0) {
            struct pollfd p = { .fd = extra_fd, .events = POLLIN };
            poll(&p, 1, timeout_ms);
        }
        return true;
    }
    struct pollfd p[3] = { { .fd = r->rs.eof ? -1 : r->status_fd, .events = POLLIN },
                           { .fd = r->re.eof ? -1 : r->err_fd, .events = POLLIN },
                           { .fd = extra_fd, .events = POLLIN } };
    if (poll(p, 3, timeout_ms) < 0)
        return false;
    if (p[0].revents)
        pump(&r->s, r->status_fd, &r->rs, on_line);
    if (p[1].revents)
        pump(&r->s, r->err_fd, &r->re, on_stderr);
    reap(r);
    return ended(r);
}

bool nr_fetch_failed(NrFetchRun *r)
{
    return r->exited && (!WIFEXITED(r->wst) || WEXITSTATUS(r->wst) != 0);
}

void nr_fetch_kill(NrFetchRun *r)
{
    if (!r->exited)
        kill(r->pid, SIGTERM);
}

int nr_fetch_finish(NrFetchRun *r, char ret_manifest[80], NrError *err)
{
    if (!r->finished) {
        while (!nr_fetch_pump(r, -1, -1) || !r->exited)
            ;
        State *s = &r->s;
        const NrFetch *f = s->f;
        nr_pullbar_end(&s->bar);
        r->finished = true;
        r->rc = -1;
        int wst = r->wst;
        if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
            if (s->err_line[0])
                nr_error_msg(&r->err, "%s", s->err_line);
            else if (s->status_err[0])
                nr_error_msg(&r->err, "%s", s->status_err);
            else if (WIFSIGNALED(wst))
                nr_error_msg(&r->err, "pulling %s: the pull helper was killed by signal %d",
                             f->label, WTERMSIG(wst));
            else
                nr_error_msg(&r->err, "pulling %s failed (status %d)", f->label, WEXITSTATUS(wst));
            if (s->hint[0])
                nr_error_hint(&r->err, "%s", s->hint);
        } else if (strncmp(s->manifest, "sha256:", 7) != 0 || strlen(s->manifest) != 7 + 64) {
            nr_error_msg(&r->err, "pulling %s: the pull helper reported no manifest", f->label);
        } else {
            r->rc = 0;
        }
    }
    if (r->rc < 0) {
        *err = r->err;
        return -1;
    }
    if (ret_manifest)
        memcpy(ret_manifest, r->s.manifest, strlen(r->s.manifest) + 1);
    return 0;
}

void nr_fetch_free(NrFetchRun *r)
{
    if (!r)
        return;
    if (!r->finished) {
        nr_fetch_kill(r);
        NrError ignored = { 0 };
        nr_fetch_finish(r, NULL, &ignored);
    }
    close(r->status_fd);
    close(r->err_fd);
    free(r);
}

NrFetchRun *nr_fetch_start(const NrFetch *f, char ret_manifest[80], NrError *err)
{
    int status_pipe[2], err_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) < 0) {
        nr_error_errno(err, "pipe");
        return NULL;
    }
    if (pipe2(err_pipe, O_CLOEXEC) < 0) {
        nr_error_errno(err, "pipe");
        close(status_pipe[0]);
        close(status_pipe[1]);
        return NULL;
    }
    nr_autofree char *helper = nr_helper_path("nroot-pull", "NROOT_PULL");
    nr_autofree char *reg = nr_strdup_printf("--registry=%s", f->registry);
    nr_autofree char *repo = nr_strdup_printf("--repo=%s", f->repo);
    nr_autofree char *refa = nr_strdup_printf("--reference=%s", f->reference);
    nr_autofree char *cache = nr_strdup_printf("--cache=%s", f->cache);
    nr_autofree char *plat = f->platform ? nr_strdup_printf("--platform=%s", f->platform) : NULL;
    char *argv[16];
    int n = 0;
    argv[n++] = "nroot-pull";
    argv[n++] = reg;
    argv[n++] = repo;
    argv[n++] = refa;
    argv[n++] = cache;
    argv[n++] = "--status-fd=3";
    if (plat)
        argv[n++] = plat;
    if (f->tls_no_verify)
        argv[n++] = "--tls-verify=false";
    if (f->plain_http)
        argv[n++] = "--plain-http";
    argv[n] = NULL;

    NrFetchRun *r = calloc(1, sizeof *r);
    if (!r) {
        nr_error_errno(err, "out of memory");
        goto fail_pipes;
    }
    pid_t pid = fork();
    if (pid < 0) {
        nr_error_errno(err, "cannot start the pull helper");
        free(r);
        goto fail_pipes;
    }
    if (pid == 0) {
        /* the status pipe on 3, stderr on the error pipe; nothing else */
        int st = fcntl(status_pipe[1], F_DUPFD_CLOEXEC, 10);
        int er = fcntl(err_pipe[1], F_DUPFD_CLOEXEC, 10);
        if (st < 0 || er < 0 || dup2(st, 3) < 0 || dup2(er, 2) < 0)
            _exit(NR_EXIT_FAILURE);
        syscall(SYS_close_range, 4U, ~0U, 0U);
        signal(SIGPIPE, SIG_DFL);
        /* nroot killed: the download stops, its .partial kept for a resume */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(helper, argv);
        dprintf(2, "nroot: error: cannot run the pull helper '%s': %s\n", helper, strerror(errno));
        dprintf(2, "nroot: hint: set $NROOT_PULL to the nroot-pull binary, or reinstall nroot\n");
        _exit(NR_EXIT_FAILURE);
    }
    close(status_pipe[1]);
    close(err_pipe[1]);
    r->pid = pid;
    r->status_fd = status_pipe[0];
    r->err_fd = err_pipe[0];
    State *s = &r->s;
    s->f = f;
    nr_pullbar_init(&s->bar, f->progress);
    /* until the manifest and config are in the cache, or it has ended */
    while (!(s->manifest[0] && s->config) && !nr_fetch_pump(r, -1, -1))
        ;
    if (!(s->manifest[0] && s->config) || nr_fetch_failed(r)) {
        if (nr_fetch_finish(r, ret_manifest, err) < 0) {
            nr_fetch_free(r);
            return NULL;
        }
        return r; /* done (an image without a config line: never streamed) */
    }
    memcpy(ret_manifest, s->manifest, strlen(s->manifest) + 1);
    return r;

fail_pipes:
    close(status_pipe[0]);
    close(status_pipe[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    return NULL;
}

int nr_fetch_image(const NrFetch *f, char ret_manifest[80], NrError *err)
{
    NrFetchRun *r = nr_fetch_start(f, ret_manifest, err);
    if (!r)
        return -1;
    int rc = nr_fetch_finish(r, ret_manifest, err);
    nr_fetch_free(r);
    return rc;
}
