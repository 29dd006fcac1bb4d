/* SPDX-License-Identifier: Apache-2.0 */
/* nr-error.h — the one error rule of nroot.
 *
 * Every fallible function returns 0 on success and -1 on failure and takes
 * an `NrError *err` as its last argument, which it fills on failure.  Callers
 * add context on the way up with nr_error_prefix(); only main() (or the
 * parent, for errors that crossed the sync socket from a child) prints, once,
 * with nr_error_print().  `code` is the exit status the failure maps to
 * (125 for nroot's own failures, 126/127 for exec failures). */
#pragma once
#include <stdbool.h>

#define NR_EXIT_FAILURE 125  /* nroot itself failed */
#define NR_EXIT_CANNOT 126   /* command cannot be executed */
#define NR_EXIT_NOTFOUND 127 /* command not found */

typedef struct NrError {
    int code;   /* exit status this error maps to; 0 = no error */
    int errnum; /* errno at the failure, 0 if none */
    char msg[1024];
    char hint[512];
} NrError;

int nr_error_set(NrError *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* nr_error_errno: code 125 with the current errno */
int nr_error_errno(NrError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* nr_error_msg: code 125, no errno */
int nr_error_msg(NrError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nr_error_hint(NrError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nr_error_prefix(NrError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nr_error_print(const NrError *err);

extern bool nr_quiet;
void nr_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
