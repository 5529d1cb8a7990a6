/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "fleet-msg.h"
#include "prelude.h"

/* The fleet's durable side, in the state database (STATE_DIR/nftjail.db, beside the report
 * spool): fleet_outbox (one row per ban or unban not yet acknowledged by JetStream; its id is the
 * message's per-origin seq), fleet_state (the stream position read up to) and fleet_remote (the
 * remote bans applied here, with their origin). One connection per thread: the main thread adds
 * and records, the fleet thread reads and deletes. */

#define FLEET_OUTBOX_MAX 1000000 /* rows; beyond, the oldest go (counted) */

typedef struct FleetOutbox FleetOutbox;

/* Opens (creating the tables) dir/nftjail.db. Returns 0 or -EIO, -ENOMEM. */
int fleet_outbox_open(const char *dir, FleetOutbox **ret);
FleetOutbox *fleet_outbox_free(FleetOutbox *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(FleetOutbox *, fleet_outbox_free);

/* Appends m (origin not stored: it is this node's) and sets m->seq. *ret_dropped: rows dropped to
 * stay under FLEET_OUTBOX_MAX. Returns 0 or -EIO. */
int fleet_outbox_add(FleetOutbox *o, FleetMsg *m, unsigned *ret_dropped);
/* The oldest row with seq > after, into *ret (origin left as it was). Returns 1, 0 (none), -EIO. */
int fleet_outbox_next(FleetOutbox *o, uint64_t after, FleetMsg *ret);
/* A transaction around many adds, deletes or records (one commit instead of one each). Nested
 * calls are counted; the outermost commits. Return 0 or -EIO. */
int fleet_outbox_begin(FleetOutbox *o);
int fleet_outbox_commit(FleetOutbox *o);
/* Deletes row seq (acknowledged by the stream). Returns 0 or -EIO. */
int fleet_outbox_done(FleetOutbox *o, uint64_t seq);
/* Rows waiting, or a negative errno. */
int64_t fleet_outbox_pending(FleetOutbox *o);

/* The stream sequence read up to (0: never read). Returns 0 or -EIO. */
int fleet_state_get_seq(FleetOutbox *o, uint64_t *ret);
int fleet_state_set_seq(FleetOutbox *o, uint64_t seq);

/* Records a remote ban applied here (or an unban that lifted one), now in unix seconds. */
int fleet_remote_record(FleetOutbox *o, const FleetMsg *m, int64_t now);
