/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "jail-compile.h"

const char *ctl_program = "nftjail";

static const Subcommand subcommands[] = {
        { "check", ctl_check, "Ask AbuseIPDB about an address" },
        { "status", ctl_status, "Show the daemon's jails and counters, or one jail's bans" },
        { "banned", ctl_banned, "List the bans (all, or of one address); --kernel: the kernel's sets" },
        { "ban", ctl_ban, "Ban an address in a jail now" },
        { "unban", ctl_unban, "Delete the bans of an address, or all bans (--all)" },
        { "set", ctl_set, "fail2ban spellings: set JAIL banip|unbanip ADDR..." },
        { "reload", ctl_reload, "Re-read the configuration (refused whole when it has errors)" },
        { "ping", ctl_ping, "Check that the daemon answers" },
        { "metrics", ctl_metrics, "Print the daemon's figures in the Prometheus text format" },
        { "regex", ctl_regex, "Test a filter against a log file (like fail2ban-regex)" },
        { "report-queue", ctl_report_queue, "Show the AbuseIPDB reports pending and sent" },
        { "test-config", ctl_test_config, "Check the configuration and print what would run" },
};

static void show_usage(FILE *f) {
        fprintf(f, "Usage: %s <command> [<args>]\n\nAvailable commands:\n", ctl_program);
        for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
                fprintf(f, "  %-12s %s\n", subcommands[i].name, subcommands[i].description);
        fprintf(f, "\nOptions:\n  -h --help            Show this help\n  -V --version         Show the version\n"
                   "  -s --socket PATH     The daemon's control socket (default %s); before or after\n"
                   "                       the command\n"
                   "  -j --json            Print the daemon's reply as JSON (also after the command)\n"
                   "\nEach command takes --help. Exit status: 0 done, 1 the daemon refused or failed, 2 bad\n"
                   "usage, 3 the daemon is not running.\n", NFTJAIL_SOCKET);
}

int ctl_test_config(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config-dir", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *dir = NFTJAIL_CONFIG_DIR;
        ConfDiags diags = {};
        Config *c = NULL;
        int opt, r;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        dir = optarg;
                        break;
                case 'h':
                        printf("Usage: %s test-config [--config-dir DIR]\n\n"
                               "Loads the configuration (default %s), prints every problem as FILE:LINE: ...\n"
                               "on stderr and what would run on stdout. Exits 0 when it is usable, 1 if not.\n",
                               ctl_program, NFTJAIL_CONFIG_DIR);
                        return 0;
                default:
                        fprintf(stderr, "%s test-config: bad option '%s', see '%s test-config --help'\n", ctl_program,
                                argv[optind - 1], ctl_program);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "%s test-config: unexpected argument '%s'\n", ctl_program, argv[optind]);
                return 2;
        }

        r = config_load(dir, &c, &diags);
        if (r >= 0 && config_check_host(c, &diags) < 0)
                r = -ENOMEM;
        for (size_t i = 0; i < diags.n; i++) {
                char buf[4096];
                fprintf(stderr, "%s\n", conf_diag_format(&diags.v[i], buf, sizeof buf));
        }
        if (r < 0) {
                if (diags.n == 0)
                        fprintf(stderr, "%s: %s\n", dir, strerror(-r));
                conf_diags_done(&diags);
                return 1;
        }
        /* what the daemon compiles at start: regexes, datepatterns, journal matches */
        r = diags.n_errors > 0;
        for (size_t i = 0; i < c->n_jails; i++) {
                char err[512];
                int k = jail_compile(&c->jails[i], NULL, NULL, err, sizeof err);

                if (k == -ENOMEM) {
                        fprintf(stderr, "%s test-config: out of memory\n", ctl_program);
                        r = 1;
                        break;
                }
                if (k < 0) {
                        fprintf(stderr, "error: %s\n", err);
                        r = 1;
                }
        }
        config_dump(c, stdout);
        config_free(c);
        conf_diags_done(&diags);
        if (fflush(stdout) != 0)
                return 1;
        return r;
}

/* Takes --socket PATH (-s PATH, --socket=PATH) out of argv wherever it is (up to a "--"), and
 * --json when it comes before the command. Returns the new argc, or -1 on a usage error. */
static int strip_global_options(int argc, char *argv[]) {
        int out = 1;
        bool seen_verb = false, end = false;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (!end && strcmp(a, "--") == 0)
                        end = true;
                if (!end && (strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0)) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "%s: %s needs a PATH\n", ctl_program, a);
                                return -1;
                        }
                        ctl_socket = argv[++i];
                        continue;
                }
                if (!end && strncmp(a, "--socket=", 9) == 0) {
                        ctl_socket = a + 9;
                        continue;
                }
                if (!end && !seen_verb && (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0)) {
                        ctl_json = true;
                        continue;
                }
                if (a[0] != '-')
                        seen_verb = true;
                argv[out++] = argv[i];
        }
        argv[out] = NULL;
        return out;
}

int main(int argc, char *argv[]) {
        argc = strip_global_options(argc, argv);
        if (argc < 0)
                return 2;
        if (argc < 2) {
                fprintf(stderr, "%s: missing command, see '%s --help'\n", ctl_program, ctl_program);
                return 2;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                show_usage(stdout);
                return 0;
        }
        if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
                printf("%s %s\n", ctl_program, NFTJAIL_VERSION);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
                if (strcmp(argv[1], subcommands[i].name) == 0)
                        return subcommands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "%s: unknown command '%s', see '%s --help'\n", ctl_program, argv[1], ctl_program);
        return 2;
}
