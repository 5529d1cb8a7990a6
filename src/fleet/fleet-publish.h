/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdatomic.h>

#include "fleet-msg.h"
#include "fleet-nats.h"
#include "fleet-outbox.h"
#include "prelude.h"

/* This node's bans from the outbox into the stream (the fleet thread), and the acks nats.c
 * hands back on a thread of its own. */
typedef struct FleetPublish FleetPublish;

/* node: this node's name (it starts the messages' ids), copied. Returns 0 or -ENOMEM. */
int fleet_publish_new(const FleetNats *nats, const char *node, FleetPublish **ret);
/* After the connection whose context used fleet_publish_options() closed (its ack handler may
 * run until then). Accepts NULL. */
FleetPublish *fleet_publish_free(FleetPublish *p);

/* The asynchronous publishing settings of the JetStream context: the window, the ack handler. */
void fleet_publish_options(FleetPublish *p, jsOptions *jo);
/* Fleet thread: sends what the outbox holds (stops early when *stop). Returns 0 (all sent),
 * 1 (more left), -EIO (NATS refused; logged as a warning). */
int fleet_publish_drain(FleetPublish *p, FleetOutbox *box, jsCtx *js, const atomic_bool *stop);
/* Any thread: the messages the stream acknowledged this run. */
uint64_t fleet_publish_count(FleetPublish *p);
