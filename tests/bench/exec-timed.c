/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exec-timed FILE PROGRAM [ARG...]: writes CLOCK_REALTIME in microseconds and the CPU time this
 * task has used so far in nanoseconds (the fork that made it, and this program: the CPU time the
 * kernel shows for the daemon later includes it) to FILE, as one line, then execv()s PROGRAM. cmp-footprint.sh starts both daemons through it, so "start to READY" runs from the
 * daemon's exec: not from a fork of the benchmark's bash (3 ms here), which is no part of how
 * systemd starts a service. Exits 127 if PROGRAM cannot be executed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        struct timespec ts, cpu;
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
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(f, "%lld %lld\n", (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
                (long long) cpu.tv_sec * 1000000000 + cpu.tv_nsec);
        if (fclose(f) != 0) {
                fprintf(stderr, "exec-timed: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        execv(argv[2], argv + 2);
        fprintf(stderr, "exec-timed: %s: %s\n", argv[2], strerror(errno));
        return 127;
}
