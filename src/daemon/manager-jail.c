/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "ban.h"
#include "conf.h"
#include "jail-compile.h"
#include "log-ids.h"
#include "log.h"
#include "manager-internal.h"
#include "match.h"
#include "source-file.h"
#include "source-journal.h"
#include "tracker.h"
#include "util/string-util.h"

/* A jail at run time: its sources, its filter, its failure counts and the evidence of its last
 * matches. A matched line becomes a failure here, and a failure that reaches maxretry becomes a
 * pending ban (manager-pending.c). */

/* Empties the batch (committed, or given up). */
static void jail_batch_clear(Jail *j) {
        for (size_t i = 0; i < j->n_batch; i++)
                j->batch[i].tags = strv_free(j->batch[i].tags);
        j->n_batch = 0;
}

static void jail_done(Jail *j) {
        source_journal_free(j->journal);
        source_file_free(j->files); /* saves its positions: before the Persist goes */
        date_pattern_free(j->dates);
        filter_free(j->filter);
        tracker_free(j->tracker);
        free(j->evidence);
        jail_batch_clear(j);
        free(j->batch);
        *j = (Jail) {};
}

void jails_free(Jail *jails, size_t n) {
        for (size_t i = 0; i < n; i++)
                jail_done(&jails[i]);
        free(jails);
}

/* Builds the runtime of every jail of c: compiles filters, checks journal matches. Logs every
 * problem; returns 0 or -EINVAL when any jail is unusable. */
int jails_build(Manager *m, const Config *c, Jail **ret, size_t *ret_n) {
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
                /* config/ refuses the values the tracker cannot hold, with their file and line */
                r = tracker_new(jc->maxretry, jc->findtime_sec, TRACKER_MAX_ENTRIES, &j->tracker);
                if (r < 0) {
                        jails_free(jails, c->n_jails);
                        if (r == -ENOMEM)
                                return log_oom();
                        return log_error_errno(r, "jail '%s': cannot count its failures (maxretry %u, findtime %llds): %m",
                                               jc->name, jc->maxretry, (long long) jc->findtime_sec);
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

/* The ring (23 KiB) is allocated by a jail's first failure: most jails of a configuration never
 * see one, and a ring cleared for each of them at start would cost page faults before READY.
 * Without memory, the ban goes without its lines. */
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

/* The failure goes into the batch that the source's next position commits (jail_position_save);
 * tags (may be NULL) are taken over. */
static void jail_batch_add(Jail *j, const Addr *a, int64_t t, char **tags) {
        if (!j->position.save) {
                strv_free(tags);
                return;
        }
        if (j->n_batch == j->cap_batch) {
                size_t nc = MAX(j->cap_batch * 2, 256);
                PersistFailure *v = nc <= JAIL_BATCH_MAX ? realloc(j->batch, nc * sizeof *v) : NULL;
                if (!v) {
                        log_warning("%s: %zu failures wait for a commit; not storing more, ignoring", j->conf->name,
                                    j->n_batch);
                        strv_free(tags);
                        return;
                }
                j->batch = v;
                j->cap_batch = nc;
        }
        j->batch[j->n_batch++] = (PersistFailure) { .addr = *a, .t = t, .tags = tags };
}


/* A regex of j's filter gave up on a line at a PCRE2 limit (a regex that backtracks
 * catastrophically, fed by a client): the line counts as no failure. Said once per jail, with the
 * file and line of the regex, since a client can send such lines all day; counted always. The
 * other jails are not affected: the limit bounds the time a line costs. */
static __attribute__((cold, noinline)) void jail_limit_hit(Jail *j, const MatchResult *mr, size_t len) {
        const FilterConf *fc = &j->conf->filter;
        const FilterRegex *fr = mr->regex_index < 0 ? &fc->prefregex
                                : (size_t) mr->regex_index < fc->n_failregex ? &fc->failregex[mr->regex_index]
                                : NULL;

        j->lines_limit++;
        if (j->limit_reported)
                return;
        j->limit_reported = true;
        log_warning("%s: the %s at %s:%u gave up on a line (%zu bytes) at the PCRE2 %s, so the line is not "
                    "counted; it may backtrack catastrophically. Reported once; later lines are counted only",
                    j->conf->name, mr->regex_index < 0 ? "prefregex" : "failregex",
                    fr && fr->file ? fr->file : fc->file ?: "?", fr ? fr->line : 0, len, mr->limit ?: "limit");
}

/* A dry-run jail reached maxretry: what a ban would be, logged and counted; the count starts
 * again, as after a ban. Nothing reaches the kernel, the reporter, the actions or the webhooks. */
static void jail_would_ban(Jail *j, const Addr *a, unsigned failures) {
        int64_t bantime = ban_time_clamp(persist_bantime(j->manager->persist, j->conf, a));
        char as[ADDR_STRLEN], dur[32], fj[160], fa[80], ff[48], fb[48];
        const char *fields[] = { fj, fa, ff, fb, "NFTJAIL_DRYRUN=1", NULL };

        addr_to_string(a, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", j->conf->name);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        snprintf(ff, sizeof ff, "NFTJAIL_FAILURES=%u", failures);
        snprintf(fb, sizeof fb, "NFTJAIL_BANTIME=%lld", (long long) bantime);
        j->would_ban_total++;
        tracker_forget(j->tracker, a);
        log_event(LOG_NOTICE, 0, NFTJAIL_MID_WOULD_BAN, fields, "%s: would ban %s for %s after %u failures (dry run)",
                  j->conf->name, as, bantime < 0 ? "ever" : format_duration_sec(bantime, dur, sizeof dur), failures);
}

/* The <F-*> groups of the failure that reaches maxretry, for the actions ("F-USER=admin", bounded
 * by match_tag_copy()), when the jail has action.d files or mail; else, or without memory, NULL
 * (the actions then see empty tags). */
static char **ban_tags_from_match(const Jail *j, const MatchResult *mr) {
        char **v = NULL;

        if (mr->n_tags == 0 || (j->conf->n_action_files == 0 && !j->conf->mail.enabled))
                return NULL;
        for (unsigned i = 0; i < mr->n_tags && i < MATCH_TAGS_MAX; i++) {
                char value[MATCH_TAG_VALUE_MAX + 1], name[40], kv[MATCH_TAG_VALUE_MAX + 64];

                match_tag_copy(&mr->tags[i], value, sizeof value, NULL);
                snprintf(kv, sizeof kv, "%s=%s", match_tag_action_name(mr->tags[i].name, name, sizeof name), value);
                if (strv_extend(&v, kv) < 0)
                        return strv_free(v);
        }
        return v;
}

static void jail_on_line(const char *line, size_t len, bool cut, usec_t realtime_usec, void *userdata) {
        Jail *j = userdata;
        char **tags;
        bool ban;
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
        if (_unlikely_(r == MATCH_LIMIT)) {
                jail_limit_hit(j, &mr, len);
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
        ban = (unsigned) count >= j->conf->maxretry && !j->conf->dryrun;
        tags = ban ? ban_tags_from_match(j, &mr) : NULL;
        /* a failure that queues a ban keeps its tags in the state too: when a crash comes before
         * the ban's commit, the replay at start queues it again with them (jails_replay()) */
        jail_batch_add(j, &mr.addr, t_sec, tags ? strv_copy(tags) : NULL);
        jail_log_failure(j, &mr.addr, count, line, len);
        if ((unsigned) count >= j->conf->maxretry && j->conf->dryrun)
                jail_would_ban(j, &mr.addr, (unsigned) count);
        else if (ban) {
                r = pending_add(j->manager, j, &mr.addr, (unsigned) count, 0, tags);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot queue a ban, ignoring: %m", j->conf->name);
        }
}

static int jail_position_save(const char *source, const char *data, void *userdata) {
        Jail *j = userdata;

        const char *name = j->conf->name;
        int r;

        r = persist_commit_batch(j->manager->persist, name, j->batch, j->n_batch, source, data);
        if (r < 0) {
                if (j->n_batch >= JAIL_BATCH_MAX) {
                        log_warning("%s: dropping %zu failures that could not be committed", name, j->n_batch);
                        jail_batch_clear(j);
                }
                return log_warning_errno(r, "%s: failed to commit %zu failures and the %s position, trying again "
                                         "after the next batch: %m", name, j->n_batch, source);
        }
        jail_batch_clear(j);
        return 0;
}

static int jail_position_load(const char *source, char **ret, void *userdata) {
        Jail *j = userdata;

        return persist_load_position(j->manager->persist, j->conf->name, source, ret);
}

/* With a state, a source's position is committed together with the failures read before it. */
static const SourcePosition *jail_position(Manager *m, Jail *j) {
        if (!persist_has_store(m->persist))
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

/* Crash safety. A source's batch of lines commits its failures and the position after
 * its last line in one transaction (persist_commit_batch), and a ban commits its row and deletes
 * its address's failures in one (persist_bans_add). At start, before the sources resume from their
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

static int replay_one(const Addr *a, int64_t t, char **tags, void *userdata) {
        Replay *rp = userdata;
        Jail *j = rp->jail;
        int count, r;

        rp->failures++;
        count = tracker_record(j->tracker, a, t);
        if (count < 0 || (unsigned) count < j->conf->maxretry) {
                strv_free(tags);
                return 0;
        }
        if (j->conf->dryrun) {
                /* logged as "would ban" before the restart; never a ban after it */
                tracker_forget(j->tracker, a);
                strv_free(tags);
                return 0;
        }
        if (jail_banned_already(j->manager, j, a)) {
                strv_free(tags);
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
        /* decided before a crash, not applied: ban now, with the tags of the failure that queued
         * it then (the same row reaches maxretry again: the replay counts the same failures) */
        r = pending_add(j->manager, j, a, (unsigned) count, 0, tags);
        if (r < 0)
                return r;
        rp->bans++;
        return 0;
}

void jails_replay(Manager *m) {
        for (size_t i = 0; i < m->n_jails && persist_has_store(m->persist); i++) {
                Jail *j = &m->jails[i];
                Replay rp = { .jail = j };
                int r;

                /* the totals go on from where the last run left them */
                persist_totals_load(m->persist, j->conf->name, &j->bans_total, &j->failures);
                if (!j->tracker)
                        continue;
                r = persist_foreach_failure(m->persist, j->conf, replay_one, &rp);
                if (r < 0)
                        log_warning_errno(r, "%s: failed to read the stored failures back, ignoring: %m", j->conf->name);
                for (size_t k = 0; k < rp.n_spent; k++)
                        persist_forget_failures(m->persist, j->conf->name, &rp.spent[k]);
                free(rp.spent);
                if (rp.failures > 0)
                        log_info("%s: %zu stored failures read back, %zu bans due, %zu banned already", j->conf->name,
                                 rp.failures, rp.bans, rp.n_spent);
        }
}

int jails_start(Manager *m, Jail *jails, size_t n) {
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

