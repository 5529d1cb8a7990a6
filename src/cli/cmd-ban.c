/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nftjail ban, unban, and fail2ban's spellings: set JAIL banip|unbanip ADDR... */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "ctl-proto.h"
#include "cli.h"

static int check_addr(const char *verb, const char *s) {
        Addr a;

        if (strlen(s) > CTL_ADDR_MAX || addr_from_string(s, &a) < 0) {
                ctl_error(verb, "'%s' is not an IP address", s);
                return -EINVAL;
        }
        return 0;
}

static int check_jail(const char *verb, const char *s) {
        if (strlen(s) == 0 || strlen(s) > CTL_JAIL_MAX) {
                ctl_error(verb, "'%s' is not a jail name", s);
                return -EINVAL;
        }
        return 0;
}

/* One ban request. bantime 0: the jail's. */
static int do_ban(const char *verb, const char *jail, const char *addr, int64_t bantime, bool report) {
        json_t *req = ctl_request_new(CTL_BAN), *reply = NULL;
        int r;

        if (req && (json_object_set_new(req, "jail", ctl_json_string(jail)) < 0 ||
                    json_object_set_new(req, "addr", ctl_json_string(addr)) < 0 ||
                    (bantime && json_object_set_new(req, "bantime", json_integer(bantime)) < 0) ||
                    (report && json_object_set_new(req, "report", json_true()) < 0)))
                req = (json_decref(req), NULL);
        r = ctl_call(verb, req, &reply);
        if (r == 0) {
                char d[32];
                if (ctl_json)
                        ctl_print_json(reply);
                else
                        printf("%s: banned %s for %s\n", jail, addr,
                               format_duration_sec(json_integer_value(json_object_get(reply, "bantime_sec")), d, sizeof d));
        }
        json_decref(reply);
        return r;
}

/* What an unban --fleet did for the fleet: returns 1 when bans of other nodes were lifted here only. */
static int unban_fleet_report(const char *addr, const json_t *f) {
        const json_t *remote = json_object_get(f, "remote"), *o;
        long long total = json_integer_value(json_object_get(f, "remote_total"));
        size_t i;

        if (!ctl_json)
                printf("fleet: %lld tombstone%s published\n", json_integer_value(json_object_get(f, "tombstones")),
                       json_integer_value(json_object_get(f, "tombstones")) == 1 ? "" : "s");
        if (total <= 0)
                return 0;
        json_array_foreach(remote, i, o)
                ctl_error("unban", "%s in %s came from node %s: only %s can lift it fleet-wide; unbanned here only",
                          addr ? addr : "a ban", json_string_value(json_object_get(o, "jail")),
                          json_string_value(json_object_get(o, "origin")), json_string_value(json_object_get(o, "origin")));
        if ((size_t) total > json_array_size(remote))
                ctl_error("unban", "and %lld more (jail, node) pairs of other nodes, unbanned here only",
                          total - (long long) json_array_size(remote));
        return 1;
}

/* One unban request: addr NULL = all. jail NULL = every jail. */
static int do_unban(const char *verb, const char *addr, const char *jail, bool fleet) {
        json_t *req = ctl_request_new(CTL_UNBAN), *reply = NULL;
        int r;

        if (req && ((addr && json_object_set_new(req, "addr", ctl_json_string(addr)) < 0) ||
                    (!addr && json_object_set_new(req, "all", json_true()) < 0) ||
                    (jail && json_object_set_new(req, "jail", ctl_json_string(jail)) < 0) ||
                    (fleet && json_object_set_new(req, "fleet", json_true()) < 0)))
                req = (json_decref(req), NULL);
        r = ctl_call(verb, req, &reply);
        if (r == 0) {
                long long n = json_integer_value(json_object_get(reply, "unbanned"));
                if (ctl_json)
                        ctl_print_json(reply);
                else if (n == 0)
                        printf("%s was not banned%s%s\n", addr ? addr : "nothing", jail ? " in " : "", jail ? jail : "");
                else
                        printf("unbanned %s%s%s (%lld element%s)\n", addr ? addr : "everything", jail ? " in " : "",
                               jail ? jail : "", n, n == 1 ? "" : "s");
                if (fleet)
                        r = unban_fleet_report(addr, json_object_get(reply, "fleet"));
        }
        json_decref(reply);
        return r;
}

typedef struct BanArgs {
        int64_t bantime;
        bool report, all, fleet;
} BanArgs;

static int ban_on_opt(int opt, const char *arg, void *userdata) {
        BanArgs *a = userdata;

        switch (opt) {
        case 't':
                if (parse_duration_sec(arg, &a->bantime) < 0 || a->bantime == 0) {
                        ctl_error("ban", "bad --time '%s': a duration such as 600, 10m, 1h30m, 1d, 1w, or -1 "
                                         "(permanent)", arg);
                        return -EINVAL;
                }
                return 0;
        case 'r':
                a->report = true;
                return 0;
        case 'a':
                a->all = true;
                return 0;
        case 'f':
                a->fleet = true;
                return 0;
        }
        return -EINVAL;
}

int ctl_ban(int argc, char *argv[]) {
        static const char help[] =
                "Usage: nftjail ban [--time DURATION] [--report] [--json] JAIL ADDR\n\n"
                "Bans ADDR in JAIL now, the way an automatic ban does: an element per port of the jail\n"
                "(or one for all ports), with the jail's name as comment. ignoreip, loopback and this\n"
                "host's addresses are refused.\n\n"
                "  -t --time DURATION  ban time instead of the jail's bantime (600, 10m, 1h30m, 1d, 1w;\n"
                "                      -1 = permanent)\n"
                "  -r --report         also report to AbuseIPDB (refused while no reporter is configured)\n"
                "  --json              print the daemon's reply as JSON\n";
        static const struct option extra[] = {
                { "time", required_argument, NULL, 't' },
                { "report", no_argument, NULL, 'r' },
                {},
        };
        BanArgs a = {};
        int r;

        r = ctl_parse_common(argc, argv, help, extra, "t:r", ban_on_opt, &a);
        if (r <= 0)
                return -r;
        if (argc - optind != 2) {
                ctl_error("ban", "want JAIL ADDR, see '%s ban --help'", ctl_program);
                return 2;
        }
        if (check_jail("ban", argv[optind]) < 0 || check_addr("ban", argv[optind + 1]) < 0)
                return 2;
        r = do_ban("ban", argv[optind], argv[optind + 1], a.bantime, a.report);
        return r ? r : ctl_finish();
}

int ctl_unban(int argc, char *argv[]) {
        static const char help[] =
                "Usage: nftjail unban [--fleet] [--json] ADDR [JAIL]\n"
                "       nftjail unban [--fleet] [--json] --all [JAIL]\n\n"
                "Deletes the bans of ADDR (every jail, or only JAIL's) from the kernel sets and forgets\n"
                "its failures. --all empties the sets: every element, or every element whose comment is\n"
                "JAIL, including elements the daemon did not add (from before a restart, or by hand).\n\n"
                "  -a --all    every address\n"
                "  -f --fleet  also everywhere in the fleet: this node's own bans get a tombstone (as\n"
                "              always); a ban that came from another node is lifted here only, since\n"
                "              only its origin may lift it fleet-wide (said, and exit status 1)\n"
                "  --json      print the daemon's reply as JSON\n";
        static const struct option extra[] = {
                { "all", no_argument, NULL, 'a' },
                { "fleet", no_argument, NULL, 'f' },
                {},
        };
        BanArgs a = {};
        const char *addr = NULL, *jail = NULL;
        int r, n;

        r = ctl_parse_common(argc, argv, help, extra, "af", ban_on_opt, &a);
        if (r <= 0)
                return -r;
        n = argc - optind;
        if (a.all ? n > 1 : n < 1 || n > 2) {
                ctl_error("unban", "want ADDR [JAIL] or --all [JAIL], see '%s unban --help'", ctl_program);
                return 2;
        }
        if (!a.all) {
                addr = argv[optind];
                if (check_addr("unban", addr) < 0)
                        return 2;
                if (n == 2)
                        jail = argv[optind + 1];
        } else if (n == 1)
                jail = argv[optind];
        if (jail && check_jail("unban", jail) < 0)
                return 2;
        r = do_unban("unban", addr, jail, a.fleet);
        return r ? r : ctl_finish();
}

int ctl_set(int argc, char *argv[]) {
        static const char help[] =
                "Usage: nftjail set [--json] JAIL banip ADDR...\n"
                "       nftjail set [--json] JAIL unbanip ADDR...\n\n"
                "fail2ban-client's spellings: the same as 'nftjail ban JAIL ADDR' and\n"
                "'nftjail unban ADDR JAIL' for each ADDR, one request each. Exits with the first\n"
                "failure's status after trying them all.\n\n"
                "  --json  print each reply as JSON\n";
        const char *jail, *action;
        bool ban;
        int r, ret = 0;

        r = ctl_parse_common(argc, argv, help, NULL, NULL, NULL, NULL);
        if (r <= 0)
                return -r;
        if (argc - optind < 3) {
                ctl_error("set", "want JAIL banip|unbanip ADDR..., see '%s set --help'", ctl_program);
                return 2;
        }
        jail = argv[optind];
        action = argv[optind + 1];
        if (strcmp(action, "banip") == 0)
                ban = true;
        else if (strcmp(action, "unbanip") == 0)
                ban = false;
        else {
                ctl_error("set", "'%s' is not supported: banip or unbanip", action);
                return 2;
        }
        if (check_jail("set", jail) < 0)
                return 2;
        for (int i = optind + 2; i < argc; i++)
                if (check_addr("set", argv[i]) < 0)
                        return 2;
        for (int i = optind + 2; i < argc; i++) {
                r = ban ? do_ban("set", jail, argv[i], 0, false) : do_unban("set", argv[i], jail, false);
                if (r == 3)
                        return 3;
                if (r && !ret)
                        ret = r;
        }
        return ret ? ret : ctl_finish();
}
