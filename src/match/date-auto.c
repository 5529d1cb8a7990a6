/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Automatic detection: the formats a log line starts with (RFC 3164, ISO 8601, epoch seconds) read
 * by hand, the built-in templates behind a check of the first bytes, and Apache/nginx's date
 * anywhere near the start. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "date-internal.h"

/* Optional fraction ".123" or ",123456". */
static void skip_fraction(const char *s, size_t len, size_t *i) {
        if ((at(s, len, *i, '.') || at(s, len, *i, ',')) && *i + 1 < len && is_digit(s[*i + 1])) {
                (*i)++;
                while (*i < len && is_digit(s[*i]))
                        (*i)++;
        }
}

/* The end of a date: a blank or the end of the line; anything else means it was not a date after
 * all. The blanks stay in the line, as fail2ban leaves them: filters written for it expect them
 * (exim's start with " " where the date was). */
static bool finish(const char *s, size_t len, size_t *i) {
        return *i >= len || is_blank(s[*i]);
}

static int parse_iso(const DatePattern *p, const char *s, size_t len, int64_t *ret_epoch, size_t *ret_end) {
        struct tm tm = {};
        size_t i = 0;
        int y, offset = 0;
        bool zone = false;
        char sep;

        /* 2026-11-24, and 2026/11/24 or 2026.11.24 (nginx's error log): one separator throughout */
        if (!digits(s, len, &i, 4, &y) || i >= len || (s[i] != '-' && s[i] != '/' && s[i] != '.'))
                return 0;
        sep = s[i++];
        if (!digits(s, len, &i, 2, &tm.tm_mon) || !at(s, len, i, sep))
                return 0;
        i++;
        if (!digits(s, len, &i, 2, &tm.tm_mday))
                return 0;
        if (!at(s, len, i, 'T') && !at(s, len, i, ' '))
                return 0;
        i++;
        if (!parse_time(s, len, &i, &tm))
                return 0;
        tm.tm_year = y - 1900;
        tm.tm_mon -= 1;
        if (!valid_date(&tm))
                return 0;
        skip_fraction(s, len, &i);

        if (at(s, len, i, 'Z')) {
                zone = true;
                i++;
        } else {
                /* "+01:00" right after the time, or after a blank ("2026-11-24 13:05:01.123 +08:00",
                 * as Serilog writes it): a blank and a sign not followed by hh:mm are the message's */
                size_t k = i;
                while (k < len && is_blank(s[k]) && k - i < 2)
                        k++;
                if (at(s, len, k, '+') || at(s, len, k, '-')) {
                        int sign = s[k] == '-' ? -1 : 1, hh, mm;
                        size_t j = k + 1;
                        bool ok = digits(s, len, &j, 2, &hh);

                        if (ok && at(s, len, j, ':'))
                                j++;
                        ok = ok && digits(s, len, &j, 2, &mm) && hh <= 23 && mm <= 59 && (j >= len || is_blank(s[j]));
                        if (ok) {
                                offset = sign * (hh * 3600 + mm * 60);
                                zone = true;
                                i = j;
                        } else if (k == i)
                                return 0;
                }
        }
        if (!finish(s, len, &i))
                return 0;

        if (zone)
                *ret_epoch = date_utc_to_epoch(&tm) - offset;
        else
                *ret_epoch = date_log_to_epoch(p, &tm);
        *ret_end = i;
        return 1;
}

/* "Jan" .. "Dec" at s (3 bytes readable), case as written by syslog: one switch instead of
 * twelve comparisons. Returns 0-11 or -1. */
static int month_from_abbr(const char *s) {
#define M3(a, b, c) ((uint32_t) (a) << 16 | (uint32_t) (b) << 8 | (uint32_t) (c))
        switch (M3((unsigned char) s[0], (unsigned char) s[1], (unsigned char) s[2])) {
        case M3('J', 'a', 'n'): return 0;
        case M3('F', 'e', 'b'): return 1;
        case M3('M', 'a', 'r'): return 2;
        case M3('A', 'p', 'r'): return 3;
        case M3('M', 'a', 'y'): return 4;
        case M3('J', 'u', 'n'): return 5;
        case M3('J', 'u', 'l'): return 6;
        case M3('A', 'u', 'g'): return 7;
        case M3('S', 'e', 'p'): return 8;
        case M3('O', 'c', 't'): return 9;
        case M3('N', 'o', 'v'): return 10;
        case M3('D', 'e', 'c'): return 11;
        default: return -1;
        }
#undef M3
}

static int parse_rfc3164(const DatePattern *p, const char *s, size_t len, int64_t now_sec, int64_t *ret_epoch,
                         size_t *ret_end) {
        struct tm tm = {}, now_tm;
        size_t i = 3;
        int mon;
        int64_t t;

        if (len < 15)
                return 0;
        mon = month_from_abbr(s);
        if (mon < 0 || s[i] != ' ')
                return 0;
        i++;
        /* "Nov  4" (space-padded) or "Nov 04" */
        if (s[i] == ' ' && is_digit(s[i + 1])) {
                tm.tm_mday = s[i + 1] - '0';
                i += 2;
        } else if (!digits(s, len, &i, 2, &tm.tm_mday))
                return 0;
        if (!at(s, len, i, ' '))
                return 0;
        i++;
        if (!parse_time(s, len, &i, &tm))
                return 0;
        skip_fraction(s, len, &i);
        if (!finish(s, len, &i))
                return 0;

        if (!date_local_today(now_sec, &now_tm))
                return 0;
        tm.tm_mon = mon;
        tm.tm_year = now_tm.tm_year;
        /* Feb 29 is checked against a leap year: it can only be from one */
        if (!valid_date(&tm)) {
                if (!(mon == 1 && tm.tm_mday == 29))
                        return 0;
        }
        t = date_log_to_epoch(p, &tm);
        /* A date more than a day ahead is from last year (logs read across New Year). */
        if (t > now_sec + 86400 || !valid_date(&tm)) {
                tm.tm_year--;
                if (!valid_date(&tm))
                        return 0;
                t = date_log_to_epoch(p, &tm);
        }
        *ret_epoch = t;
        *ret_end = i;
        return 1;
}

static int parse_prefix(const DatePattern *p, const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch,
                        size_t *ret_end) {
        if (!line || len < 15)
                return 0;
        if (is_digit(line[0]))
                return parse_iso(p, line, len, ret_epoch, ret_end);
        return parse_rfc3164(p, line, len, now_sec, ret_epoch, ret_end);
}

int date_parse_prefix(const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch, size_t *ret_end) {
        int64_t epoch;
        size_t end;
        int r;

        r = parse_prefix(NULL, line, len, now_sec, &epoch, &end);
        if (r <= 0)
                return 0;
        if (ret_epoch)
                *ret_epoch = epoch;
        if (ret_end)
                *ret_end = end;
        return 1;
}

/* A date found inside a line must stand alone: no letter or digit right before or after it. */
static bool bounded(const char *s, size_t len, size_t start, size_t end) {
        return (start == 0 || !is_alnum(s[start - 1])) && (end >= len || !is_alnum(s[end]));
}

/* "1764000000" or "1764000000.123" (10 digits: 2001 to 2286), at s[i]. */
bool date_parse_epoch(const char *s, size_t len, size_t i, int64_t *ret_epoch, size_t *ret_end) {
        int64_t v = 0;
        size_t k = i;

        while (k < len && is_digit(s[k]) && k - i < 11)
                v = v * 10 + (s[k++] - '0');
        if (k - i != 10)
                return false;
        if (k + 1 < len && s[k] == '.' && is_digit(s[k + 1]))
                for (k++; k < len && is_digit(s[k]);)
                        k++;
        if (!bounded(s, len, i, k))
                return false;
        *ret_epoch = v;
        *ret_end = k;
        return true;
}

/* Apache/nginx access logs: "24/Nov/2026:13:05:01 +0000" (brackets not included). */
static bool parse_clf(const DatePattern *p, const char *s, size_t len, size_t i, int64_t now_sec, int64_t *ret_epoch,
                      size_t *ret_end) {
        Fields f = { .yday = -1 };

        if (!digits(s, len, &i, 2, &f.mday) || !at(s, len, i, '/'))
                return false;
        i++;
        if ((f.mon = date_month_from_name(s, len, &i)) < 0 || !at(s, len, i, '/'))
                return false;
        i++;
        if (!digits(s, len, &i, 4, &f.year) || !at(s, len, i, ':'))
                return false;
        i++;
        {
                struct tm tm = {};
                if (!parse_time(s, len, &i, &tm))
                        return false;
                f.hour = tm.tm_hour;
                f.min = tm.tm_min;
                f.sec = tm.tm_sec;
        }
        if (at(s, len, i, ' ')) {
                size_t k = i + 1;
                if (date_parse_zone(s, len, &k, &f.offset)) {
                        f.zone = true;
                        i = k;
                }
        }
        if (!date_fields_to_epoch(p, &f, now_sec, ret_epoch))
                return false;
        *ret_end = i;
        return true;
}

/* The usual formats, written as datepatterns: the fallback of automatic detection at the line start
 * (date-pattern.c compiles their alternation, as {DATE}), for the dates that the hand-written
 * parsers above do not read ("[Thu Jul 11 01:21:41 2013]", "130324 17:56:14"). */
const char *const date_default_templates[DATE_DEFAULT_TEMPLATES] = {
        "(?:%a )?%b %e %H:%M:%S(?:\\.%f)?(?: %ExY)?",   /* syslog; ctime "Thu Jul 11 01:21:41 2013" */
        "(?:%a )?%b %e %ExY %H:%M:%S(?:\\.%f)?",        /* "Jul 11 2013 01:21:41" */
        "%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M(?::%S)?(?:[.,]%f)?(?:\\s*%z)?", /* ISO 8601 and kin */
        "%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:[.,]%f)?(?: ?%z)?", /* "24/Nov/2026:13:05:01 +0000" */
        "%d(?P<_sep>[-/.])%m(?P=_sep)(?:%ExY|%Exy) %H:%M:%S(?:[.,]%f)?",    /* "24-11-2026 13:05:01" */
        "(?:%ExY|%Exy)%Exm%Exd  ?%H:%M:%S",             /* MySQL "261124 13:05:01" */
        "%b %d, %ExY %I:%M:%S %p",                      /* Java "Nov 24, 2026 1:05:01 PM" */
        "(?:%Z )?%b %e %H:%M:%S",                       /* monit "PDT Nov 24 13:05:01" */
        "@(?P<njt>[0-9a-fA-F]{24})",                    /* TAI64N */
};

/* Whether one of date_default_templates[] could start at line[i]: a letter (a month, a weekday or
 * a zone), "@" (TAI64N), or digits in a run that one of them starts with: 1-2 or 4 before "-", "/"
 * or "." (a day or a year), 6 or 8 before a blank (MySQL). Most lines without a leading date
 * (an access log's "203.0.113.5 - - [...]") are told here without running the regex. A format
 * added to date_default_templates[] must start in one of these ways; test_find_auto_more has a
 * line of each, which fails if this check turns it away. */
static bool default_could_start(const char *line, size_t len, size_t i) {
        size_t k = i;

        if (i >= len)
                return false;
        if (isalpha((unsigned char) line[i]) || line[i] == '@')
                return true;
        while (k < len && is_digit(line[k]) && k - i < 9)
                k++;
        if (k == i || k >= len)
                return false;
        if (strchr("-/.", line[k]))
                return k - i <= 2 || k - i == 4;
        return (k - i == 6 || k - i == 8) && is_blank(line[k]);
}

static int default_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch,
                        size_t *ret_start, size_t *ret_end) {
        bool could = false;

        /* {^LN-BEG}: at offset 0, or past one or two non-word characters */
        for (size_t i = 0; i <= 2 && i < len && !could; i++) {
                if (i > 0 && (is_alnum(line[i - 1]) || line[i - 1] == '_'))
                        break;
                could = default_could_start(line, len, i);
        }
        if (!could)
                return 0;
        return date_default_template_find(p, line, len, now_sec, ret_epoch, ret_start, ret_end);
}

bool date_auto_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch,
                    size_t *ret_start, size_t *ret_end) {
        size_t lim = MIN(len, DATE_SEARCH_MAX);

        *ret_start = 0;
        if (parse_prefix(p, line, len, now_sec, ret_epoch, ret_end) > 0)
                return true;
        if (len > 0 && is_digit(line[0]) && date_parse_epoch(line, len, 0, ret_epoch, ret_end))
                return true;
        if (default_find(p, line, len, now_sec, ret_epoch, ret_start, ret_end) > 0)
                return true;
        for (size_t i = 0; i + 20 <= (p && p->anchored ? MIN(lim, 20) : lim); i++) {
                if (line[i] != '[' && !(i == 0 || line[i - 1] == ' '))
                        continue;
                *ret_start = line[i] == '[' ? i + 1 : i;
                if (is_digit(line[*ret_start]) && parse_clf(p, line, len, *ret_start, now_sec, ret_epoch, ret_end))
                        return true;
        }
        return false;
}
