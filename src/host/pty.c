/* SPDX-License-Identifier: Apache-2.0 */
/* pty.c — `run -t`: nroot relays between its own stdin/stdout and the
 * master of a pseudo-terminal that PID 1 opened in the container's devpts
 * (so the container's processes see a terminal of their own, not the
 * host's).  Host stdin goes in only with -i; the host terminal is in raw
 * mode meanwhile (the container's line discipline does the editing and
 * Ctrl-C), and its size follows SIGWINCH. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-pty.h"
#include "nr-util.h"

#define BUF_SIZE (64 * 1024)
/* what nroot still copies once the command ended: a terminal holds less
 * than this (the kernel's tty buffers), so only a process left behind that
 * keeps writing (`nroot exec -t C sh -c 'yes &'`) reaches it */
#define DRAIN_MAX (1024 * 1024)

typedef struct Buf {
    char data[BUF_SIZE];
    size_t len;
} Buf;

struct NrPty {
    int master;
    bool in_open; /* host stdin still read (-i, no EOF yet) */
    bool in_eof_sent;
    bool out_open;    /* the master still gives output */
    bool last_was_nl; /* of what went in: where an EOF character is a whole EOF */
    Buf in, out;      /* host stdin -> master; master -> host stdout */
    int slot_in, slot_master, slot_out;
};

/* the saved host terminal mode: restored once, from wherever nroot ends */
static struct termios saved;
static bool raw_on;

static void restore(void)
{
    if (raw_on) {
        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
        raw_on = false;
    }
}

static void make_raw(void)
{
    struct termios t = saved;
    cfmakeraw(&t);
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
        raw_on = true;
}

NrPty *nr_pty_new(int master, bool interactive)
{
    NrPty *p = nr_xmalloc(sizeof *p);
    p->master = master;
    p->in_open = interactive;
    p->in_eof_sent = !interactive; /* without -i: no input and no end of it, as in podman */
    p->out_open = true;
    p->last_was_nl = true;
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    nr_pty_resize(p);
    if (interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
        static bool registered;
        if (!registered && atexit(restore) == 0)
            registered = true;
        make_raw();
    }
    return p;
}

void nr_pty_resize(NrPty *p)
{
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl(p->master, TIOCSWINSZ, &ws);
}

void nr_pty_stop(NrPty *p)
{
    bool was_raw = raw_on;
    restore();
    raise(SIGSTOP);
    /* continued: maybe with another size, maybe after the shell reset the mode */
    if (was_raw)
        make_raw();
    nr_pty_resize(p);
}

int nr_pty_fill(NrPty *p, struct pollfd *pfd, int first, int max)
{
    int n = first;
    p->slot_in = p->slot_master = p->slot_out = -1;
    if (n < max && p->in_open && p->in.len < BUF_SIZE) {
        p->slot_in = n;
        pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
    }
    short me = 0;
    if (p->out_open && p->out.len < BUF_SIZE)
        me |= POLLIN;
    if (p->in.len || (!p->in_open && !p->in_eof_sent))
        me |= POLLOUT;
    if (n < max && me) {
        p->slot_master = n;
        pfd[n++] = (struct pollfd){ .fd = p->master, .events = me };
    }
    if (n < max && p->out.len) {
        p->slot_out = n;
        pfd[n++] = (struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT };
    }
    return n - first;
}

/* master -> buffer; false when the container's side is gone (EIO) */
static void pull_master(NrPty *p)
{
    while (p->out_open && p->out.len < BUF_SIZE) {
        ssize_t r = read(p->master, p->out.data + p->out.len, BUF_SIZE - p->out.len);
        if (r > 0)
            p->out.len += (size_t)r;
        else if (r < 0 && errno == EINTR)
            continue;
        else {
            if (r == 0 || errno != EAGAIN)
                p->out_open = false; /* EIO: every slave fd is closed */
            return;
        }
    }
}

static void push_out(NrPty *p)
{
    if (!p->out.len)
        return;
    /* stdout may be shared with other processes: it stays blocking, and
     * poll said it takes at least some */
    ssize_t w = write(STDOUT_FILENO, p->out.data, p->out.len);
    if (w > 0) {
        memmove(p->out.data, p->out.data + w, p->out.len - (size_t)w);
        p->out.len -= (size_t)w;
    } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
        p->out.len = 0; /* nobody reads our output any more: drop it */
        p->out_open = false;
    }
}

static void pull_in(NrPty *p)
{
    ssize_t r = read(STDIN_FILENO, p->in.data + p->in.len, BUF_SIZE - p->in.len);
    if (r > 0)
        p->in.len += (size_t)r;
    else if (r == 0 || (errno != EINTR && errno != EAGAIN))
        p->in_open = false;
}

static void push_master(NrPty *p)
{
    if (p->in.len) {
        ssize_t w = write(p->master, p->in.data, p->in.len);
        if (w > 0) {
            p->last_was_nl = p->in.data[w - 1] == '\n' || p->in.data[w - 1] == '\r';
            memmove(p->in.data, p->in.data + w, p->in.len - (size_t)w);
            p->in.len -= (size_t)w;
        } else if (w < 0 && errno != EINTR && errno != EAGAIN)
            p->in.len = 0;
    }
    if (!p->in_open && !p->in.len && !p->in_eof_sent) {
        /* the end of stdin: the terminal's EOF character, which ends a
         * read only at the start of a line, hence twice after a partial
         * one */
        struct termios t;
        char eof[2] = { 4, 4 };
        if (tcgetattr(p->master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
            eof[0] = eof[1] = (char)t.c_cc[VEOF];
        if (write(p->master, eof, p->last_was_nl ? 1 : 2) > 0 || errno != EAGAIN)
            p->in_eof_sent = true;
    }
}

void nr_pty_dispatch(NrPty *p, const struct pollfd *pfd)
{
    if (p->slot_in >= 0 && pfd[p->slot_in].revents)
        pull_in(p);
    if (p->slot_master >= 0 && (pfd[p->slot_master].revents & (POLLIN | POLLHUP | POLLERR)))
        pull_master(p);
    if (p->slot_master >= 0 && (pfd[p->slot_master].revents & POLLOUT))
        push_master(p);
    if (p->slot_out >= 0 && pfd[p->slot_out].revents)
        push_out(p);
}

void nr_pty_free(NrPty *p)
{
    if (!p)
        return;
    /* every process of the container is gone, so every slave fd is closed:
     * the master gives what is left, then EIO */
    size_t drained = 0;
    for (int tries = 0; p->out_open || p->out.len; tries++) {
        struct pollfd pfd = { .fd = p->master, .events = POLLIN };
        if (p->out_open && p->out.len < BUF_SIZE && poll(&pfd, 1, 1000) <= 0)
            p->out_open = false;
        if (drained > DRAIN_MAX)
            p->out_open = false; /* exec: what runs on in the container does not keep nroot */
        size_t had = p->out.len;
        pull_master(p);
        drained += p->out.len - had;
        size_t before = p->out.len;
        push_out(p);
        if (p->out.len && p->out.len == before && tries > 100)
            break;
    }
    restore();
    close(p->master);
    free(p);
}

/* ---- without -t: the container's stdio through pipes ----
 *
 * The caller's own stdio (a terminal, above all) never enters the
 * container, where a process could reopen it through /proc/PID/fd and
 * keep it after nroot ended: nroot copies between it and pipes whose
 * other ends are the container's stdin, stdout and stderr. */

typedef struct Stream {
    int src, dst;
    bool open; /* src still read */
    bool ours; /* dst is the pipe to the container: closed after src's end */
    int slot_src, slot_dst;
    Buf buf;
} Stream;

struct NrRelay {
    Stream s[3]; /* stdin -> container; container -> stdout; -> stderr */
};

NrRelay *nr_relay_new(int in, int out, int err)
{
    /* calloc: the buffers' pages are touched only when used */
    NrRelay *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->s[0] = (Stream){ .src = STDIN_FILENO, .dst = in, .open = in >= 0, .ours = true };
    r->s[1] = (Stream){ .src = out, .dst = STDOUT_FILENO, .open = out >= 0 };
    r->s[2] = (Stream){ .src = err, .dst = STDERR_FILENO, .open = err >= 0 };
    /* our own ends only: the caller's stdio may be shared and stays blocking */
    const int ends[3] = { in, out, err };
    for (int i = 0; i < 3; i++)
        if (ends[i] >= 0)
            fcntl(ends[i], F_SETFL, fcntl(ends[i], F_GETFL) | O_NONBLOCK);
    return r;
}

int nr_relay_fill(NrRelay *r, struct pollfd *pfd, int first, int max)
{
    int n = first;
    for (int i = 0; i < 3; i++) {
        Stream *s = &r->s[i];
        s->slot_src = s->slot_dst = -1;
        if (n < max && s->open && s->buf.len < BUF_SIZE) {
            s->slot_src = n;
            pfd[n++] = (struct pollfd){ .fd = s->src, .events = POLLIN };
        }
        /* the container's stdin is watched even when there is nothing to
         * write: once it closed its end, nroot stops reading the caller's */
        if (n < max && s->dst >= 0 && (s->buf.len || s->ours)) {
            s->slot_dst = n;
            pfd[n++] = (struct pollfd){ .fd = s->dst, .events = s->buf.len ? POLLOUT : 0 };
        }
    }
    return n - first;
}

static void stream_close_dst(Stream *s)
{
    if (s->ours && s->dst >= 0)
        close(s->dst);
    s->dst = -1;
    s->buf.len = 0;
}

static void stream_read(Stream *s)
{
    ssize_t n = read(s->src, s->buf.data + s->buf.len, BUF_SIZE - s->buf.len);
    if (n > 0)
        s->buf.len += (size_t)n;
    else if (n == 0 || (errno != EINTR && errno != EAGAIN))
        s->open = false;
}

static void stream_write(Stream *s)
{
    ssize_t w = write(s->dst, s->buf.data, s->buf.len);
    if (w > 0) {
        memmove(s->buf.data, s->buf.data + w, s->buf.len - (size_t)w);
        s->buf.len -= (size_t)w;
    } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
        /* nobody reads it any more: the caller's stdin is no longer read
         * (the container closed its own), or the container's pipe is
         * closed, so that its writer gets EPIPE (SIGPIPE) as it would
         * have on nroot's stdout itself (`nroot exec C yes | head -1`) */
        if (!s->ours && s->src >= 0) {
            close(s->src);
            s->src = -1;
        }
        s->open = false;
        stream_close_dst(s);
    }
}

void nr_relay_dispatch(NrRelay *r, const struct pollfd *pfd)
{
    for (int i = 0; i < 3; i++) {
        Stream *s = &r->s[i];
        if (s->slot_src >= 0 && pfd[s->slot_src].revents)
            stream_read(s);
        if (s->slot_dst >= 0 && (pfd[s->slot_dst].revents & (POLLERR | POLLHUP)) && s->ours) {
            s->open = false;
            stream_close_dst(s);
        } else if (s->slot_dst >= 0 && pfd[s->slot_dst].revents)
            stream_write(s);
        if (s->ours && !s->open && !s->buf.len)
            stream_close_dst(s); /* the end of stdin: EOF in the container */
    }
}

void nr_relay_free(NrRelay *r)
{
    if (!r)
        return;
    /* the command ended: the caller's stdin is not read any more, and what
     * the command wrote is all in the pipes; whatever is still running in
     * the container and holds them (a process started in the background)
     * does not keep nroot */
    stream_close_dst(&r->s[0]);
    for (int i = 1; i < 3; i++) {
        Stream *s = &r->s[i];
        /* what the command wrote is in the pipe now, FIONREAD bytes; a
         * process it left running that holds the pipe and writes on
         * (`nroot exec C sh -c 'yes &'`) would keep nroot here for ever */
        int avail = 0;
        if (!s->open || ioctl(s->src, FIONREAD, &avail) < 0 || avail < 0)
            avail = 0;
        size_t left = (size_t)avail;
        for (;;) {
            if (s->buf.len && s->dst >= 0 && nr_write_all(s->dst, s->buf.data, s->buf.len) < 0)
                s->dst = -1;
            s->buf.len = 0;
            if (!left || s->dst < 0)
                break;
            ssize_t n = read(s->src, s->buf.data, left < BUF_SIZE ? left : BUF_SIZE);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            s->buf.len = (size_t)n;
            left -= (size_t)n;
        }
        if (s->src >= 0)
            close(s->src);
    }
    free(r);
}

int nr_relay_plan(const bool take[3], bool pty, bool input, int child[3], NrRelay **ret,
                  NrError *err)
{
    int ends[3] = { -1, -1, -1 };
    for (int fd = 0; fd < 3; fd++)
        child[fd] = -1;
    for (int fd = 0; fd < 3; fd++) {
        int p[2];
        if (!take[fd])
            continue;
        if (pty || (fd == 0 && !input)) {
            if ((child[fd] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
                nr_error_errno(err, "cannot open /dev/null");
                goto fail;
            }
        } else if (pipe2(p, O_CLOEXEC) < 0) {
            nr_error_errno(err, "pipe");
            goto fail;
        } else {
            child[fd] = fd == 0 ? p[0] : p[1];
            ends[fd] = fd == 0 ? p[1] : p[0];
        }
    }
    *ret = ends[0] >= 0 || ends[1] >= 0 || ends[2] >= 0 ? nr_relay_new(ends[0], ends[1], ends[2])
                                                        : NULL;
    return 0;
fail:
    for (int fd = 0; fd < 3; fd++) {
        if (child[fd] >= 0)
            close(child[fd]);
        if (ends[fd] >= 0)
            close(ends[fd]);
        child[fd] = -1;
    }
    return -1;
}
