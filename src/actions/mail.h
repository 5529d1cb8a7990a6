/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <time.h>

#include "prelude.h"

/* One ban as the mailer sees it: copies, owned by the event. dest, sender and sendername were
 * checked at load (conf-mail.c); addr is formatted by us; evidence is escaped already (ASCII
 * printable, one line per '\n'); it and the tags are the only attacker text: the body only. */
typedef struct MailBan {
        char *jail;
        char *dest;
        char *sender;
        char *sendername;
        char addr[64];          /* "203.0.113.5" or "2001:db8::/64" */
        unsigned failures;
        unsigned maxretry;
        int64_t findtime_sec;
        int64_t bantime_sec;    /* < 0: permanent */
        time_t when;
        bool lines;
        bool whois;
        unsigned rate;          /* the jail's mail rate when the ban happened */
        unsigned rate_period_sec;
        char *evidence;
        char *command;          /* an action.d actionban to run instead of a mail, or NULL */
        char *action_name;      /* its action.d name */
        int cmd_kind;           /* with command: its ActionCmd (actionstart, actionban, ...) */
        char *check;            /* with an actionban: the file's actioncheck, run first, or NULL */
        char *start;            /* with check: the actionstart run when the check fails, or NULL */
        char **tags;            /* the <F-*> groups of the ban's last failure: name, value, name, value,
                                 * ..., NULL ("F-USER", "admin"), or NULL: attacker text, checked
                                 * names, bounded values (actions_submit_ban()) */
} MailBan;

/* The value of tag name ("F-USER") in b->tags, or NULL. */
const char *mail_ban_tag(const MailBan *b, const char *name);

#define MAIL_LINES_MAX 20U
#define MAIL_LINE_MAX 500U
#define MAIL_WHOIS_MAX 4096U

/* The host name for the Subject and the Message-ID: gethostname(), or "localhost" when it holds
 * anything but letters, digits, '-' and '.'. */
void mail_hostname(char *buf, size_t len);

/* An RFC 5322 message (CRLF-free: sendmail -t -oi takes LF) for one ban. whois (may be NULL) is
 * the output of /usr/bin/whois, cleaned here. Returns 0 and a malloc'd *ret, or -ENOMEM. */
int mail_compose_ban(const MailBan *b, const char *host, const char *whois, char **ret, size_t *ret_len);

/* The digest of the bans past the rate: lines (one per ban, made by mail_digest_line()), n of them,
 * and dropped more that did not fit. Headers from tmpl. */
int mail_compose_digest(const MailBan *tmpl, const char *lines, unsigned n, unsigned dropped, const char *host,
                        char **ret, size_t *ret_len);
int mail_digest_line(const MailBan *b, char **ret);
