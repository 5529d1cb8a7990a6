/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <time.h>

#include "date.h"

static const char months[12][4] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Reads exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, unsigned n, int *ret) {
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

static bool at(const char *s, size_t len, size_t i, char c) {
        return i < len && s[i] == c;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* hh:mm:ss, seconds up to 60 (a leap second is read as 60 and normalised by timegm). */
static bool parse_time(const char *s, size_t len, size_t *i, struct tm *tm) {
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

static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static bool valid_date(const struct tm *tm) {
        int y = tm->tm_year + 1900;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1 || tm->tm_mday > mdays[tm->tm_mon])
                return false;
        return !(tm->tm_mon == 1 && tm->tm_mday == 29 && !leap);
}

/* Broken-down local time (no zone) to epoch, without touching TZ: read it as UTC, then subtract
 * the local offset in force at that moment (checked twice, for dates near a DST change). */
static int64_t local_to_epoch(struct tm *tm) {
        struct tm copy = *tm, lt;
        time_t t0 = timegm(&copy), t;

        if (!localtime_r(&t0, &lt))
                return (int64_t) t0;
        t = t0 - lt.tm_gmtoff;
        if (localtime_r(&t, &lt))
                t = t0 - lt.tm_gmtoff;
        return (int64_t) t;
}

/* Optional fraction ".123" or ",123456". */
static void skip_fraction(const char *s, size_t len, size_t *i) {
        if ((at(s, len, *i, '.') || at(s, len, *i, ',')) && *i + 1 < len && is_digit(s[*i + 1])) {
                (*i)++;
                while (*i < len && is_digit(s[*i]))
                        (*i)++;
        }
}

/* The end of a date: blanks are skipped; anything else but the end of the line means it was
 * not a date after all. */
static bool finish(const char *s, size_t len, size_t *i) {
        if (*i < len && !is_blank(s[*i]))
                return false;
        while (*i < len && is_blank(s[*i]))
                (*i)++;
        return true;
}

static int parse_iso(const char *s, size_t len, int64_t *ret_epoch, size_t *ret_end) {
        struct tm tm = {};
        size_t i = 0;
        int y, offset = 0;
        bool zone = false;
        time_t t;

        if (!digits(s, len, &i, 4, &y) || !at(s, len, i, '-'))
                return 0;
        i++;
        if (!digits(s, len, &i, 2, &tm.tm_mon) || !at(s, len, i, '-'))
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
        } else if (at(s, len, i, '+') || at(s, len, i, '-')) {
                int sign = s[i] == '-' ? -1 : 1, hh, mm;
                size_t j = i + 1;

                if (!digits(s, len, &j, 2, &hh))
                        return 0;
                if (at(s, len, j, ':'))
                        j++;
                if (!digits(s, len, &j, 2, &mm) || hh > 23 || mm > 59)
                        return 0;
                offset = sign * (hh * 3600 + mm * 60);
                zone = true;
                i = j;
        }
        if (!finish(s, len, &i))
                return 0;

        if (zone) {
                t = timegm(&tm);
                *ret_epoch = (int64_t) t - offset;
        } else
                *ret_epoch = local_to_epoch(&tm);
        *ret_end = i;
        return 1;
}

static int parse_rfc3164(const char *s, size_t len, int64_t now_sec, int64_t *ret_epoch, size_t *ret_end) {
        struct tm tm = {}, now_tm;
        time_t now = (time_t) now_sec;
        size_t i = 3;
        int mon = -1;
        int64_t t;

        if (len < 15)
                return 0;
        for (int m = 0; m < 12; m++)
                if (memcmp(s, months[m], 3) == 0) {
                        mon = m;
                        break;
                }
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

        if (!localtime_r(&now, &now_tm))
                return 0;
        tm.tm_mon = mon;
        tm.tm_year = now_tm.tm_year;
        /* Feb 29 is checked against a leap year: it can only be from one */
        if (!valid_date(&tm)) {
                if (!(mon == 1 && tm.tm_mday == 29))
                        return 0;
        }
        t = local_to_epoch(&tm);
        /* A date more than a day ahead is from last year (logs read across New Year). */
        if (t > now_sec + 86400 || !valid_date(&tm)) {
                tm.tm_year--;
                if (!valid_date(&tm))
                        return 0;
                t = local_to_epoch(&tm);
        }
        *ret_epoch = t;
        *ret_end = i;
        return 1;
}

int date_parse_prefix(const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch, size_t *ret_end) {
        int64_t epoch;
        size_t end;
        int r;

        if (!line || len < 15)
                return 0;
        if (is_digit(line[0]))
                r = parse_iso(line, len, &epoch, &end);
        else
                r = parse_rfc3164(line, len, now_sec, &epoch, &end);
        if (r <= 0)
                return 0;
        if (ret_epoch)
                *ret_epoch = epoch;
        if (ret_end)
                *ret_end = end;
        return 1;
}
