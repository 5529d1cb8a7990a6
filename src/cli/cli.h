/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "prelude.h"

/* The CLI's subcommands (wg style): each gets argv with argv[0] = the subcommand's name and
 * returns the process exit status: 0 done, 1 failed, 2 bad usage. */

typedef struct Subcommand {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *description;
} Subcommand;

extern const char *ctl_program;

int ctl_check(int argc, char *argv[]);
int ctl_regex(int argc, char *argv[]);
int ctl_report_queue(int argc, char *argv[]);
int ctl_test_config(int argc, char *argv[]);

/* The control socket's client (ctl-client.c). */
extern const char *ctl_socket;  /* --socket PATH */
extern bool ctl_json;           /* --json: print the reply as JSON */

typedef struct json_t json_t;
struct option;

/* "nftjail VERB: MESSAGE" on stderr, one line. verb may be NULL. */
void ctl_error(const char *verb, const char *format, ...) _printf_(2, 3);
/* Sends req (consumed, may be NULL on ENOMEM) and reads the reply. Returns 0 with *ret_reply
 * (ok:true); 1 when the daemon said ok:false (printed; *ret_reply set) or on any other failure
 * (printed; *ret_reply NULL); 3 when the daemon is not running. */
int ctl_call(const char *verb, json_t *req, json_t **ret_reply);
void ctl_print_json(const json_t *reply);
/* 0, or 1 when stdout could not be written. */
int ctl_finish(void);
/* getopt over argv with --json and --help built in; argv[0] is the verb, options and arguments
 * may be mixed (GNU permutation). Returns 1 to go on (arguments from optind), 0 after --help,
 * -2 on a usage error (printed). */
int ctl_parse_common(int argc, char *argv[], const char *help, const struct option *extra, const char *extra_short,
                     int (*on_opt)(int opt, const char *arg, void *userdata), void *userdata);

int ctl_status(int argc, char *argv[]);
int ctl_ping(int argc, char *argv[]);
int ctl_metrics(int argc, char *argv[]);
int ctl_banned(int argc, char *argv[]);
int ctl_ban(int argc, char *argv[]);
int ctl_unban(int argc, char *argv[]);
int ctl_set(int argc, char *argv[]);
int ctl_reload(int argc, char *argv[]);
