/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nftjail status [JAIL], nftjail banned [ADDR], nftjail ping. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "ctl-proto.h"
#include "cli.h"

static const char *str(const json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? s : "-";
}

static long long num(const json_t *o, const char *key) {
        return (long long) json_integer_value(json_object_get(o, key));
}

static char *left(const json_t *o, char *buf, size_t len) {
        if (json_is_true(json_object_get(o, "permanent")))
                snprintf(buf, len, "permanent");
        else {
                char d[32];
                snprintf(buf, len, "%s left", format_duration_sec(num(o, "expires_ms") / 1000, d, sizeof d));
        }
        return buf;
}

static void print_sources(const json_t *jail, const char *indent) {
        size_t i;
        json_t *s;

        json_array_foreach(json_object_get(jail, "sources"), i, s) {
                const char *m = str(s, "match");
                json_t *p;
                size_t k;

                if (strcmp(str(s, "type"), "file") == 0) {
                        printf("%sfile", indent);
                        json_array_foreach(json_object_get(s, "paths"), k, p)
                                printf(" %s", json_is_string(p) ? json_string_value(p) : "?");
                        printf("\n");
                        continue;
                }
                printf("%s%s %s\n", indent, str(s, "type"), *m ? m : "(all entries)");
        }
}

static int status_all(const json_t *r) {
        json_t *jails = json_object_get(r, "jails"), *j;
        char up[32];
        size_t i;

        printf("nftjaild %s, pid %lld, up %s\n", str(r, "daemon_version"), num(r, "pid"),
               format_duration_sec(num(r, "uptime_sec"), up, sizeof up));
        printf("Number of jails: %zu\n", json_array_size(jails));
        printf("Jail list: ");
        json_array_foreach(jails, i, j)
                printf("%s%s", i ? ", " : "", str(j, "name"));
        printf("\nTotal bans: %lld (kernel elements in force: %lld)\n", num(r, "bans_total"), num(r, "elements_live"));
        if (json_is_object(json_object_get(r, "fleet"))) {
                json_t *f = json_object_get(r, "fleet"), *o;
                size_t k;

                printf("Fleet: node %s, %s, outbox %lld, published %lld, received %lld, refused %lld (stream seq %lld, lag %lld)\n",
                       str(f, "name"), json_is_true(json_object_get(f, "connected")) ? "connected" : "NOT connected",
                       num(f, "outbox"), num(f, "published"), num(f, "received"), num(f, "refused"), num(f, "stream_seq"), num(f, "lag"));
                json_array_foreach(json_object_get(f, "origins"), k, o)
                        printf("  from %s: %lld applied, %lld refused\n", str(o, "name"), num(o, "in"), num(o, "refused"));
        }
        json_array_foreach(jails, i, j) {
                printf("\n%s: %lld lines, %lld failures (%lld tracked now), %lld bans\n", str(j, "name"),
                       num(j, "lines"), num(j, "failures_total"), num(j, "failures_current"), num(j, "bans_total"));
                if (json_is_true(json_object_get(j, "dryrun")))
                        printf("  dry run: would ban %lld (nothing goes to the kernel)\n", num(j, "would_ban_total"));
                print_sources(j, "  source: ");
        }
        return 0;
}

static int status_jail(const json_t *r) {
        json_t *j = json_object_get(r, "jail"), *b;
        size_t i;

        printf("Status for the jail: %s\n", str(j, "name"));
        printf("|- Filter\n");
        printf("|  |- Currently failed: %lld\n", num(j, "failures_current"));
        printf("|  |- Total failed:     %lld\n", num(j, "failures_total"));
        printf("|  |- Lines read:       %lld\n", num(j, "lines"));
        printf("|  `- Sources:\n");
        print_sources(j, "|       ");
        printf("`- Actions\n");
        printf("   |- Currently banned: %lld\n", num(j, "bans_current"));
        printf("   |- Total banned:     %lld\n", num(j, "bans_total"));
        if (json_is_true(json_object_get(j, "dryrun")))
                printf("   |- Would ban:        %lld (dry run: nothing goes to the kernel)\n", num(j, "would_ban_total"));
        printf("   `- Banned IP list:%s\n", json_array_size(json_object_get(j, "banned")) ? "" : " (none)");
        json_array_foreach(json_object_get(j, "banned"), i, b) {
                char t[64];
                printf("        %s (%s)\n", str(b, "addr"), left(b, t, sizeof t));
        }
        return 0;
}

#define ARG_KERNEL 0x100
static const struct option kernel_option[] = {
        { "kernel", no_argument, NULL, ARG_KERNEL },
        {},
};

static int kernel_on_opt(int opt, const char *arg, void *userdata) {
        bool *kernel = userdata;

        if (opt != ARG_KERNEL)
                return -EINVAL;
        *kernel = true;
        return 0;
}

/* req with "kernel": true when asked; req is consumed on failure (NULL then). */
static json_t *request_kernel(json_t *req, bool kernel) {
        if (req && kernel && json_object_set_new(req, "kernel", json_true()) < 0)
                req = (json_decref(req), NULL);
        return req;
}

int ctl_status(int argc, char *argv[]) {
        static const char help[] =
                "Usage: nftjail status [--json] [JAIL [--kernel]]\n\n"
                "Without JAIL: the daemon's version, uptime, jails, total bans, and per jail its sources\n"
                "(journal match or log files), lines read, failures and bans.\n"
                "With JAIL: currently failed (addresses counted now), total failed, currently banned\n"
                "(addresses with bans of the jail), total banned, the banned addresses with their time\n"
                "left, and the journal match or log files. The bans are the daemon's own record of what\n"
                "it put in the kernel (or adopted there), less what was deleted since.\n\n"
                "  --kernel  list the bans from the kernel's sets instead (elements with the jail's\n"
                "            comment, added by hand too); root only: a large set takes seconds to\n"
                "            list, and the daemon does nothing else meanwhile\n"
                "  --json    print the daemon's reply as JSON\n";
        json_t *req, *reply = NULL;
        bool kernel = false;
        int r;

        r = ctl_parse_common(argc, argv, help, kernel_option, NULL, kernel_on_opt, &kernel);
        if (r <= 0)
                return -r;
        if (argc - optind > 1) {
                ctl_error("status", "too many arguments, see '%s status --help'", ctl_program);
                return 2;
        }
        if (kernel && optind >= argc) {
                ctl_error("status", "--kernel goes with a JAIL, see '%s status --help'", ctl_program);
                return 2;
        }
        req = ctl_request_new(CTL_STATUS);
        if (req && optind < argc && json_object_set_new(req, "jail", ctl_json_string(argv[optind])) < 0)
                req = (json_decref(req), NULL);
        req = request_kernel(req, kernel);
        r = ctl_call("status", req, &reply);
        if (r == 0) {
                if (ctl_json)
                        ctl_print_json(reply);
                else if (json_object_get(reply, "jail"))
                        status_jail(reply);
                else
                        status_all(reply);
                r = ctl_finish();
        }
        json_decref(reply);
        return r;
}

/* A command without arguments: its request, the reply printed by print (or as JSON). */
static int call_plain(int argc, char *argv[], const char *verb, CtlCommand cmd, const char *help,
                      void (*print)(const json_t *reply)) {
        json_t *reply = NULL;
        int r;

        r = ctl_parse_common(argc, argv, help, NULL, NULL, NULL, NULL);
        if (r <= 0)
                return -r;
        if (optind < argc) {
                ctl_error(verb, "unexpected argument '%s'", argv[optind]);
                return 2;
        }
        r = ctl_call(verb, ctl_request_new(cmd), &reply);
        if (r == 0) {
                if (ctl_json)
                        ctl_print_json(reply);
                else
                        print(reply);
                r = ctl_finish();
        }
        json_decref(reply);
        return r;
}

static void print_pong(const json_t *reply) {
        (void) reply;
        printf("pong\n");
}

int ctl_ping(int argc, char *argv[]) {
        static const char help[] = "Usage: nftjail ping [--json]\n\n"
                                   "Checks that the daemon answers: prints \"pong\" and exits 0; exits 3 when it is\n"
                                   "not running.\n";

        return call_plain(argc, argv, "ping", CTL_PING, help, print_pong);
}

static void print_metrics(const json_t *reply) {
        fputs(json_string_value(json_object_get(reply, "text")) ?: "", stdout);
}

int ctl_metrics(int argc, char *argv[]) {
        static const char help[] = "Usage: nftjail metrics [--json]\n\n"
                                   "Prints the daemon's figures in the Prometheus text format, as it writes them to\n"
                                   "metrics_textfile: lines, failures, bans and unbans per jail, elements in the kernel\n"
                                   "per jail and family, the ban latency, AbuseIPDB reports by result. No address\n"
                                   "appears in it.\n";

        return call_plain(argc, argv, "metrics", CTL_METRICS, help, print_metrics);
}

int ctl_banned(int argc, char *argv[]) {
        static const char help[] =
                "Usage: nftjail banned [--kernel] [--json] [ADDR]\n\n"
                "Lists the bans: per element the address, the jail (the element's comment), the protocol\n"
                "and port (or all ports) and the time left. With ADDR only the elements that ban ADDR.\n"
                "They are the daemon's own record of the elements it put in the kernel (or adopted\n"
                "there at its start), less those deleted since, by it or by hand.\n\n"
                "  --kernel  list table inet nftjail as the kernel holds it instead (elements added by\n"
                "            hand too); root only: a large set takes seconds to list, and the daemon\n"
                "            does nothing else meanwhile\n"
                "  --json    print the daemon's reply as JSON\n";
        json_t *req, *reply = NULL, *b;
        bool kernel = false;
        Addr a;
        int r;

        r = ctl_parse_common(argc, argv, help, kernel_option, NULL, kernel_on_opt, &kernel);
        if (r <= 0)
                return -r;
        if (argc - optind > 1) {
                ctl_error("banned", "too many arguments, see '%s banned --help'", ctl_program);
                return 2;
        }
        if (optind < argc && addr_from_string(argv[optind], &a) < 0) {
                ctl_error("banned", "'%s' is not an IP address", argv[optind]);
                return 2;
        }
        req = ctl_request_new(CTL_BANNED);
        if (req && optind < argc && json_object_set_new(req, "addr", ctl_json_string(argv[optind])) < 0)
                req = (json_decref(req), NULL);
        req = request_kernel(req, kernel);
        r = ctl_call("banned", req, &reply);
        if (r == 0) {
                json_t *bans = json_object_get(reply, "bans");
                size_t i;

                if (ctl_json)
                        ctl_print_json(reply);
                else if (json_array_size(bans) == 0)
                        printf("%s\n", optind < argc ? "not banned" : "no bans");
                else {
                        json_array_foreach(bans, i, b) {
                                char where[32], t[64];
                                if (json_is_integer(json_object_get(b, "port")))
                                        snprintf(where, sizeof where, "%s/%lld", str(b, "proto"), num(b, "port"));
                                else
                                        snprintf(where, sizeof where, "all ports");
                                printf("%-40s %-16s %-10s %s\n", str(b, "addr"), str(b, "jail"), where,
                                       left(b, t, sizeof t));
                        }
                        if (json_is_true(json_object_get(reply, "truncated")))
                                printf("(%lld bans in all; the first %zu are shown)\n", num(reply, "total"),
                                       json_array_size(bans));
                }
                r = ctl_finish();
        }
        json_decref(reply);
        return r;
}
