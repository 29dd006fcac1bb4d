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

#include "nr-pty.h"
#include "nr-util.h"

#define BUF_SIZE (64 * 1024)

typedef struct Buf {
    char   data[BUF_SIZE];
    size_t len;
} Buf;

struct NrPty {
    int  master;
    bool in_open;        /* host stdin still read (-i, no EOF yet) */
    bool in_eof_sent;
    bool out_open;       /* the master still gives output */
    bool last_was_nl;    /* of what went in: where an EOF character is a whole EOF */
    Buf  in, out;        /* host stdin -> master; master -> host stdout */
    int  slot_in, slot_master, slot_out;
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
    p->in_eof_sent = !interactive;   /* without -i: no input and no end of it, as in podman */
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
                p->out_open = false;   /* EIO: every slave fd is closed */
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
        p->out.len = 0;   /* nobody reads our output any more: drop it */
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
    for (int tries = 0; p->out_open || p->out.len; tries++) {
        struct pollfd pfd = { .fd = p->master, .events = POLLIN };
        if (p->out_open && p->out.len < BUF_SIZE && poll(&pfd, 1, 1000) <= 0)
            p->out_open = false;
        pull_master(p);
        size_t before = p->out.len;
        push_out(p);
        if (p->out.len && p->out.len == before && tries > 100)
            break;
    }
    restore();
    close(p->master);
    free(p);
}
