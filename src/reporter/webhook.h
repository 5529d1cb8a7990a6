/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "conf.h"
#include "prelude.h"
#include "webhook-event.h"

/* POSTs ban and unban events to the jails' webhooks from a thread of its own. The main thread
 * calls webhooks_submit(), which renders the event and commits one row per webhook to the queue
 * (webhook-spool.h) before it returns, then wakes the thread; it never waits for the network.
 * The thread owns its CURL handle and its own SQLite connection; it reads due rows, POSTs them
 * (TLS verified, no redirects, http/https only, timeouts, the reply body thrown away), deletes a
 * row after a 2xx, drops it (logged once) after another final answer, and backs off on no
 * answer, 408, 429 and 5xx. It never calls into the manager; it logs through the journal.
 *
 * Exactly once, but for one case: a SIGKILL after the receiver answered 2xx and before the row's
 * delete committed sends the event again at the next start, with the same Idempotency-Key
 * header and event_id, so that a receiver can drop the second copy. */

typedef struct Webhooks Webhooks;

/* Starts the thread on the webhooks of c's jails (token files are read here, logged when
 * unusable). Returns 0 or a negative errno (logged). */
int webhooks_new(const Config *c, const char *state_dir, Webhooks **ret);
/* A reload: c's webhooks replace the old ones between two requests. Returns 0 or -ENOMEM. */
int webhooks_apply(Webhooks *w, const Config *c);
/* Stops the thread (aborts a transfer under way: its row stays queued), frees. Accepts NULL. */
Webhooks *webhooks_free(Webhooks *w);

/* Queues an event for each webhook of jc: a ban (failures, bantime_sec, < 0 permanent) or an
 * unban of a, whose ban covers a/prefixlen. Main thread only. Returns 0 or a negative errno (logged; the ban is not affected). */
int webhooks_submit(Webhooks *w, const JailConf *jc, WebhookKind kind, const Addr *a, uint8_t prefixlen, unsigned failures,
                    int64_t bantime_sec);

/* Whether any jail of c has a webhook. */
bool webhooks_wanted(const Config *c);
