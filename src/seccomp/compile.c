/* SPDX-License-Identifier: Apache-2.0 */
/* compile.c — a profile (nr-seccomp.h) to a BPF program, with
 * libseccomp.  Linked into nroot and nroot-unpack.
 *
 * Each ABI gets a filter context of its own, merged at the end, so a rule
 * can be limited to some ABIs: on i386, libseccomp turns a `socket` rule
 * with arguments into a `socketcall` rule that cannot look at them, which
 * would refuse every socket or allow every one. */
#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-seccomp.h"
#include "nr-util.h"

static const struct {
    unsigned bit;
    uint32_t token;
} abis[] = {
    { NR_ARCH_X86_64, SCMP_ARCH_X86_64 },
    { NR_ARCH_X86, SCMP_ARCH_X86 },
    { NR_ARCH_X32, SCMP_ARCH_X32 },
};

bool nr_seccomp_x32_live(void)
{
    static int live = -1;
    if (live < 0) {
#if defined(__x86_64__)
        /* x32's getpid: ENOSYS when the kernel runs no x32 code (built
         * without CONFIG_X86_X32_ABI, or booted without syscall.x32=y, as
         * Debian's kernels are).  Asked only outside any seccomp filter:
         * one of the caller's own might kill an x32 call */
        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
            live = 1;
        else
            live = !(syscall(0x40000000L | SYS_getpid) < 0 && errno == ENOSYS);
#else
        live = 0;
#endif
    }
    return live;
}

static bool rule_applies(const NrSeccompRule *r, uint64_t caps, unsigned abi)
{
    return (r->caps_all & caps) == r->caps_all && !(r->caps_none & caps) &&
           (!r->arches || (r->arches & abi));
}

static void note_unknown(NrStrv *unknown, const char *name)
{
    if (!unknown)
        return;
    for (size_t i = 0; i < unknown->n; i++)
        if (strcmp(unknown->v[i], name) == 0)
            return;
    nr_strv_push(unknown, name);
}

static int add_rule(scmp_filter_ctx ctx, const NrSeccompProfile *p, const NrSeccompRule *r,
                    NrStrv *unknown, NrError *err)
{
    struct scmp_arg_cmp cmp[6];
    if (r->n_args > 6)
        return nr_error_msg(err, "seccomp profile '%s': more than 6 argument conditions", p->name);
    for (size_t i = 0; i < r->n_args; i++)
        cmp[i] = (struct scmp_arg_cmp){ .arg = r->args[i].index,
                                        .op = (enum scmp_compare)r->args[i].op,
                                        .datum_a = r->args[i].value,
                                        .datum_b = r->args[i].value2 };
    nr_autofree char *names = nr_xstrdup(r->names);
    char *save = NULL;
    for (char *n = strtok_r(names, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
        int nr = seccomp_syscall_resolve_name(n);
        if (nr == __NR_SCMP_ERROR) {
            note_unknown(unknown, n);
            continue;
        }
        int rc = seccomp_rule_add_array(ctx, r->action, nr, (unsigned)r->n_args, cmp);
        /* -EDOM: not a syscall of this ABI (arm_fadvise64_64 on x86) */
        if (rc < 0 && rc != -EDOM) {
            errno = -rc;
            return nr_error_errno(err, "seccomp profile '%s': cannot add the rule for '%s'",
                                  p->name, n);
        }
    }
    return 0;
}

static scmp_filter_ctx abi_filter(const NrSeccompProfile *p, uint64_t caps, unsigned abi,
                                  uint32_t token, bool no_x32, NrStrv *unknown, NrError *err)
{
    scmp_filter_ctx ctx = seccomp_init(p->default_action);
    if (!ctx) {
        nr_error_msg(err, "seccomp profile '%s': invalid default action", p->name);
        return NULL;
    }
    int rc = 0;
    if (token != seccomp_arch_native()) {
        rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
        if (rc == 0)
            rc = seccomp_arch_add(ctx, token);
    }
    /* a binary tree of syscall numbers: fewer instructions run per syscall */
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    /* without x32's rules, an x32 call is of an ABI the filter lacks: it
     * gets what the kernel answers it, ENOSYS (instead of a kill) */
    if (rc == 0 && no_x32)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
    if (rc < 0) {
        errno = -rc;
        nr_error_errno(err, "seccomp profile '%s': cannot set up the filter", p->name);
        seccomp_release(ctx);
        return NULL;
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        const NrSeccompRule *r = &p->rules[i];
        /* libseccomp refuses a rule that only repeats the default */
        if (!rule_applies(r, caps, abi) || r->action == p->default_action)
            continue;
        if (add_rule(ctx, p, r, abi == NR_ARCH_X86_64 ? unknown : NULL, err) < 0) {
            seccomp_release(ctx);
            return NULL;
        }
    }
    return ctx;
}

uint64_t nr_seccomp_digest(const NrSeccompProfile *p)
{
    uint64_t h = NR_FNV_INIT;
    for (size_t i = 0; i < p->n_rules; i++) {
        const NrSeccompRule *r = &p->rules[i];
        h = nr_fnv1a(r->names, strlen(r->names) + 1, h);
        uint64_t v[5] = { r->action, r->caps_all, r->caps_none, r->arches, r->n_args };
        h = nr_fnv1a(v, sizeof v, h);
        for (size_t a = 0; a < r->n_args; a++) {
            uint64_t w[4] = { r->args[a].index, (uint64_t)r->args[a].op, r->args[a].value,
                              r->args[a].value2 };
            h = nr_fnv1a(w, sizeof w, h);
        }
    }
    return h;
}

int nr_seccomp_compile(const NrSeccompProfile *p, uint64_t caps, int out_fd, NrStrv *ret_unknown,
                       NrError *err)
{
    scmp_filter_ctx all = NULL;
    bool x86 = seccomp_arch_native() == SCMP_ARCH_X86_64;
    /* x32's rules are a fifth of the program, and the JIT's time follows
     * the program's length (~0.06 ms of a start): left out where the
     * kernel runs no x32 call, when i386 is in the filter (x32 is then the
     * only ABI left out, and its calls fail with ENOSYS either way) */
    bool no_x32 = x86 && (p->arches & NR_ARCH_X86) && !nr_seccomp_x32_live();
    for (size_t i = 0; i < sizeof abis / sizeof abis[0]; i++) {
        /* the native ABI always; elsewhere than x86_64, only it */
        if (x86 ? !(abis[i].bit == NR_ARCH_X86_64 || (p->arches & abis[i].bit)) : i > 0)
            continue;
        if (no_x32 && abis[i].bit == NR_ARCH_X32)
            continue;
        scmp_filter_ctx ctx =
            abi_filter(p, caps, abis[i].bit, x86 ? abis[i].token : seccomp_arch_native(), no_x32,
                       ret_unknown, err);
        if (!ctx) {
            seccomp_release(all);
            return -1;
        }
        if (!all) {
            all = ctx;
            continue;
        }
        int rc = seccomp_merge(all, ctx);
        if (rc < 0) {
            seccomp_release(ctx);
            seccomp_release(all);
            errno = -rc;
            return nr_error_errno(err, "seccomp profile '%s': cannot merge the ABIs' filters",
                                  p->name);
        }
    }
    int rc = seccomp_export_bpf(all, out_fd);
    seccomp_release(all);
    if (rc < 0) {
        errno = -rc;
        return nr_error_errno(err, "seccomp profile '%s': cannot generate the filter", p->name);
    }
    return 0;
}
