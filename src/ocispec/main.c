/* SPDX-License-Identifier: Apache-2.0 */
/* main.c — nroot-ocispec: `nroot-unpack --oci-spec` alone (unpack/ocispec.c,
 * the same code), linked with json-glib and libseccomp only.  nroot-unpack
 * links 30 libraries (libarchive, libcrypto, gio...) and its dynamic
 * linking took 5 of the 6 ms the launcher waits on the spec; this one
 * starts in half that, which `nroot oci run` and `create` pay each time. */
#include <stdio.h>
#include <string.h>

#include "nr-error.h"
#include "../unpack/ocispec.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--oci-spec") == 0)
        return nr_unpack_ocispec_main(argc, argv);
    fputs("nroot-ocispec: internal helper of nroot; not to be run by hand\n", stderr);
    return NR_EXIT_FAILURE;
}
