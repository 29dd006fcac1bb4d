/* SPDX-License-Identifier: Apache-2.0 */
/* main.c — nroot-unpack: import an image into the store.
 *
 * Run by nroot inside the user namespace of the image's id mapping, as root
 * there, with the image (a file or a directory) on one fd, the sync socket
 * on another and the import's bookkeeping directory on a third.  It pivots
 * into the (empty) target rootfs first, so no entry — `../`, absolute names,
 * symlink or hardlink tricks — can reach outside it; on top of that `..`
 * components and writes through a symlink of the same layer are refused,
 * naming the entry (layer.c).  It is a separate binary because
 * libarchive, its codecs and json-glib cost ~5 ms to load, which the
 * launcher must not pay on every start.
 *
 * Result (NR_SYNC_RESULT):
 *   "id=<sha256 hex> chain=<sha256 hex> format=F devices=N owners=N warnings=N bytes=N"
 * (chain: the OCI chain id of the layers as measured, the rootfs tarball's
 * own digest for a tarball)
 * and the file `config` in the bookkeeping directory (config.c).
 *
 * --manifest=sha256:HEX imports the image of that manifest from an OCI
 * layout directory (the blob cache `nroot pull` fills) without reading its
 * index.json.  With --follow its layers may still be downloading: a blob
 * not yet whole is read as it arrives (follow.c; the inotify fd on the
 * cache is made here, before the pivot hides the cache's path).
 *
 * This file is the helper's main: its arguments, entering the root, and the
 * dispatch to the import (image.c), `--export` (export.c),
 * `--seccomp-compile` (seccomp.c) and `--oci-spec` (ocispec.c: an OCI
 * bundle's config.json as records); nothing calls back into it. */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nr-spawn.h"
#include "export.h"
#include "follow.h"
#include "image.h"
#include "ocispec.h"
#include "seccomp.h"
#include "stream.h"

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer needs /proc, which the pivot hides: leaks are checked in
 * the launcher's own sanitizer runs, not in this short-lived helper */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}
#endif

/* Make `root` the only tree this process can reach: a mount namespace of
 * its own, pivot_root into the target and the old root detached (a chroot
 * alone can be left again with CAP_SYS_CHROOT), then only the capabilities
 * that extraction needs, and no_new_privs. */
static int enter_root(const char *root, NrError *err)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return nr_error_errno(err, "cannot create a mount namespace for unpacking");
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(root) < 0)
        return nr_error_errno(err, "cannot enter '%s'", root);
    if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        return nr_error_errno(err, "cannot pivot into '%s'", root);
    static const cap_value_t keep[] = { CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
                                        CAP_FOWNER, CAP_FSETID,       CAP_SETFCAP,
                                        CAP_MKNOD };
    for (int c = 0; c <= CAP_LAST_CAP; c++) {
        bool kept = false;
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
            kept |= keep[i] == c;
        if (!kept && cap_drop_bound(c) < 0 && errno != EINVAL)
            return nr_error_errno(err, "cannot drop capability %d", c);
    }
    cap_t caps = cap_init();
    if (!caps)
        return nr_error_errno(err, "cap_init");
    cap_set_flag(caps, CAP_PERMITTED, (int)(sizeof keep / sizeof keep[0]), keep, CAP_SET);
    cap_set_flag(caps, CAP_EFFECTIVE, (int)(sizeof keep / sizeof keep[0]), keep, CAP_SET);
    int rc = cap_set_proc(caps);
    cap_free(caps);
    if (rc < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return nr_error_errno(err, "cannot drop privileges for unpacking");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--seccomp-compile") == 0)
        return nr_unpack_seccomp_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "--oci-spec") == 0)
        return nr_unpack_ocispec_main(argc, argv);
    if (argc == 3 && strcmp(argv[1], "--export") == 0) {
        NrError err = { 0 };
        if (nr_export_tree(argv[2], &err) < 0) {
            nr_error_print(&err);
            return NR_EXIT_FAILURE;
        }
        return 0;
    }
    int image_fd = -1, sync_fd = -1, meta_fd = -1;
    const char *root = NULL, *name = NULL, *ref = NULL, *manifest = NULL;
    bool owners = false, progress = false, follow = false;
    for (int i = 1; i < argc; i++) {
        if (sscanf(argv[i], "--image-fd=%d", &image_fd) == 1 ||
            sscanf(argv[i], "--sync-fd=%d", &sync_fd) == 1 ||
            sscanf(argv[i], "--meta-fd=%d", &meta_fd) == 1)
            continue;
        if (strncmp(argv[i], "--image-ref=", 12) == 0)
            ref = argv[i] + 12;
        else if (strncmp(argv[i], "--manifest=", 11) == 0)
            manifest = argv[i] + 11;
        else if (strcmp(argv[i], "--owners") == 0)
            owners = true;
        else if (strcmp(argv[i], "--progress") == 0)
            progress = true;
        else if (strcmp(argv[i], "--follow") == 0)
            follow = true;
        else if (!root)
            root = argv[i];
        else if (!name)
            name = argv[i];
    }
    if (image_fd < 0 || sync_fd < 0 || meta_fd < 0 || !root || !name) {
        fprintf(stderr, "nroot-unpack: internal helper of nroot; not to be run by hand\n");
        return NR_EXIT_FAILURE;
    }
    NrError err = { 0 };
    const char *base = strrchr(name, '/');
    g_autofree char *label = g_strdup_printf("unpacking %s", base && base[1] ? base + 1 : name);
    NrProgress bar;
    nr_progress_init(&bar, label, progress && isatty(STDERR_FILENO));
    NrUnpackJob job = { .image_fd = image_fd,
                        .meta_fd = meta_fd,
                        .name = name,
                        .ref = ref && *ref ? ref : NULL,
                        .manifest = manifest && *manifest ? manifest : NULL,
                        .follow = follow && manifest && *manifest,
                        .notify = follow ? nr_follow_notify(image_fd) : -1,
                        .progress = &bar,
                        .layers = { .owners = owners } };
    umask(0);
    if (enter_root(root, &err) < 0 || nr_unpack_image(&job, &err) < 0) {
        if (bar.enabled && bar.last_ns)
            fputs("\r\033[K", stderr);
        nr_sync_send(sync_fd, NR_SYNC_ERROR, &err);
        return NR_EXIT_FAILURE;
    }
    nr_progress_finish(&bar);
    char result[512];
    snprintf(result, sizeof result,
             "id=%s chain=%s format=%s devices=%ld owners=%ld warnings=%ld "
             "bytes=%llu",
             job.id, job.chain, job.format, job.layers.counts.devices, job.layers.counts.owners,
             job.layers.counts.warnings, (unsigned long long)job.layers.counts.bytes);
    return nr_sync_send_result(sync_fd, result) < 0 ? NR_EXIT_FAILURE : 0;
}
