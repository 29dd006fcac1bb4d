/* SPDX-License-Identifier: Apache-2.0 */
/* status.c — the line protocol on --status-fd (main.c lists the lines):
 * one line per write, newlines in data replaced, nothing without an fd. */
#include <stdarg.h>
#include <stdio.h>

#include "nr-util.h"
#include "pull.h"

int nr_pull_status_fd = -1;

void nr_pull_status(const char *fmt, ...)
{
    if (nr_pull_status_fd < 0)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    nr_write_all(nr_pull_status_fd, line, (size_t)n);
}
