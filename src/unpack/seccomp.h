/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp.h — nroot-unpack --seccomp-compile (seccomp.c; the launcher's
 * side is include/nr-seccomp.h). */
#pragma once

/* nroot-unpack --seccomp-compile --caps=HEX PROFILE: the JSON profile's
 * BPF program to fd 3, the result or failure over the sync socket on fd 4 */
int nr_unpack_seccomp_main(int argc, char **argv);
