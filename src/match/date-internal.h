/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the pieces of date.h share, and nothing outside src/match includes:
 *   date-civil.c    calendar arithmetic, the local zone and logtimezone, fields to epoch
 *   date-auto.c     automatic detection: the hand-written parsers and the built-in templates
 *   date-pattern.c  datepatterns with regex syntax, compiled with PCRE2
 *   date.c          the DatePattern object, date_find() and date_strip()
 * The small scanners below are static inline: the automatic parsers call them for every line. */

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "date.h"

/* A datepattern line with regex syntax, compiled (see date-pattern.c's template_compile()). */
typedef struct Template {
        pcre2_code *re;
        uint32_t date_group;    /* the capture number of njDATE */
        bool ln_beg;            /* starts with {^LN-BEG}: the date starts at offset 0, 1 or 2 */
} Template;

#define DATE_TEMPLATES_MAX 16

struct DatePattern {
        char *spec;             /* NULL: automatic */
        bool anchored, epoch, none;
        bool has_tz;
        int tz_offset;          /* seconds east of UTC, when has_tz */
        Template templates[DATE_TEMPLATES_MAX]; /* n_templates > 0: these instead of the above */
        size_t n_templates;
        pcre2_match_data *md;
};

/* The fields of a date as a parser found them; -1 where a field was not in the date. */
typedef struct Fields {
        int year, mon, mday, yday, hour, min, sec;
        bool zone;
        int offset;
} Fields;

static inline bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static inline bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static inline bool is_alnum(char c) {
        return isalnum((unsigned char) c);
}

static inline bool at(const char *s, size_t len, size_t i, char c) {
        return i < len && s[i] == c;
}

/* Reads exactly n digits at s[*i]. */
static inline bool digits(const char *s, size_t len, size_t *i, unsigned n, int *ret) {
        int v = 0;

        if (*i + n > len)
                return false;
        for (unsigned k = 0; k < n; k++) {
                if (!is_digit(s[*i + k]))
                        return false;
                v = v * 10 + (s[*i + k] - '0');
        }
        *i += n;
        *ret = v;
        return true;
}

/* Up to max digits (at least one). */
static inline bool num(const char *s, size_t len, size_t *i, unsigned max, int *ret) {
        int v = 0;
        unsigned n = 0;

        while (*i < len && n < max && is_digit(s[*i])) {
                v = v * 10 + (s[(*i)++] - '0');
                n++;
        }
        *ret = v;
        return n > 0;
}

/* hh:mm:ss, seconds up to 60 (a leap second is read as 60 and normalised by timegm). */
static inline bool parse_time(const char *s, size_t len, size_t *i, struct tm *tm) {
        if (!digits(s, len, i, 2, &tm->tm_hour) || !at(s, len, *i, ':'))
                return false;
        (*i)++;
        if (!digits(s, len, i, 2, &tm->tm_min) || !at(s, len, *i, ':'))
                return false;
        (*i)++;
        if (!digits(s, len, i, 2, &tm->tm_sec))
                return false;
        return tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
}

static inline bool valid_date(const struct tm *tm) {
        static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int y = tm->tm_year + 1900;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1 || tm->tm_mday > mdays[tm->tm_mon])
                return false;
        return !(tm->tm_mon == 1 && tm->tm_mday == 29 && !leap);
}

static inline bool keyword(const char *s, const char *kw) {
        return strcasecmp(s, kw) == 0;
}

/* date-civil.c. All of them leave TZ alone and read the zone through localtime_r(). */

/* The local date at now_sec (year, month and day only); false when localtime_r() fails. */
bool date_local_today(int64_t now_sec, struct tm *ret);
/* UTC broken-down time to epoch. */
int64_t date_utc_to_epoch(struct tm *tm);
/* Zoneless broken-down time to epoch: in p's logtimezone when it has one (p may be NULL), else
 * in the host's zone. */
int64_t date_log_to_epoch(const DatePattern *p, struct tm *tm);
/* Fields to epoch; a missing year is the one that puts the date at most a day after now_sec. */
bool date_fields_to_epoch(const DatePattern *p, Fields *f, int64_t now_sec, int64_t *ret);
/* A month's name or its first three letters, any case, at s[*i]: 0-11 and *i past it, or -1. */
int date_month_from_name(const char *s, size_t len, size_t *i);
/* "+0200", "+02:00", "-05", "Z", "UTC", "GMT" at s[*i]: true with seconds east of UTC. */
bool date_parse_zone(const char *s, size_t len, size_t *i, int *ret_off);
/* A logtimezone value; NULL or "" is none. 0 or -EINVAL. */
int date_parse_tz(const char *tz, bool *ret_has, int *ret_off);

/* date-auto.c */

/* The usual formats, written as datepatterns; {DATE} is their alternation, ISO8601 the one at
 * DATE_DEFAULT_ISO8601. */
#define DATE_DEFAULT_TEMPLATES 9
#define DATE_DEFAULT_ISO8601 2
extern const char *const date_default_templates[DATE_DEFAULT_TEMPLATES];
/* "1764000000" or "1764000000.123" at s[i], standing alone. */
bool date_parse_epoch(const char *s, size_t len, size_t i, int64_t *ret_epoch, size_t *ret_end);
/* date_find() when the format is detected (p NULL, or a pattern that is only an anchor). */
bool date_auto_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch,
                    size_t *ret_start, size_t *ret_end);

/* date-pattern.c */

/* Whether spec takes compiled templates rather than date.c's hand matcher. */
bool date_needs_templates(const char *s);
/* Compiles each line of spec into p->templates; on -EINVAL, why names the line and the fault. */
int date_templates_new(DatePattern *p, const char *spec, char *why, size_t whylen);
void date_template_done(Template *t);
/* Tries t on line with md; 1 with the date's bytes and epoch, 0 when it does not match. */
int date_template_find(const DatePattern *p, const Template *t, pcre2_match_data *md, const char *line, size_t len,
                       int64_t now_sec, int64_t *ret_epoch, size_t *ret_start, size_t *ret_end);
/* date_template_find() with {^LN-BEG}, the built-in templates at the line start. */
int date_default_template_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec,
                               int64_t *ret_epoch, size_t *ret_start, size_t *ret_end);
