/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "nftjail.h"

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
