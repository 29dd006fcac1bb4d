/* SPDX-License-Identifier: Apache-2.0 */
/* aside.c — what the container's child does on a second thread while its
 * main thread mounts the root, /proc, /dev, /tmp and /etc (run.c):
 *
 *  1. the network namespace: unshare(CLONE_NEWNET) alone takes ~0.5 ms of
 *     kernel time (its loopback device, sysctl tables), a tenth of a
 *     start; a thread may unshare it alone (only user and mount namespaces
 *     want a single-threaded caller).  The main thread enters it (setns)
 *     before it needs it: sysfs, tap0, a user network's veth.
 *  2. nroot's default seccomp profile, loaded on the thread: the kernel
 *     compiles a filter when it is loaded (~0.2 ms for this one); and
 *     after it the root emulation filter, when the payload starts as uid
 *     0, the one id of its mapping (nr_payload_root_alone: its own
 *     set-up's setresuid and the like, which the filter fakes, then
 *     change nothing);
 *  3. PID 1's namespaces opened for nroot (init.c sends them): the first
 *     open of each costs the kernel a new inode;
 *  4. the payload's bounding set, dropped on the thread while it waits:
 *     the payload inherits it (it is a thread's own, not the process's);
 *     and the signals the process ignores, read for the payload, which
 *     sets only those and glibc's own two back to SIG_DFL (PID 1 sets no
 *     handler: it reads its signals from a signalfd; exec resets handlers
 *     anyway);
 *  5. the payload's exec, looked up ahead: the first lookup of a path in
 *     a new overlay makes its dentries and inodes (~10-20 us a path); the
 *     thread looks up the command in its PATH, its interpreter (ELF or
 *     #!) and the dynamic loader's files, as the exec will.  Lookups on
 *     the root's own mount only, and reads of executable regular files'
 *     headers; what is mounted over them later (a volume) the exec looks
 *     up anew;
 *  6. the payload, started from the thread as PID 1 would start it
 *     (CLONE_VM|CLONE_VFORK, init.c): it inherits the loaded profile, and
 *     runs on the thread's malloc arena, which the thread makes first.
 *
 * The thread begins after the child's session keyring and time namespace
 * are made (its credentials and namespaces are the payload's), blocks
 * every signal (PID 1's go to its signalfd), makes the process a session
 * leader and a subreaper once it is idle (init.c; both are the process's,
 * not a thread's), and ends once the payload is started; the payload,
 * whose parent thread that was, is then PID 1's (the kernel hands a
 * thread's children to the others of its process), and sets no
 * parent-death signal (init.c: PID 1's death ends the namespace). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nr-aside.h"
#include "nr-caps.h"
#include "nr-filter.h"
#include "nr-net.h"
#include "nr-spawn.h"
#include "nr-util.h"

enum { IDLE, NETNS, READY, SPAWN, SPAWNED, END };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool made;    /* the thread was made */
    bool started; /* made, and not yet asked to spawn or end */
    pthread_t thread;
    int state;
    bool want_netns;
    int netns;  /* the thread's network namespace */
    bool lo_up; /* its loopback is up */
    NrError err;
    const struct NrBpf *profile, *rootemu;
    bool session; /* setsid and the subreaper done (atomic) */
    NrAsideDone done, *done_out;
    bool bound_wanted, bounded; /* the payload's bounding set: bound */
    bool moved;                 /* begun on another CPU than the main thread's */
    uint64_t bound;
    int ns[NR_NS_COUNT]; /* the namespaces, as init.c sends them; -1: none */
    bool have_ns;
    int rootfd; /* the exec to look up (nr_aside_warm) */
    char *cmd, *path;
    bool warm_taken; /* the thread took it, or went on without */
    int (*fn)(void *);
    void *arg, *stack_top;
    pid_t pid;
    int errnum;
} as = {
    .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .netns = -1, .rootfd = -1
};

static void set_state(int state)
{
    pthread_mutex_lock(&as.lock);
    __atomic_store_n(&as.state, state, __ATOMIC_RELEASE); /* spawn_asked reads it */
    pthread_cond_broadcast(&as.cond);
    pthread_mutex_unlock(&as.lock);
}

static void wait_state(int state)
{
    pthread_mutex_lock(&as.lock);
    while (as.state < state)
        pthread_cond_wait(&as.cond, &as.lock);
    pthread_mutex_unlock(&as.lock);
}

/* ---- the exec, looked up ahead (5.) ---- */

static bool spawn_asked(void)
{
    return __atomic_load_n(&as.state, __ATOMIC_ACQUIRE) >= SPAWN;
}

/* `path` in the root, on the root's own mount only (what the main thread
 * mounts meanwhile, /dev's nodes, /proc, volumes, is never crossed into) */
static int lookup(int rootfd, const char *path, int flags)
{
    struct open_how how = { .flags = (unsigned)flags | O_CLOEXEC,
                            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* an executable regular file at `path` (lookup), opened, or -1.  An
 * O_PATH lookup first: nothing else is ever opened */
static int open_exe(int rootfd, const char *path)
{
    int fd = lookup(rootfd, path, O_PATH);
    struct stat st;
    bool exe = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
               (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH));
    if (fd >= 0)
        close(fd);
    return exe ? lookup(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY) : -1;
}

static void warm_file(int rootfd, const char *path, int depth);

/* what the kernel looks up to exec the file open at fd (closed): its ELF
 * interpreter (from its program headers), or the #! line's (one level) */
static void warm_fd(int rootfd, int fd, int depth)
{
    unsigned char b[256];
    ssize_t n = pread(fd, b, sizeof b, 0);
    char interp[PATH_MAX] = "";
    if (n > 2 && b[0] == '#' && b[1] == '!' && depth == 0) {
        size_t i = 2, k = 0;
        while (i < (size_t)n && (b[i] == ' ' || b[i] == '\t'))
            i++;
        while (i < (size_t)n && k + 1 < sizeof interp && b[i] != ' ' && b[i] != '\t' &&
               b[i] != '\n')
            interp[k++] = (char)b[i++];
        interp[i < (size_t)n ? k : 0] = '\0'; /* a cut line: nothing */
    } else if (n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(b, ELFMAG, SELFMAG) == 0 &&
               b[EI_CLASS] == ELFCLASS64) {
        Elf64_Ehdr eh;
        memcpy(&eh, b, sizeof eh);
        for (unsigned i = 0; i < eh.e_phnum && i < 64; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
                (ssize_t)sizeof ph)
                break;
            if (ph.p_type != PT_INTERP)
                continue;
            if (ph.p_filesz > 0 && ph.p_filesz < sizeof interp &&
                pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz)
                interp[ph.p_filesz - 1] = '\0';
            break;
        }
    }
    close(fd);
    if (interp[0] == '/' && depth < 2 && !spawn_asked())
        warm_file(rootfd, interp, depth + 1);
}

static void warm_file(int rootfd, const char *path, int depth)
{
    int fd = open_exe(rootfd, path);
    if (fd >= 0)
        warm_fd(rootfd, fd, depth);
}

/* an absolute command, or the first in the absolute directories of PATH
 * (relative ones are the working directory's: not looked up) */
static void warm_exec(int rootfd, const char *cmd, char *path)
{
    if (cmd[0] == '/')
        warm_file(rootfd, cmd, 0);
    else if (!strchr(cmd, '/'))
        /* execvp's search: the first executable regular file in PATH */
        for (char *dir = path, *end; dir && !spawn_asked(); dir = end ? end + 1 : NULL) {
            end = strchr(dir, ':');
            int len = end ? (int)(end - dir) : (int)strlen(dir);
            char p[PATH_MAX];
            if (len == 0 || dir[0] != '/' ||
                snprintf(p, sizeof p, "%.*s/%s", len, dir, cmd) >= (int)sizeof p)
                continue;
            int fd = open_exe(rootfd, p);
            if (fd >= 0) {
                warm_fd(rootfd, fd, 0);
                break;
            }
        }
    /* the dynamic loader's */
    static const char *const ld[] = { "etc/ld.so.preload", "etc/ld.so.cache" };
    for (size_t i = 0; i < sizeof ld / sizeof ld[0]; i++) {
        int fd = lookup(rootfd, ld[i], O_PATH);
        if (fd >= 0)
            close(fd);
    }
}

void nr_aside_warm(const char *root, char *const argv[], const char *path)
{
    if (!as.started || !argv || !argv[0] || !argv[0][0])
        return;
    /* the fd, not the path: the thread may look up after pivot_root */
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    pthread_mutex_lock(&as.lock);
    if (as.warm_taken || as.state >= SPAWN) {
        pthread_mutex_unlock(&as.lock);
        close(fd);
        return;
    }
    as.rootfd = fd;
    as.cmd = nr_xstrdup(argv[0]);
    as.path = nr_xstrdup(path);
    pthread_cond_broadcast(&as.cond);
    pthread_mutex_unlock(&as.lock);
}

static void *aside(void *unused)
{
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    if (as.moved) /* the payload inherits this thread's set */
        nr_cpus_all(0);
    /* this thread's malloc arena, the payload's too (6.); the pointer
     * escapes, or the compiler drops the pair */
    void *arena = malloc(64);
    __asm__ volatile("" : : "r"(arena) : "memory");
    free(arena);
    NrError e = { 0 };
    int fd = -1;
    if (as.want_netns && nr_net_new_netns(&e) == 0) {
        fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            nr_error_errno(&e, "cannot open the new network namespace");
        else
            nr_net_loopback_up(&e);
    }
    as.netns = fd;
    as.err = e;
    set_state(NETNS);
    /* the main thread mounts meanwhile; a profile that fails to load here
     * is loaded by the payload, which reports why */
    if (!e.code && as.profile)
        as.done.filtered = nr_seccomp_load(as.profile) >= 0;
    /* this thread's are PID 1's (time: for its children, the payload's) */
    for (int i = 0; i < NR_NS_COUNT && !e.code; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/thread-self/ns/%s%s", nr_ns_names[i],
                 i == NR_NS_TIME ? "_for_children" : "");
        as.ns[i] = open(path, O_RDONLY | O_CLOEXEC);
    }
    as.have_ns = !e.code;
    set_state(READY);
    /* while the main thread mounts the rest; done before the payload
     * starts, whenever it is asked for */
    if (!e.code && as.bound_wanted) {
        NrError ignored = { 0 };
        as.bounded = nr_caps_bound(as.bound, &ignored) == 0;
    }
    /* after the profile, as the payload would load it (its errno wins
     * over the profile's for the calls it fakes) */
    if (as.done.filtered && as.rootemu)
        as.done.emulated = nr_seccomp_load(as.rootemu) >= 0;
    as.done.sigs = nr_signals_ignored(&as.done.ignored);
    /* PID 1's: the container leaves nroot's session, and the orphans of
     * the container come to PID 1; done by PID 1 itself if it gets there
     * first (init.c: a second setsid fails, harmlessly) */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    setsid();
    __atomic_store_n(&as.session, true, __ATOMIC_RELEASE);
    /* the look-ahead once the root is mounted (nr_aside_warm), unless the
     * payload is asked for first: nothing waits for it */
    pthread_mutex_lock(&as.lock);
    while (!e.code && as.rootfd < 0 && as.state < SPAWN)
        pthread_cond_wait(&as.cond, &as.lock);
    as.warm_taken = true;
    int rootfd = as.rootfd;
    as.rootfd = -1;
    pthread_mutex_unlock(&as.lock);
    if (rootfd >= 0) {
        if (!e.code && !spawn_asked())
            warm_exec(rootfd, as.cmd, as.path);
        close(rootfd);
        free(as.cmd);
        free(as.path);
        as.cmd = as.path = NULL;
    }
    pthread_mutex_lock(&as.lock);
    while (as.state != SPAWN && as.state != END)
        pthread_cond_wait(&as.cond, &as.lock);
    bool spawn = as.state == SPAWN;
    pthread_mutex_unlock(&as.lock);
    if (spawn) {
        /* suspended until the payload exec'd or failed; the main thread
         * runs nr_aside_spawn's `meanwhile` and waits in wait_state,
         * touching nothing the payload uses */
        *as.done_out = as.done; /* fn reads it */
        as.pid = nr_aside_clone(as.fn, as.arg, as.stack_top);
        as.errnum = errno;
        set_state(SPAWNED);
    }
    return NULL;
}

int nr_aside_begin(bool netns, const struct NrBpf *profile, const struct NrBpf *rootemu,
                   const uint64_t *bound, NrError *err)
{
    as.want_netns = netns;
    as.profile = profile;
    as.rootemu = rootemu;
    as.bound_wanted = bound != NULL;
    as.bound = bound ? *bound : 0;
    if (!netns)
        return 0; /* the profile alone would not pay for a thread */
    pthread_attr_t a;
    if (pthread_attr_init(&a) == 0) {
        pthread_attr_setstacksize(&a, 64 * 1024);
        /* it starts on another CPU than this thread's and takes them all
         * back at once (spawn.c, "a new task's CPU") */
        cpu_set_t other;
        as.moved =
            nr_cpus_others(&other) && pthread_attr_setaffinity_np(&a, sizeof other, &other) == 0;
        as.made = as.started = pthread_create(&as.thread, &a, aside, NULL) == 0;
        pthread_attr_destroy(&a);
    }
    if (as.started)
        return 0;
    as.profile = as.rootemu = NULL;
    if (nr_net_new_netns(err) < 0 || nr_net_loopback_up(err) < 0)
        return -1;
    as.lo_up = true;
    return 0;
}

bool nr_aside_session(void)
{
    return as.made && __atomic_load_n(&as.session, __ATOMIC_ACQUIRE);
}

bool nr_aside_namespaces(int fds[])
{
    /* also once the payload is asked for: PID 1 sends them then */
    if (!as.made || !as.want_netns)
        return false;
    wait_state(READY);
    if (!as.have_ns)
        return false;
    for (int i = 0; i < NR_NS_COUNT; i++)
        fds[i] = as.ns[i];
    as.have_ns = false;
    return true;
}

int nr_aside_enter_netns(NrError *err)
{
    if (!as.want_netns)
        return 0;
    if (!as.started || as.netns == -2)
        return as.lo_up; /* made by nr_aside_begin, or entered */
    wait_state(NETNS);
    if (as.err.code) {
        *err = as.err;
        return -1;
    }
    int rc = setns(as.netns, CLONE_NEWNET);
    int e = errno;
    close(as.netns);
    as.netns = -2; /* entered */
    errno = e;
    if (rc < 0)
        return nr_error_errno(err, "cannot enter the new network namespace");
    as.lo_up = true; /* the thread's loopback is up (no error) */
    return 1;
}

pid_t nr_aside_clone(int (*fn)(void *), void *arg, void *stack_top)
{
#if defined(__SANITIZE_ADDRESS__)
    /* ASan follows no stack switch of clone(): a fork, as before */
    (void)stack_top;
    pid_t pid = fork();
#else
    pid_t pid = clone(fn, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
    if (pid >= 0 || errno != EINVAL)
        return pid;
    /* Linux 5.6 until the kernel that moves a process into its
     * time_for_children at exec refuses CLONE_VM while that differs from
     * the caller's (--time-offset): a fork then */
    pid = fork();
#endif
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

bool nr_aside_will_spawn(void)
{
    return as.started;
}

bool nr_aside_bounded(void)
{
    return as.bounded;
}

pid_t nr_aside_spawn(int (*fn)(void *), void *arg, void *stack_top, void (*meanwhile)(void *),
                     void *marg, NrAsideDone *done)
{
    memset(done, 0, sizeof *done);
    if (!as.started)
        return -2;
    as.started = false;
    as.fn = fn;
    as.arg = arg;
    as.stack_top = stack_top;
    as.done_out = done; /* filled by the thread before fn runs */
    /* past its network namespace and profile */
    wait_state(READY);
    pthread_mutex_lock(&as.lock);
    __atomic_store_n(&as.state, fn ? SPAWN : END, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&as.cond);
    pthread_mutex_unlock(&as.lock);
    if (fn && meanwhile)
        meanwhile(marg);
    if (fn)
        wait_state(SPAWNED);
    pthread_join(as.thread, NULL);
    if (!fn)
        return -2;
    errno = as.errnum;
    return as.pid;
}
