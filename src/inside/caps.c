/* SPDX-License-Identifier: Apache-2.0 */
/* caps.c — the capability sets of the payload (libcap). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "nr-caps.h"
#include "nr-error.h"
#include "nr-util.h"

/* podman's default set (containers.conf) */
static const cap_value_t default_caps[] = {
    CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID, CAP_KILL,       CAP_NET_BIND_SERVICE,
    CAP_SETFCAP, CAP_SETGID,       CAP_SETPCAP, CAP_SETUID, CAP_SYS_CHROOT,
};

static int last_cap(void)
{
    int n = (int)cap_max_bits() - 1;
    return n > 63 ? 63 : n;
}

uint64_t nr_caps_default(void)
{
    uint64_t m = 0;
    for (size_t i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
        m |= 1ULL << default_caps[i];
    return m;
}

int nr_caps_parse(const char *name, uint64_t *ret_mask, NrError *err)
{
    if (strcasecmp(name, "all") == 0) {
        *ret_mask = last_cap() >= 63 ? ~0ULL : (1ULL << (last_cap() + 1)) - 1;
        return 0;
    }
    /* libcap reads a name up to a separator and ignores the rest:
     * "CHOWN,KILL" or "CHOWN=ep" would be CHOWN alone */
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return nr_error_msg(err, "unknown capability '%s'", name);
    char buf[64];
    snprintf(buf, sizeof buf, "%s%s", strncasecmp(name, "cap_", 4) == 0 ? "" : "cap_", name);
    for (char *p = buf; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    cap_value_t v;
    if (cap_from_name(buf, &v) < 0 || v < 0 || v > 63)
        return nr_error_msg(err, "unknown capability '%s'", name);
    *ret_mask = 1ULL << v;
    return 0;
}

int nr_caps_bound(uint64_t caps, NrError *err)
{
    int last = last_cap();
    for (int c = 0; c <= last; c++) {
        if (caps & (1ULL << c))
            continue;
        if (cap_drop_bound((cap_value_t)c) < 0 && CAP_IS_SUPPORTED(c))
            return nr_error_errno(err, "cannot drop capability %d from the bounding set", c);
    }
    return 0;
}

int nr_caps_set(uint64_t caps, NrError *err)
{
    int last = last_cap();
    cap_t cp = cap_init(); /* inheritable stays empty (CVE-2022-24769) */
    if (!cp)
        return nr_error_errno(err, "cap_init");
    {
        for (int c = 0; c <= last; c++) {
            if (!(caps & (1ULL << c)))
                continue;
            cap_value_t v = (cap_value_t)c;
            cap_set_flag(cp, CAP_PERMITTED, 1, &v, CAP_SET);
            cap_set_flag(cp, CAP_EFFECTIVE, 1, &v, CAP_SET);
        }
    }
    int rc = cap_set_proc(cp);
    cap_free(cp);
    if (rc < 0)
        return nr_error_errno(err, "cannot set capabilities");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    return 0;
}

char *nr_caps_name(int cap)
{
    char *n = cap_to_name((cap_value_t)cap);
    if (!n)
        return NULL;
    /* "cap_chown" -> "CHOWN"; an unknown one comes as a number */
    char *out = nr_xstrdup(strncmp(n, "cap_", 4) == 0 ? n + 4 : n);
    cap_free(n);
    for (char *p = out; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    return out;
}
