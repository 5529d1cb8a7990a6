/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "spool.h"
#include "util/macro.h"

struct Spool {
        sqlite3 *db;
        sqlite3_stmt *insert, *trim, *exists, *due, *next, *del, *resched, *last_get, *last_set, *stat_get,
                *stat_set, *pending, *prune;
};

static const char *const stat_table[_SPOOL_STAT_MAX] = {
        [SPOOL_STAT_SENT] = "sent",
        [SPOOL_STAT_FAILED] = "failed",
        [SPOOL_STAT_DROPPED] = "dropped",
        [SPOOL_STAT_COALESCED] = "coalesced",
        [SPOOL_STAT_PAUSED_UNTIL] = "paused_until",
        [SPOOL_STAT_QUOTA_DAY] = "quota_day",
        [SPOOL_STAT_QUOTA_USED] = "quota_used",
};

const char *spool_stat_to_string(SpoolStat s) {
        return s >= 0 && s < _SPOOL_STAT_MAX ? stat_table[s] : NULL;
}

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS report_spool ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, addr TEXT NOT NULL, jail TEXT NOT NULL,"
        " categories TEXT NOT NULL, comment TEXT NOT NULL, timestamp INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS report_spool_next ON report_spool (next_attempt, id);"
        "CREATE TABLE IF NOT EXISTS report_last (addr TEXT PRIMARY KEY, reported_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS report_stats (key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

#define COLS "id, addr, jail, categories, comment, timestamp, attempts, next_attempt"

Spool *spool_free(Spool *s) {
        if (!s)
                return NULL;
        sqlite3_stmt **v[] = { &s->insert, &s->trim, &s->exists, &s->due, &s->next, &s->del, &s->resched,
                               &s->last_get, &s->last_set, &s->stat_get, &s->stat_set, &s->pending, &s->prune };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                sqlite3_finalize(*v[i]);
        sqlite3_close(s->db);
        free(s);
        return NULL;
}

int spool_db_prep(sqlite3 *db, sqlite3_stmt **st, const char *sql) {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
                log_debug("sqlite: %s: %s", sql, sqlite3_errmsg(db));
                return -EIO;
        }
        return 0;
}

static int prep(Spool *s, sqlite3_stmt **st, const char *sql) {
        return spool_db_prep(s->db, st, sql);
}

int spool_db_open(const char *dir, bool read_only, const char *schema_sql, struct sqlite3 **ret) {
        _cleanup_free_ char *path = NULL;
        sqlite3 *db = NULL;
        int r;

        if (asprintf(&path, "%s/%s", dir, SPOOL_FILE) < 0)
                return -ENOMEM;
        r = sqlite3_open_v2(path, &db,
                            (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                                    SQLITE_OPEN_NOMUTEX,
                            NULL);
        if (r != SQLITE_OK) {
                log_debug("sqlite: %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
                sqlite3_close(db);
                return read_only && r == SQLITE_CANTOPEN ? -ENOENT : -EIO;
        }
        (void) sqlite3_busy_timeout(db, 5000);
        if (!read_only &&
            (sqlite3_exec(db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                          "PRAGMA journal_size_limit=" STRINGIFY(SPOOL_WAL_LIMIT) ";",
                          NULL, NULL, NULL) != SQLITE_OK ||
             sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)) {
                log_debug("sqlite: %s: %s", path, sqlite3_errmsg(db));
                sqlite3_close(db);
                return -EIO;
        }
        *ret = db;
        return 0;
}

int spool_open(const char *dir, bool read_only, Spool **ret) {
        Spool *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        r = spool_db_open(dir, read_only, schema, &s->db);
        if (r < 0) {
                free(s);
                return r;
        }
        if ((read_only && sqlite3_exec(s->db, "SELECT 1 FROM report_spool LIMIT 0", NULL, NULL, NULL) != SQLITE_OK)) {
                spool_free(s);
                return -ENOENT;
        }
        if ((!read_only &&
             (prep(s, &s->insert,
                   "INSERT INTO report_spool (addr, jail, categories, comment, timestamp, attempts, next_attempt)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)") < 0 ||
              prep(s, &s->trim, "DELETE FROM report_spool WHERE id <= ?") < 0 ||
              prep(s, &s->del, "DELETE FROM report_spool WHERE id = ?") < 0 ||
              prep(s, &s->resched, "UPDATE report_spool SET attempts = ?, next_attempt = ? WHERE id = ?") < 0 ||
              prep(s, &s->last_set,
                   "INSERT INTO report_last (addr, reported_at) VALUES (?, ?)"
                   " ON CONFLICT (addr) DO UPDATE SET reported_at = excluded.reported_at") < 0 ||
              prep(s, &s->prune, "DELETE FROM report_last WHERE reported_at < ?") < 0 ||
              prep(s, &s->stat_set,
                   "INSERT INTO report_stats (key, value) VALUES (?, ?)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value") < 0)) ||
            prep(s, &s->exists, "SELECT 1 FROM report_spool WHERE id = ? AND next_attempt <= ?") < 0 ||
            prep(s, &s->due, "SELECT " COLS " FROM report_spool WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT 1") < 0 ||
            prep(s, &s->next, "SELECT MIN(next_attempt) FROM report_spool") < 0 ||
            prep(s, &s->last_get, "SELECT reported_at FROM report_last WHERE addr = ?") < 0 ||
            prep(s, &s->stat_get, "SELECT value FROM report_stats WHERE key = ?") < 0 ||
            prep(s, &s->pending, "SELECT COUNT(*), MAX(id) FROM report_spool") < 0) {
                spool_free(s);
                return -EIO;
        }
        *ret = s;
        return 0;
}

int spool_set_autocheckpoint(Spool *s, int pages) {
        return sqlite3_wal_autocheckpoint(s->db, pages) == SQLITE_OK ? 0 : -EIO;
}

int spool_db_step_done(sqlite3 *db, sqlite3_stmt *st) {
        int r = sqlite3_step(st);

        if (r != SQLITE_DONE)
                log_debug("sqlite: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return r == SQLITE_DONE ? 0 : -EIO;
}

static int step_done(Spool *s, sqlite3_stmt *st) {
        return spool_db_step_done(s->db, st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *t) {
        sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT);
}

int64_t spool_pending(Spool *s) {
        int64_t n = -EIO;

        if (sqlite3_step(s->pending) == SQLITE_ROW)
                n = sqlite3_column_int64(s->pending, 0);
        sqlite3_reset(s->pending);
        return n;
}

int spool_insert(Spool *s, Report *rep, unsigned *ret_dropped) {
        char as[ADDR_STRLEN];
        int64_t id;
        int r;

        addr_to_string(&rep->addr, as, sizeof as);
        bind_text(s->insert, 1, as);
        bind_text(s->insert, 2, rep->jail);
        bind_text(s->insert, 3, rep->categories);
        bind_text(s->insert, 4, rep->comment);
        sqlite3_bind_int64(s->insert, 5, (int64_t) rep->timestamp);
        sqlite3_bind_int64(s->insert, 6, rep->attempts);
        sqlite3_bind_int64(s->insert, 7, (int64_t) rep->next_attempt);
        r = step_done(s, s->insert);
        if (r < 0)
                return r;
        id = sqlite3_last_insert_rowid(s->db);
        rep->id = id;
        /* ids only grow (AUTOINCREMENT): everything older than the last SPOOL_MAX_PENDING goes */
        sqlite3_bind_int64(s->trim, 1, id - SPOOL_MAX_PENDING);
        r = step_done(s, s->trim);
        if (ret_dropped)
                *ret_dropped = r < 0 ? 0 : (unsigned) sqlite3_changes(s->db);
        if (r >= 0 && sqlite3_changes(s->db) > 0)
                (void) spool_stat_set(s, SPOOL_STAT_DROPPED,
                                      spool_stat_get(s, SPOOL_STAT_DROPPED) + sqlite3_changes(s->db));
        return 0;
}

bool spool_is_due(Spool *s, int64_t id, usec_t now) {
        bool b;

        sqlite3_bind_int64(s->exists, 1, id);
        sqlite3_bind_int64(s->exists, 2, (int64_t) MIN(now, (usec_t) INT64_MAX));
        b = sqlite3_step(s->exists) == SQLITE_ROW;
        sqlite3_reset(s->exists);
        return b;
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col) {
        const unsigned char *t = sqlite3_column_text(st, col);

        snprintf(dst, size, "%s", t ? (const char *) t : "");
}

int spool_next_due(Spool *s, usec_t now, Report *ret) {
        int r;

        sqlite3_bind_int64(s->due, 1, (int64_t) MIN(now, (usec_t) INT64_MAX));
        r = sqlite3_step(s->due);
        if (r == SQLITE_ROW) {
                char as[ADDR_STRLEN];

                *ret = (Report) { .id = sqlite3_column_int64(s->due, 0) };
                copy_col(as, sizeof as, s->due, 1);
                if (addr_from_string(as, &ret->addr) < 0)
                        ret->addr = (Addr) {};
                copy_col(ret->jail, sizeof ret->jail, s->due, 2);
                copy_col(ret->categories, sizeof ret->categories, s->due, 3);
                copy_col(ret->comment, sizeof ret->comment, s->due, 4);
                ret->timestamp = (usec_t) sqlite3_column_int64(s->due, 5);
                ret->attempts = (unsigned) sqlite3_column_int64(s->due, 6);
                ret->next_attempt = (usec_t) sqlite3_column_int64(s->due, 7);
                r = 1;
        } else
                r = r == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(s->due);
        return r;
}

usec_t spool_next_time(Spool *s) {
        usec_t t = USEC_INFINITY;

        if (sqlite3_step(s->next) == SQLITE_ROW && sqlite3_column_type(s->next, 0) != SQLITE_NULL)
                t = (usec_t) sqlite3_column_int64(s->next, 0);
        sqlite3_reset(s->next);
        return t;
}

int spool_finish(Spool *s, int64_t id, SpoolStat stat, const Addr *addr, usec_t when) {
        int r;

        /* one transaction: a crash leaves either the row pending or it done, never half */
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        sqlite3_bind_int64(s->del, 1, id);
        r = step_done(s, s->del);
        if (r >= 0 && stat == SPOOL_STAT_SENT && addr) {
                char as[ADDR_STRLEN];
                bind_text(s->last_set, 1, addr_to_string(addr, as, sizeof as));
                sqlite3_bind_int64(s->last_set, 2, (int64_t) when);
                r = step_done(s, s->last_set);
                /* only the last 15 minutes matter: the table stays small */
                if (r >= 0 && when > ABUSEIPDB_SAME_IP_USEC) {
                        sqlite3_bind_int64(s->prune, 1, (int64_t) (when - ABUSEIPDB_SAME_IP_USEC));
                        r = step_done(s, s->prune);
                }
        }
        if (r >= 0)
                r = spool_stat_set(s, stat, spool_stat_get(s, stat) + 1);
        if (sqlite3_exec(s->db, r >= 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
                r = -EIO;
        return r;
}

int spool_reschedule(Spool *s, int64_t id, unsigned attempts, usec_t next_attempt) {
        sqlite3_bind_int64(s->resched, 1, attempts);
        sqlite3_bind_int64(s->resched, 2, (int64_t) MIN(next_attempt, (usec_t) INT64_MAX));
        sqlite3_bind_int64(s->resched, 3, id);
        return step_done(s, s->resched);
}

usec_t spool_last_reported(Spool *s, const Addr *addr) {
        char as[ADDR_STRLEN];
        usec_t t = 0;

        bind_text(s->last_get, 1, addr_to_string(addr, as, sizeof as));
        if (sqlite3_step(s->last_get) == SQLITE_ROW)
                t = (usec_t) sqlite3_column_int64(s->last_get, 0);
        sqlite3_reset(s->last_get);
        sqlite3_clear_bindings(s->last_get);
        return t;
}

int64_t spool_stat_get(Spool *s, SpoolStat k) {
        int64_t v = 0;

        bind_text(s->stat_get, 1, spool_stat_to_string(k));
        if (sqlite3_step(s->stat_get) == SQLITE_ROW)
                v = sqlite3_column_int64(s->stat_get, 0);
        sqlite3_reset(s->stat_get);
        sqlite3_clear_bindings(s->stat_get);
        return v;
}

int spool_stat_set(Spool *s, SpoolStat k, int64_t v) {
        if (!s->stat_set)
                return -EROFS;
        bind_text(s->stat_set, 1, spool_stat_to_string(k));
        sqlite3_bind_int64(s->stat_set, 2, v);
        return step_done(s, s->stat_set);
}
