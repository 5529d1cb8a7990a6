/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ifaddrs.h>
#include <inttypes.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "addr-watch.h"
#include "addr.h"
#include "ban.h"
#include "conf.h"
#include "control.h"
#include "log-ids.h"
#include "log.h"
#include "manager-internal.h"
#include "manager.h"
#include "nft.h"
#include "persist.h"
#include "source-file.h"
#include "source-journal.h"
#include "tracker.h"
#include "util/string-util.h"

/* The manager's lifecycle: configuration, start, the loop, signals, reload, stop. The jails
 * live in manager-jail.c, the pending bans and their flush in manager-pending.c. */

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

/* Loads the configuration and builds its jails. Every diagnostic is logged, and copied to
 * ret_diags when given (for a reload requested by the CLI, which prints them). */
static int load_config(Manager *m, Config **ret_config, Jail **ret_jails, size_t *ret_n, ConfDiags *ret_diags) {
        _cleanup_(conf_diags_done) ConfDiags diags = {};
        Config *c = NULL;
        int r;

        r = config_load(m->options.config_dir, &c, &diags);
        if (r >= 0 && config_check_host(c, &diags) < 0) {
                config_free(c);
                return log_oom();
        }
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
        if (m->options.dry_run)
                for (size_t i = 0; i < c->n_jails; i++)
                        c->jails[i].dryrun = true;
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
        /* the jails first: their sources save their positions in the store */
        jails_free(m->jails, m->n_jails);
        m->jails = NULL;
        m->n_jails = 0;
        m->persist = persist_free(m->persist);
        addr_watch_free(m->addr_watch);
        reporter_free(m->reporter);
        reporter_free(m->reporter_off);
        manager_fleet_free(m);
        actions_free(m->actions);
        webhooks_free(m->webhooks);
        config_free(m->config);
        control_free(m->control);
        metrics_free(m->metrics);
        sd_event_source_disable_unref(m->flush);
        sd_event_source_disable_unref(m->gc);
        sd_event_source_disable_unref(m->status_timer);
        nft_free(m->nft);
        ban_map_free(m->bans);
        sd_event_unref(m->event);
        free(m->self);
        for (size_t i = 0; i < m->n_pending; i++)
                strv_free(m->pending[i].tags);
        free(m->pending);
        free(m->pending_index);
        free(m);
        return NULL;
}

void manager_dump(const Manager *m, FILE *f) {
        config_dump(m->config, f);
}

/* The host's own addresses, for ignoreself. */
static int load_self_addresses(Manager *m) {
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

Jail *manager_find_jail(const Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_jails; i++)
                if (strcmp(m->jails[i].conf->name, name) == 0)
                        return &m->jails[i];
        return NULL;
}

const Config *manager_config(const Manager *m) {
        return m->config;
}

const char *manager_config_dir(const Manager *m) {
        return m->options.config_dir;
}

void manager_status(const Manager *m, ManagerStatus *ret) {
        uint64_t total = 0;

        for (size_t i = 0; i < m->n_jails; i++)
                total += m->jails[i].bans_total;
        *ret = (ManagerStatus) {
                .uptime = now_usec(CLOCK_MONOTONIC) - m->started,
                .bans_total = total,
                .elements_live = ban_map_count(m->bans, now_usec(CLOCK_BOOTTIME)),
        };
}

int manager_report_stats(const Manager *m, ReporterStats *ret) {
        if (!m->reporter)
                return -ENODEV;
        reporter_stats(m->reporter, ret);
        return 0;
}

void manager_foreach_jail(const Manager *m, void (*cb)(const char *name, void *userdata), void *userdata) {
        for (size_t i = 0; i < m->n_jails; i++)
                cb(m->jails[i].conf->name, userdata);
}

int manager_jail_status(const Manager *m, const char *name, ManagerJailStatus *ret) {
        const Jail *j = manager_find_jail(m, name);

        if (!j)
                return -ENOENT;
        *ret = (ManagerJailStatus) {
                .conf = j->conf,
                .lines = j->lines,
                .lines_cut = j->lines_cut,
                .lines_limit = j->lines_limit,
                .unbans_total = j->unbans_total,
                .ignored = j->ignored,
                .failures_total = j->failures,
                .failures_current = tracker_size(j->tracker),
                .bans_total = j->bans_total,
                .would_ban_total = j->would_ban_total,
                .dryrun = j->conf->dryrun,
                .journal = j->journal,
                .journal_entries = j->journal ? source_journal_entries(j->journal) : 0,
                .files = j->files,
                .file_lines = j->files ? source_file_lines(j->files) : 0,
        };
        return 0;
}

/* The action workers, started when a jail of c has a mail action or an action.d file; kept
 * until exit. */
static void manager_actions_start(Manager *m, const Config *c) {
        int r;

        if (m->actions)
                return;
        for (size_t i = 0; i < c->n_jails; i++)
                if (c->jails[i].mail.enabled || c->jails[i].n_action_files > 0) {
                        r = actions_new(&m->actions);
                        if (r < 0)
                                log_warning_errno(r, "cannot start the action workers, no mail will be sent: %m");
                        return;
                }
}

/* The webhook sender, started when a jail of c has a webhook (events queued at an earlier run go
 * out then too); kept until exit, handed each reload's webhooks. */
static void manager_webhooks_start(Manager *m, const Config *c) {
        int r;

        if (m->webhooks) {
                (void) webhooks_apply(m->webhooks, c);
                return;
        }
        if (!webhooks_wanted(c))
                return;
        r = webhooks_new(c, m->options.state_dir, &m->webhooks);
        if (r < 0)
                log_warning_errno(r, "cannot start the webhook sender, no webhook events will be sent: %m");
}

/* The AbuseIPDB reporter for configuration c: started when a jail reports for the first time;
 * at a reload, the running thread is handed the new settings (keys, URL, timeout, quota, comment)
 * and takes them between two requests, so that the loop never waits for it; stopped (and kept in
 * reporter_off until it is joined, never detached) when no jail reports any more. */
static void manager_reporter_start(Manager *m, const Config *c) {
        bool want = false;
        int r;

        for (size_t i = 0; i < c->n_jails && c->abuseipdb.enabled && !want; i++)
                want = c->jails[i].abuseipdb;
        if (want && !m->reporter && m->reporter_off)
                m->reporter = TAKE_PTR(m->reporter_off);
        if (want && m->reporter) {
                r = reporter_apply(m->reporter, c, true);
                if (r < 0)
                        log_warning_errno(r, "AbuseIPDB: keeping the previous reporting settings: %m");
        } else if (want) {
                r = reporter_new(m->event, c, m->options.state_dir, &m->reporter);
                if (r < 0)
                        log_warning_errno(r, "AbuseIPDB reporting is off, bans go on: %m");
        } else if (m->reporter) {
                (void) reporter_apply(m->reporter, c, false);
                m->reporter_off = TAKE_PTR(m->reporter);
        }
        for (size_t i = 0; i < c->n_jails; i++)
                if (c->jails[i].abuseipdb)
                        log_info("%s: reporting bans to AbuseIPDB%s (categories %s)", c->jails[i].name,
                                 m->reporter ? "" : " is off", c->jails[i].abuseipdb_categories ?: "-");
}

static bool jail_named(const Jail *jails, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (jails[i].conf && strcmp(jails[i].conf->name, name) == 0)
                        return true;
        return false;
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
                        jails[i].would_ban_total = o->would_ban_total;
                        jails[i].failures = o->failures;
                        jails[i].totals_loaded = true;
                }
        for (size_t i = 0; i < n; i++)
                if (!jails[i].totals_loaded)
                        persist_totals_load(m->persist, jails[i].conf->name, &jails[i].bans_total, &jails[i].failures);
        /* pending bans point at the old jails: apply them first */
        if (m->n_pending > 0)
                pending_flush_all(m);
        r = jails_start(m, jails, n);
        if (r < 0) {
                jails_free(jails, n);
                config_free(c);
                return log_error_errno(r, "reload failed, keeping the running configuration: %m");
        }
        manager_reporter_start(m, c);
        manager_actions_start(m, c);
        manager_webhooks_start(m, c);
        for (size_t k = 0; k < m->n_jails; k++)
                if (!jail_named(jails, n, m->jails[k].conf->name))
                        (void) actions_submit_cmd(m->actions, m->jails[k].conf, ACTION_CMD_STOP, NULL, 0);
        for (size_t i = 0; i < n; i++)
                if (!jail_named(m->jails, m->n_jails, jails[i].conf->name))
                        (void) actions_submit_cmd(m->actions, jails[i].conf, ACTION_CMD_START, NULL, 0);
        persist_set_config(m->persist, c);
        jails_free(m->jails, m->n_jails);
        m->jails = jails;
        m->n_jails = n;
        {
                Config *old = m->config;

                m->config = c;
                manager_fleet_reload(m, old);
                config_free(old);
        }
        log_event(LOG_INFO, 0, NFTJAIL_MID_RELOADED, NULL, "configuration reloaded: %zu jail(s)", n);
        control_config_changed(m->control);
        metrics_apply(m->metrics);
        return 0;
}

/* The totals of every jail into the state (bans are saved with each ban record too; failures,
 * which come by the thousand, only here: a crash loses at most the last minute's). */
static void manager_totals_save(Manager *m) {
        for (size_t i = 0; i < m->n_jails; i++)
                persist_totals_save(m->persist, m->jails[i].conf->name, m->jails[i].bans_total, m->jails[i].failures);
}

#define GC_INTERVAL_USEC (60 * USEC_PER_SEC)

/* Counters of addresses that stopped failing would otherwise stay until evicted, and bans until
 * the map is next looked at: drop both once a minute. */
static int manager_on_gc(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int64_t now_rt = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
        usec_t now = now_usec(CLOCK_BOOTTIME);
        size_t tracked = 0, bans;

        for (size_t i = 0; i < m->n_jails; i++) {
                (void) tracker_gc(m->jails[i].tracker, now_rt);
                tracked += tracker_size(m->jails[i].tracker);
        }
        if (!m->gc_ran)
                manager_bans_expired_offline(m);
        m->gc_ran = true;
        manager_bans_expired(m, now);
        bans = ban_map_gc(m->bans, now);
        manager_notify_status(m, true);
        manager_totals_save(m);
        persist_gc_failures(m->persist);
        log_debug("gc: %zu addresses tracked, %zu expired bans dropped", tracked, bans);
        return sd_event_source_set_time(s, usec + GC_INTERVAL_USEC);
}

#define STATUS_INTERVAL_USEC USEC_PER_SEC

/* STATUS= for systemctl status: the jails, the elements in force, the reports waiting; at most
 * once a second unless forced (a flood empties the ban queue many times a second). */
void manager_notify_status(Manager *m, bool force) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        ReporterStats rs = {};
        char reports[64] = "";

        if (!force && m->status_at && now - m->status_at < STATUS_INTERVAL_USEC) {
                /* said a moment ago: say it again when the second is over */
                if (m->status_timer && sd_event_source_set_time(m->status_timer, m->status_at + STATUS_INTERVAL_USEC) >= 0)
                        (void) sd_event_source_set_enabled(m->status_timer, SD_EVENT_ONESHOT);
                return;
        }
        m->status_at = now;
        if (manager_report_stats(m, &rs) >= 0)
                snprintf(reports, sizeof reports, ", %" PRId64 " report(s) pending", rs.pending);
        (void) sd_notifyf(false, "STATUS=%zu jail(s), %zu ban element(s) in the kernel%s", m->n_jails,
                          ban_map_size(m->bans), reports);
}

static int manager_on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_notify_status(userdata, true);
        return 0;
}

static int manager_on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec(CLOCK_MONOTONIC));
                (void) manager_reload(m, NULL);
                (void) sd_notify(false, "READY=1");
                manager_notify_status(m, true);
                return 0;
        }
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* The nft file to load when the table is missing. When nftjail.conf keeps the installed default
 * and it is not installed (running from the source tree with --config-dir conf), the copy next to
 * the configuration directory is used: CONFIG_DIR/../nft/nftjail.nft. */
static const char *manager_nft_file(const Manager *m, char *buf, size_t len) {
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

static const char *manager_persist_nft_file(void *userdata, char *buf, size_t len) {
        return manager_nft_file(userdata, buf, len);
}

static void manager_on_addresses(void *userdata) {
        Manager *m = userdata;
        int r = load_self_addresses(m);

        if (r < 0)
                log_warning_errno(r, "failed to read this host's addresses again (ignoreself), ignoring: %m");
        else
                log_debug("this host's addresses changed: %zu now", m->n_self);
}

int manager_start(Manager *m) {
        char errbuf[2048] = "", nft_file_buf[4096];
        const char *nft_file;
        bool table_was_there;
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
        /* WATCHDOG=1 from the loop itself at half of WATCHDOG_USEC: a hung loop stops the pings and
         * systemd restarts it (WatchdogSec= in nftjaild.service); nothing when not supervised */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "failed to enable the systemd watchdog, ignoring: %m");
        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, manager_on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, manager_on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, manager_on_signal, m)) < 0)
                return log_error_errno(r, "failed to install signal handlers: %m");
        r = sd_event_add_defer(m->event, &m->flush, pending_on_flush, m);
        if (r < 0)
                return log_error_errno(r, "failed to add the ban flush source: %m");
        (void) sd_event_source_set_enabled(m->flush, SD_EVENT_OFF);
        /* normal priority, not idle: at idle it waited for the end of a flood and then committed
         * every ban of it in one callback (status p99 48 s in bench-flood). Now it runs between
         * the sources' batches (one journal drain, FILE_BATCH_MAX bytes of a file), so a flush
         * holds the bans of one batch; a burst read in one go is still one transaction. */
        (void) sd_event_source_set_priority(m->flush, SD_EVENT_PRIORITY_NORMAL);
        /* the first at once, in the loop: it tells the ends of bans that ran out while the daemon
         * was down (manager_bans_expired_offline()), without holding up the start */
        r = sd_event_add_time_relative(m->event, &m->gc, CLOCK_BOOTTIME, 0, USEC_PER_SEC, manager_on_gc, m);
        if (r < 0)
                return log_error_errno(r, "failed to add the gc timer: %m");
        (void) sd_event_source_set_enabled(m->gc, SD_EVENT_ON);
        r = sd_event_add_time(m->event, &m->status_timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC,
                              manager_on_status_timer, m);
        if (r < 0)
                return log_error_errno(r, "failed to add the status timer: %m");
        (void) sd_event_source_set_enabled(m->status_timer, SD_EVENT_OFF);

        r = load_self_addresses(m);
        if (r < 0)
                log_warning_errno(r, "failed to read this host's addresses (ignoreself), ignoring: %m");

        nft_file = manager_nft_file(m, nft_file_buf, sizeof nft_file_buf);
        r = nft_new(&m->nft);
        if (r < 0)
                return log_error_errno(r, "failed to open the nf_tables netlink socket: %m");
        r = nft_ensure_table(m->nft, nft_file, errbuf, sizeof errbuf);
        if (r == -EPERM || r == -EACCES)
                return log_error_errno(r, "the kernel refused to list table inet %s (%m): nftjaild needs CAP_NET_ADMIN "
                                          "in this network namespace (AmbientCapabilities=CAP_NET_ADMIN in "
                                          "nftjaild.service)", NFT_TABLE);
        if (r < 0)
                return log_error_errno(r, "table inet %s is missing and loading %s failed: %m%s%s", NFT_TABLE,
                                       nft_file, errbuf[0] ? "\n" : "", errbuf);
        if (r > 0)
                log_info("loaded %s: %s inet %s created", nft_file, r == 1 ? "table" : "the missing sets of table",
                         NFT_TABLE);
        table_was_there = r == 0;
        r = addr_watch_new(m->event, manager_on_addresses, m, &m->addr_watch);
        if (r < 0)
                log_warning_errno(r, "failed to watch this host's addresses (ignoreself keeps the ones read at start), "
                                     "ignoring: %m");
        else
                (void) load_self_addresses(m); /* one may have come between the first read and the watch */
        r = persist_start(&(PersistOptions) {
                .event = m->event,
                .nft = m->nft,
                .bans = m->bans,
                .config = m->config,
                .state_dir = m->options.state_dir,
                .nft_file = manager_persist_nft_file,
                .elem_deleted = manager_on_elem_deleted,
                .userdata = m,
        }, table_was_there, &m->persist);
        if (r < 0)
                return r;

        manager_reporter_start(m, m->config);
        manager_actions_start(m, m->config);
        manager_webhooks_start(m, m->config);
        manager_fleet_start(m);
        /* the failures stored before a stop or a crash, before the sources resume after them */
        jails_replay(m);
        r = jails_start(m, m->jails, m->n_jails);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_jails; i++)
                (void) actions_submit_cmd(m->actions, m->jails[i].conf, ACTION_CMD_START, NULL, 0);
        m->started = now_usec(CLOCK_MONOTONIC);
        r = metrics_new(m->event, m, &m->metrics);
        if (r < 0)
                return log_error_errno(r, "failed to add the metrics timer: %m");
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
        /* what the start read and freed goes back to the kernel: the idle daemon holds its own */
        persist_release_memory(m->persist);
        (void) malloc_trim(0);
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m, true);
        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        /* bans already handed over stay in the kernel; flush those still queued */
        if (m->n_pending > 0)
                pending_flush_all(m);
        manager_totals_save(m);
        persist_clean_stop(m->persist);
        /* fail2ban's order at a stop: actionflush, then actionstop; run by actions_free() */
        for (size_t i = 0; i < m->n_jails; i++) {
                (void) actions_submit_cmd(m->actions, m->jails[i].conf, ACTION_CMD_FLUSH, NULL, 0);
                (void) actions_submit_cmd(m->actions, m->jails[i].conf, ACTION_CMD_STOP, NULL, 0);
        }
        log_event(LOG_INFO, 0, NFTJAIL_MID_STOP, NULL, "nftjaild stopping; bans stay in the kernel until they expire");
        return r;
}
