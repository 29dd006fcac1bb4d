/* SPDX-License-Identifier: Apache-2.0 */
/* timens.c — the container's time namespace (nr-timens.h): --time-offset
 * and an OCI bundle's linux.timeOffsets parsed, checked and written, one
 * implementation for both. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "nr-timens.h"
#include "nr-util.h"

#define NSEC_PER_SEC 1000000000U

const char *const nr_clock_names[NR_CLOCK_COUNT] = { "monotonic", "boottime" };
static const clockid_t clock_ids[NR_CLOCK_COUNT] = { CLOCK_MONOTONIC, CLOCK_BOOTTIME };

bool nr_timens_any(const NrTimeOffsets *o)
{
    for (int c = 0; c < NR_CLOCK_COUNT; c++)
        if (o->set[c])
            return true;
    return false;
}

/* SECONDS: [-]DIGITS[.DIGITS], at most 9 digits after the point and
 * NR_TIMENS_MAX_SECS either way; the kernel's form: floor and a fraction */
static bool parse_seconds(const char *s, size_t len, int64_t *ret_secs, uint32_t *ret_nsecs)
{
    bool neg = len && s[0] == '-';
    size_t i = neg ? 1 : 0, start = i;
    int64_t whole = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        whole = whole * 10 + (s[i] - '0');
        if (whole > NR_TIMENS_MAX_SECS)
            return false;
    }
    if (i == start)
        return false;
    uint32_t frac = 0;
    if (i < len && s[i] == '.') {
        size_t digits = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (digits == 9)
                return false;
            frac = frac * 10 + (uint32_t)(s[i] - '0');
        }
        if (digits == 0)
            return false;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    if (i != len || (whole == NR_TIMENS_MAX_SECS && frac))
        return false;
    if (neg && frac) {
        *ret_secs = -whole - 1;
        *ret_nsecs = NSEC_PER_SEC - frac;
    } else {
        *ret_secs = neg ? -whole : whole;
        *ret_nsecs = frac;
    }
    return true;
}

int nr_timens_parse(const char *value, NrTimeOffsets *o, NrError *err)
{
    NrTimeOffsets n = *o;
    const char *p = value;
    do {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return nr_error_msg(
                err,
                "invalid --time-offset '%s': expected CLOCK=SECONDS[,CLOCK=SECONDS] "
                "(CLOCK boottime or monotonic)",
                value);
        size_t klen = (size_t)(eq - p);
        int c = NR_CLOCK_COUNT;
        for (int i = 0; i < NR_CLOCK_COUNT; i++)
            if (klen == strlen(nr_clock_names[i]) && strncmp(p, nr_clock_names[i], klen) == 0)
                c = i;
        if (c == NR_CLOCK_COUNT)
            return nr_error_msg(err,
                                "invalid --time-offset '%s': unknown clock '%.*s' (boottime, "
                                "monotonic)",
                                value, (int)klen, p);
        const char *num = eq + 1;
        size_t nlen = len - klen - 1;
        if (!parse_seconds(num, nlen, &n.secs[c], &n.nsecs[c]))
            return nr_error_msg(err,
                                "invalid --time-offset '%s': '%.*s' is not a number of seconds "
                                "like 3600, -60 or 1.5 (at most %lld either way)",
                                value, (int)nlen, num, (long long)NR_TIMENS_MAX_SECS);
        n.set[c] = true;
        p += len;
    } while (*p++ == ',');
    *o = n;
    return 0;
}

/* secs + nsecs / 1e9 as a decimal number, no trailing zeros */
static void format_seconds(int64_t secs, uint32_t nsecs, char *buf, size_t size)
{
    const char *sign = "";
    if (secs < 0) {
        sign = "-";
        if (nsecs) {
            secs = -secs - 1;
            nsecs = NSEC_PER_SEC - nsecs;
        } else
            secs = -secs;
    }
    if (!nsecs) {
        snprintf(buf, size, "%s%lld", sign, (long long)secs);
        return;
    }
    char frac[16];
    snprintf(frac, sizeof frac, "%09u", nsecs);
    for (size_t n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    snprintf(buf, size, "%s%lld.%s", sign, (long long)secs, frac);
}

void nr_timens_format(const NrTimeOffsets *o, char *buf, size_t size)
{
    size_t len = 0;
    if (size)
        buf[0] = '\0';
    for (int c = 0; c < NR_CLOCK_COUNT; c++) {
        if (!o->set[c] || len >= size)
            continue;
        char num[64];
        format_seconds(o->secs[c], o->nsecs[c], num, sizeof num);
        int w = snprintf(buf + len, size - len, "%s%s=%s", len ? "," : "", nr_clock_names[c], num);
        len += w > 0 ? (size_t)w : 0;
    }
}

bool nr_timens_supported(void)
{
    return access("/proc/self/ns/time", F_OK) == 0;
}

int nr_timens_check(const NrTimeOffsets *o, const char *what, NrError *err)
{
    if (!nr_timens_any(o))
        return 0;
    if (!nr_timens_supported())
        return nr_error_msg(err,
                            "%s: this kernel has no time namespaces (Linux 5.6 or later with "
                            "CONFIG_TIME_NS)",
                            what);
    /* the kernel refuses a clock of the namespace that would read below 0
     * or beyond its limit; clocks only go forward, so what passes now
     * passes in the child */
    for (int c = 0; c < NR_CLOCK_COUNT; c++) {
        struct timespec now;
        if (!o->set[c])
            continue;
        if (o->secs[c] > NR_TIMENS_MAX_SECS || o->secs[c] < -NR_TIMENS_MAX_SECS - 1)
            return nr_error_msg(err,
                                "%s: the %s offset is out of range (at most %lld s either way)",
                                what, nr_clock_names[c], (long long)NR_TIMENS_MAX_SECS);
        if (clock_gettime(clock_ids[c], &now) < 0)
            continue;
        int64_t s = (int64_t)now.tv_sec + o->secs[c] +
                    ((uint64_t)now.tv_nsec + o->nsecs[c] >= NSEC_PER_SEC ? 1 : 0);
        char num[64];
        format_seconds(o->secs[c], o->nsecs[c], num, sizeof num);
        if (s < 0)
            return nr_error_msg(err,
                                "%s: %s=%s would set the container's %s clock below 0 (it reads "
                                "%lld s)",
                                what, nr_clock_names[c], num, nr_clock_names[c],
                                (long long)now.tv_sec);
        if (s > NR_TIMENS_MAX_SECS)
            return nr_error_msg(err,
                                "%s: %s=%s would set the container's %s clock beyond %lld s, the "
                                "kernel's limit",
                                what, nr_clock_names[c], num, nr_clock_names[c],
                                (long long)NR_TIMENS_MAX_SECS);
    }
    return 0;
}

int nr_timens_apply(const NrTimeOffsets *o, const char *what, NrError *err)
{
    if (!nr_timens_any(o))
        return 0;
    char buf[256] = "";
    size_t len = 0;
    for (int c = 0; c < NR_CLOCK_COUNT; c++)
        if (o->set[c])
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %lld %u\n", nr_clock_names[c],
                                    (long long)o->secs[c], o->nsecs[c]);
    if (nr_proc_self_write("timens_offsets", buf) < 0)
        return nr_error_errno(err, "%s: cannot set the clocks of the time namespace", what);
    return 0;
}
