/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "abuseipdb.h"
#include "addr.h"
#include "prelude.h"
#include "util/time-util.h"

/* The AbuseIPDB report spool: STATE_DIR/nftjail.db, tables report_spool (one row per report not yet
 * accepted), report_last (per address: when AbuseIPDB last took a report of it) and report_stats
 * (counters). WAL, synchronous=NORMAL. Each Spool is one SQLite connection, used by one thread: the
 * main thread inserts, the reporter thread reads and deletes, the CLI opens it read-only. */

#define SPOOL_FILE "nftjail.db"
#define SPOOL_MAX_PENDING 10000
#define SPOOL_WAL_LIMIT 4194304 /* bytes: store.h's STORE_WAL_LIMIT, the same file */

typedef struct Spool Spool;

typedef struct Report {
        int64_t id;             /* row in report_spool; 0 before spool_insert() */
        Addr addr;
        char jail[64];
        char categories[64];
        char comment[ABUSEIPDB_COMMENT_MAX + 1];
        usec_t timestamp;       /* realtime of the last failure */
        unsigned attempts;
        usec_t next_attempt;    /* realtime; 0 = now */
} Report;

typedef enum SpoolStat {
        SPOOL_STAT_SENT,
        SPOOL_STAT_FAILED,
        SPOOL_STAT_DROPPED,
        SPOOL_STAT_COALESCED,
        SPOOL_STAT_PAUSED_UNTIL,   /* realtime usec: daily limit reached */
        SPOOL_STAT_QUOTA_DAY,      /* UTC day number of quota_used */
        SPOOL_STAT_QUOTA_USED,
        _SPOOL_STAT_MAX,
        _SPOOL_STAT_INVALID = -EINVAL,
} SpoolStat;

const char *spool_stat_to_string(SpoolStat s);

/* dir/nftjail.db as one connection (WAL, synchronous=NORMAL, the WAL limit, a busy timeout),
 * running schema_sql unless read_only; for the spools of reporter/ only. Returns 0, -ENOENT
 * (read-only and no database), -EIO. */
struct sqlite3;
struct sqlite3_stmt;
int spool_db_open(const char *dir, bool read_only, const char *schema_sql, struct sqlite3 **ret);
/* A persistent statement of db. Returns 0 or -EIO (the SQL and SQLite's message at debug). */
int spool_db_prep(struct sqlite3 *db, struct sqlite3_stmt **st, const char *sql);
/* Runs st, which returns no rows, then resets it and clears its bindings. Returns 0 or -EIO. */
int spool_db_step_done(struct sqlite3 *db, struct sqlite3_stmt *st);

/* Opens (creating the tables unless read_only) dir/nftjail.db. Returns 0, -ENOENT (read-only and
 * no database), -EIO. */
int spool_open(const char *dir, bool read_only, Spool **ret);
Spool *spool_free(Spool *s);
/* WAL pages after which a commit on this connection checkpoints (fsync) itself (SQLite's default
 * 1000). The main thread sets 0 (never): the daemon's checkpoint thread does them, off the ban path
 * (store.h, StoreCheckpointer). Every writing connection has journal_size_limit SPOOL_WAL_LIMIT. */
int spool_set_autocheckpoint(Spool *s, int pages);

/* Inserts r and sets r->id. When more than SPOOL_MAX_PENDING are pending the oldest are deleted;
 * *ret_dropped says how many. Returns 0 or -EIO. */
int spool_insert(Spool *s, Report *r, unsigned *ret_dropped);
/* Whether row id is still pending and due at now (not rescheduled for later by a failed try). */
bool spool_is_due(Spool *s, int64_t id, usec_t now);
/* The due row (next_attempt <= now) with the smallest next_attempt, id. Returns 1, 0 (none), -EIO. */
int spool_next_due(Spool *s, usec_t now, Report *ret);
/* The earliest next_attempt of any row, or USEC_INFINITY. */
usec_t spool_next_time(Spool *s);
/* Deletes row id and adds 1 to stat (SENT also records addr as reported at when). */
int spool_finish(Spool *s, int64_t id, SpoolStat stat, const Addr *addr, usec_t when);
int spool_reschedule(Spool *s, int64_t id, unsigned attempts, usec_t next_attempt);
/* When addr was last accepted (realtime usec), 0 if never. */
usec_t spool_last_reported(Spool *s, const Addr *addr);
int64_t spool_stat_get(Spool *s, SpoolStat k);
int spool_stat_set(Spool *s, SpoolStat k, int64_t v);
/* Number of pending rows, or a negative errno. */
int64_t spool_pending(Spool *s);
