/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "nftjail.h"

/* Reads the systemd journal with a jail's matches and hands each entry to a callback as the line
 * fail2ban's systemd backend builds ("HOSTNAME IDENT[PID]: MESSAGE"), with the entry's realtime
 * timestamp. Follows new entries through the journal's fd on the event loop. Main thread only. */

typedef struct SourceJournal SourceJournal;

/* line is NUL-terminated and at most SOURCE_LINE_MAX bytes; cut is true when MESSAGE was cut. */
typedef void (*SourceLineFn)(const char *line, size_t len, bool cut, usec_t realtime_usec, void *userdata);

#define SOURCE_LINE_MAX 8192

/* Checks the fail2ban journalmatch syntax ("F=v F2=w + F=x"): FIELD names are [A-Z0-9_], not
 * starting with a digit, "+" separates alternatives. Returns 0 or -EINVAL with a message. */
int journal_match_validate(const char *match, char *errbuf, size_t errlen);

/* Opens the local journal, adds the matches, and positions at the tail: only entries written
 * from now on are seen. Returns 0 or a negative errno. */
int source_journal_new(sd_event *event, const char *name, const char *match, SourceLineFn fn, void *userdata,
                      SourceJournal **ret);
SourceJournal *source_journal_free(SourceJournal *s);

/* Persists the position in STATE_DIR/journal-NAME.cursor (atomically, after each batch of
 * entries), and resumes after the saved entry when there is one: entries written while the
 * daemon was down are read (the jail drops those older than findtime). Without a saved cursor
 * the position stays at the tail. The saved entry itself is skipped when it still exists
 * (sd_journal_test_cursor); when it was vacuumed, the first entry after it is read. After a
 * crash, entries of the last batch that was read but not saved are read again: at most one
 * batch. state_dir NULL: nothing is saved. Returns 0 or a negative errno (the position then
 * stays at the tail). */
int source_journal_restore(SourceJournal *s, const char *state_dir);

/* Reads every entry available now (used at start and by the io handler). Returns the number of
 * entries dispatched or a negative errno. */
int source_journal_drain(SourceJournal *s);
uint64_t source_journal_entries(const SourceJournal *s);
