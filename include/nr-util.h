/* SPDX-License-Identifier: Apache-2.0 */
/* nr-util.h — small filesystem and string helpers shared by every module. */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "nr-error.h"

static inline void nr_closep(int *fd)
{
    if (*fd >= 0) {
        int e = errno;
        close(*fd);
        errno = e;
    }
}
static inline void nr_freep(void *p)
{
    free(*(void **)p);
}
/* hand an fd out of a scope-bound variable */
static inline int nr_steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

#define nr_autoclose __attribute__((cleanup(nr_closep)))
#define nr_autofree __attribute__((cleanup(nr_freep)))

/* growable NULL-terminated string vector */
typedef struct NrStrv {
    char **v;
    size_t n, cap;
} NrStrv;
void nr_strv_push(NrStrv *s, const char *str); /* copies str */
void nr_strv_take(NrStrv *s, char *str);       /* takes ownership */
void nr_strv_clear(NrStrv *s);

void *nr_xmalloc(size_t n);
char *nr_xstrdup(const char *s);
char *nr_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t nr_fnv1a(const void *data, size_t len, uint64_t h);
#define NR_FNV_INIT 0xcbf29ce484222325ULL

int nr_write_all(int fd, const void *buf, size_t len);
int nr_write_file_at(int dirfd, const char *path, const char *data, mode_t mode, NrError *err);
/* the largest file nr_read_file reads: the store's and the runtime
 * directory's small files, /etc files; anything bigger is damage or an attack */
#define NR_READ_MAX (16u << 20)
/* a regular file, whole, NUL-terminated; at most NR_READ_MAX bytes */
char *nr_read_file(const char *path, size_t *ret_len, NrError *err);
/* the same from an open fd (path for messages), at most max bytes */
char *nr_read_fd(int fd, const char *path, size_t max, size_t *ret_len, NrError *err);
int nr_mkdir_p(const char *path, mode_t mode, NrError *err);
bool nr_parse_u32(const char *s, uint32_t *ret);
/* the values run takes for -u USER[:GROUP] and --hostname (and a
 * container's config keeps) */
bool nr_user_spec_valid(const char *spec);
bool nr_hostname_valid(const char *name);
/* the first line of a (sysctl) file without its newline; "" if unreadable */
void nr_read_line(const char *path, char *buf, size_t size);
/* write value to /proc/self/NAME, dumpable for the moment it takes (the
 * caller is not: the file is the host root's then); 0 or -1 with errno */
int nr_proc_self_write(const char *name, const char *value);
/* close every fd from `first` up except the n in keep (ascending; -1 entries ignored) */
void nr_close_range_except(unsigned first, const int *keep, int n);
/* close every fd from 3 up except `keep` (-1: none) */
void nr_close_fds_except(int keep);
/* every signal to its default action, none blocked: what a program
 * nroot executes expects */
void nr_signals_default(void);
/* the same for the signals in `only` (bit N-1 for signal N; NULL: every
 * one), glibc's own two (32, 33) included; the mask empties */
void nr_signals_default_only(const uint64_t *only);
/* the signals to set to SIG_DFL before an exec: those the process
 * ignores, in the same bits, and glibc's own two always (ignored, or
 * glibc's handler); false when another one has a handler */
bool nr_signals_ignored(uint64_t *ret);
/* fds 0, 1 and 2 that are closed are opened on /dev/null (so that no pipe
 * or socket made later lands on them) */
void nr_stdio_fill(void);
/* join a new anonymous session keyring: none of the caller's keys is
 * reachable through it (keyrings(7)) */
int nr_keyring_new_session(NrError *err);
/* key=value files: fn(key, value) for each line, values unescaped */
int nr_kv_read(const char *path, void (*fn)(void *, const char *, char *), void *data,
               NrError *err);
void nr_kv_put(FILE *f, const char *key, const char *value);
/* a helper program: $ENVVAR, else next to nroot (the build tree), else
 * ../libexec/nroot beside it (a relocated install), else the compiled-in
 * LIBEXECDIR */
char *nr_helper_path(const char *name, const char *envvar);
void nr_human_duration(int64_t seconds, char *buf, size_t size);
void nr_json_string(const char *s);
/* text from images, containers or files, fit for a terminal: control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 as \xNN, newline
 * and tab as \n and \t; valid UTF-8 unchanged */
void nr_escape_put(FILE *f, const char *s);
char *nr_escape(const char *s); /* the same, malloc()ed */

/* the capability `cap` (< 32; -1: none) alone, in every set and the
 * bounding set, no ambient ones, no_new_privs: what a helper that serves
 * others keeps;
 * -1 (errno) when the caller may not drop them */
int nr_caps_keep_only(int cap);
/* one line "TIME WHO[PID]: MESSAGE" on stderr, in one write (the logs of
 * the network holder and the user-namespace keeper) */
void nr_log_linev(const char *who, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
