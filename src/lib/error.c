/* SPDX-License-Identifier: Apache-2.0 */
/* error.c — NrError helpers and the only places that print diagnostics. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nr-error.h"
#include "nr-util.h"

bool nr_quiet;

static void set_v(NrError *err, int code, int errnum, const char *fmt, va_list ap)
{
    if (!err)
        return;
    err->code = code;
    err->errnum = errnum;
    err->hint[0] = '\0';
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int nr_error_set(NrError *err, int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_v(err, code, errnum, fmt, ap);
    va_end(ap);
    return -1;
}

int nr_error_errno(NrError *err, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    set_v(err, NR_EXIT_FAILURE, e, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

int nr_error_msg(NrError *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_v(err, NR_EXIT_FAILURE, 0, fmt, ap);
    va_end(ap);
    return -1;
}

void nr_error_hint(NrError *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
}

void nr_error_prefix(NrError *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t pl = strlen(pre) + 2, ml = strlen(err->msg);
    if (pl + ml + 1 > sizeof err->msg)
        ml = sizeof err->msg - pl - 1;
    memmove(err->msg + pl, err->msg, ml);
    err->msg[pl + ml] = '\0';
    memcpy(err->msg, pre, pl - 2);
    memcpy(err->msg + pl - 2, ": ", 2);
}

/* one message, one line: control characters (a newline in a file name,
 * an escape sequence in an image's command) and bytes that are not UTF-8
 * are shown escaped, never printed.  nroot's own words have none, so the
 * whole message is escaped, whatever part of it came from data. */
static void put_line(const char *prefix, const char *text, const char *suffix)
{
    fputs(prefix, stderr);
    nr_escape_put(stderr, text);
    if (suffix) {
        fputs(": ", stderr);
        fputs(suffix, stderr);
    }
    fputc('\n', stderr);
}

void nr_error_print(const NrError *err)
{
    /* in a Slurm step the lines of many nodes meet in one output: each
     * names its node */
    const char *node = getenv("SLURMD_NODENAME");
    if (getenv("SLURM_STEP_ID") && node && *node && strlen(node) < 64 &&
        strspn(node, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
            strlen(node)) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "nroot: error: %s: ", node);
        put_line(prefix, err->msg, err->errnum ? strerror(err->errnum) : NULL);
    } else
        put_line("nroot: error: ", err->msg, err->errnum ? strerror(err->errnum) : NULL);
    if (err->hint[0])
        put_line("nroot: hint: ", err->hint, NULL);
}

void nr_notice(const char *fmt, ...)
{
    if (nr_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put_line("nroot: notice: ", buf, NULL);
}

void nr_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put_line("nroot: warning: ", buf, NULL);
}
