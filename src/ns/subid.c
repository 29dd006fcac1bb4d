/* SPDX-License-Identifier: Apache-2.0 */
/* subid.c — where the caller's subordinate ranges come from.
 *
 * shadow's libsubid answers from an nsswitch module when /etc/nsswitch.conf
 * has a line `subid: NAME` (libsubid_NAME.so: SSSD, LDAP, ...), else from
 * /etc/subuid and /etc/subgid.  newuidmap asks the same library, so a range
 * it grants is one newuidmap accepts.  libsubid is dlopen()ed, never
 * linked: the launcher links only libcap and libseccomp, and loading it
 * (with libselinux, libsemanage, libaudit, libpam) costs ~0.75 ms of
 * start-up, against ~0.07 ms for reading the two files.  So it is loaded only
 * when nsswitch.conf names a module other than `files`; without such a line
 * (or when libsubid is missing or its query fails) nroot reads the files
 * itself (nr_userns_subid_range). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nr-userns.h"
#include "nr-util.h"

#define NSSWITCH "/etc/nsswitch.conf"
#define LIBSUBID "libsubid.so.4"

bool nr_userns_nss_subid(FILE *f, char *ret_module, size_t size)
{
    /* as libsubid reads it (shadow lib/nss.c): the first `subid:` line
     * (any case) with a word after it; only that word counts */
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n') && !feof(f)) {
            int ch;
            while ((ch = getc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        if (line[0] == '#' || strncasecmp(line, "subid:", 6) != 0)
            continue;
        char *p = line + 6 + strspn(line + 6, " \t\n");
        size_t len = strcspn(p, " \t\n");
        if (len == 0)
            continue;
        if (len >= size)
            return false;
        memcpy(ret_module, p, len);
        ret_module[len] = '\0';
        return true;
    }
    return false;
}

/* libsubid 4.x: struct subid_range (shadow/subid.h), not included so that
 * building nroot does not need libsubid-dev */
typedef struct LibRange {
    unsigned long start, count;
} LibRange;

static struct {
    void *handle;
    int (*get[2])(const char *owner, LibRange **ranges); /* uid, gid */
    void (*free)(void *ptr);                             /* subid_free, 4.15 on */
    char *log;                                           /* what it said (a memstream) */
    size_t log_len;
    FILE *logf;
} lib;

static bool load(char *why, size_t size)
{
    if (lib.handle)
        return true;
    /* RTLD_LAZY: of its ~150 imports, a query binds a handful */
    void *h = dlopen(LIBSUBID, RTLD_LAZY | RTLD_LOCAL);
    if (!h) {
        snprintf(why, size, "%s cannot be loaded: %s", LIBSUBID, dlerror());
        return false;
    }
    bool (*init)(const char *, FILE *) = (bool (*)(const char *, FILE *))dlsym(h, "subid_init");
    *(void **)&lib.get[0] = dlsym(h, "subid_get_uid_ranges");
    *(void **)&lib.get[1] = dlsym(h, "subid_get_gid_ranges");
    *(void **)&lib.free = dlsym(h, "subid_free");
    if (!init || !lib.get[0] || !lib.get[1]) {
        snprintf(why, size, "%s lacks subid_init or subid_get_*_ranges", LIBSUBID);
        /* it stays loaded: libsubid may have registered an atexit handler */
        return false;
    }
    /* its messages ("Error opening libsubid_x.so: ...") are kept, not
     * printed: a memstream has no file descriptor to leak */
    lib.logf = open_memstream(&lib.log, &lib.log_len);
    if (!lib.logf || !init("nroot", lib.logf)) {
        snprintf(why, size, "subid_init failed");
        return false;
    }
    lib.handle = h; /* never closed: libsubid closes its module at exit */
    return true;
}

/* the first line libsubid logged since `from` */
static void log_line(size_t from, char *buf, size_t size)
{
    fflush(lib.logf);
    const char *s = lib.log && lib.log_len > from ? lib.log + from : "";
    size_t len = strcspn(s, "\n");
    snprintf(buf, size, "%.*s", (int)(len < size ? len : size - 1), s);
}

/* the first usable range of `n` (count not 0, the whole of it in 32 bits) */
static bool pick(const LibRange *r, int n, uint32_t *ret_start, uint32_t *ret_count)
{
    for (int i = 0; i < n; i++) {
        if (r[i].count == 0 || r[i].start > UINT32_MAX || r[i].count > UINT32_MAX ||
            r[i].count - 1 > UINT32_MAX - r[i].start)
            continue;
        *ret_start = (uint32_t)r[i].start;
        *ret_count = (uint32_t)r[i].count;
        return true;
    }
    return false;
}

/* ask libsubid; false (why in s->why) if it could not answer */
static bool from_libsubid(const char *user, NrSubids *s)
{
    if (!load(s->why, sizeof s->why))
        return false;
    fflush(lib.logf);
    size_t mark = lib.log_len;
    bool *has[2] = { &s->has_uid, &s->has_gid };
    uint32_t *start[2] = { &s->uid_start, &s->gid_start };
    uint32_t *count[2] = { &s->uid_count, &s->gid_count };
    for (int i = 0; i < 2; i++) {
        LibRange *r = NULL;
        int n = lib.get[i](user, &r);
        if (n < 0) {
            char said[160];
            log_line(mark, said, sizeof said);
            snprintf(s->why, sizeof s->why, "libsubid failed to list the %s ranges of %s%s%s",
                     i ? "gid" : "uid", user, said[0] ? ": " : "", said);
            s->has_uid = s->has_gid = false;
            return false;
        }
        *has[i] = pick(r, n, start[i], count[i]);
        if (r)
            (lib.free ? lib.free : free)(r);
    }
    /* libsubid falls back to the files when its module cannot be loaded or
     * lacks a function: then the module is not among the loaded libraries */
    char name[128];
    snprintf(name, sizeof name, "libsubid_%s.so", s->module);
    void *m = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (m) {
        dlclose(m);
        s->source = NR_SUBID_NSS;
    } else {
        s->source = NR_SUBID_FILES;
        log_line(mark, s->why, sizeof s->why);
        if (!s->why[0])
            snprintf(s->why, sizeof s->why, "%s was not used", name);
    }
    return true;
}

void nr_userns_subids(const char *user, uid_t uid, NrSubids *ret)
{
    static NrSubids cache;
    static uid_t cached_uid;
    static bool cached;
    if (cached && cached_uid == uid) {
        *ret = cache;
        return;
    }
    NrSubids s = { .source = NR_SUBID_PARSER };
    FILE *f = fopen(NSSWITCH, "re");
    if (f) {
        if (!nr_userns_nss_subid(f, s.module, sizeof s.module))
            s.module[0] = '\0';
        fclose(f);
    }
    /* `subid: files` is what nroot reads itself, without the ~0.75 ms */
    bool nss = s.module[0] && strcmp(s.module, "files") != 0;
    if (nss && !user)
        snprintf(s.why, sizeof s.why, "libsubid asks by name, and uid %u has none", (unsigned)uid);
    if (!nss || !user || !from_libsubid(user, &s)) {
        s.source = NR_SUBID_PARSER;
        s.has_uid = nr_userns_subid_range("/etc/subuid", user, uid, &s.uid_start, &s.uid_count);
        s.has_gid = nr_userns_subid_range("/etc/subgid", user, uid, &s.gid_start, &s.gid_count);
    }
    cache = s;
    cached_uid = uid;
    cached = true;
    *ret = s;
}

const char *nr_userns_subid_from(const NrSubids *s, bool gid, char *buf, size_t size)
{
    if (s->source == NR_SUBID_NSS)
        snprintf(buf, size, "nss module %s", s->module);
    else
        snprintf(buf, size, "%s", gid ? "/etc/subgid" : "/etc/subuid");
    return buf;
}
