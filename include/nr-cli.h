/* SPDX-License-Identifier: Apache-2.0 */
/* nr-cli.h — the command line (src/cli/): one option table per command
 * drives getopt, --help, the completions and the docs test. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "nr-error.h"
#include "nr-plan.h"
#include "nr-userns.h"
#include "nr-util.h"

/* one option table per command */
typedef struct NrOption {
    const char *name;
    int id;          /* getopt value; a printable char is also the short option */
    const char *arg; /* metavariable, NULL when the option takes none */
    const char *group;
    const char *help;
    const char *values; /* fixed choices, for help and completion */
} NrOption;

/* an optional value ("[KEY]"): --name or --name=VALUE, never a separate word */
#define NR_OPT_OPTIONAL(o) ((o)->arg && (o)->arg[0] == '[')

typedef struct NrCommand {
    const char *name, *usage, *summary, *description;
    const NrOption *opts;
    size_t n_opts;
} NrCommand;

/* the parsed options of the image commands (import, images, rmi, prune) */
typedef struct NrImageArgs {
    const char *name, *ref;
    NrUsernsMode userns;
    bool quiet, json, no_trunc, force, digests;
    int pull;             /* NrPullPolicy */
    const char *platform; /* --platform */
    bool tls_no_verify;   /* --tls-verify=false */
    const char *format;   /* import --format: tree or squashfs, NULL: the setting */
    char **operands;
    int n_operands;
} NrImageArgs;

/* the parsed options of the container commands (start, stop, exec, ...) */
typedef struct NrCtrArgs {
    bool attach, interactive, tty, follow, all, quiet, json, no_trunc, force;
    bool squashfs; /* export --format=squashfs */
    int time;      /* stop --time, -1 when not given */
    long tail;     /* logs --tail, -1 when not given */
    const char *output, *workdir, *user;
    NrStrv env;
    bool env_host; /* exec --env-host */
    int *preserve; /* exec --preserve-fds / --preserve-fd */
    size_t n_preserve;
    char **operands;
    int n_operands;
} NrCtrArgs;

/* the parsed options of login and logout */
typedef struct NrLoginArgs {
    const char *username, *password, *authfile;
    bool password_stdin, get_login, all, tls_verify;
    char **operands;
    int n_operands;
} NrLoginArgs;

/* the parsed options of `nroot network` (create, ls, inspect, rm, prune) */
typedef struct NrNetworkArgs {
    const char *subnet; /* create --subnet */
    bool internal, quiet, json, force;
    char **operands;
    int n_operands;
} NrNetworkArgs;

enum { NR_CLI_RUN = 0, NR_CLI_HELP = 1 };
const NrCommand *nr_cli_command(const char *name);
/* every command, in the order of --help */
const NrCommand *nr_cli_commands(size_t *ret_n);
int nr_cli_parse_run(int argc, char **argv, NrRunConfig *cfg, NrError *err);
/* one more -v HOST:CTR[:ro] for cfg, checked as the command line's are */
int nr_cli_volume(NrRunConfig *cfg, const char *spec, NrError *err);
int nr_cli_parse_image(const char *cmd, int argc, char **argv, NrImageArgs *a, NrError *err);
int nr_cli_parse_ctr(const char *cmd, int argc, char **argv, NrCtrArgs *a, NrError *err);
int nr_cli_parse_login(const char *cmd, int argc, char **argv, NrLoginArgs *a, NrError *err);
/* `nroot network`'s commands (create, ls, inspect, rm, prune; list and
 * remove are aliases), each with its own option table; NULL if `sub` is
 * none of them */
const NrCommand *nr_cli_network_command(const char *sub);
const NrCommand *nr_cli_network_commands(size_t *ret_n);
/* argv[0] is the network command's name */
int nr_cli_parse_network(const NrCommand *sub, int argc, char **argv, NrNetworkArgs *a,
                         NrError *err);
void nr_cli_main_help(void);
void nr_cli_help(const NrCommand *c);
/* complete.c: `nroot __complete WORD...`, the candidates the shell
 * completions (completions/) offer */
int nr_cli_complete(int argc, char **argv);
