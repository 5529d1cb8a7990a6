/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "spool.h"
#include "util/macro.h"
#include "webhook-spool.h"

struct WebhookSpool {
        sqlite3 *db;
        sqlite3_stmt *insert, *trim, *due, *next, *del, *resched, *hold, *stat_get, *stat_add, *pending;
};

static const char *const stat_table[_WEBHOOK_STAT_MAX] = {
        [WEBHOOK_STAT_DELIVERED] = "delivered",
        [WEBHOOK_STAT_REJECTED] = "rejected",
        [WEBHOOK_STAT_EXPIRED] = "expired",
        [WEBHOOK_STAT_DROPPED] = "dropped",
};

const char *webhook_stat_to_string(WebhookStat s) {
        return s >= 0 && s < _WEBHOOK_STAT_MAX ? stat_table[s] : NULL;
}

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS webhook_spool ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, webhook TEXT NOT NULL, kind TEXT NOT NULL,"
        " jail TEXT NOT NULL, addr TEXT NOT NULL, content_type TEXT NOT NULL, created INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL, title TEXT);"
        "CREATE INDEX IF NOT EXISTS webhook_spool_next ON webhook_spool (next_attempt, id);"
        "CREATE TABLE IF NOT EXISTS webhook_stats (key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

#define COLS "id, event_id, webhook, kind, jail, addr, content_type, created, attempts, next_attempt, body, title"

void webhook_row_done(WebhookRow *r) {
        free(r->body);
        free(r->title);
        r->body = r->title = NULL;
}

WebhookSpool *webhook_spool_free(WebhookSpool *s) {
        if (!s)
                return NULL;
        sqlite3_stmt **v[] = { &s->insert, &s->trim, &s->due, &s->next, &s->del, &s->resched, &s->hold,
                               &s->stat_get, &s->stat_add, &s->pending };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                sqlite3_finalize(*v[i]);
        sqlite3_close(s->db);
        free(s);
        return NULL;
}

static int prep(WebhookSpool *s, sqlite3_stmt **st, const char *sql) {
        return spool_db_prep(s->db, st, sql);
}

int webhook_spool_open(const char *dir, bool read_only, WebhookSpool **ret) {
        WebhookSpool *s = calloc(1, sizeof *s);
        int r;

        if (!s)
                return -ENOMEM;
        r = spool_db_open(dir, read_only, schema, &s->db);
        if (r < 0) {
                free(s);
                return r;
        }
        if (read_only && sqlite3_exec(s->db, "SELECT 1 FROM webhook_spool LIMIT 0", NULL, NULL, NULL) != SQLITE_OK) {
                webhook_spool_free(s);
                return -ENOENT;
        }
        if ((!read_only &&
             (prep(s, &s->insert,
                   "INSERT INTO webhook_spool (event_id, webhook, kind, jail, addr, content_type, created, attempts,"
                   " next_attempt, body, title) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
              prep(s, &s->trim, "DELETE FROM webhook_spool WHERE id <= ?") < 0 ||
              prep(s, &s->del, "DELETE FROM webhook_spool WHERE id = ?") < 0 ||
              prep(s, &s->resched, "UPDATE webhook_spool SET attempts = ?, next_attempt = ? WHERE id = ?") < 0 ||
              prep(s, &s->hold, "UPDATE webhook_spool SET next_attempt = ? WHERE webhook = ? AND next_attempt < ?") < 0 ||
              prep(s, &s->stat_add,
                   "INSERT INTO webhook_stats (key, value) VALUES (?, ?)"
                   " ON CONFLICT (key) DO UPDATE SET value = value + excluded.value") < 0 ||
              prep(s, &s->due, "SELECT " COLS " FROM webhook_spool WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT 1") < 0 ||
              prep(s, &s->next, "SELECT MIN(next_attempt) FROM webhook_spool") < 0)) ||
            prep(s, &s->stat_get, "SELECT value FROM webhook_stats WHERE key = ?") < 0 ||
            prep(s, &s->pending, "SELECT COUNT(*) FROM webhook_spool") < 0) {
                webhook_spool_free(s);
                return -EIO;
        }
        *ret = s;
        return 0;
}

int webhook_spool_set_autocheckpoint(WebhookSpool *s, int pages) {
        return sqlite3_wal_autocheckpoint(s->db, pages) == SQLITE_OK ? 0 : -EIO;
}

static int step_done(WebhookSpool *s, sqlite3_stmt *st) {
        return spool_db_step_done(s->db, st);
}

static int64_t clamp(usec_t t) {
        return (int64_t) MIN(t, (usec_t) INT64_MAX);
}

static int stat_add(WebhookSpool *s, WebhookStat k, int64_t n) {
        sqlite3_bind_text(s->stat_add, 1, webhook_stat_to_string(k), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->stat_add, 2, n);
        return step_done(s, s->stat_add);
}

int webhook_spool_insert(WebhookSpool *s, WebhookRow *row, unsigned *ret_dropped) {
        const char *t[] = { row->event_id, row->webhook, row->kind, row->jail, row->addr, row->content_type };
        int64_t id;
        int r, n = 0;

        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                sqlite3_bind_text(s->insert, (int) i + 1, t[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->insert, 7, clamp(row->created));
        sqlite3_bind_int64(s->insert, 8, row->attempts);
        sqlite3_bind_int64(s->insert, 9, clamp(row->next_attempt));
        sqlite3_bind_text(s->insert, 10, row->body, -1, SQLITE_STATIC);
        if (row->title)
                sqlite3_bind_text(s->insert, 11, row->title, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(s->insert, 11);
        r = step_done(s, s->insert);
        id = sqlite3_last_insert_rowid(s->db);
        if (r >= 0) {
                /* ids only grow (AUTOINCREMENT): everything older than the last WEBHOOK_SPOOL_MAX goes */
                sqlite3_bind_int64(s->trim, 1, id - WEBHOOK_SPOOL_MAX);
                r = step_done(s, s->trim);
                n = r >= 0 ? sqlite3_changes(s->db) : 0;
        }
        if (r >= 0 && n > 0)
                r = stat_add(s, WEBHOOK_STAT_DROPPED, n);
        if (sqlite3_exec(s->db, r >= 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
                r = -EIO;
        if (r < 0) {
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                return r;
        }
        row->id = id;
        if (ret_dropped)
                *ret_dropped = (unsigned) n;
        return 0;
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col) {
        const unsigned char *t = sqlite3_column_text(st, col);

        snprintf(dst, size, "%s", t ? (const char *) t : "");
}

int webhook_spool_next_due(WebhookSpool *s, usec_t now, WebhookRow *ret) {
        int r;

        sqlite3_bind_int64(s->due, 1, clamp(now));
        r = sqlite3_step(s->due);
        if (r == SQLITE_ROW) {
                const unsigned char *body = sqlite3_column_text(s->due, 10), *title = sqlite3_column_text(s->due, 11);

                *ret = (WebhookRow) { .id = sqlite3_column_int64(s->due, 0) };
                copy_col(ret->event_id, sizeof ret->event_id, s->due, 1);
                copy_col(ret->webhook, sizeof ret->webhook, s->due, 2);
                copy_col(ret->kind, sizeof ret->kind, s->due, 3);
                copy_col(ret->jail, sizeof ret->jail, s->due, 4);
                copy_col(ret->addr, sizeof ret->addr, s->due, 5);
                copy_col(ret->content_type, sizeof ret->content_type, s->due, 6);
                ret->created = (usec_t) sqlite3_column_int64(s->due, 7);
                ret->attempts = (unsigned) sqlite3_column_int64(s->due, 8);
                ret->next_attempt = (usec_t) sqlite3_column_int64(s->due, 9);
                ret->body = strdup(body ? (const char *) body : "");
                ret->title = title ? strdup((const char *) title) : NULL;
                r = !ret->body || (title && !ret->title) ? -ENOMEM : 1;
                if (r < 0)
                        webhook_row_done(ret);
        } else
                r = r == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(s->due);
        return r;
}

usec_t webhook_spool_next_time(WebhookSpool *s) {
        usec_t t = USEC_INFINITY;

        if (sqlite3_step(s->next) == SQLITE_ROW && sqlite3_column_type(s->next, 0) != SQLITE_NULL)
                t = (usec_t) sqlite3_column_int64(s->next, 0);
        sqlite3_reset(s->next);
        return t;
}

int webhook_spool_finish(WebhookSpool *s, int64_t id, WebhookStat stat) {
        int r;

        /* one transaction: a crash leaves either the row pending or it done, never half */
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        sqlite3_bind_int64(s->del, 1, id);
        r = step_done(s, s->del);
        if (r >= 0)
                r = stat_add(s, stat, 1);
        if (sqlite3_exec(s->db, r >= 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
                r = -EIO;
        return r;
}

int webhook_spool_reschedule(WebhookSpool *s, int64_t id, const char *webhook, unsigned attempts, usec_t next_attempt) {
        int r;

        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        sqlite3_bind_int64(s->resched, 1, attempts);
        sqlite3_bind_int64(s->resched, 2, clamp(next_attempt));
        sqlite3_bind_int64(s->resched, 3, id);
        r = step_done(s, s->resched);
        if (r >= 0) {
                sqlite3_bind_int64(s->hold, 1, clamp(next_attempt));
                sqlite3_bind_text(s->hold, 2, webhook, -1, SQLITE_STATIC);
                sqlite3_bind_int64(s->hold, 3, clamp(next_attempt));
                r = step_done(s, s->hold);
        }
        if (sqlite3_exec(s->db, r >= 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
                r = -EIO;
        return r;
}

int64_t webhook_spool_pending(WebhookSpool *s) {
        int64_t n = -EIO;

        if (sqlite3_step(s->pending) == SQLITE_ROW)
                n = sqlite3_column_int64(s->pending, 0);
        sqlite3_reset(s->pending);
        return n;
}

int64_t webhook_spool_stat_get(WebhookSpool *s, WebhookStat k) {
        int64_t v = 0;

        sqlite3_bind_text(s->stat_get, 1, webhook_stat_to_string(k), -1, SQLITE_STATIC);
        if (sqlite3_step(s->stat_get) == SQLITE_ROW)
                v = sqlite3_column_int64(s->stat_get, 0);
        sqlite3_reset(s->stat_get);
        sqlite3_clear_bindings(s->stat_get);
        return v;
}
