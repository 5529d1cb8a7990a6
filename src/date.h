/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "nftjail.h"

/* Finds a syslog-style date at the start of a log line (RFC 3164 "Nov 24 13:05:01", ISO 8601 /
 * RFC 5424 "2026-11-24T13:05:01.123+01:00", "2026-11-24 13:05:01,123"). now_sec gives the year
 * for RFC 3164 dates (a date in the future by more than a day belongs to last year).
 * Returns 1 with *ret_epoch (UTC seconds; local time for dates without zone) and *ret_end (bytes
 * to skip, including following blanks), or 0 when there is no date. */
int date_parse_prefix(const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch, size_t *ret_end);
