/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cost on the main thread of spooling one AbuseIPDB report: one INSERT, its own transaction,
 * WAL with synchronous=NORMAL, a comment of about 600 bytes, in a directory on /var/tmp (a disk,
 * not a tmpfs, where the state directory lives). Prints mean, p50, p99 and max. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static int cmp(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[]) {
        const char *mode = "autocheckpoint off, as the main thread";
        enum { N = 5000 };
        char dir[] = "/var/tmp/bench-spool.XXXXXX", path[128];
        static usec_t lat[N];
        usec_t total = 0;
        Spool *s;

        if (!mkdtemp(dir) || spool_open(dir, false, &s) < 0)
                return 1;
        /* as the main thread has it: checkpoints are the checkpoint thread's job (none runs here) */
        if (argc > 1 && strcmp(argv[1], "--default-checkpoint") == 0)
                mode = "default autocheckpoint";
        else
                (void) spool_set_autocheckpoint(s, 0);
        for (int i = 0; i < N; i++) {
                Report r = { .timestamp = now_usec(CLOCK_REALTIME) };
                usec_t t0;

                (void) addr_from_string("203.0.113.9", &r.addr);
                r.addr.bytes[3] = (uint8_t) i;
                snprintf(r.jail, sizeof r.jail, "sshd");
                snprintf(r.categories, sizeof r.categories, "18,22");
                for (int k = 0; k < 6; k++)
                        snprintf(r.comment + strlen(r.comment), sizeof r.comment - strlen(r.comment),
                                 "[host] sshd[%d]: Failed password for [user] from 203.0.113.9 port 4%04d ssh2\n",
                                 1000 + k, i);
                t0 = now_usec(CLOCK_MONOTONIC);
                if (spool_insert(s, &r, NULL) < 0)
                        return 1;
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
                total += lat[i];
        }
        qsort(lat, N, sizeof lat[0], cmp);
        printf("spool: %d inserts (one transaction each, WAL, synchronous=NORMAL, %s) on /var/tmp: mean %.1f us, "
               "p50 %llu us, p99 %llu us, max %llu us\n",
               N, mode, (double) total / N, (unsigned long long) lat[N / 2], (unsigned long long) lat[N * 99 / 100],
               (unsigned long long) lat[N - 1]);
        spool_free(s);
        for (const char *const *x = (const char *const[]) { "", "-wal", "-shm", NULL }; *x; x++) {
                snprintf(path, sizeof path, "%s/%s%s", dir, SPOOL_FILE, *x);
                (void) unlink(path);
        }
        return rmdir(dir) < 0;
}
