/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "addr.h"
#include "ban.h"
#include "conf.h"
#include "control.h"
#include "jail-compile.h"
#include "log-ids.h"
#include "log.h"
#include "manager-internal.h"
#include "manager.h"
#include "match.h"
#include "nft.h"
#include "source-journal.h"
#include "state.h"
#include "tracker.h"
#include "util/string-util.h"

static void jail_done(Jail *j) {
        source_journal_free(j->journal);
        source_file_free(j->files); /* saves its positions: before the state goes */
        date_pattern_free(j->dates);
        filter_free(j->filter);
        tracker_free(j->tracker);
        free(j->evidence);
        free(j->batch);
        *j = (Jail) {};
}

static void jails_free(Jail *jails, size_t n) {
        for (size_t i = 0; i < n; i++)
                jail_done(&jails[i]);
        free(jails);
}

static void log_diags(const ConfDiags *d) {
        char buf[1024];

        for (size_t i = 0; i < d->n; i++) {
                const ConfDiag *g = &d->v[i];
                const char *f[] = { NULL, NULL };
                _cleanup_free_ char *field = NULL;

                if (g->file && asprintf(&field, "CONFIG_FILE=%s", g->file) >= 0)
                        f[0] = field;
                /* "FILE:LINE: MESSAGE"; the level says error or warning */
                if (g->file && g->line)
                        snprintf(buf, sizeof buf, "%s:%u: %s", g->file, g->line, g->message);
                else
                        snprintf(buf, sizeof buf, "%s%s%s", g->file ? g->file : "", g->file ? ": " : "", g->message);
                log_event(g->error ? LOG_ERR : LOG_WARNING, 0, g->error ? NFTJAIL_MID_CONFIG_ERR : NULL, f, "%s", buf);
        }
}

/* Builds the runtime of every jail of c: compiles filters, checks journal matches. Logs every
 * problem; returns 0 or -EINVAL when any jail is unusable. */
static int jails_build(Manager *m, const Config *c, Jail **ret, size_t *ret_n) {
        Jail *jails;
        int bad = 0;

        jails = calloc(MAX(c->n_jails, 1), sizeof *jails);
        if (!jails)
                return log_oom();
        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *jc = &c->jails[i];
                Jail *j = &jails[i];
                char err[512];
                int r;

                j->manager = m;
                j->conf = jc;
                r = jail_compile(jc, &j->filter, &j->dates, err, sizeof err);
                if (r == -ENOMEM) {
                        jails_free(jails, c->n_jails);
                        return log_oom();
                }
                if (r < 0) {
                        log_error("%s", err);
                        bad = -EINVAL;
                        continue;
                }
                if (!jc->journalmatch && !j->dates)
                        log_warning("%s:%u: jail '%s' has no journalmatch: it reads every journal entry, and any "
                                    "local user can write lines that it matches",
                                    jc->file, jc->line, jc->name);
                if (jc->maxretry > 255) {
                        log_error("%s:%u: jail '%s': maxretry %u is above the limit of 255", jc->file, jc->line,
                                  jc->name, jc->maxretry);
                        bad = -EINVAL;
                        continue;
                }
                if (tracker_new(jc->maxretry, jc->findtime_sec, TRACKER_MAX_ENTRIES, &j->tracker) < 0) {
                        jails_free(jails, c->n_jails);
                        return log_oom();
                }
        }
        if (bad < 0) {
                jails_free(jails, c->n_jails);
                return bad;
        }
        *ret = jails;
        *ret_n = c->n_jails;
        return 0;
}

/* Loads the configuration and builds its jails. Every diagnostic is logged, and copied to
 * ret_diags when given (for a reload requested by the CLI, which prints them). */
static int load_config(Manager *m, Config **ret_config, Jail **ret_jails, size_t *ret_n, ConfDiags *ret_diags) {
        _cleanup_(conf_diags_done) ConfDiags diags = {};
        Config *c = NULL;
        int r;

        r = config_load(m->options.config_dir, &c, &diags);
        log_diags(&diags);
        if (ret_diags) {
                *ret_diags = diags;
                diags = (ConfDiags) {};
        }
        if (r < 0) {
                if (r == -ENOMEM)
                        return log_oom();
                return log_error_errno(r, "%s: the configuration has errors", m->options.config_dir);
        }
        r = jails_build(m, c, ret_jails, ret_n);
        if (r < 0) {
                config_free(c);
                return r;
        }
        *ret_config = c;
        return 0;
}

int manager_new(const ManagerOptions *o, Manager **ret) {
        Manager *m;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->options = *o;
        r = ban_map_new(&m->bans);
        if (r < 0) {
                free(m);
                return log_oom();
        }
        r = load_config(m, &m->config, &m->jails, &m->n_jails, NULL);
        if (r < 0) {
                ban_map_free(m->bans);
                free(m);
                return r;
        }
        if (m->config->loglevel > 0)
                log_set_max_level(MAX(log_get_max_level(), m->config->loglevel));
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* the jails first: their sources save their positions in the state */
        jails_free(m->jails, m->n_jails);
        m->jails = NULL;
        m->n_jails = 0;
        m->state = state_free(m->state);
        reporter_free(m->reporter);
        config_free(m->config);
        control_free(m->control);
        sd_event_source_disable_unref(m->flush);
        sd_event_source_disable_unref(m->gc);
        nft_free(m->nft);
        ban_map_free(m->bans);
        sd_event_unref(m->event);
        free(m->self);
        free(m->pending);
        free(m->pending_index);
        free(m);
        return NULL;
}

void manager_dump(const Manager *m, FILE *f) {
        config_dump(m->config, f);
}

/* The host's own addresses, for ignoreself. */
int load_self_addresses(Manager *m) {
        struct ifaddrs *ifa = NULL;
        size_t n = 0;

        if (getifaddrs(&ifa) < 0)
                return -errno;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
                n++;
        free(m->self);
        m->n_self = 0;
        m->self = calloc(MAX(n, 1), sizeof(Addr));
        if (!m->self) {
                freeifaddrs(ifa);
                return -ENOMEM;
        }
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                Addr a = {};
                if (!i->ifa_addr)
                        continue;
                if (addr_from_sockaddr(i->ifa_addr, &a) < 0)
                        continue;
                m->self[m->n_self++] = a;
        }
        freeifaddrs(ifa);
        return 0;
}

/* The ring (23 KiB) is allocated by a jail's first failure: clearing it for every jail at start
 * was 60 of the page faults to READY with 10 jails, and most jails of a config see none. Without
 * memory, the ban goes without its lines. */
static void evidence_add(Jail *j, const Addr *a, const char *line, size_t len, usec_t realtime) {
        Evidence *e;

        if (!j->evidence && !(j->evidence = calloc(EVIDENCE_RING, sizeof(Evidence))))
                return;
        e = &j->evidence[j->evidence_next++ % EVIDENCE_RING];

        e->addr = *a;
        e->realtime = realtime ?: now_usec(CLOCK_REALTIME);
        e->len = (uint16_t) MIN(len, EVIDENCE_LINE - 1);
        memcpy(e->line, line, e->len);
        e->line[e->len] = 0;
}

/* The newest lines of a, escaped, newline-separated; at most max lines. */
char *evidence_collect(const Jail *j, const Addr *a, unsigned max) {
        char *out = NULL;
        size_t size = 0;
        FILE *f;
        unsigned n = 0;

        f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        for (unsigned k = 1; j->evidence && k <= EVIDENCE_RING && n < max; k++) {
                const Evidence *e = &j->evidence[(j->evidence_next - k) % EVIDENCE_RING];
                char esc[EVIDENCE_LINE * 4 + 8];

                if (e->len == 0 || !addr_equal(&e->addr, a))
                        continue;
                fprintf(f, "%s%s", n ? "\n" : "", escape_bytes(e->line, e->len, esc, sizeof esc));
                n++;
        }
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}

static void jail_log_failure(Jail *j, const Addr *a, int count, const char *line, size_t len) {
        char as[ADDR_STRLEN], esc[512], fj[160], fa[80], ff[48];
        const char *fields[] = { fj, fa, ff, NULL };
        time_t now = time(NULL);

        /* under attack this could flood the journal: at most FAILURE_LOGS_PER_SEC a second a jail */
        if (now != j->log_window) {
                if (j->log_suppressed > 0)
                        log_info("%s: %u failure messages suppressed", j->conf->name, j->log_suppressed);
                j->log_window = now;
                j->log_count = 0;
                j->log_suppressed = 0;
        }
        if (++j->log_count > FAILURE_LOGS_PER_SEC) {
                j->log_suppressed++;
                return;
        }
        addr_to_string(a, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", j->conf->name);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        snprintf(ff, sizeof ff, "NFTJAIL_FAILURES=%d", count);
        log_event(LOG_INFO, 0, NFTJAIL_MID_FAILURE, fields, "%s: found %s (%d/%u)", j->conf->name, as, count,
                  j->conf->maxretry);
        log_debug("%s: line '%s'", j->conf->name, escape_bytes(line, len, esc, sizeof esc));
}

static size_t pending_slot(const Manager *m, const Jail *j, const Addr *a) {
        return (size_t) addr_hash(a, m->pending_seed ^ (uint64_t) (uintptr_t) j) & (m->cap_index - 1);
}

/* The index in m->pending of j's pending ban of a, or SIZE_MAX. */
static size_t pending_find(const Manager *m, const Jail *j, const Addr *a) {
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

static int pending_add(Manager *m, Jail *j, const Addr *a, unsigned failures, int64_t bantime_sec) {
        int r;

        if (m->n_pending == 0 && ++m->pending_gen == 0) {
                /* a new queue: every slot of the old one is stale at once (on wrap, really cleared) */
                memset(m->pending_index, 0, m->cap_index * sizeof *m->pending_index);
                m->pending_gen = 1;
        }
        /* the same address may reach maxretry twice in one burst: one ban is enough */
        if (pending_find(m, j, a) != SIZE_MAX)
                return 0;
        if (m->n_pending == m->cap_pending) {
                size_t nc = MAX(m->cap_pending * 2, 64);
                PendingBan *p = realloc(m->pending, nc * sizeof *p);
                if (!p)
                        return -ENOMEM;
                m->pending = p;
                m->cap_pending = nc;
        }
        r = pending_index_reserve(m);
        if (r < 0)
                return r;
        m->pending[m->n_pending] = (PendingBan) {
                .jail = j, .addr = *a, .failures = failures, .bantime_sec = bantime_sec ? bantime_sec : state_bantime(m, j, a),
        };
        pending_index_put(m, m->n_pending++);
        return sd_event_source_set_enabled(m->flush, SD_EVENT_ONESHOT);
}

/* The failure goes into the batch that the source's next position commits (state.c). */
static void jail_batch_add(Jail *j, const Addr *a, int64_t t) {
        if (!j->position.save)
                return;
        if (j->n_batch == j->cap_batch) {
                size_t nc = MAX(j->cap_batch * 2, 256);
                JailFailure *v = nc <= JAIL_BATCH_MAX ? realloc(j->batch, nc * sizeof *v) : NULL;
                if (!v) {
                        log_warning("%s: %zu failures wait for a commit; not storing more, ignoring", j->conf->name,
                                    j->n_batch);
                        return;
                }
                j->batch = v;
                j->cap_batch = nc;
        }
        j->batch[j->n_batch++] = (JailFailure) { .addr = *a, .t = t };
}

static void jail_on_line(const char *line, size_t len, bool cut, usec_t realtime_usec, void *userdata) {
        Jail *j = userdata;
        MatchResult mr;
        int64_t t_sec, now_rt;
        int r, count;
        BanSkip skip;

        j->lines++;
        if (cut)
                j->lines_cut++;
        r = cut ? filter_match_cut(j->filter, line, len, &mr) : filter_match(j->filter, line, len, &mr);
        if (r == MATCH_IGNORED) {
                j->ignored++;
                return;
        }
        if (r != MATCH_FAILURE)
                return;

        now_rt = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
        t_sec = realtime_usec ? (int64_t) (realtime_usec / USEC_PER_SEC) : now_rt;
        /* clocks can disagree a little; a failure "from the future" counts as now */
        if (t_sec > now_rt)
                t_sec = now_rt;
        if (t_sec < now_rt - j->conf->findtime_sec)
                return; /* too old to count */

        skip = ban_allowed(j->conf, &mr.addr, j->manager->self, j->manager->n_self);
        if (skip != BAN_OK) {
                char as[ADDR_STRLEN];
                log_debug("%s: ignoring failure of %s (%s)", j->conf->name, addr_to_string(&mr.addr, as, sizeof as),
                          ban_skip_to_string(skip));
                return;
        }
        j->failures++;
        evidence_add(j, &mr.addr, line, len, realtime_usec);
        count = tracker_record(j->tracker, &mr.addr, t_sec);
        if (count < 0)
                return;
        jail_batch_add(j, &mr.addr, t_sec);
        jail_log_failure(j, &mr.addr, count, line, len);
        if ((unsigned) count >= j->conf->maxretry) {
                r = pending_add(j->manager, j, &mr.addr, (unsigned) count, 0);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot queue a ban, ignoring: %m", j->conf->name);
        }
}

static uint64_t timeout_ms(int64_t bantime_sec) {
        return bantime_sec < 0 ? 0 : (uint64_t) bantime_sec * 1000;
}

static void log_ban(const PendingBan *p, int error) {
        const JailConf *jc = p->jail->conf;
        char as[ADDR_STRLEN], dur[32], fj[160], fa[80], ff[48], fb[48], fu[48];
        _cleanup_free_ char *ev = NULL, *fe = NULL;
        const char *fields[] = { fj, fa, ff, fb, fu, NULL, NULL };

        addr_to_string(&p->addr, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", jc->name);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        snprintf(ff, sizeof ff, "NFTJAIL_FAILURES=%u", p->failures);
        snprintf(fb, sizeof fb, "NFTJAIL_BANTIME=%lld", (long long) p->bantime_sec);
        snprintf(fu, sizeof fu, "NFTJAIL_BAN_USEC=%llu",
                 p->bantime_sec < 0 ? 0ULL : (unsigned long long) p->bantime_sec * USEC_PER_SEC);
        if (error) {
                log_event(LOG_ERR, error, NFTJAIL_MID_BAN_FAILED, fields, "%s: failed to ban %s: %m", jc->name, as);
                return;
        }
        ev = evidence_collect(p->jail, &p->addr, jc->maxretry);
        if (ev && asprintf(&fe, "NFTJAIL_EVIDENCE=%s", ev) >= 0)
                fields[5] = fe;
        if (p->failures == 0)
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

static int manager_on_flush(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ PendingElem *pe = NULL;
        _cleanup_free_ NftElem *elems = NULL;
        _cleanup_free_ size_t *owner = NULL;
        usec_t now = now_usec(CLOCK_BOOTTIME);
        size_t n_pe = 0, max = 0;

        for (size_t i = 0; i < m->n_pending; i++) {
                const JailConf *jc = m->pending[i].jail->conf;
                max += jc->allports || jc->n_ports == 0 ? 1 : jc->n_ports;
        }
        pe = calloc(MAX(max, 1), sizeof *pe);
        elems = calloc(MAX(max, 1), sizeof *elems);
        owner = calloc(MAX(max, 1), sizeof *owner);
        if (!pe || !elems || !owner) {
                log_oom();
                m->n_pending = 0;
                return 0;
        }

        /* Per element: add it, extend it (REPLACE), or leave it when it is banned already for
         * longer, possibly by another jail that shares the port. The map is updated as we plan,
         * so that two bans of one element in the same burst see each other (the longer wins;
         * the ADDs go before the REPLACEs); what the kernel then refuses is put back below. */
        for (size_t i = 0; i < m->n_pending; i++) {
                PendingBan *p = &m->pending[i];
                const JailConf *jc = p->jail->conf;
                size_t k;

                p->expiry = p->bantime_sec < 0 ? USEC_INFINITY : now + (usec_t) p->bantime_sec * USEC_PER_SEC;
                k = ban_elems_self(jc, &p->addr, m->self, m->n_self, timeout_ms(p->bantime_sec), elems, BAN_ELEMS_MAX);
                for (size_t e = 0; e < k; e++) {
                        usec_t old = ban_map_get(m->bans, &elems[e], now);
                        if (old >= p->expiry || state_v6_conflict(m, p, &elems[e], now))
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
        for (size_t i = 0; i < m->n_pending; i++) {
                PendingBan *p = &m->pending[i];
                char as[ADDR_STRLEN];

                if (p->n_elems == 0) {
                        log_info("%s: %s is banned already, for longer", p->jail->conf->name,
                                  addr_to_string(&p->addr, as, sizeof as));
                        continue;
                }
                if (!p->error)
                        p->jail->bans_total++;
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
        }
        state_on_flush(m);
        m->n_pending = 0;
        return 0;
}

Jail *manager_find_jail(Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_jails; i++)
                if (strcmp(m->jails[i].conf->name, name) == 0)
                        return &m->jails[i];
        return NULL;
}

int manager_ban(Manager *m, Jail *j, const Addr *a, int64_t bantime_sec) {
        size_t idx;
        int r;

        if (ban_allowed(j->conf, a, m->self, m->n_self) != BAN_OK)
                return -EPERM;
        r = pending_add(m, j, a, 0, bantime_sec);
        if (r < 0)
                return r;
        idx = pending_find(m, j, a);
        tracker_forget(j->tracker, a);
        /* apply now, so that the caller learns the kernel's answer: the flush empties the queue
         * but leaves the entries (and their results) in place until the next pending_add() */
        manager_on_flush(m->flush, m);
        (void) sd_event_source_set_enabled(m->flush, SD_EVENT_OFF);
        return idx < m->cap_pending ? m->pending[idx].error : 0;
}

static void log_unban(const char *jail, const Addr *a) {
        char as[ADDR_STRLEN], fj[160], fa[80];
        const char *fields[] = { fj, fa, NULL };

        addr_to_string(a, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", jail ? jail : "");
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        log_event(LOG_INFO, 0, NFTJAIL_MID_UNBAN, fields, "%s: unbanned %s", jail ? jail : "all jails", as);
}

static int elem_addr_cmp(const void *x, const void *y) {
        const NftElem *a = x, *b = y;

        if (a->addr.family != b->addr.family)
                return a->addr.family < b->addr.family ? -1 : 1;
        return memcmp(a->addr.bytes, b->addr.bytes, sizeof a->addr.bytes);
}

int manager_unban(Manager *m, Jail *j, const Addr *a, size_t *ret_n) {
        _cleanup_free_ NftElem *elems = NULL;
        usec_t now = now_usec(CLOCK_BOOTTIME), expiry;
        size_t n = 0, cap = 0, it = 0;
        NftElem e;
        int r = 0;

        while (ban_map_next(m->bans, &it, &e, &expiry)) {
                if (expiry <= now || (a && !ban_elem_contains(&e, a)) || (j && !ban_jail_owns_elem(j->conf, &e)))
                        continue;
                if (n == cap) {
                        size_t nc = MAX(cap * 2, 16);
                        NftElem *ne = realloc(elems, nc * sizeof *ne);
                        if (!ne)
                                return -ENOMEM;
                        elems = ne;
                        cap = nc;
                }
                elems[n++] = e;
        }
        /* An element may be gone already (expired a moment ago, deleted by hand): the kernel then
         * refuses the whole transaction with ENOENT; drop that one and go on. */
        for (size_t left = n, tries = 0; left > 0 && tries < n + 1; tries++) {
                size_t bad = SIZE_MAX;
                r = nft_apply(m->nft, NFT_OP_DEL, elems, left, NULL, &bad);
                if (r >= 0 || r != -ENOENT || bad >= left)
                        break;
                ban_map_remove(m->bans, &elems[bad]);
                elems[bad] = elems[--left];
                n--;
                r = 0;
        }
        if (r < 0)
                return r;
        /* one unban event per address: sorted, an address's elements are neighbours (a linear
         * pass, not a quadratic one, for an "unban --all" of 100,000 elements) */
        if (n > 1)
                qsort(elems, n, sizeof *elems, elem_addr_cmp);
        for (size_t i = 0; i < n; i++) {
                ban_map_remove(m->bans, &elems[i]);
                if (i == 0 || !addr_equal(&elems[i - 1].addr, &elems[i].addr)) {
                        log_unban(j ? j->conf->name : NULL, &elems[i].addr);
                        for (size_t k = 0; k < m->n_jails; k++)
                                if (!j || &m->jails[k] == j)
                                        tracker_forget(m->jails[k].tracker, &elems[i].addr);
                }
        }
        state_on_unban(m, j, a);
        if (ret_n)
                *ret_n = n;
        return 0;
}

/* (Re)starts the AbuseIPDB reporter for configuration c: stopped when no jail reports, restarted
 * otherwise so that a reload takes new keys and settings (pending reports wait in the spool). */
static void manager_reporter_start(Manager *m, const Config *c) {
        int r;

        m->reporter = reporter_free(m->reporter);
        for (size_t i = 0; i < c->n_jails && c->abuseipdb.enabled; i++)
                if (c->jails[i].abuseipdb) {
                        r = reporter_new(m->event, c, m->options.state_dir, &m->reporter);
                        if (r < 0)
                                log_warning_errno(r, "AbuseIPDB reporting is off, bans go on: %m");
                        break;
                }
        for (size_t i = 0; i < c->n_jails; i++)
                if (c->jails[i].abuseipdb)
                        log_info("%s: reporting bans to AbuseIPDB%s (categories %s)", c->jails[i].name,
                                 m->reporter ? "" : " is off", c->jails[i].abuseipdb_categories ?: "-");
}

static int jail_position_save(const char *source, const char *data, void *userdata) {
        Jail *j = userdata;

        return state_commit_batch(j->manager, j, source, data);
}

static int jail_position_load(const char *source, char **ret, void *userdata) {
        Jail *j = userdata;

        return state_load_position(j->manager, j, source, ret);
}

/* With a state, a source's position is committed together with the failures read before it. */
static const SourcePosition *jail_position(Manager *m, Jail *j) {
        if (!state_keeps_failures(m))
                return NULL;
        j->position = (SourcePosition) { .save = jail_position_save, .load = jail_position_load, .userdata = j };
        return &j->position;
}

static int jail_start_files(Manager *m, Jail *j) {
        const JailConf *jc = j->conf;
        SourceFileOptions o = {
                .name = jc->name,
                .paths = jc->logpath,
                .polling = jc->backend == BACKEND_POLLING,
                .latin1 = jc->latin1,
                .dates = j->dates,
                .state_dir = m->options.state_dir,
                .position = jail_position(m, j),
        };
        int r;

        r = source_file_new(m->event, &o, jail_on_line, j, &j->files);
        if (r < 0)
                return log_error_errno(r, "%s: failed to watch %s: %m", jc->name, jc->logpath[0]);
        log_info("%s: watching %s%s (%s), maxretry %u in %llds, bantime %llds", jc->name, jc->logpath[0],
                 jc->logpath[1] ? " and more" : "", o.polling ? "polling" : "inotify", jc->maxretry,
                 (long long) jc->findtime_sec, (long long) jc->bantime_sec);
        return 0;
}

/* Crash safety (issue 6). A source's batch of lines commits its failures and the position after
 * its last line in one transaction (state_commit_batch), and a ban commits its row and deletes
 * its address's failures in one (state_on_flush). At start, before the sources resume from their
 * committed positions, the stored failures within findtime are replayed into the trackers. So a
 * SIGKILL at any moment neither loses nor double-counts a line:
 *  - before a batch commit: position and failures are both the old ones; the batch is read
 *    again and counted once;
 *  - after the batch commit, before the flush that applies the ban: the failures are stored and
 *    no ban row exists; the replay reaches maxretry and queues the ban again (normal flush path);
 *  - after the kernel took the ban, before its row (and the deletion of its failures) was
 *    committed: the restore adopts the kernel element (one row, as for any adopted element), and
 *    the replay finds the address banned already in every element of the ban, so it drops the
 *    failures instead of banning again: one row, one count for bantime.increment;
 *  - after the flush commit: the failures are gone with the ban; nothing is replayed.
 * Where this is looser: failures of an address after the one that reached maxretry, in the same
 * batch, are deleted with the ban (the tracker in memory still counts them until a restart). */
typedef struct Replay {
        Jail *jail;
        size_t failures, bans;
        Addr *spent;            /* banned already: their failures are deleted after the walk */
        size_t n_spent, cap_spent;
} Replay;

/* Whether every element of a ban of a in j is in the kernel, live (adopted or restored). */
static bool jail_banned_already(Manager *m, const Jail *j, const Addr *a) {
        NftElem elems[BAN_ELEMS_MAX];
        usec_t now = now_usec(CLOCK_BOOTTIME);
        size_t k = ban_elems_self(j->conf, a, m->self, m->n_self, 0, elems, BAN_ELEMS_MAX);

        for (size_t e = 0; e < k; e++)
                if (!ban_map_get(m->bans, &elems[e], now))
                        return false;
        return k > 0;
}

static int replay_one(const Addr *a, int64_t t, void *userdata) {
        Replay *rp = userdata;
        Jail *j = rp->jail;
        int count, r;

        rp->failures++;
        count = tracker_record(j->tracker, a, t);
        if (count < 0 || (unsigned) count < j->conf->maxretry)
                return 0;
        if (jail_banned_already(j->manager, j, a)) {
                if (rp->n_spent == rp->cap_spent) {
                        size_t nc = MAX(rp->cap_spent * 2, 16);
                        Addr *v = realloc(rp->spent, nc * sizeof *v);
                        if (!v)
                                return -ENOMEM;
                        rp->spent = v;
                        rp->cap_spent = nc;
                }
                rp->spent[rp->n_spent++] = *a;
                return 0;
        }
        /* decided before a crash, not applied: ban now */
        r = pending_add(j->manager, j, a, (unsigned) count, 0);
        if (r < 0)
                return r;
        rp->bans++;
        return 0;
}

static void jails_replay(Manager *m) {
        for (size_t i = 0; i < m->n_jails && state_keeps_failures(m); i++) {
                Jail *j = &m->jails[i];
                Replay rp = { .jail = j };
                int r;

                if (!j->tracker)
                        continue;
                r = state_foreach_failure(m, j, replay_one, &rp);
                if (r < 0)
                        log_warning_errno(r, "%s: failed to read the stored failures back, ignoring: %m", j->conf->name);
                for (size_t k = 0; k < rp.n_spent; k++)
                        state_forget_failures(m, j, &rp.spent[k]);
                free(rp.spent);
                if (rp.failures > 0)
                        log_info("%s: %zu stored failures read back, %zu bans due, %zu banned already", j->conf->name,
                                 rp.failures, rp.bans, rp.n_spent);
        }
}

static int jails_start(Manager *m, Jail *jails, size_t n) {
        for (size_t i = 0; i < n; i++) {
                Jail *j = &jails[i];
                int r;

                if (j->journal || j->files)
                        continue;
                if (j->dates) {
                        r = jail_start_files(m, j);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = source_journal_new(m->event, j->conf->name, j->conf->journalmatch, jail_on_line, j, &j->journal);
                if (r < 0)
                        return log_error_errno(r, "%s: failed to open the journal: %m", j->conf->name);
                r = source_journal_restore(j->journal, m->options.state_dir, jail_position(m, j));
                if (r < 0)
                        log_warning_errno(r, "%s: cannot resume from the saved journal position, reading new "
                                          "entries only: %m", j->conf->name);
                log_info("%s: watching the journal (%s), maxretry %u in %llds, bantime %llds", j->conf->name,
                         j->conf->journalmatch ? j->conf->journalmatch : "all entries", j->conf->maxretry,
                         (long long) j->conf->findtime_sec, (long long) j->conf->bantime_sec);
        }
        return 0;
}

/* Reload: the new configuration is built whole before anything changes; on any error the old one
 * keeps running. Jails that keep their name and thresholds keep their counters and bans. */
int manager_reload(Manager *m, ConfDiags *ret_diags) {
        Config *c = NULL;
        Jail *jails = NULL;
        size_t n = 0;
        int r;

        log_info("reloading configuration from %s", m->options.config_dir);
        r = load_config(m, &c, &jails, &n, ret_diags);
        if (r < 0)
                return log_error_errno(r, "reload failed, keeping the running configuration: %m");
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < m->n_jails; k++) {
                        Jail *o = &m->jails[k];
                        if (!o->conf || strcmp(o->conf->name, jails[i].conf->name) != 0)
                                continue;
                        if (o->conf->maxretry == jails[i].conf->maxretry &&
                            o->conf->findtime_sec == jails[i].conf->findtime_sec) {
                                tracker_free(jails[i].tracker);
                                jails[i].tracker = TAKE_PTR(o->tracker);
                        }
                        jails[i].bans_total = o->bans_total;
                }
        /* pending bans point at the old jails: apply them first */
        if (m->n_pending > 0)
                manager_on_flush(m->flush, m);
        r = jails_start(m, jails, n);
        if (r < 0) {
                jails_free(jails, n);
                config_free(c);
                return log_error_errno(r, "reload failed, keeping the running configuration: %m");
        }
        manager_reporter_start(m, c);
        jails_free(m->jails, m->n_jails);
        config_free(m->config);
        m->jails = jails;
        m->n_jails = n;
        m->config = c;
        log_event(LOG_INFO, 0, NFTJAIL_MID_RELOADED, NULL, "configuration reloaded: %zu jail(s)", n);
        control_config_changed(m->control);
        return 0;
}

#define GC_INTERVAL_USEC (60 * USEC_PER_SEC)

/* Counters of addresses that stopped failing would otherwise stay until evicted, and bans until
 * the map is next looked at: drop both once a minute. */
static int manager_on_gc(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int64_t now_rt = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
        size_t tracked = 0, bans;

        for (size_t i = 0; i < m->n_jails; i++) {
                (void) tracker_gc(m->jails[i].tracker, now_rt);
                tracked += tracker_size(m->jails[i].tracker);
        }
        bans = ban_map_gc(m->bans, now_usec(CLOCK_BOOTTIME));
        state_gc_failures(m);
        log_debug("gc: %zu addresses tracked, %zu expired bans dropped", tracked, bans);
        return sd_event_source_set_time(s, usec + GC_INTERVAL_USEC);
}

static int manager_on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                (void) sd_notify(false, "RELOADING=1");
                (void) manager_reload(m, NULL);
                (void) sd_notify(false, "READY=1");
                return 0;
        }
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* The nft file to load when the table is missing. When nftjail.conf keeps the installed default
 * and it is not installed (running from the source tree with --config-dir conf), the copy next to
 * the configuration directory is used: CONFIG_DIR/../nft/nftjail.nft. */
const char *manager_nft_file(const Manager *m, char *buf, size_t len) {
        const char *f = m->config->nft_file;
        struct stat st;

        if (strcmp(f, NFTJAIL_NFT_FILE) != 0 || stat(f, &st) == 0)
                return f;
        snprintf(buf, len, "%s/../nft/nftjail.nft", m->options.config_dir);
        if (stat(buf, &st) == 0) {
                log_info("%s is not installed; using %s", f, buf);
                return buf;
        }
        return f;
}

int manager_start(Manager *m) {
        char errbuf[2048] = "", nft_file_buf[4096];
        const char *nft_file;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "failed to allocate the event loop: %m");
        {
                sigset_t ss;
                sigemptyset(&ss);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGINT);
                sigaddset(&ss, SIGHUP);
                if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                        return log_error_errno(errno, "failed to block signals: %m");
        }
        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, manager_on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, manager_on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, manager_on_signal, m)) < 0)
                return log_error_errno(r, "failed to install signal handlers: %m");
        r = sd_event_add_defer(m->event, &m->flush, manager_on_flush, m);
        if (r < 0)
                return log_error_errno(r, "failed to add the ban flush source: %m");
        (void) sd_event_source_set_enabled(m->flush, SD_EVENT_OFF);
        /* sources first: the flush runs after them within one loop iteration, so a burst of bans
         * read from the journal in one go becomes one netlink transaction */
        (void) sd_event_source_set_priority(m->flush, SD_EVENT_PRIORITY_IDLE);
        r = sd_event_add_time_relative(m->event, &m->gc, CLOCK_BOOTTIME, GC_INTERVAL_USEC, USEC_PER_SEC,
                                       manager_on_gc, m);
        if (r < 0)
                return log_error_errno(r, "failed to add the gc timer: %m");
        (void) sd_event_source_set_enabled(m->gc, SD_EVENT_ON);

        r = load_self_addresses(m);
        if (r < 0)
                log_warning_errno(r, "failed to read this host's addresses (ignoreself), ignoring: %m");

        nft_file = manager_nft_file(m, nft_file_buf, sizeof nft_file_buf);
        r = nft_new(&m->nft);
        if (r < 0)
                return log_error_errno(r, "failed to open the nf_tables netlink socket: %m");
        r = nft_ensure_table(m->nft, nft_file, errbuf, sizeof errbuf);
        if (r < 0)
                return log_error_errno(r, "table inet %s is missing and loading %s failed: %m%s%s", NFT_TABLE,
                                       nft_file, errbuf[0] ? "\n" : "", errbuf);
        if (r > 0)
                log_info("loaded %s: %s inet %s created", nft_file, r == 1 ? "table" : "the missing sets of table",
                         NFT_TABLE);
        r = state_start(m, r == 0);
        if (r < 0)
                return r;

        manager_reporter_start(m, m->config);
        /* the failures stored before a stop or a crash, before the sources resume after them */
        jails_replay(m);
        r = jails_start(m, m->jails, m->n_jails);
        if (r < 0)
                return r;
        m->started = now_usec(CLOCK_MONOTONIC);
        /* last: the socket appearing tells scripts (and the test rig) that the daemon is ready */
        r = control_new(m->event, m->options.socket_path, m, &m->control);
        if (r < 0)
                return r;
        return 0;
}

int manager_run(Manager *m) {
        int r;

        log_event(LOG_INFO, 0, NFTJAIL_MID_START, NULL, "nftjaild %s started: %zu jail(s)", NFTJAIL_VERSION,
                  m->n_jails);
        (void) sd_notifyf(false, "READY=1\nSTATUS=%zu jail(s) running", m->n_jails);
        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        /* bans already handed over stay in the kernel; flush those still queued */
        if (m->n_pending > 0)
                manager_on_flush(m->flush, m);
        state_clean_stop(m);
        log_event(LOG_INFO, 0, NFTJAIL_MID_STOP, NULL, "nftjaild stopping; bans stay in the kernel until they expire");
        return r;
}
