/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet-msg.h"
#include "util/macro.h"

#define FLEET_TIME_MAX 253402300799LL /* 9999-12-31: no sane ban ends later */

static const char *const refusal_table[_FLEET_REFUSAL_MAX] = {
        [FLEET_OK] = "ok",
        [FLEET_REFUSE_MALFORMED] = "malformed",
        [FLEET_REFUSE_SUBJECT] = "subject",
        [FLEET_REFUSE_PREFIX] = "prefix",
        [FLEET_REFUSE_IGNOREIP] = "fleet_ignoreip",
        [FLEET_REFUSE_EXPIRED] = "expired",
        [FLEET_REFUSE_RATE] = "rate",
        [FLEET_REFUSE_JAIL] = "jail",
        [FLEET_REFUSE_LOCAL] = "ignoreip",
};

const char *fleet_refusal_to_string(FleetRefusal r) {
        return r >= 0 && r < _FLEET_REFUSAL_MAX ? refusal_table[r] : NULL;
}

static bool token_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int fleet_subject(const FleetMsg *m, char *buf, size_t len) {
        char as[ADDR_STRLEN], jail[3 * JAIL_NAME_MAX + 1];
        size_t n = 0;
        int k;

        for (const char *p = m->jail; *p; p++) {
                if (token_char(*p))
                        jail[n++] = *p;
                else
                        n += (size_t) snprintf(jail + n, 4, "%%%02X", (unsigned char) *p);
        }
        jail[n] = 0;
        addr_to_string(&m->addr, as, sizeof as);
        for (char *p = as; *p; p++)
                if (*p == '.' || *p == ':')
                        *p = '-';
        k = snprintf(buf, len, FLEET_SUBJECT_PREFIX "%s.%s.%s_%u", m->origin, jail, as, m->prefixlen);
        return k < 0 || (size_t) k >= len ? -ENAMETOOLONG : 0;
}

static const char *proto_name(uint8_t p) {
        return p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp" : "tcp";
}

int fleet_msg_format(const FleetMsg *m, char **ret) {
        _cleanup_(json_decrefp) json_t *o = NULL, *ports = NULL;
        char as[ADDR_STRLEN];
        char *s;

        o = json_object();
        ports = m->n_ports ? json_array() : json_string("all");
        if (!o || !ports)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_ports; i++)
                if (json_array_append_new(ports, json_integer(m->ports[i])) < 0)
                        return -ENOMEM;
        if (json_object_set_new(o, "v", json_integer(1)) < 0 ||
            json_object_set_new(o, "op", json_string(m->unban ? "unban" : "ban")) < 0 ||
            json_object_set_new(o, "addr", json_string(addr_to_string(&m->addr, as, sizeof as))) < 0 ||
            json_object_set_new(o, "prefixlen", json_integer(m->prefixlen)) < 0 ||
            json_object_set_new(o, "jail", json_string(m->jail)) < 0 ||
            json_object_set_new(o, "proto", json_string(proto_name(m->proto))) < 0 ||
            json_object_set(o, "ports", ports) < 0 ||
            json_object_set_new(o, "created", json_integer(m->created)) < 0 ||
            json_object_set_new(o, "expires", json_integer(m->expires)) < 0 ||
            json_object_set_new(o, "failures", json_integer(m->failures)) < 0 ||
            json_object_set_new(o, "origin", json_string(m->origin)) < 0 ||
            json_object_set_new(o, "seq", json_integer((json_int_t) m->seq)) < 0)
                return -ENOMEM;
        s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool get_int(json_t *o, const char *key, json_int_t min, json_int_t max, json_int_t *ret) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return false;
        *ret = json_integer_value(v);
        return true;
}

static bool get_str(json_t *o, const char *key, char *buf, size_t size) {
        json_t *v = json_object_get(o, key);

        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size ||
            strlen(json_string_value(v)) != json_string_length(v)) /* no NUL inside */
                return false;
        memcpy(buf, json_string_value(v), json_string_length(v) + 1);
        return true;
}

/* The node token of subject, when it starts with the prefix and has one. */
static void subject_origin(const char *subject, char origin[FLEET_NAME_MAX + 1]) {
        size_t n;

        origin[0] = 0;
        if (strncmp(subject, FLEET_SUBJECT_PREFIX, strlen(FLEET_SUBJECT_PREFIX)) != 0)
                return;
        subject += strlen(FLEET_SUBJECT_PREFIX);
        n = strcspn(subject, ".");
        if (n == 0 || n > FLEET_NAME_MAX || !subject[n])
                return;
        memcpy(origin, subject, n);
        origin[n] = 0;
        if (!fleet_name_ok(origin))
                origin[0] = 0;
}

static FleetRefusal parse_object(json_t *o, FleetMsg *m) {
        json_t *ports, *v;
        json_int_t x;
        char buf[64];
        Addr a;

        if (!json_is_object(o) || json_object_size(o) > 16)
                return FLEET_REFUSE_MALFORMED;
        if (!get_int(o, "v", 1, 1, &x) || !get_str(o, "op", buf, sizeof buf) || (strcmp(buf, "ban") && strcmp(buf, "unban")))
                return FLEET_REFUSE_MALFORMED;
        m->unban = buf[0] == 'u';
        if (!get_str(o, "origin", m->origin, sizeof m->origin) || !fleet_name_ok(m->origin))
                return FLEET_REFUSE_MALFORMED;
        if (!get_str(o, "jail", m->jail, sizeof m->jail))
                return FLEET_REFUSE_MALFORMED;
        for (const char *p = m->jail; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return FLEET_REFUSE_MALFORMED;
        if (!get_str(o, "addr", buf, sizeof buf) || addr_from_string(buf, &a) < 0)
                return FLEET_REFUSE_MALFORMED;
        if (!get_int(o, "prefixlen", 1, a.family == AF_INET ? 32 : 128, &x))
                return FLEET_REFUSE_MALFORMED;
        m->prefixlen = (uint8_t) x;
        m->addr = a;
        addr_mask(&m->addr, m->prefixlen);
        if (!addr_equal(&m->addr, &a)) /* host bits set: not what the origin banned */
                return FLEET_REFUSE_MALFORMED;
        if (!get_str(o, "proto", buf, sizeof buf))
                return FLEET_REFUSE_MALFORMED;
        m->proto = strcmp(buf, "tcp") == 0 ? IPPROTO_TCP : strcmp(buf, "udp") == 0 ? IPPROTO_UDP
                 : strcmp(buf, "sctp") == 0                                          ? IPPROTO_SCTP
                                                                                     : 0;
        if (!m->proto)
                return FLEET_REFUSE_MALFORMED;
        ports = json_object_get(o, "ports");
        if (json_is_string(ports)) {
                if (strcmp(json_string_value(ports), "all") != 0)
                        return FLEET_REFUSE_MALFORMED;
        } else if (json_is_array(ports) && json_array_size(ports) > 0 && json_array_size(ports) <= FLEET_PORTS_MAX) {
                size_t i;
                json_array_foreach(ports, i, v) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
                                return FLEET_REFUSE_MALFORMED;
                        m->ports[m->n_ports++] = (uint16_t) json_integer_value(v);
                }
        } else
                return FLEET_REFUSE_MALFORMED;
        if (!get_int(o, "created", 0, FLEET_TIME_MAX, &x))
                return FLEET_REFUSE_MALFORMED;
        m->created = x;
        if (!get_int(o, "expires", 0, FLEET_TIME_MAX, &x) || (x != 0 && x < m->created))
                return FLEET_REFUSE_MALFORMED;
        m->expires = x;
        if (!get_int(o, "failures", 0, 1000000, &x))
                return FLEET_REFUSE_MALFORMED;
        m->failures = (unsigned) x;
        if (!get_int(o, "seq", 1, INT64_MAX, &x))
                return FLEET_REFUSE_MALFORMED;
        m->seq = (uint64_t) x;
        return FLEET_OK;
}

FleetRefusal fleet_msg_parse(const char *subject, const void *data, size_t len, FleetMsg *ret,
                             char ret_origin[FLEET_NAME_MAX + 1]) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        char want[FLEET_SUBJECT_MAX];
        FleetMsg m = {};
        FleetRefusal r;

        subject_origin(subject, ret_origin);
        if (len == 0 || len > FLEET_MSG_MAX)
                return FLEET_REFUSE_MALFORMED;
        o = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
        if (!o)
                return FLEET_REFUSE_MALFORMED;
        r = parse_object(o, &m);
        if (r != FLEET_OK)
                return r;
        /* one subject per origin, jail and address, and the origin's own: a message on node-a's
         * subjects saying it comes from node-c, or one that would overwrite another ban's last
         * message, is refused */
        if (fleet_subject(&m, want, sizeof want) < 0 || strcmp(want, subject) != 0)
                return FLEET_REFUSE_SUBJECT;
        *ret = m;
        return FLEET_OK;
}

static bool prefixes_overlap(const AddrPrefix *p, const Addr *a, uint8_t plen) {
        AddrPrefix ban = { .addr = *a, .prefixlen = plen };

        if (p->addr.family != a->family)
                return false;
        return addr_prefix_contains(p, a) || addr_prefix_contains(&ban, &p->addr);
}

FleetRefusal fleet_policy_check(const FleetConf *f, FleetMsg *m, int64_t now) {
        if (m->unban)
                return FLEET_OK;
        if (m->prefixlen < (m->addr.family == AF_INET ? f->max_prefix4 : f->max_prefix6))
                return FLEET_REFUSE_PREFIX;
        if (addr_is_loopback(&m->addr))
                return FLEET_REFUSE_IGNOREIP;
        for (size_t i = 0; i < f->n_ignoreip; i++)
                if (prefixes_overlap(&f->ignoreip[i], &m->addr, m->prefixlen))
                        return FLEET_REFUSE_IGNOREIP;
        if (m->expires != 0 && m->expires <= now)
                return FLEET_REFUSE_EXPIRED;
        if (f->max_bantime_sec > 0 && (m->expires == 0 || m->expires - now > f->max_bantime_sec))
                m->expires = now + f->max_bantime_sec;
        return FLEET_OK;
}
