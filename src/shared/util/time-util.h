/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)

usec_t now_usec(clockid_t clock);

/* The kernel's bound on an nf_tables timeout: nf_msecs_to_jiffies64() (net/netfilter/
 * nf_tables_api.c) refuses with ERANGE any timeout of NFT_TIMEOUT_MSEC_LIMIT ms or more, so that
 * ms * NSEC_PER_MSEC fits a u64. In whole seconds the longest ban it takes is
 * NFTJAIL_BANTIME_MAX_SEC, about 584 years. Every time span of the configuration is held to it
 * (a ban, a window, a purge age: a value past it is a typo, never an intent), which also keeps
 * sec * USEC_PER_SEC, and now + span in usec_t, far from overflow. */
#define NFT_TIMEOUT_MSEC_LIMIT ((uint64_t) (UINT64_MAX / 1000000U)) /* 18446744073709: the first refused */
#define NFTJAIL_BANTIME_MAX_SEC ((int64_t) ((NFT_TIMEOUT_MSEC_LIMIT - 1) / 1000ULL)) /* 18446744073 */

/* Whether sec is a ban time the kernel accepts: 1..NFTJAIL_BANTIME_MAX_SEC, or < 0 (permanent,
 * an element without a timeout). 0 is not a ban time. */
static inline bool bantime_valid(int64_t sec) {
        return sec < 0 || (sec > 0 && sec <= NFTJAIL_BANTIME_MAX_SEC);
}

/* Parses fail2ban's time syntax: "600", "10m", "1h30m", "1d", "1w", "1 hour", "-1".
 * Stores seconds (may be negative) in *ret_sec. Returns 0 or -EINVAL/-ERANGE. */
int parse_duration_sec(const char *s, int64_t *ret_sec);

/* "1h30m", "600s", "permanent" for < 0. buf needs 32 bytes. */
char *format_duration_sec(int64_t sec, char *buf, size_t len);
