/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fleet thread: the NATS connection (nats.c, which reconnects on its own), the stream, and
 * the outbox drained into it, woken by the main thread's submissions. The other nodes' bans come
 * through an ordered consumer whose messages nats.c hands to on_msg() on a delivery thread of its
 * own: parsed and checked there, and queued for the main thread. Everything shared with the main
 * thread is under f->lock: the ring of received bans, the per-origin counters, the figures.
 * Neither thread calls into the manager. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fleet-nats.h"
#include "fleet-outbox.h"
#include "fleet-publish.h"
#include "fleet.h"
#include "log-ids.h"
#include "log.h"
#include "util/fileio.h"
#include "util/string-util.h"

#define FLEET_RING_MAX 4096U
#define FLEET_ORIGINS_MAX 256U
#define FLEET_RETRY_USEC (1 * USEC_PER_SEC)
#define FLEET_JOIN_TIMEOUT_SEC 5
#define FLEET_PASSWORD_MAX 1024U
#define FLEET_BACKLOG_WARN 1000    /* outbox rows: a warning at 1,000, then at each ten times more */
#define FLEET_BACKLOG_CHECK_USEC (1 * USEC_PER_SEC)

typedef struct Origin {
        char name[FLEET_NAME_MAX + 1];
        uint64_t in, refused[_FLEET_REFUSAL_MAX];
        usec_t window_start;    /* CLOCK_BOOTTIME of the rate window */
        unsigned window_count;
} Origin;

struct Fleet {
        /* immutable after fleet_new() */
        const FleetNats *nats;  /* nats.c, loaded by fleet_new() */
        FleetConf conf;         /* a copy: the strings and the policy the thread uses */
        char *password;
        char *state_dir;
        int64_t max_age_sec;    /* the stream's MaxAge: the longest ban shared (0: none) */
        FleetApplyFn apply;
        void *userdata;

        sd_event_source *event_source;
        int efd;
        FleetOutbox *box;       /* the main thread's connection */
        FleetPublish *pub;      /* the fleet thread's publishing into the stream */
        pthread_t thread;
        bool started;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        FleetMsg *ring;         /* received, checked, for the main thread */
        size_t ring_head, ring_n;
        Origin origins[FLEET_ORIGINS_MAX];
        size_t n_origins;
        FleetStatus st;
        atomic_bool stop, dirty, reconnected, connected;
        atomic_bool batch_submitted; /* main thread: fleet_submit() inside fleet_batch() */
        bool sub_done;          /* under lock: the subscription delivers no more (on_sub_complete) */
        bool closed;            /* under lock: the connection's last callback ran (on_closed) */
};

/* ---- counters, shared ---- */

/* f->lock held. NULL when the table is full (then the origin is refused as over its rate). */
static Origin *origin_get(Fleet *f, const char *name) {
        for (size_t i = 0; i < f->n_origins; i++)
                if (strcmp(f->origins[i].name, name) == 0)
                        return &f->origins[i];
        if (f->n_origins == FLEET_ORIGINS_MAX)
                return NULL;
        snprintf(f->origins[f->n_origins].name, sizeof f->origins[0].name, "%s", name);
        return &f->origins[f->n_origins++];
}

/* Counts a refusal; logs the first of each origin and reason. */
static void refusal_count(Fleet *f, const char *origin, FleetRefusal why, const FleetMsg *m) {
        bool first = false;
        Origin *o;

        pthread_mutex_lock(&f->lock);
        f->st.refused++;
        o = origin_get(f, origin[0] ? origin : "?");
        if (o)
                first = o->refused[why]++ == 0;
        pthread_mutex_unlock(&f->lock);
        if (first) {
                char as[ADDR_STRLEN] = "-", fo[FLEET_NAME_MAX + 32], fr[64], fa[ADDR_STRLEN + 16];
                const char *fields[] = { fo, fr, fa, NULL };

                if (m && why != FLEET_REFUSE_MALFORMED && why != FLEET_REFUSE_SUBJECT)
                        addr_to_string(&m->addr, as, sizeof as);
                /* origin: the subject's node token, [A-Za-z0-9_-] (fleet_msg_parse()), or "?" */
                snprintf(fo, sizeof fo, "NFTJAIL_FLEET_ORIGIN=%s", origin[0] ? origin : "?");
                snprintf(fr, sizeof fr, "NFTJAIL_FLEET_REASON=%s", fleet_refusal_to_string(why));
                snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
                log_event(LOG_WARNING, 0, NFTJAIL_MID_FLEET_REFUSED, fields,
                          "fleet: refused a message from '%s' (%s, address %s); further ones of this origin and reason are only counted",
                          origin[0] ? origin : "?", fleet_refusal_to_string(why), as);
        }
}

/* The origin's rate: at most conf.rate per rate_period_sec. */
static bool rate_ok(Fleet *f, const char *origin, usec_t now) {
        bool ok = false;
        Origin *o;

        pthread_mutex_lock(&f->lock);
        o = origin_get(f, origin);
        if (o) {
                if (now - o->window_start >= f->conf.rate_period_sec * USEC_PER_SEC || o->window_start == 0) {
                        o->window_start = now;
                        o->window_count = 0;
                }
                ok = o->window_count++ < f->conf.rate;
        }
        pthread_mutex_unlock(&f->lock);
        return ok;
}

/* ---- the main thread's side ---- */

static void wake_thread(Fleet *f) {
        pthread_mutex_lock(&f->lock);
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->lock);
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fleet *f = userdata;
        uint64_t v, one = 1;
        unsigned k;

        (void) !read(fd, &v, sizeof v);
        (void) fleet_outbox_begin(f->box); /* the records of the batch in one commit */
        for (k = 0; k < FLEET_RING_MAX; k++) {
                FleetRefusal why;
                FleetMsg m;

                pthread_mutex_lock(&f->lock);
                if (f->ring_n == 0) {
                        pthread_mutex_unlock(&f->lock);
                        break;
                }
                m = f->ring[f->ring_head];
                f->ring_head = (f->ring_head + 1) % FLEET_RING_MAX;
                if (f->ring_n-- == FLEET_RING_MAX) /* the handler may wait for room (and only then) */
                        pthread_cond_broadcast(&f->cond);
                pthread_mutex_unlock(&f->lock);

                /* an unban writes the state through the store's own connection: not while this
                 * one holds the database's write lock */
                if (m.unban)
                        (void) fleet_outbox_commit(f->box);
                why = f->apply(&m, f->userdata);
                if (m.unban)
                        (void) fleet_outbox_begin(f->box);
                if (why != FLEET_OK) {
                        refusal_count(f, m.origin, why, &m);
                        continue;
                }
                pthread_mutex_lock(&f->lock);
                f->st.received++;
                Origin *o = origin_get(f, m.origin);
                if (o)
                        o->in++;
                pthread_mutex_unlock(&f->lock);
        }
        (void) fleet_outbox_commit(f->box);
        if (k == FLEET_RING_MAX) /* more may wait: the next turn of the loop, after the others */
                (void) !write(f->efd, &one, sizeof one);
        return 0;
}

void fleet_batch(Fleet *f, bool begin) {
        if (begin) {
                (void) fleet_outbox_begin(f->box);
                return;
        }
        (void) fleet_outbox_commit(f->box);
        /* the rows of the batch are visible to the thread only now: wake it again (it may have
         * looked in between and found nothing) */
        if (atomic_exchange(&f->batch_submitted, false)) {
                atomic_store(&f->dirty, true);
                wake_thread(f);
        }
}

int fleet_submit(Fleet *f, FleetMsg *m) {
        unsigned dropped = 0;
        int r;

        snprintf(m->origin, sizeof m->origin, "%s", f->conf.name);
        r = fleet_outbox_add(f->box, m, &dropped);
        if (r < 0)
                return r;
        if (dropped) {
                char fn[FLEET_NAME_MAX + 32], fd[48];
                const char *fields[] = { fn, fd, NULL };

                snprintf(fn, sizeof fn, "NFTJAIL_FLEET_NODE=%s", f->conf.name);
                snprintf(fd, sizeof fd, "NFTJAIL_FLEET_DROPPED=%u", dropped);
                log_event(LOG_WARNING, 0, NFTJAIL_MID_FLEET_BACKLOG, fields,
                          "fleet: outbox full (%u rows), %u oldest message(s) dropped, never to be shared", FLEET_OUTBOX_MAX, dropped);
        }
        atomic_store(&f->batch_submitted, true);
        atomic_store(&f->dirty, true);
        wake_thread(f);
        return 0;
}

void fleet_record_remote(Fleet *f, const FleetMsg *m) {
        (void) fleet_remote_record(f->box, m, (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC));
}

void fleet_status(Fleet *f, FleetStatus *ret) {
        pthread_mutex_lock(&f->lock);
        *ret = f->st;
        pthread_mutex_unlock(&f->lock);
        ret->published = fleet_publish_count(f->pub);
        memcpy(ret->name, f->conf.name, strlen(f->conf.name) + 1);
        ret->connected = atomic_load(&f->connected);
        ret->outbox = fleet_outbox_pending(f->box);
}

void fleet_origins(Fleet *f, FleetOriginStatus *v, size_t *n) {
        size_t k = 0;

        pthread_mutex_lock(&f->lock);
        for (size_t i = 0; i < f->n_origins && k < *n; i++, k++) {
                snprintf(v[k].name, sizeof v[k].name, "%s", f->origins[i].name);
                v[k].in = f->origins[i].in;
                v[k].refused = 0;
                for (size_t j = 0; j < _FLEET_REFUSAL_MAX; j++)
                        v[k].refused += f->origins[i].refused[j];
        }
        pthread_mutex_unlock(&f->lock);
        *n = k;
}

/* ---- the thread ---- */

static void on_connected(natsConnection *nc, void *closure) {
        Fleet *f = closure;

        atomic_store(&f->reconnected, true);
        wake_thread(f);
}

static void on_disconnected(natsConnection *nc, void *closure) {
        wake_thread(closure);
}

/* nats.c's last callback of a connection: after it none of ours (which take f) runs again. */
static void on_closed(natsConnection *nc, void *closure) {
        Fleet *f = closure;

        pthread_mutex_lock(&f->lock);
        f->closed = true;
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->lock);
}

static int make_options(Fleet *f, natsOptions **ret) {
        const FleetConf *c = &f->conf;
        natsOptions *o = NULL;
        bool tls = c->tls_ca || c->tls_cert;
        char name[FLEET_NAME_MAX + 16];
        natsStatus s;

        for (char **p = c->urls; *p; p++)
                tls = tls || strncmp(*p, "tls://", 6) == 0;
        snprintf(name, sizeof name, "nftjail %s", c->name);
        s = f->nats->natsOptions_Create(&o);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetServers(o, (const char **) c->urls, (int) strv_length(c->urls));
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetName(o, name);
        if (s == NATS_OK && c->user)
                s = f->nats->natsOptions_SetUserInfo(o, c->user, f->password);
        if (s == NATS_OK && c->creds_file)
                s = f->nats->natsOptions_SetUserCredentialsFromFiles(o, c->creds_file, NULL);
        if (s == NATS_OK && tls)
                s = f->nats->natsOptions_SetSecure(o, true);
        if (s == NATS_OK && c->tls_ca)
                s = f->nats->natsOptions_LoadCATrustedCertificates(o, c->tls_ca);
        if (s == NATS_OK && c->tls_cert)
                s = f->nats->natsOptions_LoadCertificatesChain(o, c->tls_cert, c->tls_key);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetTimeout(o, 2000);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetMaxReconnect(o, -1);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetReconnectWait(o, 1000);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetPingInterval(o, 5000);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetReconnectedCB(o, on_connected, f);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetDisconnectedCB(o, on_disconnected, f);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetClosedCB(o, on_closed, f);
        if (s == NATS_OK)
                s = f->nats->natsOptions_SetRetryOnFailedConnect(o, true, on_connected, f);
        if (s != NATS_OK) {
                log_error("fleet: NATS options: %s", fleet_nats_error(f->nats, s));
                f->nats->natsOptions_Destroy(o);
                return -EINVAL;
        }
        *ret = o;
        return 0;
}

/* The stream, created when missing (and allowed). Returns 0 or -EIO. */
static int ensure_stream(Fleet *f, jsCtx *js) {
        const char *subjects[] = { FLEET_SUBJECT_PREFIX ">" };
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        jsStreamConfig sc;
        natsStatus s;

        s = f->nats->js_GetStreamInfo(&si, js, FLEET_STREAM, NULL, &jerr);
        if (s == NATS_OK) {
                if (si->Config && si->Config->Replicas != (int64_t) f->conf.stream_replicas)
                        log_notice("fleet: stream %s has %lld replicas, not stream_replicas = %u: an existing stream keeps its own",
                                   FLEET_STREAM, (long long) si->Config->Replicas, f->conf.stream_replicas);
                f->nats->jsStreamInfo_Destroy(si);
                return 0;
        }
        if (s != NATS_NOT_FOUND) {
                log_warning("fleet: stream %s: %s (error %d); retrying", FLEET_STREAM, fleet_nats_error(f->nats, s), (int) jerr);
                return -EIO;
        }
        f->nats->jsStreamConfig_Init(&sc);
        sc.Name = FLEET_STREAM;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.MaxMsgsPerSubject = 1;
        sc.MaxAge = f->max_age_sec * 1000000000LL;
        sc.Storage = js_FileStorage;
        sc.Replicas = (int64_t) f->conf.stream_replicas;
        s = f->nats->js_AddStream(&si, js, &sc, NULL, &jerr);
        if (s != NATS_OK) {
                log_warning("fleet: cannot create stream %s: %s (error %d); retrying", FLEET_STREAM, fleet_nats_error(f->nats, s), (int) jerr);
                return -EIO;
        }
        f->nats->jsStreamInfo_Destroy(si);
        log_info("fleet: created stream %s (subjects %s>, one message per subject, max age %llds, %u replicas)", FLEET_STREAM,
                 FLEET_SUBJECT_PREFIX, (long long) f->max_age_sec, f->conf.stream_replicas);
        return 0;
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure);
static void on_sub_complete(void *closure);

static int subscribe(Fleet *f, jsCtx *js, uint64_t seq, natsSubscription **ret) {
        jsErrCode jerr = 0;
        jsSubOptions so;
        natsStatus s;

        f->nats->jsSubOptions_Init(&so);
        so.Stream = FLEET_STREAM;
        so.Ordered = true;
        so.Config.Heartbeat = 1000000000LL; /* 1 s, not 5: a consumer lost with its server is remade sooner */
        if (seq > 0) {
                so.Config.DeliverPolicy = js_DeliverByStartSequence;
                so.Config.OptStartSeq = seq + 1;
        } else
                so.Config.DeliverPolicy = js_DeliverLastPerSubject;
        pthread_mutex_lock(&f->lock);
        f->sub_done = false;
        pthread_mutex_unlock(&f->lock);
        s = f->nats->js_Subscribe(ret, js, FLEET_SUBJECT_PREFIX ">", on_msg, f, NULL, &so, &jerr);
        if (s == NATS_OK)
                s = f->nats->natsSubscription_SetOnCompleteCB(*ret, on_sub_complete, f);
        if (s != NATS_OK) {
                log_warning("fleet: cannot subscribe to %s: %s (error %d); retrying", FLEET_STREAM, fleet_nats_error(f->nats, s), (int) jerr);
                return -EIO;
        }
        log_info("fleet: reading %s from %s", FLEET_STREAM, seq > 0 ? "the saved position" : "the last message of each subject");
        return 0;
}

/* One received message: parsed, checked, handed over. Waits while the ring is full. Returns
 * whether the main thread needs a wake-up: it went into an empty ring (the main thread drains
 * the ring until it is empty, or wakes itself). */
static bool receive_one(Fleet *f, natsMsg *msg, uint64_t behind) {
        const char *subject = f->nats->natsMsg_GetSubject(msg);
        char origin[FLEET_NAME_MAX + 1];
        FleetRefusal why;
        FleetMsg m = {};
        bool wake;

        why = fleet_msg_parse(subject, f->nats->natsMsg_GetData(msg), (size_t) MAX(f->nats->natsMsg_GetDataLength(msg), 0), &m, origin);
        if (strcmp(origin, f->conf.name) == 0)
                return false; /* our own */
        if (why == FLEET_OK)
                why = fleet_policy_check(&f->conf, &m, (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC));
        if (why == FLEET_OK && !rate_ok(f, m.origin, now_usec(CLOCK_BOOTTIME)))
                why = FLEET_REFUSE_RATE;
        if (why != FLEET_OK) {
                refusal_count(f, origin, why, &m);
                return false;
        }
        m.behind = behind;
        pthread_mutex_lock(&f->lock);
        while (f->ring_n == FLEET_RING_MAX && !atomic_load(&f->stop))
                pthread_cond_wait(&f->cond, &f->lock);
        if (f->ring_n == FLEET_RING_MAX) { /* stopping: read again from the saved position next time */
                pthread_mutex_unlock(&f->lock);
                return false;
        }
        f->ring[(f->ring_head + f->ring_n) % FLEET_RING_MAX] = m;
        wake = f->ring_n++ == 0;
        pthread_mutex_unlock(&f->lock);
        return wake;
}

static void wake_main(Fleet *f) {
        uint64_t one = 1;

        (void) !write(f->efd, &one, sizeof one);
}

/* nats.c's delivery thread, one message of the ordered consumer. */
static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
        Fleet *f = closure;
        jsMsgMetaData *meta = NULL;
        uint64_t seq = 0, behind = 0;
        bool dup = false;

        if (f->nats->natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
                seq = meta->Sequence.Stream;
                behind = meta->NumPending;
                f->nats->jsMsgMetaData_Destroy(meta);
        }
        /* a message at or below the last one read comes again after a resubscription from the
         * saved position (a server lost, a leader elected): applied already, skip it */
        if (seq > 0) {
                pthread_mutex_lock(&f->lock);
                dup = seq <= f->st.stream_seq;
                pthread_mutex_unlock(&f->lock);
        }
        if (!dup && !atomic_load(&f->stop) && receive_one(f, msg, behind))
                wake_main(f);
        if (seq > 0) {
                pthread_mutex_lock(&f->lock);
                f->st.stream_seq = MAX(f->st.stream_seq, seq);
                f->st.lag = behind;
                pthread_mutex_unlock(&f->lock);
        }
        f->nats->natsMsg_Destroy(msg);
}

static void on_sub_complete(void *closure) {
        Fleet *f = closure;

        pthread_mutex_lock(&f->lock);
        f->sub_done = true;
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->lock);
}

/* Ends the subscription and waits (bounded) until its handler returned for the last time. */
static void unsubscribe(Fleet *f, natsSubscription *sub) {
        struct timespec ts;

        if (!sub)
                return;
        /* Destroy, not Unsubscribe: that one deletes the consumer on the server, which needs a
         * permission (CONSUMER.DELETE) that would let a node delete the others' consumers; the
         * server drops an ephemeral consumer without interest by itself */
        f->nats->natsSubscription_Destroy(sub);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 2;
        pthread_mutex_lock(&f->lock);
        pthread_cond_broadcast(&f->cond); /* a handler waiting for room in the ring sees stop */
        while (!f->sub_done)
                if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) != 0) {
                        log_debug("fleet: the subscription's handler did not finish within 2 s");
                        break;
                }
        pthread_mutex_unlock(&f->lock);
}

/* Waits for a submission, a reconnection, the stop, or msec; when wait_dirty, also while there
 * is something to send (a retry is due later). */
static void idle_wait(Fleet *f, unsigned msec, bool wait_dirty) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long) msec * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&f->lock);
        if (!atomic_load(&f->stop) && (wait_dirty || !atomic_load(&f->dirty)) && !atomic_load(&f->reconnected))
                pthread_cond_timedwait(&f->cond, &f->lock, &ts);
        pthread_mutex_unlock(&f->lock);
}

/* The stream position the handler read up to, into the state when it moved. */
static uint64_t stream_seq(Fleet *f) {
        uint64_t seq;

        pthread_mutex_lock(&f->lock);
        seq = f->st.stream_seq;
        pthread_mutex_unlock(&f->lock);
        return seq;
}

static void save_seq(Fleet *f, FleetOutbox *box, uint64_t *saved) {
        uint64_t seq = stream_seq(f);

        if (seq != *saved && fleet_state_set_seq(box, seq) >= 0)
                *saved = seq;
}

/* The connection came up or went down (this thread). */
static void log_link(Fleet *f, natsConnection *nc, FleetOutbox *box, bool up) {
        char url[256] = "", fn[FLEET_NAME_MAX + 32], fu[sizeof url + 32], fo[48];
        const char *fields[] = { fn, fo, fu, NULL };
        int64_t n = fleet_outbox_pending(box);

        if (up && f->nats->natsConnection_GetConnectedUrl(nc, url, sizeof url) != NATS_OK)
                url[0] = 0;
        snprintf(fn, sizeof fn, "NFTJAIL_FLEET_NODE=%s", f->conf.name);
        snprintf(fo, sizeof fo, "NFTJAIL_FLEET_OUTBOX=%lld", (long long) n);
        snprintf(fu, sizeof fu, "NFTJAIL_FLEET_URL=%s", url);
        if (up)
                log_event(LOG_INFO, 0, NFTJAIL_MID_FLEET_CONNECTED, fields, "fleet: connected to NATS %s (%lld in the outbox)",
                          url[0] ? url : "?", (long long) n);
        else {
                fields[2] = NULL;
                log_event(LOG_WARNING, 0, NFTJAIL_MID_FLEET_DISCONNECTED, fields,
                          "fleet: disconnected from NATS; bans go on locally and wait in the outbox (%lld now)", (long long) n);
        }
}

/* At most once a second: the outbox's rows, a warning when they reach the next level (1,000,
 * 10,000, ...), and a line when a backlog drained. *level: the next level to warn at. */
static void check_backlog(Fleet *f, FleetOutbox *box, bool up, int64_t *level) {
        char fn[FLEET_NAME_MAX + 32], fo[48];
        const char *fields[] = { fn, fo, NULL };
        int64_t n = fleet_outbox_pending(box);

        if (n < 0)
                return;
        snprintf(fn, sizeof fn, "NFTJAIL_FLEET_NODE=%s", f->conf.name);
        snprintf(fo, sizeof fo, "NFTJAIL_FLEET_OUTBOX=%lld", (long long) n);
        if (n >= *level) {
                log_event(LOG_WARNING, 0, NFTJAIL_MID_FLEET_BACKLOG, fields,
                          "fleet: %lld bans wait in the outbox (%s)", (long long) n,
                          up ? "NATS is slower than the bans" : "NATS is not connected");
                while (*level <= n && *level <= INT64_MAX / 10)
                        *level *= 10;
        } else if (n == 0 && *level > FLEET_BACKLOG_WARN) {
                log_event(LOG_INFO, 0, NFTJAIL_MID_FLEET_BACKLOG, fields, "fleet: the outbox drained");
                *level = FLEET_BACKLOG_WARN;
        }
}

static void *fleet_thread(void *p) {
        Fleet *f = p;
        _cleanup_(fleet_outbox_freep) FleetOutbox *box = NULL;
        natsOptions *opts = NULL;
        natsConnection *nc = NULL;
        natsSubscription *sub = NULL;
        jsCtx *js = NULL;
        jsOptions jo;
        bool stream_ok = false;
        usec_t retry_at = 0, backlog_at = 0;
        int64_t backlog_level = FLEET_BACKLOG_WARN;
        uint64_t saved = 0;
        natsStatus s;

        if (fleet_outbox_open(f->state_dir, &box) < 0)
                return NULL;
        (void) fleet_state_get_seq(box, &saved);
        pthread_mutex_lock(&f->lock);
        f->st.stream_seq = saved;
        pthread_mutex_unlock(&f->lock);
        if (make_options(f, &opts) < 0)
                return NULL;
        s = f->nats->natsConnection_Connect(&nc, opts);
        if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
                log_error("fleet: cannot connect: %s", fleet_nats_error(f->nats, s));
                goto finish;
        }
        f->nats->jsOptions_Init(&jo);
        fleet_publish_options(f->pub, &jo);
        s = f->nats->natsConnection_JetStream(&js, nc, &jo);
        if (s != NATS_OK) {
                log_error("fleet: JetStream context: %s", fleet_nats_error(f->nats, s));
                goto finish;
        }
        while (!atomic_load(&f->stop)) {
                bool up = f->nats->natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
                usec_t now = now_usec(CLOCK_BOOTTIME);

                if (atomic_load(&f->connected) != up)
                        log_link(f, nc, box, up);
                atomic_store(&f->connected, up);
                if (now >= backlog_at) {
                        check_backlog(f, box, up, &backlog_level);
                        backlog_at = now + FLEET_BACKLOG_CHECK_USEC;
                }
                if (up && atomic_exchange(&f->reconnected, false)) {
                        /* a server that restarted has lost the ephemeral consumer: read on from
                         * the position read up to; and send what waited */
                        unsubscribe(f, TAKE_PTR(sub));
                        stream_ok = false;
                        retry_at = 0;
                        atomic_store(&f->dirty, true);
                }
                if (up && !stream_ok && now >= retry_at) {
                        stream_ok = ensure_stream(f, js) >= 0;
                        if (!stream_ok)
                                retry_at = now + FLEET_RETRY_USEC;
                }
                if (up && stream_ok && !sub && f->conf.accept && now >= retry_at && subscribe(f, js, stream_seq(f), &sub) < 0)
                        retry_at = now + FLEET_RETRY_USEC;
                if (up && stream_ok && now >= retry_at && atomic_exchange(&f->dirty, false)) {
                        int r = fleet_publish_drain(f->pub, box, js, &f->stop);
                        if (r != 0)
                                atomic_store(&f->dirty, true);
                        if (r < 0)
                                retry_at = now + FLEET_RETRY_USEC;
                }
                save_seq(f, box, &saved);
                idle_wait(f, up && stream_ok ? 1000 : 200, now < retry_at || !up);
        }
finish:
        unsubscribe(f, sub);
        save_seq(f, box, &saved);
        /* Close, then wait (bounded) for its closed callback: nats.c runs the disconnected and
         * closed callbacks from a thread of its own, and one that came after fleet_free() freed f
         * ended the daemon with SIGSEGV at a stop (test-fleet, about one run in five). */
        if (nc) {
                struct timespec ts;

                f->nats->natsConnection_Close(nc);
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 2;
                pthread_mutex_lock(&f->lock);
                while (!f->closed && pthread_cond_timedwait(&f->cond, &f->lock, &ts) == 0)
                        ;
                pthread_mutex_unlock(&f->lock);
        }
        f->nats->jsCtx_Destroy(js);
        f->nats->natsConnection_Destroy(nc);
        f->nats->natsOptions_Destroy(opts);
        return NULL;
}

/* ---- lifetime ---- */

/* The stream's MaxAge: the longest ban a shared jail gives (0: a permanent one, no limit). */
static int64_t max_age(const Config *c) {
        int64_t age = 0;

        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *j = &c->jails[i];
                int64_t t = j->bantime_sec;

                if (!fleet_shares_jail(&c->fleet, j->name))
                        continue;
                if (j->increment.enabled)
                        t = j->increment.maxtime_sec > 0 ? MAX(t, j->increment.maxtime_sec) : -1;
                if (t < 0)
                        return 0;
                age = MAX(age, t);
        }
        return age > 0 ? age + 60 : 86400;
}

static int read_password(const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = read_file_small(path, FLEET_PASSWORD_MAX, &buf, &len);
        if (r < 0)
                return r;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                buf[--len] = 0;
        if (len == 0 || strlen(buf) != len)
                return -EINVAL;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void fleet_free_data(Fleet *f) {
        fleet_conf_done(&f->conf);
        if (f->password)
                explicit_bzero(f->password, strlen(f->password));
        free(f->password);
        free(f->state_dir);
        free(f->ring);
        fleet_publish_free(f->pub);
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->cond);
        free(f);
}

int fleet_check_library(void) {
        const FleetNats *n;

        return fleet_nats_load(&n);
}

Fleet *fleet_free(Fleet *f) {
        if (!f)
                return NULL;
        if (f->started) {
                struct timespec ts;

                pthread_mutex_lock(&f->lock);
                atomic_store(&f->stop, true);
                pthread_cond_broadcast(&f->cond);
                pthread_mutex_unlock(&f->lock);
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += FLEET_JOIN_TIMEOUT_SEC;
                if (pthread_timedjoin_np(f->thread, NULL, &ts) != 0) {
                        /* at exit only: still inside nats.c, leave it its memory */
                        log_warning("fleet: the NATS thread did not stop within %ds; leaving it", FLEET_JOIN_TIMEOUT_SEC);
                        (void) pthread_detach(f->thread);
                        sd_event_source_disable_unref(f->event_source);
                        return NULL;
                }
        }
        sd_event_source_disable_unref(f->event_source);
        if (f->efd >= 0)
                close(f->efd);
        fleet_outbox_free(f->box);
        fleet_free_data(f);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Fleet *, fleet_free);

int fleet_new(sd_event *e, const Config *c, const char *state_dir, FleetApplyFn apply, void *userdata, Fleet **ret) {
        _cleanup_(fleet_freep) Fleet *f = NULL;
        int r;

        f = calloc(1, sizeof *f);
        if (!f)
                return log_oom();
        f->efd = -1;
        r = fleet_nats_load(&f->nats);
        if (r < 0)
                return r; /* logged, naming the library and its package */
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->cond, NULL);
        f->apply = apply;
        f->userdata = userdata;
        f->max_age_sec = max_age(c);
        f->ring = calloc(FLEET_RING_MAX, sizeof *f->ring);
        f->state_dir = strdup(state_dir);
        if (!f->ring || !f->state_dir || fleet_conf_copy(&f->conf, &c->fleet) < 0 ||
            fleet_publish_new(f->nats, c->fleet.name, &f->pub) < 0)
                return log_oom();
        if (c->fleet.password_file) {
                r = read_password(c->fleet.password_file, &f->password);
                if (r < 0)
                        return log_error_errno(r, "fleet: cannot read password_file %s: %m", c->fleet.password_file);
        }
        r = fleet_outbox_open(state_dir, &f->box);
        if (r < 0)
                return log_error_errno(r, "fleet: cannot open the outbox in %s/nftjail.db: %m", state_dir);
        f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->efd < 0)
                return log_error_errno(-errno, "fleet: eventfd: %m");
        r = sd_event_add_io(e, &f->event_source, f->efd, EPOLLIN, on_event, f);
        if (r < 0)
                return log_error_errno(r, "fleet: cannot watch its eventfd: %m");
        atomic_store(&f->dirty, true);
        r = pthread_create(&f->thread, NULL, fleet_thread, f);
        if (r != 0)
                return log_error_errno(-r, "fleet: cannot start its thread: %m");
        f->started = true;
        log_info("fleet: node %s, %zu server URL(s), %lld message(s) in the outbox", f->conf.name, strv_length(f->conf.urls),
                 (long long) fleet_outbox_pending(f->box));
        *ret = TAKE_PTR(f);
        return 0;
}
