/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What another node (or anyone with its NATS credentials) publishes: a subject and a message
 * body, through fleet_msg_parse() and the receiver's policy. A message that parses is formatted
 * again and parses back to the same value on the subject fleet_subject() gives; the policy's
 * answer is a known one and never lengthens a ban past fleet_max_bantime. */
#include <stdint.h>

#include "fleet-msg.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *in = fuzz_strndup(data, size), *json = NULL;
        char origin[FLEET_NAME_MAX + 1], subject[FLEET_SUBJECT_MAX], o2[FLEET_NAME_MAX + 1];
        AddrPrefix ign[2];
        FleetConf f = { .max_prefix4 = 24, .max_prefix6 = 48, .max_bantime_sec = 86400, .ignoreip = ign, .n_ignoreip = 2 };
        const char *body;
        FleetMsg m, back;
        FleetRefusal r;

        if (addr_prefix_from_string("192.0.2.0/24", &ign[0]) < 0 || addr_prefix_from_string("2001:db8::/64", &ign[1]) < 0)
                abort();
        /* SUBJECT\nBODY; without a newline the body goes on a subject of its own */
        body = memchr(in, '\n', size);
        if (body)
                *(char *) body++ = 0;
        else
                body = in;
        r = fleet_msg_parse(body == in ? "nftjail.ban.node-a.sshd.203-0-113-10_32" : in, body, size - (size_t) (body - in), &m, origin);
        if (r < 0 || r >= _FLEET_REFUSAL_MAX || !fleet_refusal_to_string(r) || strnlen(origin, sizeof origin) == sizeof origin)
                abort();
        if (r != FLEET_OK)
                return 0;
        if (!fleet_name_ok(m.origin) || strcmp(origin, m.origin) != 0)
                abort();
        if (fleet_subject(&m, subject, sizeof subject) < 0 || fleet_msg_format(&m, &json) < 0)
                abort();
        if (fleet_msg_parse(subject, json, strlen(json), &back, o2) != FLEET_OK || memcmp(&back, &m, sizeof m) != 0)
                abort();
        r = fleet_policy_check(&f, &m, 1764000000);
        if (r < 0 || r >= _FLEET_REFUSAL_MAX)
                abort();
        if (r == FLEET_OK && !m.unban && (m.expires == 0 || m.expires > 1764000000 + 86400))
                abort();
        return 0;
}
