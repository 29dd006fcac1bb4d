/* SPDX-License-Identifier: Apache-2.0 */
/* image.c — the image commands: import, images, rmi, prune.  The store
 * itself (layout, atomic changes, locking) is store.c's. */
#include <errno.h>
#include <stdlib.h>
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
#include "nr-rostore.h"
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

/* how the image is kept: a squashfs file (the tag of such images in a store,
 * a loose file of a read-only store) or a tree */
static const char *storage_of(const NrStoreImage *m)
{
    bool sqsh =
        strcmp(m->tag, "squashfs") == 0 || (m->format && strcmp(m->format, "squashfs") == 0);
    return sqsh ? "squashfs" : "tree";
}

static void print_json_image(const NrStoreImage *m, const char *store, size_t i)
{
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
    printf(", \"storage\": \"%s\"", storage_of(m));
    printf(", \"ref\": ");
    nr_json_string(m->ref);
    printf(", \"manifest\": ");
    nr_json_string(m->manifest);
    if (store) { /* a read-only store's image (the user's own have no such key) */
        printf(", \"store\": ");
        nr_json_string(store);
    }
    printf("}");
}

/* the images of one store: the user's own (store NULL) or a read-only one */
typedef struct Group {
    const char *store;
    NrStoreImage *imgs;
    size_t n;
} Group;

static void print_json(const Group *groups, size_t n_groups)
{
    printf("[");
    size_t k = 0;
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n; i++, k++)
            print_json_image(&groups[g].imgs[i], groups[g].store, k);
    printf("%s]\n", k ? "\n" : "");
}

static void print_ids(const Group *groups, size_t n_groups, int idlen)
{
    NrStrv seen = { 0 };
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n; i++) {
            const char *id = groups[g].imgs[i].id;
            bool dup = !id[0]; /* a loose image of a read-only store has none */
            for (size_t j = 0; j < seen.n && !dup; j++)
                dup = strcmp(seen.v[j], id) == 0;
            if (!dup) {
                nr_strv_push(&seen, id);
                printf("%.*s\n", idlen, id);
            }
        }
    nr_strv_clear(&seen);
}

/* the table; a STORE column when a read-only store has images */
static void print_table(const Group *groups, size_t n_groups, const NrImageArgs *a)
{
    int idlen = a->no_trunc ? 64 : 12, w = 6, aw = 7;
    bool ro = false, sqsh = false; /* a STORAGE column when some image is a squashfs file */
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n; i++) {
            const NrStoreImage *m = &groups[g].imgs[i];
            ro |= groups[g].store != NULL;
            sqsh |= strcmp(storage_of(m), "squashfs") == 0;
            for (size_t j = 0; j < m->names.n; j++)
                if ((int)strlen(m->names.v[j]) > w)
                    w = (int)strlen(m->names.v[j]);
            char age[48];
            human_age(m->created, age, sizeof age);
            if ((int)strlen(age) > aw)
                aw = (int)strlen(age);
        }
    printf("%-*s  ", w, "NAME");
    if (a->digests)
        printf("%-71s  ", "DIGEST");
    printf("%-*s  %-8s  ", idlen, "ID", "SIZE");
    if (sqsh)
        printf("%-8s  ", "STORAGE");
    if (ro)
        printf("%-*s  STORE\n", aw, "CREATED");
    else
        printf("CREATED\n");
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n; i++) {
            const NrStoreImage *m = &groups[g].imgs[i];
            char size[16], age[48];
            human_size(m->size, size, sizeof size);
            if (!m->size && groups[g].store) /* a loose tree: not walked */
                snprintf(size, sizeof size, "-");
            human_age(m->created, age, sizeof age);
            size_t rows = m->names.n ? m->names.n : 1;
            for (size_t j = 0; j < rows; j++) {
                printf("%-*s  ", w, m->names.n ? m->names.v[j] : "<none>");
                if (a->digests)
                    printf("%-71s  ", m->manifest ? m->manifest : "<none>");
                printf("%-*.*s  %-8s  ", idlen, idlen, m->id[0] ? m->id : "-", size);
                if (sqsh)
                    printf("%-8s  ", storage_of(m));
                if (!ro) {
                    printf("%s\n", age);
                    continue;
                }
                printf("%-*s  ", aw, age);
                if (groups[g].store)
                    nr_escape_put(stdout, groups[g].store);
                else
                    printf("-");
                putchar('\n');
            }
        }
}

int nr_cmd_images(int argc, char **argv)
{
    NrImageArgs a = { 0 };
    NrError err = { 0 };
    int rc = parse("images", argc, argv, 0, 0, NULL, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    nr_autofree char *store = nr_store_dir(&err);
    const NrStrv *ro = nr_rostore_dirs();
    Group *groups = calloc(1 + ro->n, sizeof *groups);
    size_t n_groups = 1;
    if (!groups || !store || nr_store_list(store, &groups[0].imgs, &groups[0].n, &err) < 0) {
        free(groups);
        return fail(&err);
    }
    /* then each read-only store's, in their order; one that cannot be
     * read was warned about and has none */
    for (size_t i = 0; i < ro->n; i++) {
        Group *g = &groups[n_groups];
        NrError e = { 0 };
        if (nr_rostore_list(i, &g->imgs, &g->n, &e) < 0)
            nr_warn("%s", e.msg);
        else if (g->n) {
            g->store = ro->v[i];
            n_groups++;
        }
    }
    if (a.quiet)
        print_ids(groups, n_groups, a.no_trunc ? 64 : 12);
    else if (a.json)
        print_json(groups, n_groups);
    else
        print_table(groups, n_groups, &a);
    for (size_t g = 0; g < n_groups; g++)
        nr_store_list_free(groups[g].imgs, groups[g].n);
    free(groups);
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
        const char *ro = kind == 0 ? nr_rostore_holder(spec, map.tag) : NULL;
        if (ro) /* published there: the publisher's to remove */
            nr_error_msg(&e,
                         "image '%s' is in the read-only store %s: nroot never removes "
                         "anything there",
                         spec, ro);
        else if (kind == 0 || (kind > 0 && !img)) {
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
    /* the links a killed nroot left beside those of a removed image
     * (.tmpPID-NAME of a replace_link) would now point at nothing */
    if (access(store, F_OK) == 0)
        nr_store_remove_dangling(store, lock >= 0);
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
    if (nr_rostore_dirs()->n)
        nr_notice("the read-only stores are left as they are: prune removes only from %s", store);
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
