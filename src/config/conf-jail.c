/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"
#include "increment.h"
#include "journal-match.h"

bool jail_reads_files(const JailConf *jc) {
        return jc->backend == BACKEND_POLLING || jc->backend == BACKEND_PYINOTIFY ||
               (jc->backend == BACKEND_AUTO && jc->logpath && jc->logpath[0]);
}

void jail_conf_done(JailConf *j) {
        free(j->name);
        free(j->file);
        filter_conf_done(&j->filter);
        free(j->journalmatch);
        strv_free(j->logpath);
        free(j->logtimezone);
        free(j->logtimezone_file);
        free(j->logpath_file);
        free(j->ports);
        free(j->ignoreip);
        free(j->abuseipdb_categories);
        free(j->abuseipdb_apikey);
        free(j->abuseipdb_apikey_file);
        for (size_t i = 0; i < j->n_action_files; i++)
                action_file_done(&j->action_files[i]);
        free(j->action_files);
        free(j->mail.dest);
        free(j->mail.sender);
        free(j->mail.sendername);
        for (size_t i = 0; i < j->n_webhooks; i++)
                webhook_conf_done(&j->webhooks[i]);
        free(j->webhooks);
        free(j->increment.formula);
        free(j->increment.multipliers);
        *j = (JailConf) {};
}

/* Options of fail2ban jails we do not use: accepted silently (helper values for actions) or with
 * a warning that says the feature is missing. */
static const struct {
        const char *name;
        bool warn;
} jail_ignored[] = {
        { "banaction", false }, { "banaction_allports", false }, { "chain", false }, { "mta", false },
        { "destemail", false }, { "sender", false }, { "sendername", false }, { "mailrate", false }, { "mailrate_period", false }, { "mode", false },
        { "abuseipdb_apikey", false }, { "abuseipdb_category", false }, { "logencoding", false },
        { "usedns", false }, { "maxmatches", false }, { "ignorecache", true }, { "ignorecommand", true },
        { "logtimezone", false }, { "action_", false },
        { "action_mw", false }, { "action_mwl", false }, { "action_xarf", false },
        { "action_cf_mwl", false }, { "action_blocklist_de", false }, { "action_abuseipdb", false },
};

static int jail_time(Scope *sc, ConfDiags *d, const char *key, int64_t def, bool allow_neg, int64_t *ret) {
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int64_t v;
        int r;

        *ret = def;
        r = scope_get_str(sc, d, key, &s, &w);
        if (r <= 0)
                return r;
        r = conf_parse_span(s, &v);
        if (r == -ERANGE) {
                r = ini_diag(d, w.file, w.line, true, CONF_SPAN_TOO_LONG, key, q(s, qb, sizeof qb), NFTJAIL_BANTIME_MAX_SEC,
                             NFT_TIMEOUT_MSEC_LIMIT);
                return r < 0 ? r : -EINVAL;
        }
        if (r < 0 || v == 0 || (!allow_neg && v < 0)) {
                r = ini_diag(d, w.file, w.line, true, "'%s': '%s' is not a %stime span (e.g. 600, 10m, 1h30m, 1d%s)", key,
                             q(s, qb, sizeof qb), allow_neg ? "" : "positive ", allow_neg ? ", -1 = permanent" : "");
                return r < 0 ? r : -EINVAL;
        }
        *ret = v;
        return 0;
}

/* A boolean option: *ret keeps its value when the option is unset; a bad value is an error with
 * its file and line. Returns 0, or a negative errno (-ENOMEM) only when loading must stop. */
static int scope_get_bool(Scope *sc, ConfDiags *d, const char *key, bool *ret) {
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int r, b;

        r = scope_get_str(sc, d, key, &s, &w);
        if (r <= 0)
                return r;
        b = parse_bool(s);
        if (b < 0)
                return MIN(ini_diag(d, w.file, w.line, true, "'%s': '%s' is not a boolean", key, q(s, qb, sizeof qb)), 0);
        *ret = b;
        return 0;
}

/* records an error and goes on with the next option */
#define INC_DIAG(w, ...)                                                          \
        do {                                                                      \
                int _r = ini_diag(d, (w).file, (w).line, true, __VA_ARGS__);      \
                if (_r < 0)                                                       \
                        return _r;                                                \
        } while (0)

/* fail2ban's bantime.* options (increment.c computes the ban time). */
static int jail_increment(JailConf *j, Scope *sc, ConfDiags *d) {
        BanIncrement *inc = &j->increment;
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int r;

        inc->factor = 1;
        r = scope_get_bool(sc, d, "bantime.increment", &inc->enabled);
        if (r < 0)
                return r;
        r = scope_get_bool(sc, d, "bantime.overalljails", &inc->overalljails);
        if (r < 0)
                return r;
        r = scope_get_str(sc, d, "bantime.factor", &s, &w);
        if (r < 0)
                return r;
        if (r > 0 && *s) {
                char *end;
                double f = strtod(s, &end);

                if (end == s || *end || !(f > 0) || f > 1e6)
                        INC_DIAG(w, "'bantime.factor': '%s' is not a number in (0, 1000000]", q(s, qb, sizeof qb));
                else
                        inc->factor = f;
        }
        s = mfree(s);
        r = scope_get_str(sc, d, "bantime.formula", &s, &w);
        if (r < 0)
                return r;
        if (r > 0 && *s) {
                const char *msg = NULL;
                size_t off = 0;

                if (increment_formula_check(s, &off, &msg) < 0)
                        INC_DIAG(w,
                                 "'bantime.formula': %s at offset %zu of '%s' (a Python-like expression of ban.Time, "
                                 "ban.Count and banFactor; nftjail never runs Python)",
                                 msg ?: "invalid", off, q(s, qb, sizeof qb));
                else
                        inc->formula = TAKE_PTR(s);
        }
        s = mfree(s);
        r = scope_get_str(sc, d, "bantime.multipliers", &s, &w);
        if (r < 0)
                return r;
        if (r > 0 && *s) {
                char *save = NULL;

                for (char *t = strtok_r(s, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
                        unsigned long v;
                        int64_t *nv;

                        if (parse_uint(t, 1000000, &v) < 0 || v < 1) {
                                INC_DIAG(w, "'bantime.multipliers': '%s' is not a number in 1..1000000", q(t, qb, sizeof qb));
                                break;
                        }
                        if (inc->n_multipliers >= 64) {
                                INC_DIAG(w, "'bantime.multipliers': more than %d values", 64);
                                break;
                        }
                        nv = reallocarray(inc->multipliers, inc->n_multipliers + 1, sizeof *nv);
                        if (!nv)
                                return -ENOMEM;
                        inc->multipliers = nv;
                        inc->multipliers[inc->n_multipliers++] = (int64_t) v;
                }
        }
        r = jail_time(sc, d, "bantime.maxtime", 0, false, &inc->maxtime_sec);
        if (r == -ENOMEM)
                return r;
        r = jail_time(sc, d, "bantime.rndtime", 0, false, &inc->rndtime_sec);
        return r == -ENOMEM ? r : 0;
}
#undef INC_DIAG

static int jail_ipv6_prefix(JailConf *j, Scope *sc, ConfDiags *d) {
        _cleanup_free_ char *s = NULL;
        unsigned long v;
        char qb[128];
        Found w;
        int r;

        j->ipv6_prefix = 64;
        r = scope_get_str(sc, d, "ipv6_prefix", &s, &w);
        if (r <= 0)
                return r;
        if (parse_uint(s[0] == '/' ? s + 1 : s, 128, &v) < 0 || v < 16)
                return ini_diag(d, w.file, w.line, true, "'ipv6_prefix': '%s' is not a prefix length in 16..128", q(s, qb, sizeof qb));
        j->ipv6_prefix = (uint8_t) v;
        return 0;
}

static bool looks_like_hostname(const char *s) {
        if (strchr(s, ':'))
                return false;
        for (; *s && *s != '/'; s++)
                if (isalpha((unsigned char) *s) || *s == '-' || *s == '_')
                        return true;
        return false;
}

static int jail_ignoreip(JailConf *j, Scope *sc, ConfDiags *d) {
        VLines l = {};
        char qb[128];
        int r;

        r = scope_get(sc, d, "ignoreip", &l, NULL);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                const char *p = l.v[i].text;

                while (*p) {
                        _cleanup_free_ char *tok = NULL;
                        const char *b;
                        AddrPrefix ap;
                        AddrPrefix *v;

                        while (*p && (*p == ',' || isspace((unsigned char) *p)))
                                p++;
                        if (!*p)
                                break;
                        b = p;
                        while (*p && *p != ',' && !isspace((unsigned char) *p))
                                p++;
                        tok = strndup(b, (size_t) (p - b));
                        if (!tok) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        if (addr_prefix_from_string(tok, &ap) < 0) {
                                if (looks_like_hostname(tok))
                                        r = ini_diag(d, l.v[i].file, l.v[i].line, true,
                                                     "'ignoreip': '%s': hostnames are not supported (no DNS)", q(tok, qb, sizeof qb));
                                else
                                        r = ini_diag(d, l.v[i].file, l.v[i].line, true,
                                                     "'ignoreip': '%s' is not an address or address/prefix", q(tok, qb, sizeof qb));
                                if (r < 0)
                                        goto finish;
                                continue;
                        }
                        v = reallocarray(j->ignoreip, j->n_ignoreip + 1, sizeof(AddrPrefix));
                        if (!v) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        j->ignoreip = v;
                        j->ignoreip[j->n_ignoreip++] = ap;
                }
        }
        r = 0;
finish:
        vlines_done(&l);
        return r;
}

/* The files a syslog daemon (rsyslog, syslog-ng) writes from /dev/log on the usual layouts
 * (Debian's auth.log, syslog, daemon.log, mail.log, user.log; RHEL's secure, messages, maillog):
 * any local user can send it a line with any facility and tag. */
static const char *const syslog_files[] = {
        "/var/log/auth.log", "/var/log/secure",   "/var/log/syslog",  "/var/log/messages",
        "/var/log/daemon.log", "/var/log/mail.log", "/var/log/maillog", "/var/log/user.log",
};

/* A logpath (a path or a glob) that reads one of syslog_files while the jail has a journal match
 * for the same service, its own or its filter's: a warning, as the files may be what the host
 * has (no journal, or a journal the admin does not keep). */
static int logpath_syslog_diag(const JailConf *j, ConfDiags *d, const VLine *v, const char *logpath) {
        char qb[256];

        if (j->backend == BACKEND_SYSTEMD || !j->journalmatch)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(syslog_files); i++)
                if (fnmatch(logpath, syslog_files[i], FNM_PATHNAME | FNM_PERIOD) == 0)
                        return ini_diag(d, v->file, v->line, false,
                                        "jail '%s': logpath '%s' reads the syslog file %s, where any local user can "
                                        "write lines (logger -p auth.info -t 'sshd[1]' ...) that ban any address; the "
                                        "journal records who sent each line: use backend = systemd (the jail's "
                                        "journalmatch), and keep management networks in ignoreip",
                                        j->name, q(logpath, qb, sizeof qb), syslog_files[i]);
        return 0;
}

static int jail_logpath(JailConf *j, Scope *sc, ConfDiags *d) {
        VLines l = {};
        int r;

        j->logpath = calloc(1, sizeof(char *));
        if (!j->logpath)
                return -ENOMEM;
        r = scope_get(sc, d, "logpath", &l, NULL);
        if (r <= 0)
                return r;
        if (l.n > 0 && l.v[0].file) {
                j->logpath_file = strdup(l.v[0].file);
                if (!j->logpath_file) {
                        vlines_done(&l);
                        return -ENOMEM;
                }
                j->logpath_line = l.v[0].line;
        }
        for (size_t i = 0; i < l.n && r >= 0; i++) {
                /* whitespace separated; fail2ban's trailing " head"/" tail" markers are dropped */
                char *save = NULL;

                for (char *t = strtok_r(l.v[i].text, " \t\r", &save); t && r >= 0; t = strtok_r(NULL, " \t\r", &save)) {
                        if (STR_IN_SET(t, "head", "tail"))
                                continue;
                        r = strv_extend(&j->logpath, t);
                        if (r >= 0)
                                r = logpath_syslog_diag(j, d, &l.v[i], t);
                }
        }
        vlines_done(&l);
        return r < 0 ? r : 0;
}

/* logencoding: UTF-8 lines pass as they are; latin-1 is converted. logtimezone is kept. */
static int jail_logencoding(JailConf *j, Scope *sc, ConfDiags *d) {
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int r;

        r = scope_get_str_at(sc, d, "logtimezone", &j->logtimezone, &j->logtimezone_file, &j->logtimezone_line);
        if (r < 0)
                return r;
        r = scope_get_str(sc, d, "logencoding", &s, &w);
        if (r <= 0)
                return r;
        strstrip(s);
        if (STR_IN_SET_CASE(s, "latin-1", "latin1", "iso-8859-1", "iso8859-1"))
                j->latin1 = true;
        else if (!STR_IN_SET_CASE(s, "", "auto", "utf-8", "utf8", "ascii", "us-ascii"))
                return ini_diag(d, w.file, w.line, true, "'logencoding': '%s' is not supported (auto, utf-8, latin-1)",
                                q(s, qb, sizeof qb));
        return 0;
}

typedef struct JmForge {
        ConfDiags *d;
        const JailConf *jail;
        const char *file;
        unsigned line;
} JmForge;

/* An alternative of a journal jail's journalmatch that any local user can satisfy: fail2ban's
 * own "_SYSTEMD_UNIT=sshd.service + _COMM=sshd" lets a user who runs a copy of logger named sshd
 * ban any address. An error, as a copied-over file that cannot work safely fails with a message
 * naming its line; journalmatch_forgeable = true keeps it, as a warning that test-config shows. */
static int jm_forgeable_diag(const char *alt, const char *why, void *u) {
        JmForge *f = u;
        char qb[256], qb2[256];

        if (f->jail->journalmatch_forgeable)
                return ini_diag(f->d, f->file, f->line, false, "jail '%s': 'journalmatch': '%s' is forgeable by any local "
                                "user, accepted as journalmatch_forgeable = true: it has no _UID= term, and %s",
                                f->jail->name, q(alt, qb, sizeof qb), why);
        return ini_diag(f->d, f->file, f->line, true, "jail '%s': 'journalmatch': '%s' is forgeable by any local user: it "
                        "has no _UID= term, and %s; pair it with the uid of the service's sender ('%s _UID=0' for a "
                        "root daemon), or set journalmatch_forgeable = true in the jail to accept it",
                        f->jail->name, q(alt, qb, sizeof qb), why, q(alt, qb2, sizeof qb2));
}

static int jail_load(Config *c, Ini *ini, IniSection *s, size_t *total, ConfDiags *d, bool *ret_enabled) {
        _cleanup_free_ char *enabled = NULL, *filter = NULL, *backend = NULL, *port = NULL,
                            *protocol = NULL, *maxretry = NULL, *jm_file = NULL;
        IniSection *def = ini_find_section(ini, "DEFAULT");
        Scope sc = { .name = s->name, .opts_file = s->file, .opts_line = s->line, .total = total };
        JailConf j = { .protocol = IPPROTO_TCP, .maxretry = 5, .findtime_sec = 600, .bantime_sec = 600, .ignoreself = true };
        size_t errors = d->n_errors;
        bool port_set = false;
        unsigned jm_line = 0;
        char qb[128], err[ERRBUF];
        Found w;
        int r, b;

        sc.levels[sc.n_levels++] = s;
        if (def)
                sc.levels[sc.n_levels++] = def;
        *ret_enabled = false;

        r = scope_get_str(&sc, d, "enabled", &enabled, &w);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        if (r == 0)
                return 0;
        b = parse_bool(enabled);
        if (b < 0) {
                r = ini_diag(d, w.file, w.line, true, "'enabled': '%s' is not a boolean (true/false, yes/no, 1/0, on/off)",
                             q(enabled, qb, sizeof qb));
                return r;
        }
        if (!b)
                return 0;
        *ret_enabled = true;

        j.name = strdup(s->name);
        j.file = strdup(s->file);
        if (!j.name || !j.file) {
                r = -ENOMEM;
                goto fail;
        }
        j.line = s->line;
        if (strlen(j.name) > JAIL_NAME_MAX) {
                r = ini_diag(d, j.file, j.line, true, "jail '%s': the name is longer than %u bytes (it is the comment of "
                             "the jail's nft elements)", q(j.name, qb, sizeof qb), JAIL_NAME_MAX);
                if (r < 0)
                        goto fail;
        }

        /* filter: default is the jail's own name */
        r = scope_get_str(&sc, d, "filter", &filter, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r == 0) {
                filter = strdup(s->name);
                w = (Found) { .file = s->file, .line = s->line };
                if (!filter) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (r >= 0) {
                if (!*filter)
                        r = ini_diag(d, w.file, w.line, true, "'filter': empty, a jail needs a filter");
                else
                        r = filter_conf_load_jail(c->dir, filter, w.file, w.line, total, &j.filter, d);
                if (r == -ENOMEM)
                        goto fail;
        }

        r = scope_get_str(&sc, d, "backend", &backend, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0) {
                char *br = strchr(backend, '[');

                if (br) {
                        *br = 0;
                        strstrip(backend);
                        r = ini_diag(d, w.file, w.line, false, "'backend': options of backend '%s' are not supported, ignoring them",
                                     q(backend, qb, sizeof qb));
                        if (r < 0)
                                goto fail;
                }
                j.backend = backend_from_string(backend);
                if (j.backend < 0) {
                        r = ini_diag(d, w.file, w.line, true, "'backend': '%s' is not supported (auto, systemd, polling, pyinotify)",
                                     q(backend, qb, sizeof qb));
                        if (r < 0)
                                goto fail;
                        j.backend = BACKEND_AUTO;
                }
        }

        /* the jail's own journalmatch, else its filter's; checked below, once backend and logpath
         * say whether the jail reads the journal */
        r = scope_get_str_at(&sc, d, "journalmatch", &j.journalmatch, &jm_file, &jm_line);
        if (r == -ENOMEM)
                goto fail;
        if (!j.journalmatch && j.filter.journalmatch) {
                j.journalmatch = strdup(j.filter.journalmatch);
                jm_file = j.filter.journalmatch_file ? strdup(j.filter.journalmatch_file) : NULL;
                jm_line = j.filter.journalmatch_line;
                if (!j.journalmatch || (j.filter.journalmatch_file && !jm_file)) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        /* as in fail2ban, a jail may add regexes of its own to its filter's */
        if (j.filter.file) {
                r = filter_regex_list(&sc, d, "failregex", &j.filter.failregex, &j.filter.n_failregex);
                if (r == -ENOMEM)
                        goto fail;
                r = filter_regex_list(&sc, d, "ignoreregex", &j.filter.ignoreregex, &j.filter.n_ignoreregex);
                if (r == -ENOMEM)
                        goto fail;
        }

        /* the jail may override filter settings, as in fail2ban */
        r = scope_get_str_at(&sc, d, "datepattern", &j.filter.datepattern, &j.filter.datepattern_file,
                             &j.filter.datepattern_line);
        if (r == -ENOMEM)
                goto fail;
        r = scope_get_maxlines(&sc, d, &j.filter.maxlines);
        if (r < 0)
                goto fail;

        r = jail_logpath(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = jail_logencoding(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        if ((j.backend == BACKEND_POLLING || j.backend == BACKEND_PYINOTIFY) && j.logpath && !j.logpath[0]) {
                r = ini_diag(d, j.file, j.line, true, "jail '%s': backend %s needs a logpath", j.name, backend_to_string(j.backend));
                if (r < 0)
                        goto fail;
        }
        /* a jail that reads files never uses its journalmatch (a filter may have one for others) */
        r = scope_get_bool(&sc, d, "journalmatch_forgeable", &j.journalmatch_forgeable);
        if (r < 0)
                goto fail;
        if (!jail_reads_files(&j) && journal_match_validate(j.journalmatch, err, sizeof err) < 0) {
                r = ini_diag(d, jm_file, jm_line, true, "jail '%s': 'journalmatch': %s", j.name, err);
                if (r < 0)
                        goto fail;
        } else if (!jail_reads_files(&j) && j.journalmatch) {
                JmForge f = { .d = d, .jail = &j, .file = jm_file, .line = jm_line };

                r = journal_match_forgeable(j.journalmatch, jm_forgeable_diag, &f);
                if (r < 0)
                        goto fail;
        } else if (!jail_reads_files(&j) && !j.journalmatch) {
                r = ini_diag(d, j.file, j.line, false, "jail '%s' has no journalmatch: it reads every journal entry, and "
                             "any local user can write lines that it matches", j.name);
                if (r < 0)
                        goto fail;
        }

        r = scope_get_str(&sc, d, "protocol", &protocol, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0 && conf_parse_protocol(protocol, &j.protocol) < 0) {
                if (strcasecmp(protocol, "all") == 0) {
                        j.allports = true; /* an all-ports ban covers every protocol */
                } else {
                        r = ini_diag(d, w.file, w.line, true, "'protocol': '%s' is not supported (tcp, udp, sctp)",
                                     q(protocol, qb, sizeof qb));
                        if (r < 0)
                                goto fail;
                }
        }

        r = scope_get_str(&sc, d, "port", &port, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0) {
                VLines pl = {};

                /* again line by line, so that an error names the continuation line */
                r = scope_get(&sc, d, "port", &pl, NULL);
                for (size_t i = 0; r >= 0 && i < pl.n; i++)
                        r = jail_parse_ports(&j, pl.v[i].text, "port", pl.v[i].file, pl.v[i].line, d);
                vlines_done(&pl);
                if (r == -ENOMEM)
                        goto fail;
        }

        r = scope_get_str(&sc, d, "maxretry", &maxretry, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0) {
                unsigned long v;

                if (parse_uint(maxretry, JAIL_MAXRETRY_MAX, &v) < 0 || v < 1) {
                        r = ini_diag(d, w.file, w.line, true, "'maxretry': '%s' is not a number in 1..%u",
                                     q(maxretry, qb, sizeof qb), JAIL_MAXRETRY_MAX);
                        if (r < 0)
                                goto fail;
                } else
                        j.maxretry = (unsigned) v;
        }

        r = jail_time(&sc, d, "findtime", 600, false, &j.findtime_sec);
        if (r == -ENOMEM)
                goto fail;
        r = jail_time(&sc, d, "bantime", 600, true, &j.bantime_sec);
        if (r == -ENOMEM)
                goto fail;

        r = jail_increment(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = jail_ipv6_prefix(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = jail_ignoreip(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = scope_get_bool(&sc, d, "ignoreself", &j.ignoreself);
        if (r == -ENOMEM)
                goto fail;
        r = scope_get_bool(&sc, d, "dryrun", &j.dryrun);
        if (r == -ENOMEM)
                goto fail;

        r = jail_actions(&j, c, &sc, d, port, protocol, &port_set);
        if (r == -ENOMEM)
                goto fail;
        if (j.n_ports == 0)
                j.allports = true;
        if (j.allports) {
                j.ports = mfree(j.ports);
                j.n_ports = 0;
        }

        /* options of this very section that nothing read */
        for (size_t i = 0; i < s->n_entries; i++) {
                IniEntry *e = s->entries[i];
                bool ignored = false, warn = false;

                if (e->used)
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(jail_ignored); k++)
                        if (strcmp(jail_ignored[k].name, e->key) == 0) {
                                ignored = true;
                                warn = jail_ignored[k].warn;
                        }
                if (ignored && !warn)
                        continue;
                r = ini_diag(d, e->file, e->line, false, ignored ? "option '%s' is not supported, ignoring" : "unknown option '%s', ignoring",
                             e->key);
                if (r < 0)
                        goto fail;
        }

        if (d->n_errors > errors) {
                jail_conf_done(&j);
                return 0;
        }
        {
                JailConf *v = reallocarray(c->jails, c->n_jails + 1, sizeof(JailConf));

                if (!v) {
                        r = -ENOMEM;
                        goto fail;
                }
                c->jails = v;
                c->jails[c->n_jails++] = j;
        }
        return 0;
fail:
        jail_conf_done(&j);
        return r;
}

static bool section_is_special(const char *n) {
        return STR_IN_SET(n, "DEFAULT", "INCLUDES", "Definition", "Init");
}

/* [DEFAULT] holds helper values and is not checked for unknown options, but fail2ban features
 * that nftjail lacks are worth a warning there too. */
static int warn_unsupported_defaults(const Ini *ini, ConfDiags *d) {
        IniSection *def = ini_find_section(ini, "DEFAULT");

        for (size_t i = 0; def && i < def->n_entries; i++)
                for (size_t k = 0; k < ELEMENTSOF(jail_ignored); k++)
                        if (jail_ignored[k].warn && strcmp(jail_ignored[k].name, def->entries[i]->key) == 0) {
                                int r = ini_diag(d, def->entries[i]->file, def->entries[i]->line, false,
                                                 "option '%s' is not supported, ignoring", def->entries[i]->key);
                                if (r < 0)
                                        return r;
                        }
        return 0;
}

int config_load_jails(Config *c, ConfDiags *d) {
        _cleanup_(ini_freep) Ini *ini = ini_new();
        _cleanup_free_ char *conf = conf_path_join(c->dir, "jail.conf"), *local = conf_path_join(c->dir, "jail.local"),
                            *jd = conf_path_join(c->dir, "jail.d");
        size_t total = TOTAL_BUDGET;
        unsigned n_enabled = 0;
        IncStack st = {};
        bool found = false;
        int r;

        if (!ini || !conf || !local || !jd)
                return -ENOMEM;
        r = conf_load_tree(conf, ini, &st, d, NULL, 0);
        if (r == -ENOMEM)
                return r;
        found = r >= 0;
        r = conf_load_dir(jd, conf_dirent_conf, ini, d, &found);
        if (r < 0)
                return r;
        r = conf_load_tree(local, ini, &st, d, NULL, 0);
        if (r == -ENOMEM)
                return r;
        found = found || r >= 0;
        r = conf_load_dir(jd, conf_dirent_local, ini, d, &found);
        if (r < 0)
                return r;
        if (!found)
                return ini_diag(d, c->dir, 0, true, "no jail.conf, jail.local or jail.d/*.conf found");

        r = warn_unsupported_defaults(ini, d);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ini->n_sections; i++) {
                bool enabled;

                if (section_is_special(ini->sections[i]->name))
                        continue;
                r = jail_load(c, ini, ini->sections[i], &total, d, &enabled);
                if (r < 0)
                        return r;
                if (enabled && ++n_enabled > JAILS_MAX)
                        return ini_diag(d, ini->sections[i]->file, ini->sections[i]->line, true,
                                        "more than %u enabled jails, ignoring the rest", JAILS_MAX);
        }
        if (c->n_jails == 0 && d->n_errors == 0)
                return ini_diag(d, c->dir, 0, false, "no jail is enabled");
        return 0;
}
