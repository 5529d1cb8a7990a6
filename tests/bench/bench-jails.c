/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every shipped jail on one mixed log, from memory, one core: the literal prefilter of a MatchSet
 * (one scan of each line for the literals of all filters, then only the filters it finds
 * literals of) against sshd alone and against all filters run on every line. Also the cost of an
 * idle jail: filters whose literals never occur, added to the set. Prints figures; never fails on
 * time (it says whether the verdicts of both ways agree).
 *
 *   bench-jails [--literals] [LOGFILE]   (default: gen-mixedlog.py --lines 1000000 --seed 1)
 *
 * Lines are split and a leading date cut (date_parse_prefix()) before the clock starts, as in
 * bench-match; the clock is the process's CPU time (one core's rate, also on a shared machine); the filters come from conf/filter.d through tests/unit/filter-file.h, each in its
 * default mode. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "date.h"
#include "match.h"
#include "bench-lines.h"
#include "unit/filter-file.h"

#define MAX_FILTERS 256
#define IDLE_MAX 128

static Filter *load(const char *path, FilterConf *fc) {
        FilterError e = {};
        Filter *f = NULL;

        if (ff_load_filter(path, NULL, fc) < 0 || filter_new(fc, &f, &e) < 0) {
                fprintf(stderr, "%s: %s:%u: %s\n", path, e.file, e.line, e.message);
                exit(EXIT_FAILURE);
        }
        return f;
}

/* A filter of its own program whose lines never come: an idle jail. */
static Filter *idle_filter(unsigned k, FilterConf *fc) {
        char re[160];
        FilterError e = {};
        Filter *f = NULL;

        snprintf(re, sizeof re, "^\\s*(?:\\S+ )?idleapp%u(?:\\[\\d+\\])?: login failure from <HOST> port \\d+$", k);
        *fc = (FilterConf) { .name = strdup("idle"), .maxlines = 1, .n_failregex = 1 };
        fc->failregex = calloc(1, sizeof(FilterRegex));
        if (!fc->failregex)
                abort();
        fc->failregex[0] = (FilterRegex) { .pattern = strdup(re), .file = strdup("<idle>"), .line = 1 };
        if (filter_new(fc, &f, &e) < 0) {
                fprintf(stderr, "idle: %s\n", e.message);
                exit(EXIT_FAILURE);
        }
        return f;
}

/* Best of 3 rounds: seconds for all lines through the set (or, set NULL, filter 0 alone);
 * *ret_hits: failures per filter of the last round; *ret_ran: filters run per line, summed. */
static double run(MatchSet *set, Filter *const *f, size_t n_f, const Line *lines, size_t n, uint64_t *ret_hits,
                  uint64_t *ret_ran, bool scan_only) {
        uint8_t want[MAX_FILTERS + IDLE_MAX];
        double best = 1e9;

        for (int round = 0; round < 3; round++) {
                double t0 = cpu_sec(), dt;
                uint64_t ran = 0;

                memset(ret_hits, 0, n_f * sizeof *ret_hits);
                for (size_t i = 0; i < n; i++) {
                        MatchResult m;

                        if (!set) {
                                ret_hits[0] += filter_match(f[0], lines[i].s, lines[i].len, &m) == MATCH_FAILURE;
                                continue;
                        }
                        ran += match_set_scan(set, lines[i].s, lines[i].len, want);
                        if (scan_only)
                                continue;
                        for (size_t k = 0; k < n_f; k++)
                                if (want[k])
                                        ret_hits[k] += match_set_match(set, k, lines[i].s, lines[i].len, false, &m) ==
                                                       MATCH_FAILURE;
                }
                dt = cpu_sec() - t0;
                if (dt < best)
                        best = dt;
                *ret_ran = ran;
        }
        return best;
}

static void report(const char *what, double sec, size_t n, size_t n_f, uint64_t ran) {
        printf("%-44s %9.0f lines/s  %6.0f ns/line", what, (double) n / sec, sec * 1e9 / (double) n);
        if (ran)
                printf("  %.2f of %zu filters run per line", (double) ran / (double) n, n_f);
        putchar('\n');
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char *argv[]) {
        static FilterConf fcs[MAX_FILTERS + IDLE_MAX];
        static Filter *f[MAX_FILTERS + IDLE_MAX];
        static char *names[MAX_FILTERS];
        static uint64_t hits_on[MAX_FILTERS + IDLE_MAX], hits_off[MAX_FILTERS + IDLE_MAX];
        char dir[4096], path[8192];
        bool literals = false, same = true;
        const char *log = NULL;
        size_t len = 0, n = 0, n_f = 0, sshd = SIZE_MAX;
        MatchSet *set = NULL;
        uint64_t ran;
        double t_sshd, t_on, t_off, t_scan;
        Line *lines;
        DIR *d;
        char *buf;

        setenv("TZ", "UTC", 1);
        tzset();
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--literals") == 0)
                        literals = true;
                else
                        log = argv[i];

        snprintf(dir, sizeof dir, "%s/conf/filter.d", NFTJAIL_SOURCE_ROOT);
        d = opendir(dir);
        if (!d) {
                perror(dir);
                return EXIT_FAILURE;
        }
        for (struct dirent *de; (de = readdir(d)) && n_f < MAX_FILTERS;) {
                size_t l = strlen(de->d_name);
                if (l > 5 && strcmp(de->d_name + l - 5, ".conf") == 0 && strcmp(de->d_name, "common.conf") != 0)
                        names[n_f++] = strndup(de->d_name, l - 5);
        }
        closedir(d);
        qsort(names, n_f, sizeof *names, cmp_str);
        for (size_t k = 0; k < n_f; k++) {
                snprintf(path, sizeof path, "%s/%s.conf", dir, names[k]);
                f[k] = load(path, &fcs[k]);
                if (strcmp(names[k], "sshd") == 0)
                        sshd = k;
        }
        if (sshd == SIZE_MAX) {
                fprintf(stderr, "no sshd filter in %s\n", dir);
                return EXIT_FAILURE;
        }

        buf = read_log(log, "gen-mixedlog.py", "--lines 1000000 --seed 1", &len);
        lines = split_lines(buf, len, &n);
        printf("%zu lines, %zu bytes (%.0f bytes/line), %zu shipped filters\n", n, len, (double) len / (double) n, n_f);

        if (match_set_new(f, n_f, &set) < 0)
                return EXIT_FAILURE;
        if (literals)
                for (size_t k = 0; k < n_f; k++) {
                        const char *s;
                        size_t l;

                        printf("  %-18s", names[k]);
                        if (!filter_literal(f[k], 0, &l))
                                printf(" (none: runs on every line)");
                        for (size_t i = 0; (s = filter_literal(f[k], i, &l)); i++)
                                printf(" \"%.*s\"", (int) l, s);
                        putchar('\n');
                }

        t_sshd = run(NULL, &f[sshd], 1, lines, n, hits_on, &ran, false);
        report("sshd alone (filter_match)", t_sshd, n, 1, 0);
        printf("%44s %9" PRIu64 " failures\n", "", hits_on[0]);

        match_set_set_prefilter(set, false);
        t_off = run(set, f, n_f, lines, n, hits_off, &ran, false);
        report("all filters, every one on every line", t_off, n, n_f, ran);
        match_set_set_prefilter(set, true);
        t_on = run(set, f, n_f, lines, n, hits_on, &ran, false);
        report("all filters, literal prefilter (MatchSet)", t_on, n, n_f, ran);
        t_scan = run(set, f, n_f, lines, n, hits_on + MAX_FILTERS, &ran, true);
        report("  of which the scan alone", t_scan, n, n_f, 0);
        for (size_t k = 0; k < n_f; k++) {
                printf("    %-20s %8" PRIu64 " failures%s\n", names[k], hits_on[k],
                       hits_on[k] == hits_off[k] ? "" : "  DIFFERS without the prefilter");
                same = same && hits_on[k] == hits_off[k];
        }
        printf("verdict counts with and without the prefilter: %s\n", same ? "identical" : "DIFFERENT");
        set = match_set_free(set);

        /* idle jails: their literals never occur */
        {
                static const unsigned idle[] = { 16, 64, IDLE_MAX };
                double base_on = t_on, base_off = t_off;

                for (size_t i = 0; i < ELEMENTSOF(idle); i++) {
                        size_t m = n_f;
                        double on, off;

                        for (unsigned k = 0; k < idle[i]; k++, m++)
                                if (!f[m])
                                        f[m] = idle_filter(k, &fcs[m]);
                        if (match_set_new(f, m, &set) < 0)
                                return EXIT_FAILURE;
                        on = run(set, f, m, lines, n, hits_on, &ran, false);
                        match_set_set_prefilter(set, false);
                        off = run(set, f, m, lines, n, hits_off, &ran, false);
                        set = match_set_free(set);
                        printf("%3u idle jails added: %9.0f lines/s with the prefilter (%+.2f ns/line per idle jail), "
                               "%9.0f lines/s without (%+.2f ns/line per idle jail)\n",
                               idle[i], (double) n / on, (on - base_on) * 1e9 / (double) n / idle[i], (double) n / off,
                               (off - base_off) * 1e9 / (double) n / idle[i]);
                }
        }

        for (size_t k = 0; k < MAX_FILTERS + IDLE_MAX; k++) {
                if (!f[k])
                        continue;
                filter_free(f[k]);
                ff_filter_conf_done(&fcs[k]);
        }
        for (size_t k = 0; k < n_f; k++)
                free(names[k]);
        free(lines);
        free(buf);
        return EXIT_SUCCESS;
}
