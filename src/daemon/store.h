/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "prelude.h"

/* The daemon's SQL, and the only place of it: $STATE/nftjail.db (SQLite, WAL), with the ban
 * history, the failures, the sources' positions and a few facts. persist.c decides what goes in
 * and when; this module only stores and reads. Main thread only (one connection; the reporter
 * opens its own on its own tables).
 *
 * Table bans: one row per ban decision (a ban, a restored ban adopted from the kernel). Times are
 * realtime seconds since the epoch; end NULL = permanent. A manual or hand-made unban sets end to
 * the time of the unban, so the row still counts for bantime.increment until dbpurgeage drops it.
 *
 * Table failures: the failures of a jail not yet turned into a ban (jail, addr, t = the failure's
 * realtime seconds). Table positions: where each source of a jail stopped (jail, source, data).
 * Table meta: small facts about the daemon by key (the clean-stop token, persist.c).
 * A batch of lines commits its failures and the position after its last line in ONE transaction,
 * and a ban commits its row and deletes its failures in one, so that a crash neither loses nor
 * double-counts a line (manager-jail.c: the crash windows). */

typedef struct Store Store;

typedef struct StoreBan {
        const char *jail;
        Addr addr;              /* the offender's address (not masked) */
        uint8_t prefixlen;      /* of the kernel element: 32 for IPv4, 64..128 for IPv6 */
        int64_t start;          /* realtime seconds */
        int64_t end;            /* realtime seconds; STORE_PERMANENT = never ends */
        unsigned failures;      /* 0: manual, restored or adopted */
        const char *evidence;   /* the matched lines, escaped, may be NULL */
} StoreBan;

#define STORE_PERMANENT INT64_MAX
#define STORE_FILE "nftjail.db"

/* Opens (creates) DIR/nftjail.db, WAL, synchronous=NORMAL, with automatic checkpoints off (a
 * StoreCheckpointer does them, off the ban path) and journal_size_limit STORE_WAL_LIMIT. Returns 0
 * or a negative errno. */
int store_open(const char *dir, Store **ret);
Store *store_free(Store *s);

/* Gives back the connection's cached pages that hold no change (sqlite3_db_release_memory()):
 * after the start-up reads they are most of what the daemon itself holds at idle. They are read
 * again, from the kernel's page cache, by the next statement that needs them. */
void store_release_memory(Store *s);

/* The WAL pages after which a commit on this connection checkpoints the WAL itself, inside the
 * commit (SQLite's default is 1000; store_open() sets 0, off). For benchmarks and tests. */
int store_set_autocheckpoint(Store *s, int pages);

/* WAL checkpoints off the main thread. The main thread's connections (the store's and the spool's)
 * never checkpoint: with SQLite's default, the commit that passes 1000 WAL pages copies them into
 * the database and fsyncs it, inside a ban's commit on the loop. A thread of its own, with its own
 * connection to DIR/nftjail.db, runs a PASSIVE checkpoint every interval, and as soon as a commit
 * leaves STORE_CHECKPOINT_PAGES frames (it never blocks a writer nor waits for one). A TRUNCATE one
 * empties the file when the WAL has grown past STORE_WAL_MAX
 * (a steady stream of commits never lets SQLite start the WAL over) or has had no new frame for a
 * whole interval; it holds the write lock while it copies the frames of the last moments, and
 * waits at most STORE_CHECKPOINT_BUSY_MSEC for it. journal_size_limit (STORE_WAL_LIMIT) on every
 * connection trims the file when a writer starts the WAL over. The WAL stays under STORE_WAL_MAX
 * plus what the writers add during one round. */
#define STORE_CHECKPOINT_INTERVAL_USEC (1 * USEC_PER_SEC)
#define STORE_CHECKPOINT_PAGES 1000     /* WAL frames after which a commit wakes the thread early */
#define STORE_CHECKPOINT_BUSY_MSEC 20
#define STORE_WAL_LIMIT 4194304         /* bytes, 4 MiB (a literal: it goes into a PRAGMA) */
#define STORE_WAL_MAX (16 * 1024 * 1024)
/* A TRUNCATE past STORE_WAL_MAX runs only when PASSIVE left at most this much to copy under the
 * write lock (about 10 ms of copying here); else the round waits for a quieter one. */
#define STORE_TRUNCATE_REST_MAX (1024 * 1024)

typedef struct StoreCheckpointer StoreCheckpointer;

/* Opens its connection and starts the thread. Main thread. Returns 0 or a negative errno. */
int store_checkpointer_start(const char *dir, usec_t interval, StoreCheckpointer **ret);
/* Interrupts a checkpoint under way (sqlite3_interrupt: the frames copied so far stay valid) and
 * joins the thread, then closes its connection. Accepts NULL; returns NULL. */
StoreCheckpointer *store_checkpointer_stop(StoreCheckpointer *c);
/* Hooks c to s's commits: one that leaves STORE_CHECKPOINT_PAGES frames or more in the WAL wakes the
 * thread (a mutex and a signal; no I/O on the caller's thread). NULL unhooks. c must outlive the
 * hook. Main thread. */
void store_set_checkpointer(Store *s, StoreCheckpointer *c);
/* Asks for a round now and waits until one has run (tests and benchmarks). Returns 0, or a
 * negative errno when the thread is gone. */
int store_checkpointer_sync(StoreCheckpointer *c);
/* Counters since the start: rounds run, PASSIVE checkpoints that found frames to copy, TRUNCATE ones. */
typedef struct StoreCheckpointStats {
        uint64_t rounds, passive, truncated;
        uint64_t truncate_deferred;     /* rounds that left the WAL big: too much to copy under the lock */
} StoreCheckpointStats;
void store_checkpointer_stats(StoreCheckpointer *c, StoreCheckpointStats *ret);

/* One transaction around many writes (a flush). durable: synchronous=FULL for this one
 * (permanent bans, which a reboot must not lose). Returns 0 or a negative errno. */
int store_begin(Store *s, bool durable);
int store_commit(Store *s);
void store_rollback(Store *s);

int store_add(Store *s, const StoreBan *b);

/* Ends the live bans (end NULL or > now) of a (NULL: all) in jail (NULL: all) at now.
 * Returns the number of rows changed or a negative errno. */
int store_end(Store *s, const char *jail, const Addr *a, int64_t now);

/* Bans of a recorded in jail (NULL: in every jail), live or not, in the kept history.
 * Returns the count or a negative errno. */
int store_count(Store *s, const char *jail, const Addr *a);

/* Calls cb for every (address, jail) with a ban still due at now, once, with the latest end
 * (permanent wins). cb returns 0 to go on, negative to stop (returned). Returns 0 or errno. */
typedef int (*StoreBanCb)(const StoreBan *b, void *userdata);
int store_foreach_live(Store *s, int64_t now, StoreBanCb cb, void *userdata);

/* The end of a ban told (column told): its expiry event and actionunban were handed over, or it
 * ended by an unban (store_end()), or it was recorded by an older version. A ban whose end passed
 * while the daemon was down is not, and is told once at the next start: store_foreach_expired()
 * calls cb (as store_foreach_live() does) for each (address, jail) with a ban that ended by now
 * and was not told, unless a later ban of it is still due; at most max, by jail and address.
 * store_mark_told() then marks every ban that ended by now told, and returns how many or a
 * negative errno. The caller runs both in one transaction and tells after the commit: a crash
 * then loses an event, never sends one twice. */
int store_foreach_expired(Store *s, int64_t now, size_t max, StoreBanCb cb, void *userdata);
int store_mark_told(Store *s, int64_t now);

/* Deletes bans that ended before `before`. Returns the number deleted or a negative errno. */
int store_purge(Store *s, int64_t before);

/* Failures (inside a transaction of the caller's, or alone). tags: the bytes the caller made of the
 * <F-*> groups of the failure (persist.c), at most STORE_TAGS_MAX, or NULL; stored as they are. */
#define STORE_TAGS_MAX 4096U
int store_failure_add(Store *s, const char *jail, const Addr *a, int64_t t, const void *tags, size_t tags_len);
/* Deletes the failures of a (NULL: all) in jail (NULL: all). Returns the number or an errno. */
int store_failures_forget(Store *s, const char *jail, const Addr *a);
/* Deletes the failures of jail older than before. Returns the number or a negative errno. */
int store_failures_gc(Store *s, const char *jail, int64_t before);
/* Calls cb for every failure of jail at or after since, oldest first, with its tags (NULL, 0 when
 * none, or when the row holds more than STORE_TAGS_MAX bytes: the file is input too). cb returns 0
 * to go on, negative to stop (returned). Returns 0 or a negative errno. */
typedef int (*StoreFailureCb)(const Addr *a, int64_t t, const void *tags, size_t tags_len, void *userdata);
int store_foreach_failure(Store *s, const char *jail, int64_t since, StoreFailureCb cb, void *userdata);

/* The saved position of source ("journal", "files") of jail: set replaces it; get returns a
 * malloc'd copy, or -ENOENT when there is none. */
int store_position_set(Store *s, const char *jail, const char *source, const char *data);
int store_position_get(Store *s, const char *jail, const char *source, char **ret);

/* Table meta: small facts about the daemon, by key. set replaces; get returns a malloc'd copy or
 * -ENOENT; delete is 0 whether or not the key was there. Any insert, update or delete of a row of
 * bans (by the daemon, or by hand with sqlite3) deletes STORE_META_CLEAN_STOP, in the same
 * transaction (triggers). */
#define STORE_META_CLEAN_STOP "clean_stop"
int store_meta_set(Store *s, const char *key, const char *value);
int store_meta_get(Store *s, const char *key, char **ret);
int store_meta_delete(Store *s, const char *key);
