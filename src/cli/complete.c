/* SPDX-License-Identifier: Apache-2.0 */
/* complete.c — `nroot __complete WORD...`: the candidates for the last
 * WORD of a command line (the words after `nroot`; the last one is the word
 * being completed, possibly empty).  The bash, zsh and fish completions in
 * completions/ are thin wrappers around it, so they follow the option
 * tables of cli.c and cannot drift from them.
 *
 * One candidate per line.  The line ":files" asks the shell to complete
 * file names as well. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nr-cli.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-network.h"
#include "nr-store.h"
#include "nr-util.h"

static void put(const char *prefix, const char *cand, const char *cur)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", prefix, cand);
    if (strncmp(full, cur, strlen(cur)) == 0)
        printf("%s\n", full);
}

static const NrOption *find_long(const NrCommand *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n_opts; i++)
        if (strlen(c->opts[i].name) == len && strncmp(c->opts[i].name, name, len) == 0)
            return &c->opts[i];
    return NULL;
}

static const NrOption *find_short(const NrCommand *c, char ch)
{
    for (size_t i = 0; i < c->n_opts; i++)
        if (c->opts[i].id == ch)
            return &c->opts[i];
    return NULL;
}

/* the option a word names, if it is one that takes a separate value */
static const NrOption *option_needing_value(const NrCommand *c, const char *w)
{
    const NrOption *o = NULL;
    if (strncmp(w, "--", 2) == 0 && w[2] && !strchr(w, '='))
        o = find_long(c, w + 2, strlen(w + 2));
    else if (w[0] == '-' && w[1] && w[1] != '-' && !w[2])
        o = find_short(c, w[1]);
    return o && o->arg && !NR_OPT_OPTIONAL(o) ? o : NULL;
}

/* --net=container:NAME: the running containers, by name (else id) */
static void net_containers(const char *prefix, const char *cur, bool bare)
{
    NrError err = { 0 };
    NrCtr *v = NULL;
    size_t n = 0;
    if (nr_ctr_list(&v, &n, &err) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        char cand[160];
        snprintf(cand, sizeof cand, "%s%s",
                 bare ? "" : "container:", v[i].name[0] ? v[i].name : v[i].id);
        if (v[i].running)
            put(prefix, cand, cur);
    }
    nr_ctr_list_free(v, n);
}

static void networks(const char *prefix, const char *cur)
{
    NrError err = { 0 };
    NrNetwork *v = NULL;
    size_t n = 0;
    if (nr_network_list(&v, &n, &err) == 0) /* its warnings: the shells drop stderr */
        for (size_t i = 0; i < n; i++)
            put(prefix, v[i].name, cur);
    free(v);
}

/* the values of an option: its fixed choices (run's --net: container:NAME
 * and the user networks), or files */
static void values(const NrOption *o, const char *prefix, const char *cur)
{
    if (o->values) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", o->values);
        char *save = NULL;
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            put(prefix, t, cur);
        if (strcmp(o->name, "net") == 0 || strcmp(o->name, "network") == 0) {
            net_containers(prefix, cur, false);
            networks(prefix, cur);
        }
        return;
    }
    if (strstr(o->arg, "FILE") || strstr(o->arg, "DIR") || strstr(o->arg, "HOST"))
        printf(":files\n");
}

static void images(const char *cur)
{
    NrError err = { 0 };
    nr_autofree char *store = nr_store_dir(&err);
    NrStoreImage *imgs = NULL;
    size_t n = 0;
    if (!store || nr_store_list(store, &imgs, &n, &err) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < imgs[i].names.n; j++)
            put("", imgs[i].names.v[j], cur);
    nr_store_list_free(imgs, n);
}

static void containers(const char *cur)
{
    NrError err = { 0 };
    NrCtr *v = NULL;
    size_t n = 0;
    if (nr_ctr_list(&v, &n, &err) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        put("", v[i].name[0] ? v[i].name : v[i].id, cur);
    nr_ctr_list_free(v, n);
}

int nr_cli_complete(int argc, char **argv)
{
    /* argv[0] is "__complete" */
    int n = argc - 1;
    char **w = argv + 1;
    nr_quiet = true;
    if (n <= 0)
        return 0;
    const char *cur = w[n - 1];
    size_t nc;
    const NrCommand *cmds = nr_cli_commands(&nc);
    if (n == 1) {
        for (size_t i = 0; i < nc; i++)
            put("", cmds[i].name, cur);
        put("", "--help", cur);
        put("", "--version", cur);
        return 0;
    }
    const NrCommand *c = nr_cli_command(w[0]);
    if (!c)
        return 0;
    /* nroot network COMMAND: the words after COMMAND are its own */
    const NrCommand *sub =
        strcmp(c->name, "network") == 0 && n >= 3 ? nr_cli_network_command(w[1]) : NULL;
    if (sub) {
        c = sub;
        w++;
        n--;
    }
    bool stops = strcmp(c->name, "run") == 0 || strcmp(c->name, "exec") == 0;
    /* the words before the current one: options with their values, and
     * operands.  After the first operand of run and exec (IMAGE,
     * CONTAINER) options may follow while each word is one (they are
     * nroot's once a `--` ends them); `--` or any other word starts the
     * command, whose words are not nroot's.  A `--` before the operand
     * ends the options for good */
    int operands = 0;
    bool command = false, ended = false;
    const NrOption *pending = NULL; /* an option whose value is the current word */
    for (int i = 1; i < n - 1; i++) {
        if (command)
            continue;
        if (stops && (ended || strcmp(w[i], "--") == 0)) {
            if (operands > 0)
                command = true;
            else if (ended)
                operands++;
            ended = true;
            continue;
        }
        if (w[i][0] == '-' && w[i][1]) {
            const NrOption *v = option_needing_value(c, w[i]);
            if (v && i + 1 < n - 1)
                i++;
            else if (v)
                pending = v;
            continue;
        }
        if (stops && operands > 0)
            command = true;
        else
            operands++;
    }
    /* bash splits "--net=sl" into "--net", "=", "sl" */
    const char *prev = n >= 2 ? w[n - 2] : "";
    /* and "--net=container:we" (or "--net container:we") into ...,
     * "container", ":", "we": the names alone (told by the words: the
     * scan above took "container" for IMAGE and ":" for the command) */
    if (n >= 4 && strcmp(prev, ":") == 0 && strcmp(w[n - 3], "container") == 0) {
        const char *opt = strcmp(w[n - 4], "=") == 0 && n >= 5 ? w[n - 5] : w[n - 4];
        if (strcmp(opt, "--net") == 0 || strcmp(opt, "--network") == 0)
            net_containers("", strcmp(cur, ":") == 0 ? "" : cur, true);
        return 0;
    }
    if (!command && n >= 3 && strcmp(prev, "=") == 0) {
        const NrOption *o = strncmp(w[n - 3], "--", 2) == 0
                                ? find_long(c, w[n - 3] + 2, strlen(w[n - 3] + 2))
                                : NULL;
        if (o && o->arg)
            values(o, "", cur);
        return 0;
    }
    if (!command && cur[0] == '=' && n >= 2) {
        const NrOption *o =
            strncmp(prev, "--", 2) == 0 ? find_long(c, prev + 2, strlen(prev + 2)) : NULL;
        if (o && o->arg)
            values(o, "", cur + 1);
        return 0;
    }
    if (!command && pending) {
        values(pending, "", cur);
        return 0;
    }
    if (!command && !ended && cur[0] == '-') {
        const char *eq = strchr(cur, '=');
        if (strncmp(cur, "--", 2) == 0 && eq) {
            const NrOption *lo = find_long(c, cur + 2, (size_t)(eq - cur - 2));
            if (lo && lo->arg) {
                char prefix[128];
                snprintf(prefix, sizeof prefix, "%.*s", (int)(eq - cur + 1), cur);
                values(lo, prefix, cur);
            }
            return 0;
        }
        for (size_t i = 0; i < c->n_opts; i++) {
            char name[96];
            if (!c->opts[i].group)
                continue; /* aliases (--network) are not offered */
            snprintf(name, sizeof name, "--%s", c->opts[i].name);
            put("", name, cur);
        }
        return 0;
    }
    /* operands */
    const char *k = c->name;
    if (strcmp(k, "run") == 0) {
        if (operands == 0) {
            images(cur);
            printf(":files\n");
        } else
            printf(":files\n"); /* the command and its arguments */
    } else if (strcmp(k, "import") == 0) {
        printf(":files\n");
    } else if (strcmp(k, "rmi") == 0) {
        images(cur);
    } else if (strcmp(k, "exec") == 0) {
        if (operands == 0)
            containers(cur);
        else
            printf(":files\n");
    } else if (strcmp(k, "start") == 0 || strcmp(k, "stop") == 0 || strcmp(k, "wait") == 0 ||
               strcmp(k, "logs") == 0 || strcmp(k, "rm") == 0 || strcmp(k, "export") == 0) {
        containers(cur);
    } else if (strcmp(k, "network") == 0 && operands == 0) {
        size_t ns;
        const NrCommand *subs = nr_cli_network_commands(&ns);
        for (size_t i = 0; i < ns; i++)
            put("", subs[i].name + strlen("network "), cur);
    } else if (strcmp(k, "network inspect") == 0 || strcmp(k, "network rm") == 0) {
        networks("", cur);
    } else if (strcmp(k, "oci") == 0 && operands == 0) {
        static const char *const subs[] = { "create", "start", "state", "kill", "delete",  "list",
                                            "run",    "exec",  "ps",    "spec", "features" };
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
            put("", subs[i], cur);
    }
    return 0;
}
