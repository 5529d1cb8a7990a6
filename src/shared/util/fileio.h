/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* Replaces path with data, crash-safe: a temporary file next to it, written whole, fsync'ed,
 * renamed over path, and the directory fsync'ed. Mode 0600. Returns 0 or a negative errno
 * (path is then unchanged). */
int write_file_atomic(const char *path, const void *data, size_t len);

/* Reads a whole small file (at most max bytes) into a NUL-terminated buffer the caller frees.
 * Returns 0, -ENOENT, -EFBIG, or another negative errno. */
int read_file_small(const char *path, size_t max, char **ret, size_t *ret_len);
