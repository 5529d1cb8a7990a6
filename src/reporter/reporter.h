/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "addr.h"
#include "conf.h"
#include "prelude.h"
#include "util/time-util.h"

/* Reports bans to AbuseIPDB from a thread of its own. The main thread calls reporter_submit_ban(),
 * which writes the report to the spool (SQLite, so a SIGKILL loses nothing) and copies it by value
 * into a bounded ring; it never waits for the network. The thread owns its CURL handle, its own
 * SQLite connection and the consumer side of the ring; results come back through an eventfd read
 * by the loop. The API key is held in memory only and never logged. */

typedef struct Reporter Reporter;

#define REPORTER_QUEUE_MAX 10000
#define REPORTER_RESPONSE_MAX (64U * 1024U)

/* Reads the daemon-wide key: $CREDENTIALS_DIRECTORY/abuseipdb_apikey, else c->apikey_file.
 * *ret_loose: others, or a group not the daemon's, may read the file. Returns 0, -ENOENT (no key configured),
 * -EINVAL (not a plausible key), or another negative errno. Never logs. */
int reporter_load_key(const AbuseIPDBConf *c, char **ret_key, char **ret_source, bool *ret_loose);

/* Starts the thread on c's settings. Logs its own problems (bad key files, an inline key in a
 * world-readable jail file). Returns 0 or a negative errno. */
int reporter_new(sd_event *e, const Config *c, const char *state_dir, Reporter **ret);
/* A reload: never waits for the thread. enabled: hands c's settings (URL, keys, timeout,
 * daily_quota, comment template) to the running thread, which takes them between two requests
 * (the one under way ends on the old ones), or starts one. !enabled: asks the thread to stop
 * after the request under way; the loop joins it when it has (and only then starts another, if a
 * reload enabled reporting again meanwhile), so that two threads never post the same spool row.
 * Keep r until exit. Returns 0 or a negative errno (logged; the old settings stay). */
int reporter_apply(Reporter *r, const Config *c, bool enabled);
/* At exit: stops the thread (closes the queue, aborts a transfer, joins with a timeout). Pending
 * reports stay in the spool for the next start. */
Reporter *reporter_free(Reporter *r);

/* Queues a report of an automatic ban of a in jail jc after failures failures, the last at realtime
 * last_failure (0: now); evidence is the matched lines (newline-separated, escaped), sanitised
 * here. Main thread only. Returns 0 or a negative errno (the ban itself is not affected). */
int reporter_submit_ban(Reporter *r, const JailConf *jc, const Addr *a, unsigned failures, usec_t last_failure,
                        const char *evidence);

/* For "nftjail check": GET base_url/check?ipAddress=A&maxAgeInDays=90 with key, on a handle set up
 * like the reporter's (TLS verification, timeouts, protocols, no redirects, no proxy); the body is
 * bounded by REPORTER_RESPONSE_MAX. Returns the HTTP status (> 0) with *ret_body (malloc'd), or a
 * negative errno with ret_error (when not NULL) saying what failed: "name resolution failed: ...",
 * "connection failed: ...", "TLS failed: ...", "timed out: ...". */
long reporter_check(const char *base_url, const char *key, const Addr *a, unsigned timeout_sec, char **ret_body,
                    size_t *ret_len, char *ret_error, size_t error_len);

/* The spool's counts, as `nftjail report-queue` shows them, for the metrics. Main thread only. */
typedef struct ReporterStats {
        int64_t sent, failed, dropped, coalesced, pending;
        int64_t quota_left;     /* of today's daily_quota (UTC day) */
        bool paused;            /* the daily limit was reached: reports wait for the next UTC day */
} ReporterStats;
void reporter_stats(Reporter *r, ReporterStats *ret);
