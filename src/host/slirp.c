/* SPDX-License-Identifier: Apache-2.0 */
/* slirp.c — user-mode networking for --net=slirp, in nroot's own process
 * (HACKING.md, "Network"): the child made tap0 in the container's network
 * namespace and handed its fd over (#3); libslirp turns the frames read
 * from it into ordinary sockets of the host, and back.
 *
 * libslirp (and the glib it links) is loaded with dlopen() when a
 * container actually gets this network: --net=none and --net=host starts
 * do not pay for loading it.
 *
 *   10.0.2.0/24, fd00::/64   the container's network
 *   10.0.2.2, fd00::2        the host (its loopback only with --host-loopback)
 *   10.0.2.3, fd00::3        DNS, forwarded to the host's resolvers
 *   10.0.2.100, fd00::100    the container (set by net.c) */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-net.h"
#include "nr-plan.h"
#include "nr-portfwd.h"
#include "nr-slirp.h"
#include "nr-util.h"

/* the few libslirp functions nroot calls, resolved at load time */
static struct {
    void *handle;
    Slirp *(*new_)(const SlirpConfig *, const SlirpCb *, void *);
    void (*cleanup)(Slirp *);
    void (*fill)(Slirp *, uint32_t *, SlirpAddPollCb, void *);
    void (*poll)(Slirp *, int, SlirpGetREventsCb, void *);
    void (*input)(Slirp *, const uint8_t *, int);
} lib;

#define MAX_TIMERS 16
#define MAX_FRAME (65520 + 14 + 4)

typedef struct Timer {
    SlirpTimerCb cb;
    void *opaque;
    int64_t expire_ms; /* -1: not armed */
    bool used;
} Timer;

struct NrSlirp {
    Slirp *slirp;
    int tap;
    Timer timers[MAX_TIMERS];
    struct pollfd **pfd; /* the caller's array, during fill/poll (it may grow) */
    int *cap;
    int first, n;
    uint8_t frame[MAX_FRAME];
};

/* The read-only segments (code, constants) of one loaded object: their
 * pages are the file's, shared with every process that maps it, and count
 * in nroot's resident memory for as long as they are mapped here — with the
 * pages the kernel maps around each fault (64 KiB).  Unmapping them costs
 * a minor fault when one is used again (no I/O: they stay in the page
 * cache).  Never a writable segment, nor the RELRO part (its relocated
 * pages are this process's own copies: dropping them would give back the
 * file's), nor the vDSO, nor an object whose code was relocated in place
 * (TEXTREL: its pages are this process's copies too).  Not while a
 * debugger traces nroot: its breakpoints are written to such pages. */
static bool text_relocated(const struct dl_phdr_info *info, const ElfW(Phdr) * ph)
{
    for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
         d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
            return true;
    return false;
}

static int drop_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t pg = *(const uintptr_t *)data;
    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    uintptr_t relro_lo = 0, relro_hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC && text_relocated(info, ph))
            return 0;
        if (ph->p_type == PT_GNU_RELRO) {
            relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
            relro_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + pg - 1) & ~(pg - 1);
        }
        if (ph->p_type == PT_LOAD && vdso && info->dlpi_addr + ph->p_vaddr == vdso)
            return 0;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || ph->p_filesz != ph->p_memsz)
            continue;
        /* whole pages only: a page shared with a neighbour is left alone */
        uintptr_t lo = (info->dlpi_addr + ph->p_vaddr + pg - 1) & ~(pg - 1);
        uintptr_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(pg - 1);
        if (hi <= lo || (relro_hi > lo && relro_lo < hi))
            continue;
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    return 0;
}

/* the start-up's code and constants out of nroot's resident memory: what
 * the supervising loop uses comes back on its first use (issue 19: the
 * parent's peak resident memory while it carries the network) */
static void drop_mapped_code(void)
{
    static int traced = -1;
    if (traced < 0) {
        char buf[4096];
        nr_autoclose int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        buf[n > 0 ? n : 0] = 0;
        const char *t = strstr(buf, "\nTracerPid:");
        traced = !t || strtol(t + 12, NULL, 10) != 0;
    }
    if (traced)
        return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    dl_iterate_phdr(drop_object, &pg);
}

static int load(NrError *err)
{
    if (lib.handle)
        return 0;
    drop_mapped_code();
    /* glib first, on its own: each load calls libc's IFUNC resolvers
     * again (64 KiB mapped around each), and the two at once made the
     * peak.  Its handle stays open: libslirp needs it for nroot's life;
     * without it, libslirp's dlopen below says what is missing */
    void *glib = dlopen("libglib-2.0.so.0", RTLD_NOW | RTLD_LOCAL);
    if (glib)
        drop_mapped_code();
    void *h = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        nr_error_msg(err, "--net=slirp needs libslirp: %s", dlerror());
        nr_error_hint(
            err, "install it (apt-get install libslirp0), or run with --net=none or --net=host");
        return -1;
    }
#define SYM(field, name) \
    if (!(*(void **)&lib.field = dlsym(h, name))) { \
        nr_error_msg(err, "libslirp has no %s: it is too old (4.5 or later is needed)", name); \
        dlclose(h); \
        return -1; \
    }
    SYM(new_, "slirp_new")
    SYM(cleanup, "slirp_cleanup")
    SYM(fill, "slirp_pollfds_fill")
    SYM(poll, "slirp_pollfds_poll")
    SYM(input, "slirp_input")
#undef SYM
    lib.handle = h;
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- callbacks ---- */

static ssize_t cb_send(const void *buf, size_t len, void *opaque)
{
    NrSlirp *s = opaque;
    ssize_t w;
    do
        w = write(s->tap, buf, len);
    while (w < 0 && errno == EINTR);
    /* a full tap queue drops the frame: TCP retransmits, as on a wire */
    return w < 0 && errno == EAGAIN ? (ssize_t)len : w;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    (void)msg;
    (void)opaque;
}
static int64_t cb_clock(void *opaque)
{
    (void)opaque;
    return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    NrSlirp *s = opaque;
    for (int i = 0; i < MAX_TIMERS; i++)
        if (!s->timers[i].used) {
            s->timers[i] = (Timer){ .cb = cb, .opaque = cb_opaque, .expire_ms = -1, .used = true };
            return &s->timers[i];
        }
    return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
    (void)opaque;
    if (timer)
        ((Timer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    if (timer)
        ((Timer *)timer)->expire_ms = expire_ms;
}

static void cb_register(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}
static void cb_notify(void *opaque)
{
    (void)opaque;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    NrSlirp *s = opaque;
    nr_portfwd_poll_grow(s->pfd, s->cap, s->first + s->n + 1);
    short ev = 0;
    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    (*s->pfd)[s->first + s->n] = (struct pollfd){ .fd = fd, .events = ev };
    return s->n++;
}

static int cb_get_revents(int idx, void *opaque)
{
    NrSlirp *s = opaque;
    if (idx < 0 || idx >= s->n)
        return 0;
    short r = (*s->pfd)[s->first + idx].revents;
    int out = 0;
    if (r & POLLIN)
        out |= SLIRP_POLL_IN;
    if (r & POLLOUT)
        out |= SLIRP_POLL_OUT;
    if (r & POLLPRI)
        out |= SLIRP_POLL_PRI;
    if (r & POLLERR)
        out |= SLIRP_POLL_ERR;
    if (r & POLLHUP)
        out |= SLIRP_POLL_HUP;
    return out;
}

static const SlirpCb callbacks = {
    .send_packet = cb_send,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register,
    .unregister_poll_fd = cb_register,
    .notify = cb_notify,
};

/* ---- the stack ---- */

/* the stack of s with config c; s is freed if it cannot start */
static NrSlirp *start(NrSlirp *s, const SlirpConfig *c, NrError *err)
{
    s->slirp = lib.new_(c, &callbacks, s);
    if (!s->slirp) {
        nr_error_msg(err, "cannot start the user-mode network (libslirp)");
        free(s);
        return NULL;
    }
    /* what loading libslirp and glib and starting the stack touched */
    drop_mapped_code();
    return s;
}

NrSlirp *nr_slirp_new(int tap, const NrRunConfig *cfg, NrError *err)
{
    if (load(err) < 0)
        return NULL;
    NrSlirp *s = nr_xmalloc(sizeof *s);
    s->tap = tap;
    /* only version-1 fields are set: any libslirp from 4.5 (slirp_add_hostxfwd) takes it */
    SlirpConfig c = { .version = 1,
                      .in_enabled = true,
                      .in6_enabled = true,
                      .vprefix_len = 64,
                      .if_mtu = NR_SLIRP_MTU,
                      .if_mru = NR_SLIRP_MTU,
                      .disable_host_loopback = !cfg->host_loopback,
                      .vhostname = cfg->hostname ? cfg->hostname : cfg->cid };
    inet_pton(AF_INET, "10.0.2.0", &c.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &c.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &c.vhost);
    inet_pton(AF_INET, "10.0.2.3", &c.vnameserver);
    inet_pton(AF_INET, "10.0.2.15", &c.vdhcp_start);
    inet_pton(AF_INET6, "fd00::", &c.vprefix_addr6);
    inet_pton(AF_INET6, "fd00::2", &c.vhost6);
    inet_pton(AF_INET6, "fd00::3", &c.vnameserver6);
    /* published ports are nroot's own (portfwd.c), not slirp's hostfwd:
     * its UDP socket has SO_REUSEADDR, which lets another user bind the
     * same port and take the datagrams */
    return start(s, &c, err);
}

NrSlirp *nr_slirp_new_net(int tap, struct in_addr net, int prefix, NrError *err)
{
    if (load(err) < 0)
        return NULL;
    NrSlirp *s = nr_xmalloc(sizeof *s);
    memset(s->timers, 0, sizeof s->timers);
    s->tap = tap;
    uint32_t base = ntohl(net.s_addr);
    SlirpConfig c = { .version = 4,
                      .in_enabled = true,
                      .in6_enabled = false,
                      .if_mtu = NR_SLIRP_MTU,
                      .if_mru = NR_SLIRP_MTU,
                      .disable_host_loopback = true,
                      .disable_dhcp = true,
                      .vhostname = "nroot" };
    c.vnetwork.s_addr = net.s_addr;
    c.vnetmask.s_addr = htonl(0xffffffffu << (32 - prefix));
    c.vhost.s_addr = htonl(base + 2);
    c.vnameserver.s_addr = htonl(base + 3);
    c.vdhcp_start.s_addr = htonl(base + 4);
    return start(s, &c, err);
}

/* Closing the last reference to the tap unregisters tap0, and that waits
 * for RCU grace periods: 15-30 ms here, which nroot's exit, and so the
 * caller, would wait for.  A child that holds nothing else keeps the last
 * reference until nroot has exited (EOF on a pipe nroot leaves open), and
 * pays for it then. */
static void close_tap_later(int tap)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_NAME, "nroot-tapclose", 0, 0, 0);
            /* stdio too: a caller reading nroot's output must see its end */
            int keep[2] = { tap < p[0] ? tap : p[0], tap < p[0] ? p[0] : tap };
            nr_close_range_except(0U, keep, 2);
            char c;
            while (read(p[0], &c, 1) < 0 && errno == EINTR)
                ;
            _exit(0);
        }
        close(p[0]);
        if (pid < 0)
            close(p[1]);
        /* else p[1] stays open until nroot exits */
    }
    close(tap);
}

void nr_slirp_free(NrSlirp *s)
{
    if (!s)
        return;
    lib.cleanup(s->slirp);
    close_tap_later(s->tap);
    free(s);
}

int nr_slirp_fill(NrSlirp *s, struct pollfd **pfd, int *cap, int first, int *timeout_ms)
{
    s->pfd = pfd;
    s->cap = cap;
    s->first = first;
    s->n = 0;
    /* the tap first: frames from the container */
    cb_add_poll(s->tap, SLIRP_POLL_IN, s);
    uint32_t t = UINT32_MAX;
    lib.fill(s->slirp, &t, cb_add_poll, s);
    /* libslirp caps the timeout at 1000 ms even when it has nothing timed
     * to do: it answers 2 ms while a TCP connection needs its fast timer,
     * at most 499 ms while any TCP connection or IP fragment needs the slow
     * one, and exactly the 1000 ms cap otherwise.  Then only the timers it
     * made through our callbacks (below) matter, and an idle container
     * wakes nroot not once a second but never. */
    if (t == 1000)
        t = UINT32_MAX;
    int64_t now = now_ns() / 1000000;
    for (int i = 0; i < MAX_TIMERS; i++) {
        const Timer *tm = &s->timers[i];
        if (tm->used && tm->expire_ms >= 0) {
            int64_t left = tm->expire_ms > now ? tm->expire_ms - now : 0;
            if ((uint64_t)left < t)
                t = (uint32_t)left;
        }
    }
    int ms = t == UINT32_MAX ? -1 : (int)(t > 60000 ? 60000 : t);
    if (*timeout_ms < 0 || (ms >= 0 && ms < *timeout_ms))
        *timeout_ms = ms;
    return s->n;
}

void nr_slirp_dispatch(NrSlirp *s, bool poll_error)
{
    /* frames from the container, a batch per wake-up */
    if ((*s->pfd)[s->first].revents & POLLIN) {
        for (int i = 0; i < 64; i++) {
            ssize_t n = read(s->tap, s->frame, sizeof s->frame);
            if (n <= 0)
                break;
            lib.input(s->slirp, s->frame, (int)n);
        }
    }
    /* the indexes slirp got from cb_add_poll count the tap's slot 0 */
    lib.poll(s->slirp, poll_error, cb_get_revents, s);
    int64_t now = now_ns() / 1000000;
    for (int i = 0; i < MAX_TIMERS; i++) {
        Timer *tm = &s->timers[i];
        if (tm->used && tm->expire_ms >= 0 && tm->expire_ms <= now) {
            tm->expire_ms = -1;
            tm->cb(tm->opaque);
        }
    }
}
