/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fleet thread's side of publishing: the outbox drained into the stream with asynchronous
 * publishes, their acks (on_ack(), on a thread of nats.c) collected under p->lock, and the rows
 * acknowledged deleted. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet-publish.h"
#include "log.h"
#include "util/macro.h"

#define FLEET_BATCH 8192U        /* outbox rows sent per turn (then all their acks awaited) */
#define FLEET_WINDOW 1024        /* publishes sent and waiting for their ack, at most */
#define FLEET_PUBLISH_WAIT_MSEC 2000

struct FleetPublish {
        const FleetNats *nats;
        char node[FLEET_NAME_MAX + 1];
        pthread_mutex_t lock;
        /* under lock: the outbox rows whose publish the stream acknowledged, for the fleet thread
         * to delete; the first publish that failed; the rows acknowledged this run */
        uint64_t *acked;
        size_t n_acked;
        bool pub_failed;
        char pub_error[FLEET_SUBJECT_MAX + 160];
        uint64_t published;
};

int fleet_publish_new(const FleetNats *nats, const char *node, FleetPublish **ret) {
        FleetPublish *p = calloc(1, sizeof *p);

        if (!p)
                return -ENOMEM;
        p->acked = calloc(FLEET_BATCH, sizeof *p->acked);
        if (!p->acked) {
                free(p);
                return -ENOMEM;
        }
        p->nats = nats;
        snprintf(p->node, sizeof p->node, "%s", node);
        pthread_mutex_init(&p->lock, NULL);
        *ret = p;
        return 0;
}

FleetPublish *fleet_publish_free(FleetPublish *p) {
        if (!p)
                return NULL;
        pthread_mutex_destroy(&p->lock);
        free(p->acked);
        free(p);
        return NULL;
}

uint64_t fleet_publish_count(FleetPublish *p) {
        uint64_t n;

        pthread_mutex_lock(&p->lock);
        n = p->published;
        pthread_mutex_unlock(&p->lock);
        return n;
}

/* The outbox row of a message this node published: its id is NODE-SEQ-CREATED (NODE may hold
 * '-', the last two tokens are numbers). 0 when it is not one of ours. */
static uint64_t msg_seq(const FleetPublish *pub, natsMsg *msg) {
        const char *id = NULL, *p;
        unsigned long long v;
        char *end;

        if (pub->nats->natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK || !id)
                return 0;
        p = strrchr(id, '-');
        if (!p || p == id)
                return 0;
        for (p--; p > id && *p != '-'; p--)
                ;
        if (*p != '-')
                return 0;
        errno = 0;
        v = strtoull(p + 1, &end, 10);
        return errno == 0 && *end == '-' && end > p + 1 ? (uint64_t) v : 0;
}

/* nats.c's thread of the replies: the stream's ack (or the error, or the library's timeout) of
 * one asynchronous publish. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
        FleetPublish *p = closure;
        uint64_t seq = msg_seq(p, msg);

        pthread_mutex_lock(&p->lock);
        if (pa && seq > 0 && p->n_acked < FLEET_BATCH)
                p->acked[p->n_acked++] = seq; /* else the row stays and is sent again: dropped by its id */
        else if (!pa && !p->pub_failed) {
                p->pub_failed = true;
                snprintf(p->pub_error, sizeof p->pub_error, "%s: %s (error %d)", p->nats->natsMsg_GetSubject(msg),
                         pae && pae->ErrText ? pae->ErrText : pae ? p->nats->natsStatus_GetText(pae->Err) : "no ack", pae ? (int) pae->ErrCode : 0);
        }
        pthread_mutex_unlock(&p->lock);
        p->nats->natsMsg_Destroy(msg);
}

/* Waits for the acks of every publish in flight; those that did not come in time are taken back
 * from nats.c (their rows stay). Returns 0, or -EIO when one failed or is missing. */
static int window_wait(FleetPublish *p, jsCtx *js) {
        jsPubOptions po;
        natsMsgList l = {};
        natsStatus s;
        bool failed;

        p->nats->jsPubOptions_Init(&po);
        po.MaxWait = FLEET_PUBLISH_WAIT_MSEC + 1000;
        s = p->nats->js_PublishAsyncComplete(js, &po);
        if (s != NATS_OK && p->nats->js_PublishAsyncGetPendingList(&l, js) == NATS_OK)
                p->nats->natsMsgList_Destroy(&l);
        pthread_mutex_lock(&p->lock);
        if (s != NATS_OK && !p->pub_failed) {
                p->pub_failed = true;
                snprintf(p->pub_error, sizeof p->pub_error, "waiting for acks: %s", fleet_nats_error(p->nats, s));
        }
        failed = p->pub_failed;
        pthread_mutex_unlock(&p->lock);
        return failed ? -EIO : 0;
}

/* Deletes the rows acknowledged so far, in one transaction. */
static void acked_done(FleetPublish *p, FleetOutbox *box, uint64_t *buf) {
        size_t n;

        pthread_mutex_lock(&p->lock);
        n = p->n_acked;
        memcpy(buf, p->acked, n * sizeof *buf);
        p->n_acked = 0;
        p->published += n;
        pthread_mutex_unlock(&p->lock);
        (void) fleet_outbox_begin(box);
        for (size_t i = 0; i < n; i++)
                (void) fleet_outbox_done(box, buf[i]);
        (void) fleet_outbox_commit(box);
}

static int publish_async(FleetPublish *p, jsCtx *js, const FleetMsg *m, const char *subject, const char *json) {
        char msgid[FLEET_NAME_MAX + 48];
        natsMsg *msg = NULL;
        jsPubOptions po;
        natsStatus s;

        /* the stream drops a message id it has seen (within its duplicate window): a resend after
         * a lost ack is not a second message; the creation time keeps the ids of a node whose
         * state was wiped (seq from 1 again) apart */
        snprintf(msgid, sizeof msgid, "%s-%llu-%lld", p->node, (unsigned long long) m->seq, (long long) m->created);
        p->nats->jsPubOptions_Init(&po);
        po.MsgId = msgid;
        /* no MaxWait here: it starts a timer of the context, which nats.c 3.4 destroys after its
         * mutex (nats-io/nats.c#880: a crash at exit); window_wait() bounds the wait instead */
        s = p->nats->natsMsg_Create(&msg, subject, NULL, json, (int) strlen(json));
        if (s == NATS_OK)
                s = p->nats->js_PublishMsgAsync(js, &msg, &po);
        p->nats->natsMsg_Destroy(msg); /* NULL when nats.c took it */
        if (s != NATS_OK) {
                pthread_mutex_lock(&p->lock);
                if (!p->pub_failed) {
                        p->pub_failed = true;
                        snprintf(p->pub_error, sizeof p->pub_error, "%s: %s", subject, fleet_nats_error(p->nats, s));
                }
                pthread_mutex_unlock(&p->lock);
                return -EIO;
        }
        return 0;
}

/* Sends what the outbox holds: up to FLEET_BATCH rows, in order, published asynchronously with at
 * most FLEET_WINDOW waiting for their ack (nats.c stalls the next publish); the rows acknowledged
 * deleted at the end in one commit (a crash before it sends them again, and the stream drops
 * them by their id). No transaction while they are sent: the main thread's writes (its bans into
 * the outbox) never wait for the network. A tombstone goes alone (the acks of what went before it
 * awaited, and its own), so that a ban sent again after a failure can never land after the unban
 * that followed it. Returns 0 (all sent), 1 (more left), -EIO (NATS refused). */
int fleet_publish_drain(FleetPublish *p, FleetOutbox *box, jsCtx *js, const atomic_bool *stop) {
        _cleanup_free_ uint64_t *buf = malloc(FLEET_BATCH * sizeof *buf);
        FleetMsg m = {};
        uint64_t after = 0;
        unsigned k;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        snprintf(m.origin, sizeof m.origin, "%s", p->node);
        pthread_mutex_lock(&p->lock);
        p->pub_failed = false;
        p->n_acked = 0;
        pthread_mutex_unlock(&p->lock);
        for (k = 0; k < FLEET_BATCH; k++) {
                _cleanup_free_ char *json = NULL;
                char subject[FLEET_SUBJECT_MAX];

                if (atomic_load(stop))
                        break;
                r = fleet_outbox_next(box, after, &m);
                if (r <= 0)
                        break;
                after = m.seq;
                if (fleet_subject(&m, subject, sizeof subject) < 0 || fleet_msg_format(&m, &json) < 0) {
                        (void) fleet_outbox_done(box, m.seq);
                        continue;
                }
                if ((m.unban && window_wait(p, js) < 0) || publish_async(p, js, &m, subject, json) < 0 ||
                    (m.unban && window_wait(p, js) < 0)) {
                        r = -EIO;
                        break;
                }
        }
        if (window_wait(p, js) < 0)
                r = -EIO;
        acked_done(p, box, buf);
        if (r < 0) {
                pthread_mutex_lock(&p->lock);
                log_warning("fleet: publishing failed: %s; what was not acknowledged stays in the outbox", p->pub_error);
                pthread_mutex_unlock(&p->lock);
                return -EIO;
        }
        return k == FLEET_BATCH ? 1 : 0;
}
void fleet_publish_options(FleetPublish *p, jsOptions *jo) {
        jo->PublishAsync.MaxPending = FLEET_WINDOW;
        jo->PublishAsync.AckHandler = on_ack;
        jo->PublishAsync.AckHandlerClosure = p;
        jo->PublishAsync.StallWait = FLEET_PUBLISH_WAIT_MSEC;
}
