/* SPDX-License-Identifier: Apache-2.0 */
/* nr-seccomp.h — seccomp profiles as plain data, compiled with libseccomp
 * into a classic BPF program.  Shared by nroot (its default profile,
 * seccomp/default.c) and nroot-unpack (a JSON profile in the docker/podman
 * format, unpack/seccomp.c); the launcher itself only loads the program. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nr-error.h"
#include "nr-util.h"

/* the ABIs an x86_64 kernel runs */
enum { NR_ARCH_X86_64 = 1, NR_ARCH_X86 = 2, NR_ARCH_X32 = 4, NR_ARCH_ALL = 7 };

/* a pseudo capability for caps_all/caps_none: the container shares the
 * host's network namespace (capabilities end far below bit 63) */
#define NR_SECCOMP_HOSTNET (1ULL << 63)
#define NR_CAP(c) (1ULL << (c))

typedef struct NrSeccompArg {
    unsigned index;         /* 0..5 */
    int op;                 /* enum scmp_compare */
    uint64_t value, value2; /* value2: the datum of SCMP_CMP_MASKED_EQ */
} NrSeccompArg;

typedef struct NrSeccompRule {
    const char *names;        /* space-separated syscall names */
    uint32_t action;          /* SCMP_ACT_* */
    uint64_t caps_all;        /* only if every one of these is held */
    uint64_t caps_none;       /* only if none of these is held */
    unsigned arches;          /* NR_ARCH_*, 0: every one of the profile's */
    const NrSeccompArg *args; /* all must match */
    size_t n_args;
} NrSeccompRule;

typedef struct NrSeccompProfile {
    const char *name; /* for messages */
    uint32_t default_action;
    unsigned arches; /* NR_ARCH_*; the native one always */
    const NrSeccompRule *rules;
    size_t n_rules;
} NrSeccompProfile;

/* nroot's default profile (seccomp/default.c), and a digest of it that
 * changes with any rule (part of the cache key) */
const NrSeccompProfile *nr_seccomp_default(void);
uint64_t nr_seccomp_default_digest(void);
/* root emulation's filter (seccomp/rootemu.c): the id-changing calls
 * answered with success, nothing done */
const NrSeccompProfile *nr_seccomp_rootemu(void);
/* --tcp-bypass's filter (seccomp/bypass.c): connect, bind and listen
 * notified to nroot, io_uring and TCP Fast Open refused */
const NrSeccompProfile *nr_seccomp_bypass(void);
/* a digest of a profile's rules: changes with any rule */
uint64_t nr_seccomp_digest(const NrSeccompProfile *p);

/* Compile `p` for the capability set `caps` (NR_CAP bits, plus
 * NR_SECCOMP_HOSTNET) and write the BPF program to out_fd at its offset.
 * Names libseccomp does not know are skipped; with ret_unknown they are
 * listed there. */
int nr_seccomp_compile(const NrSeccompProfile *p, uint64_t caps, int out_fd, NrStrv *ret_unknown,
                       NrError *err);
/* Whether the kernel runs x32 system calls (x86_64; asked once, and taken
 * as yes inside a seccomp filter).  Without them nr_seccomp_compile leaves
 * x32's rules out: its calls fail with ENOSYS either way. */
bool nr_seccomp_x32_live(void);

/* A compiled program on disk (cache, a container's record): this header,
 * then n_insns struct sock_filter. */
#define NR_BPF_MAGIC "NRBPF01"
typedef struct NrBpfHeader {
    char magic[8];
    uint32_t flags; /* SECCOMP_FILTER_FLAG_* to load it with */
    uint32_t n_insns;
    char key[240]; /* what it was compiled from */
} NrBpfHeader;
