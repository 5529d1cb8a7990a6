/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "conf.h"
#include "prelude.h"

/* What a jail does besides banning, off the ban path. The loop calls actions_submit_ban(), which
 * copies the event by value into a bounded queue (full: the oldest is dropped and counted) and
 * returns; ACTIONS_WORKERS threads take events and run the children (sendmail -t -oi), each
 * with a timeout (then SIGKILL), a minimal environment and no inherited descriptors, and log
 * the exit status and stderr of a failure with the jail. The workers never call into the
 * manager. Per jail at most mail.rate mails go out in mail.rate_period_sec; the bans past it go
 * into one digest mail sent when the period ends (or at shutdown). */

typedef struct Actions Actions;

#define ACTIONS_QUEUE_MAX 1024U
#define ACTIONS_WORKERS 2U
#define ACTIONS_TIMEOUT_SEC 30U
#define ACTIONS_DIGEST_MAX 1000U
#define ACTIONS_STOP_GRACE_SEC 5
#define ACTIONS_SENDMAIL "/usr/sbin/sendmail"
#define ACTIONS_WHOIS "/usr/bin/whois"

int actions_new(Actions **ret);
/* Stops the workers: what is queued goes into the jails' digests, which are sent; children
 * still running after ACTIONS_STOP_GRACE_SEC get SIGKILL. Frees. Accepts NULL, returns NULL. */
Actions *actions_free(Actions *a);

/* An automatic ban of addr (its prefix prefixlen) by jail jc with failures counted; evidence:
 * escaped matched lines, newest first, one per '\n' (may be NULL); tags: the <F-*> groups of the
 * failure that reached maxretry, "F-USER=VALUE" (attacker text, at most ACTIONS_TAGS_MAX of
 * them, each value cut at ACTIONS_TAG_VALUE_MAX bytes here; may be NULL). An action.d command
 * sees each as its tag (<F-USER>, <F-ID>, ...), always through an environment variable
 * (shell-render.h), and <F-USER> empty when there is none; a mail shows the user in its body,
 * escaped. Never blocks on a child. Returns 0, 0 when jc has no action to run, or -ENOMEM. */
#define ACTIONS_TAGS_MAX 8U
#define ACTIONS_TAG_VALUE_MAX 256U
int actions_submit_ban(Actions *a, const JailConf *jc, const Addr *addr, uint8_t prefixlen, unsigned failures,
                       const char *evidence, char *const *tags);

/* An action.d command of each of jc's action files that defines it: ACTION_CMD_START,
 * _STOP, _FLUSH (addr NULL), _UNBAN (addr, prefixlen). Commands run one at a time, in the order
 * submitted (an actionstart before the actionban after it), through the same renderer as
 * actionban; at a stop only the actionstop and actionflush still queued are run, within
 * ACTIONS_STOP_GRACE_SEC. Returns 0 or -ENOMEM. */
int actions_submit_cmd(Actions *a, const JailConf *jc, ActionCmd cmd, const Addr *addr, uint8_t prefixlen);

/* Events dropped because the queue was full, since start. */
uint64_t actions_dropped(const Actions *a);
