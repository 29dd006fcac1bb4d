/* SPDX-License-Identifier: Apache-2.0 */
/* layer.c — a rootfs tarball (any compression libarchive reads) applied to
 * an empty tree: nr_layer_apply() with index 0, owners kept, as nroot-unpack
 * does for a rootfs tarball or the first layer of an image.  The tree is the
 * sandbox's tmpfs root, emptied after every input.  A file, link or node named .wh.*
 * left in the tree is a finding: whiteouts are applied, never written. */
#include <archive.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "unpack/layer.h"
#include "tarfix.h"

const bool nr_fuzz_sandboxed = true;

void nr_fuzz_init(void) {}

static uint8_t copy[1 << 20];

void nr_fuzz_one(const uint8_t *data, size_t len)
{
    if (len > sizeof copy)
        return;
    memcpy(copy, data, len);
    tarfix(copy, len);
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (archive_read_open_memory(a, copy, len) == ARCHIVE_OK) {
        NrLayers l = { .owners = true, .index = 0 };
        NrError err = { 0 };
        if (chdir("/") == 0)
            nr_layer_apply(&l, a, NULL, 0, "fuzz", &err);
    }
    archive_read_free(a);
    if (nr_fuzz_wipe_root() > 0)
        abort(); /* a whiteout was written into the tree */
}
