/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "prelude.h"

/* Reads the systemd journal with a jail's matches and hands each entry to a callback as the line
 * fail2ban's systemd backend builds ("HOSTNAME IDENT[PID]: MESSAGE"), with the entry's realtime
 * timestamp. Follows new entries through the journal's fd on the event loop. Main thread only. */

typedef struct SourceJournal SourceJournal;

/* line is NUL-terminated and at most SOURCE_LINE_MAX bytes; cut is true when MESSAGE was cut. */
typedef void (*SourceLineFn)(const char *line, size_t len, bool cut, usec_t realtime_usec, void *userdata);

#define SOURCE_LINE_MAX 8192
/* The journal source saves its position at least every SOURCE_BATCH_MAX entries within one
 * wakeup, so that the failures a batch holds for its commit stay bounded. */
#define SOURCE_BATCH_MAX 4096
/* What one drain reads at most, entries and time (the position's commit after it included): the
 * rest is read from the next loop iteration on (the poll timer, armed at once), so that a backlog
 * of a million entries does not hold the loop (the control socket, the ban flush) for the minute
 * it takes to read. */
#define SOURCE_DRAIN_MAX 4096
#define SOURCE_DRAIN_USEC (20 * USEC_PER_MSEC)
/* journald signals new entries only 250-500 ms after they are written: after an entry the
 * journal is also read on a timer, SOURCE_JOURNAL_POLL_MIN_USEC + 1/SOURCE_JOURNAL_POLL_DIVISOR
 * of the time since the last entry from now, until that reaches SOURCE_JOURNAL_POLL_MAX_USEC. */
#define SOURCE_JOURNAL_POLL_MIN_USEC (1 * USEC_PER_MSEC)
#define SOURCE_JOURNAL_POLL_DIVISOR 100
#define SOURCE_JOURNAL_POLL_MAX_USEC (250 * USEC_PER_MSEC)

/* Who keeps a source's position when not a file of its own: the manager, which commits it in the
 * state together with the failures of the lines before it. save is called at the end of each
 * batch of lines with the position after the last line handed over (source "journal": the
 * cursor; "files": the file source's JSON); a negative return means not saved (the source tries
 * again after its next batch). load is called once at start: 0 and a malloc'd string, -ENOENT
 * when there is none. */
typedef struct SourcePosition {
        int (*save)(const char *source, const char *data, void *userdata);
        int (*load)(const char *source, char **ret, void *userdata);
        void *userdata;
} SourcePosition;

/* Opens the local journal, adds the matches, and positions at the tail: only entries written
 * from now on are seen. Returns 0 or a negative errno. */
int source_journal_new(sd_event *event, const char *name, const char *match, SourceLineFn fn, void *userdata,
                      SourceJournal **ret);
SourceJournal *source_journal_free(SourceJournal *s);

/* Persists the position through pos (NULL: in STATE_DIR/journal-NAME.cursor, atomically) after
 * each batch of entries, and resumes after the saved entry when there is one: entries written while the
 * daemon was down are read (the jail drops those older than findtime). Without a saved cursor
 * the position stays at the tail. The saved entry itself is skipped when it still exists
 * (sd_journal_test_cursor); when it was vacuumed, the first entry after it is read. After a
 * crash, entries of the last batch that was read but not saved are read again: at most one
 * batch (with pos: none, the manager commits the position with the batch's failures). A cursor
 * file left by an older version is read once when pos has no position yet. state_dir and pos
 * NULL: nothing is saved. pos is borrowed and must outlive s. Returns 0 or a negative errno (the
 * position then stays at the tail). */
int source_journal_restore(SourceJournal *s, const char *state_dir, const SourcePosition *pos);

/* Reads the entries available now, at most SOURCE_DRAIN_MAX (used at start and by the io
 * handler); when more are left, the poll timer reads on from the next loop iteration. Returns
 * the number of entries dispatched or a negative errno. */
int source_journal_drain(SourceJournal *s);
uint64_t source_journal_entries(const SourceJournal *s);
