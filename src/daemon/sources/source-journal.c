/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-journal.h>

#include "journal-match.h"
#include "log.h"
#include "source-journal.h"
#include "util/fileio.h"


struct SourceJournal {
        char *name;
        sd_journal *journal;
        sd_event_source *io;
        sd_event_source *poll;  /* after an entry: reads on a timer too (source_journal_heat()) */
        usec_t last_entry;      /* CLOCK_MONOTONIC of the last wakeup that read an entry; 0: none */
        SourceLineFn fn;
        void *userdata;
        uint64_t entries;
        char *anchor;           /* cursor of the last entry read (or resumed after); NULL: none yet */
        usec_t anchor_realtime; /* no anchor: where reading started (sd_journal_seek_realtime_usec()) */
        bool reseek;            /* the next read starts from the anchor (source_journal_reseek()) */
        bool more;              /* the last drain stopped at SOURCE_DRAIN_MAX with entries left */
        uint64_t save_ns;       /* what saving the position cost per entry read before it (the
                                 * jail commits the failures with it): a drain leaves time for it */
        char *cursor_path;      /* NULL: the position is not saved in a file */
        const SourcePosition *pos; /* non-NULL: the position is saved through it */
        char line[SOURCE_LINE_MAX + 1];
};

static int add_term(const char *t, size_t len, void *u) {
        sd_journal *j = u;

        if (!t)
                return sd_journal_add_disjunction(j);
        return sd_journal_add_match(j, t, len);
}

static const char *field_get(sd_journal *j, const char *field, size_t flen, size_t *ret_len) {
        const void *d;
        size_t l;

        if (sd_journal_get_data(j, field, &d, &l) < 0 || l <= flen + 1)
                return NULL;
        *ret_len = l - flen - 1;
        return (const char *) d + flen + 1;
}

#define FIELD(j, name, lenp) field_get(j, name, sizeof(name) - 1, lenp)

/* Appends at most n bytes, replacing NUL and newlines by blanks (the line is one line). */
static size_t append(char *buf, size_t o, const char *s, size_t n) {
        for (size_t i = 0; i < n && o < SOURCE_LINE_MAX; i++) {
                char c = s[i];
                buf[o++] = (c == 0 || c == '\n' || c == '\r') ? ' ' : c;
        }
        return o;
}

static int source_journal_dispatch(SourceJournal *s) {
        sd_journal *j = s->journal;
        const char *host, *ident, *pid, *msg;
        size_t hl = 0, il = 0, pl = 0, ml = 0, o = 0;
        uint64_t rt = 0;
        bool cut;

        msg = FIELD(j, "MESSAGE", &ml);
        if (!msg)
                return 0;
        host = FIELD(j, "_HOSTNAME", &hl);
        ident = FIELD(j, "SYSLOG_IDENTIFIER", &il);
        if (!ident)
                ident = FIELD(j, "_COMM", &il);
        pid = FIELD(j, "SYSLOG_PID", &pl);
        if (!pid)
                pid = FIELD(j, "_PID", &pl);
        (void) sd_journal_get_realtime_usec(j, &rt);

        if (host) {
                o = append(s->line, o, host, MIN(hl, 255));
                o = append(s->line, o, " ", 1);
        }
        if (ident) {
                o = append(s->line, o, ident, MIN(il, 255));
                if (pid) {
                        o = append(s->line, o, "[", 1);
                        o = append(s->line, o, pid, MIN(pl, 20));
                        o = append(s->line, o, "]", 1);
                }
                o = append(s->line, o, ": ", 2);
        }
        cut = o + ml > SOURCE_LINE_MAX;
        o = append(s->line, o, msg, ml);
        s->line[o] = 0;
        s->entries++;
        s->fn(s->line, o, cut, rt, s->userdata);
        return 1;
}

static void source_journal_save(SourceJournal *s) {
        char *c = NULL;
        int r;

        if (sd_journal_get_cursor(s->journal, &c) < 0)
                return;
        free(s->anchor);
        s->anchor = c;
        if (!s->pos && !s->cursor_path)
                return;
        if (s->pos) {
                (void) s->pos->save("journal", c, s->pos->userdata); /* it logs */
                return;
        }
        r = write_file_atomic(s->cursor_path, c, strlen(c));
        if (r < 0)
                log_warning_errno(r, "%s: cannot save the journal position in %s, ignoring: %m", s->name,
                                  s->cursor_path);
}

/* sd_journal_next() that finds nothing in a file remembers the file's entry count (its header's
 * n_entries) and, while the count stays the same, answers "nothing new" for that file without
 * looking again (sd-journal.c next_beyond_location()). journald counts an entry in n_entries
 * before it links it into the entry arrays of its fields, which the matches search
 * (journal-file.c journal_file_link_entry()): a read in between does not find the entry, and
 * later reads do not look for it until journald appends another one. Seen in the rig as a lost
 * ban: the last failure of an attacker was written while a poll read, no later read returned
 * it, journald's notification of it included, and nothing else was written. So a read can
 * start from the entry read last: the seek makes sd-journal search the files again. That costs
 * a search of every journal file with the matches (~135,000 instructions with four files of
 * 10,000 sshd entries, against ~250 for an sd_journal_next() that finds nothing): not on every
 * poll, but on journald's notification, which comes after every append has completed (so no
 * entry stays unread longer than that, 250-500 ms), and on the read after one that read
 * entries (while entries flow, when a read most likely meets an append: the entry is read on
 * the next poll). Returns 1 when the entry read last is gone (vacuumed) and the journal now
 * stands on a newer one, not read yet; 0 when positioned after what was read. */
static int source_journal_reseek(SourceJournal *s) {
        int r;

        if (!s->anchor) {
                if (s->anchor_realtime == 0)
                        return 0;
                return sd_journal_seek_realtime_usec(s->journal, s->anchor_realtime);
        }
        r = sd_journal_seek_cursor(s->journal, s->anchor);
        if (r < 0)
                return r;
        r = sd_journal_next(s->journal);
        if (r <= 0)
                return r;
        return sd_journal_test_cursor(s->journal, s->anchor) > 0 ? 0 : 1;
}

/* Saves the position after n entries read since the last save, and learns what that costs. */
static void source_journal_save_timed(SourceJournal *s, unsigned n) {
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        source_journal_save(s);
        if (n >= 64) {
                uint64_t per = (now_usec(CLOCK_MONOTONIC) - t0) * 1000 / n;
                s->save_ns = s->save_ns ? (s->save_ns + per) / 2 : per;
        }
}

int source_journal_drain(SourceJournal *s) {
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        int n = 0, r;
        unsigned batch = 0, batch_total = 0;
        bool moved = false;

        r = s->reseek ? source_journal_reseek(s) : 0;
        s->reseek = r > 0;
        if (r < 0)
                log_debug_errno(r, "%s: cannot go back to the last entry read, reading on: %m", s->name);
        else if (r > 0) {
                moved = true;
                if (source_journal_dispatch(s) > 0)
                        n++;
                batch++;
        }
        s->more = false;
        for (;;) {
                /* the commit that follows is part of the drain's time: under a flood each entry is
                 * a failure row, and the commit of 3,000 took 10-29 ms after 20 ms of reading */
                if (batch_total >= SOURCE_DRAIN_MAX ||
                    (batch_total % 64 == 63 &&
                     now_usec(CLOCK_MONOTONIC) - t0 + batch * s->save_ns / 1000 >= SOURCE_DRAIN_USEC)) {
                        s->more = true;
                        break;
                }
                batch_total++;
                r = sd_journal_next(s->journal);
                if (r < 0) {
                        r = log_debug_errno(r, "%s: failed to read the journal: %m", s->name);
                        break;
                }
                if (r == 0)
                        break;
                moved = true;
                s->reseek = true;
                r = source_journal_dispatch(s);
                if (r > 0)
                        n++;
                /* a long burst: commit what was read so far, at this entry boundary */
                if (++batch >= SOURCE_BATCH_MAX) {
                        source_journal_save_timed(s, batch);
                        batch = 0;
                        moved = false;
                }
        }
        /* the cursor of the last entry read: a restart continues after it */
        if (moved)
                source_journal_save_timed(s, batch);
        if (s->more && s->poll &&
            (sd_event_source_set_time(s->poll, now_usec(CLOCK_MONOTONIC)) < 0 ||
             sd_event_source_set_enabled(s->poll, SD_EVENT_ONESHOT) < 0))
                log_debug("%s: cannot arm the journal poll; the rest is read at the next change", s->name);
        return r < 0 ? r : n;
}

int source_journal_restore(SourceJournal *s, const char *state_dir, const SourcePosition *pos) {
        _cleanup_free_ char *c = NULL;
        size_t len = 0;
        int r = -ENOENT;

        s->pos = pos;
        if (pos) {
                r = pos->load("journal", &c, pos->userdata);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (r >= 0)
                        len = strlen(c);
        }
        if (!state_dir && r < 0)
                return 0;
        if (state_dir && asprintf(&s->cursor_path, "%s/journal-%s.cursor", state_dir, s->name) < 0) {
                s->cursor_path = NULL;
                return -ENOMEM;
        }
        /* the jail name is one path component */
        for (char *p = s->cursor_path ? s->cursor_path + strlen(state_dir) + 1 : NULL; p && *p; p++)
                if (*p == '/')
                        *p = '_';
        if (r == -ENOENT) {
                if (!s->cursor_path)
                        return 0;
                /* none in pos: the cursor file (of an older version when pos is set) */
                r = read_file_small(s->cursor_path, 4096, &c, &len);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                if (pos)
                        log_info("%s: resuming from %s once; the position is kept in the state from now on",
                                 s->name, s->cursor_path);
        }
        while (len > 0 && (c[len - 1] == '\n' || c[len - 1] == ' '))
                c[--len] = 0;
        if (len == 0)
                return -EINVAL;
        r = sd_journal_seek_cursor(s->journal, c);
        if (r < 0)
                return r;
        free(s->anchor);
        s->anchor = TAKE_PTR(c);
        r = sd_journal_next(s->journal);
        if (r < 0)
                return r;
        if (r == 0)
                return 0; /* nothing at or after it: the tail, where we are */
        if (sd_journal_test_cursor(s->journal, s->anchor) <= 0) {
                /* the saved entry is gone (vacuumed): this one comes after it, read it */
                if (source_journal_dispatch(s) > 0)
                        log_debug("%s: saved journal entry is gone; resuming at the next one", s->name);
                source_journal_save(s);
        }
        log_info("%s: resuming the journal after the last entry read before the restart", s->name);
        /* what was written while we were down is read now, not at the next journal change */
        r = source_journal_drain(s);
        return r < 0 ? r : 0;
}

/* journald writes each entry into the mapped file at once, but tells readers (an ftruncate() that
 * inotify reports) only from a timer armed at the first change, 250 ms with sd-event's default
 * accuracy of 250 ms on top: 250-500 ms later (systemd journald-server.c
 * POST_CHANGE_TIMER_INTERVAL_USEC, journal-file.c schedule_post_change()). Waiting for the fd
 * alone delays an entry by that much. So after an entry the source also looks with
 * sd_journal_next(), first SOURCE_JOURNAL_POLL_MIN_USEC later, then at intervals that grow with
 * the quiet time d since the last entry: POLL_MIN + d / SOURCE_JOURNAL_POLL_DIVISOR. An entry is
 * then read at most 1 ms + 1% of the silence before it after it was written (a failure 2 s after
 * the one before: 21 ms). Once the interval would reach journald's own 250 ms, polling brings
 * nothing and stops (about 25 s after the last entry): the fd alone again, no wakeups when idle.
 * The cost is the wakeups (an empty sd_journal_next() costs little next to one): about 300 in
 * the 25 s after a lone entry; with a failure every 5 s, 77/s and 0.5% of a core (measured on a
 * 2-core VM, where a wakeup costs ~40 us); under a flood, ~25% more CPU than the fd alone. Each
 * journal jail polls on its own entries. The first entry after a quiet spell still waits for
 * journald's notification (measured 380-570 ms): a poll while idle would cost wakeups forever,
 * for the first failure of an attacker only, which rarely is the one that reaches maxretry. */
static void source_journal_heat(SourceJournal *s, int n) {
        usec_t now = now_usec(CLOCK_MONOTONIC), next;

        if (n > 0)
                s->last_entry = now;
        if (s->more)
                return; /* source_journal_drain() armed the poll to read on at once */
        next = SOURCE_JOURNAL_POLL_MIN_USEC + (now - s->last_entry) / SOURCE_JOURNAL_POLL_DIVISOR;
        if (!s->poll || s->last_entry == 0 || next >= SOURCE_JOURNAL_POLL_MAX_USEC) {
                if (s->poll)
                        (void) sd_event_source_set_enabled(s->poll, SD_EVENT_OFF);
                return;
        }
        if (sd_event_source_set_time(s->poll, now + next) < 0 ||
            sd_event_source_set_enabled(s->poll, SD_EVENT_ONESHOT) < 0)
                log_debug("%s: cannot arm the journal poll; the fd alone is watched", s->name);
}

static int source_journal_on_poll(sd_event_source *es, uint64_t usec, void *userdata) {
        SourceJournal *s = userdata;

        source_journal_heat(s, source_journal_drain(s));
        return 0;
}

static int source_journal_on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        SourceJournal *s = userdata;
        int r, n;

        r = sd_journal_process(s->journal);
        if (r < 0) {
                log_warning_errno(r, "%s: failed to process journal changes, ignoring: %m", s->name);
                return 0;
        }
        s->reseek = true;
        n = source_journal_drain(s);
        log_debug("%s: journal changed (%d), %d entries read", s->name, r, n);
        source_journal_heat(s, n);
        return 0;
}

int source_journal_new(sd_event *event, const char *name, const char *match, SourceLineFn fn, void *userdata,
                       SourceJournal **ret) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        SourceJournal *s;
        char err[128];
        usec_t start = 0;
        int fd, r;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        /* we never look past SOURCE_LINE_MAX bytes of a message */
        (void) sd_journal_set_data_threshold(j, SOURCE_LINE_MAX + 16);
        if (match) {
                r = journal_match_foreach(match, add_term, j, err, sizeof err);
                if (r < 0)
                        return r;
        }
        r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;
        /* seek_tail places us after the last entry; previous() makes next() return only new ones.
         * When no entry matches yet, previous() finds nothing and the position stays "tail",
         * from which next() would jump to whatever is last when entries arrive and skip the
         * others (seen with three entries that came in one inotify wakeup): then start from
         * the current time instead, a position next() walks forward from. */
        r = sd_journal_previous(j);
        if (r < 0)
                return r;
        if (r == 0) {
                start = now_usec(CLOCK_REALTIME);
                r = sd_journal_seek_realtime_usec(j, start);
                if (r < 0)
                        return r;
        }

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->name = strdup(name);
        if (!s->name) {
                free(s);
                return -ENOMEM;
        }
        /* where the reads start from (source_journal_reseek()); without it, as before */
        if (start == 0 && sd_journal_get_cursor(j, &s->anchor) < 0)
                s->anchor = NULL;
        s->anchor_realtime = start;
        s->fn = fn;
        s->userdata = userdata;
        s->journal = TAKE_PTR(j);

        fd = sd_journal_get_fd(s->journal);
        if (fd < 0) {
                r = fd;
                goto fail;
        }
        r = sd_event_add_io(event, &s->io, fd, (uint32_t) sd_journal_get_events(s->journal), source_journal_on_io, s);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(s->io, name);
        /* accuracy 1 us: the default (250 ms) would let sd-event coalesce the poll away */
        r = sd_event_add_time(event, &s->poll, CLOCK_MONOTONIC, 0, 1, source_journal_on_poll, s);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(s->poll, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->poll, "journal-poll");
        *ret = s;
        return 0;
fail:
        source_journal_free(s);
        return r;
}

SourceJournal *source_journal_free(SourceJournal *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->poll);
        sd_journal_close(s->journal);
        free(s->anchor);
        free(s->cursor_path);
        free(s->name);
        free(s);
        return NULL;
}

uint64_t source_journal_entries(const SourceJournal *s) {
        return s->entries;
}
