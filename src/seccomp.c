/* seccomp.c — the payload's seccomp filter (libseccomp).
 *
 * Only one thing is filtered today: a payload that shares the caller's
 * terminal must not push keystrokes into it (TIOCSTI) or use the console
 * ioctl TIOCLINUX, or it could type commands into the host shell.  Linux
 * 6.2+ can forbid TIOCSTI itself (dev.tty.legacy_tiocsti = 0); the filter is
 * loaded only where the kernel still allows it and a terminal is reachable. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "nr-run.h"

static bool tiocsti_allowed(void)
{
    char v[8];
    /* absent before 6.2, where TIOCSTI is always allowed */
    nr_read_line("/proc/sys/dev/tty/legacy_tiocsti", v, sizeof v);
    return strcmp(v, "0") != 0;
}

static bool terminal_reachable(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (isatty(fd))
            return true;
    int t = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (t < 0)
        return false;
    close(t);
    return true;
}

int nr_seccomp_apply(NrError *err)
{
    if (!terminal_reachable() || !tiocsti_allowed())
        return 0;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return nr_error_msg(err, "cannot create a seccomp filter");
    /* compat ABIs reach the same ioctls */
    seccomp_arch_add(ctx, SCMP_ARCH_X86);
    seccomp_arch_add(ctx, SCMP_ARCH_X32);
    int rc = 0;
    static const unsigned long blocked[] = { TIOCSTI, TIOCLINUX };
    for (size_t i = 0; rc == 0 && i < sizeof blocked / sizeof blocked[0]; i++)
        /* the request is an int: only its low 32 bits count */
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, blocked[i]));
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        errno = -rc;
        return nr_error_errno(err, "cannot load the seccomp filter");
    }
    return 0;
}
