/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abuseipdb.h"
#include "addr.h"
#include "conf.h"
#include "cli.h"
#include "reporter.h"
#include "util/macro.h"

/* nftjail check ADDR: asks AbuseIPDB about one address, with the daemon's url and key read from
 * the configuration directory. The key stays in this process: never printed, never passed on. */

static char *find_key(const Config *c) {
        char *key = NULL;
        bool loose = false;

        if (reporter_load_key(&c->abuseipdb, &key, NULL, &loose) >= 0)
                return key;
        for (size_t i = 0; i < c->n_jails; i++)
                if (c->jails[i].abuseipdb_apikey)
                        return strdup(c->jails[i].abuseipdb_apikey);
        return NULL;
}

int ctl_check(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config-dir", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *dir = NFTJAIL_CONFIG_DIR;
        _cleanup_free_ char *key = NULL, *body = NULL;
        char as[ADDR_STRLEN];
        ConfDiags diags = {};
        Config *c = NULL;
        bool json = false;
        CheckInfo ci;
        size_t len = 0;
        long status;
        char err[320] = "";
        Addr a;
        int opt, r;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "c:jh", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        dir = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf("Usage: %s check [--config-dir DIR] [--json] ADDR\n\n"
                               "Asks AbuseIPDB (GET /check, last 90 days) what it knows about ADDR, with the url\n"
                               "and API key of the configuration (default %s). --json prints the raw reply.\n",
                               ctl_program, NFTJAIL_CONFIG_DIR);
                        return 0;
                default:
                        fprintf(stderr, "%s check: bad option '%s', see '%s check --help'\n", ctl_program,
                                argv[optind - 1], ctl_program);
                        return 2;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "%s check: expected one address, see '%s check --help'\n", ctl_program, ctl_program);
                return 2;
        }
        if (addr_from_string(argv[optind], &a) < 0) {
                fprintf(stderr, "%s check: '%s' is not an IPv4 or IPv6 address\n", ctl_program, argv[optind]);
                return 2;
        }
        addr_to_string(&a, as, sizeof as);

        r = config_load(dir, &c, &diags);
        for (size_t i = 0; i < diags.n && r < 0; i++) {
                char buf[4096];
                fprintf(stderr, "%s\n", conf_diag_format(&diags.v[i], buf, sizeof buf));
        }
        conf_diags_done(&diags);
        if (r < 0) {
                fprintf(stderr, "%s check: cannot load the configuration in %s\n", ctl_program, dir);
                return 1;
        }
        key = find_key(c);
        if (!key) {
                fprintf(stderr, "%s check: no AbuseIPDB API key: set [abuseipdb] apikey_file in %s/nftjail.conf\n",
                        ctl_program, dir);
                config_free(c);
                return 1;
        }
        status = reporter_check(c->abuseipdb.url, key, &a, c->abuseipdb.timeout_sec, &body, &len, err, sizeof err);
        explicit_bzero(key, strlen(key));
        config_free(c);
        if (status < 0) {
                fprintf(stderr, "%s check: request failed: %s\n", ctl_program, err[0] ? err : strerror((int) -status));
                return 1;
        }
        if (json && status == 200) {
                fwrite(body, 1, len, stdout);
                putchar('\n');
                return fflush(stdout) != 0;
        }
        if (abuseipdb_parse_check(body, len, &ci) < 0 || status != 200) {
                fprintf(stderr, "%s check: AbuseIPDB answered %ld: %s\n", ctl_program, status,
                        ci.detail[0] ? ci.detail : "unexpected reply");
                return 1;
        }
        printf("address: %s\n"
               "abuse confidence score: %d%%\n"
               "country: %s\n"
               "usage type: %s\n"
               "total reports: %ld\n"
               "last reported: %s\n",
               as, ci.score, ci.country, ci.usage, ci.total_reports, ci.last_reported);
        return fflush(stdout) != 0;
}
