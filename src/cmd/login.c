/* SPDX-License-Identifier: Apache-2.0 */
/* login.c — `nroot login` and `nroot logout`, as podman's.  The launcher
 * links no HTTP or JSON library: it reads the password (--password with a
 * warning, --password-stdin, or the terminal with echo off) and hands
 * user and password to nroot-pull on a pipe as its stdin — never in an
 * argv — then execs it: the helper checks them against the registry's
 * /v2/ and edits the containers auth.json (src/pull/login.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-error.h"
#include "nr-util.h"

#define USER_MAX 256
#define PASS_MAX (16u << 10) /* registry tokens as passwords run to a few KiB */

/* exec nroot-pull with argv (stdin_fd, if >= 0, as its stdin): its exit
 * status and its messages are the command's */
static int exec_helper(char **argv, int stdin_fd, NrError *err)
{
    nr_autofree char *helper = nr_helper_path("nroot-pull", "NROOT_PULL");
    fflush(stdout);
    if (stdin_fd >= 0 && stdin_fd != STDIN_FILENO && dup2(stdin_fd, STDIN_FILENO) < 0)
        return nr_error_errno(err, "dup2");
    execv(helper, argv);
    nr_error_errno(err, "cannot run the helper '%s'", helper);
    nr_error_hint(err, "set $NROOT_PULL to the nroot-pull binary, or reinstall nroot");
    return -1;
}

/* ---- the password ---- */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty(int sig)
{
    if (tty_changed)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* one line of stdin into buf (size), without its newline; echo off when
 * `secret` (stdin is a terminal) */
static int read_line(const char *prompt, bool secret, char *buf, size_t size, NrError *err)
{
    fputs(prompt, stderr);
    fflush(stderr);
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
    struct sigaction sa = { .sa_handler = restore_tty }, old[5];
    if (secret && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
        for (size_t i = 0; i < 5; i++)
            sigaction(sigs[i], &sa, &old[i]);
        struct termios t = saved_tty;
        t.c_lflag &= ~(tcflag_t)ECHO;
        t.c_lflag |= ECHONL;
        tty_changed = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
    }
    size_t len = 0;
    int rc = 0;
    for (;;) {
        char c;
        ssize_t k = read(STDIN_FILENO, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = nr_error_errno(err, "cannot read the terminal");
            break;
        }
        if (k == 0 || c == '\n')
            break;
        if (len + 1 >= size) {
            rc = nr_error_msg(err, "the answer is longer than %zu bytes", size - 1);
            break;
        }
        buf[len++] = c;
    }
    buf[len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (secret && tty_changed) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        tty_changed = 0;
    }
    if (secret)
        for (size_t i = 0; i < 5; i++)
            sigaction(sigs[i], &old[i], NULL);
    if (rc < 0)
        explicit_bzero(buf, size);
    return rc;
}

/* --password-stdin: all of stdin, one trailing newline dropped */
static int read_stdin(char *buf, size_t size, NrError *err)
{
    size_t len = 0;
    for (;;) {
        ssize_t k = read(STDIN_FILENO, buf + len, size - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return nr_error_errno(err, "cannot read the password on stdin");
        if (k == 0)
            break;
        len += (size_t)k;
        if (len == size - 1) {
            explicit_bzero(buf, size);
            return nr_error_msg(err, "the password on stdin is longer than %zu bytes", size - 2);
        }
    }
    buf[len] = '\0';
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    return 0;
}

static int get_credentials(const NrLoginArgs *a, const char *registry, char *user, char *pass,
                           NrError *err)
{
    bool tty = isatty(STDIN_FILENO);
    if (a->password && a->password_stdin)
        return nr_error_msg(err, "--password and --password-stdin exclude each other");
    if (a->password_stdin && !a->username)
        return nr_error_msg(err, "--password-stdin needs --username");
    if (a->username) {
        if (strlen(a->username) >= USER_MAX)
            return nr_error_msg(err, "the user name is longer than %d bytes", USER_MAX - 1);
        snprintf(user, USER_MAX, "%s", a->username);
    } else if (!tty) {
        nr_error_msg(err, "no user name for %s: give --username", registry);
        return -1;
    } else if (read_line("Username: ", false, user, USER_MAX, err) < 0) {
        return -1;
    }
    if (!user[0] || strpbrk(user, ":\n\r"))
        return nr_error_msg(err, "invalid user name '%s': not empty, no ':' and no newline", user);
    if (a->password) {
        nr_warn("a password on the command line can be read by other users: use "
                "--password-stdin");
        if (strlen(a->password) >= PASS_MAX)
            return nr_error_msg(err, "the password is longer than %u bytes", PASS_MAX - 1);
        snprintf(pass, PASS_MAX, "%s", a->password);
    } else if (a->password_stdin) {
        if (read_stdin(pass, PASS_MAX, err) < 0)
            return -1;
    } else if (!tty) {
        nr_error_msg(err, "no password for %s", registry);
        nr_error_hint(err, "give --password-stdin (or --password), or log in on a terminal");
        return -1;
    } else if (read_line("Password: ", true, pass, PASS_MAX, err) < 0) {
        return -1;
    }
    if (strpbrk(pass, "\n\r"))
        return nr_error_msg(err, "the password holds a newline");
    if (!pass[0])
        return nr_error_msg(err, "the password is empty");
    return 0;
}

/* ---- the commands ---- */

static int login(const NrLoginArgs *a, NrError *err)
{
    if (a->n_operands != 1) {
        nr_error_msg(err, a->n_operands ? "too many arguments" : "missing REGISTRY");
        nr_error_hint(err, "usage: nroot login [OPTIONS] REGISTRY");
        return -1;
    }
    const char *registry = a->operands[0];
    char *argv[10];
    int n = 0;
    argv[n++] = "nroot-pull";
    argv[n++] = a->get_login ? "--get-login" : "--login";
    argv[n++] = "--registry";
    argv[n++] = (char *)registry;
    if (a->authfile) {
        argv[n++] = "--authfile";
        argv[n++] = (char *)a->authfile;
    }
    if (a->get_login) {
        if (a->username || a->password || a->password_stdin)
            return nr_error_msg(err, "--get-login takes no credentials");
        argv[n] = NULL;
        return exec_helper(argv, -1, err);
    }
    if (!a->tls_verify)
        argv[n++] = "--tls-verify=false";
    argv[n] = NULL;

    char user[USER_MAX] = "";
    char *pass = nr_xmalloc(PASS_MAX);
    pass[0] = '\0';
    int rc = get_credentials(a, registry, user, pass, err);
    int fds[2] = { -1, -1 };
    if (rc == 0 && pipe2(fds, O_CLOEXEC) < 0)
        rc = nr_error_errno(err, "pipe");
    if (rc == 0) {
        /* at most USER_MAX + PASS_MAX + 2 bytes: the pipe holds them all */
        size_t ul = strlen(user), pl = strlen(pass);
        if (nr_write_all(fds[1], user, ul) < 0 || nr_write_all(fds[1], "\n", 1) < 0 ||
            nr_write_all(fds[1], pass, pl) < 0 || nr_write_all(fds[1], "\n", 1) < 0)
            rc = nr_error_errno(err, "cannot hand the credentials to nroot-pull");
        close(fds[1]);
    }
    explicit_bzero(pass, PASS_MAX);
    free(pass);
    explicit_bzero(user, sizeof user);
    if (rc == 0)
        rc = exec_helper(argv, fds[0], err);
    if (fds[0] >= 0)
        close(fds[0]);
    return rc;
}

int nr_cmd_login(int argc, char **argv)
{
    NrLoginArgs a = { 0 };
    NrError err = { 0 };
    int rc = nr_cli_parse_login("login", argc, argv, &a, &err);
    if (rc == NR_CLI_HELP)
        return 0;
    if (rc < 0 || login(&a, &err) < 0)
        return nr_cmd_fail(&err);
    return 0;
}

int nr_cmd_logout(int argc, char **argv)
{
    NrLoginArgs a = { 0 };
    NrError err = { 0 };
    int rc = nr_cli_parse_login("logout", argc, argv, &a, &err);
    if (rc == NR_CLI_HELP)
        return 0;
    if (rc < 0)
        return nr_cmd_fail(&err);
    if (a.all ? a.n_operands != 0 : a.n_operands != 1) {
        nr_error_msg(&err, a.all               ? "--all takes no REGISTRY"
                           : a.n_operands == 0 ? "missing REGISTRY (or --all)"
                                               : "too many arguments");
        nr_error_hint(&err, "usage: nroot logout [OPTIONS] REGISTRY|--all");
        return nr_cmd_fail(&err);
    }
    char *hargv[7];
    int n = 0;
    hargv[n++] = "nroot-pull";
    hargv[n++] = "--logout";
    if (a.all) {
        hargv[n++] = "--all";
    } else {
        hargv[n++] = "--registry";
        hargv[n++] = a.operands[0];
    }
    if (a.authfile) {
        hargv[n++] = "--authfile";
        hargv[n++] = (char *)a.authfile;
    }
    hargv[n] = NULL;
    exec_helper(hargv, -1, &err);
    return nr_cmd_fail(&err);
}
