/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "conf.h"
#include "prelude.h"

/* The fleet's wire format, pure (no NATS, no threads): subjects, the JSON of a ban, and the
 * receiver's policy. docs/FLEET.md describes the format for admins and other implementations.
 *
 * Subject: nftjail.ban.NODE.JAIL.ADDR_PLEN, where JAIL keeps [A-Za-z0-9_-] and writes every
 * other byte as %XX, and ADDR is the address with '.' and ':' as '-' (192-0-2-1_32,
 * 2001-db8--_64). One subject per origin, jail and address: the stream keeps its last message. */

#define FLEET_STREAM "NFTJAIL_BANS"
#define FLEET_SUBJECT_PREFIX "nftjail.ban."
#define FLEET_SUBJECT_MAX 512U
#define FLEET_MSG_MAX 4096U     /* bytes of JSON a receiver parses at most */
#define FLEET_PORTS_MAX 64U

typedef struct FleetMsg {
        bool unban;             /* a tombstone: the origin lifted this ban */
        Addr addr;              /* masked to prefixlen */
        uint8_t prefixlen;
        char jail[JAIL_NAME_MAX + 1];
        char origin[FLEET_NAME_MAX + 1];
        uint8_t proto;          /* IPPROTO_TCP, UDP, SCTP; 0 with n_ports 0: every port */
        uint16_t ports[FLEET_PORTS_MAX];
        size_t n_ports;
        int64_t created;        /* unix seconds */
        int64_t expires;        /* unix seconds; 0: permanent */
        unsigned failures;
        uint64_t seq;           /* per origin, grows */
        uint64_t behind;        /* receiver only: messages of the stream after this one as it came */
} FleetMsg;

/* The subject of m (origin, jail, address). Returns 0 or -ENAMETOOLONG. */
int fleet_subject(const FleetMsg *m, char *buf, size_t len);
/* The JSON of m, malloc'd, NUL-terminated. Returns 0 or -ENOMEM. */
int fleet_msg_format(const FleetMsg *m, char **ret);

/* Why a received message was not applied (counted per origin and reason). */
typedef enum FleetRefusal {
        FLEET_OK = 0,
        FLEET_REFUSE_MALFORMED,     /* too long, not JSON, a field missing or of the wrong type or range */
        FLEET_REFUSE_SUBJECT,       /* the subject is not the one of its origin, jail and address */
        FLEET_REFUSE_PREFIX,        /* wider than fleet_max_prefix */
        FLEET_REFUSE_IGNOREIP,      /* within (or covering) fleet_ignoreip, or loopback */
        FLEET_REFUSE_EXPIRED,       /* expired already */
        FLEET_REFUSE_RATE,          /* over the origin's fleet_rate */
        FLEET_REFUSE_JAIL,          /* no enabled jail of that name here */
        FLEET_REFUSE_LOCAL,         /* the jail's own ignoreip or ignoreself */
        _FLEET_REFUSAL_MAX,
        _FLEET_REFUSAL_INVALID = -EINVAL,
} FleetRefusal;

const char *fleet_refusal_to_string(FleetRefusal r);

/* Parses the message data (len bytes, hostile) received on subject into *ret: strict types, a
 * valid address masked to its prefix, and the subject must be exactly fleet_subject() of it.
 * Returns FLEET_OK or FLEET_REFUSE_MALFORMED / FLEET_REFUSE_SUBJECT. *ret_origin gets the node
 * token of the subject whenever it has one (for counting refusals), else "". */
FleetRefusal fleet_msg_parse(const char *subject, const void *data, size_t len, FleetMsg *ret,
                             char ret_origin[FLEET_NAME_MAX + 1]);

/* The receiver's policy that needs no jail: fleet_max_prefix, fleet_ignoreip (either way: a
 * ban inside a protected network, or one that covers one), loopback, expiry at now (unix
 * seconds). A ban is clamped to fleet_max_bantime from now (m->expires lowered). */
FleetRefusal fleet_policy_check(const FleetConf *f, FleetMsg *m, int64_t now);
