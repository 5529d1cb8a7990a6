/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* How persist.c stores a failure's tags (the F-NAME=VALUE strings a filter captured), exposed
 * for the unit tests. The stored form: each "F-NAME=VALUE" followed by a NUL.
 *
 * persist_tags_encode(): tags (NULL-terminated, may be NULL) into buf; returns the length, 0 for
 * none or when they would not fit in len.
 * persist_tags_decode(): the stored bytes back into a strv (free with strv_free()); NULL for
 * none, and NULL (logged at debug) unless every entry is well formed: NUL-terminated, "F-" and
 * a name of A-Z 0-9 _ (1 to 38 characters), "=", a value of at most MATCH_TAG_VALUE_MAX bytes,
 * at most MATCH_TAGS_MAX entries. The bytes come from the state file: hostile input. */
size_t persist_tags_encode(char *const *tags, char *buf, size_t len);
char **persist_tags_decode(const char *p, size_t len);
