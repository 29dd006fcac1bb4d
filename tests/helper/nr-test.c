/* SPDX-License-Identifier: Apache-2.0 */
/* nr-test — the static helper that is the whole userland of nroot's test
 * containers besides busybox.  Each subcommand does one check and prints a
 * short, stable line that the bats files assert on.
 *
 *   nr-test exit N                 exit with status N
 *   nr-test ids                    uid=U gid=G euid=E egid=F groups=A,B
 *   nr-test caps                   CapInh/CapPrm/CapEff/CapBnd/CapAmb in hex
 *   nr-test nnp                    NoNewPrivs=0|1 (prctl)
 *   nr-test kill PID SIG           "ok" or the errno name; exit 0 / 1
 *   nr-test write PATH             create/append PATH: "ok" or errno name
 *   nr-test mnt PATH               "FSTYPE MOUNT-OPTS SUPER-OPTS" of the mount at PATH
 *   nr-test pty                    open /dev/ptmx, print the slave's name
 *   nr-test zombies N              leave N orphan zombies for PID 1, wait
 *                                  (bounded) until they are reaped
 *   nr-test sig-wait               print "ready", wait for a forwarded signal,
 *                                  print "got SIGNAME", exit 0
 *   nr-test sleep SECS [TAG...]    sleep; TAG only marks the command line
 *   nr-test chroot-escape [PATH..] try the classic chroot escape, print the
 *                                  root inode before/after and whether each
 *                                  PATH is "visible" or "hidden"
 *   nr-test ignore N,N.. CMD ARG.. exec CMD with signals N ignored, through
 *                                  rt_sigaction(2) itself: glibc refuses 32
 *                                  and 33, which a caller may still ignore
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "EUNKNOWN";
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int cmd_ids(void)
{
    gid_t groups[64];
    int n = getgroups(64, groups);

    printf("uid=%u gid=%u euid=%u egid=%u groups=", (unsigned)getuid(), (unsigned)getgid(),
           (unsigned)geteuid(), (unsigned)getegid());
    for (int i = 0; i < n; i++)
        printf("%s%u", i ? "," : "", (unsigned)groups[i]);
    putchar('\n');
    return 0;
}

static int cmd_caps(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];

    if (!f) {
        printf("%s\n", errname(errno));
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        char name[32];
        unsigned long long v;
        if (sscanf(line, "Cap%31[A-Za-z]:\t%llx", name, &v) == 2)
            printf("Cap%s=%016llx\n", name, v);
    }
    fclose(f);
    return 0;
}

static int cmd_kill(const char *pid, const char *sig)
{
    if (kill((pid_t)atoi(pid), atoi(sig)) < 0) {
        printf("%s\n", errname(errno));
        return 1;
    }
    puts("ok");
    return 0;
}

static int cmd_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

    if (fd < 0 || write(fd, "x\n", 2) != 2) {
        printf("%s\n", errname(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    close(fd);
    puts("ok");
    return 0;
}

/* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SRC SUPEROPTS */
static int cmd_mnt(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], found[4096] = "";

    if (!f) {
        printf("%s\n", errname(errno));
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        char mp[4096], opts[1024], fstype[256], src[1024], super[1024];
        const char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s %1023s", mp, opts) != 2)
            continue;
        if (sscanf(sep + 3, "%255s %1023s %1023s", fstype, src, super) != 3)
            continue;
        if (strcmp(mp, path) == 0) /* the last match is the one on top */
            snprintf(found, sizeof found, "%s %s %s", fstype, opts, super);
    }
    fclose(f);
    if (!found[0]) {
        puts("none");
        return 1;
    }
    puts(found);
    return 0;
}

static int cmd_pty(void)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    const char *name;
    int slave;

    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 || !(name = ptsname(fd))) {
        printf("%s\n", errname(errno));
        return 1;
    }
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        printf("%s %s\n", name, errname(errno));
        return 1;
    }
    printf("%s\n", name);
    close(slave);
    close(fd);
    return 0;
}

static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    const char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

static int cmd_zombies(int n)
{
    int pfd[2];
    pid_t mid, kids[64];
    int left = 0;

    if (n < 1 || n > 64 || pipe(pfd) < 0)
        return 2;
    mid = fork();
    if (mid < 0)
        return 2;
    if (mid == 0) {
        /* the middle process forks N children that exit at once and then
         * exits itself without waiting: the children become orphans that
         * only PID 1 of the namespace can reap */
        close(pfd[0]);
        for (int i = 0; i < n; i++) {
            pid_t k = fork();
            if (k == 0)
                _exit(0);
            if (k > 0 && write(pfd[1], &k, sizeof k) != sizeof k)
                _exit(2);
        }
        _exit(0);
    }
    close(pfd[1]);
    for (int i = 0; i < n; i++)
        if (read(pfd[0], &kids[i], sizeof kids[i]) != sizeof kids[i])
            return 2;
    close(pfd[0]);
    waitpid(mid, NULL, 0);

    for (int tries = 0; tries < 100; tries++) { /* 5 s at most */
        left = 0;
        for (int i = 0; i < n; i++)
            if (proc_state(kids[i]) == 'Z')
                left++;
        if (!left)
            break;
        nap_ms(50);
    }
    if (left) {
        printf("zombies left:");
        for (int i = 0; i < n; i++)
            if (proc_state(kids[i]) == 'Z')
                printf(" %d", (int)kids[i]);
        putchar('\n');
        return 1;
    }
    printf("reaped %d\n", n);
    return 0;
}

static int cmd_sig_wait(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
    sigset_t set;
    siginfo_t si;
    int s;

    sigemptyset(&set);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("ready\n");
    fflush(stdout);
    do
        s = sigwaitinfo(&set, &si);
    while (s < 0 && errno == EINTR);
    if (s < 0) {
        printf("%s\n", errname(errno));
        return 1;
    }
    printf("got SIG%s\n", sigabbrev_np(s) ? sigabbrev_np(s) : "?");
    return 0;
}

static void print_root(const char *what)
{
    struct stat st;

    if (stat("/", &st) < 0)
        printf("%s %s\n", what, errname(errno));
    else
        printf("%s %lu:%lu\n", what, (unsigned long)st.st_dev, (unsigned long)st.st_ino);
}

static int cmd_chroot_escape(int argc, char **argv)
{
    print_root("root-before");
    if (mkdir(".out", 0755) < 0 && errno != EEXIST) {
        printf("mkdir %s\n", errname(errno));
        return 1;
    }
    if (chroot(".out") < 0) {
        printf("chroot %s\n", errname(errno));
        return 1;
    }
    /* cwd is now outside our root: climb as far as the kernel lets us */
    for (int i = 0; i < 256; i++)
        if (chdir("..") < 0)
            break;
    if (chroot(".") < 0) {
        printf("chroot-dot %s\n", errname(errno));
        return 1;
    }
    print_root("root-after");
    for (int i = 0; i < argc; i++)
        printf("%s %s\n", argv[i], access(argv[i], F_OK) == 0 ? "visible" : "hidden");
    return 0;
}

/* push STRING into the controlling terminal's input (TIOCSTI), as an
 * attacker would to type commands into the host shell */
static int cmd_sti(const char *str)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (fd < 0)
        fd = 0;
    for (const char *p = str; *p; p++) {
        if (ioctl(fd, TIOCSTI, p) < 0) {
            printf("sti: %s\n", strerror(errno));
            return 1;
        }
    }
    printf("sti: pushed\n");
    return 0;
}

/* one ICMP echo over a datagram socket (no raw socket, no privilege: the
 * caller's group must be in net.ipv4.ping_group_range) */
static int cmd_ping(const char *addr)
{
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (s < 0) {
        printf("ping: socket: %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_in to = { .sin_family = AF_INET };
    if (inet_pton(AF_INET, addr, &to.sin_addr) != 1)
        return 2;
    struct icmphdr h = { .type = ICMP_ECHO };
    h.un.echo.sequence = htons(1);
    if (sendto(s, &h, sizeof h, 0, (struct sockaddr *)&to, sizeof to) < 0) {
        printf("ping: sendto: %s\n", strerror(errno));
        return 1;
    }
    struct pollfd p = { .fd = s, .events = POLLIN };
    char buf[256];
    if (poll(&p, 1, 3000) == 1 && recv(s, buf, sizeof buf, 0) >= (ssize_t)sizeof h &&
        ((struct icmphdr *)buf)->type == ICMP_ECHOREPLY) {
        printf("ping: reply from %s\n", addr);
        return 0;
    }
    printf("ping: no reply from %s\n", addr);
    return 1;
}

/* udp-echo PORT: answer one datagram on PORT with "echo:" and its data */
static int cmd_udp_echo(const char *port)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("udp-echo: bind: %s\n", strerror(errno));
        return 1;
    }
    printf("udp-echo: ready\n");
    char buf[512], out[600];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
    if (n < 0)
        return 1;
    buf[n] = '\0';
    int m = snprintf(out, sizeof out, "echo:%s", buf);
    sendto(s, out, (size_t)m, 0, (struct sockaddr *)&from, fl);
    return 0;
}

/* udp-send IPV4 PORT MSG: send MSG, print the answer (3 s at most) */
static int cmd_udp_send(const char *addr, const char *port, const char *msg)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    if (s < 0 || inet_pton(AF_INET, addr, &to.sin_addr) != 1)
        return 2;
    for (int i = 0; i < 10; i++) {
        sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof to);
        struct pollfd p = { .fd = s, .events = POLLIN };
        char buf[600];
        ssize_t n;
        if (poll(&p, 1, 300) == 1 && (n = recv(s, buf, sizeof buf - 1, 0)) > 0) {
            buf[n] = '\0';
            printf("%s\n", buf);
            return 0;
        }
    }
    printf("udp-send: no answer\n");
    return 1;
}

static int cmd_ignore(const char *list, char **argv)
{
    struct { /* the kernel's sigaction: handler, flags, restorer, mask */
        unsigned long handler, flags, restorer, mask;
    } ign = { (unsigned long)SIG_IGN, 0, 0, 0 };
    char *copy = strdup(list), *save = NULL;
    for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save))
        if (syscall(SYS_rt_sigaction, atoi(n), &ign, NULL, 8) < 0) {
            printf("%s\n", errname(errno));
            return 1;
        }
    execvp(argv[0], argv);
    printf("%s\n", errname(errno));
    return 127;
}

static int usage(void)
{
    fputs("usage: nr-test exit N | ids | caps | nnp | kill PID SIG | write PATH |\n"
          "       mnt PATH | pty | zombies N | sig-wait | sleep SECS [TAG...] |\n"
          "       chroot-escape [PATH...] | sti STRING | ping IPV4 | udp-echo PORT |\n"
          "       udp-send IPV4 PORT MSG | ignore N,N... CMD [ARG...]\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "exit") && argc == 3)
        return atoi(argv[2]);
    if (!strcmp(cmd, "ids"))
        return cmd_ids();
    if (!strcmp(cmd, "caps"))
        return cmd_caps();
    if (!strcmp(cmd, "nnp")) {
        printf("NoNewPrivs=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        return 0;
    }
    if (!strcmp(cmd, "kill") && argc == 4)
        return cmd_kill(argv[2], argv[3]);
    if (!strcmp(cmd, "write") && argc == 3)
        return cmd_write(argv[2]);
    if (!strcmp(cmd, "mnt") && argc == 3)
        return cmd_mnt(argv[2]);
    if (!strcmp(cmd, "pty"))
        return cmd_pty();
    if (!strcmp(cmd, "zombies") && argc == 3)
        return cmd_zombies(atoi(argv[2]));
    if (!strcmp(cmd, "sig-wait"))
        return cmd_sig_wait();
    if (!strcmp(cmd, "sleep") && argc >= 3) {
        nap_ms(atol(argv[2]) * 1000);
        return 0;
    }
    if (!strcmp(cmd, "sti") && argc == 3)
        return cmd_sti(argv[2]);
    if (!strcmp(cmd, "udp-echo") && argc == 3)
        return cmd_udp_echo(argv[2]);
    if (!strcmp(cmd, "udp-send") && argc == 5)
        return cmd_udp_send(argv[2], argv[3], argv[4]);
    if (!strcmp(cmd, "ping") && argc == 3)
        return cmd_ping(argv[2]);
    if (!strcmp(cmd, "ignore") && argc >= 4)
        return cmd_ignore(argv[2], argv + 3);
    if (!strcmp(cmd, "chroot-escape"))
        return cmd_chroot_escape(argc - 2, argv + 2);
    return usage();
}
