/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Checks of the configuration against the host: which logpath matches a file now, and whether
 * an inline AbuseIPDB key sits in a file anyone may read. */

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

static int check_logpaths(const Config *c, ConfDiags *d) {
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

/* One warning per file:line that holds a key (jails taking it from one [DEFAULT] line share it),
 * never the key itself. */
static int check_key_files(const Config *c, ConfDiags *d) {
        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *j = &c->jails[i];
                struct stat st;
                bool seen = false;
                int r;

                if (!j->abuseipdb || !j->abuseipdb_apikey || !j->abuseipdb_apikey_file)
                        continue;
                for (size_t k = 0; k < i && !seen; k++) {
                        const JailConf *o = &c->jails[k];
                        seen = o->abuseipdb && o->abuseipdb_apikey && o->abuseipdb_apikey_file &&
                               strcmp(o->abuseipdb_apikey_file, j->abuseipdb_apikey_file) == 0 &&
                               o->abuseipdb_apikey_line == j->abuseipdb_apikey_line;
                }
                if (seen || stat(j->abuseipdb_apikey_file, &st) < 0 || !(st.st_mode & 0004))
                        continue;
                r = ini_diag(d, j->abuseipdb_apikey_file, j->abuseipdb_apikey_line, false,
                             "jail '%s': the AbuseIPDB key is written here, in a file anyone on this host can read "
                             "(mode %04o): move it to [abuseipdb] apikey_file (mode 0600) or a systemd credential",
                             j->name, (unsigned) (st.st_mode & 07777));
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

int config_check_host(const Config *c, ConfDiags *d) {
        int r = check_logpaths(c, d);

        return r < 0 ? r : check_key_files(c, d);
}
