// SPDX-License-Identifier: Apache-2.0
// tests/helper/pmi2-probe.c — a PMI-2 client with no library (built static
// by tests/run, put into the test images as /bin/pmi2-probe and
// /usr/local/bin/pmi2-probe): it speaks the PMI-2 wire protocol of Slurm's
// mpi/pmi2 plugin over the inherited $PMI_FD, so the tests see that PMI-2
// really reaches a task, in a container or not.
//
// The protocol (Slurm src/plugins/mpi/pmi2, MPICH's simple PMI-2): first a
// PMI-1 line "cmd=init pmi_version=2 pmi_subversion=0\n", answered by
// "cmd=response_to_init ... rc=0 ...\n"; then every command and answer is a
// 6-character decimal length and that many bytes "cmd=NAME;key=value;...".
// The probe does fullinit (rank and size), info-getjobattr
// PMI_process_mapping, kvs-put of its own key, kvs-fence (which returns only
// when every rank of the step has fenced), kvs-get of the next rank's key,
// finalize.  It prints, on success:
//   pmi2-probe: rank=R size=S
//   pmi2-probe: PMI_FD=N is a socket
//   pmi2-probe: process_mapping=...
//   pmi2-probe: fence ok: rank NEXT put hello-NEXT
// and exits 0; otherwise "pmi2-probe: error: ..." and exits 1.

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pmi_fd = -1;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pmi2-probe: error: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(pmi_fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write to PMI_FD: %s", n < 0 ? strerror(errno) : "nothing written");
        buf += n;
        len -= (size_t)n;
    }
}

static void read_all(char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(pmi_fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read from PMI_FD: %s", strerror(errno));
        if (n == 0)
            die("PMI_FD closed by the server");
        buf += n;
        len -= (size_t)n;
    }
}

// one PMI-2 command: send "%6d" + body, return the answer (static buffer)
static const char *command(const char *body)
{
    static char answer[65536];
    char len[7];
    size_t n = strlen(body);
    if (n > 999999)
        die("command too long");
    snprintf(len, sizeof len, "%-6zu", n);
    write_all(len, 6);
    write_all(body, n);
    read_all(len, 6);
    len[6] = '\0';
    long want = strtol(len, NULL, 10);
    if (want <= 0 || (size_t)want >= sizeof answer)
        die("bad answer length '%s' to '%s'", len, body);
    read_all(answer, (size_t)want);
    answer[want] = '\0';
    return answer;
}

// the value of KEY in an answer "k=v;k=v;" (static buffer), or NULL
static const char *field(const char *answer, const char *key)
{
    static char value[4096];
    size_t klen = strlen(key);
    const char *p = answer;
    while (*p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t i = 0;
            while (*v && i + 1 < sizeof value) {
                if (v[0] == ';' && v[1] == ';') {   // an escaped ';'
                    value[i++] = ';';
                    v += 2;
                    continue;
                }
                if (*v == ';')
                    break;
                value[i++] = *v++;
            }
            value[i] = '\0';
            return value;
        }
        p = strchr(p, ';');
        if (!p)
            break;
        p++;
    }
    return NULL;
}

static void expect_rc0(const char *answer, const char *cmd)
{
    const char *rc = field(answer, "rc");
    char want[64];
    snprintf(want, sizeof want, "cmd=%s-response;", cmd);
    if (strncmp(answer, want, strlen(want)) != 0)
        die("unexpected answer to %s: %s", cmd, answer);
    if (!rc || strcmp(rc, "0") != 0)
        die("%s failed: %s", cmd, answer);
}

int main(void)
{
    const char *s = getenv("PMI_FD");
    char *end;
    struct stat st;
    char buf[512];

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!s || !*s)
        die("PMI_FD is not set (not started by srun --mpi=pmi2?)");
    pmi_fd = (int)strtol(s, &end, 10);
    if (*end || pmi_fd < 0)
        die("PMI_FD=%s is not a number", s);
    if (fstat(pmi_fd, &st) < 0)
        die("PMI_FD=%d: %s", pmi_fd, strerror(errno));
    int is_socket = S_ISSOCK(st.st_mode);
    s = getenv("PMI_RANK");
    int env_rank = s ? atoi(s) : 0;

    // the PMI-1 style handshake that selects PMI-2
    static const char init[] = "cmd=init pmi_version=2 pmi_subversion=0\n";
    write_all(init, sizeof init - 1);
    size_t n = 0;
    while (n + 1 < sizeof buf) {
        read_all(buf + n, 1);
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = '\0';
    if (strncmp(buf, "cmd=response_to_init", 20) != 0 || !strstr(buf, "rc=0"))
        die("init refused: %s", buf);

    snprintf(buf, sizeof buf, "cmd=fullinit;pmijobid=-1;pmirank=%d;threaded=FALSE;", env_rank);
    const char *a = command(buf);
    expect_rc0(a, "fullinit");
    const char *f = field(a, "rank");
    if (!f)
        die("no rank in %s", a);
    int rank = atoi(f);
    f = field(a, "size");
    if (!f)
        die("no size in %s", a);
    int size = atoi(f);
    if (size < 1 || rank < 0 || rank >= size)
        die("rank %d size %d make no sense", rank, size);
    printf("pmi2-probe: rank=%d size=%d\n", rank, size);
    printf("pmi2-probe: PMI_FD=%d %s\n", pmi_fd, is_socket ? "is a socket" : "is not a socket");

    a = command("cmd=info-getjobattr;key=PMI_process_mapping;");
    expect_rc0(a, "info-getjobattr");
    f = field(a, "value");
    printf("pmi2-probe: process_mapping=%s\n", f ? f : "(none)");

    snprintf(buf, sizeof buf, "cmd=kvs-put;key=probe-%d;value=hello-%d;", rank, rank);
    expect_rc0(command(buf), "kvs-put");
    expect_rc0(command("cmd=kvs-fence;"), "kvs-fence");
    int next = (rank + 1) % size;
    snprintf(buf, sizeof buf, "cmd=kvs-get;jobid=;srcid=-1;key=probe-%d;", next);
    a = command(buf);
    expect_rc0(a, "kvs-get");
    f = field(a, "found");
    if (!f || strcmp(f, "TRUE") != 0)
        die("rank %d's key probe-%d not found after the fence: %s", rank, next, a);
    char want[64];
    snprintf(want, sizeof want, "hello-%d", next);
    f = field(a, "value");
    if (!f || strcmp(f, want) != 0)
        die("probe-%d is '%s', not '%s'", next, f ? f : "", want);
    printf("pmi2-probe: fence ok: rank %d put %s\n", next, f);

    expect_rc0(command("cmd=finalize;"), "finalize");
    return 0;
}
