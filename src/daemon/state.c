/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "addr-watch.h"
#include "increment.h"
#include "log-ids.h"
#include "log.h"
#include "restore.h"
#include "state.h"
#include "store.h"
#include "util/fileio.h"
#include "util/string-util.h"

#define PURGE_INTERVAL_USEC (24 * 3600 * USEC_PER_SEC)

struct ManagerState {
        Store *store;
        AddrWatch *addr_watch;
        NftMonitor *mon;
        sd_event_source *mon_source, *resync_source, *purge_timer;
        bool table_gone;        /* the current generation deleted our table or a set */
        bool restore_seen;      /* the next restore keeps the monitor subscribed */
        bool as_left;           /* the start's restore: the kernel is as a clean stop left it */
        bool doubt;             /* the state may not say what the kernel holds: no clean-stop token */
        usec_t gone_at;         /* CLOCK_MONOTONIC when we learnt it, 0 when no resync is due */
        NftListed *deleted;     /* elements deleted by others in the current generation */
        size_t n_deleted, cap_deleted;
        uint64_t flushes, flush_usec, flush_bans; /* cost of the state writes */
};

ManagerState *state_free(ManagerState *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->mon_source);
        sd_event_source_disable_unref(s->resync_source);
        sd_event_source_disable_unref(s->purge_timer);
        nft_monitor_free(s->mon);
        addr_watch_free(s->addr_watch);
        store_free(s->store);
        free(s->deleted);
        free(s);
        return NULL;
}

static int64_t now_rt_sec(void) {
        return (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
}

static void state_purge(Manager *m) {
        int r = store_purge(m->state->store, now_rt_sec() - m->config->dbpurgeage_sec);

        if (r < 0)
                log_warning_errno(r, "failed to purge the ban history, ignoring: %m");
        else if (r > 0)
                log_info("purged %d bans older than %llds from the history", r, (long long) m->config->dbpurgeage_sec);
}

static int state_on_purge_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        state_purge(m);
        (void) sd_event_source_set_time_relative(s, PURGE_INTERVAL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void state_schedule_resync(Manager *m);

/* The restore, unseen by the monitor: the kernel would notify every element it adds (100,000 at
 * a start overrun the socket, and the resync that follows lists every set: seconds), and building
 * those notifications is a quarter of its work. So the monitor leaves the group for the restore;
 * whoever else commits meanwhile advances the generation id beyond our own transactions, which
 * then calls for a resync. The id before is read while subscribed (nft_genid() returns once
 * the transaction that made it has notified us) and the one after once subscribed again: a
 * change on either side of the window is seen by one of the two. (A
 * transaction of ours that changes nothing does not advance the id; restore_run() only adds
 * what the listing missed, so that takes a foreign add of that very element meanwhile.) */
static int state_restore(Manager *m, RestoreStats *st) {
        ManagerState *s = m->state;
        uint64_t ours = nft_commits(m->nft);
        uint32_t before, after;
        bool quiet = false, as_left;
        int r, k;

        /* after a change seen that way, the restore stays in sight: it is small, and a ruleset
         * that keeps changing must not make a loop of resyncs */
        if (s->mon && !s->restore_seen && nft_genid(m->nft, &before) >= 0)
                quiet = nft_monitor_subscribe(s->mon, false) >= 0;
        s->restore_seen = false;
        as_left = s->as_left;
        s->as_left = false;
        r = restore_run(m->nft, s->store, m->bans, m->config->jails, m->config->n_jails, as_left, st);
        if (r < 0 || st->refused > 0)
                s->doubt = true;
        if (!quiet)
                return r;
        ours = nft_commits(m->nft) - ours;
        k = nft_monitor_subscribe(s->mon, true);
        if (k < 0) {
                log_warning_errno(k, "failed to watch nf_tables notifications again (the table will not be put back "
                                     "if it vanishes), ignoring: %m");
                return r;
        }
        k = nft_genid(m->nft, &after);
        if (k < 0 || after - before != ours) {
                if (k < 0)
                        log_warning_errno(k, "failed to read the ruleset generation after the restore; resynchronising: %m");
                else
                        log_info("the ruleset changed during the restore (generation %u -> %u, our transactions: %llu"
                                 "); resynchronising", before, after, (unsigned long long) ours);
                s->restore_seen = true;
                state_schedule_resync(m);
        }
        return r;
}

/* Puts the table back when needed and brings kernel, state and map into agreement. */
static int state_resync(Manager *m, const char *why) {
        char errbuf[2048] = "", buf[4096];
        const char *file = manager_nft_file(m, buf, sizeof buf);
        usec_t t0 = now_usec(CLOCK_MONOTONIC), t1;
        RestoreStats st;
        int r;

        r = nft_ensure_table(m->nft, file, errbuf, sizeof errbuf);
        t1 = now_usec(CLOCK_MONOTONIC);
        if (r < 0)
                return log_error_errno(r, "%s: table inet %s is missing and loading %s failed: %m%s%s", why, NFT_TABLE,
                                       file, errbuf[0] ? "\n" : "", errbuf);
        if (r > 0)
                log_warning("%s: %s inet %s was missing; loaded %s", why, r == 1 ? "table" : "a set of table", NFT_TABLE,
                            file);
        r = state_restore(m, &st);
        if (r < 0)
                return log_error_errno(r, "%s: failed to restore the bans: %m", why);
        if (st.dropped > 0)
                log_warning("%s: %zu bans not restored (jail gone, or refused by the kernel)", why, st.dropped);
        log_info("%s: restored %zu bans, adopted %zu (%zu in place, %zu elements added; table %llu ms, bans %llu ms)%s",
                 why, st.restored, st.adopted, st.present, st.elements, (unsigned long long) ((t1 - t0) / USEC_PER_MSEC),
                 (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - t1) / USEC_PER_MSEC),
                 st.not_listed ? "; sets not listed: nothing changed since the clean stop" : "");
        return 0;
}

static int state_on_resync(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        usec_t at = m->state->gone_at;

        m->state->gone_at = 0;
        if (state_resync(m, "ruleset changed") >= 0 && at)
                log_info("ruleset changed: every ban back %llu ms after the notification",
                         (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - at) / USEC_PER_MSEC));
        return 0;
}

static void state_schedule_resync(Manager *m) {
        if (!m->state->gone_at)
                m->state->gone_at = now_usec(CLOCK_MONOTONIC);
        (void) sd_event_source_set_enabled(m->state->resync_source, SD_EVENT_ONESHOT);
}

/* Someone deleted one of our live elements: an unban of that address in that jail (the other
 * ports of the ban go too, so that the state and the kernel agree). */
static void state_hand_deleted(Manager *m, const NftListed *l) {
        usec_t now = now_usec(CLOCK_BOOTTIME);
        Jail *j = NULL;
        char as[ADDR_STRLEN], fj[160], fa[80];
        const char *fields[] = { fj, fa, NULL };
        size_t n = 0;
        int r;

        if (!ban_map_get(m->bans, &l->elem, now))
                return; /* not a ban of ours, or expired */
        ban_map_remove(m->bans, &l->elem);
        if (l->elem.comment)
                j = manager_find_jail(m, l->elem.comment);
        for (size_t i = 0; !j && i < m->n_jails; i++)
                if (ban_jail_owns_elem(m->jails[i].conf, &l->elem))
                        j = &m->jails[i];
        addr_to_string(&l->elem.addr, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", j ? j->conf->name : "");
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        log_event(LOG_INFO, 0, NFTJAIL_MID_UNBAN, fields, "%s: unbanned %s (element deleted from the ruleset by hand)",
                  j ? j->conf->name : "all jails", as);
        if (!j) {
                state_on_unban(m, NULL, &l->elem.addr);
                return;
        }
        r = manager_unban(m, j, &l->elem.addr, &n);
        if (r < 0)
                log_warning_errno(r, "%s: failed to remove the other elements of %s, ignoring: %m", j->conf->name, as);
        if (r < 0 || n == 0)
                state_on_unban(m, j, &l->elem.addr);
}

static int state_on_event(const NftEvent *ev, void *userdata) {
        Manager *m = userdata;
        ManagerState *s = m->state;

        switch (ev->type) {
        case NFT_EVENT_TABLE_DEL:
        case NFT_EVENT_SET_DEL:
                s->table_gone = true;
                return 0;
        case NFT_EVENT_ELEM_DEL:
                if (ev->portid != 0 && ev->portid == nft_portid(m->nft))
                        return 0; /* our own unban or replace */
                if (s->n_deleted == s->cap_deleted) {
                        size_t nc = MAX(s->cap_deleted * 2, 16);
                        NftListed *v = realloc(s->deleted, nc * sizeof *v);
                        if (!v)
                                return -ENOMEM;
                        s->deleted = v;
                        s->cap_deleted = nc;
                }
                s->deleted[s->n_deleted++] = *ev->elem; /* comment pointer fixed at GEN_END */
                return 0;
        case NFT_EVENT_ELEM_NEW:
                /* added by someone else (by hand, or a rule's dynamic update): a listing adopts it,
                 * so the next start must list */
                if (ev->portid == 0 || ev->portid != nft_portid(m->nft)) {
                        if (!s->doubt)
                                log_debug("state: elements added to our sets by someone else; the next start lists them");
                        s->doubt = true;
                }
                return 0;
        case NFT_EVENT_GEN_END:
                /* a table or set deletion takes its elements with it: that is not an unban */
                if (s->table_gone) {
                        log_warning("table inet %s or one of its sets was deleted; putting it back", NFT_TABLE);
                        state_schedule_resync(m);
                } else
                        for (size_t i = 0; i < s->n_deleted; i++) {
                                s->deleted[i].elem.comment = s->deleted[i].comment[0] ? s->deleted[i].comment : NULL;
                                state_hand_deleted(m, &s->deleted[i]);
                        }
                s->table_gone = false;
                s->n_deleted = 0;
                return 0;
        default:
                return 0;
        }
}

static int state_on_monitor(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        r = nft_monitor_read(m->state->mon, state_on_event, m);
        if (r == -ENOBUFS) {
                /* notifications were lost: list the sets and compare */
                log_warning("nf_tables notifications overran the monitor socket; resynchronising");
                m->state->table_gone = false;
                m->state->n_deleted = 0;
                state_schedule_resync(m);
        } else if (r < 0)
                log_warning_errno(r, "failed to read nf_tables notifications, ignoring: %m");
        return 0;
}

static int state_monitor_start(Manager *m) {
        ManagerState *s = m->state;
        int r;

        r = sd_event_add_defer(m->event, &s->resync_source, state_on_resync, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->resync_source, SD_EVENT_OFF);
        r = nft_monitor_new(&s->mon);
        if (r < 0)
                return r;
        r = sd_event_add_io(m->event, &s->mon_source, nft_monitor_fd(s->mon), EPOLLIN, state_on_monitor, m);
        if (r < 0)
                return r;
        /* before the journal: a vanished table is worse than a late ban */
        (void) sd_event_source_set_priority(s->mon_source, SD_EVENT_PRIORITY_IMPORTANT);
        return 0;
}

static void state_on_addresses(void *userdata) {
        Manager *m = userdata;
        int r = load_self_addresses(m);

        if (r < 0)
                log_warning_errno(r, "failed to read this host's addresses again (ignoreself), ignoring: %m");
        else
                log_debug("this host's addresses changed: %zu now", m->n_self);
}

/* ---- clean stop ---- */

/* The token a clean stop leaves in the state (STORE_META_CLEAN_STOP): this version of nftjaild,
 * this boot, this network namespace, the ruleset's generation id after our last transaction, and
 * a hash of the whole configuration. A start that finds the same token (and the table there) knows that nothing
 * committed to nf_tables since (the id moves with every transaction, ours or anyone's; elements
 * that expire do not move it, and the state knows when they end), that the configuration makes
 * the same elements, and that the state's bans did not change (a trigger drops the token with any
 * change to them, ours or by hand): the kernel holds the elements of the state's live bans. */
static int clean_stop_token(Manager *m, char *buf, size_t len) {
        _cleanup_free_ char *boot = NULL, *dump = NULL;
        size_t boot_len = 0, dump_len = 0;
        uint64_t cookie, hash;
        uint32_t genid;
        FILE *f;
        int r;

        r = read_file_small("/proc/sys/kernel/random/boot_id", 64, &boot, &boot_len);
        if (r < 0)
                return r;
        boot_len = strcspn(boot, "\n");
        r = nft_netns_cookie(m->nft, &cookie);
        if (r < 0)
                return r;
        r = nft_genid(m->nft, &genid);
        if (r < 0)
                return r;
        f = open_memstream(&dump, &dump_len);
        if (!f)
                return -ENOMEM;
        manager_dump(m, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        hash = fnv1a64(dump, dump_len);
        /* the version too: another nftjaild may put bans into other elements (as 0.1 moved IPv6
         * /64s to hash sets), which only the listing finds */
        r = snprintf(buf, len, "1 %s %.*s %" PRIu64 " %" PRIu32 " %016" PRIx64, NFTJAIL_VERSION, (int) boot_len, boot,
                     cookie, genid, hash);
        return r < 0 || (size_t) r >= len ? -ENOBUFS : 0;
}

/* At start, before anything commits: whether the kernel is as a clean stop left it. The token
 * is spent either way, so that after a crash from here on the next start lists the sets. */
static bool state_kernel_as_left(Manager *m) {
        ManagerState *s = m->state;
        _cleanup_free_ char *saved = NULL;
        char now[256];
        int r;

        r = store_meta_get(s->store, STORE_META_CLEAN_STOP, &saved);
        if (r < 0) {
                if (r != -ENOENT)
                        log_debug_errno(r, "state: cannot read the clean-stop token: %m");
                return false;
        }
        r = store_meta_delete(s->store, STORE_META_CLEAN_STOP);
        if (r < 0) {
                log_debug_errno(r, "state: cannot spend the clean-stop token: %m");
                return false;
        }
        r = clean_stop_token(m, now, sizeof now);
        if (r < 0) {
                log_debug_errno(r, "state: no clean-stop token to compare: %m");
                return false;
        }
        if (strcmp(saved, now) != 0) {
                log_debug("state: the clean stop left '%s', now '%s': listing the sets", saved, now);
                return false;
        }
        return true;
}

typedef struct UnseenProbe {
        uint32_t portid;
        bool unseen;
} UnseenProbe;

/* What the monitor has not handed to state_on_event() yet: anything but our own additions and
 * deletions and the ends of generations is a change the state does not know about. */
static int state_probe_unseen(const NftEvent *ev, void *userdata) {
        UnseenProbe *p = userdata;

        if (ev->type == NFT_EVENT_GEN_END ||
            ((ev->type == NFT_EVENT_ELEM_DEL || ev->type == NFT_EVENT_ELEM_NEW) && ev->portid != 0 &&
             ev->portid == p->portid))
                return 0;
        p->unseen = true;
        return 0;
}

void state_clean_stop(Manager *m) {
        ManagerState *s = m->state;
        UnseenProbe probe = { .portid = nft_portid(m->nft) };
        char token[256];
        int r;

        /* without the monitor, a deletion by someone else while we ran is not in the state */
        if (!s || !s->store || !s->mon || s->doubt || s->table_gone || s->gone_at || s->n_deleted > 0)
                return;
        /* The token's generation id is read first: nft_genid() returns once the transactions up to
         * it have queued their notifications, so what the monitor socket holds then covers them.
         * A deletion by someone else among them has not reached the state: no token. (A
         * transaction after the id was read makes the id differ at the next start.) */
        r = clean_stop_token(m, token, sizeof token);
        if (r >= 0) {
                r = nft_monitor_read(s->mon, state_probe_unseen, &probe);
                if (r >= 0 && probe.unseen)
                        r = -EAGAIN;
        }
        if (r >= 0)
                r = store_meta_set(s->store, STORE_META_CLEAN_STOP, token);
        if (r < 0)
                log_debug_errno(r, "state: no clean-stop token, the next start lists the sets: %m");
}

int state_start(Manager *m, bool table_was_there) {
        ManagerState *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        m->state = s;
        /* the monitor first: a deletion during the restore is then seen */
        r = state_monitor_start(m);
        if (r < 0)
                log_warning_errno(r, "failed to watch nf_tables notifications (the table will not be put back "
                                     "if it vanishes), ignoring: %m");
        r = addr_watch_new(m->event, state_on_addresses, m, &s->addr_watch);
        if (r < 0)
                log_warning_errno(r, "failed to watch this host's addresses (ignoreself keeps the ones read at start), "
                                     "ignoring: %m");
        else
                (void) load_self_addresses(m); /* one may have come between the first read and the watch */
        r = store_open(m->options.state_dir, &s->store);
        if (r < 0) {
                log_error_errno(r, "failed to open the state %s/%s; running without ban history: %m",
                                m->options.state_dir, STORE_FILE);
                return 0;
        }
        /* before the purge, whose deletions drop the token */
        s->as_left = table_was_there && state_kernel_as_left(m);
        state_purge(m);
        r = sd_event_add_time_relative(m->event, &s->purge_timer, CLOCK_BOOTTIME, PURGE_INTERVAL_USEC, USEC_PER_SEC,
                                       state_on_purge_timer, m);
        if (r < 0)
                log_warning_errno(r, "failed to set up the daily purge, ignoring: %m");
        return state_resync(m, "start");
}

void state_on_flush(Manager *m) {
        ManagerState *s = m->state;
        int64_t now = now_rt_sec();
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        bool durable = false;
        size_t n = 0, done = 0;
        int r;

        if (!s || !s->store)
                return;
        for (size_t i = 0; i < m->n_pending; i++) {
                const PendingBan *p = &m->pending[i];
                if (p->error)
                        continue;
                done++;
                if (p->n_elems == 0)
                        continue;
                n++;
                durable = durable || p->bantime_sec < 0;
        }
        if (done == 0)
                return;
        r = store_begin(s->store, durable);
        for (size_t i = 0; r >= 0 && i < m->n_pending; i++) {
                const PendingBan *p = &m->pending[i];
                _cleanup_free_ char *ev = NULL;
                NftElem e = { .prefixlen = 128 };

                if (p->error)
                        continue;
                /* the failures that made this ban are spent with it, in this transaction: a crash
                 * before the commit keeps both (replayed at start), after it neither */
                r = store_failures_forget(s->store, p->jail->conf->name, &p->addr);
                if (r < 0 || p->n_elems == 0)
                        continue;
                if (p->failures > 0)
                        ev = evidence_collect(p->jail, &p->addr, p->jail->conf->maxretry);
                /* the prefix the flush used (a /64 shrinks to /128 around the host's addresses) */
                (void) ban_elems_self(p->jail->conf, &p->addr, m->self, m->n_self, 0, &e, 1);
                r = store_add(s->store, &(StoreBan) {
                        .jail = p->jail->conf->name,
                        .addr = p->addr,
                        .prefixlen = p->addr.family == AF_INET ? 32 : e.prefixlen,
                        .start = now,
                        .end = p->bantime_sec < 0 ? STORE_PERMANENT : now + p->bantime_sec,
                        .failures = p->failures,
                        .evidence = ev,
                });
        }
        if (r >= 0)
                r = store_commit(s->store);
        else
                store_rollback(s->store);
        if (r < 0) {
                s->doubt = true;
                log_warning_errno(r, "failed to record %zu bans in the state, ignoring: %m", n);
                return;
        }
        s->flushes++;
        s->flush_bans += n;
        s->flush_usec += now_usec(CLOCK_MONOTONIC) - t0;
        log_debug("state: %zu bans recorded in %llu us", n, (unsigned long long) (now_usec(CLOCK_MONOTONIC) - t0));
}

void state_on_unban(Manager *m, const Jail *j, const Addr *a) {
        int r;

        if (!m->state || !m->state->store)
                return;
        r = store_end(m->state->store, j ? j->conf->name : NULL, a, now_rt_sec());
        if (r < 0) {
                m->state->doubt = true;
                log_warning_errno(r, "failed to record an unban in the state, ignoring: %m");
        }
        /* the tracker forgot them too */
        state_forget_failures(m, j, a);
}

bool state_keeps_failures(const Manager *m) {
        return m->state && m->state->store;
}

int state_commit_batch(Manager *m, Jail *j, const char *source, const char *data) {
        Store *st = m->state ? m->state->store : NULL;
        const char *name = j->conf->name;
        int r;

        if (!st)
                return -ENOTCONN;
        r = store_begin(st, false);
        for (size_t i = 0; r >= 0 && i < j->n_batch; i++)
                r = store_failure_add(st, name, &j->batch[i].addr, j->batch[i].t);
        if (r >= 0)
                r = store_position_set(st, name, source, data);
        if (r >= 0)
                r = store_commit(st);
        else
                store_rollback(st);
        if (r < 0) {
                if (j->n_batch >= JAIL_BATCH_MAX) {
                        log_warning("%s: dropping %zu failures that could not be committed", name, j->n_batch);
                        j->n_batch = 0;
                }
                return log_warning_errno(r, "%s: failed to commit %zu failures and the %s position, trying again "
                                         "after the next batch: %m", name, j->n_batch, source);
        }
        j->n_batch = 0;
        return 0;
}

int state_load_position(Manager *m, const Jail *j, const char *source, char **ret) {
        if (!m->state || !m->state->store)
                return -ENOENT;
        return store_position_get(m->state->store, j->conf->name, source, ret);
}

int state_foreach_failure(Manager *m, const Jail *j, StoreFailureCb cb, void *userdata) {
        if (!m->state || !m->state->store)
                return 0;
        return store_foreach_failure(m->state->store, j->conf->name, now_rt_sec() - j->conf->findtime_sec, cb,
                                     userdata);
}

void state_forget_failures(Manager *m, const Jail *j, const Addr *a) {
        int r;

        if (!m->state || !m->state->store)
                return;
        r = store_failures_forget(m->state->store, j ? j->conf->name : NULL, a);
        if (r < 0)
                log_warning_errno(r, "failed to forget failures in the state, ignoring: %m");
}

void state_gc_failures(Manager *m) {
        int64_t now = now_rt_sec();
        int r = 0, n = 0;

        if (!m->state || !m->state->store)
                return;
        for (size_t i = 0; i < m->n_jails && r >= 0; i++) {
                r = store_failures_gc(m->state->store, m->jails[i].conf->name, now - m->jails[i].conf->findtime_sec);
                n += MAX(r, 0);
        }
        if (r < 0)
                log_warning_errno(r, "failed to drop old failures from the state, ignoring: %m");
        else if (n > 0)
                log_debug("state: %d failures older than findtime dropped", n);
}

int64_t state_bantime(Manager *m, const Jail *j, const Addr *a) {
        const BanIncrement *inc = &j->conf->increment;
        uint32_t rnd = 0;
        int64_t t;
        int n;

        if (!inc->enabled || j->conf->bantime_sec < 0)
                return j->conf->bantime_sec;
        if (!m->state || !m->state->store)
                return j->conf->bantime_sec;
        n = store_count(m->state->store, inc->overalljails ? NULL : j->conf->name, a);
        if (n < 0) {
                log_warning_errno(n, "%s: failed to count earlier bans, using the plain bantime: %m", j->conf->name);
                return j->conf->bantime_sec;
        }
        if (inc->rndtime_sec > 0 && getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
                rnd = 0;
        t = increment_bantime(inc, j->conf->bantime_sec, (unsigned) n, (double) rnd / 4294967296.0);
        log_debug("%s: %d earlier bans: bantime %llds", j->conf->name, n, (long long) t);
        return t;
}

bool state_v6_conflict(Manager *m, const PendingBan *p, const NftElem *e, usec_t now) {
        char as[ADDR_STRLEN];

        if (!ban_map_v6_conflict(m->bans, e, now))
                return false;
        log_info("%s: %s/%u port %u overlaps a live ban of another prefix length; not added", p->jail->conf->name,
                 addr_to_string(&e->addr, as, sizeof as), e->prefixlen, e->port);
        return true;
}
