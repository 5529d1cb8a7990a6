/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nftjail reload [--unban] [JAIL] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl-proto.h"
#include "cli.h"

static int reload_on_opt(int opt, const char *arg, void *userdata) {
        bool *unban = userdata;

        if (opt != 'u')
                return -EINVAL;
        *unban = true;
        return 0;
}

int ctl_reload(int argc, char *argv[]) {
        static const char help[] =
                "Usage: nftjail reload [--unban] [--json] [JAIL]\n\n"
                "Makes the daemon re-read its whole configuration (as SIGHUP does). A configuration\n"
                "with errors is refused whole: the running one stays, the errors are printed as\n"
                "FILE:LINE: ... and the exit status is 1. Jails whose maxretry and findtime did not\n"
                "change keep their failure counts; bans stay in the kernel.\n"
                "With JAIL the whole configuration is still re-read (there is no per-jail reload);\n"
                "the command then fails when JAIL is not in it.\n\n"
                "  -u --unban  delete the bans of jails that the new configuration no longer has\n"
                "  --json      print the daemon's reply as JSON\n";
        static const struct option extra[] = {
                { "unban", no_argument, NULL, 'u' },
                {},
        };
        json_t *req, *reply = NULL;
        bool unban = false;
        int r;

        r = ctl_parse_common(argc, argv, help, extra, "u", reload_on_opt, &unban);
        if (r <= 0)
                return -r;
        if (argc - optind > 1) {
                ctl_error("reload", "too many arguments, see '%s reload --help'", ctl_program);
                return 2;
        }
        req = ctl_request_new(CTL_RELOAD);
        if (req && ((optind < argc && json_object_set_new(req, "jail", ctl_json_string(argv[optind])) < 0) ||
                    (unban && json_object_set_new(req, "unban", json_true()) < 0)))
                req = (json_decref(req), NULL);
        /* ctl_call() prints the diagnostics on stderr, ok or not */
        r = ctl_call("reload", req, &reply);
        if (r == 0) {
                if (ctl_json)
                        ctl_print_json(reply);
                else {
                        long long n = json_integer_value(json_object_get(reply, "unbanned"));
                        printf("configuration reloaded: %lld jail(s)", json_integer_value(json_object_get(reply, "jails")));
                        if (unban)
                                printf(", %lld element(s) of removed jails deleted", n);
                        printf("\n");
                }
                r = ctl_finish();
        }
        json_decref(reply);
        return r;
}
