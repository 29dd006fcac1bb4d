/* SPDX-License-Identifier: Apache-2.0 */
/* hook.c — running OCI hooks (nr-hook.h): fork, the state on a pipe to the
 * hook's stdin, its own argv and environment, wait with its timeout. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-hook.h"
#include "nr-util.h"

static const char *const stage_names[NR_HOOK_STAGES] = {
    "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "prestart",
};

int nr_hook_stage(const char *name)
{
    for (int i = 0; i < NR_HOOK_STAGES; i++)
        if (strcmp(name, stage_names[i]) == 0)
            return i;
    return -1;
}

const char *nr_hook_stage_name(NrHookStage stage)
{
    return stage < NR_HOOK_STAGES ? stage_names[stage] : "?";
}

void nr_hook_json_put(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

char *nr_hook_state(const char *id, const char *status, pid_t pid, const char *bundle,
                    char *const *annotations)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("{\"ociVersion\":\"1.0.2\",\"id\":", f);
    nr_hook_json_put(f, id);
    fputs(",\"status\":", f);
    nr_hook_json_put(f, status);
    if (pid > 0)
        fprintf(f, ",\"pid\":%d", (int)pid);
    fputs(",\"bundle\":", f);
    nr_hook_json_put(f, bundle ? bundle : "");
    fputs(",\"annotations\":{", f);
    for (char *const *a = annotations; a && *a; a++) {
        size_t n = strcspn(*a, "=");
        char *key = strndup(*a, n);
        if (!key)
            abort();
        fputs(a == annotations ? "" : ",", f);
        nr_hook_json_put(f, key);
        fputc(':', f);
        nr_hook_json_put(f, (*a)[n] ? *a + n + 1 : "");
        free(key);
    }
    fputs("}}", f);
    fclose(f);
    return text;
}

static _Noreturn void hook_child(const NrHook *h, int in)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (in == STDIN_FILENO ? fcntl(in, F_SETFD, 0) < 0 : dup2(in, STDIN_FILENO) < 0)
        _exit(127);
    /* stdio and nothing else: not nroot's fds (close-on-exec anyway), nor
     * those the caller gave nroot and the command (--preserve-fd, PMI_FD)
     * or left open by accident */
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close((int)fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char *argv0[] = { h->path, NULL };
    char *envp0[] = { NULL };
    execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : envp0);
    fprintf(stderr, "nroot: error: cannot run the %s hook '%s': %s\n", nr_hook_stage_name(h->stage),
            h->path, strerror(errno));
    _exit(127);
}

/* waits for pid; -1 with ETIMEDOUT once `timeout` seconds passed */
static int wait_for(pid_t pid, int timeout, int *ret_ws)
{
    struct timespec start, now, nap = { .tv_nsec = 5 * 1000 * 1000 };
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t r = waitpid(pid, ret_ws, timeout > 0 ? WNOHANG : 0);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (timeout > 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec >= timeout) {
                kill(pid, SIGKILL);
                while (waitpid(pid, ret_ws, 0) < 0 && errno == EINTR)
                    ;
                errno = ETIMEDOUT;
                return -1;
            }
            nanosleep(&nap, NULL);
        }
    }
}

static int run_one(const NrHook *h, const char *state, NrError *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_error_errno(err, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return nr_error_errno(err, "cannot start the %s hook '%s'", nr_hook_stage_name(h->stage),
                              h->path);
    }
    if (pid == 0)
        hook_child(h, p[0]);
    close(p[0]);
    /* the state is far smaller than a pipe's buffer; a hook that does not
     * read it is no failure */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(state);
    (void)!write(p[1], state, len);
    close(p[1]);
    signal(SIGPIPE, old);
    int ws = 0;
    if (wait_for(pid, h->timeout, &ws) < 0) {
        if (errno == ETIMEDOUT)
            return nr_error_msg(err, "the %s hook '%s' did not end within its timeout of %d s",
                                nr_hook_stage_name(h->stage), h->path, h->timeout);
        return nr_error_errno(err, "waitpid");
    }
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return 0;
    if (WIFSIGNALED(ws))
        return nr_error_msg(err, "the %s hook '%s' was killed by signal %d",
                            nr_hook_stage_name(h->stage), h->path, WTERMSIG(ws));
    return nr_error_msg(err, "the %s hook '%s' failed (exit status %d)",
                        nr_hook_stage_name(h->stage), h->path, WEXITSTATUS(ws));
}

int nr_hooks_run(const NrHook *hooks, size_t n, NrHookStage stage, const char *state, NrError *err)
{
    for (size_t i = 0; i < n; i++)
        if (hooks[i].stage == stage && run_one(&hooks[i], state, err) < 0)
            return -1;
    return 0;
}
