/* SPDX-License-Identifier: Apache-2.0 */
/* clock-probe.c — the clocks a time namespace shifts, for tests/timens.bats:
 * built there with `gcc -static`, run on the host and in the busybox image
 * (bound in with -v).  Prints one line per clock, whole seconds:
 *
 *   monotonic SECONDS
 *   boottime SECONDS */
#include <stdio.h>
#include <time.h>

int main(void)
{
    static const struct {
        const char *name;
        clockid_t id;
    } clocks[] = { { "monotonic", CLOCK_MONOTONIC }, { "boottime", CLOCK_BOOTTIME } };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec t;
        if (clock_gettime(clocks[i].id, &t) < 0) {
            perror("clock_gettime");
            return 1;
        }
        printf("%s %lld\n", clocks[i].name, (long long)t.tv_sec);
    }
    return 0;
}
