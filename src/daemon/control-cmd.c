/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "addr.h"
#include "conf.h"
#include "control-cmd.h"
#include "ctl-proto.h"
#include "log-ids.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "util/string-util.h"

#define LIST_MAX 100000 /* entries in one "banned" reply; the rest is counted, not sent */

static int set_str(json_t *o, const char *key, const char *s) {
        json_t *v = ctl_json_string(s);
        return v ? json_object_set_new(o, key, v) : -1;
}

static const JailConf *config_jail(const Config *c, const char *name) {
        for (size_t i = 0; c && i < c->n_jails; i++)
                if (strcmp(c->jails[i].name, name) == 0)
                        return &c->jails[i];
        return NULL;
}

static char *ban_addr_string(const ManagerBan *b, char *buf, size_t len) {
        char as[ADDR_STRLEN];

        addr_to_string(&b->addr, as, sizeof as);
        if (b->addr.family == AF_INET6 && b->prefixlen < 128)
                snprintf(buf, len, "%s/%u", as, b->prefixlen);
        else
                snprintf(buf, len, "%s", as);
        return buf;
}

static const char *proto_string(uint8_t p) {
        switch (p) {
        case IPPROTO_TCP:
                return "tcp";
        case IPPROTO_UDP:
                return "udp";
        case IPPROTO_SCTP:
                return "sctp";
        default:
                return "other";
        }
}

static json_t *jail_source_json(const ManagerJailStatus *js) {
        const JailConf *jc = js->conf;
        json_t *a = json_array(), *s;

        if (!a)
                return NULL;
        if (js->files) {
                json_t *paths = json_array();
                s = json_pack("{s:s, s:I}", "type", "file", "lines", (json_int_t) js->file_lines);
                for (size_t i = 0; paths && jc->logpath && jc->logpath[i]; i++)
                        if (json_array_append_new(paths, json_string(jc->logpath[i])) < 0)
                                paths = (json_decref(paths), NULL);
                if (!s || !paths || json_object_set_new(s, "paths", paths) < 0 || json_array_append_new(a, s) < 0) {
                        json_decref(s);
                        json_decref(a);
                        return NULL;
                }
        }
        if (js->journal) {
                s = json_pack("{s:s, s:I}", "type", "journal", "entries", (json_int_t) js->journal_entries);
                if (!s || set_str(s, "match", jc->journalmatch ? jc->journalmatch : "") < 0 ||
                    json_array_append_new(a, s) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *jail_summary_json(const ManagerJailStatus *js) {
        json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "lines", (json_int_t) js->lines,
                              "failures_current", (json_int_t) js->failures_current, "failures_total",
                              (json_int_t) js->failures_total, "ignored", (json_int_t) js->ignored, "lines_cut",
                              (json_int_t) js->lines_cut, "lines_limit", (json_int_t) js->lines_limit,
                              "bans_total", (json_int_t) js->bans_total);

        if (!o || set_str(o, "name", js->conf->name) < 0 ||
            (js->dryrun && (json_object_set_new(o, "dryrun", json_true()) < 0 ||
                            json_object_set_new(o, "would_ban_total", json_integer((json_int_t) js->would_ban_total)) < 0)) ||
            json_object_set_new(o, "sources", jail_source_json(js)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *cmd_ping(void) {
        json_t *r = ctl_reply_new();

        if (r && json_object_set_new(r, "pong", json_true()) < 0)
                r = (json_decref(r), NULL);
        return r;
}

/* The fleet's part of status, or NULL (not running, or out of memory). */
static json_t *fleet_json(const Manager *m) {
        _cleanup_free_ ManagerFleetStatus *st = malloc(sizeof *st);
        json_t *o, *origins;

        if (!st || !manager_fleet_status(m, st))
                return NULL;
        o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:[]}", "name", st->name, "connected", st->connected, "outbox",
                      (json_int_t) st->outbox, "published", (json_int_t) st->published, "received", (json_int_t) st->received,
                      "refused", (json_int_t) st->refused, "stream_seq", (json_int_t) st->stream_seq, "lag", (json_int_t) st->lag, "origins");
        origins = json_object_get(o, "origins");
        for (size_t i = 0; o && i < st->n_origins; i++)
                if (json_array_append_new(origins, json_pack("{s:s, s:I, s:I}", "name", st->origins[i].name, "in",
                                                             (json_int_t) st->origins[i].in, "refused",
                                                             (json_int_t) st->origins[i].refused)) < 0)
                        return (json_decref(o), NULL);
        return o;
}

static json_t *cmd_status_all(Manager *m) {
        const Config *cf = manager_config(m);
        json_t *r = ctl_reply_new(), *jails = json_array();
        ManagerStatus st;

        if (!r || !jails)
                goto oom;
        for (size_t i = 0; i < cf->n_jails; i++) {
                ManagerJailStatus js;
                json_t *o;

                if (manager_jail_status(m, cf->jails[i].name, &js) < 0)
                        continue;
                o = jail_summary_json(&js);
                if (!o || json_array_append_new(jails, o) < 0)
                        goto oom;
        }
        manager_status(m, &st);
        if (set_str(r, "daemon_version", NFTJAIL_VERSION) < 0 ||
            json_object_set_new(r, "pid", json_integer(getpid())) < 0 ||
            json_object_set_new(r, "uptime_sec", json_integer((json_int_t) (st.uptime / USEC_PER_SEC))) < 0 ||
            json_object_set_new(r, "bans_total", json_integer((json_int_t) st.bans_total)) < 0 ||
            json_object_set_new(r, "elements_live", json_integer((json_int_t) st.elements_live)) < 0 ||
            json_object_set_new(r, "jails", TAKE_PTR(jails)) < 0)
                goto oom;
        json_t *fl = fleet_json(m);
        if (fl && json_object_set_new(r, "fleet", fl) < 0)
                goto oom;
        return r;
oom:
        json_decref(r);
        json_decref(jails);
        return NULL;
}

/* One entry per address (an address has one element per port), with the longest time left;
 * manager_list_bans() hands the elements out sorted by address, so a group ends where the
 * address (or the prefix length) changes. */
typedef struct JailBans {
        json_t *banned;
        size_t n_addrs;
        bool open, permanent;   /* open: a group is under way */
        Addr addr;
        uint8_t prefixlen;
        uint64_t expires_ms;
        char as[ADDR_PREFIX_STRLEN];
        bool oom;
} JailBans;

static int jail_bans_close(JailBans *g) {
        json_t *b;

        if (!g->open)
                return 0;
        g->open = false;
        g->n_addrs++;
        if (json_array_size(g->banned) >= LIST_MAX)
                return 0;
        b = json_pack("{s:s, s:I, s:b}", "addr", g->as, "expires_ms", (json_int_t) (g->permanent ? 0 : g->expires_ms),
                      "permanent", g->permanent);
        if (!b || json_array_append_new(g->banned, b) < 0) {
                g->oom = true;
                return -ENOMEM;
        }
        return 0;
}

static int jail_bans_add(const ManagerBan *b, void *userdata) {
        JailBans *g = userdata;

        if (!g->open || !addr_equal(&g->addr, &b->addr) || g->prefixlen != b->prefixlen) {
                if (jail_bans_close(g) < 0)
                        return -ENOMEM;
                *g = (JailBans) { .banned = g->banned, .n_addrs = g->n_addrs, .open = true, .addr = b->addr,
                                  .prefixlen = b->prefixlen };
                ban_addr_string(b, g->as, sizeof g->as);
        }
        g->permanent = g->permanent || b->timeout_ms == 0;
        g->expires_ms = MAX(g->expires_ms, b->expires_ms);
        return 0;
}

static json_t *cmd_status_jail(Manager *m, const char *name, bool kernel) {
        json_t *r = NULL, *o = NULL, *ports = NULL;
        JailBans g = {};
        ManagerJailStatus js;
        const JailConf *jc;
        int e;

        if (manager_jail_status(m, name, &js) < 0)
                return ctl_reply_error("no jail '%s'", name);
        jc = js.conf;
        g.banned = json_array();
        if (!g.banned)
                return NULL;
        e = manager_list_bans(m, name, NULL, true, kernel, jail_bans_add, &g);
        if (e >= 0)
                e = jail_bans_close(&g);
        if (e < 0 && !g.oom) {
                json_decref(g.banned);
                return ctl_reply_error("cannot list the bans in the kernel: %s", strerror(-e));
        }
        r = ctl_reply_new();
        o = jail_summary_json(&js);
        ports = json_array();
        if (g.oom || !r || !o || !ports)
                goto oom;
        for (size_t i = 0; !jc->allports && i < jc->n_ports; i++)
                if (json_array_append_new(ports, json_integer(jc->ports[i])) < 0)
                        goto oom;
        if (json_object_set_new(o, "ports", TAKE_PTR(ports)) < 0 ||
            json_object_set_new(o, "bans_current", json_integer((json_int_t) g.n_addrs)) < 0 ||
            set_str(o, "bans_from", kernel ? "kernel" : "daemon") < 0 ||
            json_object_set_new(o, "banned", TAKE_PTR(g.banned)) < 0 ||
            json_object_set_new(o, "maxretry", json_integer(jc->maxretry)) < 0 ||
            json_object_set_new(o, "findtime_sec", json_integer(jc->findtime_sec)) < 0 ||
            json_object_set_new(o, "bantime_sec", json_integer(jc->bantime_sec)) < 0 ||
            json_object_set_new(o, "allports", json_boolean(jc->allports)) < 0 ||
            set_str(o, "protocol", proto_string(jc->protocol)) < 0 ||
            json_object_set_new(r, "jail", TAKE_PTR(o)) < 0)
                goto oom;
        return r;
oom:
        json_decref(r);
        json_decref(o);
        json_decref(ports);
        json_decref(g.banned);
        return NULL;
}

typedef struct Banned {
        json_t *bans;
        size_t total;
} Banned;

static int banned_add(const ManagerBan *b, void *userdata) {
        Banned *d = userdata;
        char as[ADDR_PREFIX_STRLEN];
        json_t *o;

        if (d->total++ >= LIST_MAX)
                return 0;
        o = json_pack("{s:s, s:s, s:I, s:I, s:b}", "addr", ban_addr_string(b, as, sizeof as), "set", b->set,
                      "timeout_ms", (json_int_t) b->timeout_ms, "expires_ms", (json_int_t) b->expires_ms, "permanent",
                      b->timeout_ms == 0);
        if (!o || set_str(o, "jail", b->jail) < 0 ||
            json_object_set_new(o, "proto", b->port ? ctl_json_string(proto_string(b->proto)) : json_null()) < 0 ||
            json_object_set_new(o, "port", b->port ? json_integer(b->port) : json_null()) < 0 ||
            json_array_append_new(d->bans, o) < 0) {
                json_decref(o);
                return -ENOMEM;
        }
        return 0;
}

static json_t *cmd_banned(Manager *m, const char *addr, bool kernel) {
        Banned d = {};
        json_t *r = NULL;
        Addr a;
        int e;

        if (addr && addr_from_string(addr, &a) < 0)
                return ctl_reply_error("'%s' is not an IP address", addr);
        d.bans = json_array();
        if (!d.bans)
                return NULL;
        e = manager_list_bans(m, NULL, addr ? &a : NULL, false, kernel, banned_add, &d);
        if (e == -ENOMEM)
                goto oom;
        if (e < 0) {
                json_decref(d.bans);
                return ctl_reply_error("cannot list the bans in the kernel: %s", strerror(-e));
        }
        r = ctl_reply_new();
        if (!r || json_object_set_new(r, "total", json_integer((json_int_t) d.total)) < 0 ||
            json_object_set_new(r, "truncated", json_boolean(d.total > LIST_MAX)) < 0 ||
            set_str(r, "from", kernel ? "kernel" : "daemon") < 0 ||
            json_object_set_new(r, "bans", TAKE_PTR(d.bans)) < 0)
                goto oom;
        return r;
oom:
        json_decref(r);
        json_decref(d.bans);
        return NULL;
}

static void log_control(const struct ucred *peer, const char *what) {
        log_info("control: uid %u (pid %d): %s", (unsigned) peer->uid, (int) peer->pid, what);
}

static json_t *cmd_ban(Manager *m, const struct ucred *peer, const json_t *req) {
        const char *name = json_string_value(json_object_get(req, "jail")),
                   *addr = json_string_value(json_object_get(req, "addr"));
        json_t *bt = json_object_get(req, "bantime"), *r;
        ManagerJailStatus js;
        const char *why;
        int64_t bantime;
        char what[256];
        bool report;
        Addr a;
        int e;

        if (manager_jail_status(m, name, &js) < 0)
                return ctl_reply_error("no jail '%s'", name);
        if (addr_from_string(addr, &a) < 0)
                return ctl_reply_error("'%s' is not an IP address", addr);
        report = json_is_true(json_object_get(req, "report"));
        /* refused before anything is banned, so the caller knows nothing was reported */
        if (report && !manager_can_report(m, name))
                return ctl_reply_error("%s: reporting not available (the jail has no AbuseIPDB action, or no API key)",
                                       name);
        bantime = bt ? (int64_t) json_integer_value(bt) : js.conf->bantime_sec;
        why = manager_ban_refusal(m, name, &a);
        if (why)
                return ctl_reply_error("%s: %s is never banned (%s)", name, addr, why);
        snprintf(what, sizeof what, "ban %s %s for %llds", name, addr, (long long) bantime);
        log_control(peer, what);
        e = manager_ban(m, name, &a, bantime);
        if (e < 0)
                return ctl_reply_error("%s: failed to ban %s: %s", name, addr, strerror(-e));
        if (report && manager_report_ban(m, name, &a, "manual ban by the administrator") < 0)
                return ctl_reply_error("%s: banned %s, but queueing its report failed", name, addr);
        r = ctl_reply_new();
        if (r && (set_str(r, "jail", name) < 0 || set_str(r, "addr", addr) < 0 ||
                  json_object_set_new(r, "bantime_sec", json_integer(bantime)) < 0))
                r = (json_decref(r), NULL);
        return r;
}

static json_t *cmd_unban(Manager *m, const struct ucred *peer, const json_t *req) {
        const char *name = json_string_value(json_object_get(req, "jail")),
                   *addr = json_string_value(json_object_get(req, "addr"));
        bool configured = name && config_jail(manager_config(m), name), fleet = json_is_true(json_object_get(req, "fleet"));
        ManagerFleetUnban fu = {};
        char what[256];
        size_t n = 0;
        json_t *r;
        Addr a;
        int e;

        if (addr && addr_from_string(addr, &a) < 0)
                return ctl_reply_error("'%s' is not an IP address", addr);
        snprintf(what, sizeof what, "unban %s%s%s%s", fleet ? "--fleet " : "", addr ? addr : "--all", name ? " " : "",
                 name ? name : "");
        log_control(peer, what);
        e = fleet ? manager_unban_fleet(m, name, addr ? &a : NULL, &n, &fu) : manager_unban(m, name, addr ? &a : NULL, &n);
        if (e == -EOPNOTSUPP)
                return ctl_reply_error("--fleet: this node is not in a fleet ([fleet] is not enabled, or not running); "
                                       "nothing unbanned");
        if (e < 0)
                return ctl_reply_error("failed to unban: %s", strerror(-e));
        if (name && !configured && n == 0)
                return ctl_reply_error("no jail '%s' (and no element with that comment)", name);
        r = ctl_reply_new();
        if (r && json_object_set_new(r, "unbanned", json_integer((json_int_t) n)) < 0)
                r = (json_decref(r), NULL);
        if (r && fleet) {
                json_t *f = json_object(), *v = json_array();

                for (size_t i = 0; f && v && i < MIN(fu.n_remote, (size_t) MANAGER_FLEET_UNBAN_REMOTE_MAX); i++) {
                        json_t *o = json_object();

                        if (!o || set_str(o, "jail", fu.remote[i].jail) < 0 || set_str(o, "origin", fu.remote[i].origin) < 0 ||
                            json_array_append_new(v, o) < 0)
                                v = (json_decref(v), NULL);
                }
                if (!f || !v || json_object_set_new(f, "tombstones", json_integer((json_int_t) fu.tombstones)) < 0 ||
                    json_object_set_new(f, "remote_total", json_integer((json_int_t) fu.n_remote)) < 0 ||
                    json_object_set_new(f, "remote", v) < 0 || json_object_set_new(r, "fleet", f) < 0) {
                        json_decref(f);
                        r = (json_decref(r), NULL);
                }
        }
        return r;
}

typedef struct Capture {
        json_t *lines;
} Capture;

static void capture_error(int level, const char *message_id, const char *msg, void *userdata) {
        Capture *cap = userdata;

        /* configuration diagnostics come from ConfDiags, with their file and line */
        if (message_id && strcmp(message_id, NFTJAIL_MID_CONFIG_ERR) == 0)
                return;
        if (json_array_size(cap->lines) < 100)
                (void) json_array_append_new(cap->lines, ctl_json_string(msg));
}

static void strv_freep(char ***l) {
        strv_free(*l);
}

static json_t *cmd_reload(Manager *m, const struct ucred *peer, const json_t *req) {
        const char *name = json_string_value(json_object_get(req, "jail"));
        bool unban = json_is_true(json_object_get(req, "unban"));
        _cleanup_(conf_diags_done) ConfDiags diags = {};
        _cleanup_(json_decrefp) json_t *r = NULL, *lines = json_array(), *captured = json_array();
        _cleanup_(strv_freep) char **old = NULL;
        const Config *cf = manager_config(m);
        Capture cap = { .lines = captured };
        size_t unbanned = 0;
        int e;

        if (!lines || !captured)
                return NULL;
        for (size_t i = 0; i < cf->n_jails; i++)
                if (strv_extend(&old, cf->jails[i].name) < 0)
                        return NULL;
        if (name) {
                /* refuse before changing anything when JAIL is not in the new configuration
                 * (one that does not load is left to manager_reload(), which reports why) */
                Config *nc = NULL;

                if (config_load(manager_config_dir(m), &nc, NULL) >= 0) {
                        bool found = config_jail(nc, name);

                        config_free(nc);
                        if (!found)
                                return ctl_reply_error("the new configuration has no jail '%s'; nothing was reloaded",
                                                       name);
                }
        }
        log_control(peer, unban ? "reload --unban" : "reload");
        log_set_capture(capture_error, &cap);
        e = manager_reload(m, &diags);
        log_set_capture(NULL, NULL);
        cf = manager_config(m);

        for (size_t i = 0; i < diags.n; i++) {
                char buf[4096];
                if (json_array_append_new(lines, ctl_json_string(conf_diag_format(&diags.v[i], buf, sizeof buf))) < 0)
                        return NULL;
        }
        if (json_array_extend(lines, captured) < 0)
                return NULL;
        if (e < 0)
                r = ctl_reply_error("the configuration has errors; the running one is kept");
        else if (name && !config_jail(cf, name))
                r = ctl_reply_error("the configuration was reloaded, but it has no jail '%s' any more", name);
        else {
                /* the kernel's elements of the jails that are gone: by their comment */
                for (char **o = old; unban && o && *o; o++) {
                        size_t n = 0;

                        if (config_jail(cf, *o))
                                continue;
                        e = manager_unban(m, *o, NULL, &n);
                        if (e < 0)
                                log_warning_errno(e, "control: failed to remove the bans of removed jail %s, ignoring: %m",
                                                  *o);
                        unbanned += n;
                }
                r = ctl_reply_new();
                if (r && (json_object_set_new(r, "jails", json_integer((json_int_t) cf->n_jails)) < 0 ||
                          json_object_set_new(r, "unbanned", json_integer((json_int_t) unbanned)) < 0))
                        return NULL;
        }
        if (!r || json_object_set_new(r, "diagnostics", TAKE_PTR(lines)) < 0)
                return NULL;
        return TAKE_PTR(r);
}

/* The Prometheus text, as metrics_textfile gets it, in "text". */
static json_t *cmd_metrics(Manager *m) {
        _cleanup_free_ char *text = NULL;
        json_t *r;

        if (metrics_render(m, &text, NULL) < 0)
                return NULL;
        r = ctl_reply_new();
        if (r && set_str(r, "text", text) < 0) {
                json_decref(r);
                return NULL;
        }
        return r;
}

json_t *control_cmd_run(Manager *m, const struct ucred *peer, CtlCommand cmd, const json_t *req) {
        /* A command that changes bans needs the whole queue applied first. (A read-only one
         * moves the queue on by one chunk after its answer is sent: control.c.) */
        if (!ctl_command_read_only(cmd))
                manager_flush(m);
        switch (cmd) {
        case CTL_PING:
                return cmd_ping();
        case CTL_STATUS: {
                json_t *jail = json_object_get(req, "jail");
                return jail ? cmd_status_jail(m, json_string_value(jail), json_is_true(json_object_get(req, "kernel")))
                            : cmd_status_all(m);
        }
        case CTL_BANNED:
                return cmd_banned(m, json_string_value(json_object_get(req, "addr")),
                                  json_is_true(json_object_get(req, "kernel")));
        case CTL_BAN:
                return cmd_ban(m, peer, req);
        case CTL_UNBAN:
                return cmd_unban(m, peer, req);
        case CTL_RELOAD:
                return cmd_reload(m, peer, req);
        case CTL_METRICS:
                return cmd_metrics(m);
        default:
                return ctl_reply_error("unknown command");
        }
}
