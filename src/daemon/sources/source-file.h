/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "date.h"
#include "prelude.h"
#include "source-journal.h"

/* Tails log files for one jail, the way fail2ban's file backends do, with the guarantees of the
 * journal source: each complete line is handed over once, in order, across rotations (rename +
 * create, copytruncate), truncation and restarts.
 *
 * Lines: split on '\n' (a trailing '\r' is dropped); a partial last line is held until its
 * newline arrives; a line longer than SOURCE_LINE_MAX is cut there and handed over once with
 * cut = true, the rest of it dropped. latin-1 files are converted to UTF-8 first. The date is
 * found (date_find) and stripped; the callback gets the line without it and the date as
 * realtime_usec (0 when the line has none: the time of reading).
 *
 * Positions: per file, (device, inode, offset of the first byte not yet handed over,
 * fingerprint of the first FILE_FP_BYTES bytes), saved after each batch of lines through
 * o->position (the manager commits them in the state with the batch's failures), or atomically
 * to STATE_DIR/positions-JAIL.json without one. On start, a file with a saved
 * position resumes there; if it was rotated meanwhile, the rotated file (same inode, found in
 * the same directory) is finished first. A file without a saved position is tailed from its end
 * when present at start, and read from its start when it appears later (up to
 * FILE_CATCHUP_MAX bytes; a bigger file appearing at once is tailed from its end, with a
 * warning). After a crash, the lines of the last batch that was handed over but not saved are
 * handed over again: at most one batch (at most FILE_BATCH_MAX bytes per file); with o->position their
 * failures were not committed either, so nothing is counted twice.
 *
 * Watching: inotify on the directories of the logpath patterns (auto, pyinotify), plus a
 * rescan every FILE_RESCAN_USEC for directories that appear later; polling: a stat of each file
 * every FILE_POLL_USEC. Bad files (unreadable, a directory, a FIFO, a device) are logged once per
 * condition and path, and retried on the next rescan. Main thread only. */

typedef struct SourceFile SourceFile;

#define FILE_FP_BYTES 256
/* Bytes of one file per dispatch: adapted so that a dispatch (reading, matching, counting, the
 * commit of its failures and position) takes about FILE_BATCH_USEC, within [FILE_BATCH_MIN,
 * FILE_BATCH_MAX], starting at FILE_BATCH_START; the control socket and the ban flush are served
 * in between (a fixed 4 MiB held the loop for 300 ms in a flood, 150 ms a fixed 256 KiB with a
 * million addresses in the state). */
#define FILE_BATCH_MAX (4U * 1024 * 1024)
#define FILE_BATCH_MIN (8U * 1024)
#define FILE_BATCH_START (256U * 1024)
#define FILE_BATCH_USEC (20 * USEC_PER_MSEC)
#define FILE_CATCHUP_MAX (16U * 1024 * 1024)
#define FILE_MAX_PATHS 512
#define FILE_POLL_USEC (1 * USEC_PER_SEC)
#define FILE_RESCAN_USEC (10 * USEC_PER_SEC)

typedef struct SourceFileOptions {
        const char *name;               /* jail name, for logs and the positions file */
        char *const *paths;             /* NULL-terminated paths or glob patterns */
        bool polling;                   /* stat on a timer instead of inotify */
        bool latin1;                    /* logencoding = latin-1 */
        const DatePattern *dates;       /* NULL: automatic detection; borrowed, must outlive */
        const char *state_dir;          /* NULL: positions are not saved in a file */
        const SourcePosition *position; /* non-NULL: positions are saved through it (source "files"),
                                         * STATE_DIR/positions-JAIL.json is only read once, when it has
                                         * none (an upgrade); borrowed, must outlive */
} SourceFileOptions;

/* Opens what exists, restores saved positions and starts watching. A path that cannot be read
 * is not an error (logged, retried). Returns 0 or a negative errno (-ENOMEM, inotify failure). */
int source_file_new(sd_event *event, const SourceFileOptions *o, SourceLineFn fn, void *userdata,
                    SourceFile **ret);
/* Saves positions one last time and frees. */
SourceFile *source_file_free(SourceFile *s);

/* Reads what is available in every file now (also run by the watches). Returns the number of
 * lines handed over. */
int source_file_drain(SourceFile *s);
uint64_t source_file_lines(const SourceFile *s);
/* Looks for new files matching the glob patterns (the watches and the timer call it). */
void source_file_rescan(SourceFile *s);

/* The line splitter, public for tests: bytes in, whole lines out. The buffers come last: they are
 * written before they are read, so a splitter needs clearing only up to buf. */
typedef struct LineSplitter {
        size_t len;
        bool cut;        /* the line in buf is longer than SOURCE_LINE_MAX: the rest is dropped */
        bool discard;    /* drop bytes up to the next newline (started in the middle of a line) */
        bool latin1;
        size_t pending;  /* bytes read since the last newline: the held line, from the file's view */
        char buf[SOURCE_LINE_MAX + 1];
        char conv[SOURCE_LINE_MAX + 1]; /* latin-1 converted to UTF-8 */
} LineSplitter;

typedef void (*LineSplitterFn)(const char *line, size_t len, bool cut, void *userdata);

/* Feeds n bytes; calls fn for each line completed. Returns the number of bytes of data that
 * belong to the held partial line (not yet handed over). */
size_t line_splitter_feed(LineSplitter *ls, const char *data, size_t n, LineSplitterFn fn, void *userdata);
/* Hands over the held partial line, if any (end of a rotated file). */
void line_splitter_flush(LineSplitter *ls, LineSplitterFn fn, void *userdata);
void line_splitter_reset(LineSplitter *ls);
