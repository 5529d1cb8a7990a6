/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "prelude.h"

/* fail2ban's journalmatch syntax, without the journal: the configuration checks it, the journal
 * source walks it to add its matches. Pure. */

/* Walks the terms of match: calls fn(term, len, u) per "FIELD=value" and fn(NULL, 0, u) per "+"
 * (fn may be NULL: only checks). Returns 0, fn's negative return, or -EINVAL with a message. */
int journal_match_foreach(const char *match, int (*fn)(const char *t, size_t len, void *u), void *u,
                          char *errbuf, size_t errlen);

/* Checks the fail2ban journalmatch syntax ("F=v F2=w + F=x"): FIELD names are [A-Z0-9_], not
 * starting with a digit, "+" separates alternatives. Returns 0 or -EINVAL with a message. */
int journal_match_validate(const char *match, char *errbuf, size_t errlen);
