/* SPDX-License-Identifier: Apache-2.0 */
/* default.c — nroot's default seccomp profile, as data.
 *
 * An allowlist: a syscall not named here fails with ENOSYS, as if the
 * kernel did not have it, so libc falls back to an older call (clone3 ->
 * clone, faccessat2 -> faccessat).  Calls known to be dangerous fail with
 * EPERM, and a few are allowed only with the capability that would let the
 * kernel honour them (--cap-add).  The facts follow the profiles of podman
 * (containers-common) and docker, and are stricter than podman's where a
 * rootless container gains nothing: no keyrings, no nested namespaces or
 * mounts without CAP_SYS_ADMIN, no reboot without CAP_SYS_BOOT, no kernel
 * log without CAP_SYSLOG, no vsock (it ignores network namespaces) unless
 * the container shares the host's network.  io_uring is left out, as
 * podman does: a large kernel surface that programs can do without.
 *
 * TIOCSTI needs no rule: the caller's terminal never reaches the
 * container (seccomp.c). */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>

#include "nr-seccomp.h"
#include "nr-util.h"

#define ALLOW SCMP_ACT_ALLOW
#define EPERM_ SCMP_ACT_ERRNO(EPERM)
#define ARGS(...) \
    (const NrSeccompArg[]){ __VA_ARGS__ }, \
        sizeof(const NrSeccompArg[]){ __VA_ARGS__ } / sizeof(NrSeccompArg)
/* allowed with the capability, EPERM without it */
#define WITH_CAP(names, cap) \
    { names, ALLOW, NR_CAP(cap), 0, 0, NULL, 0 }, \
    { \
        names, EPERM_, 0, NR_CAP(cap), 0, NULL, 0 \
    }
/* argument 0 of clone/unshare: the bits that make namespaces */
#define NS_CLONE \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
     CLONE_NEWNET)
#define NS_UNSHARE (NS_CLONE | CLONE_NEWTIME)
#define A0_HAS(bit) ARGS({ 0, SCMP_CMP_MASKED_EQ, (bit), (bit) })
#define SYSADMIN NR_CAP(CAP_SYS_ADMIN)
/* socket(): the address family is an int; only its low 32 bits count */
#define FAMILY(mask, fam) ARGS({ 0, SCMP_CMP_MASKED_EQ, (mask), (fam) })
#define ABI64 (NR_ARCH_X86_64 | NR_ARCH_X32)
#define HOSTNET NR_SECCOMP_HOSTNET
#define AUDIT NR_CAP(CAP_AUDIT_WRITE)

static const NrSeccompRule rules[] = {
    /* processes, threads, signals */
    { "arch_prctl capget capset exit exit_group execve execveat fork vfork wait4 waitid waitpid "
      "getpid getppid gettid getpgid getpgrp getsid setpgid setsid getpriority setpriority "
      "prctl prlimit64 getrlimit setrlimit ugetrlimit getrusage times set_tid_address "
      "get_robust_list set_robust_list rseq restart_syscall seccomp landlock_add_rule "
      "landlock_create_ruleset landlock_restrict_self kill tkill tgkill pidfd_open "
      "pidfd_send_signal rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn "
      "rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack "
      "signal signalfd signalfd4 sigprocmask sigreturn alarm pause ptrace process_vm_readv "
      "process_vm_writev process_mrelease",
      ALLOW, 0, 0, 0, NULL, 0 },
    /* identity: the user namespace bounds what these can reach */
    { "getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 "
      "getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid "
      "setreuid32 setregid setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid "
      "setfsuid32 setfsgid setfsgid32 setgroups setgroups32",
      ALLOW, 0, 0, 0, NULL, 0 },
    /* scheduling, memory, time */
    { "sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr "
      "sched_getparam sched_setparam sched_getscheduler sched_setscheduler "
      "sched_get_priority_max sched_get_priority_min sched_rr_get_interval "
      "sched_rr_get_interval_time64 getcpu ioprio_get ioprio_set brk mmap mmap2 munmap mremap "
      "mprotect madvise mincore msync mlock mlock2 mlockall munlock munlockall membarrier "
      "memfd_create memfd_secret remap_file_pages pkey_alloc pkey_free pkey_mprotect "
      "get_mempolicy set_mempolicy mbind get_thread_area set_thread_area modify_ldt futex "
      "futex_time64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 "
      "clock_nanosleep clock_nanosleep_time64 clock_adjtime clock_adjtime64 adjtimex "
      "gettimeofday time nanosleep getitimer setitimer timer_create timer_delete "
      "timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 "
      "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 "
      "sysinfo uname getrandom",
      ALLOW, 0, 0, 0, NULL, 0 },
    /* files */
    { "read write readv writev pread64 pwrite64 preadv preadv2 pwritev pwritev2 lseek _llseek "
      "open openat openat2 creat close close_range dup dup2 dup3 pipe pipe2 fcntl fcntl64 flock "
      "ioctl fsync fdatasync sync syncfs sync_file_range fadvise64 fadvise64_64 fallocate "
      "readahead truncate truncate64 ftruncate ftruncate64 sendfile sendfile64 splice tee "
      "copy_file_range stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx "
      "statfs statfs64 fstatfs fstatfs64 access faccessat faccessat2 chdir fchdir getcwd "
      "getdents getdents64 mkdir mkdirat mknod mknodat rmdir rename renameat renameat2 link "
      "linkat symlink symlinkat unlink unlinkat readlink readlinkat chmod fchmod fchmodat "
      "fchmodat2 chown chown32 fchown fchown32 fchownat lchown lchown32 umask utime utimes "
      "utimensat utimensat_time64 futimesat getxattr lgetxattr fgetxattr setxattr lsetxattr "
      "fsetxattr listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr "
      "name_to_handle_at inotify_init inotify_init1 inotify_add_watch inotify_rm_watch "
      "fanotify_mark",
      ALLOW, 0, 0, 0, NULL, 0 },
    /* waiting for events, asynchronous I/O (not io_uring) */
    { "select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create "
      "epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 "
      "eventfd eventfd2 io_setup io_destroy io_submit io_cancel io_getevents",
      ALLOW, 0, 0, 0, NULL, 0 },
    /* sockets (socket() itself below) and System V / POSIX IPC */
    { "socketpair bind listen accept accept4 connect getsockname getpeername getsockopt "
      "setsockopt send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 "
      "shutdown socketcall ipc shmget shmat shmdt shmctl msgget msgsnd msgrcv msgctl semget "
      "semop semctl semtimedop semtimedop_time64 mq_open mq_unlink mq_timedsend "
      "mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr",
      ALLOW, 0, 0, 0, NULL, 0 },
    /* what the kernel never lets a container have, or only with damage:
     * kexec, keyrings (the user's secrets), swap, userfaultfd (a tool of
     * kernel exploits), vmsplice, the old and odd ones */
    { "kexec_load kexec_file_load keyctl add_key request_key swapon swapoff userfaultfd "
      "vmsplice bdflush nfsservctl uselib ustat sysfs _sysctl vm86 vm86old pciconfig_iobase "
      "pciconfig_read pciconfig_write move_pages migrate_pages io_pgetevents "
      "io_pgetevents_time64 nice sgetmask ssetmask oldstat oldfstat oldlstat olduname "
      "oldolduname",
      EPERM_, 0, 0, 0, NULL, 0 },
    /* personality: the usual domain, 32-bit (PER_LINUX32), UNAME26, and the query */
    { "personality", ALLOW, 0, 0, 0, ARGS({ 0, SCMP_CMP_EQ, 0x0, 0 }) },
    { "personality", ALLOW, 0, 0, 0, ARGS({ 0, SCMP_CMP_EQ, 0x8, 0 }) },
    { "personality", ALLOW, 0, 0, 0, ARGS({ 0, SCMP_CMP_EQ, 0x20000, 0 }) },
    { "personality", ALLOW, 0, 0, 0, ARGS({ 0, SCMP_CMP_EQ, 0x20008, 0 }) },
    { "personality", ALLOW, 0, 0, 0, ARGS({ 0, SCMP_CMP_EQ, 0xffffffff, 0 }) },
    /* capability-bound calls */
    WITH_CAP("mount umount umount2 mount_setattr move_mount open_tree fsopen fsconfig fsmount "
             "fspick pivot_root setns sethostname setdomainname quotactl quotactl_fd "
             "lookup_dcookie fanotify_init",
             CAP_SYS_ADMIN),
    WITH_CAP("kcmp process_madvise pidfd_getfd", CAP_SYS_PTRACE),
    WITH_CAP("init_module finit_module delete_module query_module", CAP_SYS_MODULE),
    WITH_CAP("clock_settime clock_settime64 settimeofday stime", CAP_SYS_TIME),
    WITH_CAP("reboot", CAP_SYS_BOOT),
    WITH_CAP("syslog", CAP_SYSLOG),
    WITH_CAP("chroot", CAP_SYS_CHROOT),
    WITH_CAP("acct", CAP_SYS_PACCT),
    WITH_CAP("iopl ioperm", CAP_SYS_RAWIO),
    WITH_CAP("vhangup", CAP_SYS_TTY_CONFIG),
    WITH_CAP("open_by_handle_at", CAP_DAC_READ_SEARCH),
    { "bpf", ALLOW, SYSADMIN, 0, 0, NULL, 0 },
    { "bpf", ALLOW, NR_CAP(CAP_BPF), SYSADMIN, 0, NULL, 0 },
    { "bpf", EPERM_, 0, SYSADMIN | NR_CAP(CAP_BPF), 0, NULL, 0 },
    { "perf_event_open", ALLOW, SYSADMIN, 0, 0, NULL, 0 },
    { "perf_event_open", ALLOW, NR_CAP(CAP_PERFMON), SYSADMIN, 0, NULL, 0 },
    { "perf_event_open", EPERM_, 0, SYSADMIN | NR_CAP(CAP_PERFMON), 0, NULL, 0 },
    /* new namespaces need CAP_SYS_ADMIN; clone3 keeps its flags in memory,
     * where a filter cannot see them: ENOSYS, and libc uses clone */
    { "clone clone3 unshare", ALLOW, SYSADMIN, 0, 0, NULL, 0 },
    { "clone", ALLOW, 0, SYSADMIN, 0, ARGS({ 0, SCMP_CMP_MASKED_EQ, NS_CLONE, 0 }) },
    { "unshare", ALLOW, 0, SYSADMIN, 0, ARGS({ 0, SCMP_CMP_MASKED_EQ, NS_UNSHARE, 0 }) },
    { "clone unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWNS) },
    { "clone unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWCGROUP) },
    { "clone unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWUTS) },
    { "clone unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWIPC) },
    { "clone unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWUSER) },
    { "clone unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWPID) },
    { "clone unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWNET) },
    { "unshare", EPERM_, 0, SYSADMIN, 0, A0_HAS(CLONE_NEWTIME) },
    /* socket(), on the 64-bit ABIs: every family in blocks of the low 32
     * bits, but vsock (40) unless the network is the host's, and netlink
     * (16) audit sockets only with CAP_AUDIT_WRITE.  On i386, libc calls
     * socketcall, whose arguments a filter cannot read: allowed there. */
    { "socket", ALLOW, 0, 0, NR_ARCH_X86, NULL, 0 },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffff0, 0) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xffffffff, 17) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffffe, 18) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffffc, 20) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffff8, 24) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffff8, 32) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xffffffff, 41) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffffe, 42) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffffc, 44) },
    { "socket", ALLOW, 0, 0, ABI64, FAMILY(0xfffffff0, 48) },
    { "socket", ALLOW, HOSTNET, 0, ABI64, FAMILY(0xffffffff, 40) },
    { "socket", SCMP_ACT_ERRNO(EAFNOSUPPORT), 0, HOSTNET, ABI64, FAMILY(0xffffffff, 40) },
    { "socket", ALLOW, AUDIT, 0, ABI64, FAMILY(0xffffffff, 16) },
    { "socket", ALLOW, 0, AUDIT, ABI64,
      ARGS({ 0, SCMP_CMP_MASKED_EQ, 0xffffffff, 16 },
           { 2, SCMP_CMP_NE, 9 /* NETLINK_AUDIT */, 0 }) },
    { "socket", SCMP_ACT_ERRNO(EINVAL), 0, AUDIT, ABI64,
      ARGS({ 0, SCMP_CMP_MASKED_EQ, 0xffffffff, 16 }, { 2, SCMP_CMP_MASKED_EQ, 0xffffffff, 9 }) },
};

static const NrSeccompProfile profile = {
    .name = "default",
    .default_action = SCMP_ACT_ERRNO(ENOSYS),
    .arches = NR_ARCH_ALL,
    .rules = rules,
    .n_rules = sizeof rules / sizeof rules[0],
};

const NrSeccompProfile *nr_seccomp_default(void)
{
    return &profile;
}

uint64_t nr_seccomp_default_digest(void)
{
    return nr_seccomp_digest(&profile);
}
