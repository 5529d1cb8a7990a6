/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "addr.h"
#include "ban.h"
#include "conf.h"
#include "nft.h"
#include "prelude.h"
#include "store.h"

/* The manager's durable side: what must outlive a stop, a crash or a vanished table. It keeps
 * the ban history, the failures not yet turned into bans and the sources' positions in the store
 * (store.c holds the SQL), brings kernel, store and ban map into agreement at start and whenever
 * the ruleset changed under us (restore.c, on the word of the nf_tables monitor kept here),
 * leaves the clean-stop token, and answers bantime.increment from the history. Main thread.
 * Every function tolerates a Persist whose store could not be opened: it then does nothing, or
 * answers as a daemon without history would. */

typedef struct Persist Persist;

typedef struct PersistOptions {
        sd_event *event;
        Nft *nft;               /* the manager's; outlives the Persist */
        BanMap *bans;           /* the manager's map of live bans; restores fill it */
        const Config *config;   /* the running configuration; persist_set_config() after a reload */
        const char *state_dir;  /* $STATE: nftjail.db lives there */
        /* The nft file that defines the table, for a resync that must load it again. */
        const char *(*nft_file)(void *userdata, char *buf, size_t len);
        /* One of our live elements was deleted by someone else (seen by the monitor at the end of
         * that transaction): the manager unbans it. The map still holds it. */
        void (*elem_deleted)(void *userdata, const NftListed *l);
        void *userdata;
} PersistOptions;

/* After the table is ready: starts the monitor, opens $STATE/nftjail.db, purges old history,
 * starts the daily purge and restores the bans. A restore (this one and any resync's) runs with
 * the monitor out of its group, so that its own notifications neither overrun the monitor nor
 * cost the kernel their making; the ruleset generation id tells whether anyone else committed
 * meanwhile, and then a resync follows. table_was_there: the table existed before the start (it
 * was not loaded now); then a clean-stop token that still matches spares the restore its
 * listing. Failures to open the store are logged and the daemon runs without it. Returns 0 or a
 * negative errno (logged; nothing is left behind). */
int persist_start(const PersistOptions *o, bool table_was_there, Persist **ret);
Persist *persist_free(Persist *p);

/* After a reload, before the old configuration is freed. */
void persist_set_config(Persist *p, const Config *config);

/* Last, after the final flush: when the state says what the kernel holds (the monitor ran, no
 * resync is due, every write of the state succeeded), leaves the clean-stop token in the store
 * (this boot, network namespace, ruleset generation and configuration), so that the next start
 * need not list the sets when nothing changed meanwhile (restore_run()'s as_left). */
void persist_clean_stop(Persist *p);

/* Once the start is done: the store's cache of the start-up reads given back (store_release_memory()). */
void persist_release_memory(Persist *p);

/* Whether the store could be opened: failures, positions and bans are then kept. */
bool persist_has_store(const Persist *p);

/* A flush's record of the bans the kernel accepted, in one transaction: begin, one add per ban,
 * end. row false: the ban only spends its failures (the address was banned already, for longer).
 * durable: synchronous=FULL for this one (permanent bans, which a reboot must not lose). A failed
 * step rolls the whole record back at end, which logs it and then gives no clean-stop token. */
void persist_bans_begin(Persist *p, bool durable);
void persist_bans_add(Persist *p, const StoreBan *b, bool row);
void persist_bans_end(Persist *p, size_t n_rows);

/* After an unban of a (NULL: every address) in jail (NULL: every jail): ends its live bans in the
 * history and forgets its stored failures. */
void persist_on_unban(Persist *p, const char *jail, const Addr *a);

/* The bantime of the next ban of a in jc: the jail's, or with bantime.increment the one that the
 * count of its earlier bans in the history calls for. */
int64_t persist_bantime(Persist *p, const JailConf *jc, const Addr *a);

/* A failure of a batch of lines, not yet committed. */
typedef struct PersistFailure {
        Addr addr;
        int64_t t;              /* realtime seconds */
        char **tags;            /* the <F-*> groups of a failure that queued a ban, "F-USER=VALUE"
                                 * (ban_tags_from_match()), or NULL; the batch's to free */
} PersistFailure;

/* The end of a batch of lines of jail's source: commits the batch's failures and the position
 * after its last line in one transaction, so that a crash neither loses nor double-counts a
 * line. Returns 0 or a negative errno (nothing committed; -ENOTCONN without a store). */
int persist_commit_batch(Persist *p, const char *jail, const PersistFailure *v, size_t n, const char *source,
                         const char *data);

/* The saved position of jail's source, malloc'd, or -ENOENT. */
int persist_load_position(Persist *p, const char *jail, const char *source, char **ret);

/* Calls cb with the stored failures of jc within its findtime, oldest first, and their tags as
 * they were stored (cb takes them over; NULL: none). The state file is input: tags that are not
 * at most MATCH_TAGS_MAX entries "F-NAME=VALUE" (NAME capitals, digits and '_', VALUE at most
 * MATCH_TAG_VALUE_MAX bytes) are dropped whole, logged at debug. */
typedef int (*PersistFailureCb)(const Addr *a, int64_t t, char **tags, void *userdata);
int persist_foreach_failure(Persist *p, const JailConf *jc, PersistFailureCb cb, void *userdata);

/* Bans whose end passed and was not told (the daemon was down when they ran out): cb gets each
 * (address, jail) once, at most max of them, by jail and address; then every ban that ended by now
 * is marked told, in the same transaction. Call it after the restore; tell them after it returns
 * >= 0 (then a crash loses the events rather than sending them twice). Returns the number of
 * bans marked, 0 without a store, or a negative errno (logged; nothing is to be told). */
int persist_expired_take(Persist *p, size_t max, StoreBanCb cb, void *userdata);

/* The once-a-minute gc, before it tells the bans of the map that ended: marks every ban that
 * ended by now told (failures logged, ignored). */
void persist_expired_mark(Persist *p);

/* Deletes the stored failures of a in jail (a NULL: every address; jail NULL: every jail). */
void persist_forget_failures(Persist *p, const char *jail, const Addr *a);

/* Deletes stored failures older than their jail's findtime. */
void persist_gc_failures(Persist *p);

/* A jail's running totals (bans and failures since the state was made), so that they survive a
 * restart: kept in the store's meta table under "totals.JAIL". Load gives 0/0 when none is
 * stored (or without a store). Save writes them (inside an open bans record when there is one);
 * failures are logged at debug and ignored (the totals are figures for people, not state). */
void persist_totals_load(Persist *p, const char *jail, uint64_t *ret_bans, uint64_t *ret_failures);
void persist_totals_save(Persist *p, const char *jail, uint64_t bans, uint64_t failures);
