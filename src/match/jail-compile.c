/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "jail-compile.h"

/* "FILE:LINE: jail 'NAME': WHAT" at where the value was written, else at the jail's header. */
static void jail_error(char *err, size_t errlen, const JailConf *jc, const char *file, unsigned line, const char *what) {
        snprintf(err, errlen, "%s:%u: jail '%s': %s", file ?: jc->file, file ? line : jc->line, jc->name, what);
}

int jail_compile(const JailConf *jc, Filter **ret_filter, DatePattern **ret_dates, char *err, size_t errlen) {
        Filter *f = NULL;
        DatePattern *dates = NULL;
        FilterError fe = {};
        char buf[256], what[512];
        int r;

        /* the <F-*> groups only for a jail whose actions can take them */
        r = filter_new_flags(&jc->filter, jc->n_action_files > 0 || jc->mail.enabled ? 0 : FILTER_NO_TAGS, &f, &fe);
        if (r < 0) {
                filter_free(f);
                if (r != -ENOMEM)
                        snprintf(err, errlen, "%s:%u: jail '%s': bad regex at offset %zu: %s",
                                 fe.file[0] ? fe.file : jc->file, fe.line, jc->name, fe.offset, fe.message);
                return r;
        }
        if (jail_reads_files(jc)) {
                /* the zone alone first, so that each error names the line of its own value */
                if (jc->logtimezone) {
                        r = date_pattern_new_why(NULL, jc->logtimezone, &dates, buf, sizeof buf);
                        dates = date_pattern_free(dates);
                        if (r < 0) {
                                filter_free(f);
                                if (r != -ENOMEM)
                                        jail_error(err, errlen, jc, jc->logtimezone_file, jc->logtimezone_line, buf);
                                return r;
                        }
                }
                r = date_pattern_new_why(jc->filter.datepattern, jc->logtimezone, &dates, buf, sizeof buf);
                if (r < 0) {
                        filter_free(f);
                        if (r != -ENOMEM) {
                                snprintf(what, sizeof what, "datepattern '%s': %s", jc->filter.datepattern ?: "", buf);
                                jail_error(err, errlen, jc, jc->filter.datepattern_file, jc->filter.datepattern_line, what);
                        }
                        return r;
                }
        }
        if (ret_dates)
                *ret_dates = dates;
        else
                date_pattern_free(dates);
        if (ret_filter)
                *ret_filter = f;
        else
                filter_free(f);
        return 0;
}
