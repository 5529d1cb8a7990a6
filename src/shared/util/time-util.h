/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)

usec_t now_usec(clockid_t clock);

/* Parses fail2ban's time syntax: "600", "10m", "1h30m", "1d", "1w", "1 hour", "-1".
 * Stores seconds (may be negative) in *ret_sec. Returns 0 or -EINVAL/-ERANGE. */
int parse_duration_sec(const char *s, int64_t *ret_sec);

/* "1h30m", "600s", "permanent" for < 0. buf needs 32 bytes. */
char *format_duration_sec(int64_t sec, char *buf, size_t len);
