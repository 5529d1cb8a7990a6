/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Checks of the configuration against the host: which logpath matches a file now. */

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "conf-internal.h"
#include "conf.h"

/* Whether pattern (a path or a glob) names at least one file now. */
static bool logpath_matches(const char *pattern) {
        glob_t g = {};
        int r = glob(pattern, GLOB_NOSORT | GLOB_ERR, NULL, &g);
        bool any = r == 0 && g.gl_pathc > 0;

        globfree(&g);
        return any;
}

int config_check_logpaths(const Config *c, ConfDiags *d) {
        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *j = &c->jails[i];
                char list[512] = "";
                size_t off = 0;
                bool any = false;
                int r;

                if (!jail_reads_files(j) || !j->logpath || !j->logpath[0])
                        continue;
                for (size_t k = 0; j->logpath[k] && !any; k++) {
                        any = logpath_matches(j->logpath[k]);
                        if (off < sizeof list) {
                                int n = snprintf(list + off, sizeof list - off, "%s'%s'", k ? ", " : "", j->logpath[k]);
                                off += n > 0 ? (size_t) n : 0;
                        }
                }
                if (any)
                        continue;
                r = ini_diag(d, j->logpath_file ? j->logpath_file : j->file,
                             j->logpath_file ? j->logpath_line : j->line, false,
                             "jail '%s': logpath %s matches no file now; the jail waits for one to appear%s", j->name,
                             list,
                             j->journalmatch ? ". If the service logs to the journal only (Debian 12 without rsyslog "
                                               "writes no /var/log/auth.log, syslog or daemon.log), use "
                                               "backend = systemd: the jail's journalmatch reads it"
                                             : "");
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}
