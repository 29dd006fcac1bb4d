/* SPDX-License-Identifier: Apache-2.0 */
/* conf.c — nroot.conf: key = value settings of the administrator and the user
 * (nr-conf.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nr-conf.h"
#include "nr-error.h"
#include "nr-util.h"

#ifndef NR_SYSCONFDIR
#define NR_SYSCONFDIR "/etc"
#endif

typedef struct Entry {
    char *key, *value;
    const char *file; /* where it was set (a string of files[]) */
} Entry;

static const char *system_file = NR_SYSCONFDIR "/nroot/nroot.conf";
static Entry *entries;
static size_t n_entries;
static char sources[2 * 4200];
static int loaded;
static char *files[2]; /* the paths read, for nr_conf_value's `from` */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void set(const char *key, const char *value, const char *file)
{
    for (size_t i = 0; i < n_entries; i++)
        if (strcmp(entries[i].key, key) == 0) {
            free(entries[i].value);
            entries[i].value = nr_xstrdup(value);
            entries[i].file = file;
            return;
        }
    Entry *e = realloc(entries, (n_entries + 1) * sizeof *e);
    if (!e)
        return;
    entries = e;
    entries[n_entries].key = nr_xstrdup(key);
    entries[n_entries].value = nr_xstrdup(value);
    entries[n_entries].file = file;
    n_entries++;
}

static void load(const char *path, int which)
{
    size_t used = strlen(sources);
    free(files[which]);
    files[which] = nr_xstrdup(path);
    FILE *f = fopen(path, "re");
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        /* a directory opens, and reads as nothing: say so */
        fclose(f);
        f = NULL;
        errno = EISDIR;
    }
    if (!f) {
        snprintf(sources + used, sizeof sources - used, "%s (%s)\n", path,
                 errno == ENOENT ? "missing" : strerror(errno));
        return;
    }
    snprintf(sources + used, sizeof sources - used, "%s\n", path);
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            nr_notice("%s:%u: not a 'key = value' line, ignored", path, lineno);
            continue;
        }
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        if (*k)
            set(k, v, files[which]);
    }
    free(line);
    fclose(f);
}

static void load_all(void)
{
    if (loaded)
        return;
    loaded = 1;
    load(system_file, 0);
    const char *own = getenv("NROOT_CONFIG");
    if (own && *own) {
        load(own, 1);
        return;
    }
    char path[4096];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg == '/')
        snprintf(path, sizeof path, "%s/nroot/nroot.conf", xdg);
    else if (home && *home == '/')
        snprintf(path, sizeof path, "%s/.config/nroot/nroot.conf", home);
    else
        return;
    load(path, 1);
}

const char *nr_conf_get(const char *key)
{
    load_all();
    for (size_t i = 0; i < n_entries; i++)
        if (strcmp(entries[i].key, key) == 0)
            return entries[i].value;
    return NULL;
}

const char *nr_conf_value(const char *key, const char *envvar, const char **ret_from)
{
    /* "$VAR" for `from`: one string per variable asked about, kept */
    static struct {
        const char *var;
        char *from;
    } named[16];
    const char *v = envvar ? getenv(envvar) : NULL;
    const char *from = "default";
    if (v) {
        size_t i = 0;
        while (i < 16 && named[i].var && strcmp(named[i].var, envvar) != 0)
            i++;
        if (i < 16 && !named[i].var) {
            named[i].var = envvar;
            named[i].from = nr_strdup_printf("$%s", envvar);
        }
        from = i < 16 ? named[i].from : "the environment";
    } else {
        load_all();
        for (size_t i = 0; i < n_entries; i++)
            if (strcmp(entries[i].key, key) == 0) {
                v = entries[i].value;
                from = entries[i].file;
                break;
            }
    }
    if (ret_from)
        *ret_from = from;
    return v && *v ? v : NULL;
}

const char *nr_conf_sources(void)
{
    load_all();
    return sources;
}

void nr_conf_reset(void)
{
    for (size_t i = 0; i < n_entries; i++) {
        free(entries[i].key);
        free(entries[i].value);
    }
    free(entries);
    entries = NULL;
    n_entries = 0;
    sources[0] = '\0';
    loaded = 0;
}

void nr_conf_set_system_file(const char *path)
{
    system_file = path ? path : NR_SYSCONFDIR "/nroot/nroot.conf";
    nr_conf_reset();
}

#define LINGER_MAX 86400

int nr_conf_linger(const char *key, const char *envvar, int def, int *ret_secs,
                   const char **ret_from, NrError *err)
{
    const char *from = NULL;
    const char *v = nr_conf_value(key, envvar, &from);
    if (ret_from)
        *ret_from = from;
    *ret_secs = def;
    if (!v)
        return 0;
    if (strcmp(v, "off") == 0) {
        *ret_secs = -1;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 0 || n > LINGER_MAX)
        return nr_error_msg(err, "%s: %s '%s' is neither a number of seconds (0 to %d) nor 'off'",
                            from && *from ? from : "nroot.conf", key, v, LINGER_MAX);
    *ret_secs = (int)n;
    return 0;
}
