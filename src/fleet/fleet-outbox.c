/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fleet-outbox.h"
#include "log.h"

struct FleetOutbox {
        sqlite3 *db;
        unsigned depth;         /* fleet_outbox_begin() nesting */
        sqlite3_stmt *insert, *trim, *next, *del, *count, *seq_get, *seq_set, *remote;
};

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS fleet_outbox ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, unban INTEGER NOT NULL, addr TEXT NOT NULL, prefixlen INTEGER NOT NULL,"
        " jail TEXT NOT NULL, proto INTEGER NOT NULL, ports TEXT NOT NULL, created INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, failures INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS fleet_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS fleet_remote ("
        " origin TEXT NOT NULL, jail TEXT NOT NULL, addr TEXT NOT NULL, prefixlen INTEGER NOT NULL,"
        " unban INTEGER NOT NULL, expires INTEGER NOT NULL, seq INTEGER NOT NULL, received INTEGER NOT NULL,"
        " PRIMARY KEY (origin, jail, addr, prefixlen));";

FleetOutbox *fleet_outbox_free(FleetOutbox *o) {
        if (!o)
                return NULL;
        sqlite3_stmt **v[] = { &o->insert, &o->trim, &o->next, &o->del, &o->count, &o->seq_get, &o->seq_set, &o->remote };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                sqlite3_finalize(*v[i]);
        sqlite3_close(o->db);
        free(o);
        return NULL;
}

static int prep(FleetOutbox *o, sqlite3_stmt **st, const char *sql) {
        if (sqlite3_prepare_v3(o->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
                log_debug("sqlite: %s: %s", sql, sqlite3_errmsg(o->db));
                return -EIO;
        }
        return 0;
}

int fleet_outbox_open(const char *dir, FleetOutbox **ret) {
        _cleanup_(fleet_outbox_freep) FleetOutbox *o = NULL;
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/nftjail.db", dir) < 0)
                return -ENOMEM;
        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        if (sqlite3_open_v2(path, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
                log_debug("sqlite: %s: %s", path, o->db ? sqlite3_errmsg(o->db) : "out of memory");
                return -EIO;
        }
        (void) sqlite3_busy_timeout(o->db, 5000);
        if (sqlite3_exec(o->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=4194304;", NULL,
                         NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(o->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
                log_debug("sqlite: %s: %s", path, sqlite3_errmsg(o->db));
                return -EIO;
        }
        if (prep(o, &o->insert,
                 "INSERT INTO fleet_outbox (unban, addr, prefixlen, jail, proto, ports, created, expires, failures)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
            prep(o, &o->trim, "DELETE FROM fleet_outbox WHERE id <= ?") < 0 ||
            prep(o, &o->next,
                 "SELECT id, unban, addr, prefixlen, jail, proto, ports, created, expires, failures FROM fleet_outbox"
                 " WHERE id > ? ORDER BY id LIMIT 1") < 0 ||
            prep(o, &o->del, "DELETE FROM fleet_outbox WHERE id = ?") < 0 ||
            prep(o, &o->count, "SELECT COUNT(*) FROM fleet_outbox") < 0 ||
            prep(o, &o->seq_get, "SELECT value FROM fleet_state WHERE key = 'stream_seq'") < 0 ||
            prep(o, &o->seq_set,
                 "INSERT INTO fleet_state (key, value) VALUES ('stream_seq', ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value") < 0 ||
            prep(o, &o->remote,
                 "INSERT INTO fleet_remote (origin, jail, addr, prefixlen, unban, expires, seq, received)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (origin, jail, addr, prefixlen) DO UPDATE SET"
                 " unban = excluded.unban, expires = excluded.expires, seq = excluded.seq, received = excluded.received") < 0)
                return -EIO;
        *ret = TAKE_PTR(o);
        return 0;
}

static int step_done(FleetOutbox *o, sqlite3_stmt *st) {
        int r = sqlite3_step(st);

        if (r != SQLITE_DONE)
                log_debug("sqlite: %s", sqlite3_errmsg(o->db));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return r == SQLITE_DONE ? 0 : -EIO;
}

int fleet_outbox_add(FleetOutbox *o, FleetMsg *m, unsigned *ret_dropped) {
        char as[ADDR_STRLEN], ports[FLEET_PORTS_MAX * 6 + 1] = "";
        size_t n = 0;
        int64_t id;
        int r;

        for (size_t i = 0; i < m->n_ports; i++)
                n += (size_t) snprintf(ports + n, sizeof ports - n, "%s%u", i ? "," : "", m->ports[i]);
        sqlite3_bind_int(o->insert, 1, m->unban);
        sqlite3_bind_text(o->insert, 2, addr_to_string(&m->addr, as, sizeof as), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(o->insert, 3, m->prefixlen);
        sqlite3_bind_text(o->insert, 4, m->jail, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(o->insert, 5, m->proto);
        sqlite3_bind_text(o->insert, 6, ports, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(o->insert, 7, m->created);
        sqlite3_bind_int64(o->insert, 8, m->expires);
        sqlite3_bind_int64(o->insert, 9, m->failures);
        r = step_done(o, o->insert);
        if (r < 0)
                return r;
        id = sqlite3_last_insert_rowid(o->db);
        m->seq = (uint64_t) id;
        sqlite3_bind_int64(o->trim, 1, id - FLEET_OUTBOX_MAX);
        r = step_done(o, o->trim);
        if (ret_dropped)
                *ret_dropped = r < 0 ? 0 : (unsigned) sqlite3_changes(o->db);
        return 0;
}

int fleet_outbox_next(FleetOutbox *o, uint64_t after, FleetMsg *ret) {
        const char *t;
        int r;

        sqlite3_bind_int64(o->next, 1, (int64_t) MIN(after, (uint64_t) INT64_MAX));
        r = sqlite3_step(o->next);
        if (r == SQLITE_ROW) {
                FleetMsg m = {};

                m.seq = (uint64_t) sqlite3_column_int64(o->next, 0);
                m.unban = sqlite3_column_int(o->next, 1);
                t = (const char *) sqlite3_column_text(o->next, 2);
                if (!t || addr_from_string(t, &m.addr) < 0)
                        r = SQLITE_CORRUPT;
                m.prefixlen = (uint8_t) sqlite3_column_int(o->next, 3);
                t = (const char *) sqlite3_column_text(o->next, 4);
                snprintf(m.jail, sizeof m.jail, "%s", t ?: "");
                m.proto = (uint8_t) sqlite3_column_int(o->next, 5);
                t = (const char *) sqlite3_column_text(o->next, 6);
                for (const char *p = t; p && *p && m.n_ports < FLEET_PORTS_MAX; p += strcspn(p, ","), p += *p == ',')
                        m.ports[m.n_ports++] = (uint16_t) strtoul(p, NULL, 10);
                m.created = sqlite3_column_int64(o->next, 7);
                m.expires = sqlite3_column_int64(o->next, 8);
                m.failures = (unsigned) sqlite3_column_int64(o->next, 9);
                memcpy(m.origin, ret->origin, sizeof m.origin);
                if (r == SQLITE_ROW)
                        *ret = m;
        }
        sqlite3_reset(o->next);
        if (r == SQLITE_ROW)
                return 1;
        if (r == SQLITE_DONE)
                return 0;
        log_debug("sqlite: fleet_outbox: %s", sqlite3_errmsg(o->db));
        return -EIO;
}

int fleet_outbox_begin(FleetOutbox *o) {
        if (o->depth++ > 0)
                return 0;
        if (sqlite3_exec(o->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
                log_debug("sqlite: BEGIN: %s", sqlite3_errmsg(o->db));
                o->depth = 0;
                return -EIO;
        }
        return 0;
}

int fleet_outbox_commit(FleetOutbox *o) {
        if (o->depth == 0 || --o->depth > 0)
                return 0;
        if (sqlite3_exec(o->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                log_debug("sqlite: COMMIT: %s", sqlite3_errmsg(o->db));
                (void) sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
                return -EIO;
        }
        return 0;
}

int fleet_outbox_done(FleetOutbox *o, uint64_t seq) {
        sqlite3_bind_int64(o->del, 1, (int64_t) seq);
        return step_done(o, o->del);
}

int64_t fleet_outbox_pending(FleetOutbox *o) {
        int64_t n = -EIO;

        if (sqlite3_step(o->count) == SQLITE_ROW)
                n = sqlite3_column_int64(o->count, 0);
        sqlite3_reset(o->count);
        return n;
}

int fleet_state_get_seq(FleetOutbox *o, uint64_t *ret) {
        int r = sqlite3_step(o->seq_get);

        *ret = r == SQLITE_ROW ? (uint64_t) sqlite3_column_int64(o->seq_get, 0) : 0;
        sqlite3_reset(o->seq_get);
        return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

int fleet_state_set_seq(FleetOutbox *o, uint64_t seq) {
        sqlite3_bind_int64(o->seq_set, 1, (int64_t) MIN(seq, (uint64_t) INT64_MAX));
        return step_done(o, o->seq_set);
}

int fleet_remote_record(FleetOutbox *o, const FleetMsg *m, int64_t now) {
        char as[ADDR_STRLEN];

        sqlite3_bind_text(o->remote, 1, m->origin, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(o->remote, 2, m->jail, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(o->remote, 3, addr_to_string(&m->addr, as, sizeof as), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(o->remote, 4, m->prefixlen);
        sqlite3_bind_int(o->remote, 5, m->unban);
        sqlite3_bind_int64(o->remote, 6, m->expires);
        sqlite3_bind_int64(o->remote, 7, (int64_t) MIN(m->seq, (uint64_t) INT64_MAX));
        sqlite3_bind_int64(o->remote, 8, now);
        return step_done(o, o->remote);
}
