/* SPDX-License-Identifier: Apache-2.0 */
/* pull.c — `nroot pull REF...`: each reference from its registry into the
 * store (nr_store_pull: nroot-pull into the blob cache, then the import),
 * its image id printed, as `podman pull` does. */
#include <stdio.h>
#include <unistd.h>

#include "nr-cli.h"
#include "nr-cmd.h"
#include "nr-error.h"
#include "nr-image.h"
#include "nr-store.h"
#include "nr-userns.h"

int nr_cmd_pull(int argc, char **argv)
{
    NrImageArgs a = { 0 };
    NrError err = { 0 };
    int rc = nr_cli_parse_image("pull", argc, argv, &a, &err);
    if (rc == NR_CLI_HELP)
        return 0;
    if (rc < 0 || a.n_operands == 0) {
        if (rc == 0) {
            nr_error_msg(&err, "missing REF to pull");
            nr_error_hint(&err, "usage: %s", nr_cli_command("pull")->usage);
        }
        nr_error_print(&err);
        return NR_EXIT_FAILURE;
    }
    NrIdMap map;
    if (nr_userns_plan(a.userns, false, &map, &err) < 0) {
        nr_error_print(&err);
        return err.code ? err.code : NR_EXIT_FAILURE;
    }
    NrImportOpts io = { .progress = isatty(STDERR_FILENO) && !a.quiet,
                        .pull = NR_PULL_ALWAYS,
                        .platform = a.platform,
                        .tls_no_verify = a.tls_no_verify };
    int status = 0;
    for (int i = 0; i < a.n_operands; i++) {
        NrImage img;
        NrError e = { 0 };
        if (nr_store_pull(a.operands[i], &map, &io, &img, &e) < 0) {
            nr_error_print(&e);
            status = e.code ? e.code : NR_EXIT_FAILURE;
            continue;
        }
        printf("%s\n", img.id);
        fflush(stdout);
        nr_image_clear(&img);
    }
    return status;
}
