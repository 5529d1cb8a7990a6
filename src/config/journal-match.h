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

/* Whether a journal entry matched by field, alone, could come from any local user; NULL for
 * _UID, the one field the kernel attests (journald takes it from SCM_CREDENTIALS, and a sender
 * without CAP_SETUID can only pass its own uid), else a static sentence saying why not. */
const char *journal_field_forgeable(const char *field, size_t len);

/* Calls fn(alt, why, u) for every alternative of match (terms between "+") that has no _UID=
 * term: alt is its terms joined by one blank, why the reasons its terms prove nothing about the
 * sender ("_COMM is ...; SYSLOG_IDENTIFIER is ..."). Returns 0, fn's negative return, -EINVAL
 * (bad syntax: journal_match_validate() first) or -ENOMEM. */
int journal_match_forgeable(const char *match, int (*fn)(const char *alt, const char *why, void *u), void *u);
