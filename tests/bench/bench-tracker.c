/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tracker: memory per tracked address and failures recorded per second (100,000 addresses,
 * maxretry 5, 4 failures each so that none is banned and all stay tracked). Prints figures. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tracker.h"

int main(void) {
        const size_t n = 100000;
        Tracker *t;
        usec_t start, end;
        size_t records = 0;

        if (tracker_new(5, 600, 1000000, &t) < 0)
                return 1;
        start = now_usec(CLOCK_MONOTONIC);
        for (int round = 0; round < 4; round++)
                for (size_t i = 0; i < n; i++) {
                        /* documentation ranges only: the three IPv4 /24s give 768 addresses, the
                         * rest come from 2001:db8::/32 */
                        static const uint8_t v4[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
                        Addr a = { .family = i < 768 ? AF_INET : AF_INET6 };
                        uint32_t v = (uint32_t) i;
                        if (a.family == AF_INET) {
                                memcpy(a.bytes, v4[i / 256], 3);
                                a.bytes[3] = (uint8_t) (i % 256);
                        } else {
                                a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8;
                                memcpy(a.bytes + 12, &v, 4);
                        }
                        if (tracker_record(t, &a, 1000 + round) < 0)
                                return 1;
                        records++;
                }
        end = now_usec(CLOCK_MONOTONIC);
        printf("tracker: %zu addresses tracked, %zu bytes, %.1f bytes/address\n", tracker_size(t), tracker_memory(t),
               (double) tracker_memory(t) / (double) tracker_size(t));
        printf("tracker: %zu failures recorded in %.3f s: %.0f failures/s\n", records,
               (double) (end - start) / 1e6, (double) records * 1e6 / (double) (end - start));
        tracker_free(t);

        /* The flood's shape: 1,000,000 distinct addresses arriving once each; the slowest single
         * call is the loop's stall (growing the table), and a gc walk over the full table. */
        {
                const size_t big = 1000000;
                usec_t worst = 0, g0, g1;
                size_t worst_at = 0;

                if (tracker_new(5, 600, big, &t) < 0)
                        return 1;
                start = now_usec(CLOCK_MONOTONIC);
                for (size_t i = 0; i < big; i++) {
                        Addr a = { .family = AF_INET6 };
                        uint32_t v = (uint32_t) i;
                        usec_t c0, c1;

                        a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8;
                        memcpy(a.bytes + 12, &v, 4);
                        c0 = now_usec(CLOCK_MONOTONIC);
                        if (tracker_record(t, &a, 1000) < 0)
                                return 1;
                        c1 = now_usec(CLOCK_MONOTONIC);
                        if (c1 - c0 > worst) {
                                worst = c1 - c0;
                                worst_at = i;
                        }
                }
                end = now_usec(CLOCK_MONOTONIC);
                g0 = now_usec(CLOCK_MONOTONIC);
                (void) tracker_gc(t, 1000);
                g1 = now_usec(CLOCK_MONOTONIC);
                printf("tracker: %zu new addresses in %.3f s; slowest single call %.3f ms (at entry %zu); "
                       "gc walk of %zu entries (%zu bytes) %.1f ms\n",
                       big, (double) (end - start) / 1e6, (double) worst / 1e3, worst_at, tracker_size(t),
                       tracker_memory(t), (double) (g1 - g0) / 1e3);
                tracker_free(t);
        }
        return 0;
}
