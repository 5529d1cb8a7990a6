/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

/* Set by the main thread (start, reload), read by every thread that logs (the reporter too).
 * Relaxed is enough: the level publishes no other data, so a thread needs no ordering with
 * anything else, only a value that is not torn; a line logged by the old level just after a
 * reload is as good as one logged just before it. */
static atomic_int max_level = LOG_INFO;
static bool to_journal;
/* Set once a write to stderr failed with EPIPE (its reader went away: "nftjaild -f 2>&1 | head"):
 * from then on nothing is written there; messages go to the journal when it takes them, else
 * nowhere. Any thread may set it. */
static atomic_bool stderr_gone;
static LogTarget target = LOG_TARGET_AUTO;
static __thread LogCaptureFn capture_fn;
static __thread void *capture_userdata;

static const char *const log_target_table[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_JOURNAL] = "journal",
        [LOG_TARGET_STDERR] = "stderr",
};

LogTarget log_target_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(log_target_table); i++)
                if (s && strcmp(s, log_target_table[i]) == 0)
                        return (LogTarget) i;
        return _LOG_TARGET_INVALID;
}

void log_set_target(LogTarget t) {
        target = t;
        log_open();
}

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* journald sets JOURNAL_STREAM=dev:ino of the stream it gave us as stderr: only then is the
 * journal our real destination (a child that inherited the variable but not the fd is not). */
void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        to_journal = target == LOG_TARGET_JOURNAL;
        if (target != LOG_TARGET_AUTO)
                return;
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return;
        if (fstat(STDERR_FILENO, &st) < 0)
                return;
        to_journal = (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_set_max_level(int level) {
        atomic_store_explicit(&max_level, level, memory_order_relaxed);
}

int log_get_max_level(void) {
        return atomic_load_explicit(&max_level, memory_order_relaxed);
}

int log_level_from_string(const char *s) {
        char *end;
        long v;

        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcmp(s, level_names[i]) == 0)
                        return (int) i;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || end == s || v < 0 || v > LOG_DEBUG)
                return -EINVAL;
        return (int) v;
}

static int log_journal(int level, int error, const char *message_id, const char *const *fields, const char *msg) {
        struct iovec iov[24];
        char prio[16], mid[48], errbuf[24];
        _cleanup_free_ char *m = NULL;
        size_t n = 0;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return -ENOMEM;
        snprintf(prio, sizeof prio, "PRIORITY=%d", level);
        iov[n++] = (struct iovec) { m, strlen(m) };
        iov[n++] = (struct iovec) { prio, strlen(prio) };
        iov[n++] = (struct iovec) { (char *) "SYSLOG_IDENTIFIER=nftjaild", strlen("SYSLOG_IDENTIFIER=nftjaild") };
        if (message_id) {
                snprintf(mid, sizeof mid, "MESSAGE_ID=%s", message_id);
                iov[n++] = (struct iovec) { mid, strlen(mid) };
        }
        if (error != 0) {
                snprintf(errbuf, sizeof errbuf, "ERRNO=%d", abs(error));
                iov[n++] = (struct iovec) { errbuf, strlen(errbuf) };
        }
        for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
                iov[n++] = (struct iovec) { (char *) fields[i], strlen(fields[i]) };
        return sd_journal_sendv(iov, (int) n);
}

/* One line, in one write() when it fits (lines of two threads do not mix). Returns 0 or -errno. */
static int log_stderr(int level, const char *msg) {
        const char *prefix = level <= LOG_WARNING ? (level <= LOG_ERR ? "error: " : "warning: ") : "";
        char line[2100];
        size_t len, done = 0;
        int k;

        k = snprintf(line, sizeof line, "%s%s\n", prefix, msg);
        if (k < 0)
                return -EINVAL;
        len = MIN((size_t) k, sizeof line - 1);
        if (len > 0 && line[len - 1] != '\n')
                line[len - 1] = '\n';
        while (done < len) {
                ssize_t w = write(STDERR_FILENO, line + done, len - done);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? -errno : -EIO;
                done += (size_t) w;
        }
        return 0;
}

static int log_dispatch(int level, int error, const char *message_id, const char *const *fields, const char *msg) {
        bool gone = atomic_load_explicit(&stderr_gone, memory_order_relaxed);

        /* the journal refusing (no journald) falls through to stderr */
        if ((to_journal || gone) && log_journal(level, error, message_id, fields, msg) >= 0)
                return 0;
        if (gone)
                return 0;
        /* SIGPIPE is ignored (nftjaild's main), so a reader that went away is an EPIPE here */
        if (log_stderr(level, msg) == -EPIPE && !atomic_exchange(&stderr_gone, true))
                (void) log_journal(LOG_WARNING, EPIPE, NULL, NULL,
                                   "the reader of stderr went away (EPIPE): logging to the journal only from now");
        return 0;
}

static int log_format(int level, int error, const char *message_id, const char *const *fields, const char *format,
                      va_list ap) {
        char buf[2048];
        int saved = errno;

        /* %m prints the error we were given, not whatever errno happens to be */
        errno = abs(error);
        vsnprintf(buf, sizeof buf, format, ap);
        if (capture_fn && level <= LOG_ERR)
                capture_fn(level, message_id, buf, capture_userdata);
        log_dispatch(level, error, message_id, fields, buf);
        errno = saved;
        return error == 0 ? 0 : -abs(error);
}

void log_set_capture(LogCaptureFn fn, void *userdata) {
        capture_fn = fn;
        capture_userdata = userdata;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        va_list ap;
        int r;

        if (level > log_get_max_level())
                return error == 0 ? 0 : -abs(error);
        va_start(ap, format);
        r = log_format(level, error, NULL, NULL, format, ap);
        va_end(ap);
        return r;
}

int log_event(int level, int error, const char *message_id, const char *const *fields, const char *format, ...) {
        va_list ap;
        int r;

        if (level > log_get_max_level())
                return error == 0 ? 0 : -abs(error);
        va_start(ap, format);
        r = log_format(level, error, message_id, fields, format, ap);
        va_end(ap);
        return r;
}
