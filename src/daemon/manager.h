/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdio.h>

#include "conf.h"
#include "date.h"
#include "match.h"
#include "prelude.h"

/* The Manager owns the event loop, the configuration and every module instance: journal sources,
 * compiled filters, trackers, the nft socket. Main thread only. */

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const char *config_dir;
        const char *state_dir;
        const char *socket_path;
} ManagerOptions;

/* Loads and checks the whole configuration (config files, filters compiled, journal matches).
 * Logs every problem with file and line. Returns 0 or a negative errno. */
int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);

/* Prints what would run (for --test-config). */
void manager_dump(const Manager *m, FILE *f);

/* Ensures the nft table, opens the sources, installs signal handlers. */
int manager_start(Manager *m);
/* Runs the loop until SIGTERM/SIGINT. Returns 0 or a negative errno. */
int manager_run(Manager *m);
