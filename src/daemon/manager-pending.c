/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <systemd/sd-event.h>

#include "addr.h"
#include "ban.h"
#include "conf.h"
#include "log-ids.h"
#include "log.h"
#include "manager-internal.h"
#include "nft.h"
#include "reporter.h"
#include "persist.h"
#include "tracker.h"
#include "util/string-util.h"

/* The pending queue: bans decided since the last flush, one per (jail, address), and the flush
 * that applies them to the kernel in as few transactions as the ops need, after the event
 * sources of the same loop iteration have run, FLUSH_CHUNK bans per dispatch. */

static size_t pending_slot(const Manager *m, const Jail *j, const Addr *a) {
        return (size_t) addr_hash(a, m->pending_seed ^ (uint64_t) (uintptr_t) j) & (m->cap_index - 1);
}

/* The index in m->pending of j's pending ban of a, or SIZE_MAX. */
size_t pending_find(const Manager *m, const Jail *j, const Addr *a) {
        if (m->n_pending == 0 || m->cap_index == 0)
                return SIZE_MAX;
        for (size_t i = pending_slot(m, j, a);; i = (i + 1) & (m->cap_index - 1)) {
                const PendingSlot *s = &m->pending_index[i];
                const PendingBan *p;

                if (s->gen != m->pending_gen || s->idx == 0)
                        return SIZE_MAX;
                p = &m->pending[s->idx - 1];
                if (p->jail == j && addr_equal(&p->addr, a))
                        return s->idx - 1;
        }
}

static void pending_index_put(Manager *m, size_t idx) {
        size_t i = pending_slot(m, m->pending[idx].jail, &m->pending[idx].addr);

        while (m->pending_index[i].gen == m->pending_gen && m->pending_index[i].idx != 0)
                i = (i + 1) & (m->cap_index - 1);
        m->pending_index[i] = (PendingSlot) { .gen = m->pending_gen, .idx = (uint32_t) idx + 1 };
}

/* Room in the index for one more entry: rebuilt twice as large when half full. */
static int pending_index_reserve(Manager *m) {
        PendingSlot *v;
        size_t nc;

        if ((m->n_pending + 1) * 2 <= m->cap_index)
                return 0;
        if (m->n_pending >= UINT32_MAX - 1)
                return -ENOBUFS;
        nc = MAX(m->cap_index * 2, (size_t) 256);
        v = calloc(nc, sizeof *v);
        if (!v)
                return -ENOMEM;
        free(m->pending_index);
        m->pending_index = v;
        m->cap_index = nc;
        if (m->pending_seed == 0 && getrandom(&m->pending_seed, sizeof m->pending_seed, GRND_NONBLOCK) < 0)
                m->pending_seed = (uint64_t) (uintptr_t) m ^ now_usec(CLOCK_MONOTONIC);
        m->pending_gen = 1;
        for (size_t i = 0; i < m->n_pending; i++)
                pending_index_put(m, i);
        return 0;
}

int pending_add(Manager *m, Jail *j, const Addr *a, unsigned failures, int64_t bantime_sec, char **tags) {
        int r;

        if (m->n_pending == 0 && ++m->pending_gen == 0) {
                /* a new queue: every slot of the old one is stale at once (on wrap, really cleared) */
                memset(m->pending_index, 0, m->cap_index * sizeof *m->pending_index);
                m->pending_gen = 1;
        }
        /* the same address may reach maxretry twice in one burst: one ban is enough */
        if (pending_find(m, j, a) != SIZE_MAX) {
                strv_free(tags);
                return 0;
        }
        if (m->n_pending == m->cap_pending) {
                size_t nc = MAX(m->cap_pending * 2, 64);
                PendingBan *p = realloc(m->pending, nc * sizeof *p);
                if (!p) {
                        strv_free(tags);
                        return -ENOMEM;
                }
                m->pending = p;
                m->cap_pending = nc;
        }
        r = pending_index_reserve(m);
        if (r < 0) {
                strv_free(tags);
                return r;
        }
        m->pending[m->n_pending] = (PendingBan) {
                .jail = j, .addr = *a, .failures = failures, .queued = now_usec(CLOCK_MONOTONIC), .tags = tags, .bantime_sec = ban_time_clamp(bantime_sec ? bantime_sec : persist_bantime(m->persist, j->conf, a)),
        };
        pending_index_put(m, m->n_pending++);
        return sd_event_source_set_enabled(m->flush, SD_EVENT_ONESHOT);
}

/* Whether IPv6 element e of p overlaps a live ban of another prefix length (the kernel would
 * refuse it, and the whole transaction with it); logged. */
static bool pending_v6_conflict(Manager *m, const PendingBan *p, const NftElem *e, usec_t now) {
        char as[ADDR_STRLEN];

        if (!ban_map_v6_conflict(m->bans, e, now))
                return false;
        log_info("%s: %s/%u port %u overlaps a live ban of another prefix length; not added", p->jail->conf->name,
                 addr_to_string(&e->addr, as, sizeof as), e->prefixlen, e->port);
        return true;
}

/* Once the kernel answered: every ban it accepted goes into the history in one transaction. */
static void pending_record(Manager *m, size_t from, size_t to) {
        int64_t now = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
        bool durable = false;
        size_t n = 0, done = 0;

        if (!persist_has_store(m->persist))
                return;
        for (size_t i = from; i < to; i++) {
                const PendingBan *p = &m->pending[i];
                if (p->error || p->comment)
                        continue;
                done++;
                if (p->n_elems == 0)
                        continue;
                n++;
                durable = durable || p->bantime_sec < 0;
        }
        if (done == 0)
                return;
        persist_bans_begin(m->persist, durable);
        for (size_t i = from; i < to; i++) {
                const PendingBan *p = &m->pending[i];
                const JailConf *jc = p->jail->conf;
                _cleanup_free_ char *ev = NULL;

                if (p->error || p->comment) /* a fleet ban is recorded by the fleet, with its origin */
                        continue;
                if (p->n_elems > 0 && p->failures > 0)
                        ev = evidence_collect(p->jail, &p->addr, jc->maxretry);
                persist_bans_add(m->persist, &(StoreBan) {
                        .jail = jc->name,
                        .addr = p->addr,
                        /* the prefix the flush used (a /64 shrinks to /128 around the host's addresses) */
                        .prefixlen = p->addr.family == AF_INET ? 32 : p->n_elems > 0 ? p->prefix.prefixlen : 128,
                        .start = now,
                        .end = p->bantime_sec < 0 ? STORE_PERMANENT : ban_end_sec(now, p->bantime_sec),
                        .failures = p->failures,
                        .evidence = ev,
                }, p->n_elems > 0);
        }
        /* the new totals in the same transaction as the bans that made them */
        for (size_t i = from; i < to; i++)
                if (!m->pending[i].error && m->pending[i].n_elems > 0)
                        persist_totals_save(m->persist, m->pending[i].jail->conf->name, m->pending[i].jail->bans_total,
                                            m->pending[i].jail->failures);
        persist_bans_end(m->persist, n);
}

static void log_ban(const PendingBan *p, int error) {
        const JailConf *jc = p->jail->conf;
        char as[ADDR_STRLEN], dur[32], fj[160], fa[80], ff[48], fb[48], fu[48], fp[96], pfx[ADDR_PREFIX_STRLEN];
        _cleanup_free_ char *ev = NULL, *fe = NULL;
        const char *fields[] = { fj, fa, fp, ff, fb, fu, NULL, NULL };

        addr_to_string(&p->addr, as, sizeof as);
        snprintf(fp, sizeof fp, "NFTJAIL_PREFIX=%s", addr_prefix_to_string(&p->prefix, pfx, sizeof pfx));
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", jc->name);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        snprintf(ff, sizeof ff, "NFTJAIL_FAILURES=%u", p->failures);
        snprintf(fb, sizeof fb, "NFTJAIL_BANTIME=%lld", (long long) p->bantime_sec);
        snprintf(fu, sizeof fu, "NFTJAIL_BAN_USEC=%llu", (unsigned long long) ban_timeout_ms(p->bantime_sec) * USEC_PER_MSEC);
        if (error) {
                log_event(LOG_ERR, error, NFTJAIL_MID_BAN_FAILED, fields, "%s: failed to ban %s: %m", jc->name, as);
                return;
        }
        ev = p->comment ? NULL : evidence_collect(p->jail, &p->addr, jc->maxretry); /* a fleet ban has none here */
        if (ev && asprintf(&fe, "NFTJAIL_EVIDENCE=%s", ev) >= 0)
                fields[6] = fe;
        if (p->comment)
                log_event(LOG_NOTICE, 0, NFTJAIL_MID_BAN, fields, "%s: banned %s for %s (from the fleet: %s)", jc->name, as,
                          format_duration_sec(p->bantime_sec, dur, sizeof dur), p->comment);
        else if (p->failures == 0)
                log_event(LOG_NOTICE, 0, NFTJAIL_MID_BAN, fields, "%s: banned %s for %s (manual ban)", jc->name, as,
                          format_duration_sec(p->bantime_sec, dur, sizeof dur));
        else
                log_event(LOG_NOTICE, 0, NFTJAIL_MID_BAN, fields, "%s: banned %s for %s after %u failures", jc->name,
                          as, format_duration_sec(p->bantime_sec, dur, sizeof dur), p->failures);
}

/* Applies every pending element of one op in one transaction. When the kernel refuses an
 * element, the ban it belongs to is taken out and the rest is tried again. */
static void flush_op(Manager *m, NftOp op, const PendingElem *pe, size_t n_pe, NftElem *elems, size_t *owner) {
        for (unsigned attempt = 0; attempt < BAN_RETRIES; attempt++) {
                size_t n = 0, bad = SIZE_MAX;
                int r;

                for (size_t i = 0; i < n_pe; i++) {
                        if (pe[i].op != op || m->pending[pe[i].owner].error)
                                continue;
                        elems[n] = pe[i].elem;
                        owner[n++] = pe[i].owner;
                }
                if (n == 0)
                        return;
                r = nft_apply(m->nft, op, elems, n, NULL, &bad);
                if (r >= 0)
                        return;
                if (bad >= n) {
                        /* the kernel did not say which: fail them all */
                        for (size_t i = 0; i < n; i++)
                                m->pending[owner[i]].error = r;
                        return;
                }
                m->pending[owner[bad]].error = r;
        }
        for (size_t i = 0; i < n_pe; i++)
                if (pe[i].op == op && !m->pending[pe[i].owner].error)
                        m->pending[pe[i].owner].error = -EIO;
}

const double manager_latency_bounds[MANAGER_LATENCY_BUCKETS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
};

/* The automatic bans of [from, to) that the kernel took, into m->ban_latency. */
static void latency_record(Manager *m, size_t from, size_t to) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        ManagerLatency *l = &m->ban_latency;

        for (size_t i = from; i < to; i++) {
                const PendingBan *p = &m->pending[i];
                double sec;

                if (p->error || p->n_elems == 0 || p->failures == 0)
                        continue;
                sec = (double) (now - MIN(now, p->queued)) / USEC_PER_SEC;
                for (size_t b = 0; b < MANAGER_LATENCY_BUCKETS; b++)
                        if (sec <= manager_latency_bounds[b])
                                l->le[b]++;
                l->count++;
                l->sum_sec += sec;
        }
}

void manager_ban_latency(const Manager *m, ManagerLatency *ret) {
        *ret = m->ban_latency;
}

/* Applies the queued bans [m->pending_done, to): the plan, the kernel, the log, the hand-offs,
 * the history. */
static void pending_flush_range(Manager *m, size_t to) {
        size_t from = m->pending_done;
        _cleanup_free_ PendingElem *pe = NULL;
        _cleanup_free_ NftElem *elems = NULL;
        _cleanup_free_ size_t *owner = NULL;
        usec_t now = now_usec(CLOCK_BOOTTIME);
        size_t n_pe = 0, max = 0, quiet = 0;

        for (size_t i = from; i < to; i++) {
                const JailConf *jc = m->pending[i].jail->conf;
                max += jc->allports || jc->n_ports == 0 ? 1 : jc->n_ports;
        }
        pe = calloc(MAX(max, 1), sizeof *pe);
        elems = calloc(MAX(max, 1), sizeof *elems);
        owner = calloc(MAX(max, 1), sizeof *owner);
        if (!pe || !elems || !owner) {
                log_oom();
                for (size_t i = from; i < to; i++) {
                        m->pending[i].error = -ENOMEM;
                        m->pending[i].tags = strv_free(m->pending[i].tags);
                }
                m->pending_done = to;
                return;
        }

        /* Per element: add it, extend it (REPLACE), or leave it when it is banned already for
         * longer, possibly by another jail that shares the port. The map is updated as we plan,
         * so that two bans of one element in the same burst see each other (the longer wins;
         * the ADDs go before the REPLACEs); what the kernel then refuses is put back below. */
        for (size_t i = from; i < to; i++) {
                PendingBan *p = &m->pending[i];
                const JailConf *jc = p->jail->conf;
                size_t k;

                p->expiry = ban_expiry(now, p->bantime_sec);
                k = ban_elems_self(jc, &p->addr, m->self, m->n_self, ban_timeout_ms(p->bantime_sec), elems, BAN_ELEMS_MAX);
                /* the prefix, once per ban, for the log event and the history */
                p->prefix = (AddrPrefix) { .addr = p->addr, .prefixlen = p->addr.family == AF_INET ? 32 : 128 };
                if (p->addr.family == AF_INET6 && k > 0)
                        p->prefix = (AddrPrefix) { .addr = elems[0].addr, .prefixlen = elems[0].prefixlen };
                for (size_t e = 0; p->comment && e < k; e++)
                        elems[e].comment = p->comment;
                for (size_t e = 0; e < k; e++) {
                        usec_t old = ban_map_get(m->bans, &elems[e], now);
                        if (old >= p->expiry || pending_v6_conflict(m, p, &elems[e], now))
                                continue;
                        if (ban_map_set(m->bans, &elems[e], p->expiry) < 0) {
                                p->error = -ENOMEM;
                                continue;
                        }
                        pe[n_pe++] = (PendingElem) {
                                .elem = elems[e], .owner = i, .op = old ? NFT_OP_REPLACE : NFT_OP_ADD, .old = old,
                        };
                        p->n_elems++;
                }
        }
        flush_op(m, NFT_OP_ADD, pe, n_pe, elems, owner);
        flush_op(m, NFT_OP_REPLACE, pe, n_pe, elems, owner);
        latency_record(m, from, to);

        /* undo the plan of refused bans, newest first, unless a later plan replaced it */
        for (size_t i = n_pe; i-- > 0;) {
                const PendingBan *p = &m->pending[pe[i].owner];
                if (!p->error || ban_map_get(m->bans, &pe[i].elem, now) != p->expiry)
                        continue;
                if (pe[i].old)
                        (void) ban_map_set(m->bans, &pe[i].elem, pe[i].old);
                else
                        ban_map_remove(m->bans, &pe[i].elem);
        }
        manager_fleet_batch(m, true);
        for (size_t i = from; i < to; i++) {
                PendingBan *p = &m->pending[i];
                char as[ADDR_STRLEN];

                if (p->n_elems == 0) {
                        log_info("%s: %s is banned already, for longer", p->jail->conf->name,
                                  addr_to_string(&p->addr, as, sizeof as));
                        continue;
                }
                if (!p->error && !p->comment) /* the jail's own bans, not the fleet's */
                        p->jail->bans_total++;
                if (p->quiet && !p->error)
                        quiet++;
                else
                        log_ban(p, p->error);
                /* automatic bans only (failures > 0): not manual or restored ones */
                if (!p->error && p->failures > 0 && m->reporter && p->jail->conf->abuseipdb) {
                        _cleanup_free_ char *ev = evidence_collect(p->jail, &p->addr, 8);
                        usec_t last = 0;
                        for (unsigned k = 0; p->jail->evidence && k < EVIDENCE_RING; k++)
                                if (addr_equal(&p->jail->evidence[k].addr, &p->addr))
                                        last = MAX(last, p->jail->evidence[k].realtime);
                        (void) reporter_submit_ban(m->reporter, p->jail->conf, &p->addr, p->failures, last, ev);
                }
                /* the jail's actions (mail, action.d files), from the same automatic bans */
                if (!p->error && p->failures > 0 && m->actions &&
                    (p->jail->conf->mail.enabled || p->jail->conf->n_action_files > 0)) {
                        _cleanup_free_ char *ev = evidence_collect(p->jail, &p->addr, MAIL_LINES_MAX);
                        uint8_t plen = p->addr.family == AF_INET ? 32 : p->jail->conf->ipv6_prefix;

                        (void) actions_submit_ban(m->actions, p->jail->conf, &p->addr, plen, p->failures, ev, p->tags);
                }
                /* the jail's webhooks: what the daemon computed, never the matched lines */
                if (!p->error && p->failures > 0 && m->webhooks && p->jail->conf->n_webhooks > 0) {
                        uint8_t plen = p->addr.family == AF_INET ? 32 : p->jail->conf->ipv6_prefix;

                        (void) webhooks_submit(m->webhooks, p->jail->conf, WEBHOOK_KIND_BAN, &p->addr, plen, p->failures,
                                               p->bantime_sec);
                }
                /* and the fleet: after the kernel took it, automatic bans only, never a fleet one */
                if (!p->error && p->failures > 0 && !p->comment && m->fleet)
                        manager_fleet_publish(m, p);
        }
        manager_fleet_batch(m, false);
        if (quiet > 0)
                manager_fleet_log_catchup(m, quiet);
        pending_record(m, from, to);
        for (size_t i = from; i < to; i++)
                m->pending[i].tags = strv_free(m->pending[i].tags);
        m->pending_done = to;
}

/* Bans applied in one dispatch of the flush source: a burst of 100,000 bans is applied a chunk
 * per loop iteration, so that the control socket (IMPORTANT) and the sources are served in
 * between (a chunk takes a few ms: the kernel, a journal entry per ban, one SQL commit). */
#define FLUSH_CHUNK 512

static void pending_reset_if_done(Manager *m) {
        if (m->pending_done < m->n_pending)
                return;
        m->n_pending = 0;
        m->pending_done = 0;
        manager_notify_status(m, false);
}

int pending_on_flush(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        pending_flush_range(m, MIN(m->n_pending, m->pending_done + FLUSH_CHUNK));
        if (m->pending_done < m->n_pending)
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        pending_reset_if_done(m);
        return 0;
}

void pending_flush_all(Manager *m) {
        while (m->pending_done < m->n_pending)
                pending_flush_range(m, MIN(m->n_pending, m->pending_done + FLUSH_CHUNK));
        pending_reset_if_done(m);
        (void) sd_event_source_set_enabled(m->flush, SD_EVENT_OFF);
}

const char *manager_ban_refusal(const Manager *m, const char *jail, const Addr *a) {
        const Jail *j = manager_find_jail(m, jail);
        BanSkip skip;

        if (!j)
                return "no such jail";
        skip = ban_allowed(j->conf, a, m->self, m->n_self);
        return skip == BAN_OK ? NULL : ban_skip_to_string(skip);
}

bool manager_can_report(const Manager *m, const char *jail) {
        const Jail *j = manager_find_jail(m, jail);

        return j && m->reporter && j->conf->abuseipdb;
}

int manager_report_ban(Manager *m, const char *jail, const Addr *a, const char *note) {
        const Jail *j = manager_find_jail(m, jail);

        if (!j || !m->reporter || !j->conf->abuseipdb)
                return -EOPNOTSUPP;
        return reporter_submit_ban(m->reporter, j->conf, a, 0, 0, note);
}

void manager_flush_step(Manager *m) {
        if (m->n_pending == 0)
                return;
        pending_flush_range(m, MIN(m->n_pending, m->pending_done + FLUSH_CHUNK));
        pending_reset_if_done(m);
        if (m->n_pending == 0)
                (void) sd_event_source_set_enabled(m->flush, SD_EVENT_OFF);
}

void manager_flush(Manager *m) {
        if (m->n_pending == 0)
                return;
        pending_flush_all(m);
}

int manager_ban(Manager *m, const char *jail, const Addr *a, int64_t bantime_sec) {
        Jail *j = manager_find_jail(m, jail);
        size_t idx;
        int r;

        if (!j)
                return -ENOENT;
        if (ban_allowed(j->conf, a, m->self, m->n_self) != BAN_OK)
                return -EPERM;
        r = pending_add(m, j, a, 0, bantime_sec, NULL);
        if (r < 0)
                return r;
        idx = pending_find(m, j, a);
        tracker_forget(j->tracker, a);
        /* apply now, so that the caller learns the kernel's answer: the flush empties the queue
         * but leaves the entries (and their results) in place until the next pending_add() */
        pending_flush_all(m);
        return idx < m->cap_pending ? m->pending[idx].error : 0;
}
