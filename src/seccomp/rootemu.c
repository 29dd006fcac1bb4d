/* SPDX-License-Identifier: Apache-2.0 */
/* rootemu.c — root emulation: a second seccomp filter, stacked after the
 * profile, that makes the calls needing other ids succeed without effect.
 *
 * With a single-id mapping only uid and gid 0 exist inside, so chown to
 * _apt, setgroups, setuid(1) or mknod of a device fail (EINVAL, EPERM) and
 * package managers stop half way.  Answering 0 without doing anything lets
 * them finish; the files stay owned by root, the process stays root.  The
 * list follows charliecloud's (ch-run --seccomp) and enroot's:
 *   - the chown family and every set*id call, with the 16-bit and the *32
 *     variants of i386: a 32-bit program makes its calls through the i386
 *     ABI, which a filter of the native ABI alone would not see;
 *   - setfsuid/setfsgid, but not with -1, which only asks for the current
 *     id (enroot's refinement: the answer stays true);
 *   - mknod/mknodat of character and block devices only (the mode's S_IFMT
 *     bits): fifos, sockets and regular files are made for real, and so is
 *     character device 0:0, the overlay whiteout, which the kernel lets
 *     anyone make since Linux 5.8 (fuse-overlayfs and buildah make them:
 *     faked, they would be told 0 and find no file);
 * the id calls only where the capability that lets root make them
 * (CAP_CHOWN, CAP_SETUID, CAP_SETGID) is in the container's bounding set;
 * device nodes always (podman's default set has no CAP_MKNOD, and a user
 * namespace refuses them even with it).
 * Left out of charliecloud's list: capset (the payload is root with real
 * capabilities in its namespace; a faked capset would leave capabilities a
 * program meant to drop) and kexec_load (charliecloud's probe that its
 * filter is loaded; nroot's profile refuses it with EPERM anyway).
 *
 * Stacked filters all run and the strictest action wins; between two
 * errno answers the filter loaded last decides, so this one, loaded after
 * the profile, turns a profile's EPERM for these calls into success too. */
#include <linux/capability.h>
#include <seccomp.h>
#include <sys/stat.h>

#include "nr-filter.h"
#include "nr-seccomp.h"

#define FAKE SCMP_ACT_ERRNO(0)
#define ARGS(...) \
    (const NrSeccompArg[]){ __VA_ARGS__ }, \
        sizeof(const NrSeccompArg[]){ __VA_ARGS__ } / sizeof(NrSeccompArg)
/* argument m is the mode of a device node of that type */
#define MODE_IS(m, type) ARGS({ (m), SCMP_CMP_MASKED_EQ, S_IFMT, (type) })
/* argument m is S_IFCHR and argument d, the device number, is not 0 (0:0 is
 * the whiteout).  The kernel reads d as an unsigned int; on x86_64
 * libseccomp compares the whole 64-bit register, so a caller leaving
 * garbage above bit 31 of a 0 is faked as before (glibc zero-extends);
 * for the 32-bit ABIs (i386, x32) it compares the low 32 bits alone. */
#define CHR_NOT_WHITEOUT(m, d) \
    ARGS({ (m), SCMP_CMP_MASKED_EQ, S_IFMT, S_IFCHR }, { (d), SCMP_CMP_NE, 0, 0 })
/* argument 0 is not (uid_t)-1 */
#define NOT_QUERY ARGS({ 0, SCMP_CMP_NE, 0xffffffffU, 0 })

#define CHOWN NR_CAP(CAP_CHOWN)
#define SETUID NR_CAP(CAP_SETUID)
#define SETGID NR_CAP(CAP_SETGID)

/* an id call only where the container's root could make it: with the
 * capability in the bounding set (--cap-drop CHOWN leaves chown failing) */
static const NrSeccompRule rules[] = {
    { "chown fchown lchown fchownat", FAKE, CHOWN, 0, 0, NULL, 0 },
    { "setuid setreuid setresuid", FAKE, SETUID, 0, 0, NULL, 0 },
    { "setgid setregid setresgid setgroups", FAKE, SETGID, 0, 0, NULL, 0 },
    /* i386's 32-bit id calls (chown, setuid... are its 16-bit ones there) */
    { "chown32 fchown32 lchown32", FAKE, CHOWN, 0, NR_ARCH_X86, NULL, 0 },
    { "setuid32 setreuid32 setresuid32", FAKE, SETUID, 0, NR_ARCH_X86, NULL, 0 },
    { "setgid32 setregid32 setresgid32 setgroups32", FAKE, SETGID, 0, NR_ARCH_X86, NULL, 0 },
    { "setfsuid", FAKE, SETUID, 0, 0, NOT_QUERY },
    { "setfsgid", FAKE, SETGID, 0, 0, NOT_QUERY },
    { "setfsuid32", FAKE, SETUID, 0, NR_ARCH_X86, NOT_QUERY },
    { "setfsgid32", FAKE, SETGID, 0, NR_ARCH_X86, NOT_QUERY },
    { "mknod", FAKE, 0, 0, 0, CHR_NOT_WHITEOUT(1, 2) },
    { "mknod", FAKE, 0, 0, 0, MODE_IS(1, S_IFBLK) },
    { "mknodat", FAKE, 0, 0, 0, CHR_NOT_WHITEOUT(2, 3) },
    { "mknodat", FAKE, 0, 0, 0, MODE_IS(2, S_IFBLK) },
};

static const NrSeccompProfile profile = {
    .name = "rootemu",
    .default_action = SCMP_ACT_ALLOW,
    .arches = NR_ARCH_ALL,
    .rules = rules,
    .n_rules = sizeof rules / sizeof rules[0],
};

const NrSeccompProfile *nr_seccomp_rootemu(void)
{
    return &profile;
}

NrRootEmu nr_rootemu_resolve(NrRootEmu mode, const NrIdMap *map)
{
    if (mode != NR_ROOTEMU_AUTO)
        return mode;
    /* auto: where root is the one id there is (the single rung); with a
     * range real chown works, and keep-id's single id is the user's own */
    bool single_root = !map->helpers && map->n_uid == 1 && map->uid[0].inside == 0;
    return single_root ? NR_ROOTEMU_ON : NR_ROOTEMU_OFF;
}
