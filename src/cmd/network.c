/* SPDX-License-Identifier: Apache-2.0 */
/* network.c — `nroot network create|ls|inspect|rm|prune`: parse, call
 * state/network.c (the records), print. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-ctr.h"
#include "nr-error.h"
#include "nr-network.h"
#include "nr-util.h"

/* the running containers on the networks, for ls and inspect (NULL, 0
 * when they cannot be listed: a warning) */
typedef struct Members {
    NrNetworkMember *v;
    size_t n;
} Members;

static void members_load(Members *m)
{
    NrError e = { 0 };
    if (nr_network_members(&m->v, &m->n, &e) < 0)
        nr_warn("cannot tell which containers run: %s", e.msg);
}

static size_t members_count(const Members *m, const char *network)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        k += strcmp(m->v[i].network, network) == 0;
    return k;
}

static void print_addr(struct in_addr a)
{
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    printf("\"%s\"", buf);
}

static void print_json(const NrNetwork *v, size_t n, const Members *m)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        const NrNetwork *net = &v[i];
        char subnet[32], when[32];
        nr_network_subnet_text(net, subnet, sizeof subnet);
        time_t t = (time_t)net->created;
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        printf("%s\n  {\"name\": ", i ? "," : "");
        nr_json_string(net->name);
        printf(", \"subnet\": \"%s\", \"gateway\": ", subnet);
        /* an internal network has no way out, so no gateway */
        if (net->internal)
            printf("null");
        else
            print_addr(nr_network_host(net, NR_NETWORK_GATEWAY));
        printf(", \"dns\": ");
        print_addr(nr_network_host(net, NR_NETWORK_BRIDGE));
        printf(", \"internal\": %s, \"created\": \"%s\", \"containers\": [",
               net->internal ? "true" : "false", when);
        size_t k = 0;
        for (size_t j = 0; j < m->n; j++) {
            const NrNetworkMember *c = &m->v[j];
            if (strcmp(c->network, net->name) != 0)
                continue;
            printf("%s{\"name\": ", k++ ? ", " : "");
            if (c->name[0])
                nr_json_string(c->name);
            else
                printf("null");
            printf(", \"id\": \"%s\", \"address\": ", c->id);
            if (c->address[0])
                printf("\"%s\"}", c->address);
            else
                printf("null}");
        }
        printf("]}");
    }
    printf("%s]\n", n ? "\n" : "");
}

static void print_table(const NrNetwork *v, size_t n, const Members *m)
{
    int w = 4, sw = 6;
    for (size_t i = 0; i < n; i++) {
        char subnet[32];
        nr_network_subnet_text(&v[i], subnet, sizeof subnet);
        if ((int)strlen(v[i].name) > w)
            w = (int)strlen(v[i].name);
        if ((int)strlen(subnet) > sw)
            sw = (int)strlen(subnet);
    }
    printf("%-*s  %-*s  %-8s  CONTAINERS\n", w, "NAME", sw, "SUBNET", "INTERNAL");
    for (size_t i = 0; i < n; i++) {
        char subnet[32];
        nr_network_subnet_text(&v[i], subnet, sizeof subnet);
        printf("%-*s  %-*s  %-8s  %zu\n", w, v[i].name, sw, subnet, v[i].internal ? "yes" : "no",
               members_count(m, v[i].name));
    }
}

/* check the operand count (max < 0: any) */
static int operands(const NrCommand *c, const NrNetworkArgs *a, int min, int max, NrError *err)
{
    if (a->n_operands < min)
        nr_error_msg(err, "missing NAME");
    else if (max >= 0 && a->n_operands > max)
        nr_error_msg(err, "unexpected argument '%s'", a->operands[max]);
    else
        return 0;
    nr_error_hint(err, "usage: %s", c->usage);
    return -1;
}

static int create(const NrNetworkArgs *a)
{
    NrError err = { 0 };
    NrNetwork n;
    if (nr_network_create(a->operands[0], a->subnet, a->internal, &n, &err) < 0)
        return nr_cmd_fail(&err);
    printf("%s\n", n.name);
    return 0;
}

static int ls(const NrNetworkArgs *a)
{
    NrError err = { 0 };
    NrNetwork *v;
    size_t n;
    if (nr_network_list(&v, &n, &err) < 0)
        return nr_cmd_fail(&err);
    Members m = { 0 };
    if (a->quiet)
        for (size_t i = 0; i < n; i++)
            printf("%s\n", v[i].name);
    else {
        members_load(&m);
        if (a->json)
            print_json(v, n, &m);
        else
            print_table(v, n, &m);
    }
    free(m.v);
    free(v);
    return 0;
}

static int inspect(const NrNetworkArgs *a)
{
    int rc = 0;
    NrNetwork *v = nr_xmalloc((size_t)a->n_operands * sizeof *v);
    size_t n = 0;
    for (int i = 0; i < a->n_operands; i++) {
        NrError e = { 0 };
        if (nr_network_load(a->operands[i], &v[n], &e) < 0)
            rc = nr_cmd_fail(&e);
        else
            n++;
    }
    Members m = { 0 };
    members_load(&m);
    print_json(v, n, &m);
    free(m.v);
    free(v);
    return rc;
}

/* -f: stop the running containers on the network (members: as listed) */
static int stop_members(const char *name, const Members *m, NrError *err)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].network, name) != 0)
            continue;
        NrCtr c;
        NrError e = { 0 };
        int rc = 0;
        if (nr_ctr_find(m->v[i].id, &c, &e) == 0 && c.running)
            rc = nr_cmd_ctr_stop(&c, 10, err);
        nr_ctr_clear(&c);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* the error of a network in use, naming its containers where known */
static void in_use(const char *name, NrError *err)
{
    Members m = { 0 };
    char who[512] = "";
    size_t len = 0, k = 0;
    members_load(&m); /* as they are now: after rm -f, those that did not end */
    for (size_t i = 0; i < m.n; i++) {
        if (strcmp(m.v[i].network, name) != 0)
            continue;
        const char *c = m.v[i].name[0] ? m.v[i].name : m.v[i].id;
        if (len + strlen(c) + 8 < sizeof who)
            len += (size_t)snprintf(who + len, sizeof who - len, "%s%s", k ? ", " : "", c);
        k++;
    }
    free(m.v);
    if (k)
        nr_error_msg(err, "network '%s' is in use by container%s %s", name, k > 1 ? "s" : "", who);
    else
        nr_error_msg(err, "network '%s' is in use: a running container holds its lock", name);
    nr_error_hint(err, "stop its containers first, or 'nroot network rm -f %s'", name);
}

/* remove one network (members: the running containers on networks): 0
 * removed, 1 in use (nothing done), -1 error */
static int remove_one(const char *name, bool force, const Members *m, NrError *err)
{
    if (!nr_network_exists(name))
        return nr_error_msg(err, "no network '%s'", name);
    if (members_count(m, name) && !force)
        return 1;
    if (force && stop_members(name, m, err) < 0)
        return -1;
    /* a container just stopped: its nroot's last children may hold the
     * lock for a moment longer */
    for (int tries = 0;; tries++) {
        int r = nr_network_remove(name, err);
        if (r != 1 || !force || tries >= 20)
            return r;
        usleep(100 * 1000);
    }
}

static int rm(const NrNetworkArgs *a)
{
    int rc = 0;
    Members m = { 0 };
    members_load(&m);
    for (int i = 0; i < a->n_operands; i++) {
        NrError e = { 0 };
        int r = remove_one(a->operands[i], a->force, &m, &e);
        if (r == 1)
            in_use(a->operands[i], &e);
        if (r == 0)
            printf("%s\n", a->operands[i]);
        else
            rc = nr_cmd_fail(&e);
    }
    free(m.v);
    return rc;
}

static int prune(void)
{
    NrError err = { 0 };
    NrNetwork *v;
    size_t n;
    if (nr_network_list(&v, &n, &err) < 0)
        return nr_cmd_fail(&err);
    int rc = 0;
    Members m = { 0 };
    members_load(&m);
    for (size_t i = 0; i < n; i++) {
        NrError e = { 0 };
        int r = remove_one(v[i].name, false, &m, &e);
        if (r == 0)
            printf("%s\n", v[i].name);
        else if (r < 0)
            rc = nr_cmd_fail(&e);
    }
    free(m.v);
    free(v);
    return rc;
}

int nr_cmd_network(int argc, char **argv)
{
    NrError err = { 0 };
    const NrCommand *top = nr_cli_command("network");
    if (argc < 2) {
        nr_error_msg(&err, "missing COMMAND: create, ls, inspect, rm or prune");
        nr_error_hint(&err, "usage: %s", top->usage);
        return nr_cmd_fail(&err);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        nr_cli_help(top);
        return 0;
    }
    const NrCommand *sub = nr_cli_network_command(argv[1]);
    if (!sub) {
        if (argv[1][0] == '-')
            nr_error_msg(&err, "unknown option '%s': options go after the network command",
                         argv[1]);
        else
            nr_error_msg(&err, "unknown network command '%s'", argv[1]);
        nr_error_hint(&err, "see 'nroot network --help'");
        return nr_cmd_fail(&err);
    }
    NrNetworkArgs a;
    int r = nr_cli_parse_network(sub, argc - 1, argv + 1, &a, &err);
    if (r == NR_CLI_HELP)
        return 0;
    if (r < 0)
        return nr_cmd_fail(&err);
    const char *name = sub->name + strlen("network ");
    if (strcmp(name, "create") == 0)
        return operands(sub, &a, 1, 1, &err) < 0 ? nr_cmd_fail(&err) : create(&a);
    if (strcmp(name, "ls") == 0)
        return operands(sub, &a, 0, 0, &err) < 0 ? nr_cmd_fail(&err) : ls(&a);
    if (strcmp(name, "inspect") == 0)
        return operands(sub, &a, 1, -1, &err) < 0 ? nr_cmd_fail(&err) : inspect(&a);
    if (strcmp(name, "rm") == 0)
        return operands(sub, &a, 1, -1, &err) < 0 ? nr_cmd_fail(&err) : rm(&a);
    return operands(sub, &a, 0, 0, &err) < 0 ? nr_cmd_fail(&err) : prune();
}
