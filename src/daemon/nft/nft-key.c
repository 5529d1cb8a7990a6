/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Elements to set names and key bytes.
 *
 * Key layout (checked with "nft --debug=netlink add element" on nft 1.0.6 / kernel 6.18):
 * concatenations use 32-bit aligned fields, so ipv4_addr . inet_proto . inet_service is
 *   c0 00 02 01 | 06 00 00 00 | 00 16 00 00     (192.0.2.1 . tcp . 22: 12 bytes)
 * the protocol in the first byte of its word, the port big-endian in the first two bytes of its
 * word. In the concatenated interval set (v6_port, pipapo) a single element carries KEY and
 * KEY_END, equal for one address; a /64 has KEY_END = the prefix's last address. In the plain
 * interval set (v6, rbtree) nft sends a start element (with timeout and comment) and an end
 * element flagged NFT_SET_ELEM_INTERVAL_END whose key is the first address AFTER the range
 * (2001:db8::2 -> end 2001:db8::3), without timeout. nft also adds a "0 [end]" element when the
 * set is empty; the kernel does not need it (a lookup below every element misses), so we don't. */

#include <string.h>
#include <sys/socket.h>

#include "nft-internal.h"
#include "nft.h"

int nft_elem_key(const NftElem *e, NftKey *ret) {
        NftKey k = {};

        if (!e || !ret)
                return -EINVAL;
        if (e->comment && strnlen(e->comment, NFT_COMMENT_MAX + 1) > NFT_COMMENT_MAX)
                return -EINVAL;
        if (e->port != 0 && e->proto == 0)
                return -EINVAL;

        switch (e->addr.family) {
        case AF_INET:
                memcpy(k.key, e->addr.bytes, 4);
                if (e->port == 0) {
                        k.set = NFT_SET_V4;
                        k.len = 4;
                } else {
                        k.set = NFT_SET_V4_PORT;
                        k.key[4] = e->proto;
                        k.key[8] = (uint8_t) (e->port >> 8);
                        k.key[9] = (uint8_t) e->port;
                        k.len = 12;
                }
                k.kind = NFT_KEY_SINGLE;
                break;

        case AF_INET6: {
                /* 0 is taken as "one address": never ban all of IPv6 by an unset field. */
                unsigned plen = e->prefixlen == 0 ? 128 : e->prefixlen;
                uint8_t last[16];
                bool carry = true;

                if (plen > 128)
                        return -EINVAL;

                /* start = masked address, last = start with every host bit set */
                for (unsigned i = 0; i < 16; i++) {
                        unsigned bits = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
                        uint8_t mask = (uint8_t) (0xffu << (8 - bits));
                        k.key[i] = e->addr.bytes[i] & mask;
                        last[i] = k.key[i] | (uint8_t) ~mask;
                }

                if (!e->interval_set && (plen == 64 || plen == 128)) {
                        /* the hash sets: the masked address, matched by the rules as
                         * "ip6 saddr & ffff:ffff:ffff:ffff::" for the /64 ones */
                        k.kind = NFT_KEY_SINGLE;
                        if (e->port == 0) {
                                k.set = plen == 64 ? NFT_SET_V6_64 : NFT_SET_V6_128;
                                k.len = 16;
                        } else {
                                k.set = plen == 64 ? NFT_SET_V6_PORT_64 : NFT_SET_V6_PORT_128;
                                k.len = 24;
                                k.key[16] = e->proto;
                                k.key[20] = (uint8_t) (e->port >> 8);
                                k.key[21] = (uint8_t) e->port;
                        }
                } else if (e->port == 0) {
                        k.set = NFT_SET_V6;
                        k.len = 16;
                        /* exclusive end: last + 1, none when last is ffff:...:ffff */
                        memcpy(k.end, last, 16);
                        for (int i = 15; i >= 0 && carry; i--) {
                                k.end[i]++;
                                carry = k.end[i] == 0;
                        }
                        k.kind = carry ? NFT_KEY_INTERVAL_OPEN : NFT_KEY_INTERVAL;
                } else {
                        k.set = NFT_SET_V6_PORT;
                        k.len = 24;
                        k.key[16] = e->proto;
                        k.key[20] = (uint8_t) (e->port >> 8);
                        k.key[21] = (uint8_t) e->port;
                        memcpy(k.end, k.key, 24);
                        memcpy(k.end, last, 16);
                        k.kind = NFT_KEY_RANGE;
                }
                break;
        }

        default:
                return -EINVAL;
        }

        *ret = k;
        return 0;
}

const char *const nft_sets[NFT_SETS_MAX] = {
        NFT_SET_V4_PORT, NFT_SET_V6_PORT_128, NFT_SET_V6_PORT_64, NFT_SET_V6_PORT,
        NFT_SET_V4,      NFT_SET_V6_128,      NFT_SET_V6_64,      NFT_SET_V6,
};

const char *nft_elem_set(const NftElem *e) {
        NftKey k;

        return nft_elem_key(e, &k) < 0 ? NULL : k.set;
}
