/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The journal source against an entry that journald has counted but not yet linked into its
 * fields' entry arrays, the moment a read can fall into while journald appends:
 *   journal-stall BEFORE AFTER TARGET MATCH
 * BEFORE and AFTER are copies of one journal file, taken before and after journald appended
 * entries matching MATCH. TARGET (a file sd_journal_open() reads, in a mount namespace of the
 * caller's where it is the only one) first gets BEFORE with AFTER's entry count in its header,
 * and the source reads it, finding nothing new; then AFTER is written over it in place (the
 * append completed) and the source must read the new entries. Run by test-journal-stall.sh in
 * the rig. Exits 0 when they were read, 1 when not, 2 on a setup error. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source-journal.h"
#include "util/fileio.h"

#define HEADER_N_ENTRIES 152 /* offsetof(Header, n_entries), systemd journal-def.h */

static void on_line(const char *line, size_t len, bool cut, usec_t realtime_usec, void *userdata) {
        unsigned *n = userdata;

        printf("read: %.*s\n", (int) len, line);
        (*n)++;
}

static uint64_t n_entries(const char *buf, size_t len) {
        uint64_t v;

        if (len < HEADER_N_ENTRIES + sizeof v)
                return 0;
        memcpy(&v, buf + HEADER_N_ENTRIES, sizeof v);
        return le64toh(v);
}

static int write_at(const char *path, const char *buf, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
        ssize_t k;

        if (fd < 0)
                return -errno;
        k = pwrite(fd, buf, len, 0);
        close(fd);
        return k == (ssize_t) len ? 0 : -EIO;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *before = NULL, *after = NULL;
        size_t lb = 0, la = 0;
        sd_event *event = NULL;
        SourceJournal *s = NULL;
        unsigned n = 0, stale, fresh;
        int r;

        if (argc != 5) {
                fprintf(stderr, "usage: journal-stall BEFORE AFTER TARGET MATCH\n");
                return 2;
        }
        if (read_file_small(argv[1], 256 << 20, &before, &lb) < 0 || read_file_small(argv[2], 256 << 20, &after, &la) < 0 ||
            lb > la || n_entries(before, lb) == 0 || n_entries(after, la) <= n_entries(before, lb)) {
                fprintf(stderr, "journal-stall: BEFORE and AFTER are not one journal file before and after an append\n");
                return 2;
        }
        printf("entries: %llu before, %llu after\n", (unsigned long long) n_entries(before, lb),
               (unsigned long long) n_entries(after, la));
        /* journald mid-append: the entry counted in the header, not in the entry arrays yet */
        memcpy(before + HEADER_N_ENTRIES, after + HEADER_N_ENTRIES, sizeof(uint64_t));
        r = write_at(argv[3], before, lb);
        if (r >= 0)
                r = sd_event_default(&event);
        if (r >= 0)
                r = source_journal_new(event, "stall", argv[4], on_line, &n, &s);
        if (r < 0) {
                fprintf(stderr, "journal-stall: setup: %s\n", strerror(-r));
                return 2;
        }
        /* twice: sd-journal records the count on a read that continues in the same direction */
        (void) source_journal_drain(s);
        (void) source_journal_drain(s);
        stale = n;
        /* the append completes; no further entry comes */
        r = write_at(argv[3], after, la);
        if (r < 0) {
                fprintf(stderr, "journal-stall: cannot write %s: %s\n", argv[3], strerror(-r));
                return 2;
        }
        /* journald's notification of the append (here: the inotify event of the write) */
        for (usec_t end = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC; n == stale && now_usec(CLOCK_MONOTONIC) < end;)
                if (sd_event_run(event, 100 * USEC_PER_MSEC) < 0)
                        break;
        fresh = n - stale;
        printf("entries read: %u while counted but unlinked, %u after the append completed\n", stale, fresh);
        source_journal_free(s);
        sd_event_unref(event);
        return stale == 0 && fresh > 0 ? 0 : 1;
}
