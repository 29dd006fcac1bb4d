/* SPDX-License-Identifier: Apache-2.0 */
/* main.c — command dispatch. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-error.h"
#include "nr-keeper.h"

char **nr_main_argv;
int nr_main_argc;

int main(int argc, char **argv)
{
    nr_main_argv = argv;
    nr_main_argc = argc;
    /* a caller that ignores SIGCHLD (some daemons do) would leave nroot's
     * children reaped by the kernel behind its back: no status, no wake */
    signal(SIGCHLD, SIG_DFL);
    /* a closed stdin, stdout or stderr would be taken by the next open()
     * (a lock file, an image) and written to or closed by mistake */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
            return NR_EXIT_FAILURE;
    /* nroot-oci (a symlink to nroot): runc's command line for tools that
     * take a runtime binary (podman --runtime, containerd's shims) */
    const char *base = strrchr(argv[0], '/');
    if (strcmp(base ? base + 1 : argv[0], "nroot-oci") == 0)
        return nr_cmd_oci(argc, argv);
    if (argc < 2) {
        nr_cli_main_help();
        return NR_EXIT_FAILURE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
        printf("nroot %s\n", NR_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        nr_cli_main_help();
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "run", nr_cmd_run },
        { "import", nr_cmd_import },
        { "images", nr_cmd_images },
        { "rmi", nr_cmd_rmi },
        { "prune", nr_cmd_prune },
        { "ps", nr_cmd_ps },
        { "start", nr_cmd_start },
        { "exec", nr_cmd_exec },
        { "stop", nr_cmd_stop },
        { "wait", nr_cmd_wait },
        { "logs", nr_cmd_logs },
        { "rm", nr_cmd_rm },
        { "export", nr_cmd_export },
        { "info", nr_cmd_info },
        { "__complete", nr_cli_complete },
        { "pull", nr_cmd_pull },
        { "login", nr_cmd_login },
        { "logout", nr_cmd_logout },
        { "oci", nr_cmd_oci },
        { "_net-holder", nr_cmd_net_holder },
    };
    if (strcmp(cmd, "network") == 0) /* apart: one more entry reflows the table */
        return nr_cmd_network(argc - 1, argv + 1);
    if (strcmp(cmd, "_userns-keeper") == 0)
        return nr_keeper_main(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    if (cmd[0] == '-')
        fprintf(stderr, "nroot: error: unknown option '%s'\nnroot: hint: see 'nroot --help'\n",
                cmd);
    else
        fprintf(stderr, "nroot: error: unknown command '%s'\nnroot: hint: see 'nroot --help'\n",
                cmd);
    return NR_EXIT_FAILURE;
}
