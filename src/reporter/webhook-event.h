/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "conf.h"
#include "prelude.h"
#include "util/time-util.h"

/* A webhook's event and what its reply means, as pure functions (no I/O, no clock: times are
 * parameters), unit-tested. An event holds only what the daemon computed (jail, address, counts,
 * times, host name, a random id): never attacker text such as user names or log lines. */

#define WEBHOOK_EVENT_ID_LEN 32 /* hex digits of 128 random bits */
#define WEBHOOK_BACKOFF_BASE_USEC (5 * USEC_PER_SEC)
#define WEBHOOK_BACKOFF_MAX_USEC (600 * USEC_PER_SEC)
#define WEBHOOK_ATTEMPTS_MAX 200U
#define WEBHOOK_AGE_MAX_USEC (86400 * USEC_PER_SEC)
#define WEBHOOK_HOST_MAX 64U

typedef enum WebhookKind {
        WEBHOOK_KIND_BAN,
        WEBHOOK_KIND_UNBAN,     /* nftjail unban */
        WEBHOOK_KIND_EXPIRY,    /* the ban's time ran out (seen by the daemon's minutely gc) */
        _WEBHOOK_KIND_MAX,
        _WEBHOOK_KIND_INVALID = -EINVAL,
} WebhookKind;

const char *webhook_kind_to_string(WebhookKind k);

typedef struct WebhookEvent {
        WebhookKind kind;
        char id[WEBHOOK_EVENT_ID_LEN + 1];
        char jail[JAIL_NAME_MAX + 1];
        Addr addr;              /* the offending address */
        AddrPrefix prefix;      /* what the ban covers: addr/32, addr/128, or its IPv6 /ipv6_prefix */
        unsigned failures;      /* 0 for an unban or expiry */
        int64_t bantime_sec;    /* < 0: permanent; 0 for an unban */
        usec_t time;            /* realtime of the ban or unban */
        usec_t expires;         /* realtime the ban ends; 0: never (or an unban) */
        char host[WEBHOOK_HOST_MAX + 1]; /* printable ASCII (webhook_host_sanitize()) */
} WebhookEvent;

/* The host name as it may go into a header: printable ASCII without blanks, cut. */
void webhook_host_sanitize(const char *in, char *out, size_t len);
/* A jail name as it may go into a header and a JSON string: bytes outside printable ASCII as '?'. */
void webhook_name_sanitize(const char *in, char *out, size_t len);

/* "2026-12-02T15:21:41Z" of realtime t into buf (>= 32). */
char *webhook_time(usec_t t, char *buf, size_t len);

/* The body POSTed for ev in format f, and for ntfy the Title header's value (else NULL): both
 * new strings. Returns 0 or -ENOMEM. */
int webhook_render(WebhookFormat f, const WebhookEvent *ev, char **ret_body, char **ret_title);
const char *webhook_content_type(WebhookFormat f);

typedef enum WebhookOutcome {
        WEBHOOK_DELIVERED,      /* 2xx: delete the row */
        WEBHOOK_RETRY,          /* no answer (timeout, refused, reset), 408, 429, 5xx */
        WEBHOOK_REJECTED,       /* any other answer (4xx, a redirect, 1xx): log once and drop */
        _WEBHOOK_OUTCOME_MAX,
        _WEBHOOK_OUTCOME_INVALID = -EINVAL,
} WebhookOutcome;

/* http_status 0: no HTTP answer. */
WebhookOutcome webhook_classify(long http_status);
/* 5 s doubled per failed attempt (attempt 0 is the first failure), at most 10 minutes. */
usec_t webhook_backoff(unsigned attempt);
/* Whether a row created at created and tried attempts times is past retrying at now. */
bool webhook_expired(usec_t created, unsigned attempts, usec_t now);
