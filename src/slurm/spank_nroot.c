// SPDX-License-Identifier: Apache-2.0
// spank_nroot.so: pyxis's --container-* options for srun, sbatch and salloc,
// run with nroot.  man/nroot-slurm.8.md is the user's side; this is how:
//
// - local (srun) and allocator (sbatch, salloc) contexts: the options are
//   registered and their values checked; a bad value makes the option
//   callback fail, and Slurm prints the one line "Invalid --OPT argument".
//   Slurm hands the values to the remote side (launch message or, inside
//   salloc, the _SLURM_SPANK_OPTION_nroot_* variables srun inherits).
// - remote (slurmstepd), user_init: once per node and step, before the
//   tasks fork, `nroot import IMAGE` as the user: the tasks then find the
//   image in the store.  A failure is kept for the tasks to report
//   (Slurm ignores an error of user_init: its step would end with 0).
// - remote, task_init (in each task, as the user): the task's argv[0] is
//   replaced by nroot-spank-exec (installed next to this file), and the
//   nroot command line goes into NROOT_SPANK_ARGV.  slurmstepd then does
//   what it does after task_init for every task -- TaskProlog and its
//   variables, TMPDIR, the propagated rlimits (SLURM_RLIMIT_*), the SELinux
//   context -- and execs the helper, which execs `nroot run --net=host
//   --env-host --join ... IMAGE -- ARGV0 ARGS...`.  Exec-ing nroot from
//   task_init itself would skip all of that (slurmstepd's task.c:
//   exec_task).  The task process becomes the nroot that supervises its
//   command in the step's shared container (--join).
//
// No exit(), no leaks: this runs inside srun and slurmstepd.

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

SPANK_PLUGIN(nroot, 1);

#ifndef NR_BINDIR
#define NR_BINDIR "/usr/bin"
#endif
#define HELPER_NAME "nroot-spank-exec"
#define ERR_MAX 1024

static struct {
    char *image;
    char *mounts;
    char *workdir;
    char *name;
    char *env;
    int remap_root;   // -1: not given (no remap: --userns=keep-id)
    int writable;     // -1: not given (nroot's writable layer)
    char *nroot;      // nroot= in plugstack.conf
    char *helper;
    bool enabled;        // remote: this step runs in a container
    bool batch;          // remote: the batch step (its script is bound in)
    char key[64];        // remote: --join=KEY (slurm-JOB.STEP, slurm-JOB.batch)
    uint32_t tasks;      // remote: the step's tasks on this node (--join-count)
    char err[ERR_MAX];   // remote: the failure the tasks report
} st = { .remap_root = -1, .writable = -1 };

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void set_err(const char *fmt, ...)
{
    va_list ap;

    if (st.err[0])
        return;   // the first failure is the cause
    va_start(ap, fmt);
    vsnprintf(st.err, sizeof(st.err), fmt, ap);
    va_end(ap);
}

// ---- option values --------------------------------------------------------

static bool valid_path(const char *p)
{
    return p && p[0] == '/';
}

static bool valid_env_name(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

// SRC:DST[:ro|rw], both absolute, neither empty
static bool valid_mount(const char *s, size_t n)
{
    const char *c1 = memchr(s, ':', n);
    const char *c2;
    size_t rest;

    if (!c1 || c1 == s || s[0] != '/')
        return false;
    rest = n - (size_t)(c1 + 1 - s);
    if (rest == 0 || c1[1] != '/')
        return false;
    c2 = memchr(c1 + 1, ':', rest);
    if (!c2)
        return true;
    rest = n - (size_t)(c2 + 1 - s);
    return (rest == 2 && (!strncmp(c2 + 1, "ro", 2) || !strncmp(c2 + 1, "rw", 2)));
}

// a comma-separated list whose every item passes ok()
static bool valid_list(const char *v, bool (*ok)(const char *, size_t))
{
    const char *p = v;

    if (!v || !*v)
        return false;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!ok(p, n))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

static bool valid_name(const char *v)
{
    if (!v || !*v || strlen(v) > 128)
        return false;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              (p != v && strchr("_.-", *p))))
            return false;
    return true;
}

// the last value given wins, as Slurm passes only that one to the remote side
static int keep(char **slot, const char *v)
{
    char *copy = strdup(v);

    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

// not empty, and not an option of nroot run's: the image stands among
// them (./-x names a file that starts with '-')
static int opt_image(int val, const char *arg, int remote)
{
    return (arg && *arg && *arg != '-') ? keep(&st.image, arg) : -1;
}

static int opt_mounts(int val, const char *arg, int remote)
{
    return valid_list(arg, valid_mount) ? keep(&st.mounts, arg) : -1;
}

static int opt_workdir(int val, const char *arg, int remote)
{
    return valid_path(arg) ? keep(&st.workdir, arg) : -1;
}

static int opt_name(int val, const char *arg, int remote)
{
    return valid_name(arg) ? keep(&st.name, arg) : -1;
}

static int opt_env(int val, const char *arg, int remote)
{
    return valid_list(arg, valid_env_name) ? keep(&st.env, arg) : -1;
}

static int opt_remap(int val, const char *arg, int remote)
{
    st.remap_root = val;
    return 0;
}

static int opt_writable(int val, const char *arg, int remote)
{
    st.writable = val;
    return 0;
}

static struct spank_option opts[] = {
    { "container-image", "IMAGE",
      "[nroot] the image: a file (tarball, docker-archive, oci-archive), an "
      "OCI layout, a name in the user's store or a registry reference",
      1, 0, opt_image },
    { "container-mounts", "SRC:DST[:ro][,...]",
      "[nroot] bind mounts (absolute paths; ro: read-only)", 1, 0, opt_mounts },
    { "container-workdir", "DIR", "[nroot] working directory inside the container", 1, 0,
      opt_workdir },
    { "container-name", "NAME",
      "[nroot] a named container: kept after the step, reused by the next "
      "step or job with this name",
      1, 0, opt_name },
    { "container-env", "NAME[,NAME...]", "[nroot] variables whose host value overrides the image's",
      1, 0, opt_env },
    { "container-remap-root", NULL, "[nroot] be root inside the container", 0, 1, opt_remap },
    { "no-container-remap-root", NULL,
      "[nroot] keep your own uid inside the container (the default)", 0, 0, opt_remap },
    { "container-writable", NULL, "[nroot] a writable container file system (the default)", 0, 1,
      opt_writable },
    { "container-readonly", NULL, "[nroot] a read-only container file system", 0, 0, opt_writable },
    SPANK_OPTIONS_TABLE_END
};

// ---- init -------------------------------------------------------------------

static int parse_plugstack_args(int ac, char **av)
{
    for (int i = 0; i < ac; i++) {
        if (!strncmp(av[i], "nroot=", 6) && valid_path(av[i] + 6)) {
            if (keep(&st.nroot, av[i] + 6) < 0)
                return -1;
            continue;
        }
        slurm_error("nroot: plugstack.conf: unknown argument '%s' (nroot=/ABSOLUTE/PATH)", av[i]);
        return -1;
    }
    if (!st.nroot && keep(&st.nroot, NR_BINDIR "/nroot") < 0)
        return -1;
    return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
    spank_context_t ctx = spank_context();

    if (ctx != S_CTX_LOCAL && ctx != S_CTX_ALLOCATOR && ctx != S_CTX_REMOTE)
        return 0;
    if (parse_plugstack_args(ac, av) < 0)
        return -1;
    for (struct spank_option *o = opts; o->name; o++) {
        spank_err_t rc = spank_option_register(sp, o);
        if (rc != ESPANK_SUCCESS) {
            slurm_error("nroot: cannot register --%s: %s", o->name, spank_strerror(rc));
            return -1;
        }
    }
    return 0;
}

// the helper lives next to this plugin, in the build tree and installed
static int find_helper(void)
{
    Dl_info info;
    const char *slash;
    size_t dir;

    if (!dladdr((void *)&slurm_spank_init, &info) || !info.dli_fname ||
        !(slash = strrchr(info.dli_fname, '/')))
        return -1;
    dir = (size_t)(slash - info.dli_fname);
    free(st.helper);
    st.helper = malloc(dir + sizeof("/" HELPER_NAME));
    if (!st.helper)
        return -1;
    memcpy(st.helper, info.dli_fname, dir);
    memcpy(st.helper + dir, "/" HELPER_NAME, sizeof("/" HELPER_NAME));
    return access(st.helper, X_OK);
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
    uint32_t step = 0, job = 0;

    if (spank_context() != S_CTX_REMOTE || (!st.image && !st.name))
        return 0;
    if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
        return 0;
    if (step == SLURM_EXTERN_CONT)
        return 0;   // the extern step has no task of the user's
    st.batch = (step == SLURM_BATCH_SCRIPT);
    // the key is explicit: the batch step has no SLURM_STEP_ID for nroot's
    // default, and the count is the node's, whatever the task's environment
    if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS)
        job = 0;
    if (st.batch)
        snprintf(st.key, sizeof(st.key), "slurm-%u.batch", job);
    else
        snprintf(st.key, sizeof(st.key), "slurm-%u.%u", job, step);
    if (spank_get_item(sp, S_JOB_LOCAL_TASK_COUNT, &st.tasks) != ESPANK_SUCCESS)
        st.tasks = 0;
    if (find_helper() < 0) {
        slurm_error("nroot: %s: %s", st.helper ? st.helper : HELPER_NAME,
                    "missing: install it next to spank_nroot.so");
        return -1;
    }
    if (!st.image)
        set_err("--container-name needs --container-image (the image of a new "
                "container)");
    st.enabled = true;
    return 0;
}

// ---- user_init: the import, once per node and step ---------------------------

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

// one line of the child's: an error line replaces any line before it;
// another line (a hint) only a line that is not an error
static void take_line(char *line, size_t size, const char *text, bool *got_err)
{
    bool is_err = !strncmp(text, "nroot: error: ", 14);

    if (!text[0] || (*got_err && !is_err))
        return;
    copy_str(line, size, text);
    *got_err = is_err;
}

// the cause in what the child wrote: its last "nroot: error: " line (the
// hint after it is not the cause), else its last non-empty line; without
// "nroot: error: "
static void read_last_line(int fd, char *line, size_t size)
{
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    bool got_err = false;

    line[0] = '\0';
    for (;;) {
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        for (char *nl; (nl = strchr(buf, '\n'));) {
            *nl = '\0';
            take_line(line, size, buf, &got_err);
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len + 1);
        }
        if (len == sizeof(buf) - 1) {   // a line too long: keep its start
            take_line(line, size, buf, &got_err);
            len = 0;
        }
    }
    if (len) {
        buf[len] = '\0';
        take_line(line, size, buf, &got_err);
    }
    if (!strncmp(line, "nroot: error: ", 14))
        memmove(line, line + 14, strlen(line + 14) + 1);
}

static void import_image(spank_t sp)
{
    char *argv[] = { st.nroot, "import", "-q", "--userns=keep-id", st.image, NULL };
    char **env = NULL;
    char line[ERR_MAX - 128];
    uid_t uid;
    gid_t gid;
    int pipefd[2], devnull, status = 0;
    pid_t pid;

    if (st.remap_root == 1) {   // run's default mapping: import's default too
        argv[3] = st.image;
        argv[4] = NULL;
    }
    if (spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS ||
        spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
        spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS) {
        set_err("cannot read the step's user and environment");
        return;
    }
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
        set_err("import %s: %s", st.image, strerror(errno));
        if (devnull >= 0)
            close(devnull);
        return;
    }
    pid = fork();
    if (pid == 0) {
        // slurmstepd dropped to the user's effective ids and groups;
        // make them the real and saved ids too before nroot starts
        if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(pipefd[1], 2) < 0 ||
            setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
            _exit(125);
        // nothing of slurmstepd's (its sockets to slurmd and srun, not all
        // close-on-exec) reaches nroot and the helpers it runs
        if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
            for (int fd = 3; fd < 1024; fd++)
                close(fd);
        execve(st.nroot, argv, env);
        dprintf(2, "nroot: error: cannot execute %s: %s\n", st.nroot, strerror(errno));
        _exit(125);
    }
    close(pipefd[1]);
    close(devnull);
    if (pid < 0) {
        set_err("import %s: fork: %s", st.image, strerror(errno));
        close(pipefd[0]);
        return;
    }
    read_last_line(pipefd[0], line, sizeof(line));
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    if (line[0])
        set_err("%s", line);
    else
        set_err("import %s: nroot ended with status %d", st.image,
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
    if (spank_context() != S_CTX_REMOTE || !st.enabled || st.err[0])
        return 0;
    import_image(sp);
    return 0;   // a failure is reported by the tasks (see the top)
}

// ---- task_init: the task's command becomes nroot run ---------------------

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} Enc;

// one argument as LEN:BYTES (nroot-spank-exec decodes it)
static void enc_add(Enc *e, const char *s, size_t n)
{
    char head[24];
    int h = snprintf(head, sizeof(head), "%zu:", n);
    size_t need = e->len + (size_t)h + n + 1;

    if (e->failed)
        return;
    if (need > e->cap) {
        size_t cap = need * 2;
        char *b = realloc(e->buf, cap);
        if (!b) {
            e->failed = true;
            return;
        }
        e->buf = b;
        e->cap = cap;
    }
    memcpy(e->buf + e->len, head, (size_t)h);
    memcpy(e->buf + e->len + (size_t)h, s, n);
    e->len += (size_t)h + n;
    e->buf[e->len] = '\0';
}

static void enc_str(Enc *e, const char *s)
{
    enc_add(e, s, strlen(s));
}

// each item of a comma list, after an option (-v ITEM, -e ITEM)
static void enc_list(Enc *e, const char *opt, const char *list)
{
    for (const char *p = list; p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 3 && !strncmp(p + n - 3, ":rw", 3))
            n -= 3;   // nroot's volumes are read-write unless :ro
        enc_str(e, opt);
        enc_add(e, p, n);
        p = comma ? comma + 1 : NULL;
    }
}

static void enc_command(Enc *e, const char *argv0)
{
    enc_str(e, st.nroot);
    enc_str(e, "run");
    enc_str(e, "--net=host");
    enc_str(e, "--env-host");
    {
        char arg[96];
        snprintf(arg, sizeof(arg), "--join=%s", st.key);
        enc_str(e, arg);
        if (st.tasks) {
            snprintf(arg, sizeof(arg), "--join-count=%u", st.tasks);
            enc_str(e, arg);
        }
    }
    if (st.remap_root != 1)
        enc_str(e, "--userns=keep-id");
    if (st.mounts)
        enc_list(e, "-v", st.mounts);
    if (st.batch) {   // the script, in slurmd's spool, bound where it is
        char *item = NULL;
        if (asprintf(&item, "%s:%s:ro", argv0, argv0) < 0) {
            e->failed = true;
            return;
        }
        enc_str(e, "-v");
        enc_str(e, item);
        free(item);
    }
    if (st.workdir) {
        enc_str(e, "-w");
        enc_str(e, st.workdir);
    }
    if (st.name) {
        enc_str(e, "--name");
        enc_str(e, st.name);
    }
    if (st.writable == 0)
        enc_str(e, "--read-only");
    if (st.env)
        enc_list(e, "-e", st.env);
    enc_str(e, st.image);
    enc_str(e, "--");
    enc_str(e, argv0);
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
    char node[256] = "";
    char msg[ERR_MAX + 300];
    char **argv = NULL;
    int argc = 0, task = 0;
    Enc e = { 0 };

    if (spank_context() != S_CTX_REMOTE || !st.enabled)
        return 0;
    if (spank_getenv(sp, "SLURMD_NODENAME", node, sizeof(node)) != ESPANK_SUCCESS &&
        gethostname(node, sizeof(node) - 1) < 0)
        snprintf(node, sizeof(node), "?");
    if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS || argc < 1 || !argv ||
        !argv[0]) {
        slurm_error("nroot: %s: the task has no command", node);
        return -1;
    }
    if (!st.err[0]) {
        enc_command(&e, argv[0]);
        if (e.failed)
            set_err("out of memory");
        else if (spank_setenv(sp, "NROOT_SPANK_ARGV", e.buf, 1) != ESPANK_SUCCESS)
            set_err("cannot set NROOT_SPANK_ARGV");
        free(e.buf);
    }
    if (st.err[0]) {
        // one line per node: the node's first task says it, all fail with 125
        spank_get_item(sp, S_TASK_ID, &task);
        snprintf(msg, sizeof(msg), "nroot: error: %s: %s", node, st.err);
        if (spank_setenv(sp, "NROOT_SPANK_ERROR", task == 0 ? msg : "", 1) != ESPANK_SUCCESS) {
            slurm_error("%s", msg);
            return -1;
        }
    }
    // slurmstepd execs task->argv, the very array S_JOB_ARGV gives (Slurm
    // 22.05: stepd_step_rec's task[i]->argv = job->argv without
    // --multi-prog); the helper puts argv[0] back behind nroot's options
    argv[0] = st.helper;
    return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
    free(st.image);
    free(st.mounts);
    free(st.workdir);
    free(st.name);
    free(st.env);
    free(st.nroot);
    free(st.helper);
    memset(&st, 0, sizeof(st));
    st.remap_root = -1;
    st.writable = -1;
    return 0;
}
