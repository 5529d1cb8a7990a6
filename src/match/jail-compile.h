/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "conf.h"
#include "date.h"
#include "match.h"
#include "prelude.h"

/* Compiles what loading the configuration cannot check without PCRE2: a jail's filter (its
 * regexes), the datepattern and logtimezone of a jail that reads files (jail_reads_files()).
 * Returns 0 with *ret_filter and *ret_dates (NULL: checked, then freed; *ret_dates is
 * NULL for a journal jail); -ENOMEM; or -EINVAL with err holding "FILE:LINE: jail 'NAME': ...".
 * Used by the daemon and by `nftjail test-config`, so both refuse the same configurations. */
int jail_compile(const JailConf *jc, Filter **ret_filter, DatePattern **ret_dates, char *err, size_t errlen);
