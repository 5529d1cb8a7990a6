/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the matching benchmarks share: the clock, a whole log read into memory, and its lines
 * split with a leading date cut (date_parse_prefix(), as the file source does) before the clock
 * starts. Benchmark code: exits on allocation failure. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"

typedef struct Line {
        const char *s;
        size_t len;
} Line;

static inline double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* CPU time of the process: the rate of one core, also on a machine that others share. */
static inline double cpu_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* All of in, NUL-terminated; *ret_len bytes. */
static inline char *slurp(FILE *in, size_t *ret_len) {
        size_t cap = 1 << 20, n = 0, k;
        char *b = malloc(cap + 1);

        if (!b)
                exit(EXIT_FAILURE);
        while ((k = fread(b + n, 1, cap - n, in)) > 0) {
                n += k;
                if (n == cap) {
                        char *p = realloc(b, cap * 2 + 1);
                        if (!p)
                                exit(EXIT_FAILURE);
                        b = p;
                        cap *= 2;
                }
        }
        b[n] = 0;
        *ret_len = n;
        return b;
}

/* The log at path, or what `python3 SRCDIR/tests/bench/GENERATOR ARGS` writes when path is NULL;
 * exits when there is none. */
static inline char *read_log(const char *path, const char *generator, const char *args, size_t *ret_len) {
        char cmd[8192];
        FILE *in;
        char *buf;

        if (path)
                in = fopen(path, "re");
        else {
                snprintf(cmd, sizeof cmd, "python3 '%s/tests/bench/%s' %s", NFTJAIL_SOURCE_ROOT, generator, args);
                in = popen(cmd, "r");
        }
        if (!in) {
                perror(path ?: "generator");
                exit(EXIT_FAILURE);
        }
        buf = slurp(in, ret_len);
        if ((path ? fclose(in) : pclose(in)) != 0 || *ret_len == 0) {
                fprintf(stderr, "%s: no log\n", path ?: cmd);
                exit(EXIT_FAILURE);
        }
        return buf;
}

/* The lines of buf (pointing into it), each without its leading date; *ret_n of them. */
static inline Line *split_lines(char *buf, size_t len, size_t *ret_n) {
        size_t cap = 1 << 20, n = 0;
        Line *lines = malloc(cap * sizeof(Line));

        if (!lines)
                exit(EXIT_FAILURE);
        for (char *p = buf, *end = buf + len; p < end;) {
                char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t l = nl ? (size_t) (nl - p) : (size_t) (end - p), skip = 0;
                int64_t epoch;

                if (n == cap) {
                        Line *q = realloc(lines, cap * 2 * sizeof(Line));
                        if (!q)
                                exit(EXIT_FAILURE);
                        lines = q;
                        cap *= 2;
                }
                if (date_parse_prefix(p, l, 1795528800, &epoch, &skip) <= 0)
                        skip = 0;
                lines[n++] = (Line) { p + skip, l - skip };
                p += l + 1;
        }
        *ret_n = n;
        return lines;
}
