/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exec-timed FILE PROGRAM [ARG...]: writes CLOCK_REALTIME in microseconds to FILE, then execv()s
 * PROGRAM. cmp-footprint.sh starts both daemons through it, so "start to READY" runs from the
 * daemon's exec: not from a fork of the benchmark's bash (3 ms here), which is no part of how
 * systemd starts a service. Exits 127 if PROGRAM cannot be executed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        struct timespec ts;
        FILE *f;

        if (argc < 3) {
                fprintf(stderr, "usage: exec-timed FILE PROGRAM [ARG...]\n");
                return 2;
        }
        f = fopen(argv[1], "we");
        if (!f) {
                fprintf(stderr, "exec-timed: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(f, "%lld\n", (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        if (fclose(f) != 0) {
                fprintf(stderr, "exec-timed: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        execv(argv[2], argv + 2);
        fprintf(stderr, "exec-timed: %s: %s\n", argv[2], strerror(errno));
        return 127;
}
