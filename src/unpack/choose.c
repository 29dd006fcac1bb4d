/* SPDX-License-Identifier: Apache-2.0 */
/* choose.c — choosing one image of several: a docker-archive's images or an
 * OCI index's manifests, by --image-ref (docker's short names understood),
 * else the only one, else the one of this machine's platform. */
#include <string.h>

#include "choose.h"
#include "config.h"

void nr_candidate_free(gpointer p)
{
    NrCandidate *c = p;
    g_ptr_array_unref(c->names);
    g_free(c->platform);
    g_free(c);
}

/* busybox, busybox:latest, docker.io/library/busybox:latest are one name */
static char *norm_ref(const char *r)
{
    static const char *const prefixes[] = { "docker.io/library/", "index.docker.io/library/",
                                            "docker.io/", "localhost/" };
    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++)
        if (g_str_has_prefix(r, prefixes[i])) {
            r += strlen(prefixes[i]);
            break;
        }
    const char *slash = strrchr(r, '/');
    if (!strchr(slash ? slash : r, ':') && !strchr(r, '@'))
        return g_strdup_printf("%s:latest", r);
    return g_strdup(r);
}

static bool ref_matches(const char *cand, const char *want)
{
    if (strcmp(cand, want) == 0)
        return true;
    g_autofree char *a = norm_ref(cand), *b = norm_ref(want);
    return strcmp(a, b) == 0;
}

static char *list_names(GPtrArray *cands)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < cands->len; i++) {
        NrCandidate *c = cands->pdata[i];
        if (s->len)
            g_string_append(s, ", ");
        if (c->names->len == 0)
            g_string_append_printf(s, "<unnamed #%u%s%s>", i + 1, c->platform ? " " : "",
                                   c->platform ? c->platform : "");
        for (guint j = 0; j < c->names->len; j++)
            g_string_append_printf(s, "%s%s", j ? " " : "", (char *)c->names->pdata[j]);
    }
    return g_string_free(s, FALSE);
}

NrCandidate *nr_choose_image(GPtrArray *cands, const char *ref, const char *what, NrError *err)
{
    if (cands->len == 0) {
        nr_error_msg(err, "%s: the archive lists no image", what);
        return NULL;
    }
    if (ref) {
        for (guint i = 0; i < cands->len; i++) {
            NrCandidate *c = cands->pdata[i];
            for (guint j = 0; j < c->names->len; j++)
                if (ref_matches(c->names->pdata[j], ref))
                    return c;
        }
        g_autofree char *l = list_names(cands);
        nr_error_msg(err, "%s: no image '%s' in it; it holds: %s", what, ref, l);
        return NULL;
    }
    if (cands->len == 1)
        return cands->pdata[0];
    /* a multi-platform index: this machine's platform */
    NrCandidate *match = NULL;
    int n = 0;
    g_autofree char *mine = g_strdup_printf("linux/%s", nr_config_host_arch());
    for (guint i = 0; i < cands->len; i++) {
        NrCandidate *c = cands->pdata[i];
        if (c->platform && strcmp(c->platform, mine) == 0)
            match = c, n++;
    }
    if (n == 1)
        return match;
    g_autofree char *l = list_names(cands);
    nr_error_msg(err, "%s holds %u images: %s", what, cands->len, l);
    nr_error_hint(err, "choose one with --image-ref NAME[:TAG]");
    return NULL;
}
