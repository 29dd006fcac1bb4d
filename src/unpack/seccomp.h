/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp.h — nroot-unpack --seccomp-compile (seccomp.c; the launcher's
 * side is include/nr-seccomp.h). */
#pragma once
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "nr-error.h"

/* nroot-unpack --seccomp-compile --caps=HEX PROFILE: the JSON profile's
 * BPF program to fd 3, the result or failure over the sync socket on fd 4 */
int nr_unpack_seccomp_main(int argc, char **argv);

/* compile `profile` (docker's form; the runtime-spec's linux.seccomp is a
 * subset of it: ocispec.c) for the capability set `caps` (NR_CAP bits):
 * the program to out_fd, the SECCOMP_FILTER_FLAG_* to load it with to
 * *ret_flags, and in *ret_note (g_free, NULL if none) the syscall names
 * libseccomp does not know, which are ignored.  Messages start with `what`
 * ("seccomp profile 'PATH'"). listenerPath is the caller's to judge. */
int nr_unpack_seccomp_compile(JsonNode *profile, const char *what, uint64_t caps, int out_fd,
                              uint32_t *ret_flags, char **ret_note, NrError *err);
/* "CAP_SYS_ADMIN" -> its bit (NR_CAP); 0 for a name libcap does not know */
uint64_t nr_unpack_cap_bit(const char *name);
