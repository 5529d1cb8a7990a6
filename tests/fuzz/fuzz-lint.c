/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A filter's pattern text, as an admin may copy it from anywhere: the input's first line is a
 * failregex, the rest a log line. filter_lint() reads it (the pattern tree, the paths through
 * its groups, the rules) and must not crash, hang or leak whatever the text; when the pattern
 * compiles, its required literals must never change a verdict: the line through a MatchSet of
 * it and the shipped sshd filter gives what filter_match() gives without the set. */
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "fuzz-util.h"
#include "match.h"

static Filter *sshd;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        FilterConf fc = {};
        ConfDiags d = {};
        FilterError e = {};

        if (filter_conf_load(FUZZ_SRCDIR "/conf", "sshd", &fc, &d) < 0 || filter_new(&fc, &sshd, &e) < 0) {
                fprintf(stderr, "fuzz-lint: cannot load the shipped sshd filter\n");
                abort();
        }
        filter_conf_done(&fc);
        conf_diags_done(&d);
        return 0;
}

static int count(const LintWarning *w, void *userdata) {
        if (!w->reason || !lint_rule_to_string(w->rule))
                abort();
        (*(unsigned *) userdata)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size), *nl = strchr(s, '\n');
        const char *line = nl ? nl + 1 : "";
        FilterRegex fr = { .pattern = s, .file = (char *) "<fuzz>", .line = 1 };
        FilterConf fc = { .name = (char *) "fuzz", .failregex = &fr, .n_failregex = 1, .maxlines = 1 };
        FilterError e = {};
        Filter *f = NULL, *both[2];
        MatchSet *set = NULL;
        unsigned n = 0;
        int r;

        if (nl)
                *nl = 0;
        r = filter_lint(&fc, count, &n, &e);
        if (r >= 0 && (unsigned) r != n)
                abort();
        if (filter_new(&fc, &f, &e) == 0) {
                both[0] = f;
                both[1] = sshd;
                if (match_set_new(both, 2, &set) == 0) {
                        size_t len = strlen(line);
                        for (size_t k = 0; k < 2; k++) {
                                uint8_t want[2];
                                MatchResult m1 = {}, m2 = {};
                                int r1, r2;

                                match_set_scan(set, line, len, want);
                                r1 = want[k] ? match_set_match(set, k, line, len, false, &m1) : MATCH_NONE;
                                r2 = filter_match(both[k], line, len, &m2);
                                /* a limit hit may differ: the set skips the regex, it gives up */
                                if (r1 != r2 && r1 != MATCH_LIMIT && r2 != MATCH_LIMIT)
                                        abort();
                                if (r1 == MATCH_FAILURE && r2 == MATCH_FAILURE && !addr_equal(&m1.addr, &m2.addr))
                                        abort();
                        }
                        match_set_free(set);
                }
                filter_free(f);
        }
        free(s);
        return 0;
}
