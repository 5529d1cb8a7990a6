/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "source-file.h"

/* Lines handed over, joined with '|', cut ones marked with a trailing '~'. */
typedef struct Seen {
        char text[1 << 16];
        size_t len;
        unsigned n, cut;
        usec_t last_time;
} Seen;

static void seen_add(Seen *s, const char *line, size_t len, bool cut) {
        assert_int_equal(line[len], 0); /* NUL-terminated (and may hold NULs: binary content) */
        if (s->len + len + 3 < sizeof s->text) {
                memcpy(s->text + s->len, line, len);
                s->len += len;
                if (cut)
                        s->text[s->len++] = '~';
                s->text[s->len++] = '|';
                s->text[s->len] = 0;
        }
        s->n++;
        s->cut += cut;
}

static void on_split(const char *line, size_t len, bool cut, void *userdata) {
        seen_add(userdata, line, len, cut);
}

static void on_line(const char *line, size_t len, bool cut, usec_t rt, void *userdata) {
        Seen *s = userdata;
        seen_add(s, line, len, cut);
        s->last_time = rt;
}

static void test_splitter(void **state) {
        static LineSplitter ls;
        static Seen seen;
        static char big[SOURCE_LINE_MAX * 3];

        line_splitter_reset(&ls);
        /* a line in three pieces, two lines in one, CRLF */
        assert_int_equal(line_splitter_feed(&ls, "ab", 2, on_split, &seen), 2);
        assert_int_equal(line_splitter_feed(&ls, "c", 1, on_split, &seen), 3);
        assert_int_equal(line_splitter_feed(&ls, "d\ne\r\nf", 6, on_split, &seen), 1);
        assert_string_equal(seen.text, "abcd|e|");
        assert_int_equal(line_splitter_feed(&ls, "\n\n", 2, on_split, &seen), 0);
        assert_string_equal(seen.text, "abcd|e|f||");

        /* a long line: one cut line of SOURCE_LINE_MAX bytes, then the next line */
        seen = (Seen) {};
        memset(big, 'x', sizeof big);
        assert_int_equal(line_splitter_feed(&ls, big, sizeof big, on_split, &seen), sizeof big);
        assert_int_equal(seen.n, 0);
        assert_int_equal(line_splitter_feed(&ls, "yy\nz\n", 5, on_split, &seen), 0);
        assert_int_equal(seen.n, 2);
        assert_int_equal(seen.cut, 1);
        assert_int_equal(seen.len, SOURCE_LINE_MAX + 2 + 2);
        assert_string_equal(seen.text + SOURCE_LINE_MAX, "~|z|");

        /* exactly SOURCE_LINE_MAX is not cut */
        seen = (Seen) {};
        line_splitter_feed(&ls, big, SOURCE_LINE_MAX, on_split, &seen);
        line_splitter_feed(&ls, "\n", 1, on_split, &seen);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.cut, 0);

        /* discard: started in the middle of a line */
        seen = (Seen) {};
        ls.discard = true;
        line_splitter_feed(&ls, "tail of a line\nwhole\n", 21, on_split, &seen);
        assert_string_equal(seen.text, "whole|");

        /* flush hands over the last partial line */
        seen = (Seen) {};
        line_splitter_feed(&ls, "last", 4, on_split, &seen);
        line_splitter_flush(&ls, on_split, &seen);
        assert_string_equal(seen.text, "last|");
        assert_int_equal(ls.pending, 0);
}

static void test_latin1(void **state) {
        static LineSplitter ls;
        static Seen seen;
        static char big[SOURCE_LINE_MAX];

        line_splitter_reset(&ls);
        ls.latin1 = true;
        /* "Jürgen café" in latin-1 */
        line_splitter_feed(&ls, "J\xfcrgen caf\xe9\n", 12, on_split, &seen);
        assert_string_equal(seen.text, "J\xc3\xbcrgen caf\xc3\xa9|");
        assert_int_equal(seen.cut, 0);
        /* growing past the limit by the conversion cuts, on a character boundary */
        seen = (Seen) {};
        memset(big, 0xe9, sizeof big);
        line_splitter_feed(&ls, big, sizeof big, on_split, &seen);
        line_splitter_feed(&ls, "\n", 1, on_split, &seen);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.cut, 1);
        assert_int_equal(seen.len, SOURCE_LINE_MAX + 2);
}

typedef struct Fixture {
        char dir[64];
        char path[128];
        char state[128];
        Seen seen;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof *f);

        assert_non_null(f);
        strcpy(f->dir, "/tmp/nftjail-test-source-file.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/auth.log", f->dir);
        snprintf(f->state, sizeof f->state, "%s/state", f->dir);
        assert_int_equal(mkdir(f->state, 0700), 0);
        setenv("TZ", "UTC", 1);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static void append(const char *path, const char *s) {
        FILE *fp = fopen(path, "ae");

        assert_non_null(fp);
        assert_int_equal(fputs(s, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
}

static SourceFile *open_source(Fixture *f, const char *path) {
        char *paths[] = { (char *) path, NULL };
        SourceFileOptions o = { .name = "test", .paths = paths, .state_dir = f->state };
        SourceFile *s = NULL;

        assert_int_equal(source_file_new(NULL, &o, on_line, &f->seen, &s), 0);
        return s;
}

static void reset(Fixture *f) {
        f->seen = (Seen) {};
}

static void test_tail_and_resume(void **state) {
        Fixture *f = *state;
        SourceFile *s;

        append(f->path, "old 1\nold 2\npartial");
        s = open_source(f, f->path);
        /* first run: from the end; the line in progress there is not ours */
        assert_int_equal(f->seen.n, 0);
        append(f->path, " rest\nnew 1\nnew 2\nhalf");
        assert_int_equal(source_file_drain(s), 2);
        assert_string_equal(f->seen.text, "new 1|new 2|");
        /* a restart resumes exactly: the held partial line is read whole */
        source_file_free(s);
        append(f->path, " line\nwhile down\n");
        reset(f);
        s = open_source(f, f->path);
        assert_string_equal(f->seen.text, "half line|while down|");
        reset(f);
        assert_int_equal(source_file_drain(s), 0);
        source_file_free(s);
}

/* A SourcePosition kept in memory, counting the saves. */
typedef struct MemPosition {
        char *text;
        unsigned saves;
} MemPosition;

static int mem_save(const char *source, const char *data, void *userdata) {
        MemPosition *m = userdata;

        assert_string_equal(source, "files");
        free(m->text);
        m->text = strdup(data);
        assert_non_null(m->text);
        m->saves++;
        return 0;
}

static int mem_load(const char *source, char **ret, void *userdata) {
        MemPosition *m = userdata;

        assert_string_equal(source, "files");
        if (!m->text)
                return -ENOENT;
        *ret = strdup(m->text);
        return *ret ? 0 : -ENOMEM;
}

/* A position is saved when it changed, not at every start and stop: a restart that reads nothing
 * writes nothing (one transaction per jail at each start, before). */
static void test_position_saved_when_changed(void **state) {
        Fixture *f = *state;
        MemPosition m = {};
        SourcePosition pos = { .save = mem_save, .load = mem_load, .userdata = &m };
        char *paths[] = { f->path, NULL };
        SourceFileOptions o = { .name = "test", .paths = paths, .position = &pos };
        SourceFile *s = NULL;

        append(f->path, "old 1\n");
        assert_int_equal(source_file_new(NULL, &o, on_line, &f->seen, &s), 0);
        assert_int_equal(m.saves, 1); /* the first position there is */
        source_file_free(s);
        assert_int_equal(m.saves, 1);

        /* restarts that read nothing */
        for (int i = 0; i < 3; i++) {
                assert_int_equal(source_file_new(NULL, &o, on_line, &f->seen, &s), 0);
                assert_int_equal(source_file_drain(s), 0);
                source_file_free(s);
        }
        assert_int_equal(m.saves, 1);

        /* a line read moves the position */
        assert_int_equal(source_file_new(NULL, &o, on_line, &f->seen, &s), 0);
        append(f->path, "new 1\n");
        assert_int_equal(source_file_drain(s), 1);
        assert_int_equal(m.saves, 2);
        assert_int_equal(source_file_drain(s), 0);
        source_file_free(s);
        assert_int_equal(m.saves, 2);
        assert_string_equal(f->seen.text, "new 1|");
        free(m.text);
}

static void test_dates(void **state) {
        Fixture *f = *state;
        SourceFile *s;

        append(f->path, "");
        s = open_source(f, f->path);
        append(f->path, "Nov 24 13:05:01 pve pvedaemon[1]: x\n");
        source_file_drain(s);
        assert_string_equal(f->seen.text, " pve pvedaemon[1]: x|"); /* the blank stays, as in fail2ban */
        assert_true(f->seen.last_time > 0);
        reset(f);
        append(f->path, "no date\n");
        source_file_drain(s);
        assert_string_equal(f->seen.text, "no date|");
        assert_int_equal(f->seen.last_time, 0);
        source_file_free(s);
}

static void test_rotation_rename(void **state) {
        Fixture *f = *state;
        char rotated[160];
        SourceFile *s;

        snprintf(rotated, sizeof rotated, "%s.1", f->path);
        append(f->path, "");
        s = open_source(f, f->path);
        append(f->path, "a\n");
        source_file_drain(s);
        /* rename; the writer still adds to the old file, then a new one is created */
        assert_int_equal(rename(f->path, rotated), 0);
        append(rotated, "b\nc");
        source_file_drain(s);
        append(rotated, "\n");
        append(f->path, "d\ne\n");
        source_file_drain(s);
        assert_string_equal(f->seen.text, "a|b|c|d|e|");
        /* copytruncate: copy, truncate, go on writing */
        reset(f);
        append(f->path, "f\n");
        assert_int_equal(truncate(f->path, 0), 0);
        append(f->path, "g\n");
        source_file_drain(s);
        /* "f" was written and truncated between two looks: lost to us, as to fail2ban */
        assert_string_equal(f->seen.text, "g|");
        reset(f);
        append(f->path, "h\n");
        source_file_drain(s);
        assert_int_equal(truncate(f->path, 0), 0);
        append(f->path, "i-longer-than-before\n");
        source_file_drain(s);
        assert_string_equal(f->seen.text, "h|i-longer-than-before|");
        source_file_free(s);
}

static void test_rotated_while_down(void **state) {
        Fixture *f = *state;
        char rotated[160];
        SourceFile *s;

        snprintf(rotated, sizeof rotated, "%s.1", f->path);
        append(f->path, "");
        s = open_source(f, f->path);
        append(f->path, "a\n");
        source_file_drain(s);
        source_file_free(s);
        append(f->path, "b\n");
        assert_int_equal(rename(f->path, rotated), 0);
        append(rotated, "c\n");
        append(f->path, "d\n");
        reset(f);
        s = open_source(f, f->path);
        assert_string_equal(f->seen.text, "b|c|d|");
        source_file_free(s);
}

static void test_appears_later(void **state) {
        Fixture *f = *state;
        char glob[160], other[160];
        SourceFile *s;
        int fd;

        snprintf(glob, sizeof glob, "%s/*.log", f->dir);
        snprintf(other, sizeof other, "%s/b.log", f->dir);
        s = open_source(f, glob);
        assert_int_equal(source_file_drain(s), 0);
        /* created after the start: read from its start (the watch or the timer rescans) */
        append(other, "first\n");
        source_file_rescan(s);
        source_file_drain(s);
        assert_string_equal(f->seen.text, "first|");
        /* a big file appearing at once is tailed from its end */
        reset(f);
        fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) FILE_CATCHUP_MAX + 1), 0);
        close(fd);
        source_file_rescan(s);
        source_file_drain(s);
        assert_int_equal(f->seen.n, 0);
        append(f->path, "\nafter\n");
        source_file_drain(s);
        assert_string_equal(f->seen.text, "after|");
        source_file_free(s);
}

static void test_bad_files(void **state) {
        Fixture *f = *state;
        char moved[160];
        SourceFile *s;

        snprintf(moved, sizeof moved, "%s.old", f->path);
        /* a directory where the file should be, then a FIFO: ignored, never blocks */
        assert_int_equal(mkdir(f->path, 0700), 0);
        s = open_source(f, f->path);
        assert_int_equal(source_file_drain(s), 0);
        assert_int_equal(rmdir(f->path), 0);
        assert_int_equal(mkfifo(f->path, 0600), 0);
        assert_int_equal(source_file_drain(s), 0);
        assert_int_equal(unlink(f->path), 0);
        /* then the real file: appeared later, read from its start */
        append(f->path, "one\n");
        source_file_drain(s);
        assert_string_equal(f->seen.text, "one|");
        /* replaced by a FIFO: the old file is finished, the FIFO ignored */
        reset(f);
        append(f->path, "two\n");
        assert_int_equal(rename(f->path, moved), 0);
        assert_int_equal(mkfifo(f->path, 0600), 0);
        assert_int_equal(source_file_drain(s), 1);
        assert_string_equal(f->seen.text, "two|");
        assert_int_equal(source_file_drain(s), 0);
        /* binary content is lines like any other */
        assert_int_equal(unlink(f->path), 0);
        reset(f);
        {
                FILE *fp = fopen(f->path, "we");
                assert_non_null(fp);
                assert_int_equal(fwrite("\x01\x02\xff\0x\nok\n", 1, 9, fp), 9);
                fclose(fp);
        }
        source_file_drain(s);
        assert_int_equal(f->seen.n, 2);
        source_file_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_splitter),
                cmocka_unit_test(test_latin1),
                cmocka_unit_test_setup_teardown(test_tail_and_resume, setup, teardown),
                cmocka_unit_test_setup_teardown(test_position_saved_when_changed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation_rename, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotated_while_down, setup, teardown),
                cmocka_unit_test_setup_teardown(test_appears_later, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
