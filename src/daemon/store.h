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

/* Opens (creates) DIR/nftjail.db, WAL, synchronous=NORMAL. Returns 0 or a negative errno. */
int store_open(const char *dir, Store **ret);
Store *store_free(Store *s);

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

/* Deletes bans that ended before `before`. Returns the number deleted or a negative errno. */
int store_purge(Store *s, int64_t before);

/* Failures (inside a transaction of the caller's, or alone). */
int store_failure_add(Store *s, const char *jail, const Addr *a, int64_t t);
/* Deletes the failures of a (NULL: all) in jail (NULL: all). Returns the number or an errno. */
int store_failures_forget(Store *s, const char *jail, const Addr *a);
/* Deletes the failures of jail older than before. Returns the number or a negative errno. */
int store_failures_gc(Store *s, const char *jail, int64_t before);
/* Calls cb for every failure of jail at or after since, oldest first. cb returns 0 to go on,
 * negative to stop (returned). Returns 0 or a negative errno. */
typedef int (*StoreFailureCb)(const Addr *a, int64_t t, void *userdata);
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
