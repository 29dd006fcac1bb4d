/* SPDX-License-Identifier: Apache-2.0 */
/* pullbar.c — the per-layer progress of a pull, as podman and docker show
 * it: one line a layer, redrawn in place on a terminal,
 *
 *   3f4e5a6b7c8d  [=========>            ]  41%  1.2MB / 2.9MB  310.4kB/s
 *   9a8b7c6d5e4f  done  812.0kB
 *   0c1d2e3f4a5b  already present
 *   77aa88bb99cc  waiting  4.1MB
 *
 * A frame is one write: the cursor up over the last frame, each line
 * rewritten and the rest of it cleared, the cursor left at the start of
 * the line below.  At most 10 frames a second, each line cut to the
 * terminal's width, no more lines than its height (finished layers fold
 * into a count first).  Off a terminal, or with -q, nothing at all. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "nr-error.h"
#include "nr-util.h"
#include "pullbar.h"

#define MAX_COLS 255
#define MAX_LINES 64
#define FRAME_NS 100000000 /* 10 frames a second */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void nr_pullbar_init(NrPullbar *b, bool enabled)
{
    memset(b, 0, sizeof *b);
    b->fd = enabled && !nr_quiet && isatty(STDERR_FILENO) ? STDERR_FILENO : -1;
}

static NrPullbarLayer *layer_of(NrPullbar *b, const char *digest)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->layers[i].digest, digest) == 0)
            return &b->layers[i];
    return NULL;
}

/* 812B, 310.4kB, 2.9MB, 1.25GB (decimal units, as docker) */
static void human(char *out, size_t size, double v)
{
    if (v < 1e3)
        snprintf(out, size, "%.0fB", v);
    else if (v < 1e6)
        snprintf(out, size, "%.1fkB", v / 1e3);
    else if (v < 1e9)
        snprintf(out, size, "%.1fMB", v / 1e6);
    else
        snprintf(out, size, "%.2fGB", v / 1e9);
}

static bool finished(const NrPullbarLayer *l)
{
    return l->present || l->whole;
}

/* one layer's line, at most width characters */
static void layer_line(const NrPullbarLayer *l, int width, char *out, size_t size)
{
    const char *hex = strchr(l->digest, ':');
    hex = hex ? hex + 1 : l->digest;
    char total[16], done[16], rate[24] = "", tail[96], bar[48] = "";
    human(total, sizeof total, (double)l->total);
    if (l->present)
        snprintf(tail, sizeof tail, "already present");
    else if (l->whole)
        snprintf(tail, sizeof tail, "done  %s", total);
    else if (!l->done)
        snprintf(tail, sizeof tail, "waiting  %s", total);
    else {
        human(done, sizeof done, (double)l->done);
        if (l->rate > 0) {
            human(rate, sizeof rate - 2, l->rate);
            strcat(rate, "/s");
        }
        int pct = l->total ? (int)(100.0 * (double)l->done / (double)l->total) : 0;
        pct = pct > 100 ? 100 : pct;
        snprintf(tail, sizeof tail, "%3d%%  %s / %s  %s", pct, done, total, rate);
        /* the bar takes what is left of the line, from 6 to 40 wide */
        int room = width - 14 - 3 - (int)strlen(tail);
        room = room > 40 ? 40 : room;
        if (room >= 6) {
            int fill = pct * room / 100;
            bar[0] = '[';
            for (int i = 0; i < room; i++)
                bar[1 + i] = i < fill ? '=' : (i == fill ? '>' : ' ');
            bar[room + 1] = ']';
            bar[room + 2] = ' ';
            bar[room + 3] = '\0';
        }
    }
    snprintf(out, size, "%.12s  %s%s", hex, bar, tail);
    size_t len = strlen(out);
    while (len && out[len - 1] == ' ')
        out[--len] = '\0';
    if (width >= 0 && len > (size_t)width)
        out[width] = '\0';
}

size_t nr_pullbar_render(const NrPullbar *b, int cols, int rows, char *buf, size_t size)
{
    int width = cols - 1 < MAX_COLS ? cols - 1 : MAX_COLS;
    size_t max = rows - 1 < 2 ? 2 : (size_t)(rows - 1);
    max = max > MAX_LINES ? MAX_LINES : max;
    /* too many for the screen: finished layers fold into the count first,
     * then the last ones */
    size_t fold = b->n > max ? b->n - (max - 1) : 0, folded = 0, folded_done = 0, lines = 0;
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < b->n; i++) {
        const NrPullbarLayer *l = &b->layers[i];
        if (folded < fold && (finished(l) || b->n - i <= fold - folded)) {
            folded++;
            folded_done += finished(l);
            continue;
        }
        char line[MAX_COLS + 1];
        layer_line(l, width, line, sizeof line);
        int k = snprintf(buf + off, size - off, "%s\n", line);
        if (k < 0 || (size_t)k >= size - off)
            break;
        off += (size_t)k;
        lines++;
    }
    if (folded) {
        char line[MAX_COLS + 1];
        snprintf(line, sizeof line, "%zu more layers, %zu of them done", folded, folded_done);
        if (width >= 0 && strlen(line) > (size_t)width)
            line[width] = '\0';
        int k = snprintf(buf + off, size - off, "%s\n", line);
        if (k > 0 && (size_t)k < size - off)
            lines++;
    }
    return lines;
}

static void draw(NrPullbar *b, bool force)
{
    if (b->fd < 0 || !b->n || !b->dirty)
        return;
    int64_t now = now_ns();
    if (!force && b->lines && now - b->last_ns < FRAME_NS)
        return;
    b->last_ns = now;
    struct winsize ws = { 0 };
    ioctl(b->fd, TIOCGWINSZ, &ws);
    int cols = ws.ws_col ? ws.ws_col : 80, rows = ws.ws_row ? ws.ws_row : 24;
    char body[(MAX_LINES + 1) * (MAX_COLS + 2) + 1];
    size_t lines = nr_pullbar_render(b, cols, rows, body, sizeof body);
    /* the frame: up over the last one, each line rewritten and its rest
     * cleared, what is below a shorter frame cleared */
    char frame[sizeof body + (MAX_LINES + 1) * 4 + 32];
    size_t off = 0;
    if (b->lines)
        off += (size_t)snprintf(frame, sizeof frame, "\033[%zuA", b->lines);
    frame[off++] = '\r';
    for (const char *p = body; *p; p++) {
        if (*p == '\n') {
            memcpy(frame + off, "\033[K", 3);
            off += 3;
        }
        frame[off++] = *p;
    }
    if (lines < b->lines) {
        memcpy(frame + off, "\033[J", 3);
        off += 3;
    }
    fflush(stderr);
    nr_write_all(b->fd, frame, off);
    b->lines = lines;
    b->dirty = false;
}

void nr_pullbar_layer(NrPullbar *b, const char *digest, unsigned long long total)
{
    if (layer_of(b, digest) || b->n >= NR_PULLBAR_MAX)
        return;
    NrPullbarLayer *l = &b->layers[b->n++];
    snprintf(l->digest, sizeof l->digest, "%s", digest);
    l->total = total;
    b->dirty = true;
    draw(b, false);
}

void nr_pullbar_progress(NrPullbar *b, const char *digest, unsigned long long done)
{
    NrPullbarLayer *l = layer_of(b, digest);
    if (!l)
        return;
    int64_t now = now_ns();
    if (l->sample_ns && now > l->sample_ns && done >= l->sample) {
        double r = (double)(done - l->sample) * 1e9 / (double)(now - l->sample_ns);
        l->rate = l->rate > 0 ? 0.6 * l->rate + 0.4 * r : r;
    }
    l->sample_ns = now;
    l->sample = done;
    l->done = done;
    b->dirty = true;
    draw(b, false);
}

void nr_pullbar_present(NrPullbar *b, const char *digest)
{
    NrPullbarLayer *l = layer_of(b, digest);
    if (l)
        b->dirty = l->present = true;
    draw(b, false);
}

void nr_pullbar_done(NrPullbar *b, const char *digest)
{
    NrPullbarLayer *l = layer_of(b, digest);
    if (l) {
        b->dirty = l->whole = true;
        l->done = l->total;
    }
    draw(b, false);
}

void nr_pullbar_print(NrPullbar *b, const char *line)
{
    if (b->fd >= 0 && b->lines) {
        /* over the layers, which come again below it */
        char up[32];
        int k = snprintf(up, sizeof up, "\033[%zuA\r\033[J", b->lines);
        fflush(stderr);
        nr_write_all(b->fd, up, (size_t)k);
        b->lines = 0;
        b->dirty = true;
    }
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    draw(b, true);
}

void nr_pullbar_end(NrPullbar *b)
{
    draw(b, true);
    b->fd = -1;
    b->lines = 0;
}
