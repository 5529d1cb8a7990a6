/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "ctl.h"

const char *ctl_program = "nftjail";

static const Subcommand subcommands[] = {
        { "check", ctl_check, "Ask AbuseIPDB about an address" },
        { "regex", ctl_regex, "Test a filter against a log file (like fail2ban-regex)" },
        { "report-queue", ctl_report_queue, "Show the AbuseIPDB reports pending and sent" },
        { "test-config", ctl_test_config, "Check the configuration and print what would run" },
};

static void show_usage(FILE *f) {
        fprintf(f, "Usage: %s <command> [<args>]\n\nAvailable commands:\n", ctl_program);
        for (size_t i = 0; i < ELEMENTSOF(subcommands); i++)
                fprintf(f, "  %-12s %s\n", subcommands[i].name, subcommands[i].description);
        fprintf(f, "\nOptions:\n  -h --help     Show this help\n  -V --version  Show the version\n"
                   "\nEach command takes --help.\n");
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
        config_dump(c, stdout);
        config_free(c);
        r = diags.n_errors > 0;
        conf_diags_done(&diags);
        if (fflush(stdout) != 0)
                return 1;
        return r;
}

int main(int argc, char *argv[]) {
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
