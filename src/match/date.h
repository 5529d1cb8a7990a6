/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "prelude.h"

/* Finds a syslog-style date at the start of a log line (RFC 3164 "Nov 24 13:05:01", ISO 8601 /
 * RFC 5424 "2026-11-24T13:05:01.123+01:00", "2026-11-24 13:05:01,123"). now_sec gives the year
 * for RFC 3164 dates (a date in the future by more than a day belongs to last year).
 * Returns 1 with *ret_epoch (UTC seconds; local time for dates without zone) and *ret_end (the
 * end of the date; the blanks after it are not included), or 0 when there is no date. */
int date_parse_prefix(const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch, size_t *ret_end);

/* How dates are found in the lines of one log file: fail2ban's datepattern and logtimezone. */
typedef struct DatePattern DatePattern;

/* spec NULL or "": automatic detection (the formats above at the line start, epoch seconds
 * "1764000000[.123]" at the line start, the usual formats of date-auto.c's date_default_templates[]
 * at the line start past up to two non-word characters ("[Tue Nov 24 13:05:01 2026]", "261124 13:05:01"),
 * Apache/nginx "24/Nov/2026:13:05:01 +0000" anywhere in the first DATE_SEARCH_MAX bytes).
 * Otherwise fail2ban's syntax, one pattern per line, tried in order: a regex in which %Y %y %m %d
 * %e %j %H %k %I %l %p %M %S %f %b %B %h %a %A %z %Z %s %% (and %ExY %Exm %Exd ... stricter) stand
 * for the date's fields, "{^LN-BEG}" anchors at the line start, "{DATE}" stands for the usual
 * formats and the first capturing group, if any, is the date; a line that is only EPOCH, LEPOCH,
 * TAI64N, ISO8601 or {NONE} (no date: the time of reading) names that. A pattern of plain text and
 * directives takes a hand-written matcher; the others are compiled with PCRE2. tz: NULL or "" for
 * local time, "UTC", "UTC+0200", "+02:00", "-0500"; it applies to dates without a zone of their own.
 * Returns 0, -EINVAL (a pattern that does not compile, a bad tz), -ENOMEM. */
int date_pattern_new(const char *spec, const char *tz, DatePattern **ret);
/* The same; on -EINVAL, why (whylen bytes, NUL-terminated) says what is wrong: the datepattern's
 * line and the fault ("line 2 '^[(%Y': missing closing parenthesis"), or the logtimezone. */
int date_pattern_new_why(const char *spec, const char *tz, DatePattern **ret, char *why, size_t whylen);
DatePattern *date_pattern_free(DatePattern *p);

#define DATE_SEARCH_MAX 512

/* Finds the date of a line. Returns 1 with *ret_epoch and the date's bytes [*ret_start, *ret_end)
 * (the blanks after it are not included), or 0 when the line has
 * no date (or the pattern is {NONE}). p NULL: automatic detection, local time. */
int date_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch,
              size_t *ret_start, size_t *ret_end);

/* Copies line without its date into out (outlen >= len + 1 is always enough), the way fail2ban
 * matches: the date is cut out, the text before and after it (blanks included) stays.
 * Returns the new length; *ret_epoch is set and 1 returned through *ret_dated when a date was
 * found. out may be line when the date is at the start (then nothing moves but the pointer is
 * returned in *ret_text). */
size_t date_strip(const DatePattern *p, const char *line, size_t len, int64_t now_sec, char *out, size_t outlen,
                  const char **ret_text, bool *ret_dated, int64_t *ret_epoch);
