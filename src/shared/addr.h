/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/socket.h>

#include "prelude.h"

/* An address in binary form: the only way addresses travel between modules.
 * IPv4 is stored in the first 4 bytes, the rest zero. */
typedef struct Addr {
        uint8_t family; /* AF_INET or AF_INET6 */
        uint8_t bytes[16];
} Addr;

typedef struct AddrPrefix {
        Addr addr;      /* masked to prefixlen */
        uint8_t prefixlen;
} AddrPrefix;

#define ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define ADDR_PREFIX_STRLEN (ADDR_STRLEN + 4)

/* Parses an IPv4 or IPv6 literal of exactly len bytes (no brackets, no zone, no port).
 * "::ffff:a.b.c.d" yields the IPv4 address. Returns 0 or -EINVAL. */
int addr_parse(const char *s, size_t len, Addr *ret);
/* NUL-terminated convenience. */
int addr_from_string(const char *s, Addr *ret);

/* The address of an AF_INET or AF_INET6 sockaddr (an IPv4-mapped IPv6 one becomes IPv4).
 * Returns 0, or -EAFNOSUPPORT for any other family. */
int addr_from_sockaddr(const struct sockaddr *sa, Addr *ret);

/* Formats into buf (ADDR_STRLEN bytes); returns buf. */
char *addr_to_string(const Addr *a, char *buf, size_t len);

static inline size_t addr_len(const Addr *a) {
        return a->family == AF_INET ? 4 : 16;
}

bool addr_equal(const Addr *a, const Addr *b);
uint64_t addr_hash(const Addr *a, uint64_t seed);
/* 127.0.0.0/8, ::1, and the unspecified addresses: never to be banned. */
bool addr_is_loopback(const Addr *a);
void addr_mask(Addr *a, unsigned prefixlen);

/* "a.b.c.d", "a.b.c.d/n", "x::y", "x::y/n". Returns 0 or -EINVAL. */
int addr_prefix_from_string(const char *s, AddrPrefix *ret);
bool addr_prefix_contains(const AddrPrefix *p, const Addr *a);
char *addr_prefix_to_string(const AddrPrefix *p, char *buf, size_t len);
