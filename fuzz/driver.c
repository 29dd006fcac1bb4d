/* SPDX-License-Identifier: Apache-2.0 */
/* driver.c — the main() of every harness.
 *
 * Built with afl-cc (NR_FUZZ_AFL): an afl++ persistent-mode loop over the
 * shared-memory test case.  Otherwise a replay program:
 *     replay-NAME FILE|DIR...
 * reads every file (directories one level deep), enters the sandbox if the
 * harness needs it, runs each input once and prints how many it ran; a
 * crash or a sanitizer report ends it with a non-zero status and names the
 * input. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz: sandbox: %s: %s\n", what, strerror(errno));
    _exit(2);
}

static void write_proc(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die(path);
    close(fd);
}

void nr_fuzz_sandbox(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWNS | (uid ? CLONE_NEWUSER : 0)) < 0)
        die("unshare (user namespaces must be allowed)");
    if (uid) {
        char map[64];
        write_proc("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
        write_proc("/proc/self/uid_map", map);
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
        write_proc("/proc/self/gid_map", map);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("making / private");
    if (mount("nr-fuzz", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=64m,nr_inodes=16384,mode=0755") < 0)
        die("mounting a tmpfs on /tmp");
    /* pivot_root(".", "."): the old root ends up on top of the new one,
     * and is detached at once */
    if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root");
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        die("detaching the old root");
    struct statfs sf;
    if (statfs("/", &sf) < 0 || sf.f_type != TMPFS_MAGIC)
        die("/ is not the scratch tmpfs");
    DIR *d = opendir("/");
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            errno = EEXIST;
            die("the scratch root is not empty");
        }
    if (!d)
        die("/");
    closedir(d);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("no_new_privs");
}

static int whiteouts;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    if (strncmp(path + ftw->base, ".wh.", 4) == 0) {
        fprintf(stderr, "fuzz: a whiteout was written: '%s'\n", path);
        whiteouts++;
    }
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int nr_fuzz_wipe_root(void)
{
    if (chdir("/") < 0)
        abort();
    chmod("/", 0755);
    DIR *d = opendir("/");
    if (!d)
        abort();
    struct dirent *de;
    int left = 0;
    whiteouts = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[300];
        snprintf(p, sizeof p, "/%s", de->d_name);
        if (nftw(p, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT) {
            fprintf(stderr, "fuzz: cannot empty the scratch root: '%s': %s\n", p, strerror(errno));
            left++;
        }
    }
    closedir(d);
    if (left)
        abort();
    return whiteouts;
}

int nr_fuzz_split(const uint8_t *data, size_t len, const char *sep, const uint8_t **parts,
                  size_t *lens, int max)
{
    size_t sl = strlen(sep);
    int n = 0;
    while (n < max) {
        const uint8_t *at = n + 1 < max ? memmem(data, len, sep, sl) : NULL;
        parts[n] = data;
        lens[n] = at ? (size_t)(at - data) : len;
        n++;
        if (!at)
            break;
        len -= lens[n - 1] + sl;
        data = at + sl;
    }
    return n;
}

/* LeakSanitizer needs /proc, which the sandbox hides (a harness that links
 * nroot-unpack's main file takes its definition instead, which says the
 * same).  Called before relocation: it may read no global. */
const char *__asan_default_options(void) __attribute__((weak));
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

#ifdef NR_FUZZ_AFL

__AFL_FUZZ_INIT();

int main(void)
{
    if (nr_fuzz_sandboxed)
        nr_fuzz_sandbox();
    nr_fuzz_init();
    __AFL_INIT();
    const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000))
        nr_fuzz_one(buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
    return 0;
}

#else

typedef struct Input {
    char *name;
    uint8_t *data;
    size_t len;
} Input;

static Input *inputs;
static size_t n_inputs;
static const char *current = "(none)";

static void say_current(void)
{
    static const char m[] = "fuzz: replay: the input that failed: ";
    if (write(2, m, sizeof m - 1) < 0 || write(2, current, strlen(current)) < 0 ||
        write(2, "\n", 1) < 0)
        return;
}

static void on_signal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* there when built with a sanitizer */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz: replay: cannot open '%s': %s\n", path, strerror(errno));
        exit(2);
    }
    Input in = { .name = strdup(path) };
    size_t cap = 0;
    for (;;) {
        if (in.len == cap) {
            cap = cap ? cap * 2 : 4096;
            in.data = realloc(in.data, cap);
            if (!in.data)
                abort();
        }
        size_t r = fread(in.data + in.len, 1, cap - in.len, f);
        if (r == 0)
            break;
        in.len += r;
    }
    fclose(f);
    inputs = realloc(inputs, (n_inputs + 1) * sizeof *inputs);
    if (!inputs)
        abort();
    inputs[n_inputs++] = in;
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "fuzz: replay: '%s': %s\n", path, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_file(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            add_file(p);
    }
    if (d)
        closedir(d);
}

#ifdef NR_FUZZ_COVERAGE
/* clang's profile runtime writes at exit, inside the sandbox: to a file
 * opened before it (make fuzz-coverage) */
int __llvm_profile_set_file_object(FILE *file, int merge);
#endif

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        add_path(argv[i]);
#ifdef NR_FUZZ_COVERAGE
    const char *prof = getenv("NR_FUZZ_PROFILE");
    FILE *pf = prof ? fopen(prof, "w+b") : NULL;
    if (pf)
        __llvm_profile_set_file_object(pf, 0);
#endif
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(say_current);
    } else {
        signal(SIGSEGV, on_signal);
        signal(SIGBUS, on_signal);
        signal(SIGABRT, on_signal);
        signal(SIGFPE, on_signal);
    }
    if (nr_fuzz_sandboxed)
        nr_fuzz_sandbox();
    nr_fuzz_init();
    for (size_t i = 0; i < n_inputs; i++) {
        current = inputs[i].name;
        nr_fuzz_one(inputs[i].data, inputs[i].len);
    }
    current = "(after the last input)";
    printf("%zu inputs replayed\n", n_inputs);
    return 0;
}

#endif
