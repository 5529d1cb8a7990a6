/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdatomic.h>

#include "prelude.h"
#include "util/time-util.h"

/* One worker thread of reporter/ (the AbuseIPDB reporter, the webhook sender) and what it shares
 * with the main thread: a lock and a condition (on CLOCK_MONOTONIC), the stop request, the flag
 * that aborts a transfer under way, and the settings hand-off. Settings are reference-counted by
 * their owner: the main thread leaves a reference in the worker (worker_hand()), the thread takes
 * it between two requests (worker_take()); one not taken yet is dropped through the unref
 * function given to worker_new(). The owner's own shared fields (a queue, a flag) go under
 * worker_lock(). Internal to reporter/. */

typedef struct Worker Worker;
typedef void (*WorkerUnrefFunc)(void *settings);

int worker_new(WorkerUnrefFunc unref, Worker **ret);
/* With no thread running (never started, joined, or left by worker_stop_join()'s -ETIMEDOUT:
 * then do not call it, the thread may still use w). Drops settings not taken. NULL is fine. */
Worker *worker_free(Worker *w);

/* Main thread, with none running: clears the stop request and the abort flag, hands settings
 * (a reference, which it owns even on failure) and starts fn(userdata). Returns 0 or a negative
 * errno (not logged). */
int worker_start(Worker *w, void *(*fn)(void *), void *userdata, void *settings);
/* Main thread: asks the thread to stop after the request under way, and wakes it. */
void worker_request_stop(Worker *w);
/* Main thread, at the end: asks the thread to stop, aborts its transfer, and joins it within
 * timeout_sec. Returns 0, or -ETIMEDOUT when it did not stop (it is detached then, and w and what
 * it uses must be left to it). */
int worker_stop_join(Worker *w, unsigned timeout_sec);
/* Main thread: joins a thread that said it ended. */
void worker_join(Worker *w);
/* Main thread: leaves settings (a reference, now the worker's) for the thread, replacing any not
 * taken yet, and wakes it. */
void worker_hand(Worker *w, void *settings);
/* Wakes the thread from worker_wait_until(). */
void worker_wake(Worker *w);
/* Wakes it, and its next worker_wait_until() does not sleep if it was not waiting. */
void worker_kick(Worker *w);

/* The thread: the settings to use from now on, cur or (its reference dropped) the newer ones
 * handed meanwhile; *ret_changed says which (may be NULL). */
void *worker_take(Worker *w, void *cur, bool *ret_changed);
/* The thread: sleeps until realtime t (at most a minute), a wake, new settings or a stop request,
 * unless kicked since the last call or pending(userdata) (called under the lock; may be NULL)
 * says there is work already. */
void worker_wait_until(Worker *w, usec_t t, bool (*pending)(void *userdata), void *userdata);
/* What a transfer watches to abort (http_setup()'s stop). */
atomic_bool *worker_abort_flag(Worker *w);

/* Any thread: the lock over the owner's shared fields and the stop request. */
void worker_lock(Worker *w);
void worker_unlock(Worker *w);
/* Under worker_lock(): whether the thread was asked to stop. */
bool worker_stopping(const Worker *w);
