/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "increment.h"
#include "log.h"
#include "match.h"
#include "persist.h"
#include "persist-internal.h"
#include "restore.h"
#include "store.h"
#include "util/fileio.h"
#include "util/string-util.h"

#define PURGE_INTERVAL_USEC (24 * 3600 * USEC_PER_SEC)

struct Persist {
        sd_event *event;
        Nft *nft;
        BanMap *bans;
        const Config *config;
        const char *(*nft_file)(void *userdata, char *buf, size_t len);
        void (*elem_deleted)(void *userdata, const NftListed *l);
        void *userdata;
        Store *store;
        StoreCheckpointer *checkpointer; /* the store's WAL checkpoints, on a thread of its own */
        NftMonitor *mon;
        sd_event_source *mon_source, *resync_source, *purge_timer;
        bool table_gone;        /* the current generation deleted our table or a set */
        bool restore_seen;      /* the next restore keeps the monitor subscribed */
        bool as_left;           /* the start's restore: the kernel is as a clean stop left it */
        bool doubt;             /* the state may not say what the kernel holds: no clean-stop token */
        usec_t gone_at;         /* CLOCK_MONOTONIC when we learnt it, 0 when no resync is due */
        NftListed *deleted;     /* elements deleted by others in the current generation */
        size_t n_deleted, cap_deleted;
        int batch_error;        /* of the bans record under way (persist_bans_begin) */
        usec_t batch_start;
};

Persist *persist_free(Persist *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->mon_source);
        sd_event_source_disable_unref(s->resync_source);
        sd_event_source_disable_unref(s->purge_timer);
        nft_monitor_free(s->mon);
        if (s->store)
                store_set_checkpointer(s->store, NULL);
        s->checkpointer = store_checkpointer_stop(s->checkpointer);
        store_free(s->store);
        sd_event_unref(s->event);
        free(s->deleted);
        free(s);
        return NULL;
}

void persist_set_config(Persist *s, const Config *config) {
        if (s)
                s->config = config;
}

static int64_t now_rt_sec(void) {
        return (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
}

static void persist_purge(Persist *s) {
        int r = store_purge(s->store, now_rt_sec() - s->config->dbpurgeage_sec);

        if (r < 0)
                log_warning_errno(r, "failed to purge the ban history, ignoring: %m");
        else if (r > 0)
                log_info("purged %d bans older than %llds from the history", r, (long long) s->config->dbpurgeage_sec);
}

static int persist_on_purge_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        persist_purge(userdata);
        (void) sd_event_source_set_time_relative(src, PURGE_INTERVAL_USEC);
        return sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

static void persist_schedule_resync(Persist *s);

/* The restore, unseen by the monitor: the kernel would notify every element it adds (100,000 at
 * a start overrun the socket, and the resync that follows lists every set: seconds), and building
 * those notifications is a quarter of its work. So the monitor leaves the group for the restore;
 * whoever else commits meanwhile advances the generation id beyond our own transactions, which
 * then calls for a resync. The id before is read while subscribed (nft_genid() returns once
 * the transaction that made it has notified us) and the one after once subscribed again: a
 * change on either side of the window is seen by one of the two. (A
 * transaction of ours that changes nothing does not advance the id; restore_run() only adds
 * what the listing missed, so that takes a foreign add of that very element meanwhile.) */
static int persist_restore(Persist *s, RestoreStats *st) {
        uint64_t ours = nft_commits(s->nft);
        uint32_t before, after;
        bool quiet = false, as_left;
        int r, k;

        /* after a change seen that way, the restore stays in sight: it is small, and a ruleset
         * that keeps changing must not make a loop of resyncs */
        if (s->mon && !s->restore_seen && nft_genid(s->nft, &before) >= 0)
                quiet = nft_monitor_subscribe(s->mon, false) >= 0;
        s->restore_seen = false;
        as_left = s->as_left;
        s->as_left = false;
        r = restore_run(s->nft, s->store, s->bans, s->config->jails, s->config->n_jails, as_left, st);
        if (r < 0 || st->refused > 0)
                s->doubt = true;
        if (!quiet)
                return r;
        ours = nft_commits(s->nft) - ours;
        k = nft_monitor_subscribe(s->mon, true);
        if (k < 0) {
                log_warning_errno(k, "failed to watch nf_tables notifications again (the table will not be put back "
                                     "if it vanishes), ignoring: %m");
                return r;
        }
        k = nft_genid(s->nft, &after);
        if (k < 0 || after - before != ours) {
                if (k < 0)
                        log_warning_errno(k, "failed to read the ruleset generation after the restore; resynchronising: %m");
                else
                        log_info("the ruleset changed during the restore (generation %u -> %u, our transactions: %llu"
                                 "); resynchronising", before, after, (unsigned long long) ours);
                s->restore_seen = true;
                persist_schedule_resync(s);
        }
        return r;
}

/* Puts the table back when needed and brings kernel, state and map into agreement. */
static int persist_resync(Persist *s, const char *why) {
        char errbuf[2048] = "", buf[4096];
        const char *file = s->nft_file(s->userdata, buf, sizeof buf);
        usec_t t0 = now_usec(CLOCK_MONOTONIC), t1;
        RestoreStats st;
        int r;

        r = nft_ensure_table(s->nft, file, errbuf, sizeof errbuf);
        t1 = now_usec(CLOCK_MONOTONIC);
        if (r < 0)
                return log_error_errno(r, "%s: table inet %s is missing and loading %s failed: %m%s%s", why, NFT_TABLE,
                                       file, errbuf[0] ? "\n" : "", errbuf);
        if (r > 0)
                log_warning("%s: %s inet %s was missing; loaded %s", why, r == 1 ? "table" : "a set of table", NFT_TABLE,
                            file);
        r = persist_restore(s, &st);
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

static int persist_on_resync(sd_event_source *src, void *userdata) {
        Persist *s = userdata;
        usec_t at = s->gone_at;

        s->gone_at = 0;
        if (persist_resync(s, "ruleset changed") >= 0 && at)
                log_info("ruleset changed: every ban back %llu ms after the notification",
                         (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - at) / USEC_PER_MSEC));
        return 0;
}

static void persist_schedule_resync(Persist *s) {
        if (!s->gone_at)
                s->gone_at = now_usec(CLOCK_MONOTONIC);
        (void) sd_event_source_set_enabled(s->resync_source, SD_EVENT_ONESHOT);
}

static int persist_on_event(const NftEvent *ev, void *userdata) {
        Persist *s = userdata;

        switch (ev->type) {
        case NFT_EVENT_TABLE_DEL:
        case NFT_EVENT_SET_DEL:
                s->table_gone = true;
                return 0;
        case NFT_EVENT_ELEM_DEL:
                if (ev->portid != 0 && ev->portid == nft_portid(s->nft))
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
                if (ev->portid == 0 || ev->portid != nft_portid(s->nft)) {
                        if (!s->doubt)
                                log_debug("state: elements added to our sets by someone else; the next start lists them");
                        s->doubt = true;
                }
                return 0;
        case NFT_EVENT_GEN_END:
                /* a table or set deletion takes its elements with it: that is not an unban */
                if (s->table_gone) {
                        log_warning("table inet %s or one of its sets was deleted; putting it back", NFT_TABLE);
                        persist_schedule_resync(s);
                } else
                        for (size_t i = 0; i < s->n_deleted; i++) {
                                s->deleted[i].elem.comment = s->deleted[i].comment[0] ? s->deleted[i].comment : NULL;
                                /* not ours, or expired: nothing to unban */
                                if (ban_map_get(s->bans, &s->deleted[i].elem, now_usec(CLOCK_BOOTTIME)))
                                        s->elem_deleted(s->userdata, &s->deleted[i]);
                        }
                s->table_gone = false;
                s->n_deleted = 0;
                return 0;
        default:
                return 0;
        }
}

static int persist_on_monitor(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Persist *s = userdata;
        int r;

        r = nft_monitor_read(s->mon, persist_on_event, s);
        if (r == -ENOBUFS) {
                /* notifications were lost: list the sets and compare */
                log_warning("nf_tables notifications overran the monitor socket; resynchronising");
                s->table_gone = false;
                s->n_deleted = 0;
                persist_schedule_resync(s);
        } else if (r < 0)
                log_warning_errno(r, "failed to read nf_tables notifications, ignoring: %m");
        return 0;
}

static int persist_monitor_start(Persist *s) {
        int r;

        r = sd_event_add_defer(s->event, &s->resync_source, persist_on_resync, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->resync_source, SD_EVENT_OFF);
        r = nft_monitor_new(&s->mon);
        if (r < 0)
                return r;
        r = sd_event_add_io(s->event, &s->mon_source, nft_monitor_fd(s->mon), EPOLLIN, persist_on_monitor, s);
        if (r < 0)
                return r;
        /* before the journal: a vanished table is worse than a late ban */
        (void) sd_event_source_set_priority(s->mon_source, SD_EVENT_PRIORITY_IMPORTANT);
        return 0;
}

/* ---- clean stop ---- */

/* The token a clean stop leaves in the state (STORE_META_CLEAN_STOP): this version of nftjaild,
 * this boot, this network namespace, the ruleset's generation id after our last transaction, and
 * a hash of the whole configuration. A start that finds the same token (and the table there) knows that nothing
 * committed to nf_tables since (the id moves with every transaction, ours or anyone's; elements
 * that expire do not move it, and the state knows when they end), that the configuration makes
 * the same elements, and that the state's bans did not change (a trigger drops the token with any
 * change to them, ours or by hand): the kernel holds the elements of the state's live bans. */
static int clean_stop_token(Persist *s, char *buf, size_t len) {
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
        r = nft_netns_cookie(s->nft, &cookie);
        if (r < 0)
                return r;
        r = nft_genid(s->nft, &genid);
        if (r < 0)
                return r;
        f = open_memstream(&dump, &dump_len);
        if (!f)
                return -ENOMEM;
        config_dump(s->config, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        hash = fnv1a64(dump, dump_len);
        /* the version too: another version of nftjaild may keep bans in other elements (IPv6 /64s
         * in the interval sets or in their hash sets), which only the listing finds */
        r = snprintf(buf, len, "1 %s %.*s %" PRIu64 " %" PRIu32 " %016" PRIx64, NFTJAIL_VERSION, (int) boot_len, boot,
                     cookie, genid, hash);
        return r < 0 || (size_t) r >= len ? -ENOBUFS : 0;
}

/* At start, before anything commits: whether the kernel is as a clean stop left it. The token
 * is spent either way, so that after a crash from here on the next start lists the sets. */
static bool persist_kernel_as_left(Persist *s) {
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
        r = clean_stop_token(s, now, sizeof now);
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

/* What the monitor has not handed to persist_on_event() yet: anything but our own additions and
 * deletions and the ends of generations is a change the state does not know about. */
static int persist_probe_unseen(const NftEvent *ev, void *userdata) {
        UnseenProbe *p = userdata;

        if (ev->type == NFT_EVENT_GEN_END ||
            ((ev->type == NFT_EVENT_ELEM_DEL || ev->type == NFT_EVENT_ELEM_NEW) && ev->portid != 0 &&
             ev->portid == p->portid))
                return 0;
        p->unseen = true;
        return 0;
}

void persist_clean_stop(Persist *s) {
        UnseenProbe probe;
        char token[256];
        int r;

        /* without the monitor, a deletion by someone else while we ran is not in the state */
        if (!s || !s->store || !s->mon || s->doubt || s->table_gone || s->gone_at || s->n_deleted > 0)
                return;
        probe = (UnseenProbe) { .portid = nft_portid(s->nft) };
        /* The token's generation id is read first: nft_genid() returns once the transactions up to
         * it have queued their notifications, so what the monitor socket holds then covers them.
         * A deletion by someone else among them has not reached the state: no token. (A
         * transaction after the id was read makes the id differ at the next start.) */
        r = clean_stop_token(s, token, sizeof token);
        if (r >= 0) {
                r = nft_monitor_read(s->mon, persist_probe_unseen, &probe);
                if (r >= 0 && probe.unseen)
                        r = -EAGAIN;
        }
        if (r >= 0)
                r = store_meta_set(s->store, STORE_META_CLEAN_STOP, token);
        if (r < 0)
                log_debug_errno(r, "state: no clean-stop token, the next start lists the sets: %m");
}

int persist_start(const PersistOptions *o, bool table_was_there, Persist **ret) {
        Persist *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        *s = (Persist) {
                .event = sd_event_ref(o->event),
                .nft = o->nft,
                .bans = o->bans,
                .config = o->config,
                .nft_file = o->nft_file,
                .elem_deleted = o->elem_deleted,
                .userdata = o->userdata,
        };
        /* the monitor first: a deletion during the restore is then seen */
        r = persist_monitor_start(s);
        if (r < 0)
                log_warning_errno(r, "failed to watch nf_tables notifications (the table will not be put back "
                                     "if it vanishes), ignoring: %m");
        r = store_open(o->state_dir, &s->store);
        if (r < 0) {
                log_error_errno(r, "failed to open the state %s/%s; running without ban history: %m", o->state_dir,
                                STORE_FILE);
                *ret = s;
                return 0;
        }
        /* the store's connection never checkpoints (no fsync of the database inside a ban's commit) */
        r = store_checkpointer_start(o->state_dir, STORE_CHECKPOINT_INTERVAL_USEC, &s->checkpointer);
        if (r < 0)
                log_warning_errno(r, "failed to start the state's checkpoint thread; the ban path checkpoints "
                                     "instead: %m");
        if (r >= 0)
                store_set_checkpointer(s->store, s->checkpointer);
        else if (store_set_autocheckpoint(s->store, 1000) < 0)
                log_warning("state: cannot turn the WAL's automatic checkpoints back on, ignoring");
        /* before the purge, whose deletions drop the token */
        s->as_left = table_was_there && persist_kernel_as_left(s);
        persist_purge(s);
        r = sd_event_add_time_relative(s->event, &s->purge_timer, CLOCK_BOOTTIME, PURGE_INTERVAL_USEC, USEC_PER_SEC,
                                       persist_on_purge_timer, s);
        if (r < 0)
                log_warning_errno(r, "failed to set up the daily purge, ignoring: %m");
        r = persist_resync(s, "start");
        if (r < 0) {
                persist_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void persist_bans_begin(Persist *s, bool durable) {
        if (!s || !s->store)
                return;
        s->batch_start = now_usec(CLOCK_MONOTONIC);
        s->batch_error = store_begin(s->store, durable);
}

void persist_bans_add(Persist *s, const StoreBan *b, bool row) {
        if (!s || !s->store || s->batch_error < 0)
                return;
        /* the failures that made this ban are spent with it, in this transaction: a crash before
         * the commit keeps both (replayed at start), after it neither */
        s->batch_error = store_failures_forget(s->store, b->jail, &b->addr);
        if (s->batch_error >= 0 && row)
                s->batch_error = store_add(s->store, b);
}

void persist_bans_end(Persist *s, size_t n_rows) {
        int r;

        if (!s || !s->store)
                return;
        r = s->batch_error;
        if (r >= 0)
                r = store_commit(s->store);
        else
                store_rollback(s->store);
        s->batch_error = 0;
        if (r < 0) {
                s->doubt = true;
                log_warning_errno(r, "failed to record %zu bans in the state, ignoring: %m", n_rows);
                return;
        }
        log_debug("state: %zu bans recorded in %llu us", n_rows,
                  (unsigned long long) (now_usec(CLOCK_MONOTONIC) - s->batch_start));
}

void persist_on_unban(Persist *s, const char *jail, const Addr *a) {
        int r;

        if (!s || !s->store)
                return;
        r = store_end(s->store, jail, a, now_rt_sec());
        if (r < 0) {
                s->doubt = true;
                log_warning_errno(r, "failed to record an unban in the state, ignoring: %m");
        }
        /* the tracker forgot them too */
        persist_forget_failures(s, jail, a);
}

void persist_release_memory(Persist *s) {
        if (s)
                store_release_memory(s->store);
}

bool persist_has_store(const Persist *s) {
        return s && s->store;
}

/* A failure's tags as stored: each "F-NAME=VALUE" followed by a NUL (a value never holds one,
 * match_tag_copy()). Returns the length, 0 for none or when they would not fit. */
size_t persist_tags_encode(char *const *tags, char *buf, size_t len) {
        size_t n = 0;

        for (char *const *t = tags; t && *t; t++) {
                size_t k = strlen(*t) + 1;

                if (k > len - n)
                        return 0;
                memcpy(buf + n, *t, k);
                n += k;
        }
        return n;
}

/* The inverse of persist_tags_encode(), for bytes read from the state: NULL (and logged at debug) unless
 * every entry is well formed (see persist_foreach_failure()). */
char **persist_tags_decode(const char *p, size_t len) {
        char **v = NULL;
        size_t n = 0;

        if (!p || len == 0)
                return NULL;
        if (p[len - 1] != '\0')
                goto bad;
        for (size_t off = 0; off < len; n++) {
                const char *e = p + off, *eq = strchr(e, '=');
                size_t k = strlen(e);

                if (n >= MATCH_TAGS_MAX || !eq || eq - e < 3 || eq - e > 40 || strncmp(e, "F-", 2) != 0 ||
                    k - (size_t) (eq - e) - 1 > MATCH_TAG_VALUE_MAX)
                        goto bad;
                for (const char *c = e + 2; c < eq; c++)
                        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
                                goto bad;
                if (strv_extend(&v, e) < 0)
                        return strv_free(v); /* out of memory: the ban goes without them */
                off += k + 1;
        }
        return v;
bad:
        log_debug("state: a stored failure's tags (%zu bytes) are not ours, ignoring them", len);
        return strv_free(v);
}

int persist_commit_batch(Persist *s, const char *jail, const PersistFailure *v, size_t n, const char *source,
                         const char *data) {
        char tags[STORE_TAGS_MAX];
        int r;

        if (!s || !s->store)
                return -ENOTCONN;
        r = store_begin(s->store, false);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = store_failure_add(s->store, jail, &v[i].addr, v[i].t, tags,
                                      v[i].tags ? persist_tags_encode(v[i].tags, tags, sizeof tags) : 0);
        if (r >= 0)
                r = store_position_set(s->store, jail, source, data);
        if (r >= 0)
                r = store_commit(s->store);
        else
                store_rollback(s->store);
        return r;
}

void persist_totals_load(Persist *s, const char *jail, uint64_t *ret_bans, uint64_t *ret_failures) {
        _cleanup_free_ char *v = NULL;
        char key[256];
        unsigned long long b, f;
        int n = 0;

        *ret_bans = *ret_failures = 0;
        if (!s || !s->store || snprintf(key, sizeof key, "totals.%s", jail) >= (int) sizeof key)
                return;
        if (store_meta_get(s->store, key, &v) < 0)
                return;
        /* written by us, but the state file is input like any other */
        if (sscanf(v, "%llu %llu%n", &b, &f, &n) != 2 || v[n] != '\0') {
                log_debug("state: %s: unreadable totals '%s', starting from 0", key, v);
                return;
        }
        *ret_bans = b;
        *ret_failures = f;
}

void persist_totals_save(Persist *s, const char *jail, uint64_t bans, uint64_t failures) {
        char key[256], v[48];
        int r;

        if (!s || !s->store || snprintf(key, sizeof key, "totals.%s", jail) >= (int) sizeof key)
                return;
        snprintf(v, sizeof v, "%llu %llu", (unsigned long long) bans, (unsigned long long) failures);
        r = store_meta_set(s->store, key, v);
        if (r < 0)
                log_debug_errno(r, "state: failed to save %s, ignoring: %m", key);
}

int persist_load_position(Persist *s, const char *jail, const char *source, char **ret) {
        if (!s || !s->store)
                return -ENOENT;
        return store_position_get(s->store, jail, source, ret);
}

typedef struct FailureWalk {
        PersistFailureCb cb;
        void *userdata;
} FailureWalk;

static int failure_walk_one(const Addr *a, int64_t t, const void *tags, size_t tags_len, void *userdata) {
        FailureWalk *w = userdata;

        return w->cb(a, t, persist_tags_decode(tags, tags_len), w->userdata);
}

int persist_foreach_failure(Persist *s, const JailConf *jc, PersistFailureCb cb, void *userdata) {
        FailureWalk w = { .cb = cb, .userdata = userdata };

        if (!s || !s->store)
                return 0;
        return store_foreach_failure(s->store, jc->name, now_rt_sec() - jc->findtime_sec, failure_walk_one, &w);
}

int persist_expired_take(Persist *s, size_t max, StoreBanCb cb, void *userdata) {
        int64_t now = now_rt_sec();
        int r;

        if (!s || !s->store)
                return 0;
        r = store_begin(s->store, false);
        if (r >= 0)
                r = store_foreach_expired(s->store, now, max, cb, userdata);
        if (r >= 0)
                r = store_mark_told(s->store, now);
        if (r >= 0) {
                int k = store_commit(s->store);
                if (k < 0)
                        r = k;
        } else
                store_rollback(s->store);
        if (r < 0)
                return log_warning_errno(r, "state: failed to read the bans that ended while the daemon was down; "
                                            "their ends are not told: %m");
        return r;
}

void persist_expired_mark(Persist *s) {
        int r;

        if (!s || !s->store)
                return;
        r = store_mark_told(s->store, now_rt_sec());
        if (r < 0)
                log_warning_errno(r, "state: failed to record the bans that ended as told, ignoring: %m");
}

void persist_forget_failures(Persist *s, const char *jail, const Addr *a) {
        int r;

        if (!s || !s->store)
                return;
        r = store_failures_forget(s->store, jail, a);
        if (r < 0)
                log_warning_errno(r, "failed to forget failures in the state, ignoring: %m");
}

void persist_gc_failures(Persist *s) {
        int64_t now = now_rt_sec();
        int r = 0, n = 0;

        if (!s || !s->store)
                return;
        for (size_t i = 0; i < s->config->n_jails && r >= 0; i++) {
                r = store_failures_gc(s->store, s->config->jails[i].name, now - s->config->jails[i].findtime_sec);
                n += MAX(r, 0);
        }
        if (r < 0)
                log_warning_errno(r, "failed to drop old failures from the state, ignoring: %m");
        else if (n > 0)
                log_debug("state: %d failures older than findtime dropped", n);
}

int64_t persist_bantime(Persist *s, const JailConf *jc, const Addr *a) {
        const BanIncrement *inc = &jc->increment;
        uint32_t rnd = 0;
        int64_t t;
        int n;

        if (!inc->enabled || jc->bantime_sec < 0)
                return jc->bantime_sec;
        if (!s || !s->store)
                return jc->bantime_sec;
        n = store_count(s->store, inc->overalljails ? NULL : jc->name, a);
        if (n < 0) {
                log_warning_errno(n, "%s: failed to count earlier bans, using the plain bantime: %m", jc->name);
                return jc->bantime_sec;
        }
        if (inc->rndtime_sec > 0 && getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
                rnd = 0;
        t = increment_bantime(inc, jc->bantime_sec, (unsigned) n, (double) rnd / 4294967296.0);
        log_debug("%s: %d earlier bans: bantime %llds", jc->name, n, (long long) t);
        return t;
}
