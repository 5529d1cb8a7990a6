/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Matching throughput of the shipped filters on a generated auth log, from memory, one core.
 * Prints figures; never fails on time. "shortcuts" are the gate regex and the literal
 * prefilter (filter_set_prefilter()).
 *
 *   bench-match [LOGFILE]      (default: runs gen-authlog.py --lines 1000000)
 *
 * Loads conf/filter.d/sshd.conf with the test reader in tests/unit/filter-file.h (what
 * filter_conf_load() will return once conf.c is merged; swap it in then). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "date.h"
#include "match.h"
#include "bench-lines.h"
#include "unit/filter-file.h"

static void bench(const char *name, const char *conf, const char *opt, const Line *lines, size_t n, bool prefilter,
                  unsigned flags) {
        FilterConf fc = {};
        FilterError e = {};
        Filter *f = NULL;
        size_t hits = 0, ignored = 0;
        double t0, dt, best = 1e9;
        int r;

        if (conf)
                r = ff_load_filter(conf, opt, &fc);
        else {
                /* opt is a literal regex, unanchored the way many fail2ban filters are written */
                fc = (FilterConf) { .name = strdup(name), .maxlines = 1, .n_failregex = 1 };
                fc.failregex = calloc(1, sizeof(FilterRegex));
                if (!fc.failregex)
                        abort();
                fc.failregex[0] = (FilterRegex) { .pattern = strdup(opt), .file = strdup("<literal>"), .line = 1 };
                r = 0;
        }
        if (r < 0 || filter_new_flags(&fc, flags, &f, &e) < 0) {
                fprintf(stderr, "%s: %s:%u: %s\n", name, e.file, e.line, e.message);
                exit(EXIT_FAILURE);
        }
        filter_set_prefilter(f, prefilter);
        for (int round = 0; round < 3; round++) {
                hits = ignored = 0;
                t0 = now_sec();
                for (size_t i = 0; i < n; i++) {
                        MatchResult m;
                        int k = filter_match(f, lines[i].s, lines[i].len, &m);
                        hits += k == MATCH_FAILURE;
                        ignored += k == MATCH_IGNORED;
                }
                dt = now_sec() - t0;
                if (dt < best)
                        best = dt;
        }
        printf("%-28s %2zu regexes  shortcuts %-3s  %9.0f lines/s  %5.0f ns/line  %zu matches\n", name,
               filter_n_failregex(f), prefilter ? "on" : "off", (double) n / best, best * 1e9 / (double) n, hits);
        filter_free(f);
        ff_filter_conf_done(&fc);
}

int main(int argc, char *argv[]) {
        char conf[4096], pconf[4096];
        char *buf;
        size_t len = 0, n = 0;
        Line *lines;
        double t0, dt;

        setenv("TZ", "UTC", 1);
        tzset();
        buf = read_log(argc > 1 ? argv[1] : NULL, "gen-authlog.py", "--lines 1000000 --addresses 5000 --seed 1", &len);
        /* split, then strip the dates as the file source will */
        t0 = now_sec();
        lines = split_lines(buf, len, &n);
        dt = now_sec() - t0;
        printf("%zu lines, %zu bytes; split + date_parse_prefix: %.0f lines/s\n", n, len, (double) n / dt);

        snprintf(conf, sizeof conf, "%s/conf/filter.d/sshd.conf", NFTJAIL_SOURCE_ROOT);
        snprintf(pconf, sizeof pconf, "%s/conf/filter.d/proxmox.conf", NFTJAIL_SOURCE_ROOT);
        for (int pf = 1; pf >= 0; pf--) {
                bench("sshd mode=normal", conf, "mode=normal", lines, n, pf, 0);
                bench("sshd mode=aggressive", conf, "mode=aggressive", lines, n, pf, 0);
                bench("proxmox", pconf, NULL, lines, n, pf, 0);
                bench("unanchored literal", NULL, "Failed password for .* from <HOST> port \\d+ ssh2", lines, n, pf, 0);
                bench("unanchored class start", NULL, "\\S+ user \\S+ from <HOST> port \\d+$", lines, n, pf, 0);
        }
        /* as the daemon builds the filter of a jail without action.d files or mail: <F-USER> not captured */
        bench("sshd mode=normal no tags", conf, "mode=normal", lines, n, true, FILTER_NO_TAGS);
        bench("sshd mode=aggr. no tags", conf, "mode=aggressive", lines, n, true, FILTER_NO_TAGS);
        free(lines);
        free(buf);
        return EXIT_SUCCESS;
}
