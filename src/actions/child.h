/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdatomic.h>

#include "prelude.h"

/* What a child left: its exit status and the first bytes of its stdout and stderr. */
#define SPAWN_OUTPUT_MAX 4096U

typedef struct SpawnResult {
        int status;             /* as from waitpid() */
        bool timed_out;         /* killed (SIGKILL to its process group) at the deadline */
        bool cancelled;         /* killed because *cancel turned true */
        char out[SPAWN_OUTPUT_MAX + 1];
        size_t out_len;
        char err[SPAWN_OUTPUT_MAX + 1];
        size_t err_len;
} SpawnResult;

/* Runs argv[0] (an absolute path) with argv and envp only, in a process group of its own, with
 * the default signal dispositions and an empty signal mask, no descriptors but 0, 1 and 2:
 * stdin is a pipe fed with input, stdout and stderr are pipes read into ret (bounded; the rest
 * is read and dropped). After timeout_usec, or within a second of *cancel turning true (a
 * stopping daemon; cancel may be NULL), the group gets SIGKILL. Blocks the calling thread
 * (a worker), never the loop. Returns 0 when the child ran (see ret->status), or a negative
 * errno when it could not be started. */
int spawn_run(const char *const *argv, const char *const *envp, const char *input, size_t input_len,
              uint64_t timeout_usec, const atomic_bool *cancel, SpawnResult *ret);

/* "exit status 3", "killed by signal 9", "killed after the timeout": for logs. */
const char *spawn_status_string(const SpawnResult *r, char *buf, size_t len);
