/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's map of its bans at the size of a large flood: 1,000,000 elements set one by one
 * (the slowest single set is what the loop stalls for, when the table grows), the live count
 * status asks for, and a gc walk. Prints figures. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ban.h"

int main(void) {
        const uint32_t n = 1000000;
        usec_t start, end, worst = 0, c0, c1, g0, g1;
        uint32_t worst_at = 0;
        size_t live = 0;
        BanMap *m;

        if (ban_map_new(&m) < 0)
                return 1;
        start = now_usec(CLOCK_MONOTONIC);
        for (uint32_t i = 0; i < n; i++) {
                NftElem e = { .addr = { .family = AF_INET6 }, .prefixlen = 64, .proto = IPPROTO_TCP, .port = 22,
                              .timeout_ms = 3600000, .comment = "sshd" };
                usec_t a, b;

                e.addr.bytes[0] = 0x20, e.addr.bytes[1] = 0x01, e.addr.bytes[2] = 0x0d, e.addr.bytes[3] = 0xb8;
                memcpy(e.addr.bytes + 4, &i, 4);
                a = now_usec(CLOCK_MONOTONIC);
                if (ban_map_set(m, &e, 1000000000 + i) < 0)
                        return 1;
                b = now_usec(CLOCK_MONOTONIC);
                if (b - a > worst)
                        worst = b - a, worst_at = i;
        }
        end = now_usec(CLOCK_MONOTONIC);
        c0 = now_usec(CLOCK_MONOTONIC);
        for (int k = 0; k < 100; k++)
                live += ban_map_count(m, 5000 + (usec_t) k);
        c1 = now_usec(CLOCK_MONOTONIC);
        g0 = now_usec(CLOCK_MONOTONIC);
        (void) ban_map_gc(m, 5000);
        g1 = now_usec(CLOCK_MONOTONIC);
        printf("ban map: %u elements set in %.3f s; slowest single set %.3f ms (at element %u)\n", n,
               (double) (end - start) / 1e6, (double) worst / 1e3, worst_at);
        printf("ban map: live count (status) %.4f ms a call (%zu live); gc walk %.1f ms\n",
               (double) (c1 - c0) / 1e3 / 100, live / 100, (double) (g1 - g0) / 1e3);
        ban_map_free(m);
        return 0;
}
