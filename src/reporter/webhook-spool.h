/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "conf.h"
#include "prelude.h"
#include "util/time-util.h"
#include "webhook-event.h"

/* The webhook queue: table webhook_spool of STATE_DIR/nftjail.db (the reporter's file, its own
 * tables), one row per event and webhook not yet acknowledged with a 2xx, holding the rendered
 * body, so that a restart sends exactly what the ban produced; webhook_stats counts what ended.
 * One WebhookSpool is one SQLite connection used by one thread: the main thread inserts, the
 * sender thread reads, reschedules and deletes, the CLI opens it read-only. */

#define WEBHOOK_SPOOL_MAX 10000

typedef struct WebhookSpool WebhookSpool;

typedef struct WebhookRow {
        int64_t id;             /* 0 before webhook_spool_insert() */
        char event_id[WEBHOOK_EVENT_ID_LEN + 1];
        char webhook[JAIL_NAME_MAX + 16]; /* WebhookConf.id */
        char kind[8];
        char jail[JAIL_NAME_MAX + 1];
        char addr[ADDR_PREFIX_STRLEN];
        char content_type[48];
        usec_t created;         /* realtime */
        unsigned attempts;
        usec_t next_attempt;    /* realtime; 0 = now */
        char *body;             /* owned (webhook_row_done()) */
        char *title;            /* owned, NULL: none */
} WebhookRow;

void webhook_row_done(WebhookRow *r);

typedef enum WebhookStat {
        WEBHOOK_STAT_DELIVERED,
        WEBHOOK_STAT_REJECTED,  /* a final answer other than 2xx */
        WEBHOOK_STAT_EXPIRED,   /* retried too long */
        WEBHOOK_STAT_DROPPED,   /* the queue was full, or the webhook is no longer configured */
        _WEBHOOK_STAT_MAX,
        _WEBHOOK_STAT_INVALID = -EINVAL,
} WebhookStat;

const char *webhook_stat_to_string(WebhookStat s);

/* Returns 0, -ENOENT (read-only and no queue yet), -EIO, -ENOMEM. */
int webhook_spool_open(const char *dir, bool read_only, WebhookSpool **ret);
WebhookSpool *webhook_spool_free(WebhookSpool *s);
/* As spool_set_autocheckpoint(). */
int webhook_spool_set_autocheckpoint(WebhookSpool *s, int pages);

/* Inserts r (committed when this returns) and sets r->id; beyond WEBHOOK_SPOOL_MAX rows the oldest
 * are deleted and counted as dropped, *ret_dropped (may be NULL) says how many. Returns 0 or -EIO. */
int webhook_spool_insert(WebhookSpool *s, WebhookRow *r, unsigned *ret_dropped);
/* The due row with the smallest (next_attempt, id) into *ret. Returns 1, 0 (none due), -EIO, -ENOMEM. */
int webhook_spool_next_due(WebhookSpool *s, usec_t now, WebhookRow *ret);
/* The earliest next_attempt of any row, or USEC_INFINITY. */
usec_t webhook_spool_next_time(WebhookSpool *s);
/* Deletes row id and counts it under stat, in one transaction. */
int webhook_spool_finish(WebhookSpool *s, int64_t id, WebhookStat stat);
/* Row id was tried attempts times: due again at next_attempt; the other rows of the same webhook
 * due earlier wait as long (the receiver is down: one probe per backoff step, not one per row). */
int webhook_spool_reschedule(WebhookSpool *s, int64_t id, const char *webhook, unsigned attempts, usec_t next_attempt);
/* Pending rows, or a negative errno. */
int64_t webhook_spool_pending(WebhookSpool *s);
int64_t webhook_spool_stat_get(WebhookSpool *s, WebhookStat k);
