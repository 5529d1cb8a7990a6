/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "manager-internal.h"
#include "store.h"

/* The Manager's durable side (state.c): the ban history in the store, the restore at start, the
 * nf_tables monitor that puts the table back when it vanishes, bantime.increment. Main thread.
 * Every function tolerates a Manager whose state could not be opened (it then does nothing). */

typedef struct ManagerState ManagerState;

/* After the table is ready: starts the monitor, opens $STATE/nftjail.db, purges old history,
 * starts the daily purge and restores the bans. A restore (this one and any resync's) runs with
 * the monitor out of its group, so that its own notifications neither overrun the monitor nor
 * cost the kernel their making; the ruleset generation id tells whether anyone else committed
 * meanwhile, and then a resync follows. table_was_there: the table existed before the start (it
 * was not loaded now); then a clean-stop token that still matches spares the restore its listing. Failures to open the state are logged and the daemon
 * runs without it. Returns 0 or a negative errno (logged). */
int state_start(Manager *m, bool table_was_there);

/* Last, after the final flush: when the state says what the kernel holds (the monitor ran, no
 * resync is due, every write of the state succeeded), leaves the clean-stop token in the state
 * (this boot, network namespace, ruleset generation and configuration), so that the next start
 * need not list the sets when nothing changed meanwhile (restore_run()'s as_left). */
void state_clean_stop(Manager *m);
ManagerState *state_free(ManagerState *s);

/* In the flush, once the kernel answered: records every ban it accepted, in one transaction. */
void state_on_flush(Manager *m);

/* After a manual unban (j, a NULL = all): ends the live bans in the state. */
void state_on_unban(Manager *m, const Jail *j, const Addr *a);

/* The bantime of the next ban of a in j: the jail's, or with bantime.increment the one that the
 * ban count in the state calls for. */
int64_t state_bantime(Manager *m, const Jail *j, const Addr *a);

/* In the flush: whether IPv6 element e of p overlaps a live ban of another prefix length (the
 * kernel would refuse it); logged once. */
bool state_v6_conflict(Manager *m, const PendingBan *p, const NftElem *e, usec_t now);

/* Whether failures and source positions are kept in the state (it could be opened). */
bool state_keeps_failures(const Manager *m);

/* The end of a batch of lines of j's source (SourcePosition.save): commits j's batch of failures
 * and the position after the last line in one transaction. Returns 0 or a negative errno
 * (logged; the batch is kept for the next try). */
int state_commit_batch(Manager *m, Jail *j, const char *source, const char *data);

/* SourcePosition.load: the saved position of j's source, malloc'd, or -ENOENT. */
int state_load_position(Manager *m, const Jail *j, const char *source, char **ret);

/* Calls cb with the stored failures of j within its findtime, oldest first. */
int state_foreach_failure(Manager *m, const Jail *j, StoreFailureCb cb, void *userdata);

/* Deletes the stored failures of a in j (a NULL: every address; j NULL: every jail). */
void state_forget_failures(Manager *m, const Jail *j, const Addr *a);

/* Deletes stored failures older than their jail's findtime. */
void state_gc_failures(Manager *m);
