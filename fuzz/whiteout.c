/* SPDX-License-Identifier: Apache-2.0 */
/* whiteout.c — layers applied over a lower tree: whiteouts (.wh.NAME,
 * .wh..wh..opq, 0/0 character devices), entries replacing lower objects,
 * paths through lower symlinks.  The input is one to four layer tars (any
 * compression), separated by the line "--nroot-layer--"; the first is
 * applied as layer 1 over the tree that base() makes (layer 0), the next
 * as layer 2 over both, and so on.  The sandbox's tmpfs root is the image,
 * emptied after every input.  A file, link or node named .wh.*
 * left in the tree is a finding: whiteouts are applied, never written. */
#include <archive.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "unpack/layer.h"
#include "tarfix.h"

const bool nr_fuzz_sandboxed = true;

#define SEP "\n--nroot-layer--\n"

void nr_fuzz_init(void) {}

static void file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, text, strlen(text));
        (void)w;
        close(fd);
    }
}

/* what a small distribution looks like, usrmerge links included */
static void base(void)
{
    static const char *const dirs[] = { "/usr",          "/usr/bin",     "/usr/lib", "/etc",
                                        "/etc/opq",      "/etc/opq/sub", "/var",     "/var/lib",
                                        "/var/lib/dpkg", "/home",        "/home/u",  "/a",
                                        "/a/b",          "/a/b/c",       "/tmp" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        mkdir(dirs[i], 0755);
    if (symlink("usr/bin", "/bin") < 0 || symlink("usr/lib", "/lib") < 0 ||
        symlink("/etc", "/home/u/etc") < 0 || symlink("../a/b", "/var/ab") < 0 ||
        symlink("missing", "/dangling") < 0)
        return;
    static const char *const files[] = {
        "/usr/bin/sh", "/usr/bin/ls",      "/usr/lib/libc.so", "/etc/passwd",
        "/etc/opq/x",  "/etc/opq/.hidden", "/etc/opq/sub/y",   "/var/lib/dpkg/status",
        "/a/b/c/d",    "/a/b/e",           "/home/u/.profile", "/f"
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        file(files[i], files[i]);
    if (link("/usr/bin/sh", "/usr/bin/ash") < 0)
        return;
}

static uint8_t copy[1 << 20];

void nr_fuzz_one(const uint8_t *data, size_t len)
{
    if (len > sizeof copy)
        return;
    memcpy(copy, data, len);
    data = copy;
    const uint8_t *parts[4];
    size_t lens[4];
    int n = nr_fuzz_split(data, len, SEP, parts, lens, 4);
    base();
    for (int i = 0; i < n; i++) {
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        int rc = -1;
        tarfix(copy + (parts[i] - copy), lens[i]);
        if (archive_read_open_memory(a, parts[i], lens[i]) == ARCHIVE_OK) {
            NrLayers l = { .owners = true, .index = i + 1 };
            NrError err = { 0 };
            if (chdir("/") == 0)
                rc = nr_layer_apply(&l, a, NULL, 0, "fuzz", &err);
        }
        archive_read_free(a);
        if (rc < 0)
            break; /* the import stops at a bad layer */
    }
    if (nr_fuzz_wipe_root() > 0)
        abort(); /* a whiteout was written into the tree */
}
