/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "manager.h"

static const char *arg_config_dir = NFTJAIL_CONFIG_DIR;
static const char *arg_state_dir = NFTJAIL_STATE_DIR;
static const char *arg_socket = NFTJAIL_SOCKET;
static bool arg_test_config;
static bool arg_dry_run;

static void help(void) {
        printf("Usage: nftjaild [OPTIONS]\n"
               "\n"
               "Ban hosts that fail to authenticate, in nftables sets that expire in the kernel.\n"
               "\n"
               "  -f --foreground       Run in the foreground (nftjaild never forks: this is\n"
               "                        always the case; the flag is accepted for scripts)\n"
               "  -c --config-dir DIR   Configuration directory (default %s)\n"
               "  -s --state-dir DIR    State directory (default %s)\n"
               "     --socket PATH      Control socket (default %s)\n"
               "  -t --test-config      Load and check the whole configuration, print what would\n"
               "                        run, and exit: 0 when it is valid, 1 with the errors\n"
               "     --dry-run          Every jail as with dryrun = true: match, count and log\n"
               "                        \"would ban\"; add no element, send no report, mail or webhook\n"
               "     --log-level LEVEL  debug, info, notice, warning or err (default info, or\n"
               "                        loglevel in nftjail.conf)\n"
               "     --log-target T     journal, stderr, or auto (default: the journal when\n"
               "                        started by systemd with its output there, else stderr)\n"
               "  -h --help             Show this help\n"
               "     --version          Show the version\n"
               "\n"
               "Signals: SIGTERM and SIGINT stop (bans stay in the kernel until they expire),\n"
               "SIGHUP reloads the configuration (an invalid one is refused whole).\n",
               NFTJAIL_CONFIG_DIR, NFTJAIL_STATE_DIR, NFTJAIL_SOCKET);
}

/* Returns 1 to go on, 0 to exit successfully, negative on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_SOCKET, ARG_LOG_LEVEL, ARG_LOG_TARGET, ARG_DRY_RUN };
        static const struct option options[] = {
                { "foreground", no_argument, NULL, 'f' },
                { "config-dir", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, 's' },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "test-config", no_argument, NULL, 't' },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, l;

        while ((c = getopt_long(argc, argv, "fc:s:th", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        break;
                case 'c':
                        arg_config_dir = optarg;
                        break;
                case 's':
                        arg_state_dir = optarg;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case 't':
                        arg_test_config = true;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_LOG_LEVEL:
                        l = log_level_from_string(optarg);
                        if (l < 0) {
                                fprintf(stderr, "nftjaild: bad --log-level '%s'\n", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(l);
                        break;
                case ARG_LOG_TARGET: {
                        LogTarget t = log_target_from_string(optarg);
                        if (t < 0) {
                                fprintf(stderr, "nftjaild: bad --log-target '%s'\n", optarg);
                                return -EINVAL;
                        }
                        log_set_target(t);
                        break;
                }
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("nftjaild %s\n", NFTJAIL_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "Try 'nftjaild --help'.\n");
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "nftjaild: unexpected argument '%s'\nTry 'nftjaild --help'.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        ManagerOptions o;
        Manager *m = NULL;
        int r;

        /* Before anything writes: a reader of our stderr (or stdout) that goes away must not kill
         * the daemon (nftjaild -f 2>&1 | head). A write then fails with EPIPE instead, and log.c
         * stops writing to stderr; the control socket sends with MSG_NOSIGNAL anyway. The daemon
         * starts no children, so no one inherits the ignored signal. */
        (void) signal(SIGPIPE, SIG_IGN);

        /* Footprint. Blocks of 16 KiB or more (each file source's read and line buffers, SQLite's
         * page cache) come from mmap(), so the pages they never touch (most of an idle file
         * jail's buffers) are never resident. Setting it also stops glibc from raising the
         * threshold on its own. No hot path allocates that much per line or per ban, so this adds
         * no mmap/munmap there. One arena: the reporter is the only other thread, and allocates
         * little. */
        (void) mallopt(M_MMAP_THRESHOLD, 16 * 1024);
        (void) mallopt(M_ARENA_MAX, 1);
        log_open();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        o = (ManagerOptions) {
                .config_dir = arg_config_dir,
                .state_dir = arg_state_dir,
                .socket_path = arg_socket,
                .dry_run = arg_dry_run,
        };
        r = manager_new(&o, &m);
        if (r < 0)
                return 1;
        if (arg_test_config) {
                manager_dump(m, stdout);
                r = manager_fleet_check(m);
                manager_free(m);
                if (r < 0)
                        return 1;
                printf("configuration OK\n");
                return 0;
        }
        if (mkdir(arg_state_dir, 0700) < 0 && errno != EEXIST) {
                log_error_errno(errno, "failed to create state directory %s: %m", arg_state_dir);
                manager_free(m);
                return 1;
        }
        r = manager_start(m);
        if (r >= 0)
                r = manager_run(m);
        manager_free(m);
        /* 4 (LSB "insufficient privilege"): the unit's RestartPreventExitStatus=4 stops the restart loop */
        if (r == -EPERM || r == -EACCES)
                return 4;
        return r < 0 ? 1 : 0;
}
