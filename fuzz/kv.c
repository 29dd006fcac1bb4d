/* SPDX-License-Identifier: Apache-2.0 */
/* kv.c — the key=value files nroot reads back from its store and runtime
 * directory: a container's config and state, the live state, an image's
 * info, sources and config.  The input is up to seven files separated by
 * the line "--nroot-file--", written into a store and a runtime directory
 * in the sandbox's tmpfs:
 *   0  STORE/containers/c1/config          nr_ctr_find("c1"), nr_ctr_list
 *   1  STORE/containers/c1/state
 *   2  RT/containers/0123456789ab/state     the live state of c1 if its id
 *   3  RT/containers/fedcba987654/config    an unnamed container
 *   4  STORE/images/IMG/info                nr_store_list, nr_store_link_dead
 *   5  STORE/images/IMG/sources
 *   6  STORE/images/IMG/config              nr_store_resolve_key (open_image)
 *   7  STORE/networks/web/config            nr_network_load("web"), nr_network_list
 *   8  RT/net/hosts-web/hosts               nr_network_members (the holder's hosts file)
 * A part that is absent removes its file.  nr_kv_read() itself reads the
 * whole input too.  The readers are called as nroot calls them: the
 * harness adds nothing to what they check. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "nr-ctr.h"
#include "nr-network.h"
#include "nr-store.h"

const bool nr_fuzz_sandboxed = true;

#define SEP "\n--nroot-file--\n"
#define ID "0000000000000000000000000000000000000000000000000000000000000001"
#define TAG "0123456789abcdef"
#define IMG "/store/images/" ID "-" TAG

static const char *const files[] = {
    "/store/containers/c1/config",
    "/store/containers/c1/state",
    "/run/nroot/containers/0123456789ab/state",
    "/run/nroot/containers/fedcba987654/config",
    IMG "/info",
    IMG "/sources",
    IMG "/config",
    "/store/networks/web/config",
    "/run/nroot/net/hosts-web/hosts",
};
#define N_FILES (int)(sizeof files / sizeof *files)

void nr_fuzz_init(void)
{
    static const char *const dirs[] = { "/store",
                                        "/store/containers",
                                        "/store/containers/c1",
                                        "/store/images",
                                        IMG,
                                        IMG "/rootfs",
                                        "/store/names",
                                        "/store/by-file",
                                        "/store/tmp",
                                        "/run",
                                        "/run/nroot",
                                        "/run/nroot/containers",
                                        "/run/nroot/containers/0123456789ab",
                                        "/run/nroot/containers/fedcba987654",
                                        "/store/networks",
                                        "/store/networks/web",
                                        "/run/nroot/net",
                                        "/run/nroot/net/hosts-web" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        if (mkdir(dirs[i], 0700) < 0)
            abort();
    if (symlink("../images/" ID "-" TAG, "/store/names/busybox:latest") < 0 ||
        symlink("../images/" ID "-" TAG, "/store/by-file/0123456789abcdef-" TAG) < 0)
        abort();
    setenv("NROOT_STORE", "/store", 1);
    setenv("XDG_RUNTIME_DIR", "/run", 1);
    nr_quiet = true;
}

static void noop(void *data, const char *k, char *v)
{
    size_t *n = data;
    *n += strlen(k) + strlen(v);
}

static void put_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len))
        abort();
    close(fd);
}

void nr_fuzz_one(const uint8_t *data, size_t len)
{
    const uint8_t *parts[N_FILES];
    size_t lens[N_FILES];
    int n = nr_fuzz_split(data, len, SEP, parts, lens, N_FILES);
    for (int i = 0; i < N_FILES; i++) {
        if (i < n)
            put_file(files[i], parts[i], lens[i]);
        else
            unlink(files[i]);
    }
    put_file("/whole", data, len);
    NrError err = { 0 };
    size_t count = 0;
    nr_kv_read("/whole", noop, &count, &err);

    NrCtr c;
    memset(&err, 0, sizeof err);
    if (nr_ctr_find("c1", &c, &err) == 0)
        nr_ctr_clear(&c);
    memset(&err, 0, sizeof err);
    if (nr_ctr_find("fedcba", &c, &err) == 0)
        nr_ctr_clear(&c);
    NrCtr *all;
    size_t n_all;
    memset(&err, 0, sizeof err);
    if (nr_ctr_list(&all, &n_all, &err) == 0)
        nr_ctr_list_free(all, n_all);

    NrStoreImage *imgs;
    size_t n_imgs;
    memset(&err, 0, sizeof err);
    if (nr_store_list("/store", &imgs, &n_imgs, &err) == 0)
        nr_store_list_free(imgs, n_imgs);
    nr_store_link_dead("/store", "0123456789abcdef-" TAG);

    NrNetwork net;
    memset(&err, 0, sizeof err);
    nr_network_load("web", &net, &err);
    NrNetwork *nets;
    size_t n_nets;
    memset(&err, 0, sizeof err);
    if (nr_network_list(&nets, &n_nets, &err) == 0)
        free(nets);
    NrNetworkMember *members;
    size_t n_members;
    memset(&err, 0, sizeof err);
    if (nr_network_members(&members, &n_members, &err) == 0)
        free(members);

    NrIdMap map = { .helpers = true, .tag = TAG, .rung = "fuzz" };
    NrImage img;
    memset(&err, 0, sizeof err);
    if (nr_store_resolve_key(ID, &map, &img, &err) == 0)
        nr_image_clear(&img);
    else
        nr_image_clear(&img);
}
