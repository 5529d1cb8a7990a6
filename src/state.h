/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "manager-internal.h"

/* The Manager's durable side (state.c): the ban history in the store, the restore at start, the
 * nf_tables monitor that puts the table back when it vanishes, bantime.increment. Main thread.
 * Every function tolerates a Manager whose state could not be opened (it then does nothing). */

typedef struct ManagerState ManagerState;

/* After the table is ready: opens $STATE/nftjail.db, purges old history, restores the bans,
 * starts the monitor and the daily purge. Failures to open the state are logged and the daemon
 * runs without it. Returns 0 or a negative errno (logged). */
int state_start(Manager *m);
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
