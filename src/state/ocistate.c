/* SPDX-License-Identifier: Apache-2.0 */
/* ocistate.c — the containers of `nroot oci` on disk (nr-ocistate.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr-fs.h"
#include "nr-ocistate.h"
#include "nr-runtime.h"
#include "nr-util.h"

char *nr_ocistate_default_root(NrError *err)
{
    return nr_runtime_subdir("oci", err);
}

bool nr_ocistate_valid_id(const char *id)
{
    if (!*id || strlen(id) > 200 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '+' || *p == '-' || *p == '.'))
            return false;
    return true;
}

int nr_ocistate_make(const char *root, const char *id, NrError *err)
{
    if (nr_mkdir_p(root, 0700, err) < 0)
        return -1;
    nr_autofree char *dir = nr_strdup_printf("%s/%s", root, id);
    if (mkdir(dir, 0711) < 0) {
        if (errno == EEXIST)
            return nr_error_msg(err, "container with id %s already exists", id);
        return nr_error_errno(err, "cannot create '%s'", dir);
    }
    return 0;
}

void nr_ocistate_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* write `path` through a temporary name, so readers see all or nothing */
static int write_atomic(const char *path, const char *text, size_t len, NrError *err)
{
    nr_autofree char *tmp = nr_strdup_printf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return nr_error_errno(err, "cannot write '%s'", tmp);
    if (nr_write_all(fd, text, len) < 0) {
        close(fd);
        unlink(tmp);
        return nr_error_errno(err, "cannot write '%s'", tmp);
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return nr_error_errno(err, "cannot write '%s'", path);
    }
    return 0;
}

int nr_ocistate_write(const char *root, const NrOciState *st, NrError *err)
{
    char *json = NULL, *kv = NULL;
    size_t jlen = 0, klen = 0;
    FILE *j = open_memstream(&json, &jlen), *k = open_memstream(&kv, &klen);
    if (!j || !k)
        abort();
    fprintf(j, "{\"ociVersion\":");
    nr_ocistate_json_string(j, st->oci_version);
    fprintf(j, ",\"id\":");
    nr_ocistate_json_string(j, st->id);
    fprintf(j, ",\"pid\":%d,\"status\":\"created\",\"bundle\":", (int)st->pid);
    nr_ocistate_json_string(j, st->bundle);
    fprintf(j, ",\"rootfs\":");
    nr_ocistate_json_string(j, st->rootfs);
    fprintf(j, ",\"created\":");
    nr_ocistate_json_string(j, st->created);
    fprintf(j, ",\"owner\":\"\",\"annotations\":{");
    for (char **a = st->annotations; a && *a; a++) {
        size_t n = strcspn(*a, "=");
        nr_autofree char *key = nr_strdup_printf("%.*s", (int)n, *a);
        fprintf(j, "%s", a == st->annotations ? "" : ",");
        nr_ocistate_json_string(j, key);
        fputc(':', j);
        nr_ocistate_json_string(j, (*a)[n] ? *a + n + 1 : "");
    }
    fprintf(j, "}}\n");
    char num[32];
    nr_kv_put(k, "id", st->id);
    snprintf(num, sizeof num, "%d", (int)st->pid);
    nr_kv_put(k, "pid", num);
    snprintf(num, sizeof num, "%" PRIu64, st->start_time);
    nr_kv_put(k, "start_time", num);
    nr_kv_put(k, "oci_version", st->oci_version ? st->oci_version : "");
    nr_kv_put(k, "bundle", st->bundle ? st->bundle : "");
    nr_kv_put(k, "rootfs", st->rootfs ? st->rootfs : "");
    nr_kv_put(k, "created", st->created ? st->created : "");
    for (char **a = st->annotations; a && *a; a++)
        nr_kv_put(k, "annotation", *a);
    snprintf(num, sizeof num, "%d", (int)st->keeper);
    nr_kv_put(k, "keeper", num);
    snprintf(num, sizeof num, "%" PRIu64, st->keeper_start);
    nr_kv_put(k, "keeper_start", num);
    for (int i = 0; i < NR_NS_SLOTS; i++)
        if (st->ns_fd[i] >= 0) {
            snprintf(num, sizeof num, "%d %d", i, st->ns_fd[i]);
            nr_kv_put(k, "ns_fd", num);
        }
    /* hook=STAGE TIMEOUT PATH, then its hookarg= and hookenv= */
    for (size_t i = 0; i < st->n_hooks; i++) {
        const NrHook *h = &st->hooks[i];
        nr_autofree char *v = nr_strdup_printf("%d %d %s", (int)h->stage, h->timeout, h->path);
        nr_kv_put(k, "hook", v);
        for (char **x = h->args; x && *x; x++)
            nr_kv_put(k, "hookarg", *x);
        for (char **x = h->env; x && *x; x++)
            nr_kv_put(k, "hookenv", *x);
    }
    fclose(j);
    fclose(k);
    nr_autofree char *jpath = nr_strdup_printf("%s/%s/state.json", root, st->id);
    nr_autofree char *kpath = nr_strdup_printf("%s/%s/state", root, st->id);
    int r =
        write_atomic(jpath, json, jlen, err) < 0 || write_atomic(kpath, kv, klen, err) < 0 ? -1 : 0;
    free(json);
    free(kv);
    return r;
}

static void free_list(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* a NULL-terminated list with one more */
static char **push(char **v, const char *s)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    v = realloc(v, (n + 2) * sizeof *v);
    if (!v)
        abort();
    v[n] = nr_xstrdup(s);
    v[n + 1] = NULL;
    return v;
}

static void read_one(void *data, const char *key, char *value)
{
    NrOciState *st = data;
    if (strcmp(key, "pid") == 0)
        st->pid = (pid_t)atoi(value);
    else if (strcmp(key, "start_time") == 0)
        st->start_time = strtoull(value, NULL, 10);
    else if (strcmp(key, "oci_version") == 0)
        st->oci_version = nr_xstrdup(value);
    else if (strcmp(key, "bundle") == 0)
        st->bundle = nr_xstrdup(value);
    else if (strcmp(key, "rootfs") == 0)
        st->rootfs = nr_xstrdup(value);
    else if (strcmp(key, "created") == 0)
        st->created = nr_xstrdup(value);
    else if (strcmp(key, "annotation") == 0)
        st->annotations = push(st->annotations, value);
    else if (strcmp(key, "keeper") == 0)
        st->keeper = (pid_t)atoi(value);
    else if (strcmp(key, "keeper_start") == 0)
        st->keeper_start = strtoull(value, NULL, 10);
    else if (strcmp(key, "ns_fd") == 0) {
        int slot, fd;
        if (sscanf(value, "%d %d", &slot, &fd) == 2 && slot >= 0 && slot < NR_NS_SLOTS)
            st->ns_fd[slot] = fd;
    } else if (strcmp(key, "hook") == 0) {
        int stage, timeout, at = 0;
        if (sscanf(value, "%d %d %n", &stage, &timeout, &at) < 2 || at == 0 || stage < 0 ||
            stage >= NR_HOOK_STAGES)
            return;
        NrHook *v = realloc(st->hooks, (st->n_hooks + 1) * sizeof *v);
        if (!v)
            abort();
        st->hooks = v;
        v[st->n_hooks++] = (NrHook){ .stage = (NrHookStage)stage,
                                     .path = nr_xstrdup(value + at),
                                     .timeout = timeout };
    } else if (strcmp(key, "hookarg") == 0 && st->n_hooks)
        st->hooks[st->n_hooks - 1].args = push(st->hooks[st->n_hooks - 1].args, value);
    else if (strcmp(key, "hookenv") == 0 && st->n_hooks)
        st->hooks[st->n_hooks - 1].env = push(st->hooks[st->n_hooks - 1].env, value);
}

int nr_ocistate_read(const char *root, const char *id, NrOciState *st, NrError *err)
{
    memset(st, 0, sizeof *st);
    for (int i = 0; i < NR_NS_SLOTS; i++)
        st->ns_fd[i] = -1;
    snprintf(st->id, sizeof st->id, "%s", id);
    nr_autofree char *dir = nr_strdup_printf("%s/%s", root, id);
    struct stat sb;
    if (!nr_ocistate_valid_id(id) || stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return nr_error_msg(err, "container %s does not exist", id);
    nr_autofree char *path = nr_strdup_printf("%s/state", dir);
    if (access(path, F_OK) < 0)
        return 0;
    return nr_kv_read(path, read_one, st, err);
}

void nr_ocistate_clear(NrOciState *st)
{
    free(st->bundle);
    free(st->rootfs);
    free(st->created);
    free(st->oci_version);
    free_list(st->annotations);
    for (size_t i = 0; i < st->n_hooks; i++) {
        free(st->hooks[i].path);
        free_list(st->hooks[i].args);
        free_list(st->hooks[i].env);
    }
    free(st->hooks);
    memset(st, 0, sizeof *st);
}

char *nr_ocistate_hook_state(const NrOciState *st, const char *status)
{
    return nr_hook_state(st->id, status, strcmp(status, "stopped") == 0 ? 0 : st->pid, st->bundle,
                         st->annotations);
}

uint64_t nr_ocistate_pid_start(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    NrError e = { 0 };
    size_t len = 0;
    nr_autofree char *text = nr_read_file(path, &len, &e);
    if (!text)
        return 0;
    /* after the command name's last ')': state is field 3, starttime 22 */
    char *p = strrchr(text, ')');
    if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
        return 0;
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

NrOciStatus nr_ocistate_status(const char *root, const NrOciState *st)
{
    if (st->pid <= 0)
        return NR_OCI_CREATING;
    uint64_t t = nr_ocistate_pid_start(st->pid);
    if (t == 0 || t != st->start_time)
        return NR_OCI_STOPPED;
    nr_autofree char *fifo = nr_strdup_printf("%s/%s/exec.fifo", root, st->id);
    return access(fifo, F_OK) == 0 ? NR_OCI_CREATED : NR_OCI_RUNNING;
}

const char *nr_ocistate_status_name(NrOciStatus s)
{
    static const char *const names[] = { "creating", "created", "running", "stopped" };
    return names[s];
}

int nr_ocistate_remove(const char *root, const char *id, NrError *err)
{
    nr_autofree char *dir = nr_strdup_printf("%s/%s", root, id);
    return nr_fs_rmtree(dir, err);
}
