/* SPDX-License-Identifier: Apache-2.0 */
/* image.c — the image commands: import, images, rmi, prune.  The store
 * itself (layout, atomic changes, locking) is store.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-fs.h"
#include "nr-image.h"
#include "nr-store.h"
#include "nr-userns.h"
#include "nr-util.h"

static int fail(const NrError *err)
{
    nr_error_print(err);
    return err->code ? err->code : NR_EXIT_FAILURE;
}

/* parse a command's options and count its operands (`what` names the
 * missing one; max -1: no limit): 0 to go on, -1 after --help, else the
 * exit status, the error printed */
static int parse(const char *cmd, int argc, char **argv, int min, int max, const char *what,
                 NrImageArgs *a)
{
    NrError err = { 0 };
    int rc = nr_cli_parse_image(cmd, argc, argv, a, &err);
    if (rc == NR_CLI_HELP)
        return -1;
    if (rc < 0)
        return fail(&err);
    if (a->n_operands >= min && (max < 0 || a->n_operands <= max))
        return 0;
    if (a->n_operands < min)
        nr_error_msg(&err, "missing %s", what);
    else
        nr_error_msg(&err, "unexpected argument '%s'", a->operands[max]);
    nr_error_hint(&err, "usage: %s", nr_cli_command(cmd)->usage);
    return fail(&err);
}

/* the mapping image trees are removed with: subordinate ids when granted,
 * without the single-id notice (nothing runs) */
static int removal_map(NrIdMap *map, NrError *err)
{
    NrIdMap run;
    int rc = nr_userns_plan(NR_USERNS_AUTO, true, &run, err);
    if (rc == 0)
        nr_userns_unpack_map(&run, map);
    return rc;
}

/* point NAME at the image; a name taken from another image is said, as
 * `docker load` does, with the id it leaves */
static int set_name(const char *store, const char *name, const char *dirname, NrError *err)
{
    char old[128];
    if (nr_store_name_get(store, name, old, sizeof old) && strncmp(old, dirname, 64) != 0)
        nr_warn("the name '%s' was on image %.12s, now on %.12s", name, old, dirname);
    return nr_store_name_set(store, name, dirname, err);
}

int nr_cmd_import(int argc, char **argv)
{
    NrImageArgs a = { 0 };
    NrError err = { 0 };
    int rc = parse("import", argc, argv, 1, 1, "FILE or DIR to import", &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    NrIdMap map;
    if (nr_userns_plan(a.userns, false, &map, &err) < 0)
        return fail(&err);
    NrImportOpts io = { .ref = a.ref,
                        .progress = isatty(STDERR_FILENO) && !a.quiet,
                        .pull = (NrPullPolicy)a.pull,
                        .platform = a.platform,
                        .tls_no_verify = a.tls_no_verify,
                        .format = a.format };
    NrImage img;
    if (nr_store_import_path(a.operands[0], &map, &io, &img, &err) < 0)
        return fail(&err);
    nr_autofree char *store = nr_store_dir(&err);
    const char *dirname = strrchr(img.dir, '/') + 1;
    if (!store)
        rc = -1;
    else if (a.name)
        rc = set_name(store, a.name, dirname, &err);
    else
        for (size_t i = 0; i < img.tags.n && rc == 0; i++)
            if (nr_store_name_valid(img.tags.v[i]))
                rc = set_name(store, img.tags.v[i], dirname, &err);
    if (rc < 0) {
        nr_image_clear(&img);
        return fail(&err);
    }
    printf("%s\n", img.id);
    nr_image_clear(&img);
    return 0;
}

/* ---- images ---- */

static void human_size(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
    double v = (double)n;
    int u = 0;
    while (v >= 999.5 && u < 4) /* 999.7kB would print as 1e+03kB */
        v /= 1000, u++;
    snprintf(buf, size, u ? "%.3g%s" : "%.0f%s", v, units[u]);
}

static void human_age(int64_t created, char *buf, size_t size)
{
    char d[40];
    nr_human_duration((int64_t)time(NULL) - created, d, sizeof d);
    snprintf(buf, size, "%s ago", d);
}

static void print_json(const NrStoreImage *imgs, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        const NrStoreImage *m = &imgs[i];
        char when[32];
        time_t t = (time_t)m->created;
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        printf("%s\n  {\"id\": ", i ? "," : "");
        nr_json_string(m->id);
        printf(", \"names\": [");
        for (size_t j = 0; j < m->names.n; j++) {
            printf("%s", j ? ", " : "");
            nr_json_string(m->names.v[j]);
        }
        printf("], \"size\": %llu, \"created\": \"%s\", \"source\": ", (unsigned long long)m->size,
               when);
        nr_json_string(m->source);
        printf(", \"sources\": [");
        for (size_t j = 0; j < m->sources.n; j++) {
            printf("%s", j ? ", " : "");
            nr_json_string(m->sources.v[j]);
        }
        printf("], \"format\": ");
        nr_json_string(m->format);
        printf(", \"idmap\": ");
        nr_json_string(m->tag);
        printf(", \"storage\": \"%s\"", strcmp(m->tag, "squashfs") == 0 ? "squashfs" : "tree");
        printf(", \"ref\": ");
        nr_json_string(m->ref);
        printf(", \"manifest\": ");
        nr_json_string(m->manifest);
        printf("}");
    }
    printf("%s]\n", n ? "\n" : "");
}

int nr_cmd_images(int argc, char **argv)
{
    NrImageArgs a = { 0 };
    NrError err = { 0 };
    int rc = parse("images", argc, argv, 0, 0, NULL, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    nr_autofree char *store = nr_store_dir(&err);
    NrStoreImage *imgs = NULL;
    size_t n = 0;
    if (!store || nr_store_list(store, &imgs, &n, &err) < 0)
        return fail(&err);
    int idlen = a.no_trunc ? 64 : 12;
    if (a.quiet) {
        for (size_t i = 0; i < n; i++) {
            bool dup = false;
            for (size_t j = 0; j < i; j++)
                dup |= strcmp(imgs[j].id, imgs[i].id) == 0;
            if (!dup)
                printf("%.*s\n", idlen, imgs[i].id);
        }
    } else if (a.json) {
        print_json(imgs, n);
    } else {
        int w = 4;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < imgs[i].names.n; j++)
                if ((int)strlen(imgs[i].names.v[j]) > w)
                    w = (int)strlen(imgs[i].names.v[j]);
        if (w < 6)
            w = 6;
        /* a STORAGE column when some image is kept as a squashfs file */
        bool sqsh = false;
        for (size_t i = 0; i < n; i++)
            sqsh |= strcmp(imgs[i].tag, "squashfs") == 0;
        if (a.digests)
            printf("%-*s  %-71s  %-*s  %-8s  %s%s\n", w, "NAME", "DIGEST", idlen, "ID", "SIZE",
                   sqsh ? "STORAGE   " : "", "CREATED");
        else
            printf("%-*s  %-*s  %-8s  %s%s\n", w, "NAME", idlen, "ID", "SIZE",
                   sqsh ? "STORAGE   " : "", "CREATED");
        for (size_t i = 0; i < n; i++) {
            char size[16], age[48];
            human_size(imgs[i].size, size, sizeof size);
            human_age(imgs[i].created, age, sizeof age);
            size_t rows = imgs[i].names.n ? imgs[i].names.n : 1;
            const char *storage = !sqsh                                  ? ""
                                  : strcmp(imgs[i].tag, "squashfs") == 0 ? "squashfs  "
                                                                         : "tree      ";
            for (size_t j = 0; j < rows; j++)
                if (a.digests)
                    printf("%-*s  %-71s  %-*.*s  %-8s  %s%s\n", w,
                           imgs[i].names.n ? imgs[i].names.v[j] : "<none>",
                           imgs[i].manifest ? imgs[i].manifest : "<none>", idlen, idlen, imgs[i].id,
                           size, storage, age);
                else
                    printf("%-*s  %-*.*s  %-8s  %s%s\n", w,
                           imgs[i].names.n ? imgs[i].names.v[j] : "<none>", idlen, idlen,
                           imgs[i].id, size, storage, age);
        }
    }
    nr_store_list_free(imgs, n);
    return 0;
}

/* ---- rmi and prune ---- */

static NrStoreImage *find_image(NrStoreImage *imgs, size_t n, const char *dirname)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(imgs[i].dirname, dirname) == 0)
            return &imgs[i];
    return NULL;
}

/* the container made from image `id`, whose layer needs it, if any */
static const char *container_of(const NrCtr *ctrs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ctrs[i].in_store && ctrs[i].image_key && strcmp(ctrs[i].image_key, id) == 0)
            return ctrs[i].name;
    return NULL;
}

static int remove_image(const char *store, NrStoreImage *img, const NrIdMap *map, bool force,
                        const char *spec, const NrCtr *ctrs, size_t n_ctrs, NrError *err)
{
    if (!force && nr_store_image_busy(store, img->dirname)) {
        nr_error_msg(err, "image '%s' (%.12s) is in use by a running container", spec, img->id);
        nr_error_hint(err, "stop the container first, or use --force");
        return -1;
    }
    const char *user = container_of(ctrs, n_ctrs, img->id);
    if (!force && user) {
        nr_error_msg(err, "image '%s' (%.12s) is the image of container '%s'", spec, img->id, user);
        nr_error_hint(err, "remove the container first ('nroot rm %s'), or use --force", user);
        return -1;
    }
    if (nr_store_image_remove(store, img, map, err) < 0)
        return -1;
    for (size_t i = 0; i < img->names.n; i++)
        printf("Untagged: %s\n", img->names.v[i]);
    printf("Deleted: %s\n", img->id);
    img->dirname[0] = '\0'; /* gone */
    return 0;
}

int nr_cmd_rmi(int argc, char **argv)
{
    NrImageArgs a = { 0 };
    NrError err = { 0 };
    int rc = parse("rmi", argc, argv, 1, -1, "NAME or ID to remove", &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    NrIdMap map;
    nr_autofree char *store = nr_store_dir(&err);
    if (!store || removal_map(&map, &err) < 0)
        return fail(&err);
    int lock = -1;
    /* no store yet: nothing to remove, every operand is unknown */
    if (access(store, F_OK) == 0 && nr_store_lock(store, &lock, &err) < 0)
        return fail(&err);
    NrStoreImage *imgs = NULL;
    size_t n = 0;
    if (nr_store_list(store, &imgs, &n, &err) < 0) {
        if (lock >= 0)
            close(lock);
        return fail(&err);
    }
    NrCtr *ctrs = NULL;
    size_t n_ctrs = 0;
    nr_ctr_list(&ctrs, &n_ctrs, &err);
    int status = 0;
    for (int i = 0; i < a.n_operands; i++) {
        const char *spec = a.operands[i];
        char dirname[128], name[512];
        NrError e = { 0 };
        int kind =
            nr_store_lookup(store, spec, map.tag, dirname, sizeof dirname, name, sizeof name, &e);
        NrStoreImage *img = kind > 0 ? find_image(imgs, n, dirname) : NULL;
        if (kind == 0 || (kind > 0 && !img)) {
            nr_error_msg(&e, "no such image '%s'", spec);
            nr_error_hint(&e, "see 'nroot images'");
        }
        if (kind <= 0 || !img) {
            nr_error_print(&e);
            status = NR_EXIT_FAILURE;
            continue;
        }
        if (kind == 1 && img->names.n > 1) {
            /* other names keep the image */
            if (nr_store_name_remove(store, name, &e) < 0) {
                nr_error_print(&e);
                status = NR_EXIT_FAILURE;
                continue;
            }
            nr_store_ref_remove(store, img, name);
            printf("Untagged: %s\n", name);
            for (size_t j = 0; j < img->names.n; j++)
                if (strcmp(img->names.v[j], name) == 0) {
                    free(img->names.v[j]);
                    img->names.v[j] = img->names.v[--img->names.n];
                    img->names.v[img->names.n] = NULL;
                    break;
                }
            continue;
        }
        /* an id removes the image under every mapping it was unpacked with */
        for (size_t j = 0; j < n; j++) {
            if (!imgs[j].dirname[0] || strncmp(imgs[j].dirname, dirname, 64) != 0)
                continue;
            if (kind == 1 && strcmp(imgs[j].dirname, dirname) != 0)
                continue;
            if (remove_image(store, &imgs[j], &map, a.force, spec, ctrs, n_ctrs, &e) < 0) {
                nr_error_print(&e);
                status = NR_EXIT_FAILURE;
            }
        }
    }
    nr_store_list_free(imgs, n);
    nr_ctr_list_free(ctrs, n_ctrs);
    if (lock >= 0)
        close(lock);
    return status;
}

int nr_cmd_prune(int argc, char **argv)
{
    NrImageArgs a = { 0 };
    NrError err = { 0 };
    int rc = parse("prune", argc, argv, 0, 0, NULL, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    NrIdMap map;
    nr_autofree char *store = nr_store_dir(&err);
    if (!store || removal_map(&map, &err) < 0)
        return fail(&err);
    /* the leftovers of unnamed containers whose nroot was killed */
    NrCtr *ctrs = NULL;
    size_t n_ctrs = 0;
    nr_ctr_list(&ctrs, &n_ctrs, &err);
    for (size_t i = 0; i < n_ctrs; i++)
        if (!ctrs[i].in_store && !ctrs[i].running) {
            nr_ctr_remove_runtime(ctrs[i].rt_dir);
            printf("Deleted container: %s\n", ctrs[i].id);
        }
    /* and those of runs killed before they wrote a config */
    nr_ctr_prune_runtime(ctrs, n_ctrs);
    if (access(store, F_OK) < 0) {
        nr_ctr_list_free(ctrs, n_ctrs);
        printf("Total reclaimed space: 0B\n");
        return 0;
    }
    int lock = -1;
    if (nr_store_lock(store, &lock, &err) < 0) {
        nr_ctr_list_free(ctrs, n_ctrs);
        return fail(&err);
    }
    uint64_t reclaimed = 0;
    nr_autofree char *tmp = nr_strdup_printf("%s/tmp", store);
    uint64_t before = nr_fs_du(tmp);
    if (lock >= 0) /* without a lock an import may be running in tmp/ */
        nr_store_clean_tmp(store, &map);
    uint64_t after = nr_fs_du(tmp);
    reclaimed += before > after ? before - after : 0;
    NrStoreImage *imgs = NULL;
    size_t n = 0;
    int status = 0;
    if (nr_store_list(store, &imgs, &n, &err) < 0) {
        nr_ctr_list_free(ctrs, n_ctrs);
        if (lock >= 0)
            close(lock);
        return fail(&err);
    }
    nr_store_remove_dangling(store, lock >= 0);
    /* the images of named containers stay */
    for (size_t i = 0; i < n; i++) {
        NrStoreImage *m = &imgs[i];
        if (container_of(ctrs, n_ctrs, m->id))
            continue;
        size_t live = 0;
        for (size_t j = 0; j < m->links.n; j++) {
            if (nr_store_link_dead(store, m->links.v[j]))
                nr_store_link_remove(store, m->links.v[j]);
            else
                live++;
        }
        if (live || m->names.n || m->refs.n || nr_store_image_busy(store, m->dirname))
            continue;
        /* the size `images` shows (the image's files; nroot cannot walk
         * directories of subordinate ids to count their blocks) */
        uint64_t size = m->size;
        NrError e = { 0 };
        if (nr_store_image_remove(store, m, &map, &e) < 0) {
            nr_error_print(&e);
            status = NR_EXIT_FAILURE;
            continue;
        }
        reclaimed += size;
        printf("Deleted: %s\n", m->id);
    }
    nr_store_list_free(imgs, n);
    nr_ctr_list_free(ctrs, n_ctrs);
    /* the blobs of the cache no image left needs */
    NrError be = { 0 };
    if (lock >= 0 && nr_store_prune_blobs(store, &reclaimed, &be) < 0) {
        nr_error_print(&be);
        status = NR_EXIT_FAILURE;
    }
    if (lock >= 0)
        close(lock);
    char size[16];
    human_size(reclaimed, size, sizeof size);
    printf("Total reclaimed space: %s\n", size);
    return status;
}
