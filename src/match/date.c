/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "date.h"
#include "util/macro.h"

/* A datepattern line with regex syntax, compiled (see template_compile()). */
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

/* Days since 1970-01-01 of a proleptic Gregorian date; mon 0-11, mday may run past the month
 * (day 60 of January is March 1st or 2nd), as timegm() normalises it. */
static int64_t days_from_civil(int64_t y, int mon, int mday) {
        int64_t era, yoe, doy, m = mon + 1;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + mday - 1;
        return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* The inverse, for the local date of "now". */
static void civil_from_days(int64_t z, int *ret_year, int *ret_mon, int *ret_mday) {
        int64_t era, doe, yoe, doy, mp;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *ret_mday = (int) (doy - (153 * mp + 2) / 5 + 1);
        *ret_mon = (int) (mp < 10 ? mp + 2 : mp - 10);
        *ret_year = (int) (yoe + era * 400 + (*ret_mon <= 1));
}

static int64_t floor_div(int64_t a, int64_t b) {
        return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* timegm() by arithmetic: the fields are validated by the parsers (seconds up to 60, normalised
 * into the next minute as timegm does). */
static int64_t utc_from_tm(const struct tm *tm) {
        return days_from_civil((int64_t) tm->tm_year + 1900, tm->tm_mon, tm->tm_mday) * 86400 +
               tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

/* The local UTC offset, cached per hour of UTC. localtime_r() costs about a thousand instructions
 * and is asked twice per zoneless line, but the offset only changes at a zone's transitions. A
 * cached hour was checked at both its ends: the same offset there means none in between (a zone
 * would have to change twice within an hour; tzdata has no such zone). An hour with a transition
 * in it is not cached and asks localtime_r() each time. The cache is keyed on what tzset() sets
 * (tzname, timezone, daylight), so a changed TZ empties it. Per thread: no locks, no sharing. */
#define OFFSET_CACHE 16 /* a power of two above 15: a line's t0 and t (at most 15 hours apart) never share a slot */

typedef struct OffsetSlot {
        int64_t hour;           /* UTC seconds / 3600 */
        long off;
        bool valid;
} OffsetSlot;

typedef struct OffsetCache {
        const char *tzname0, *tzname1;
        long timezone;
        int daylight;
        bool arithmetic;        /* utc_from_tm() agrees with the zone: no leap seconds ("right/") */
        bool today_valid;       /* local_today() of today_now */
        int64_t today_now;
        int today_year, today_mon, today_mday;
        OffsetSlot slots[OFFSET_CACHE];
} OffsetCache;

static _Thread_local OffsetCache offset_cache;

static bool offset_cache_current(const OffsetCache *c) {
        return c->tzname0 == tzname[0] && c->tzname1 == tzname[1] && c->timezone == timezone &&
               c->daylight == daylight;
}

static bool local_offset_slow(int64_t t, long *ret_off, struct tm *ret_tm) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (!localtime_r(&tt, &tm))
                return false;
        *ret_off = tm.tm_gmtoff;
        if (ret_tm)
                *ret_tm = tm;
        return true;
}

/* Makes the cache current and says whether arithmetic may stand in for timegm(). localtime_r()
 * reads the zone the first time only (later ones only after tzset()), so the key is taken after
 * it. The probe is a date after 1972: a zone with leap seconds has counted some by then. */
static bool zone_arithmetic(void) {
        OffsetCache *c = &offset_cache;
        struct tm tm;
        long off;

        if (offset_cache_current(c))
                return c->arithmetic;
        memset(c, 0, sizeof *c);
        if (!local_offset_slow(1700000000, &off, &tm))
                return false;
        c->tzname0 = tzname[0];
        c->tzname1 = tzname[1];
        c->timezone = timezone;
        c->daylight = daylight;
        c->arithmetic = utc_from_tm(&tm) - off == 1700000000;
        return c->arithmetic;
}

/* Returns false when localtime_r() fails. Only after zone_arithmetic() said true. */
static bool local_offset(int64_t t, long *ret_off) {
        int64_t hour = floor_div(t, 3600);
        OffsetSlot *slot = &offset_cache.slots[(uint64_t) hour % OFFSET_CACHE];
        long off_a, off_b;

        if (slot->valid && slot->hour == hour) {
                *ret_off = slot->off;
                return true;
        }
        if (!local_offset_slow(hour * 3600, &off_a, NULL) || !local_offset_slow(hour * 3600 + 3599, &off_b, NULL) ||
            off_a != off_b)
                return local_offset_slow(t, ret_off, NULL);
        slot->hour = hour;
        slot->off = off_a;
        slot->valid = true;
        *ret_off = off_a;
        return true;
}

/* Broken-down local time (no zone) to epoch, without touching TZ: read it as UTC, then subtract
 * the local offset in force at that moment (checked twice, for dates near a DST change). */
static int64_t local_to_epoch(struct tm *tm) {
        int64_t t0, t;
        long off;

        if (!zone_arithmetic()) {
                /* a zone with leap seconds: timegm() and localtime_r() as they count them */
                struct tm copy = *tm, lt;
                time_t s0 = timegm(&copy), s;

                if (!localtime_r(&s0, &lt))
                        return (int64_t) s0;
                s = s0 - lt.tm_gmtoff;
                if (localtime_r(&s, &lt))
                        s = s0 - lt.tm_gmtoff;
                return (int64_t) s;
        }
        t0 = utc_from_tm(tm);
        if (!local_offset(t0, &off))
                return t0;
        t = t0 - off;
        if (local_offset(t, &off))
                t = t0 - off;
        return t;
}

/* The local date at now_sec (year, month, day only), for dates without a year. The caller's
 * now_sec changes seldom (once per read or per run): remembered for it. */
static bool local_today(int64_t now_sec, struct tm *ret) {
        OffsetCache *c = &offset_cache;
        long off;

        if (!zone_arithmetic()) {
                time_t now = (time_t) now_sec;
                return localtime_r(&now, ret);
        }
        if (!c->today_valid || c->today_now != now_sec) {
                if (!local_offset(now_sec, &off))
                        return false;
                civil_from_days(floor_div(now_sec + off, 86400), &c->today_year, &c->today_mon, &c->today_mday);
                c->today_now = now_sec;
                c->today_valid = true;
        }
        ret->tm_year = c->today_year - 1900;
        ret->tm_mon = c->today_mon;
        ret->tm_mday = c->today_mday;
        return true;
}

/* UTC broken-down to epoch: timegm() only in a zone with leap seconds (glibc's timegm counts
 * them there too). */
static int64_t utc_to_epoch(struct tm *tm) {
        if (!zone_arithmetic()) {
                struct tm copy = *tm;
                return (int64_t) timegm(&copy);
        }
        return utc_from_tm(tm);
}

/* Local time of the log: logtimezone when set, else the host's zone. */
static int64_t log_to_epoch(const DatePattern *p, struct tm *tm) {
        if (p && p->has_tz)
                return utc_to_epoch(tm) - p->tz_offset;
        return local_to_epoch(tm);
}

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
                *ret_epoch = utc_to_epoch(&tm) - offset;
        else
                *ret_epoch = log_to_epoch(p, &tm);
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

        if (!local_today(now_sec, &now_tm))
                return 0;
        tm.tm_mon = mon;
        tm.tm_year = now_tm.tm_year;
        /* Feb 29 is checked against a leap year: it can only be from one */
        if (!valid_date(&tm)) {
                if (!(mon == 1 && tm.tm_mday == 29))
                        return 0;
        }
        t = log_to_epoch(p, &tm);
        /* A date more than a day ahead is from last year (logs read across New Year). */
        if (t > now_sec + 86400 || !valid_date(&tm)) {
                tm.tm_year--;
                if (!valid_date(&tm))
                        return 0;
                t = log_to_epoch(p, &tm);
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

static bool is_alnum(char c) {
        return isalnum((unsigned char) c);
}

/* A date found inside a line must stand alone: no letter or digit right before or after it. */
static bool bounded(const char *s, size_t len, size_t start, size_t end) {
        return (start == 0 || !is_alnum(s[start - 1])) && (end >= len || !is_alnum(s[end]));
}

/* "1764000000" or "1764000000.123" (10 digits: 2001 to 2286), at s[i]. */
static bool parse_epoch(const char *s, size_t len, size_t i, int64_t *ret_epoch, size_t *ret_end) {
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

static int month_from_name(const char *s, size_t len, size_t *i) {
        static const char *const full[12] = { "January", "February", "March",     "April",   "May",      "June",
                                               "July",    "August",   "September", "October", "November", "December" };

        if (*i + 3 > len)
                return -1;
        for (int m = 0; m < 12; m++)
                if (strncasecmp(s + *i, months[m], 3) == 0) {
                        size_t fl = strlen(full[m]);
                        if (*i + fl <= len && strncasecmp(s + *i, full[m], fl) == 0)
                                *i += fl;
                        else
                                *i += 3;
                        return m;
                }
        return -1;
}

/* "+0200", "+02:00", "-05", "Z", "UTC", "GMT" at s[*i]. */
static bool parse_zone(const char *s, size_t len, size_t *i, int *ret_off) {
        int hh, mm = 0, sign;
        size_t j = *i;

        if (at(s, len, j, 'Z')) {
                *ret_off = 0;
                *i = j + 1;
                return true;
        }
        if (j + 3 <= len && (strncmp(s + j, "UTC", 3) == 0 || strncmp(s + j, "GMT", 3) == 0)) {
                j += 3;
                if (!at(s, len, j, '+') && !at(s, len, j, '-')) {
                        *ret_off = 0;
                        *i = j;
                        return true;
                }
        }
        if (!at(s, len, j, '+') && !at(s, len, j, '-'))
                return false;
        sign = s[j++] == '-' ? -1 : 1;
        if (!digits(s, len, &j, 2, &hh))
                return false;
        if (at(s, len, j, ':'))
                j++;
        if (j < len && is_digit(s[j]) && !digits(s, len, &j, 2, &mm))
                return false;
        if (hh > 23 || mm > 59)
                return false;
        *ret_off = sign * (hh * 3600 + mm * 60);
        *i = j;
        return true;
}

/* Up to max digits (at least one). */
static bool num(const char *s, size_t len, size_t *i, unsigned max, int *ret) {
        int v = 0;
        unsigned n = 0;

        while (*i < len && n < max && is_digit(s[*i])) {
                v = v * 10 + (s[(*i)++] - '0');
                n++;
        }
        *ret = v;
        return n > 0;
}

typedef struct Fields {
        int year, mon, mday, yday, hour, min, sec;
        bool zone;
        int offset;
} Fields;

/* Broken-down fields to epoch; a missing year is inferred as for RFC 3164 dates. */
static bool fields_to_epoch(const DatePattern *p, Fields *f, int64_t now_sec, int64_t *ret) {
        struct tm tm = {}, now_tm;
        bool infer = f->year < 0;
        int64_t t;

        if (!local_today(now_sec, &now_tm))
                return false;
        tm.tm_year = infer ? now_tm.tm_year : f->year - 1900;
        tm.tm_hour = f->hour;
        tm.tm_min = f->min;
        tm.tm_sec = f->sec;
        if (f->yday > 0) {
                tm.tm_mon = 0;
                tm.tm_mday = f->yday; /* day 60 of January is normalised, as by timegm */
        } else {
                tm.tm_mon = f->mon < 0 ? now_tm.tm_mon : f->mon;
                tm.tm_mday = f->mday < 0 ? now_tm.tm_mday : f->mday;
                if (!valid_date(&tm) && !(infer && tm.tm_mon == 1 && tm.tm_mday == 29))
                        return false;
        }
        if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
                return false;
        for (int pass = 0; pass < 2; pass++) {
                struct tm c = tm;
                if (f->zone)
                        t = utc_to_epoch(&c) - f->offset;
                else
                        t = log_to_epoch(p, &c);
                if (!infer || (t <= now_sec + 86400 && (f->yday > 0 || valid_date(&tm))))
                        break;
                tm.tm_year--;
                if (f->yday <= 0 && !valid_date(&tm))
                        return false;
        }
        *ret = t;
        return true;
}

/* Matches the fail2ban-style pattern at s[i]. Returns true with *ret_end. */
static bool pattern_at(const DatePattern *p, const char *s, size_t len, size_t i, int64_t now_sec, int64_t *ret_epoch,
                       size_t *ret_end) {
        Fields f = { .year = -1, .mon = -1, .mday = -1, .yday = -1 };
        const char *q = p->spec;
        int v;

        for (; *q; q++) {
                if (*q == '\\' && q[1]) {
                        q++;
                        if (!at(s, len, i, *q))
                                return false;
                        i++;
                        continue;
                }
                if (*q == '.') { /* regex "any character" */
                        if (i >= len)
                                return false;
                        i++;
                        continue;
                }
                if (*q != '%') {
                        if (!at(s, len, i, *q))
                                return false;
                        i++;
                        continue;
                }
                q++;
                switch (*q) {
                case 'Y':
                        if (!digits(s, len, &i, 4, &f.year))
                                return false;
                        break;
                case 'y':
                        if (!digits(s, len, &i, 2, &v))
                                return false;
                        f.year = 2000 + v;
                        break;
                case 'm':
                        if (!num(s, len, &i, 2, &v) || v < 1 || v > 12)
                                return false;
                        f.mon = v - 1;
                        break;
                case 'e':
                        if (at(s, len, i, ' '))
                                i++;
                        __attribute__((fallthrough));
                case 'd':
                        if (!num(s, len, &i, 2, &f.mday) || f.mday < 1)
                                return false;
                        break;
                case 'j':
                        if (!num(s, len, &i, 3, &f.yday) || f.yday < 1 || f.yday > 366)
                                return false;
                        break;
                case 'H':
                        if (!num(s, len, &i, 2, &f.hour))
                                return false;
                        break;
                case 'M':
                        if (!num(s, len, &i, 2, &f.min))
                                return false;
                        break;
                case 'S':
                        if (!num(s, len, &i, 2, &f.sec))
                                return false;
                        break;
                case 'f':
                        if (!num(s, len, &i, 9, &v))
                                return false;
                        break;
                case 'b':
                case 'B':
                case 'h':
                        if ((f.mon = month_from_name(s, len, &i)) < 0)
                                return false;
                        break;
                case 'a':
                case 'A': {
                        size_t k = i;
                        while (k < len && isalpha((unsigned char) s[k]))
                                k++;
                        if (k - i < 3)
                                return false;
                        i = k;
                        break;
                }
                case 'z':
                case 'Z':
                        if (!parse_zone(s, len, &i, &f.offset))
                                return false;
                        f.zone = true;
                        break;
                case '%':
                        if (!at(s, len, i, '%'))
                                return false;
                        i++;
                        break;
                default:
                        return false; /* rejected by date_pattern_new() */
                }
        }
        if (!fields_to_epoch(p, &f, now_sec, ret_epoch))
                return false;
        *ret_end = i;
        return true;
}

/* Apache/nginx access logs: "24/Nov/2026:13:05:01 +0000" (brackets not included). */
static bool parse_clf(const DatePattern *p, const char *s, size_t len, size_t i, int64_t now_sec, int64_t *ret_epoch,
                      size_t *ret_end) {
        Fields f = { .yday = -1 };

        if (!digits(s, len, &i, 2, &f.mday) || !at(s, len, i, '/'))
                return false;
        i++;
        if ((f.mon = month_from_name(s, len, &i)) < 0 || !at(s, len, i, '/'))
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
                if (parse_zone(s, len, &k, &f.offset)) {
                        f.zone = true;
                        i = k;
                }
        }
        if (!fields_to_epoch(p, &f, now_sec, ret_epoch))
                return false;
        *ret_end = i;
        return true;
}

static int parse_tz(const char *tz, bool *ret_has, int *ret_off) {
        size_t i = 0, len;
        int off;

        *ret_has = false;
        if (!tz || !*tz)
                return 0;
        len = strlen(tz);
        if (!parse_zone(tz, len, &i, &off) || i != len)
                return -EINVAL;
        *ret_has = true;
        *ret_off = off;
        return 0;
}

/* ---- datepatterns with regex syntax: fail2ban's templates, compiled with PCRE2 ----
 *
 * A line of a datepattern is a regex (Python syntax, which PCRE2 reads) in which
 *  - %Y %m %d ... stand for the fields of the date, and %ExY %Exm ... for stricter forms of them
 *    (a 4-digit year from 2000, a 2-digit month or day with its leading zero);
 *  - {^LN-BEG} anchors at the line start, past up to two non-word characters ("[" before a date);
 *  - {DATE} stands for any of the usual formats (default_templates[] below);
 *  - the first capturing group, if any, is the date (what is cut out of the line); otherwise the
 *    whole match is;
 *  - a line that is only EPOCH, LEPOCH (milliseconds), TAI64N or ISO8601 (each may follow
 *    {^LN-BEG} or ^) names a format of its own; one that is only {^LN-BEG} or ^ means the usual
 *    formats at the line start.
 * The fields come out as named groups "nj" + a letter; several may carry one name (the
 * alternatives of {DATE}), only the one that matched is set. */

#define LN_BEG "(?:^|(?<=^\\W)|(?<=^\\W{2}))"

/* The usual formats, written as datepatterns; {DATE} is their alternation. */
static const char *const default_templates[] = {
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

static bool keyword(const char *s, const char *kw) {
        return strcasecmp(s, kw) == 0;
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
                                return template_write(f, default_templates[2], date_group, depth + 1, why);
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
                        for (size_t i = 0; i < ELEMENTSOF(default_templates); i++) {
                                bool ignored = true; /* the defaults have no capturing group */
                                if (i > 0)
                                        fputc('|', f);
                                if (template_write(f, default_templates[i], &ignored, depth + 1, why) < 0)
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

static void template_done(Template *t) {
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
                template_done(t);
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
                        if ((f.mon = month_from_name(s, k, &q)) < 0)
                                return false;
                        break;
                }
                case 'z':
                case 'Z': {
                        size_t q = i;
                        /* a zone name we do not know (PDT) leaves the date in local time */
                        if (parse_zone(s, k, &q, &f.offset) && q == k)
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
        return fields_to_epoch(p, &f, now_sec, ret);
}

/* The usual formats at the line start: the fallback of automatic detection, for the dates that
 * the hand-written parsers above do not read ("[Thu Jul 11 01:21:41 2013]", "130324 17:56:14").
 * And the bounds of every template's match: a datepattern is the admin's, but the lines are
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

/* Tries t on line; 1 with the date's bytes and epoch, 0 when it does not match. */
static int template_find(const DatePattern *p, const Template *t, pcre2_match_data *md, const char *line, size_t len,
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

/* Whether one of default_templates[] could start at line[i]: a letter (a month, a weekday or a
 * zone), "@" (TAI64N), or digits in a run that one of them starts with: 1-2 or 4 before "-", "/"
 * or "." (a day or a year), 6 or 8 before a blank (MySQL). Most lines without a leading date
 * (an access log's "203.0.113.5 - - [...]") are told here without running the regex. A format
 * added to default_templates[] must start in one of these ways; test_find_auto_more has a line
 * of each, which fails if this check turns it away. */
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
        (void) pthread_once(&date_once, date_init);
        if (!default_template.re)
                return 0;
        if (!default_md && !(default_md = pcre2_match_data_create_from_pattern(default_template.re, NULL)))
                return 0;
        return template_find(p, &default_template, default_md, line, len, now_sec, ret_epoch, ret_start, ret_end);
}

/* Whether spec needs the templates: more than one line, regex syntax, %Ex, or a keyword the hand
 * matcher does not read. */
static bool needs_templates(const char *s) {
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

/* Compiles each line of spec into p->templates; on -EINVAL, why names the line and the fault. */
static int templates_new(DatePattern *p, const char *spec, char *why, size_t whylen) {
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

int date_pattern_new(const char *spec, const char *tz, DatePattern **ret) {
        char why[256];

        return date_pattern_new_why(spec, tz, ret, why, sizeof why);
}

int date_pattern_new_why(const char *spec, const char *tz, DatePattern **ret, char *why, size_t whylen) {
        DatePattern *p;
        const char *s = spec;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        if (parse_tz(tz, &p->has_tz, &p->tz_offset) < 0) {
                snprintf(why, whylen, "logtimezone '%.60s' is not a zone (UTC, UTC+0200, +02:00, -0500)", tz);
                goto invalid;
        }
        if (s && *s) {
                if (strncmp(s, "{^LN-BEG}", 9) == 0) {
                        p->anchored = true;
                        s += 9;
                } else if (*s == '^') {
                        p->anchored = true;
                        s++;
                }
                if (needs_templates(spec)) {
                        int r = templates_new(p, spec, why, whylen);
                        if (r < 0) {
                                p = date_pattern_free(p);
                                return r;
                        }
                } else if (*s == 0)
                        ; /* "{^LN-BEG}" or "^" alone: automatic detection, at the line start only */
                else if (strcmp(s, "{NONE}") == 0)
                        p->none = true;
                else if (keyword(s, "EPOCH")) /* fail2ban's filters write "Epoch" too */
                        p->epoch = true;
                else {
                        /* plain text and the directives the hand matcher reads (needs_templates()) */
                        p->spec = strdup(s);
                        if (!p->spec) {
                                free(p);
                                return -ENOMEM;
                        }
                }
        }
        *ret = p;
        return 0;
invalid:
        free(p);
        return -EINVAL;
}

DatePattern *date_pattern_free(DatePattern *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_templates; i++)
                template_done(&p->templates[i]);
        pcre2_match_data_free(p->md);
        free(p->spec);
        free(p);
        return NULL;
}

int date_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch,
              size_t *ret_start, size_t *ret_end) {
        size_t lim = MIN(len, DATE_SEARCH_MAX), end = 0, start = 0;
        int64_t epoch = 0;
        bool found = false;

        if (!line)
                return 0;
        if (p && p->none)
                return 0;
        if (p && p->n_templates > 0) {
                for (size_t i = 0; i < p->n_templates && !found; i++)
                        found = template_find(p, &p->templates[i], p->md, line, len, now_sec, &epoch, &start, &end) > 0;
        } else if (p && (p->spec || p->epoch)) {
                for (size_t i = 0; i < (p->anchored ? MIN(len, 1) : lim) && !found; i++) {
                        if (i > 0 && is_alnum(line[i - 1]) && is_alnum(line[i]))
                                continue;
                        found = p->epoch ? parse_epoch(line, len, i, &epoch, &end)
                                         : pattern_at(p, line, len, i, now_sec, &epoch, &end);
                        start = i;
                }
        } else {
                if (parse_prefix(p, line, len, now_sec, &epoch, &end) > 0)
                        found = true;
                else if (len > 0 && is_digit(line[0]) && parse_epoch(line, len, 0, &epoch, &end))
                        found = true;
                else if (default_find(p, line, len, now_sec, &epoch, &start, &end) > 0)
                        found = true;
                else
                        for (size_t i = 0; i + 20 <= (p && p->anchored ? MIN(lim, 20) : lim) && !found; i++) {
                                if (line[i] != '[' && !(i == 0 || line[i - 1] == ' '))
                                        continue;
                                start = line[i] == '[' ? i + 1 : i;
                                found = is_digit(line[start]) &&
                                        parse_clf(p, line, len, start, now_sec, &epoch, &end);
                        }
        }
        if (!found)
                return 0;
        *ret_epoch = epoch;
        *ret_start = start;
        *ret_end = end;
        return 1;
}

size_t date_strip(const DatePattern *p, const char *line, size_t len, int64_t now_sec, char *out, size_t outlen,
                  const char **ret_text, bool *ret_dated, int64_t *ret_epoch) {
        size_t start, end, n;

        *ret_dated = false;
        *ret_text = line;
        if (date_find(p, line, len, now_sec, ret_epoch, &start, &end) <= 0)
                return len;
        *ret_dated = true;
        if (start == 0) {
                *ret_text = line + end;
                return len - end;
        }
        /* cut the date out of the middle: prefix + suffix */
        n = MIN(start, outlen - 1);
        memmove(out, line, n);
        if (len - end > outlen - 1 - n)
                end = len - (outlen - 1 - n);
        memmove(out + n, line + end, len - end);
        n += len - end;
        out[n] = 0;
        *ret_text = out;
        return n;
}
