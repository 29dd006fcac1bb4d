/* SPDX-License-Identifier: Apache-2.0 */
/* pullbar.h — the per-layer progress of a pull on a terminal (pullbar.c),
 * fed by fetch.c from nroot-pull's status lines; private to src/state. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NR_PULLBAR_MAX 512 /* layers shown; more are not counted */

typedef struct NrPullbarLayer {
    char digest[80];
    unsigned long long done, total;
    bool present, whole; /* already in the cache; verified in the cache */
    double rate;         /* bytes a second, smoothed; 0 until two samples */
    int64_t sample_ns;   /* the last progress line, and its bytes */
    unsigned long long sample;
} NrPullbarLayer;

typedef struct NrPullbar {
    int fd;       /* the terminal (stderr), or -1: nothing is drawn */
    size_t lines; /* lines of the last frame on screen, the cursor below them */
    int64_t last_ns;
    bool dirty; /* changed since the last frame */
    size_t n;
    NrPullbarLayer layers[NR_PULLBAR_MAX];
} NrPullbar;

/* draws only if enabled, stderr is a terminal and -q was not given */
void nr_pullbar_init(NrPullbar *b, bool enabled);
/* a layer of the image, in order, with its size */
void nr_pullbar_layer(NrPullbar *b, const char *digest, unsigned long long total);
/* its bytes so far */
void nr_pullbar_progress(NrPullbar *b, const char *digest, unsigned long long done);
/* it was whole in the cache already */
void nr_pullbar_present(NrPullbar *b, const char *digest);
/* it is whole and verified */
void nr_pullbar_done(NrPullbar *b, const char *digest);
/* a line of other text (a warning), printed above the layers */
void nr_pullbar_print(NrPullbar *b, const char *line);
/* the last frame; nothing is drawn after it, the cursor on a clean line */
void nr_pullbar_end(NrPullbar *b);
/* one frame's lines (no cursor movement) for a terminal cols wide and rows
 * high into buf (NUL-terminated); the number of lines */
size_t nr_pullbar_render(const NrPullbar *b, int cols, int rows, char *buf, size_t size);
