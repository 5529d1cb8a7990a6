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
#include "cli.h"
#include "date.h"
#include "match.h"

/* Longer lines are cut when read (and matched with filter_match_cut(), so that "$" does not
 * match at the cut). Room for a date in front of MATCH_LINE_MAX bytes of message. */
#define READ_LINE_MAX (MATCH_LINE_MAX + 256)

typedef struct Stats {
        uint64_t lines, cut, dated, matched, ignored, missed;
        uint64_t limit, limit_first_line;  /* lines a regex gave up on (PCRE2 limit), the first one */
        int limit_regex;                   /* its index in failregex; -1: the prefregex */
        uint64_t *per_regex;
} Stats;

static void show_usage(FILE *f) {
        fprintf(f,
                "Usage: %s regex [--config-dir DIR] [--json] LOG FILTER [FILTER...]\n"
                "       %s regex [--config-dir DIR] --lint FILTER [FILTER...]\n\n"
                "Matches each line of LOG (a file, or - for stdin) against FILTER and prints a summary.\n"
                "FILTER is a filter name from DIR/filter.d (\"sshd\", \"sshd[mode=aggressive]\"), the path\n"
                "of a filter file, or a regex containing <HOST>. A leading date is stripped first.\n"
                "With several filters each line goes through every one of them, as in the daemon when\n"
                "several jails read one log, and there is a summary per filter.\n\n"
                "  --config-dir DIR  configuration directory (default %s)\n"
                "  --json            one JSON object per matching line on stdout:\n"
                "                    {\"line\": N, \"host\": \"ADDR\", \"time\": EPOCH or null}, plus\n"
                "                    \"filter\": FILTER when there are several (the summary then goes\n"
                "                    to stderr), \"user\": USER when the filter's <F-USER> took part\n"
                "                    (at most 256 bytes; not UTF-8: '?' for each byte above 127)\n"
                "  --lint            no log: warn about each regex of FILTER that a client can steer\n"
                "                    (FILE:LINE: warning: ...); exit 0 when clean, 1 with warnings,\n"
                "                    2 when a filter does not load\n",
                ctl_program, ctl_program, NFTJAIL_CONFIG_DIR);
}

static bool looks_like_regex(const char *s) {
        static const char *const tags[] = { "<HOST>", "<ADDR>", "<IP4>", "<IP6>", "<SUBNET>", "<F-" };

        for (size_t i = 0; i < ELEMENTSOF(tags); i++)
                if (strstr(s, tags[i]))
                        return true;
        return false;
}

/* Lines come out of one big buffer, found with memchr(): a getc() per byte cost more than the
 * matching. The buffer holds at least two maximal lines, so a line that does not fit is one to
 * cut. */
#define READ_BUF_SIZE (256u * 1024u)

typedef struct Reader {
        FILE *f;
        char *buf;
        size_t start, end;      /* the unread bytes */
        bool eof, skip;         /* skip: drop bytes up to the next newline (the rest of a cut line) */
} Reader;

/* Returns 1 when it read something, 0 at EOF, -EIO. */
static int reader_fill(Reader *rd) {
        size_t n;

        if (rd->eof)
                return 0;
        if (rd->start > 0) {
                memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
                rd->end -= rd->start;
                rd->start = 0;
        }
        n = fread(rd->buf + rd->end, 1, READ_BUF_SIZE - rd->end, rd->f);
        if (n == 0) {
                if (ferror(rd->f))
                        return -EIO;
                rd->eof = true;
                return 0;
        }
        rd->end += n;
        return 1;
}

/* The next line, without its newline (nor a "\r" before it), valid until the next call; the rest
 * of a line longer than READ_LINE_MAX is dropped (*ret_cut). Returns 1 with *ret_line, *ret_len
 * and *ret_cut, 0 at EOF, -EIO. */
static int read_line(Reader *rd, const char **ret_line, size_t *ret_len, bool *ret_cut) {
        for (;;) {
                const char *p = rd->buf + rd->start, *nl = memchr(p, '\n', rd->end - rd->start);
                size_t n;
                bool cut = false;
                int r;

                if (rd->skip) {
                        rd->start = nl ? (size_t) (nl - rd->buf) + 1 : rd->end;
                        rd->skip = !nl;
                        if (!nl && (r = reader_fill(rd)) <= 0)
                                return r;
                        continue;
                }
                if (nl) {
                        n = (size_t) (nl - p);
                        rd->start += n + 1;
                } else if (rd->end - rd->start > READ_LINE_MAX) {
                        n = rd->end - rd->start;
                        rd->start = rd->end;
                        rd->skip = true;
                } else {
                        r = reader_fill(rd);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                        if (rd->start == rd->end)
                                return 0;
                        /* a last line without a newline */
                        n = rd->end - rd->start;
                        rd->start = rd->end;
                }
                if (n > READ_LINE_MAX) {
                        n = READ_LINE_MAX;
                        cut = true;
                }
                if (!cut && n > 0 && p[n - 1] == '\r')
                        n--;
                *ret_line = p;
                *ret_len = n;
                *ret_cut = cut;
                return 1;
        }
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
        if (st->limit > 0) {
                const FilterRegex *r = st->limit_regex < 0 ? &fc->prefregex
                                       : (size_t) st->limit_regex < fc->n_failregex ? &fc->failregex[st->limit_regex]
                                       : NULL;
                fprintf(out, "\nGave up: %" PRIu64 " of the missed lines at a PCRE2 limit, first line %" PRIu64
                             ", by the %s at %s:%u: it may backtrack catastrophically (the daemon does not count "
                             "these lines either)\n",
                        st->limit, st->limit_first_line, st->limit_regex < 0 ? "prefregex" : "failregex",
                        r && r->file ? r->file : fc->file ? fc->file : "?", r ? r->line : 0);
        }
}

/* The <F-USER> of m as a JSON string, or NULL when it took no part. */
static json_t *json_user(const MatchResult *m) {
        const MatchTag *t = match_tag_find(m, "user");
        char user[MATCH_TAG_VALUE_MAX + 1];
        json_t *s;

        if (!t)
                return NULL;
        match_tag_copy(t, user, sizeof user, NULL);
        s = json_string(user);
        if (s)
                return s;
        for (char *p = user; *p; p++)
                if ((unsigned char) *p >= 0x80)
                        *p = '?';
        return json_string(user);
}

/* filter is NULL when there is one filter: the object keeps the form scripts already read */
static int print_json(uint64_t lineno, const MatchResult *m, bool dated, int64_t epoch, const char *filter) {
        char buf[ADDR_STRLEN];
        json_t *o, *user = json_user(m);
        int r;

        o = json_pack("{s:I, s:s, s:o}", "line", (json_int_t) lineno, "host", addr_to_string(&m->addr, buf, sizeof buf),
                      "time", dated ? json_integer((json_int_t) epoch) : json_null());
        if (o && filter && json_object_set_new(o, "filter", json_string(filter)) < 0) {
                json_decref(o);
                o = NULL;
        }
        if (o && user && json_object_set_new(o, "user", user) < 0) {
                json_decref(o);
                o = NULL;
        } else if (!o)
                json_decref(user);
        if (!o)
                return -ENOMEM;
        r = json_dumpf(o, stdout, JSON_COMPACT);
        json_decref(o);
        if (r < 0 || fputc('\n', stdout) == EOF)
                return -EIO;
        return 0;
}

static bool same_string(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* One FILTER argument: its configuration, compiled filter, date pattern and counts. */
typedef struct Job {
        const char *spec;
        FilterConf fc;
        bool conf_loaded;
        FilterRegex literal_regex;
        Filter *filter;
        DatePattern *dates;
        bool own_strip;         /* false: strips like the job before it, so takes its result */
        Stats st;
} Job;

static void job_done(Job *j) {
        date_pattern_free(j->dates);
        free(j->st.per_regex);
        filter_free(j->filter);
        if (j->conf_loaded)
                filter_conf_done(&j->fc);
}

/* Loads and compiles one filter; prints what is wrong and returns < 0 on error. */
static int job_init(Job *j, const char *dir, const char *spec, const Job *prev) {
        ConfDiags diags = {};
        FilterError ferr = {};
        int r;

        j->spec = spec;
        if (looks_like_regex(spec) && access(spec, F_OK) < 0) {
                j->literal_regex = (FilterRegex) { .pattern = (char *) spec, .file = (char *) "(command line)", .line = 1 };
                j->fc = (FilterConf) {
                        .name = (char *) "(command line)",
                        .failregex = &j->literal_regex,
                        .n_failregex = 1,
                        .maxlines = 1,
                };
        } else {
                r = filter_conf_load(dir, spec, &j->fc, &diags);
                for (size_t i = 0; i < diags.n; i++) {
                        char b[4096];
                        fprintf(stderr, "%s\n", conf_diag_format(&diags.v[i], b, sizeof b));
                }
                if (r == -ENOENT)
                        fprintf(stderr, "%s regex: no filter '%s' in %s/filter.d\n", ctl_program, spec, dir);
                else if (r < 0 && diags.n == 0)
                        fprintf(stderr, "%s regex: %s: %s\n", ctl_program, spec, strerror(-r));
                conf_diags_done(&diags);
                if (r < 0)
                        return r;
                j->conf_loaded = true;
        }

        r = filter_new(&j->fc, &j->filter, &ferr);
        if (r < 0) {
                if (r == -EINVAL)
                        fprintf(stderr, "%s:%u: %s (at offset %zu of the expanded regex)\n", ferr.file, ferr.line,
                                ferr.message, ferr.offset);
                else
                        fprintf(stderr, "%s regex: %s\n", ctl_program, strerror(-r));
                return r;
        }

        /* the daemon's date code: the filter's datepattern, else automatic detection; a line is
         * stripped once for a run of filters with the same datepattern */
        j->own_strip = !prev || !same_string(prev->fc.datepattern, j->fc.datepattern);
        {
                char why[256];

                r = j->own_strip ? date_pattern_new_why(j->fc.datepattern, NULL, &j->dates, why, sizeof why) : 0;
                if (r == -EINVAL) {
                        fprintf(stderr, "%s regex: datepattern '%s': %s\n", ctl_program, j->fc.datepattern, why);
                        return r;
                }
        }
        j->st.per_regex = calloc(j->fc.n_failregex, sizeof(uint64_t));
        if (r < 0 || !j->st.per_regex) {
                fprintf(stderr, "%s regex: %s\n", ctl_program, strerror(ENOMEM));
                return -ENOMEM;
        }
        return 0;
}

static int lint_print(const LintWarning *w, void *userdata) {
        const Job *j = userdata;

        printf("%s:%u: warning: %s", w->regex->file ?: j->fc.file ?: j->spec, w->regex->line, w->what);
        if (strcmp(w->what, "failregex") == 0 && j->fc.n_failregex > 1)
                printf(" %zu", w->index + 1);
        printf(": %s [%s]\n", w->reason, lint_rule_to_string(w->rule));
        return 0;
}

/* --lint: 0 clean, 1 warnings, 2 a filter that does not load. */
static int regex_lint(const char *dir, char *const *specs, size_t n) {
        uint64_t warnings = 0;
        int ret = 0;

        for (size_t k = 0; k < n; k++) {
                Job j = {};
                FilterError ferr = {};
                int r;

                r = job_init(&j, dir, specs[k], NULL);
                if (r >= 0) {
                        r = filter_lint(&j.fc, lint_print, &j, &ferr);
                        if (r == -EINVAL)
                                fprintf(stderr, "%s:%u: %s\n", ferr.file, ferr.line, ferr.message);
                        else if (r < 0)
                                fprintf(stderr, "%s regex: %s\n", ctl_program, strerror(-r));
                }
                job_done(&j);
                if (r < 0)
                        ret = 2;
                else
                        warnings += (uint64_t) r;
        }
        if (fflush(stdout) != 0) {
                fprintf(stderr, "%s regex: cannot write output\n", ctl_program);
                return 2;
        }
        return ret ?: warnings > 0 ? 1 : 0;
}

int ctl_regex(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config-dir", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "lint", no_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *dir = NFTJAIL_CONFIG_DIR, *log_path;
        bool json = false, lint = false;
        Job *jobs = NULL;
        size_t n_jobs = 0;
        uint64_t lines = 0;
        FILE *in = NULL, *summary;
        Reader rd = {};
        MatchSet *set = NULL;
        uint8_t *want = NULL;
        char *strip = NULL;
        int opt, r, ret = 1;
        int64_t now = (int64_t) time(NULL);

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "c:jlh", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        dir = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'l':
                        lint = true;
                        break;
                case 'h':
                        show_usage(stdout);
                        return 0;
                default:
                        fprintf(stderr, "%s regex: bad option '%s', see '%s regex --help'\n", ctl_program,
                                argv[optind - 1], ctl_program);
                        return 2;
                }
        if (lint) {
                if (json || argc - optind < 1) {
                        fprintf(stderr, "%s regex: --lint takes FILTER names and no --json, see '%s regex --help'\n",
                                ctl_program, ctl_program);
                        return 2;
                }
                return regex_lint(dir, argv + optind, (size_t) (argc - optind));
        }
        if (argc - optind < 2) {
                fprintf(stderr, "%s regex: expected LOG and FILTER, see '%s regex --help'\n", ctl_program, ctl_program);
                return 2;
        }
        log_path = argv[optind];
        summary = json ? stderr : stdout;

        jobs = calloc((size_t) (argc - optind - 1), sizeof(Job));
        rd.buf = malloc(READ_BUF_SIZE);
        strip = malloc(READ_LINE_MAX + 1);
        if (!jobs || !rd.buf || !strip) {
                fprintf(stderr, "%s regex: %s\n", ctl_program, strerror(ENOMEM));
                goto finish;
        }
        for (int i = optind + 1; i < argc; i++) {
                r = job_init(&jobs[n_jobs], dir, argv[i], n_jobs > 0 ? &jobs[n_jobs - 1] : NULL);
                n_jobs++;
                if (r < 0)
                        goto finish;
        }

        /* several filters that all see the same text (one datepattern): one scan of each line for
         * the literals of all of them, and only those whose literals it finds run (match.h) */
        if (n_jobs > 1) {
                bool one_strip = true;
                Filter **fs = calloc(n_jobs, sizeof *fs);

                for (size_t k = 1; k < n_jobs; k++)
                        one_strip = one_strip && !jobs[k].own_strip;
                for (size_t k = 0; fs && k < n_jobs; k++)
                        fs[k] = jobs[k].filter;
                want = calloc(n_jobs, 1);
                if (!fs || !want || (one_strip && match_set_new(fs, n_jobs, &set) < 0)) {
                        free(fs);
                        fprintf(stderr, "%s regex: %s\n", ctl_program, strerror(ENOMEM));
                        goto finish;
                }
                free(fs);
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
        rd.f = in;

        for (;;) {
                size_t len, tlen = 0;
                const char *line, *text = NULL;
                bool cut, dated = false;
                int64_t epoch = 0;

                r = read_line(&rd, &line, &len, &cut);
                if (r < 0) {
                        fprintf(stderr, "%s regex: %s: read error\n", ctl_program, log_path);
                        goto finish;
                }
                if (r == 0)
                        break;
                lines++;

                for (size_t k = 0; k < n_jobs; k++) {
                        Job *j = &jobs[k];
                        MatchResult m;

                        if (j->own_strip)
                                tlen = date_strip(j->dates, line, len, now, strip, READ_LINE_MAX + 1, &text, &dated,
                                                  &epoch);
                        j->st.lines++;
                        j->st.dated += dated;
                        j->st.cut += cut || tlen > MATCH_LINE_MAX;

                        if (set && k == 0)
                                match_set_scan(set, text, tlen, want);
                        if (set)
                                r = want[k] ? match_set_match(set, k, text, tlen, cut, &m) : MATCH_NONE;
                        else
                                r = cut ? filter_match_cut(j->filter, text, tlen, &m)
                                        : filter_match(j->filter, text, tlen, &m);
                        if (r == MATCH_FAILURE) {
                                j->st.matched++;
                                j->st.per_regex[m.regex_index]++;
                                if (json && print_json(lines, &m, dated, epoch, n_jobs > 1 ? j->spec : NULL) < 0) {
                                        fprintf(stderr, "%s regex: cannot write output\n", ctl_program);
                                        goto finish;
                                }
                        } else if (r == MATCH_IGNORED)
                                j->st.ignored++;
                        else {
                                j->st.missed++;
                                if (r == MATCH_LIMIT && j->st.limit++ == 0) {
                                        j->st.limit_first_line = lines;
                                        j->st.limit_regex = m.regex_index;
                                }
                        }
                }
        }

        for (size_t k = 0; k < n_jobs; k++) {
                if (n_jobs > 1) {
                        fprintf(summary, "%sFilter: ", k > 0 ? "\n" : "");
                        print_pattern(summary, jobs[k].spec);
                        fputc('\n', summary);
                }
                print_summary(summary, &jobs[k].fc, &jobs[k].st);
        }
        if (fflush(stdout) != 0) {
                fprintf(stderr, "%s regex: cannot write output\n", ctl_program);
                goto finish;
        }
        ret = 0;

finish:
        match_set_free(set);
        free(want);
        if (in && in != stdin)
                fclose(in);
        free(rd.buf);
        free(strip);
        for (size_t k = 0; k < n_jobs; k++)
                job_done(&jobs[k]);
        free(jobs);
        return ret;
}
