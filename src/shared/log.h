/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <syslog.h>

#include "prelude.h"

/* Logging. Under journald (JOURNAL_STREAM names our stderr) entries go through sd_journal_send()
 * with structured fields; otherwise plain lines on stderr. Thread-safe: no static buffers. */

typedef enum LogTarget {
        LOG_TARGET_AUTO,        /* the journal when JOURNAL_STREAM names our stderr, else stderr */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

LogTarget log_target_from_string(const char *s);
void log_set_target(LogTarget t);
void log_open(void);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "debug", "info", ... or a number. Returns the level or -EINVAL. */
int log_level_from_string(const char *s);

/* Returns -abs(error) (or 0 when error is 0) so callers can write return log_error_errno(r, ...). */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...)
        _printf_(6, 7);

/* Structured event: fields are "KEY=value" strings, NULL-terminated; MESSAGE is given separately.
 * message_id is a 32-hex-digit id from log-ids.h, or NULL. */
int log_event(int level, int error, const char *message_id, const char *const *fields, const char *format, ...)
        _printf_(5, 6);

/* While set, every message at LOG_ERR or more severe logged by this thread is also handed to fn
 * (the control socket collects the errors of a reload that a client asked for, to send them back).
 * Thread-local: other threads' messages never reach it. fn NULL ends the capture. */
typedef void (*LogCaptureFn)(int level, const char *message_id, const char *msg, void *userdata);
void log_set_capture(LogCaptureFn fn, void *userdata);

#define log_full_errno(level, error, ...) log_internal(level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "out of memory")
