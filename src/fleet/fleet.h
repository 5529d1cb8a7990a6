/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "conf.h"
#include "fleet-msg.h"
#include "prelude.h"

/* Bans shared with other nodes through NATS JetStream (docs/FLEET.md), from a thread of its own
 * that owns the NATS connection and a SQLite connection of its own. The main thread hands over
 * its bans with fleet_submit() (a row in the durable outbox, then a wake-up; never the network),
 * and gets the other nodes' bans, parsed and checked against the policy that needs no jail,
 * through an eventfd read by its loop: apply() is called on the main thread for each. */

typedef struct Fleet Fleet;

/* Called on the main thread for each remote ban or unban that passed fleet_policy_check().
 * Returns FLEET_OK when applied, else the refusal (FLEET_REFUSE_JAIL, FLEET_REFUSE_LOCAL), which
 * the fleet counts and logs once per origin and reason. */
typedef FleetRefusal (*FleetApplyFn)(const FleetMsg *m, void *userdata);

/* Starts the thread on c->fleet (enabled). Reads password_file here, so that a missing one is an
 * error at start. Returns 0 or a negative errno (logged). */
int fleet_new(sd_event *e, const Config *c, const char *state_dir, FleetApplyFn apply, void *userdata, Fleet **ret);
/* For --test-config: whether nats.c can be loaded, as fleet_new() will load it. Returns 0, or
 * -EOPNOTSUPP after the error that names the library and its package was logged. */
int fleet_check_library(void);
/* Stops the thread (joined with a timeout); unsent rows stay in the outbox for the next start. */
Fleet *fleet_free(Fleet *f);

/* Main thread: queues this node's ban (or unban) m for publishing: origin set here, m->seq
 * assigned by the outbox. Returns 0 or a negative errno (the local ban is not affected). */
int fleet_submit(Fleet *f, FleetMsg *m);
/* Main thread: around many fleet_submit() calls (a flush), one commit of the outbox for all. */
void fleet_batch(Fleet *f, bool begin);
/* Records a remote ban applied here (main thread). */
void fleet_record_remote(Fleet *f, const FleetMsg *m);

typedef struct FleetStatus {
        char name[FLEET_NAME_MAX + 1]; /* this node, as the thread runs it */
        bool connected;
        int64_t outbox;         /* rows waiting for an ack */
        uint64_t published;     /* acknowledged by the stream, this run */
        uint64_t received;      /* remote messages applied, this run */
        uint64_t refused;       /* remote messages refused, this run */
        uint64_t stream_seq;    /* stream position read up to */
        uint64_t lag;           /* messages of the stream not read yet, as of the last one read */
} FleetStatus;
void fleet_status(Fleet *f, FleetStatus *ret);

/* Per origin (up to *n, which is set to the number written): bans applied and refused. */
typedef struct FleetOriginStatus {
        char name[FLEET_NAME_MAX + 1];
        uint64_t in, refused;
} FleetOriginStatus;
void fleet_origins(Fleet *f, FleetOriginStatus *v, size_t *n);
