/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Escapes attacker-controlled bytes for logging: printable ASCII stays, quotes and backslashes
 * are escaped, everything else becomes \xNN. Always NUL-terminates; cuts with "..." when out is
 * too small. Returns out. */
char *escape_bytes(const char *in, size_t len, char *out, size_t outlen);

/* Frees a NULL-terminated array of strings and the array; returns NULL. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
/* Appends a copy of s. Returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
/* A copy of l (NULL for NULL, an empty l, or no memory). */
char **strv_copy(char *const *l);

/* 64-bit FNV-1a of n bytes: positions' file fingerprints, the clean-stop token, filter sessions.
 * Not for tables whose keys an attacker picks freely (addr.c seeds its own). */
uint64_t fnv1a64(const void *p, size_t n);

/* Removes leading and trailing blanks in place; returns s. */
char *strstrip(char *s);

/* A NUL-terminated copy of the n bytes at p, which need not be NUL-terminated (strndup() may be
 * checked as reading a string to its end). Returns NULL on ENOMEM. */
char *memdup_str(const char *p, size_t n);
