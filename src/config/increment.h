/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "conf.h"
#include "prelude.h"

/* bantime.increment, pure. fail2ban computes the ban time of a repeat offender with a Python
 * expression; we never run Python: bantime.formula is read by a small evaluator of a safe subset
 * of Python expressions over numbers:
 *   names      ban.Time (the jail's bantime, seconds), ban.Count (earlier bans of the address),
 *              banFactor (bantime.factor)
 *   operators  + - * / // % ** << >> , comparisons, and/or/not, "X if COND else Y", ( )
 *   functions  math.exp math.log math.sqrt math.pow float int abs min max round
 * which covers fail2ban's default formula and the one its jail.conf shows as an alternative. */

#define INCREMENT_DEFAULT_FORMULA "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor"
#define INCREMENT_FORMULA_MAX 512

/* Evaluates formula. Returns 0 with *ret, or -EINVAL (syntax: *reterr_offset = where, and
 * reterr_msg a static description), -EDOM (division by zero, a value out of range). */
int increment_formula_eval(const char *formula, double time, double count, double factor, double *ret,
                           size_t *reterr_offset, const char **reterr_msg);

/* Checks a formula once at load time (syntax, and a trial with small counts). */
int increment_formula_check(const char *formula, size_t *reterr_offset, const char **reterr_msg);

/* The ban time, in seconds, of a ban of an address banned count times before (in this jail, or
 * in all with overalljails). bantime < 0 (permanent) stays permanent. rnd: a random number in
 * [0, 1) for bantime.rndtime. Never below bantime, never above maxtime (when set), never above
 * NFTJAIL_BANTIME_MAX_SEC (rndtime included), so that the result is always a bantime_valid() one. */
int64_t increment_bantime(const BanIncrement *inc, int64_t bantime, unsigned count, double rnd);
