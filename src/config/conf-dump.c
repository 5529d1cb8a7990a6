/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "conf-internal.h"

static void dump_regexes(FILE *f, const char *what, const FilterRegex *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(f, "    %s %s:%u: %s\n", what, v[i].file ?: "-", v[i].line, v[i].pattern);
}

void config_dump(const Config *c, FILE *f) {
        fprintf(f, "config: %s\n", c->dir);
        fprintf(f, "nft_file: %s\n", c->nft_file);
        fprintf(f, "loglevel: %d\n", c->loglevel);
        fprintf(f, "abuseipdb: %s, url %s, apikey_file %s, timeout %us, daily_quota %u\n",
                c->abuseipdb.enabled ? "enabled" : "disabled", c->abuseipdb.url, c->abuseipdb.apikey_file ?: "-",
                c->abuseipdb.timeout_sec, c->abuseipdb.daily_quota);
        fleet_conf_dump(&c->fleet, f);
        if (c->socket_group)
                fprintf(f, "socket_group: %s (gid %u)\n", c->socket_group, (unsigned) c->socket_gid);
        if (c->metrics_textfile)
                fprintf(f, "metrics_textfile: %s (written every 15 s)\n", c->metrics_textfile);
        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *j = &c->jails[i];
                char b1[32], b2[32];

                fprintf(f, "\n[%s] %s:%u\n", j->name, j->file, j->line);
                fprintf(f, "  filter: %s (%s)\n", j->filter.name, j->filter.file ?: "-");
                dump_regexes(f, "failregex", j->filter.failregex, j->filter.n_failregex);
                dump_regexes(f, "ignoreregex", j->filter.ignoreregex, j->filter.n_ignoreregex);
                if (j->filter.prefregex.pattern)
                        dump_regexes(f, "prefregex", &j->filter.prefregex, 1);
                if (j->filter.datepattern)
                        fprintf(f, "    datepattern: %s\n", j->filter.datepattern);
                fprintf(f, "    maxlines: %u\n", j->filter.maxlines);
                fprintf(f, "  backend: %s\n", backend_to_string(j->backend));
                fprintf(f, "  journalmatch: %s\n", j->journalmatch ?: "(none)");
                fprintf(f, "  logpath:");
                for (char **p = j->logpath; p && *p; p++)
                        fprintf(f, " %s", *p);
                fprintf(f, "%s\n", j->logpath && j->logpath[0] ? "" : " (none)");
                if (j->allports)
                        fprintf(f, "  ports: all\n");
                else {
                        fprintf(f, "  ports: %s", conf_proto_name(j->protocol));
                        for (size_t k = 0; k < j->n_ports; k++)
                                fprintf(f, "%c%u", k ? ',' : ' ', j->ports[k]);
                        fprintf(f, "\n");
                }
                fprintf(f, "  maxretry: %u\n", j->maxretry);
                fprintf(f, "  findtime: %s\n", format_duration_sec(j->findtime_sec, b1, sizeof b1));
                fprintf(f, "  bantime: %s\n", format_duration_sec(j->bantime_sec, b2, sizeof b2));
                fprintf(f, "  ignoreip:");
                for (size_t k = 0; k < j->n_ignoreip; k++) {
                        char ab[ADDR_PREFIX_STRLEN];
                        fprintf(f, " %s", addr_prefix_to_string(&j->ignoreip[k], ab, sizeof ab));
                }
                fprintf(f, "%s\n", j->n_ignoreip ? "" : " (none)");
                fprintf(f, "  ignoreself: %s\n", j->ignoreself ? "yes" : "no");
                if (j->dryrun)
                        fprintf(f, "  dryrun: yes (matches and counts, logs \"would ban\", bans nothing)\n");
                fprintf(f, "  actions:%s", j->action_ban ? " ban" : "");
                if (j->abuseipdb)
                        fprintf(f, " abuseipdb(categories %s, apikey %s)", j->abuseipdb_categories ?: "-",
                                j->abuseipdb_apikey ? "set" : "missing");
                if (j->mail.enabled)
                        fprintf(f, " mail(to %s%s%s, %u per %us)", j->mail.dest, j->mail.lines ? ", lines" : "",
                                j->mail.whois ? ", whois" : "", j->mail.rate, j->mail.rate_period_sec);
                for (size_t k = 0; k < j->n_action_files; k++)
                        fprintf(f, " %s(%s)", j->action_files[k].name, j->action_files[k].file);
                for (size_t k = 0; k < j->n_webhooks; k++) {
                        char ub[256];
                        fprintf(f, " webhook(%s, %s, %s)", j->webhooks[k].id, webhook_format_to_string(j->webhooks[k].format),
                                webhook_url_redact(j->webhooks[k].url, ub, sizeof ub));
                }
                fprintf(f, "%s\n", j->action_ban || j->abuseipdb || j->mail.enabled || j->n_action_files || j->n_webhooks ? "" : " (log only)");
                if (j->action_ban)
                        fprintf(f, "  nft sets: %s\n", j->allports ? "v4 v6_128 v6_64 v6" : "v4_port v6_port_128 v6_port_64 v6_port");
                else
                        fprintf(f, "  nft sets: (none)\n");
        }
}
