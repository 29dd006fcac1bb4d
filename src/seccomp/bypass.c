/* SPDX-License-Identifier: Apache-2.0 */
/* bypass.c — --tcp-bypass's filter (host/bypass.c has the other end),
 * loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER before the profile, so it
 * holds with any profile and with seccomp=unconfined:
 *   - connect: USER_NOTIF, on every ABI.  On i386 libseccomp adds the
 *     multiplexer's call socketcall(SYS_CONNECT) too: nroot reads its
 *     arguments from the caller's memory;
 *   - bind and listen: USER_NOTIF as connect (socketcall(SYS_BIND) and
 *     socketcall(SYS_LISTEN) on i386), always: a host socket in the
 *     command's hands (swapped by connect, or a published port's server)
 *     may leave the connecting state (a refused or shut-down connect),
 *     and a bind or listen the kernel made on it would bind or listen in
 *     the host's namespace; nroot answers both itself (host/bypass.c);
 *   - io_uring_setup, io_uring_enter, io_uring_register: EPERM.  A ring's
 *     IORING_OP_CONNECT would connect a socket without a connect call,
 *     where no notification sees it (the default profile leaves io_uring
 *     out already; this holds with any profile);
 *   - sendto, sendmsg and sendmmsg with MSG_FASTOPEN: EOPNOTSUPP.  TCP
 *     Fast Open connects the socket from the send, without a connect
 *     call: on a swapped socket, disconnected with AF_UNSPEC, it would
 *     reach what the host reaches.  For x86_64 and x32 only, whose flags
 *     argument a filter can read: i386's socketcall carries it in memory,
 *     and a rule with arguments there would be a rule on every
 *     socketcall (compile.c). */
#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "nr-seccomp.h"

#define ARGS(...) \
    (const NrSeccompArg[]){ __VA_ARGS__ }, \
        sizeof(const NrSeccompArg[]){ __VA_ARGS__ } / sizeof(NrSeccompArg)
#define FASTOPEN(a) ARGS({ (a), SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN })
#define NO_TFO SCMP_ACT_ERRNO(EOPNOTSUPP)
#define ABI64 (NR_ARCH_X86_64 | NR_ARCH_X32)

#define COMMON \
    { \
        "io_uring_setup io_uring_enter io_uring_register", SCMP_ACT_ERRNO(EPERM), 0, 0, 0, NULL, 0 \
    }, \
        { "sendto", NO_TFO, 0, 0, ABI64, FASTOPEN(3) }, \
        { "sendmsg", NO_TFO, 0, 0, ABI64, FASTOPEN(2) }, \
    { \
        "sendmmsg", NO_TFO, 0, 0, ABI64, FASTOPEN(3) \
    }

static const NrSeccompRule rules[] = {
    { "connect bind listen", SCMP_ACT_NOTIFY, 0, 0, 0, NULL, 0 },
    COMMON,
};

static const NrSeccompProfile profile = {
    .name = "bypass",
    .default_action = SCMP_ACT_ALLOW,
    .arches = NR_ARCH_ALL,
    .rules = rules,
    .n_rules = sizeof rules / sizeof rules[0],
};

const NrSeccompProfile *nr_seccomp_bypass(void)
{
    return &profile;
}
