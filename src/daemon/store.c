/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"
#include "util/macro.h"

enum {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_ADD,
        STMT_END,
        STMT_COUNT,
        STMT_LIVE,
        STMT_PURGE,
        STMT_FAIL_ADD,
        STMT_FAIL_FORGET,
        STMT_FAIL_FORGET_ONE,
        STMT_FAIL_GC,
        STMT_FAIL_LIST,
        STMT_POS_SET,
        STMT_POS_GET,
        STMT_META_SET,
        STMT_META_GET,
        STMT_META_DELETE,
        STMT_EXPIRED,
        STMT_TOLD,
        _STMT_MAX,
};

/* A NULL parameter matches every row: "?1 IS NULL OR jail = ?1". */
static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        /* told 0 explicitly: the column's default (1) is for the rows of a state made before it */
        [STMT_ADD] = "INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures, evidence, told) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
        /* an unban is told as such: its end is never an expiry */
        [STMT_END] = "UPDATE bans SET \"end\" = ?3, told = 1 WHERE (\"end\" IS NULL OR \"end\" > ?3) "
                     "AND (?1 IS NULL OR jail = ?1) AND (?2 IS NULL OR addr = ?2)",
        [STMT_COUNT] = "SELECT count(*) FROM bans WHERE addr = ?2 AND (?1 IS NULL OR jail = ?1)",
        /* one row per (addr, jail): the latest end, NULL (permanent) first */
        [STMT_LIVE] = "SELECT addr, max(prefixlen), jail, min(start), "
                      "CASE WHEN count(*) > count(\"end\") THEN NULL ELSE max(\"end\") END, max(failures) "
                      "FROM bans WHERE \"end\" IS NULL OR \"end\" > ?1 GROUP BY addr, jail",
        [STMT_PURGE] = "DELETE FROM bans WHERE \"end\" IS NOT NULL AND \"end\" < ?1",
        [STMT_FAIL_ADD] = "INSERT INTO failures(jail, addr, t, tags) VALUES (?1, ?2, ?3, ?4)",
        [STMT_FAIL_FORGET] = "DELETE FROM failures WHERE (?1 IS NULL OR jail = ?1) AND (?2 IS NULL OR addr = ?2)",
        /* the flush's form, once per ban: one that the index serves */
        [STMT_FAIL_FORGET_ONE] = "DELETE FROM failures WHERE addr = ?2 AND jail = ?1",
        [STMT_FAIL_GC] = "DELETE FROM failures WHERE jail = ?1 AND t < ?2",
        [STMT_FAIL_LIST] = "SELECT addr, t, tags FROM failures WHERE jail = ?1 AND t >= ?2 ORDER BY t, rowid",
        [STMT_POS_SET] = "INSERT OR REPLACE INTO positions(jail, source, data) VALUES (?1, ?2, ?3)",
        [STMT_POS_GET] = "SELECT data FROM positions WHERE jail = ?1 AND source = ?2",
        [STMT_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
        [STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
        [STMT_META_DELETE] = "DELETE FROM meta WHERE key = ?1",
        /* the bans that ended by ?1 and were not told (bans_untold), one per (addr, jail), unless
         * a later ban of it is still due (the ban was extended, not ended). "+addr": grouping by the
         * bans_addr index walked the whole history (180 ms for 1M rows), bans_untold 4 ms */
        [STMT_EXPIRED] = "SELECT addr, max(prefixlen), jail, min(start), max(\"end\"), max(failures) FROM bans AS b "
                         "WHERE told = 0 AND \"end\" <= ?1 AND NOT EXISTS (SELECT 1 FROM bans AS l "
                         "WHERE l.addr = b.addr AND l.jail = b.jail AND (l.\"end\" IS NULL OR l.\"end\" > ?1)) "
                         "GROUP BY +addr, +jail ORDER BY jail, addr LIMIT ?2",
        [STMT_TOLD] = "UPDATE bans SET told = 1 WHERE told = 0 AND \"end\" <= ?1",
};

/* The schema's version in the database header (PRAGMA user_version): a state written by this one
 * or a later version is used as it is, without running the schema again. */
#define STORE_SCHEMA_VERSION 3

/* Run in one transaction: one commit (two fsyncs on a disk) instead of one per statement. */
static const char schema[] =
        "BEGIN IMMEDIATE;"
        "CREATE TABLE IF NOT EXISTS bans("
        " id INTEGER PRIMARY KEY,"
        " addr TEXT NOT NULL,"          /* the offender, as text: sqlite3 users can read it */
        " prefixlen INTEGER NOT NULL,"
        " jail TEXT NOT NULL,"
        " start INTEGER NOT NULL,"      /* realtime, seconds */
        " \"end\" INTEGER,"             /* realtime, seconds; NULL = permanent */
        " failures INTEGER NOT NULL DEFAULT 0,"
        " evidence TEXT,"
        " reported INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS bans_addr ON bans(addr, jail);"
        "CREATE INDEX IF NOT EXISTS bans_end ON bans(\"end\");"
        /* failures not yet turned into a ban, committed with the position of the source they were
         * read from (see store.h) */
        "CREATE TABLE IF NOT EXISTS failures("
        " jail TEXT NOT NULL,"
        " addr TEXT NOT NULL,"
        " t INTEGER NOT NULL);"          /* realtime, seconds: the failure's time */
        "CREATE INDEX IF NOT EXISTS failures_jail_t ON failures(jail, t);"
        "CREATE INDEX IF NOT EXISTS failures_addr ON failures(addr, jail);"
        "CREATE TABLE IF NOT EXISTS positions("
        " jail TEXT NOT NULL,"
        " source TEXT NOT NULL,"        /* \"journal\" or \"files\" */
        " data TEXT NOT NULL,"          /* the journal cursor; the file source's JSON */
        " PRIMARY KEY(jail, source));"
        /* version 2: small facts about the daemon itself (store_meta_*); any change to the bans,
         * by the daemon or by hand, drops the one that says the kernel holds the bans as a clean
         * stop left them (STORE_META_CLEAN_STOP) */
        "CREATE TABLE IF NOT EXISTS meta("
        " key TEXT PRIMARY KEY,"
        " value TEXT NOT NULL);"
        "CREATE TRIGGER IF NOT EXISTS bans_insert AFTER INSERT ON bans"
        " BEGIN DELETE FROM meta WHERE key = '" STORE_META_CLEAN_STOP "'; END;"
        "CREATE TRIGGER IF NOT EXISTS bans_update AFTER UPDATE ON bans"
        " BEGIN DELETE FROM meta WHERE key = '" STORE_META_CLEAN_STOP "'; END;"
        "CREATE TRIGGER IF NOT EXISTS bans_delete AFTER DELETE ON bans"
        " BEGIN DELETE FROM meta WHERE key = '" STORE_META_CLEAN_STOP "'; END;"
        /* version 3: whether a ban's end was told (its expiry event and actionunban, or an unban);
         * the rows of an older state count as told, so an upgrade tells no old expiry. And the
         * <F-*> groups of a failure that queued a ban, for the actions of a ban replayed at start */
        "ALTER TABLE bans ADD COLUMN told INTEGER NOT NULL DEFAULT 1;"
        "CREATE INDEX IF NOT EXISTS bans_untold ON bans(\"end\") WHERE told = 0;"
        "ALTER TABLE failures ADD COLUMN tags BLOB;"
        "PRAGMA user_version=" STRINGIFY(STORE_SCHEMA_VERSION) ";"
        "COMMIT;";

struct Store {
        sqlite3 *db;
        StoreCheckpointer *checkpointer; /* woken by the WAL hook, store_set_checkpointer() */
        int kick_frames;        /* the WAL's frames at the last wake-up */
        sqlite3_stmt *stmt[_STMT_MAX];
        bool durable;
};

/* SQLite result codes to errno, once, here. */
static int store_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

static int user_version_cb(void *userdata, int n, char **v, char **names) {
        int *ret = userdata;

        (void) names;
        *ret = n == 1 && v[0] ? atoi(v[0]) : 0;
        return 0;
}

/* No bulk page cache: SQLite's default gives each connection a first block of page slots (about
 * 170 KiB with 10 jails' start-up reads), kept touched for the daemon's life even when
 * sqlite3_db_release_memory() frees the pages; without it a page is a malloc() of its own that
 * the release gives back. Before SQLite's first use (a later call is refused, harmlessly). */
static pthread_once_t store_config_once = PTHREAD_ONCE_INIT;

static void store_config(void) {
        (void) sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

int store_open(const char *dir, Store **ret) {
        _cleanup_free_ char *path = NULL;
        Store *s;
        int rc, version = 0;

        if (asprintf(&path, "%s/%s", dir, STORE_FILE) < 0)
                return -ENOMEM;
        (void) pthread_once(&store_config_once, store_config);
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        (void) sqlite3_busy_timeout(s->db, 2000); /* the reporter's connection may hold the lock briefly */
        /* no checkpoint inside a ban's commit: the StoreCheckpointer's thread does them */
        (void) sqlite3_wal_autocheckpoint(s->db, 0);
        /* journal_mode is kept in the file; synchronous and journal_size_limit are the connection's */
        rc = sqlite3_exec(s->db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                          "PRAGMA journal_size_limit=" STRINGIFY(STORE_WAL_LIMIT) "; PRAGMA user_version",
                          user_version_cb, &version, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        if (version < STORE_SCHEMA_VERSION) {
                rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
                if (rc != SQLITE_OK) {
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                        goto fail;
                }
        }
        *ret = s;
        return 0;
fail:
        store_free(s);
        return store_errno(rc) ?: -EIO;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmt[i]);
        sqlite3_close(s->db);
        free(s);
        return NULL;
}

void store_release_memory(Store *s) {
        if (s)
                (void) sqlite3_db_release_memory(s->db);
}

int store_set_autocheckpoint(Store *s, int pages) {
        return store_errno(sqlite3_wal_autocheckpoint(s->db, pages));
}

/* A statement is prepared on first use, so a start prepares only what it runs (preparing every
 * one at open is a visible share of a start's instructions). NULL when preparing fails (no
 * memory, or a state file that is not ours); stmt_errno() then says why. */
static sqlite3_stmt *stmt_get(Store *s, int k) {
        if (!s->stmt[k] &&
            sqlite3_prepare_v3(s->db, stmt_sql[k], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[k], NULL) != SQLITE_OK)
                s->stmt[k] = NULL;
        return s->stmt[k];
}

static int stmt_errno(Store *s) {
        return store_errno(sqlite3_errcode(s->db)) ?: -EIO;
}

/* Runs a statement with no result rows (bound by the caller, or with none) and resets it. */
static int stmt_run(Store *s, int k) {
        sqlite3_stmt *st = stmt_get(s, k);
        int rc;

        if (!st)
                return stmt_errno(s);
        rc = sqlite3_step(st);

        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc) ?: -EIO;
}

static int bind_addr(sqlite3_stmt *st, int i, const Addr *a) {
        char as[ADDR_STRLEN];

        if (!a)
                return sqlite3_bind_null(st, i);
        return sqlite3_bind_text(st, i, addr_to_string(a, as, sizeof as), -1, SQLITE_TRANSIENT);
}

static int bind_str(sqlite3_stmt *st, int i, const char *v) {
        return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int store_begin(Store *s, bool durable) {
        if (durable != s->durable) {
                /* only outside a transaction; FULL syncs the WAL at this commit */
                int rc = sqlite3_exec(s->db, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL,
                                      NULL, NULL);
                if (rc != SQLITE_OK)
                        return store_errno(rc);
                s->durable = durable;
        }
        return stmt_run(s, STMT_BEGIN);
}

int store_commit(Store *s) {
        int r = stmt_run(s, STMT_COMMIT);

        if (r < 0)
                store_rollback(s);
        return r;
}

void store_rollback(Store *s) {
        if (!sqlite3_get_autocommit(s->db))
                (void) stmt_run(s, STMT_ROLLBACK);
}

int store_add(Store *s, const StoreBan *b) {
        sqlite3_stmt *st = stmt_get(s, STMT_ADD);

        if (!st)
                return stmt_errno(s);
        if (!b->jail || (b->addr.family != AF_INET && b->addr.family != AF_INET6))
                return -EINVAL;
        if (bind_addr(st, 1, &b->addr) != SQLITE_OK || sqlite3_bind_int(st, 2, b->prefixlen) != SQLITE_OK ||
            bind_str(st, 3, b->jail) != SQLITE_OK || sqlite3_bind_int64(st, 4, b->start) != SQLITE_OK ||
            (b->end == STORE_PERMANENT ? sqlite3_bind_null(st, 5) : sqlite3_bind_int64(st, 5, b->end)) != SQLITE_OK ||
            sqlite3_bind_int64(st, 6, b->failures) != SQLITE_OK || bind_str(st, 7, b->evidence) != SQLITE_OK) {
                (void) sqlite3_reset(st);
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return stmt_run(s, STMT_ADD);
}

int store_end(Store *s, const char *jail, const Addr *a, int64_t now) {
        sqlite3_stmt *st = stmt_get(s, STMT_END);
        int r;

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, jail) != SQLITE_OK || bind_addr(st, 2, a) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, now) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        r = stmt_run(s, STMT_END);
        return r < 0 ? r : sqlite3_changes(s->db);
}

int store_count(Store *s, const char *jail, const Addr *a) {
        sqlite3_stmt *st = stmt_get(s, STMT_COUNT);
        int rc, n = 0;

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, jail) != SQLITE_OK || bind_addr(st, 2, a) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                n = sqlite3_column_int(st, 0);
        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        return rc == SQLITE_ROW ? n : store_errno(rc) ?: -EIO;
}

/* Steps bound statement st, whose rows are (addr, prefixlen, jail, start, end, failures), calling cb
 * for each; resets st. */
static int bans_walk(sqlite3_stmt *st, StoreBanCb cb, void *userdata) {
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *as = (const char *) sqlite3_column_text(st, 0);
                const char *jail = (const char *) sqlite3_column_text(st, 2);
                int plen = sqlite3_column_int(st, 1);
                StoreBan b = {};

                if (!as || !jail || addr_from_string(as, &b.addr) < 0 || plen < 0 ||
                    plen > (b.addr.family == AF_INET ? 32 : 128))
                        continue; /* a row written by hand: skip it */
                b.prefixlen = (uint8_t) plen;
                b.jail = jail;
                b.start = sqlite3_column_int64(st, 3);
                b.end = sqlite3_column_type(st, 4) == SQLITE_NULL ? STORE_PERMANENT : sqlite3_column_int64(st, 4);
                b.failures = (unsigned) sqlite3_column_int(st, 5);
                r = cb(&b, userdata);
                if (r < 0)
                        break;
        }
        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        if (r < 0)
                return r;
        return rc == SQLITE_DONE ? 0 : store_errno(rc) ?: -EIO;
}

int store_foreach_live(Store *s, int64_t now, StoreBanCb cb, void *userdata) {
        sqlite3_stmt *st = stmt_get(s, STMT_LIVE);

        if (!st)
                return stmt_errno(s);
        if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK)
                return -ENOMEM;
        return bans_walk(st, cb, userdata);
}

int store_foreach_expired(Store *s, int64_t now, size_t max, StoreBanCb cb, void *userdata) {
        sqlite3_stmt *st = stmt_get(s, STMT_EXPIRED);

        if (!st)
                return stmt_errno(s);
        if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, (sqlite3_int64) MIN(max, (size_t) INT32_MAX)) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return bans_walk(st, cb, userdata);
}

/* Runs statement k with the time t as ?1; returns the rows it changed or a negative errno. */
static int stmt_run_at(Store *s, int k, int64_t t) {
        sqlite3_stmt *st = stmt_get(s, k);
        int r;

        if (!st)
                return stmt_errno(s);
        if (sqlite3_bind_int64(st, 1, t) != SQLITE_OK)
                return -ENOMEM;
        r = stmt_run(s, k);
        return r < 0 ? r : sqlite3_changes(s->db);
}

int store_mark_told(Store *s, int64_t now) {
        return stmt_run_at(s, STMT_TOLD, now);
}

int store_purge(Store *s, int64_t before) {
        return stmt_run_at(s, STMT_PURGE, before);
}

int store_failure_add(Store *s, const char *jail, const Addr *a, int64_t t, const void *tags, size_t tags_len) {
        sqlite3_stmt *st = stmt_get(s, STMT_FAIL_ADD);

        if (!st)
                return stmt_errno(s);
        if (!jail || !a || tags_len > STORE_TAGS_MAX)
                return -EINVAL;
        if (bind_str(st, 1, jail) != SQLITE_OK || bind_addr(st, 2, a) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, t) != SQLITE_OK ||
            (tags && tags_len > 0 ? sqlite3_bind_blob(st, 4, tags, (int) tags_len, SQLITE_STATIC)
                                  : sqlite3_bind_null(st, 4)) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return stmt_run(s, STMT_FAIL_ADD);
}

int store_failures_forget(Store *s, const char *jail, const Addr *a) {
        int k = jail && a ? STMT_FAIL_FORGET_ONE : STMT_FAIL_FORGET;
        sqlite3_stmt *st = stmt_get(s, k);
        int r;

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, jail) != SQLITE_OK || bind_addr(st, 2, a) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        r = stmt_run(s, k);
        return r < 0 ? r : sqlite3_changes(s->db);
}

int store_failures_gc(Store *s, const char *jail, int64_t before) {
        sqlite3_stmt *st = stmt_get(s, STMT_FAIL_GC);
        int r;

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, jail) != SQLITE_OK || sqlite3_bind_int64(st, 2, before) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        r = stmt_run(s, STMT_FAIL_GC);
        return r < 0 ? r : sqlite3_changes(s->db);
}

int store_foreach_failure(Store *s, const char *jail, int64_t since, StoreFailureCb cb, void *userdata) {
        sqlite3_stmt *st = stmt_get(s, STMT_FAIL_LIST);
        int rc, r = 0;

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, jail) != SQLITE_OK || sqlite3_bind_int64(st, 2, since) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *as = (const char *) sqlite3_column_text(st, 0);
                const void *tags = sqlite3_column_blob(st, 2);
                int tags_len = sqlite3_column_bytes(st, 2);
                Addr a;

                if (!as || addr_from_string(as, &a) < 0)
                        continue; /* a row written by hand: skip it */
                /* bounded here; what the bytes say is the caller's to check */
                if (!tags || tags_len <= 0 || (size_t) tags_len > STORE_TAGS_MAX)
                        tags = NULL, tags_len = 0;
                r = cb(&a, sqlite3_column_int64(st, 1), tags, (size_t) tags_len, userdata);
                if (r < 0)
                        break;
        }
        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        if (r < 0)
                return r;
        return rc == SQLITE_DONE ? 0 : store_errno(rc) ?: -EIO;
}

int store_position_set(Store *s, const char *jail, const char *source, const char *data) {
        sqlite3_stmt *st = stmt_get(s, STMT_POS_SET);

        if (!st)
                return stmt_errno(s);
        if (!jail || !source || !data)
                return -EINVAL;
        if (bind_str(st, 1, jail) != SQLITE_OK || bind_str(st, 2, source) != SQLITE_OK ||
            bind_str(st, 3, data) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return stmt_run(s, STMT_POS_SET);
}

/* Runs bound statement st for its one text column: a malloc'd copy into *ret, -ENOENT when there is
 * no row, or a negative errno. Resets st. */
static int stmt_get_text(sqlite3_stmt *st, char **ret) {
        char *d = NULL;
        int rc, r;

        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const char *v = (const char *) sqlite3_column_text(st, 0);
                d = strdup(v ? v : "");
                r = d ? 0 : -ENOMEM;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : store_errno(rc) ?: -EIO;
        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        if (r >= 0)
                *ret = d;
        return r;
}

int store_position_get(Store *s, const char *jail, const char *source, char **ret) {
        sqlite3_stmt *st = stmt_get(s, STMT_POS_GET);

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, jail) != SQLITE_OK || bind_str(st, 2, source) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return stmt_get_text(st, ret);
}

int store_meta_set(Store *s, const char *key, const char *value) {
        sqlite3_stmt *st = stmt_get(s, STMT_META_SET);

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, key) != SQLITE_OK || bind_str(st, 2, value) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return stmt_run(s, STMT_META_SET);
}

int store_meta_get(Store *s, const char *key, char **ret) {
        sqlite3_stmt *st = stmt_get(s, STMT_META_GET);

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, key) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return stmt_get_text(st, ret);
}

int store_meta_delete(Store *s, const char *key) {
        sqlite3_stmt *st = stmt_get(s, STMT_META_DELETE);

        if (!st)
                return stmt_errno(s);
        if (bind_str(st, 1, key) != SQLITE_OK) {
                (void) sqlite3_clear_bindings(st);
                return -ENOMEM;
        }
        return stmt_run(s, STMT_META_DELETE);
}

/* ---- the checkpointer ---- */

struct StoreCheckpointer {
        sqlite3 *db;            /* the thread's, between start and stop */
        usec_t interval;
        int64_t page_size;      /* of the database, bytes: the WAL holds frames of one page */
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;    /* CLOCK_MONOTONIC; both ways: a round asked for, a round done */
        bool stopping;
        uint64_t asked, done;   /* rounds asked for by store_checkpointer_sync(), and the last one run */
        StoreCheckpointStats stats;
};

/* One round: PASSIVE (copies what the WAL holds, never blocks a writer). Then TRUNCATE (empties the
 * file) when the WAL is larger than STORE_WAL_LIMIT, after a second PASSIVE for the frames that came
 * meanwhile: under a steady stream of commits the WAL is never copied up to its last frame when a
 * writer begins, which is when SQLite starts it over, so it would grow for as long as the stream
 * lasts. TRUNCATE holds the write lock while it copies the frames of the last moments; a ban
 * commit may wait that long, once per round at most and only under such a stream. And TRUNCATE
 * when the WAL is copied whole and had no new frame since the last round (idle). last_log: the
 * WAL's frames at the last round, -1 at first. */
static void checkpoint_round(StoreCheckpointer *c, int *last_log, StoreCheckpointStats *st) {
        int n_log = 0, n_ckpt = 0, rc;
        bool big, idle;

        rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log, &n_ckpt);
        if (rc != SQLITE_OK) {
                /* SQLITE_BUSY: another checkpoint runs (the reporter thread's connection); next round */
                *last_log = -1;
                return;
        }
        if (n_log > 0 && n_ckpt < n_log)
                st->passive++;
        big = (int64_t) n_log * c->page_size > STORE_WAL_MAX;
        idle = n_log > 0 && n_ckpt == n_log && n_log == *last_log;
        if (big) {
                int l2 = 0, k2 = 0;

                /* TRUNCATE copies what PASSIVE left while it holds the write lock, and a ban
                 * commit on the loop waits that long: with a large rest (a flood into a big
                 * state: 2.6 s seen in bench-flood) it waits for a quieter round instead, and
                 * the WAL grows meanwhile */
                if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &l2, &k2) != SQLITE_OK ||
                    (int64_t) (l2 - k2) * c->page_size > STORE_TRUNCATE_REST_MAX) {
                        st->truncate_deferred++;
                        *last_log = n_log;
                        return;
                }
        }
        if (big || idle) {
                rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &n_log, &n_ckpt);
                if (rc == SQLITE_OK) {
                        st->truncated++;
                        n_log = 0;
                }
        }
        *last_log = n_log;
}

static int page_size_cb(void *userdata, int n, char **v, char **names) {
        int64_t *ret = userdata;

        (void) names;
        if (n == 1 && v[0])
                *ret = atoll(v[0]);
        return 0;
}

static void *checkpointer_thread(void *userdata) {
        StoreCheckpointer *c = userdata;
        int last_log = -1;

        pthread_mutex_lock(&c->lock);
        while (!c->stopping) {
                uint64_t asked = c->asked;
                StoreCheckpointStats st = c->stats;
                struct timespec ts;
                usec_t t;

                pthread_mutex_unlock(&c->lock);
                checkpoint_round(c, &last_log, &st);
                pthread_mutex_lock(&c->lock);
                st.rounds++;
                c->stats = st;
                c->done = asked;
                pthread_cond_broadcast(&c->cond);
                if (c->stopping || c->asked != asked)
                        continue;
                t = now_usec(CLOCK_MONOTONIC) + c->interval;
                ts.tv_sec = (time_t) (t / USEC_PER_SEC);
                ts.tv_nsec = (long) (t % USEC_PER_SEC) * 1000;
                (void) pthread_cond_timedwait(&c->cond, &c->lock, &ts);
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

int store_checkpointer_start(const char *dir, usec_t interval, StoreCheckpointer **ret) {
        _cleanup_free_ char *path = NULL;
        pthread_condattr_t ca;
        StoreCheckpointer *c;
        int rc, r;

        if (asprintf(&path, "%s/%s", dir, STORE_FILE) < 0)
                return -ENOMEM;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->interval = interval;
        c->page_size = 4096;
        rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                /* journal_mode reads the file: until a connection has, it does not know the WAL and
                 * its checkpoints do nothing (pnLog -1) */
                rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA journal_size_limit=" STRINGIFY(STORE_WAL_LIMIT),
                                  NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(c->db, "PRAGMA page_size", page_size_cb, &c->page_size, NULL);
        if (rc != SQLITE_OK) {
                r = store_errno(rc) ?: -EIO;
                sqlite3_close(c->db);
                free(c);
                return r;
        }
        /* only TRUNCATE waits (for the write lock and the readers), and not for long */
        (void) sqlite3_busy_timeout(c->db, STORE_CHECKPOINT_BUSY_MSEC);
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);
        r = -pthread_create(&c->thread, NULL, checkpointer_thread, c);
        if (r < 0) {
                pthread_cond_destroy(&c->cond);
                pthread_mutex_destroy(&c->lock);
                sqlite3_close(c->db);
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

StoreCheckpointer *store_checkpointer_stop(StoreCheckpointer *c) {
        if (!c)
                return NULL;
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        /* a checkpoint stops between two pages: what it copied stays valid */
        sqlite3_interrupt(c->db);
        (void) pthread_join(c->thread, NULL);
        sqlite3_close(c->db);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

/* Asks for a round without waiting for it: any thread. */
static void store_checkpointer_kick(StoreCheckpointer *c) {
        pthread_mutex_lock(&c->lock);
        if (c->asked == c->done)
                c->asked++;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

/* After each commit on the store's connection, with the WAL's size in frames: what SQLite's own
 * automatic checkpoint does inside the commit, handed to the checkpointer's thread. */
static int store_wal_hook(void *userdata, sqlite3 *db, const char *name, int n_frames) {
        Store *s = userdata;

        (void) db;
        (void) name;
        /* once per STORE_CHECKPOINT_PAGES new frames: a WAL that a steady stream keeps from
         * starting over stays above the mark, and every commit would wake the thread */
        if (n_frames < s->kick_frames)
                s->kick_frames = 0; /* started over */
        if (n_frames - s->kick_frames >= STORE_CHECKPOINT_PAGES) {
                s->kick_frames = n_frames;
                store_checkpointer_kick(s->checkpointer);
        }
        return SQLITE_OK;
}

void store_set_checkpointer(Store *s, StoreCheckpointer *c) {
        s->checkpointer = c;
        s->kick_frames = 0;
        if (c)
                (void) sqlite3_wal_hook(s->db, store_wal_hook, s);
        else
                (void) sqlite3_wal_autocheckpoint(s->db, 0); /* also takes the hook off */
}

int store_checkpointer_sync(StoreCheckpointer *c) {
        uint64_t ticket;
        bool ran;

        pthread_mutex_lock(&c->lock);
        ticket = ++c->asked;
        pthread_cond_broadcast(&c->cond);
        while (c->done < ticket && !c->stopping)
                (void) pthread_cond_wait(&c->cond, &c->lock);
        ran = c->done >= ticket;
        pthread_mutex_unlock(&c->lock);
        return ran ? 0 : -ESHUTDOWN;
}

void store_checkpointer_stats(StoreCheckpointer *c, StoreCheckpointStats *ret) {
        pthread_mutex_lock(&c->lock);
        *ret = c->stats;
        pthread_mutex_unlock(&c->lock);
}
