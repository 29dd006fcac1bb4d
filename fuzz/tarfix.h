/* SPDX-License-Identifier: Apache-2.0 */
/* tarfix.h — make a mutated tar's header checksums right again.
 *
 * libarchive drops a tar header whose checksum is wrong, and almost every
 * change afl makes to a header breaks it: without this the fuzzer would
 * only ever reach the first check.  Walks the headers as a reader does
 * (header, then its data rounded up to 512 bytes; GNU sparse extension
 * blocks skipped) and writes each one's checksum as tar does ("%06o\0 ").
 * A compressed input is left alone. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t tarfix_size(const uint8_t *h)
{
    const uint8_t *f = h + 124;
    uint64_t v = 0;
    if (f[0] & 0x80) { /* base-256 */
        for (int i = 1; i < 12; i++)
            v = v << 8 | f[i];
        return v;
    }
    int i = 0;
    while (i < 12 && (f[i] == ' ' || f[i] == '\0'))
        i++;
    for (; i < 12 && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(f[i] - '0');
    return v;
}

static void tarfix(uint8_t *buf, size_t len)
{
    static const uint8_t magics[][4] = { { 0x1f, 0x8b },
                                         { 'B', 'Z', 'h' },
                                         { 0xfd, '7', 'z', 'X' },
                                         { 0x28, 0xb5, 0x2f, 0xfd },
                                         { 0x5d, 0, 0 } };
    static const size_t mlen[] = { 2, 3, 4, 4, 3 };
    for (size_t i = 0; i < sizeof mlen / sizeof *mlen; i++)
        if (len >= mlen[i] && memcmp(buf, magics[i], mlen[i]) == 0)
            return;
    size_t off = 0;
    while (off + 512 <= len) {
        uint8_t *h = buf + off;
        bool zero = true;
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero) {
            off += 512;
            continue;
        }
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
            sum += h[i];
        char c[8];
        snprintf(c, sizeof c, "%06o", sum & 0777777);
        memcpy(h + 148, c, 6);
        h[154] = '\0';
        h[155] = ' ';
        uint64_t size = tarfix_size(h);
        off += 512;
        if (h[156] == 'S' && h[482]) /* old GNU sparse: extension blocks */
            while (off + 512 <= len && (off += 512, buf[off - 512 + 504]))
                ;
        if (size > len - off)
            break;
        off += (size + 511) / 512 * 512;
    }
}
