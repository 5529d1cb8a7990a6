/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Dotted quad, as glibc's inet_pton(AF_INET): four decimal numbers up to 255, no leading zero,
 * nothing else. */
static bool parse_ipv4(const char *s, size_t len, uint8_t ret[static 4]) {
        uint8_t out[4];
        unsigned n = 0, digits = 0, v = 0;

        for (size_t i = 0; i <= len; i++) {
                char c = i < len ? s[i] : '.';

                if (c >= '0' && c <= '9') {
                        if (digits > 0 && v == 0) /* a leading zero */
                                return false;
                        v = v * 10 + (unsigned) (c - '0');
                        if (v > 255)
                                return false;
                        digits++;
                } else if (c == '.' && digits > 0 && n < 4) {
                        out[n++] = (uint8_t) v;
                        v = digits = 0;
                } else
                        return false;
        }
        if (n != 4)
                return false;
        memcpy(ret, out, 4);
        return true;
}

/* Hex digit value plus one, 0 for anything else: one load per character. */
static const uint8_t hex_values1[256] = {
        ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
        ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
        ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* RFC 4291 text form, accepting exactly what glibc's inet_pton(AF_INET6) accepts: groups of one to
 * four hex digits, at most one "::" standing for at least one zero group, an optional dotted quad
 * in the last 32 bits, nothing else (no zone, no brackets). Reads len bytes, no NUL needed: it
 * is on the per-line path, where inet_pton() would need a NUL-terminated copy and a generic loop. */
static bool parse_ipv6(const char *s, size_t len, uint8_t ret[static 16]) {
        uint8_t out[16] = {};
        size_t i = 0, group_start, n = 0, gap = SIZE_MAX;
        unsigned digits = 0, v = 0;

        if (len == 0)
                return false;
        if (s[0] == ':') { /* only as "::" */
                if (len < 2 || s[1] != ':')
                        return false;
                i = 1;
        }
        group_start = i;
        for (; i < len; i++) {
                char c = s[i];
                int h = (int) hex_values1[(unsigned char) c] - 1;

                if (h >= 0) {
                        if (digits == 4)
                                return false;
                        v = v << 4 | (unsigned) h;
                        digits++;
                } else if (c == ':') {
                        group_start = i + 1;
                        if (digits == 0) {
                                if (gap != SIZE_MAX)
                                        return false;
                                gap = n;
                                continue;
                        }
                        if (i + 1 == len || n + 2 > 16)
                                return false;
                        out[n++] = (uint8_t) (v >> 8);
                        out[n++] = (uint8_t) v;
                        v = digits = 0;
                } else if (c == '.' && n + 4 <= 16) {
                        if (!parse_ipv4(s + group_start, len - group_start, out + n))
                                return false;
                        n += 4;
                        digits = 0;
                        break;
                } else
                        return false;
        }
        if (digits > 0) {
                if (n + 2 > 16)
                        return false;
                out[n++] = (uint8_t) (v >> 8);
                out[n++] = (uint8_t) v;
        }
        if (gap != SIZE_MAX) {
                if (n == 16) /* "::" for no group at all */
                        return false;
                memmove(out + 16 - (n - gap), out + gap, n - gap);
                memset(out + gap, 0, 16 - n);
                n = 16;
        }
        if (n != 16)
                return false;
        memcpy(ret, out, 16);
        return true;
}

int addr_parse(const char *s, size_t len, Addr *ret) {
        Addr a = {};

        if (!s || len == 0 || len >= ADDR_STRLEN || memchr(s, 0, len))
                return -EINVAL;
        if (memchr(s, ':', len)) {
                if (!parse_ipv6(s, len, a.bytes))
                        return -EINVAL;
                if (memcmp(a.bytes, v4mapped, sizeof v4mapped) == 0) {
                        memmove(a.bytes, a.bytes + 12, 4);
                        memset(a.bytes + 4, 0, 12);
                        a.family = AF_INET;
                } else
                        a.family = AF_INET6;
        } else {
                if (!parse_ipv4(s, len, a.bytes))
                        return -EINVAL;
                a.family = AF_INET;
        }
        *ret = a;
        return 0;
}

int addr_from_string(const char *s, Addr *ret) {
        return addr_parse(s, s ? strlen(s) : 0, ret);
}

int addr_from_sockaddr(const struct sockaddr *sa, Addr *ret) {
        Addr a = {};

        if (!sa)
                return -EINVAL;
        if (sa->sa_family == AF_INET) {
                a.family = AF_INET;
                memcpy(a.bytes, &((const struct sockaddr_in *) sa)->sin_addr, 4);
        } else if (sa->sa_family == AF_INET6) {
                a.family = AF_INET6;
                memcpy(a.bytes, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
                if (memcmp(a.bytes, v4mapped, sizeof v4mapped) == 0) {
                        memmove(a.bytes, a.bytes + 12, 4);
                        memset(a.bytes + 4, 0, 12);
                        a.family = AF_INET;
                }
        } else
                return -EAFNOSUPPORT;
        *ret = a;
        return 0;
}

char *addr_to_string(const Addr *a, char *buf, size_t len) {
        if (!inet_ntop(a->family, a->bytes, buf, (socklen_t) len))
                snprintf(buf, len, "?");
        return buf;
}

bool addr_equal(const Addr *a, const Addr *b) {
        return a->family == b->family && memcmp(a->bytes, b->bytes, addr_len(a)) == 0;
}

uint64_t addr_hash(const Addr *a, uint64_t seed) {
        /* FNV-1a over the bytes, mixed with a per-process seed so that attackers cannot aim for
         * one bucket; then a final avalanche (splitmix64). */
        uint64_t h = 1469598103934665603ULL ^ seed ^ a->family;
        size_t n = addr_len(a);

        for (size_t i = 0; i < n; i++) {
                h ^= a->bytes[i];
                h *= 1099511628211ULL;
        }
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
}

bool addr_is_loopback(const Addr *a) {
        static const uint8_t zero[16];

        if (a->family == AF_INET)
                return a->bytes[0] == 127 || memcmp(a->bytes, zero, 4) == 0;
        if (memcmp(a->bytes, zero, 16) == 0)
                return true;
        return memcmp(a->bytes, zero, 15) == 0 && a->bytes[15] == 1;
}

void addr_mask(Addr *a, unsigned prefixlen) {
        size_t n = addr_len(a);

        for (size_t i = 0; i < n; i++) {
                unsigned bit = (unsigned) i * 8;
                if (bit >= prefixlen)
                        a->bytes[i] = 0;
                else if (bit + 8 > prefixlen)
                        a->bytes[i] &= (uint8_t) (0xff << (8 - (prefixlen - bit)));
        }
}

int addr_prefix_from_string(const char *s, AddrPrefix *ret) {
        const char *slash;
        AddrPrefix p = {};
        unsigned max;
        int r;

        if (!s)
                return -EINVAL;
        slash = strchr(s, '/');
        r = addr_parse(s, slash ? (size_t) (slash - s) : strlen(s), &p.addr);
        if (r < 0)
                return r;
        max = p.addr.family == AF_INET ? 32 : 128;
        if (slash) {
                char *end;
                unsigned long v;

                if (slash[1] < '0' || slash[1] > '9')
                        return -EINVAL;
                errno = 0;
                v = strtoul(slash + 1, &end, 10);
                if (errno || *end || v > 128)
                        return -EINVAL;
                /* "::ffff:192.0.2.0/120" was turned into IPv4: move the length with it */
                if (p.addr.family == AF_INET && memchr(s, ':', (size_t) (slash - s))) {
                        if (v < 96)
                                return -EINVAL;
                        v -= 96;
                }
                if (v > max)
                        return -EINVAL;
                p.prefixlen = (uint8_t) v;
        } else
                p.prefixlen = (uint8_t) max;
        addr_mask(&p.addr, p.prefixlen);
        *ret = p;
        return 0;
}

bool addr_prefix_contains(const AddrPrefix *p, const Addr *a) {
        Addr m;

        if (p->addr.family != a->family)
                return false;
        m = *a;
        addr_mask(&m, p->prefixlen);
        return memcmp(m.bytes, p->addr.bytes, addr_len(a)) == 0;
}

char *addr_prefix_to_string(const AddrPrefix *p, char *buf, size_t len) {
        char a[ADDR_STRLEN];

        snprintf(buf, len, "%s/%u", addr_to_string(&p->addr, a, sizeof a), p->prefixlen);
        return buf;
}
