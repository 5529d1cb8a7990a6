/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nftjail regex: a filter against a log, offline (what fail2ban-regex does). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "addr.h"
#include "conf.h"
#include "ctl.h"
#include "date.h"
#include "match.h"

/* Longer lines are cut when read (and matched with filter_match_cut(), so that "$" does not
 * match at the cut). Room for a date in front of MATCH_LINE_MAX bytes of message. */
#define READ_LINE_MAX (MATCH_LINE_MAX + 256)

typedef struct Stats {
        uint64_t lines, cut, dated, matched, ignored, missed;
        uint64_t *per_regex;
} Stats;

static void show_usage(FILE *f) {
        fprintf(f,
                "Usage: %s regex [--config-dir DIR] [--json] LOG FILTER\n\n"
                "Matches each line of LOG (a file, or - for stdin) against FILTER and prints a summary.\n"
                "FILTER is a filter name from DIR/filter.d (\"sshd\", \"sshd[mode=aggressive]\"), the path\n"
                "of a filter file, or a regex containing <HOST>. A leading date is stripped first.\n\n"
                "  --config-dir DIR  configuration directory (default %s)\n"
                "  --json            one JSON object per matching line on stdout:\n"
                "                    {\"line\": N, \"host\": \"ADDR\", \"time\": EPOCH or null}\n"
                "                    (the summary then goes to stderr)\n",
                ctl_program, NFTJAIL_CONFIG_DIR);
}

static bool looks_like_regex(const char *s) {
        static const char *const tags[] = { "<HOST>", "<ADDR>", "<IP4>", "<IP6>", "<SUBNET>", "<F-" };

        for (size_t i = 0; i < ELEMENTSOF(tags); i++)
                if (strstr(s, tags[i]))
                        return true;
        return false;
}

/* Reads one line into buf (READ_LINE_MAX bytes), without the newline; the rest of a longer line
 * is read and dropped (*ret_cut). Returns 1 with *ret_len and *ret_cut, 0 at EOF, -EIO. */
static int read_line(FILE *f, char *buf, size_t *ret_len, bool *ret_cut) {
        size_t n = 0;
        bool cut = false, any = false;
        int c;

        while ((c = getc_unlocked(f)) != EOF) {
                any = true;
                if (c == '\n')
                        break;
                if (n < READ_LINE_MAX)
                        buf[n++] = (char) c;
                else
                        cut = true;
        }
        if (ferror(f))
                return -EIO;
        if (!any)
                return 0;
        if (!cut && n > 0 && buf[n - 1] == '\r')
                n--;
        *ret_len = n;
        *ret_cut = cut;
        return 1;
}

static void print_pattern(FILE *out, const char *p) {
        /* patterns are the admin's own text, but may hold control characters */
        for (; *p; p++)
                fputc((unsigned char) *p >= 0x20 && *p != 0x7f ? *p : '?', out);
}

static void print_summary(FILE *out, const FilterConf *fc, const Stats *st) {
        fprintf(out, "\nLines: %" PRIu64 " lines, %" PRIu64 " with a date, %" PRIu64 " cut at %d bytes\n", st->lines,
                st->dated, st->cut, MATCH_LINE_MAX);
        fprintf(out, "\nFailregex: %" PRIu64 " total\n", st->matched);
        fprintf(out, "|-  #) [# of hits] regular expression\n");
        for (size_t i = 0; i < fc->n_failregex; i++) {
                const FilterRegex *r = &fc->failregex[i];
                fprintf(out, "|  %2zu) [%" PRIu64 "] ", i + 1, st->per_regex[i]);
                if (r->file)
                        fprintf(out, "%s:%u", r->file, r->line);
                fputs("\n|       ", out);
                print_pattern(out, r->pattern);
                fputc('\n', out);
        }
        fprintf(out, "`-\n\nIgnoreregex: %" PRIu64 " total\n", st->ignored);
        for (size_t i = 0; i < fc->n_ignoreregex; i++) {
                const FilterRegex *r = &fc->ignoreregex[i];
                fprintf(out, "|  %2zu) ", i + 1);
                if (r->file)
                        fprintf(out, "%s:%u", r->file, r->line);
                fputs("\n|       ", out);
                print_pattern(out, r->pattern);
                fputc('\n', out);
        }
        fprintf(out, "`-\n\nMissed: %" PRIu64 "\n", st->missed);
}

static int print_json(uint64_t lineno, const Addr *a, bool dated, int64_t epoch) {
        char buf[ADDR_STRLEN];
        json_t *o;
        int r;

        o = json_pack("{s:I, s:s, s:o}", "line", (json_int_t) lineno, "host", addr_to_string(a, buf, sizeof buf),
                      "time", dated ? json_integer((json_int_t) epoch) : json_null());
        if (!o)
                return -ENOMEM;
        r = json_dumpf(o, stdout, JSON_COMPACT);
        json_decref(o);
        if (r < 0 || fputc('\n', stdout) == EOF)
                return -EIO;
        return 0;
}

int ctl_regex(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config-dir", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *dir = NFTJAIL_CONFIG_DIR, *log_path, *spec;
        bool json = false, literal, conf_loaded = false;
        FilterConf fc = {};
        FilterRegex literal_regex = {};
        ConfDiags diags = {};
        FilterError ferr = {};
        Filter *filter = NULL;
        DatePattern *dates = NULL;
        char *strip = NULL;
        Stats st = {};
        FILE *in = NULL, *summary;
        char *buf = NULL;
        int opt, r, ret = 1;
        int64_t now = (int64_t) time(NULL);

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "c:jh", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        dir = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        show_usage(stdout);
                        return 0;
                default:
                        fprintf(stderr, "%s regex: bad option '%s', see '%s regex --help'\n", ctl_program,
                                argv[optind - 1], ctl_program);
                        return 2;
                }
        if (argc - optind != 2) {
                fprintf(stderr, "%s regex: expected LOG and FILTER, see '%s regex --help'\n", ctl_program, ctl_program);
                return 2;
        }
        log_path = argv[optind];
        spec = argv[optind + 1];
        summary = json ? stderr : stdout;

        literal = looks_like_regex(spec) && access(spec, F_OK) < 0;
        if (literal) {
                literal_regex = (FilterRegex) { .pattern = (char *) spec, .file = (char *) "(command line)", .line = 1 };
                fc = (FilterConf) {
                        .name = (char *) "(command line)",
                        .failregex = &literal_regex,
                        .n_failregex = 1,
                        .maxlines = 1,
                };
        } else {
                r = filter_conf_load(dir, spec, &fc, &diags);
                for (size_t i = 0; i < diags.n; i++) {
                        char b[4096];
                        fprintf(stderr, "%s\n", conf_diag_format(&diags.v[i], b, sizeof b));
                }
                if (r == -ENOENT) {
                        fprintf(stderr, "%s regex: no filter '%s' in %s/filter.d\n", ctl_program, spec, dir);
                        goto finish;
                }
                if (r < 0) {
                        if (diags.n == 0)
                                fprintf(stderr, "%s regex: %s: %s\n", ctl_program, spec, strerror(-r));
                        goto finish;
                }
                conf_loaded = true;
        }

        r = filter_new(&fc, &filter, &ferr);
        if (r < 0) {
                if (r == -EINVAL)
                        fprintf(stderr, "%s:%u: %s (at offset %zu of the expanded regex)\n", ferr.file, ferr.line,
                                ferr.message, ferr.offset);
                else
                        fprintf(stderr, "%s regex: %s\n", ctl_program, strerror(-r));
                goto finish;
        }

        /* the daemon's date code: the filter's datepattern, else automatic detection */
        r = date_pattern_new(fc.datepattern, NULL, &dates);
        if (r == -EINVAL) {
                fprintf(stderr, "%s regex: datepattern '%s' is not supported\n", ctl_program, fc.datepattern);
                goto finish;
        }
        st.per_regex = calloc(fc.n_failregex, sizeof(uint64_t));
        buf = malloc(READ_LINE_MAX + 1);
        strip = malloc(READ_LINE_MAX + 1);
        if (r < 0 || !st.per_regex || !buf || !strip) {
                fprintf(stderr, "%s regex: %s\n", ctl_program, strerror(ENOMEM));
                goto finish;
        }

        if (strcmp(log_path, "-") == 0)
                in = stdin;
        else {
                in = fopen(log_path, "re");
                if (!in) {
                        fprintf(stderr, "%s regex: %s: %m\n", ctl_program, log_path);
                        goto finish;
                }
        }

        for (;;) {
                size_t len, tlen;
                const char *text;
                bool cut, dated;
                int64_t epoch = 0;
                MatchResult m;

                r = read_line(in, buf, &len, &cut);
                if (r < 0) {
                        fprintf(stderr, "%s regex: %s: read error\n", ctl_program, log_path);
                        goto finish;
                }
                if (r == 0)
                        break;
                st.lines++;
                tlen = date_strip(dates, buf, len, now, strip, READ_LINE_MAX + 1, &text, &dated, &epoch);
                st.dated += dated;
                st.cut += cut || tlen > MATCH_LINE_MAX;

                r = cut ? filter_match_cut(filter, text, tlen, &m) : filter_match(filter, text, tlen, &m);
                if (r == MATCH_FAILURE) {
                        st.matched++;
                        st.per_regex[m.regex_index]++;
                        if (json && print_json(st.lines, &m.addr, dated, epoch) < 0) {
                                fprintf(stderr, "%s regex: cannot write output\n", ctl_program);
                                goto finish;
                        }
                } else if (r == MATCH_IGNORED)
                        st.ignored++;
                else
                        st.missed++;
        }

        print_summary(summary, &fc, &st);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "%s regex: cannot write output\n", ctl_program);
                goto finish;
        }
        ret = 0;

finish:
        if (in && in != stdin)
                fclose(in);
        free(buf);
        free(strip);
        date_pattern_free(dates);
        free(st.per_regex);
        filter_free(filter);
        if (conf_loaded)
                filter_conf_done(&fc);
        conf_diags_done(&diags);
        return ret;
}
