/* SPDX-License-Identifier: Apache-2.0 */
/* share.h — nroot-squashfs's shared mount (share.c) */
#pragma once

/* serve clones of the mount at `mnt` on the listening socket `lfd` from a
 * thread of its own; the process exits when no client has been connected
 * for `linger` seconds (see share.c) */
int sq_share_start(int lfd, unsigned linger, const char *mnt);
/* the server is told to end (SIGTERM, SIGINT): no new client from now on */
void sq_share_stop(void);
