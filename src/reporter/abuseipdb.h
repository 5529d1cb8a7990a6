/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "addr.h"
#include "prelude.h"
#include "util/time-util.h"

/* AbuseIPDB's API as pure functions (no I/O, no clock: time is a parameter), so that the
 * reporter's decisions are unit-tested: the comment we send, and what each reply means. */

#define ABUSEIPDB_COMMENT_MAX 1000
#define ABUSEIPDB_SAME_IP_USEC (15 * 60 * USEC_PER_SEC)
#define ABUSEIPDB_BACKOFF_BASE_USEC (5 * USEC_PER_SEC)
#define ABUSEIPDB_BACKOFF_MAX_USEC (3600 * USEC_PER_SEC)

typedef enum ReportOutcome {
        REPORT_ACCEPTED,        /* 2xx with data: delete from the spool */
        REPORT_DUPLICATE,       /* 429 "same IP once in 15 minutes": AbuseIPDB has it; delivered */
        REPORT_RATE_LIMITED,    /* 429 daily limit: nothing goes out until retry_at */
        REPORT_RETRY,           /* 5xx, other 429, network error: try again at retry_at */
        REPORT_REJECTED,        /* other 4xx: log and drop this report */
        _REPORT_OUTCOME_MAX,
        _REPORT_OUTCOME_INVALID = -EINVAL,
} ReportOutcome;

const char *report_outcome_to_string(ReportOutcome o);

typedef struct ReportReply {
        ReportOutcome outcome;
        int score;              /* data.abuseConfidenceScore, -1 if absent */
        usec_t retry_at;        /* realtime, for RATE_LIMITED and RETRY */
        char detail[256];       /* errors[0].detail (or a description), printable ASCII */
} ReportReply;

/* Classifies the answer to POST /report. http_status 0 means no HTTP answer (timeout, refused):
 * a retry. retry_after and ratelimit_reset are the raw header values or NULL. now is realtime;
 * attempt counts failures so far (0 for the first), rnd in [0, 1) for the jitter. */
void abuseipdb_classify(long http_status, const char *body, size_t len, const char *retry_after,
                        const char *ratelimit_reset, usec_t now, unsigned attempt, double rnd, ReportReply *ret);

/* Exponential backoff with jitter: base * 2^attempt, capped, then scaled into [1/2, 1). */
usec_t abuseipdb_backoff(unsigned attempt, double rnd);

/* Replaces, in place, what identifies this host or its users in a log line: each of names
 * (host names) and addrs (this host's addresses, as text) by "[host]"/"[self]", and the word after
 * "user ", "user=", "for " (except "for invalid user"), "account " by "[user]". Returns the new
 * length. */
size_t abuseipdb_sanitize(char *line, size_t len, size_t size, const char *const *names, const char *const *addrs);

/* Expands a comment template: %(jail)s, %(failures)s, %(findtime)s, %(ip)s, %(lines)s; "\n"
 * written as two characters is a newline. lines are newline-separated and already sanitised.
 * Cut at ABUSEIPDB_COMMENT_MAX bytes (not inside a UTF-8 sequence). Returns a new string or
 * NULL (ENOMEM). tmpl NULL: the default. */
char *abuseipdb_comment(const char *tmpl, const char *jail, unsigned failures, int64_t findtime_sec,
                        const char *ip, const char *lines);

/* ISO 8601 with offset ("2026-11-24T14:32:58+00:00") of realtime t in UTC into buf (>= 32). */
char *abuseipdb_timestamp(usec_t t, char *buf, size_t len);

/* The interesting parts of a GET /check reply. Returns 0, or -EINVAL with detail filled. */
typedef struct CheckInfo {
        int score;
        char country[8];
        char usage[96];
        long total_reports;
        char last_reported[40];
        char detail[256];
} CheckInfo;
int abuseipdb_parse_check(const char *body, size_t len, CheckInfo *ret);
