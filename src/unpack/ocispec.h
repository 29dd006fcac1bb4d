/* SPDX-License-Identifier: Apache-2.0 */
/* ocispec.h — nroot-unpack --oci-spec (ocispec.c; the launcher's side is
 * include/nr-oci.h). */
#pragma once

/* nroot-unpack --oci-spec --caps=HEX BUNDLE: the records of the bundle's
 * config.json to fd 3, its seccomp program to fd 5, the result or failure
 * over the sync socket on fd 4 */
int nr_unpack_ocispec_main(int argc, char **argv);
