/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Civil time: proleptic Gregorian arithmetic, the host's zone (read through localtime_r(), never
 * by setting TZ), logtimezone, and broken-down fields to epoch seconds. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "date-internal.h"

static const char months[12][4] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

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
        bool today_valid;       /* date_local_today() of today_now */
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
bool date_local_today(int64_t now_sec, struct tm *ret) {
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
int64_t date_utc_to_epoch(struct tm *tm) {
        if (!zone_arithmetic()) {
                struct tm copy = *tm;
                return (int64_t) timegm(&copy);
        }
        return utc_from_tm(tm);
}

/* Local time of the log: logtimezone when set, else the host's zone. */
int64_t date_log_to_epoch(const DatePattern *p, struct tm *tm) {
        if (p && p->has_tz)
                return date_utc_to_epoch(tm) - p->tz_offset;
        return local_to_epoch(tm);
}

int date_month_from_name(const char *s, size_t len, size_t *i) {
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
bool date_parse_zone(const char *s, size_t len, size_t *i, int *ret_off) {
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

/* Broken-down fields to epoch; a missing year is inferred as for RFC 3164 dates. */
bool date_fields_to_epoch(const DatePattern *p, Fields *f, int64_t now_sec, int64_t *ret) {
        struct tm tm = {}, now_tm;
        bool infer = f->year < 0;
        int64_t t;

        if (!date_local_today(now_sec, &now_tm))
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
                        t = date_utc_to_epoch(&c) - f->offset;
                else
                        t = date_log_to_epoch(p, &c);
                if (!infer || (t <= now_sec + 86400 && (f->yday > 0 || valid_date(&tm))))
                        break;
                tm.tm_year--;
                if (f->yday <= 0 && !valid_date(&tm))
                        return false;
        }
        *ret = t;
        return true;
}

int date_parse_tz(const char *tz, bool *ret_has, int *ret_off) {
        size_t i = 0, len;
        int off;

        *ret_has = false;
        if (!tz || !*tz)
                return 0;
        len = strlen(tz);
        if (!date_parse_zone(tz, len, &i, &off) || i != len)
                return -EINVAL;
        *ret_has = true;
        *ret_off = off;
        return 0;
}
