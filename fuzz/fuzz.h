/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz.h — what a harness gives the driver (driver.c).
 *
 * A harness is one file with nr_fuzz_one(), the code under test run on one
 * input, plus a little setup.  driver.c turns it into an afl++ persistent-
 * mode target (built with afl-cc) or into a replay program that runs every
 * file it is given (built with the plain compiler and the sanitizers); see
 * fuzz/README.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true: the driver enters the sandbox (nr_fuzz_sandbox) before anything
 * else: harnesses whose code writes files take it */
extern const bool nr_fuzz_sandboxed;
/* once, after the sandbox, before the first input */
void nr_fuzz_init(void);
/* one input; a crash or a sanitizer report is a finding, anything the code
 * under test returns is not */
void nr_fuzz_one(const uint8_t *data, size_t len);

/* A user and mount namespace of its own (just a mount namespace as root),
 * pivoted into a fresh tmpfs with the old root detached: nothing outside
 * the tmpfs is reachable by any path, whatever a harness's input makes the
 * code write.  No /proc, no /dev, nodev,nosuid,noexec; exits if any step
 * fails, so a harness never runs unconfined. */
void nr_fuzz_sandbox(void);
/* remove everything under / (the sandbox's tmpfs) and check it is empty;
 * the number of files, links etc. (not directories) it found named .wh.*:
 * whiteouts are applied, never written */
int nr_fuzz_wipe_root(void);
/* the input split at `sep`: up to `max` parts in parts[] and lens[]; the count */
int nr_fuzz_split(const uint8_t *data, size_t len, const char *sep, const uint8_t **parts,
                  size_t *lens, int max);
