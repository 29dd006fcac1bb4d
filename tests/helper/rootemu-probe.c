/* SPDX-License-Identifier: Apache-2.0 */
/* rootemu-probe.c — the id calls made through i386's `int $0x80`, for
 * tests/rootemu.bats: built there with `gcc -m32 -static`, run in the
 * busybox image.  Prints one NAME=RESULT per call (0, or -ERRNO) and the
 * owner and type of what the calls touched, so the test sees that the
 * filter answers the i386 ABI too (its numbers differ from x86_64's).
 *
 *   rootemu-probe FILE DIR   FILE exists; DIR is where nodes are made */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* i386 system call numbers (arch/x86/entry/syscalls/syscall_32.tbl) */
enum {
    I386_MKNOD = 14,
    I386_LCHOWN16 = 16,
    I386_SETUID16 = 23,
    I386_CHOWN16 = 182,
    I386_GETUID32 = 199,
    I386_SETGROUPS32 = 206,
    I386_FCHOWN32 = 207,
    I386_SETRESUID32 = 208,
    I386_SETRESGID32 = 210,
    I386_CHOWN32 = 212,
    I386_SETUID32 = 213,
    I386_SETGID32 = 214,
    I386_SETFSUID32 = 215,
};

static long sys3(long nr, long a, long b, long c)
{
#if defined(__i386__)
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
#else
    (void)nr, (void)a, (void)b, (void)c;
    return -38; /* ENOSYS: built for another ABI */
#endif
}

static void show(const char *name, long r)
{
    printf("%s=%ld\n", name, r);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rootemu-probe FILE DIR\n");
        return 2;
    }
    const char *file = argv[1];
    char dev[4096], fifo[4096], wh[4096];
    snprintf(dev, sizeof dev, "%s/dev", argv[2]);
    snprintf(wh, sizeof wh, "%s/whiteout", argv[2]);
    snprintf(fifo, sizeof fifo, "%s/fifo", argv[2]);
    unsigned gid = 1;
    show("chown32", sys3(I386_CHOWN32, (long)file, 1, 1));
    show("chown16", sys3(I386_CHOWN16, (long)file, 2, 2));
    show("lchown16", sys3(I386_LCHOWN16, (long)file, 3, 3));
    FILE *f = fopen(file, "r");
    show("fchown32", f ? sys3(I386_FCHOWN32, fileno(f), 4, 4) : -9);
    if (f)
        fclose(f);
    show("setgroups32", sys3(I386_SETGROUPS32, 1, (long)&gid, 0));
    show("setresgid32", sys3(I386_SETRESGID32, 1, 1, 1));
    show("setgid32", sys3(I386_SETGID32, 1, 0, 0));
    show("setresuid32", sys3(I386_SETRESUID32, 1, 1, 1));
    show("setuid32", sys3(I386_SETUID32, 1, 0, 0));
    show("setuid16", sys3(I386_SETUID16, 1, 0, 0));
    /* setfsuid answers the previous fsuid, never an error */
    show("setfsuid32", sys3(I386_SETFSUID32, 1, 0, 0));
    show("mknod_chr", sys3(I386_MKNOD, (long)dev, S_IFCHR | 0600, (1 << 8) | 3));
    show("mknod_fifo", sys3(I386_MKNOD, (long)fifo, S_IFIFO | 0600, 0));
    /* 0:0, the overlay whiteout: made for real (DIR on a tmpfs: overlayfs
     * refuses to make one) */
    show("mknod_whiteout", sys3(I386_MKNOD, (long)wh, S_IFCHR | 0600, 0));
    show("getuid32", sys3(I386_GETUID32, 0, 0, 0));
    struct stat st;
    if (stat(file, &st) == 0)
        printf("owner=%u:%u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
    printf("dev=%s\n", stat(dev, &st) == 0 ? "exists" : "absent");
    printf("fifo=%s\n", stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode) ? "fifo" : "absent");
    printf("whiteout=%s\n", stat(wh, &st) != 0                       ? "absent"
                            : S_ISCHR(st.st_mode) && st.st_rdev == 0 ? "0:0"
                                                                     : "other");
    return 0;
}
