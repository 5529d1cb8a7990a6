/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "jail-compile.h"
#include "journal-match.h"

/* fail2ban's backend = auto reads the files of logpath when there are any, else the journal. */
bool jail_reads_files(const JailConf *jc) {
        return jc->backend == BACKEND_POLLING || jc->backend == BACKEND_PYINOTIFY ||
               (jc->backend == BACKEND_AUTO && jc->logpath && jc->logpath[0]);
}

static const char *strempty(const char *s) {
        return s ? s : "";
}

int jail_compile(const JailConf *jc, Filter **ret_filter, DatePattern **ret_dates, char *err, size_t errlen) {
        Filter *f = NULL;
        DatePattern *dates = NULL;
        FilterError fe = {};
        char buf[256];
        int r;

        r = filter_new(&jc->filter, &f, &fe);
        if (r < 0) {
                filter_free(f);
                if (r != -ENOMEM)
                        snprintf(err, errlen, "%s:%u: jail '%s': bad regex at offset %zu: %s",
                                 fe.file[0] ? fe.file : jc->file, fe.line, jc->name, fe.offset, fe.message);
                return r;
        }
        if (jail_reads_files(jc)) {
                r = date_pattern_new_why(jc->filter.datepattern, jc->logtimezone, &dates, buf, sizeof buf);
                if (r < 0) {
                        filter_free(f);
                        if (r != -ENOMEM)
                                snprintf(err, errlen, "%s:%u: jail '%s': datepattern '%s': %s", jc->file, jc->line,
                                         jc->name, strempty(jc->filter.datepattern), buf);
                        return r;
                }
        } else if (journal_match_validate(jc->journalmatch, buf, sizeof buf) < 0) {
                filter_free(f);
                snprintf(err, errlen, "%s:%u: jail '%s': journalmatch: %s", jc->file, jc->line, jc->name, buf);
                return -EINVAL;
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
