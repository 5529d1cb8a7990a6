/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Filter and jail loading: interpolation, [INCLUDES], [Init], filter options, tags. The input is
 * up to three files separated by a line "%%%%": jail.local, filter.d/fuzz.conf and
 * filter.d/fuzz.local, written into a config directory that holds the shipped nftjail.conf,
 * jail.conf and filter.d/ (so %(known/...)s, the shipped jails and their filters take part).
 * Then config_load(), jail_compile() of every enabled jail (<HOST> expansion, PCRE2, datepattern,
 * logtimezone) and filter_conf_load() + filter_new() of "fuzz" with options. */
#include <stdint.h>
#include <sys/stat.h>

#include "conf.h"
#include "date.h"
#include "fuzz-util.h"
#include "jail-compile.h"
#include "match.h"

static const char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        static const char *const shipped[] = {
                "nftjail.conf", "jail.conf", "filter.d/common.conf", "filter.d/sshd.conf",
                "filter.d/proxmox.conf", "filter.d/recidive.conf",
        };
        char p[4096];

        dir = fuzz_tmpdir_get();
        snprintf(p, sizeof p, "%s/filter.d", dir);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/jail.d", dir);
        mkdir(p, 0755);
        for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++)
                fuzz_copy_conf(dir, shipped[i]);
        return 0;
}

static void load_filter(const char *spec) {
        FilterConf fc = {};
        ConfDiags d = {};
        FilterError e = {};
        Filter *f = NULL;

        if (filter_conf_load(dir, spec, &fc, &d) == 0 && filter_new(&fc, &f, &e) == 0) {
                MatchResult m;
                static const char line[] = "host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2";

                (void) filter_match(f, line, sizeof line - 1, &m);
        }
        filter_free(f);
        filter_conf_done(&fc);
        conf_diags_done(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const files[] = { "jail.local", "filter.d/fuzz.conf", "filter.d/fuzz.local" };
        static const char sep[] = "\n%%%%\n";
        const char *s = (const char *) data, *end = s + size;
        ConfDiags d = {};
        Config *c = NULL;

        for (size_t i = 0; i < 3; i++) {
                const char *e = i < 2 ? memmem(s, (size_t) (end - s), sep, sizeof sep - 1) : NULL;

                if (!e)
                        e = end;
                fuzz_write(dir, files[i], s, (size_t) (e - s));
                s = e < end ? e + sizeof sep - 1 : end;
        }

        if (config_load(dir, &c, &d) == 0)
                for (size_t i = 0; i < c->n_jails; i++) {
                        Filter *f = NULL;
                        DatePattern *dp = NULL;
                        char err[512];

                        if (jail_compile(&c->jails[i], &f, &dp, err, sizeof err) == 0) {
                                filter_free(f);
                                date_pattern_free(dp);
                        }
                }
        config_free(c);
        conf_diags_done(&d);

        load_filter("fuzz");
        load_filter("fuzz[mode=aggressive, maxlines=\"2\"]");
        return 0;
}
