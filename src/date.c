/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "date.h"

struct DatePattern {
        char *spec;             /* NULL: automatic */
        bool anchored, epoch, none;
        bool has_tz;
        int tz_offset;          /* seconds east of UTC, when has_tz */
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

int date_pattern_new(const char *spec, const char *tz, DatePattern **ret) {
        DatePattern *p;
        const char *s = spec;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        if (parse_tz(tz, &p->has_tz, &p->tz_offset) < 0)
                goto invalid;
        if (s && *s) {
                if (strncmp(s, "{^LN-BEG}", 9) == 0) {
                        p->anchored = true;
                        s += 9;
                } else if (*s == '^') {
                        p->anchored = true;
                        s++;
                }
                if (*s == 0)
                        ; /* "{^LN-BEG}" or "^" alone: automatic detection, at the line start only */
                else if (strcmp(s, "{NONE}") == 0)
                        p->none = true;
                else if (strcmp(s, "EPOCH") == 0 || strcmp(s, "LEPOCH") == 0)
                        p->epoch = true;
                else {
                        for (const char *q = s; *q; q++) {
                                if (*q == '\\') {
                                        if (!q[1])
                                                goto invalid;
                                        q++;
                                } else if (*q == '%') {
                                        if (!q[1] || !strchr("YymdejHMSfbBhaAzZ%", q[1]))
                                                goto invalid;
                                        q++;
                                } else if (strchr("()[]{}|*+?$", *q))
                                        goto invalid; /* regex syntax we do not read */
                        }
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
        if (p && (p->spec || p->epoch)) {
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
