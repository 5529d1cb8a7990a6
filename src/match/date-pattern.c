/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Datepatterns with regex syntax: fail2ban's templates, compiled with PCRE2.
 *
 * A line of a datepattern is a regex (Python syntax, which PCRE2 reads) in which
 *  - %Y %m %d ... stand for the fields of the date, and %ExY %Exm ... for stricter forms of them
 *    (a 4-digit year from 2000, a 2-digit month or day with its leading zero);
 *  - {^LN-BEG} anchors at the line start, past up to two non-word characters ("[" before a date);
 *  - {DATE} stands for any of the usual formats (date-auto.c's date_default_templates[]);
 *  - the first capturing group, if any, is the date (what is cut out of the line); otherwise the
 *    whole match is;
 *  - a line that is only EPOCH, LEPOCH (milliseconds), TAI64N or ISO8601 (each may follow
 *    {^LN-BEG} or ^) names a format of its own; one that is only {^LN-BEG} or ^ means the usual
 *    formats at the line start.
 * The fields come out as named groups "nj" + a letter; several may carry one name (the
 * alternatives of {DATE}), only the one that matched is set. */

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date-internal.h"

#define LN_BEG "(?:^|(?<=^\\W)|(?<=^\\W{2}))"

#define MONTH_RE \
        "(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
        "oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"

/* The regex of directive c (%c, or %Exc when ex); its field's name letter in *ret_field (0: not
 * captured). NULL for a directive we do not read. */
static const char *directive_re(char c, bool ex, char *ret_field) {
        *ret_field = c;
        switch (c) {
        case 'Y':
                return ex ? "20\\d\\d" : "\\d{4}";
        case 'y':
                return "\\d\\d";
        case 'm':
                return ex ? "1[0-2]|0[1-9]" : "1[0-2]|0?[1-9]";
        case 'd':
                return ex ? "3[01]|[12]\\d|0[1-9]" : "3[01]|[12]\\d|0?[1-9]";
        case 'e':
                *ret_field = 'd';
                return "3[01]|[12]\\d|[ 0]?[1-9]";
        case 'H':
                return ex ? "2[0-3]|[01]\\d" : "2[0-3]|[01]?\\d";
        case 'k':
                *ret_field = 'H';
                return "2[0-3]|1\\d| ?\\d";
        case 'I':
        case 'l':
                *ret_field = 'I';
                return "1[0-2]|0?[1-9]| [1-9]";
        case 'p':
                return "[AaPp][Mm]";
        case 'M':
                return "[0-5]\\d";
        case 'S':
                return "[0-5]\\d|6[01]";
        case 'f':
                *ret_field = 0;
                return "\\d{1,9}";
        case 'j':
                return "36[0-6]|3[0-5]\\d|[12]\\d\\d|0?[1-9]\\d|0{0,2}[1-9]";
        case 'b':
        case 'B':
        case 'h':
                *ret_field = 'b';
                return MONTH_RE;
        case 'a':
        case 'A':
                *ret_field = 0;
                return "(?i:mon|tue|wed|thu|fri|sat|sun)[a-z]*";
        case 'z':
                return "Z|UTC|GMT|[+-]\\d\\d(?::?\\d\\d)?";
        case 'Z':
                *ret_field = 'Z';
                return "[A-Z]{1,5}";
        case 's':
                return "\\d{10,11}";
        default:
                return NULL;
        }
}

/* Writes the PCRE2 form of one datepattern line to f. *date_group: the first capturing group of
 * the line was made the date's (named njDATE). Returns 0 or -EINVAL. */
static int template_write(FILE *f, const char *s, bool *date_group, unsigned depth, const char **why) {
        bool in_class = false;

        /* whole-line keywords, after an optional anchor */
        {
                const char *k = s;
                bool anchored = false;
                if (strncmp(k, "{^LN-BEG}", 9) == 0)
                        k += 9, anchored = true;
                else if (*k == '^')
                        k++, anchored = true;
                if (strncmp(k, "{UNB}", 5) == 0)
                        k += 5;
                if (!*k || keyword(k, "EPOCH") || keyword(k, "LEPOCH") || keyword(k, "TAI64N") ||
                    keyword(k, "ISO8601")) {
                        if (anchored)
                                fputs(LN_BEG, f);
                        if (!*k)
                                return template_write(f, "{DATE}", date_group, depth, why);
                        if (keyword(k, "EPOCH"))
                                fputs("(?<!\\d)(?P<njs>\\d{10,11})(?:\\.\\d{1,6})?(?!\\d)", f);
                        else if (keyword(k, "LEPOCH"))
                                fputs("(?<!\\d)(?P<njL>\\d{13})(?!\\d)", f);
                        else if (keyword(k, "TAI64N"))
                                fputs("@(?P<njt>[0-9a-fA-F]{24})", f);
                        else
                                return template_write(f, date_default_templates[DATE_DEFAULT_ISO8601], date_group,
                                                      depth + 1, why);
                        return 0;
                }
        }
        while (*s) {
                if (strncmp(s, "{^LN-BEG}", 9) == 0) {
                        fputs(LN_BEG, f);
                        s += 9;
                } else if (strncmp(s, "{UNB}", 5) == 0) {
                        s += 5;
                } else if (strncmp(s, "{DATE}", 6) == 0) {
                        if (depth > 0) {
                                *why = "{DATE} inside {DATE}";
                                return -EINVAL;
                        }
                        fputs("(?:", f);
                        for (size_t i = 0; i < DATE_DEFAULT_TEMPLATES; i++) {
                                bool ignored = true; /* the defaults have no capturing group */
                                if (i > 0)
                                        fputc('|', f);
                                if (template_write(f, date_default_templates[i], &ignored, depth + 1, why) < 0)
                                        return -EINVAL;
                        }
                        fputc(')', f);
                        s += 6;
                } else if (*s == '\\') {
                        if (!s[1]) {
                                *why = "a \\ at its end";
                                return -EINVAL;
                        }
                        fputc(s[0], f);
                        fputc(s[1], f);
                        s += 2;
                } else if (in_class) {
                        if (*s == ']')
                                in_class = false;
                        fputc(*s++, f);
                } else if (*s == '[') {
                        in_class = true;
                        fputc(*s++, f);
                        if (*s == '^')
                                fputc(*s++, f);
                        if (*s == ']')
                                fputc(*s++, f);
                } else if (*s == '(' && s[1] != '?') {
                        /* a capturing group of the line: the first is the date, the others are not captured */
                        fputs(*date_group ? "(?:" : "(?P<njDATE>", f);
                        *date_group = true;
                        s++;
                } else if (*s == '%') {
                        bool ex = strncmp(s + 1, "Ex", 2) == 0;
                        char c = s[ex ? 3 : 1], field;
                        const char *re;
                        if (c == '%') {
                                fputc('%', f);
                                s += 2;
                                continue;
                        }
                        re = c ? directive_re(c, ex, &field) : NULL;
                        if (!re) {
                                *why = "a % directive that is not a date's (%Y %m %d %H %M %S %f %b %a %j %z %Z %p %I %k %e %s, "
                                       "%Ex..., %%)";
                                return -EINVAL;
                        }
                        if (field)
                                fprintf(f, "(?P<nj%c>%s)", field, re);
                        else
                                fprintf(f, "(?:%s)", re);
                        s += ex ? 4 : 2;
                } else
                        fputc(*s++, f);
        }
        if (in_class) {
                *why = "a [ without its ]";
                return -EINVAL;
        }
        return 0;
}

void date_template_done(Template *t) {
        pcre2_code_free(t->re);
        t->re = NULL;
}

#define TEMPLATE_MAX (64u * 1024u) /* bytes of a datepattern line once expanded */

/* fail2ban's "**" at the start of a pattern (after its opening parentheses) or at its end (before
 * its closing ones) says "no word boundary here"; we add none, so it is only taken out:
 * ejabberd's "^I\\(()**" is "^I\\(()". In place. */
static void strip_unbounded(char *line) {
        size_t n = strlen(line), i = 0, k;

        k = n;
        while (k > 0 && line[k - 1] == ')')
                k--;
        if (k >= 2 && line[k - 1] == '*' && line[k - 2] == '*' && !(k >= 3 && line[k - 3] == '\\')) {
                memmove(line + k - 2, line + k, n - k + 1);
                n -= 2;
        }
        while (i < n && line[i] == '(')
                i++;
        if (i + 1 < n && line[i] == '*' && line[i + 1] == '*')
                memmove(line + i, line + i + 2, n - i - 1);
}

/* Compiles one datepattern line. Returns 0, -ENOMEM, or -EINVAL with why (up to whylen bytes)
 * saying what is wrong. */
static int template_compile(const char *line, Template *t, char *why, size_t whylen) {
        const char *reason = "";
        char *pat = NULL, *body = NULL;
        size_t n = 0, nb = 0;
        bool date_group = false;
        FILE *f;
        int r, err;
        PCRE2_SIZE off;

        f = open_memstream(&body, &nb);
        if (!f)
                return -ENOMEM;
        r = template_write(f, line, &date_group, 0, &reason);
        if (fclose(f) != 0 || !body) {
                free(body);
                return -ENOMEM;
        }
        if (r >= 0 && nb > TEMPLATE_MAX) {
                /* {DATE} written over and over: the config is bounded, the expansion must be too */
                reason = "longer than 64 KiB once its {DATE}s are written out";
                r = -EINVAL;
        }
        if (r < 0) {
                snprintf(why, whylen, "%s", reason);
                free(body);
                return r;
        }
        f = open_memstream(&pat, &n);
        if (!f) {
                free(body);
                return -ENOMEM;
        }
        /* without a group of its own, the whole match is the date */
        fprintf(f, date_group ? "%s" : "(?P<njDATE>%s)", body);
        free(body);
        if (fclose(f) != 0 || !pat) {
                free(pat);
                return -ENOMEM;
        }
        t->ln_beg = strncmp(line, "{^LN-BEG}", 9) == 0;
        /* anchored at compile time: the JIT does not take PCRE2_ANCHORED at match time */
        t->re = pcre2_compile((PCRE2_SPTR) pat, n, PCRE2_DUPNAMES | (t->ln_beg ? PCRE2_ANCHORED : 0), &err, &off,
                              NULL);
        free(pat);
        if (!t->re) {
                PCRE2_UCHAR msg[160];

                if (err == PCRE2_ERROR_NOMEMORY)
                        return -ENOMEM;
                pcre2_get_error_message(err, msg, sizeof msg);
                snprintf(why, whylen, "%s", (const char *) msg);
                return -EINVAL;
        }
        r = pcre2_substring_number_from_name(t->re, (PCRE2_SPTR) "njDATE");
        if (r <= 0) {
                snprintf(why, whylen, "a group named njDATE, the name nftjail gives the date");
                date_template_done(t);
                return -EINVAL;
        }
        t->date_group = (uint32_t) r;
        (void) pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE);
        return 0;
}

static uint64_t hex_value(const char *s, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                v = v * 16 + (uint64_t) (is_digit(c) ? c - '0' : (tolower((unsigned char) c) - 'a' + 10));
        }
        return v;
}

/* The epoch of a template's match from its named groups. */
static bool template_fields(const DatePattern *p, const pcre2_code *re, const char *s, const PCRE2_SIZE *ov,
                            int64_t now_sec, int64_t *ret) {
        Fields f = { .year = -1, .mon = -1, .mday = -1, .yday = -1 };
        uint32_t count = 0, size = 0;
        PCRE2_SPTR table = NULL;
        int hour12 = -1;
        bool pm = false, dated = false;

        (void) pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count);
        (void) pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &size);
        (void) pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
        for (uint32_t e = 0; e < count; e++) {
                const uint8_t *ent = table + (size_t) e * size;
                unsigned g = (unsigned) ent[0] << 8 | ent[1];
                const char *name = (const char *) ent + 2;
                size_t i, k, n;
                int v = 0;

                if (name[0] != 'n' || name[1] != 'j' || !name[2] || name[3] || ov[2 * g] == PCRE2_UNSET)
                        continue;
                i = ov[2 * g];
                k = ov[2 * g + 1];
                n = k - i;
                if (strchr("YymdHIMSj", name[2])) {
                        size_t q = i;
                        while (q < k && s[q] == ' ')
                                q++;
                        if (q == k || !num(s, k, &q, 4, &v) || q != k)
                                return false;
                }
                switch (name[2]) {
                case 'Y':
                        f.year = v;
                        break;
                case 'y':
                        f.year = 2000 + v;
                        break;
                case 'm':
                        f.mon = v - 1;
                        break;
                case 'd':
                        f.mday = v;
                        break;
                case 'H':
                        f.hour = v;
                        break;
                case 'I':
                        hour12 = v;
                        break;
                case 'p':
                        pm = s[i] == 'P' || s[i] == 'p';
                        break;
                case 'M':
                        f.min = v;
                        break;
                case 'S':
                        f.sec = v;
                        break;
                case 'j':
                        f.yday = v;
                        break;
                case 'b': {
                        size_t q = i;
                        if ((f.mon = date_month_from_name(s, k, &q)) < 0)
                                return false;
                        break;
                }
                case 'z':
                case 'Z': {
                        size_t q = i;
                        /* a zone name we do not know (PDT) leaves the date in local time */
                        if (date_parse_zone(s, k, &q, &f.offset) && q == k)
                                f.zone = true;
                        break;
                }
                case 's':
                case 'L': {
                        int64_t t = 0;
                        for (size_t q = i; q < k; q++)
                                t = t * 10 + (s[q] - '0');
                        *ret = name[2] == 'L' ? t / 1000 : t;
                        dated = true;
                        break;
                }
                case 't': {
                        /* TAI64N: 2^62 + 10 + seconds since the epoch (as daemontools writes it), then
                         * nanoseconds; a label before 1970 or past 2^40 s is no date of a log line */
                        uint64_t label = n == 24 ? hex_value(s + i, 16) : 0, base = (UINT64_C(1) << 62) + 10;

                        if (label < base || label - base > (UINT64_C(1) << 40))
                                return false;
                        *ret = (int64_t) (label - base);
                        dated = true;
                        break;
                }
                default:
                        break;
                }
        }
        if (dated)
                return true;
        if (hour12 >= 0)
                f.hour = hour12 % 12 + (pm ? 12 : 0);
        if (f.mon < 0 && f.mday < 0 && f.yday < 0)
                return false;
        return date_fields_to_epoch(p, &f, now_sec, ret);
}

/* The built-in templates at the line start ("{^LN-BEG}", compiled once for all threads), and
 * the bounds of every template's match: a datepattern is the admin's, but the lines are
 * anyone's, and a pattern that backtracks badly must not stall the daemon on a crafted line. */
#define DATE_MATCH_LIMIT 200000u
#define DATE_DEPTH_LIMIT 5000u
static Template default_template;
static pcre2_match_context *date_mctx;
static pthread_once_t date_once = PTHREAD_ONCE_INIT;
static _Thread_local pcre2_match_data *default_md;

static void date_init(void) {
        date_mctx = pcre2_match_context_create(NULL);
        if (date_mctx) {
                pcre2_set_match_limit(date_mctx, DATE_MATCH_LIMIT);
                pcre2_set_depth_limit(date_mctx, DATE_DEPTH_LIMIT);
        }
        {
                char why[200];

                if (template_compile("{^LN-BEG}", &default_template, why, sizeof why) < 0)
                        default_template.re = NULL;
        }
}

int date_template_find(const DatePattern *p, const Template *t, pcre2_match_data *md, const char *line, size_t len,
                       int64_t now_sec, int64_t *ret_epoch, size_t *ret_start, size_t *ret_end) {
        uint32_t date_group = 0;
        const PCRE2_SIZE *ov;
        int rc;

        (void) pthread_once(&date_once, date_init);
        if (!date_mctx)
                return 0;
        if (t->ln_beg) {
                /* PCRE2 cannot tell that {^LN-BEG}'s lookbehinds pin the start: without this it
                 * would try every offset of the line */
                rc = PCRE2_ERROR_NOMATCH;
                for (size_t at = 0; at <= 2 && at <= len && rc == PCRE2_ERROR_NOMATCH; at++) {
                        if (at > 0 && (is_alnum(line[at - 1]) || line[at - 1] == '_'))
                                break;
                        rc = pcre2_match(t->re, (PCRE2_SPTR) line, MIN(len, DATE_SEARCH_MAX), at, 0, md, date_mctx);
                }
        } else
                rc = pcre2_match(t->re, (PCRE2_SPTR) line, MIN(len, DATE_SEARCH_MAX), 0, 0, md, date_mctx);
        if (rc <= 0)
                return 0;
        ov = pcre2_get_ovector_pointer(md);
        date_group = t->date_group;
        if (ov[2 * date_group] == PCRE2_UNSET || !template_fields(p, t->re, line, ov, now_sec, ret_epoch))
                return 0;
        *ret_start = ov[2 * date_group];
        *ret_end = ov[2 * date_group + 1];
        return 1;
}

int date_default_template_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec,
                               int64_t *ret_epoch, size_t *ret_start, size_t *ret_end) {
        (void) pthread_once(&date_once, date_init);
        if (!default_template.re)
                return 0;
        if (!default_md && !(default_md = pcre2_match_data_create_from_pattern(default_template.re, NULL)))
                return 0;
        return date_template_find(p, &default_template, default_md, line, len, now_sec, ret_epoch, ret_start, ret_end);
}

/* Whether spec needs the templates: more than one line, regex syntax, %Ex, or a keyword the hand
 * matcher does not read. */
bool date_needs_templates(const char *s) {
        if (strchr(s, '\n'))
                return true;
        if (strncmp(s, "{^LN-BEG}", 9) == 0)
                s += 9;
        else if (*s == '^')
                s++;
        if (!*s || strcmp(s, "{NONE}") == 0 || keyword(s, "EPOCH"))
                return false;
        for (const char *q = s; *q; q++) {
                if (*q == '\\') {
                        if (!q[1])
                                return true;
                        q++;
                } else if (*q == '%') {
                        if (!q[1] || !strchr("YymdejHMSfbBhaAzZ%", q[1]))
                                return true;
                        q++;
                } else if (strchr("()[]{}|*+?$", *q))
                        return true;
        }
        return keyword(s, "LEPOCH") || keyword(s, "TAI64N") || keyword(s, "ISO8601");
}

int date_templates_new(DatePattern *p, const char *spec, char *why, size_t whylen) {
        const char *s = spec;
        unsigned no = 0;
        int r;

        while (*s) {
                const char *e = strchrnul(s, '\n');
                size_t n = (size_t) (e - s);
                char *line;

                while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                        n--;
                while (n > 0 && (*s == ' ' || *s == '\t'))
                        s++, n--;
                no++;
                if (n > 0 && !(n == 6 && strncmp(s, "{NONE}", 6) == 0)) {
                        char reason[200] = "";

                        if (p->n_templates >= DATE_TEMPLATES_MAX) {
                                snprintf(why, whylen, "more than %d patterns", DATE_TEMPLATES_MAX);
                                return -EINVAL;
                        }
                        line = strndup(s, n);
                        if (!line)
                                return -ENOMEM;
                        strip_unbounded(line);
                        r = template_compile(line, &p->templates[p->n_templates], reason, sizeof reason);
                        if (r == -EINVAL)
                                snprintf(why, whylen, "line %u '%.80s': %s", no, line, reason);
                        free(line);
                        if (r < 0)
                                return r;
                        p->n_templates++;
                }
                s = *e ? e + 1 : e;
        }
        if (p->n_templates == 0) {
                snprintf(why, whylen, "no pattern, only {NONE}");
                return -EINVAL;
        }
        {
                uint32_t most = 0;
                for (size_t i = 0; i < p->n_templates; i++) {
                        uint32_t c = 0;
                        (void) pcre2_pattern_info(p->templates[i].re, PCRE2_INFO_CAPTURECOUNT, &c);
                        most = MAX(most, c);
                }
                p->md = pcre2_match_data_create(most + 1, NULL);
        }
        return p->md ? 0 : -ENOMEM;
}
