/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "match.h"
#include "persist-internal.h"
#include "store.h"
#include "util/string-util.h"

static char dir[] = "/tmp/test-store-XXXXXX";

static Addr A(const char *s) {
        Addr a;
        assert_int_equal(addr_from_string(s, &a), 0);
        return a;
}

typedef struct Seen {
        char line[8][128];
        size_t n;
} Seen;

static int collect(const StoreBan *b, void *userdata) {
        Seen *s = userdata;
        char as[ADDR_STRLEN];

        assert_true(s->n < 8);
        snprintf(s->line[s->n++], sizeof s->line[0], "%s %s/%u %lld %lld %u", b->jail, addr_to_string(&b->addr, as, sizeof as),
                 b->prefixlen, (long long) b->start, b->end == STORE_PERMANENT ? -1LL : (long long) b->end, b->failures);
        return 0;
}

static int collect_count(const StoreBan *b, void *userdata) {
        Seen *s = userdata;

        (void) b;
        s->n++;
        return 0;
}

typedef struct FailSeen {
        int64_t t[8];
        size_t n;
} FailSeen;

static int collect_failure(const Addr *a, int64_t t, const void *tags, size_t tags_len, void *userdata) {
        FailSeen *f = userdata;

        assert_null(tags);
        assert_int_equal(tags_len, 0);
        assert_true(f->n < 8);
        f->t[f->n++] = t;
        return 0;
}

static void test_store(void **state) {
        Store *s = NULL;
        Addr a = A("192.0.2.7"), b = A("2001:db8:2::66"), c = A("198.51.100.9");
        Seen seen = {};

        assert_non_null(mkdtemp(dir));
        assert_int_equal(store_open(dir, &s), 0);

        /* one flush: three bans in one transaction */
        assert_int_equal(store_begin(s, false), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = a, .prefixlen = 32, .start = 1000, .end = 1600,
                                                    .failures = 5, .evidence = "line 1\nline 2" }), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = b, .prefixlen = 64, .start = 1000, .end = 1600,
                                                    .failures = 5 }), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "proxmox", .addr = a, .prefixlen = 32, .start = 1000,
                                                    .end = STORE_PERMANENT, .failures = 3 }), 0);
        assert_int_equal(store_commit(s), 0);
        /* a later, longer ban of a in sshd; a rolled back one is not kept */
        assert_int_equal(store_begin(s, true), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = a, .prefixlen = 32, .start = 1500, .end = 2700,
                                                    .failures = 5 }), 0);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(store_begin(s, false), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = c, .prefixlen = 32, .start = 1500, .end = 2700 }), 0);
        store_rollback(s);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = NULL, .addr = c }), -EINVAL);

        /* counts: per jail and over all jails */
        assert_int_equal(store_count(s, "sshd", &a), 2);
        assert_int_equal(store_count(s, "proxmox", &a), 1);
        assert_int_equal(store_count(s, NULL, &a), 3);
        assert_int_equal(store_count(s, NULL, &c), 0);

        /* live at 1700: one row per (addr, jail), the latest end, permanent as such */
        assert_int_equal(store_foreach_live(s, 1700, collect, &seen), 0);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.line[0], "proxmox 192.0.2.7/32 1000 -1 3");
        assert_string_equal(seen.line[1], "sshd 192.0.2.7/32 1500 2700 5");
        seen.n = 0;
        assert_int_equal(store_foreach_live(s, 1100, collect, &seen), 0);
        assert_int_equal(seen.n, 3);
        assert_string_equal(seen.line[1], "sshd 192.0.2.7/32 1000 2700 5");
        assert_string_equal(seen.line[2], "sshd 2001:db8:2::66/64 1000 1600 5");

        /* an unban ends the live rows (of one jail), the count stays */
        assert_int_equal(store_end(s, "sshd", &a, 1200), 2);
        assert_int_equal(store_count(s, "sshd", &a), 2);
        seen.n = 0;
        assert_int_equal(store_foreach_live(s, 1300, collect, &seen), 0);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.line[0], "proxmox 192.0.2.7/32 1000 -1 3");
        /* every jail, every address */
        assert_int_equal(store_end(s, NULL, NULL, 1300), 2);

        /* purge: what ended before 1250 goes; permanent rows never end by themselves */
        assert_int_equal(store_purge(s, 1250), 2);
        assert_int_equal(store_count(s, NULL, &a), 1);
        assert_int_equal(store_purge(s, 100000), 2);
        assert_int_equal(store_count(s, NULL, &a), 0);

        /* failures and a position in one transaction; a rolled back batch leaves neither */
        {
                Addr d = A("203.0.113.4");
                char *pos = NULL;
                FailSeen fs = {};

                assert_int_equal(store_position_get(s, "sshd", "journal", &pos), -ENOENT);
                assert_int_equal(store_begin(s, false), 0);
                assert_int_equal(store_failure_add(s, "sshd", &d, 2000, NULL, 0), 0);
                assert_int_equal(store_failure_add(s, "sshd", &c, 1990, NULL, 0), 0);
                assert_int_equal(store_failure_add(s, "proxmox", &d, 2001, NULL, 0), 0);
                assert_int_equal(store_position_set(s, "sshd", "journal", "s=1"), 0);
                assert_int_equal(store_commit(s), 0);
                assert_int_equal(store_begin(s, false), 0);
                assert_int_equal(store_failure_add(s, "sshd", &d, 2002, NULL, 0), 0);
                assert_int_equal(store_position_set(s, "sshd", "journal", "s=2"), 0);
                store_rollback(s);
                assert_int_equal(store_position_get(s, "sshd", "journal", &pos), 0);
                assert_string_equal(pos, "s=1");
                free(pos);
                /* oldest first, from since on */
                assert_int_equal(store_foreach_failure(s, "sshd", 1000, collect_failure, &fs), 0);
                assert_int_equal(fs.n, 2);
                assert_int_equal(fs.t[0], 1990);
                assert_int_equal(fs.t[1], 2000);
                fs.n = 0;
                assert_int_equal(store_foreach_failure(s, "sshd", 1995, collect_failure, &fs), 0);
                assert_int_equal(fs.n, 1);
                assert_int_equal(store_failures_gc(s, "sshd", 1995), 1);
                assert_int_equal(store_failures_forget(s, "sshd", &d), 1);
                assert_int_equal(store_failures_forget(s, NULL, NULL), 1);
        }

        store_free(s);
        /* reopen: the schema is there */
        assert_int_equal(store_open(dir, &s), 0);
        assert_int_equal(store_count(s, NULL, &a), 0);
        store_free(s);
        {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                assert_int_equal(system(cmd), 0);
        }
}

static void sql(const char *path, const char *q) {
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

static int int_cb(void *userdata, int n, char **v, char **names) {
        *(int *) userdata = n == 1 && v[0] ? atoi(v[0]) : -1;
        return 0;
}

static int sql_int(const char *path, const char *q) {
        sqlite3 *db = NULL;
        int v = -1;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, q, int_cb, &v, NULL), SQLITE_OK);
        sqlite3_close(db);
        return v;
}

/* The schema runs only when the state's user_version is older than ours: an old state (version 0,
 * tables there) keeps its rows and gets the missing parts; a state that says it is current is not
 * touched, and a statement that does not fit it fails with an error rather than at open. */
static void test_store_schema(void **state) {
        char d[] = "/tmp/test-store-XXXXXX", path[64], cmd[128];
        Store *s = NULL;
        Addr a = A("192.0.2.7");
        FILE *f;

        assert_non_null(mkdtemp(d));
        snprintf(path, sizeof path, "%s/%s", d, STORE_FILE);

        /* a fresh state: version 3, every table */
        assert_int_equal(store_open(d, &s), 0);
        store_free(s);
        assert_int_equal(sql_int(path, "PRAGMA user_version"), 3);
        assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 4);
        assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"), 5 + 2);
        assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 3);

        /* a state from before the version: only the bans table, one row, version 0 */
        sql(path, "DROP TABLE bans; DROP TABLE failures; DROP TABLE positions; DROP TABLE meta;"
                  "CREATE TABLE bans(id INTEGER PRIMARY KEY, addr TEXT NOT NULL, prefixlen INTEGER NOT NULL,"
                  " jail TEXT NOT NULL, start INTEGER NOT NULL, \"end\" INTEGER, failures INTEGER NOT NULL DEFAULT 0,"
                  " evidence TEXT, reported INTEGER NOT NULL DEFAULT 0); PRAGMA user_version = 0;"
                  "INSERT INTO bans(addr, prefixlen, jail, start, \"end\") VALUES ('192.0.2.7', 32, 'sshd', 1, 2)");
        assert_int_equal(store_open(d, &s), 0);
        assert_int_equal(store_count(s, "sshd", &a), 1);
        assert_int_equal(store_failure_add(s, "sshd", &a, 5, NULL, 0), 0);
        /* its old ban counts as told: an upgrade tells no expiry of the past */
        {
                Seen seen = {};
                assert_int_equal(store_foreach_expired(s, 100, 10, collect, &seen), 0);
                assert_int_equal(seen.n, 0);
        }
        store_free(s);
        assert_int_equal(sql_int(path, "PRAGMA user_version"), 3);
        assert_int_equal(sql_int(path, "SELECT told FROM bans"), 1);
        assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 4);

        /* a current version without the failures table: opens, and the statement says why */
        sql(path, "DROP TABLE failures");
        assert_int_equal(store_open(d, &s), 0);
        assert_int_equal(store_count(s, "sshd", &a), 1);
        assert_int_equal(store_failure_add(s, "sshd", &a, 5, NULL, 0), -EIO);
        store_free(s);

        /* not a database */
        assert_int_equal(unlink(path), 0);
        f = fopen(path, "w");
        assert_non_null(f);
        for (int i = 0; i < 256; i++)
                fputs("not a database\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(store_open(d, &s), -EBADMSG);

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
        assert_int_equal(system(cmd), 0);
}

typedef struct TagSeen {
        char tags[64];
        size_t len, n;
} TagSeen;

static int collect_tags(const Addr *a, int64_t t, const void *tags, size_t tags_len, void *userdata) {
        TagSeen *f = userdata;

        f->n++;
        assert_true(tags_len < sizeof f->tags);
        memcpy(f->tags, tags ?: "", tags_len);
        f->len = tags_len;
        return 0;
}

/* A failure's tags come back as they were stored (NUL bytes and all); too many bytes are refused
 * at write and dropped at read (a row made by hand). */
static void test_store_failure_tags(void **state) {
        char d[] = "/tmp/test-store-XXXXXX", path[64], cmd[128], big[STORE_TAGS_MAX + 1];
        static const char tags[] = "F-USER=root\0F-ID=7\0";
        Store *s = NULL;
        Addr a = A("192.0.2.7");
        TagSeen seen = {};

        assert_non_null(mkdtemp(d));
        snprintf(path, sizeof path, "%s/%s", d, STORE_FILE);
        assert_int_equal(store_open(d, &s), 0);
        assert_int_equal(store_failure_add(s, "sshd", &a, 5, tags, sizeof tags - 1), 0);
        assert_int_equal(store_foreach_failure(s, "sshd", 0, collect_tags, &seen), 0);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.len, sizeof tags - 1);
        assert_memory_equal(seen.tags, tags, sizeof tags - 1);
        memset(big, 'x', sizeof big);
        assert_int_equal(store_failure_add(s, "sshd", &a, 6, big, sizeof big), -EINVAL);
        assert_int_equal(store_failures_forget(s, NULL, NULL), 1);
        store_free(s);
        sql(path, "INSERT INTO failures(jail, addr, t, tags) VALUES ('sshd', '192.0.2.7', 5, zeroblob(5000))");
        assert_int_equal(store_open(d, &s), 0);
        seen = (TagSeen) {};
        assert_int_equal(store_foreach_failure(s, "sshd", 0, collect_tags, &seen), 0);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.len, 0);
        store_free(s);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
        assert_int_equal(system(cmd), 0);
}

/* The ends to tell at a start: a ban that ran out and was not told, once per (address, jail); not
 * one that was extended by a later ban still due, ended by an unban, or permanent; and once
 * marked, never again. */
static void test_store_expired(void **state) {
        char d[] = "/tmp/test-store-XXXXXX", cmd[128];
        Store *s = NULL;
        Addr a = A("192.0.2.7"), b = A("192.0.2.8"), c = A("192.0.2.9"), e = A("2001:db8::1");
        Seen seen = {};

        assert_non_null(mkdtemp(d));
        assert_int_equal(store_open(d, &s), 0);
        /* a: two bans, both over by 100; b: over, but banned again until 200; c: unbanned at 50 */
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = a, .prefixlen = 32, .start = 1, .end = 60 }), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = a, .prefixlen = 32, .start = 2, .end = 90 }), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = b, .prefixlen = 32, .start = 1, .end = 60 }), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = b, .prefixlen = 32, .start = 70, .end = 200 }), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = c, .prefixlen = 32, .start = 1, .end = 80 }), 0);
        assert_int_equal(store_end(s, "sshd", &c, 50), 1);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "pve", .addr = e, .prefixlen = 64, .start = 1, .end = 95 }), 0);
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "pve", .addr = a, .prefixlen = 32, .start = 1, .end = STORE_PERMANENT }), 0);
        assert_int_equal(store_begin(s, false), 0);
        assert_int_equal(store_foreach_expired(s, 100, 10, collect, &seen), 0);
        assert_int_equal(store_mark_told(s, 100), 4);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.line[0], "pve 2001:db8::1/64 1 95 0");
        assert_string_equal(seen.line[1], "sshd 192.0.2.7/32 1 90 0");
        seen.n = 0;
        assert_int_equal(store_foreach_expired(s, 100, 10, collect, &seen), 0);
        assert_int_equal(seen.n, 0);
        /* later, b's second ban runs out too; max bounds the walk */
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = c, .prefixlen = 32, .start = 1, .end = 150 }), 0);
        assert_int_equal(store_foreach_expired(s, 300, 1, collect, &seen), 0);
        assert_int_equal(seen.n, 1);
        assert_string_equal(seen.line[0], "sshd 192.0.2.8/32 70 200 0");
        assert_int_equal(store_mark_told(s, 300), 2);
        seen.n = 0;
        assert_int_equal(store_foreach_expired(s, 300, 10, collect, &seen), 0);
        assert_int_equal(seen.n, 0);
        store_free(s);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
        assert_int_equal(system(cmd), 0);
}

/* meta: set, get, delete; any change to the bans, ours or by hand, drops the clean-stop token
 * and nothing else */
static void test_store_meta(void **state) {
        char d[] = "/tmp/test-store-XXXXXX", path[64], cmd[128];
        Store *s = NULL;
        Addr a = A("192.0.2.7");
        char *v = NULL;

        assert_non_null(mkdtemp(d));
        snprintf(path, sizeof path, "%s/%s", d, STORE_FILE);
        assert_int_equal(store_open(d, &s), 0);
        assert_int_equal(store_meta_get(s, STORE_META_CLEAN_STOP, &v), -ENOENT);
        assert_int_equal(store_meta_set(s, STORE_META_CLEAN_STOP, "token 1"), 0);
        assert_int_equal(store_meta_set(s, "other", "kept"), 0);
        assert_int_equal(store_meta_get(s, STORE_META_CLEAN_STOP, &v), 0);
        assert_string_equal(v, "token 1");
        free(v);

        /* the daemon's own ban, end, purge */
        assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = a, .prefixlen = 32, .start = 10,
                                                     .end = 20 }), 0);
        assert_int_equal(store_meta_get(s, STORE_META_CLEAN_STOP, &v), -ENOENT);
        assert_int_equal(store_meta_set(s, STORE_META_CLEAN_STOP, "token 2"), 0);
        assert_int_equal(store_end(s, "sshd", &a, 15), 1);
        assert_int_equal(store_meta_get(s, STORE_META_CLEAN_STOP, &v), -ENOENT);
        assert_int_equal(store_meta_set(s, STORE_META_CLEAN_STOP, "token 3"), 0);
        assert_int_equal(store_purge(s, 100), 1);
        assert_int_equal(store_meta_get(s, STORE_META_CLEAN_STOP, &v), -ENOENT);
        /* failures and positions are no bans */
        assert_int_equal(store_meta_set(s, STORE_META_CLEAN_STOP, "token 4"), 0);
        assert_int_equal(store_failure_add(s, "sshd", &a, 5, NULL, 0), 0);
        assert_int_equal(store_position_set(s, "sshd", "files", "{}"), 0);
        assert_int_equal(store_meta_get(s, STORE_META_CLEAN_STOP, &v), 0);
        assert_string_equal(v, "token 4");
        free(v);
        store_free(s);

        /* a ban added by hand while the daemon is stopped */
        sql(path, "INSERT INTO bans(addr, prefixlen, jail, start) VALUES ('192.0.2.8', 32, 'sshd', 1)");
        assert_int_equal(store_open(d, &s), 0);
        assert_int_equal(store_meta_get(s, STORE_META_CLEAN_STOP, &v), -ENOENT);
        assert_int_equal(store_meta_get(s, "other", &v), 0);
        assert_string_equal(v, "kept");
        free(v);
        assert_int_equal(store_meta_delete(s, "other"), 0);
        assert_int_equal(store_meta_delete(s, "other"), 0);
        assert_int_equal(store_meta_get(s, "other", &v), -ENOENT);
        store_free(s);

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
        assert_int_equal(system(cmd), 0);
}

static off_t wal_size(const char *d) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof path, "%s/%s-wal", d, STORE_FILE);
        return stat(path, &st) < 0 ? 0 : st.st_size;
}

/* n bans of 2001:db8::/32, one transaction each (as the flush commits one ban): each leaves
 * several pages in the WAL (the row, two indexes, the meta trigger) */
static void add_bans(Store *s, int from, int n) {
        for (int i = from; i < from + n; i++) {
                Addr a = { .family = AF_INET6, .bytes = { 0x20, 0x01, 0x0d, 0xb8, (uint8_t) (i >> 8), (uint8_t) i, 0, 0,
                                                          0, 0, 0, 0, 0, 0, 0, 1 } };
                assert_int_equal(store_begin(s, false), 0);
                assert_int_equal(store_failures_forget(s, "sshd", &a), 0);
                assert_int_equal(store_add(s, &(StoreBan) { .jail = "sshd", .addr = a, .prefixlen = 64, .start = 10,
                                                             .end = 4000000000, .failures = 5,
                                                             .evidence = "Failed password for root" }), 0);
                assert_int_equal(store_commit(s), 0);
        }
}

/* No checkpoint runs inside the store's commits (the WAL grows past SQLite's 1000 pages when no
 * checkpointer runs); with the checkpointer hooked, the WAL stays bounded while the commits go
 * on and is emptied once they stop; every ban is there, also after the database is closed and
 * opened again. */
static void test_store_checkpointer(void **state) {
        char d[] = "/tmp/test-store-XXXXXX", cmd[128];
        StoreCheckpointer *c = NULL;
        StoreCheckpointStats st;
        Store *s = NULL;
        off_t max = 0;
        Seen seen = {};

        assert_non_null(mkdtemp(d));
        assert_int_equal(store_open(d, &s), 0);
        add_bans(s, 0, 1500);
        /* 1000 pages of 4 KiB: SQLite's automatic checkpoint would have started the WAL over */
        assert_true(wal_size(d) > 1000 * 4096);

        assert_int_equal(store_checkpointer_start(d, 3600 * USEC_PER_SEC, &c), 0); /* rounds when woken only */
        store_set_checkpointer(s, c);
        for (int k = 0; k < 6; k++) {
                add_bans(s, 1500 + k * 500, 500);
                max = MAX(max, wal_size(d));
        }
        assert_int_equal(store_checkpointer_sync(c), 0);
        /* a writer starts the WAL over once it is copied; journal_size_limit trims it then */
        add_bans(s, 4500, 1);
        assert_true(wal_size(d) <= STORE_WAL_MAX + 1000 * 4096);
        /* idle: copied and no new frame since the last round, so emptied */
        assert_int_equal(store_checkpointer_sync(c), 0);
        assert_int_equal(store_checkpointer_sync(c), 0);
        assert_int_equal(wal_size(d), 0);
        store_checkpointer_stats(c, &st);
        print_message("WAL at most %lld bytes during 3000 commits; %llu rounds, %llu copied, %llu truncated\n",
                      (long long) max, (unsigned long long) st.rounds, (unsigned long long) st.passive,
                      (unsigned long long) st.truncated);
        assert_true(st.truncated >= 1);
        store_set_checkpointer(s, NULL);
        c = store_checkpointer_stop(c);
        assert_null(c);
        assert_int_equal(store_count(s, NULL, &(Addr) { .family = AF_INET6, .bytes = { 0x20, 0x01, 0x0d, 0xb8, 0x11, 0x94, 0, 0,
                                                                                          0, 0, 0, 0, 0, 0, 0, 1 } }), 1);
        store_free(s);

        assert_int_equal(store_open(d, &s), 0);
        assert_int_equal(store_foreach_live(s, 20, collect_count, &seen), 0);
        assert_int_equal(seen.n, 4501);
        store_free(s);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
        assert_int_equal(system(cmd), 0);
}

/* The stored tags read back (persist_tags_decode()): what persist_tags_encode() wrote comes back
 * the same; any other bytes, as a hand-edited or damaged state file may hold, give no tags at
 * all rather than a part of them or a read past the row. */
static void test_persist_tags(void **state) {
        char *const good[] = { "F-USER=root", "F-ID=7", "F-A_1=", NULL };
        char buf[STORE_TAGS_MAX], val[MATCH_TAG_VALUE_MAX + 8];
        char **v;
        size_t n;

        n = persist_tags_encode(good, buf, sizeof buf);
        assert_int_equal(n, sizeof "F-USER=root" + sizeof "F-ID=7" + sizeof "F-A_1=");
        v = persist_tags_decode(buf, n);
        assert_non_null(v);
        assert_int_equal(strv_length(v), 3);
        assert_string_equal(v[0], "F-USER=root");
        assert_string_equal(v[2], "F-A_1=");
        strv_free(v);
        assert_int_equal(persist_tags_encode(good, buf, 12), 0); /* does not fit: none */
        assert_int_equal(persist_tags_encode(NULL, buf, sizeof buf), 0);
        assert_null(persist_tags_decode(NULL, 0));
        assert_null(persist_tags_decode(buf, 0));

        static const struct {
                const char *bytes;
                size_t len;
        } bad[] = {
                { "F-USER=root", 11 },            /* no NUL at the end */
                { "F-USER=root\0\0", 13 },        /* an empty entry */
                { "F-USER\0", 7 },                /* no '=' */
                { "F-=x\0", 5 },                  /* no name */
                { "F-user=x\0", 9 },              /* not capitals */
                { "F-US ER=x\0", 10 },
                { "G-USER=x\0", 9 },              /* not F- */
                { "USER=x\0", 7 },
                { "F-ID=7\0F-USER", 13 },         /* the last entry cut */
                { "F-ID=7\0F-\xff=1\0", 12 },
                { "F-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_AB=1\0", 44 }, /* a name of 39 */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                v = persist_tags_decode(bad[i].bytes, bad[i].len);
                if (v)
                        fail_msg("bad tags %zu decoded to %zu entries", i, strv_length(v));
        }
        /* a name of 38 passes */
        v = persist_tags_decode("F-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_A=1", 43);
        assert_non_null(v);
        strv_free(v);

        /* a value of MATCH_TAG_VALUE_MAX bytes passes, one more does not */
        memcpy(val, "F-X=", 4);
        memset(val + 4, 'v', MATCH_TAG_VALUE_MAX);
        val[4 + MATCH_TAG_VALUE_MAX] = 0;
        {
                char *const one[] = { val, NULL };
                char out[STORE_TAGS_MAX];
                char *longer;

                n = persist_tags_encode(one, out, sizeof out);
                v = persist_tags_decode(out, n);
                assert_non_null(v);
                strv_free(v);
                assert_true(asprintf(&longer, "%sv", val) > 0);
                char *const two[] = { longer, NULL };
                n = persist_tags_encode(two, out, sizeof out);
                assert_null(persist_tags_decode(out, n));
                free(longer);
        }

        /* MATCH_TAGS_MAX entries pass, one more does not */
        n = 0;
        for (int i = 0; i <= MATCH_TAGS_MAX; i++) {
                int k = snprintf(buf + n, sizeof buf - n, "F-T%d=%d", i, i);
                n += (size_t) k + 1;
                v = persist_tags_decode(buf, n);
                if (i < MATCH_TAGS_MAX) {
                        assert_non_null(v);
                        assert_int_equal(strv_length(v), (size_t) i + 1);
                        strv_free(v);
                } else
                        assert_null(v);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_store),
                cmocka_unit_test(test_store_schema),
                cmocka_unit_test(test_store_meta),
                cmocka_unit_test(test_store_failure_tags),
                cmocka_unit_test(test_persist_tags),
                cmocka_unit_test(test_store_expired),
                cmocka_unit_test(test_store_checkpointer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
