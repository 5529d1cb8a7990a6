/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log-ids.h"
#include "log.h"
#include "source-file.h"
#include "util/fileio.h"
#include "util/string-util.h"

#define READ_CHUNK (64U * 1024)
#define POSITIONS_MAX (1024U * 1024)

/* Conditions logged once per file until they clear. */
enum {
        WARN_STAT = 1 << 0,
        WARN_OPEN = 1 << 1,
        WARN_NOTREG = 1 << 2,
        WARN_BIG = 1 << 3,
        WARN_READ = 1 << 4,
        WARN_MISSING = 1 << 5,
};

typedef struct Saved {
        char *path;
        uint64_t dev, ino, offset, fp;
        size_t fp_len;
        bool used;
} Saved;

typedef struct Tail {
        SourceFile *owner;
        char *path;
        int fd;
        dev_t dev;
        ino_t ino;
        uint64_t offset;        /* next byte to read */
        uint64_t fp;            /* hash of the first fp_len bytes */
        size_t fp_len;
        unsigned warned;
        bool from_start;        /* the next file at this path is read from its start */
        LineSplitter ls;
} Tail;

struct SourceFile {
        char *name;
        char **patterns;
        bool polling, latin1;
        const DatePattern *dates;
        char *positions_path;
        const SourcePosition *pos;
        SourceLineFn fn;
        void *userdata;
        int inotify_fd;
        int *wds;               /* one watch per pattern's directory, -1 when not watched */
        sd_event_source *inotify_src, *timer, *more;
        Tail **tails;
        size_t n_tails;
        Saved *saved;
        size_t n_saved;
        uint64_t lines;
        unsigned batch_lines;
        uint64_t batch_budget;  /* bytes per file per drain: adapted to FILE_BATCH_USEC */
        bool started, dirty, warned_paths;
        char *last_text;        /* the positions as last loaded or saved: an equal save is skipped */
        int64_t now_sec;
        /* last, and not cleared: written before they are read */
        char strip[SOURCE_LINE_MAX + 1];
        char rbuf[READ_CHUNK];
};

/* malloc() and clear the fields before `end`, not the buffers after it. calloc() clears all of
 * a block that comes from the heap, and that touched every page of the 64 KiB read buffer and
 * the 16 KiB of line buffers of each file at start: with 10 jails, 100 of the 535 page faults
 * to READY, each a trip through the hypervisor in a VM. */
static void *alloc_cleared_to(size_t size, size_t end) {
        void *p = malloc(size);

        if (p)
                memset(p, 0, end);
        return p;
}

/* ---- line splitter ---- */

void line_splitter_reset(LineSplitter *ls) {
        bool latin1 = ls->latin1;

        ls->len = 0;
        ls->cut = ls->discard = false;
        ls->pending = 0;
        ls->latin1 = latin1;
}

static void splitter_emit(LineSplitter *ls, LineSplitterFn fn, void *userdata) {
        size_t len = ls->len;
        bool cut = ls->cut;

        if (!cut && len > 0 && ls->buf[len - 1] == '\r')
                len--;
        if (ls->latin1) {
                /* each byte >= 0x80 becomes two: convert from the end, in place, into conv */
                size_t o = 0;
                for (size_t i = 0; i < len; i++) {
                        unsigned char c = (unsigned char) ls->buf[i];
                        size_t need = c < 0x80 ? 1 : 2;
                        if (o + need > SOURCE_LINE_MAX) {
                                cut = true;
                                break;
                        }
                        if (c < 0x80)
                                ls->conv[o++] = (char) c;
                        else {
                                ls->conv[o++] = (char) (0xc0 | (c >> 6));
                                ls->conv[o++] = (char) (0x80 | (c & 0x3f));
                        }
                }
                ls->conv[o] = 0;
                fn(ls->conv, o, cut, userdata);
        } else {
                ls->buf[len] = 0;
                fn(ls->buf, len, cut, userdata);
        }
        ls->len = 0;
        ls->cut = false;
}

size_t line_splitter_feed(LineSplitter *ls, const char *data, size_t n, LineSplitterFn fn, void *userdata) {
        size_t i = 0;

        while (i < n) {
                const char *nl = memchr(data + i, '\n', n - i);
                size_t seg = nl ? (size_t) (nl - (data + i)) : n - i;

                if (ls->discard) {
                        if (nl)
                                ls->discard = false;
                        i += seg + (nl ? 1 : 0);
                        continue;
                }
                if (ls->len + seg > SOURCE_LINE_MAX) {
                        size_t room = SOURCE_LINE_MAX - ls->len;
                        memcpy(ls->buf + ls->len, data + i, room);
                        ls->len = SOURCE_LINE_MAX;
                        ls->cut = true;
                } else {
                        memcpy(ls->buf + ls->len, data + i, seg);
                        ls->len += seg;
                }
                if (!nl) {
                        ls->pending += seg;
                        break;
                }
                splitter_emit(ls, fn, userdata);
                ls->pending = 0;
                i += seg + 1;
        }
        return ls->pending;
}

void line_splitter_flush(LineSplitter *ls, LineSplitterFn fn, void *userdata) {
        if (!ls->discard && (ls->len > 0 || ls->cut))
                splitter_emit(ls, fn, userdata);
        line_splitter_reset(ls);
}

/* ---- positions ---- */

/* Hash of the first n bytes of fd; false when fewer are there. */
static bool fingerprint(int fd, size_t n, uint64_t *ret) {
        unsigned char b[FILE_FP_BYTES];
        ssize_t k;

        if (n == 0) {
                *ret = fnv1a64(b, 0);
                return true;
        }
        k = pread(fd, b, n, 0);
        if (k != (ssize_t) n)
                return false;
        *ret = fnv1a64(b, n);
        return true;
}

static void saved_free(SourceFile *s) {
        for (size_t i = 0; i < s->n_saved; i++)
                free(s->saved[i].path);
        free(s->saved);
        s->saved = NULL;
        s->n_saved = 0;
}

static void positions_load(SourceFile *s) {
        _cleanup_free_ char *text = NULL;
        json_error_t err;
        json_t *root, *files, *f;
        size_t i;
        int r;

        r = -ENOENT;
        if (s->pos) {
                r = s->pos->load("files", &text, s->pos->userdata);
                if (r < 0 && r != -ENOENT) {
                        log_warning_errno(r, "%s: cannot read the saved file positions, starting at the end of the "
                                          "files: %m", s->name);
                        return;
                }
        }
        if (r == -ENOENT && !s->positions_path)
                return;
        if (r == -ENOENT)
                r = read_file_small(s->positions_path, POSITIONS_MAX, &text, NULL);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning_errno(r, "%s: cannot read %s, starting at the end of the files: %m", s->name,
                                  s->positions_path);
                return;
        }
        root = json_loads(text, 0, &err);
        files = root ? json_object_get(root, "files") : NULL;
        if (json_is_array(files)) {
                free(s->last_text);
                s->last_text = strdup(text); /* NULL without memory: the next save is not skipped */
        }
        if (!json_is_array(files)) {
                log_warning("%s: %s is damaged (%s), starting at the end of the files", s->name,
                            s->positions_path ?: "the saved position", root ? "no files array" : err.text);
                json_decref(root);
                return;
        }
        s->saved = calloc(MAX(json_array_size(files), 1), sizeof(Saved));
        if (!s->saved) {
                json_decref(root);
                return;
        }
        json_array_foreach(files, i, f) {
                const char *path = json_string_value(json_object_get(f, "path"));
                const char *fp = json_string_value(json_object_get(f, "fingerprint"));
                json_t *dev = json_object_get(f, "dev"), *ino = json_object_get(f, "inode"),
                       *off = json_object_get(f, "offset"), *fpl = json_object_get(f, "fingerprint_bytes");
                Saved *v = &s->saved[s->n_saved];

                if (!path || !fp || !json_is_integer(dev) || !json_is_integer(ino) || !json_is_integer(off) ||
                    !json_is_integer(fpl) || json_integer_value(off) < 0 || json_integer_value(fpl) < 0 ||
                    json_integer_value(fpl) > FILE_FP_BYTES || sscanf(fp, "%" SCNx64, &v->fp) != 1)
                        continue;
                v->path = strdup(path);
                if (!v->path)
                        break;
                v->dev = (uint64_t) json_integer_value(dev);
                v->ino = (uint64_t) json_integer_value(ino);
                v->offset = (uint64_t) json_integer_value(off);
                v->fp_len = (size_t) json_integer_value(fpl);
                s->n_saved++;
        }
        json_decref(root);
}

static int positions_add(json_t *files, const char *path, uint64_t dev, uint64_t ino, uint64_t offset, uint64_t fp,
                         size_t fp_len) {
        char hex[17];

        snprintf(hex, sizeof hex, "%016" PRIx64, fp);
        return json_array_append_new(files, json_pack("{s:s, s:I, s:I, s:I, s:s, s:I}", "path", path, "dev",
                                                      (json_int_t) dev, "inode", (json_int_t) ino, "offset",
                                                      (json_int_t) offset, "fingerprint", hex,
                                                      "fingerprint_bytes", (json_int_t) fp_len));
}

/* Writes every known position; unread saved ones (files missing now) are kept. */
static void positions_save(SourceFile *s) {
        _cleanup_free_ char *text = NULL;
        json_t *root, *files;
        int r = 0;

        if ((!s->positions_path && !s->pos) || !s->dirty)
                return;
        root = json_pack("{s:i, s:[]}", "version", 1, "files");
        files = root ? json_object_get(root, "files") : NULL;
        if (!files) {
                json_decref(root);
                return;
        }
        for (size_t i = 0; i < s->n_tails && r >= 0; i++) {
                Tail *t = s->tails[i];
                if (t->fd < 0)
                        continue;
                r = positions_add(files, t->path, (uint64_t) t->dev, (uint64_t) t->ino, t->offset - t->ls.pending,
                                  t->fp, t->fp_len);
        }
        for (size_t i = 0; i < s->n_saved && r >= 0; i++) {
                Saved *v = &s->saved[i];
                if (!v->used)
                        r = positions_add(files, v->path, v->dev, v->ino, v->offset, v->fp, v->fp_len);
        }
        text = r >= 0 ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text) {
                log_warning("%s: out of memory saving file positions, ignoring", s->name);
                return;
        }
        /* What a start saves after opening the files is what it loaded: no transaction (nor
         * fsync'd file) for that, one per jail at each start. Lines read move an offset, so a
         * batch of failures always comes with a position that differs. */
        if (s->last_text && strcmp(s->last_text, text) == 0) {
                s->dirty = false;
                return;
        }
        if (s->pos) {
                r = s->pos->save("files", text, s->pos->userdata); /* it logs */
                if (r < 0)
                        return;
        } else {
                r = write_file_atomic(s->positions_path, text, strlen(text));
                if (r < 0) {
                        log_warning_errno(r, "%s: cannot save %s, ignoring: %m", s->name, s->positions_path);
                        return;
                }
        }
        s->dirty = false;
        free(s->last_text);
        s->last_text = TAKE_PTR(text);
}

/* ---- tails ---- */

static void log_struct_source_rotated(const char *name, const char *path) {
        char fj[160], fs[4200];
        const char *fields[] = { fj, fs, NULL };

        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", name);
        snprintf(fs, sizeof fs, "NFTJAIL_SOURCE=%s", path);
        log_event(LOG_INFO, 0, NFTJAIL_MID_SOURCE_ROTATED, fields, "%s: %s was rotated; reading the new file", name,
                  path);
}

static void tail_on_line(const char *line, size_t len, bool cut, void *userdata) {
        Tail *t = userdata;
        SourceFile *s = t->owner;
        const char *text;
        bool dated;
        int64_t epoch = 0;
        size_t n;

        n = date_strip(s->dates, line, len, s->now_sec, s->strip, sizeof s->strip, &text, &dated, &epoch);
        s->lines++;
        s->batch_lines++;
        s->fn(text, n, cut, dated && epoch > 0 ? (usec_t) epoch * USEC_PER_SEC : 0, s->userdata);
}

static bool warn_once(Tail *t, unsigned cond) {
        if (t->warned & cond)
                return false;
        t->warned |= cond;
        return true;
}

static void tail_close(Tail *t) {
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -EBADF;
        line_splitter_reset(&t->ls);
}

/* Reads from t->offset to the end of fd, at most budget bytes. Returns 1 when more is left. */
static int tail_read(Tail *t, int fd, uint64_t budget) {
        SourceFile *s = t->owner;
        uint64_t done = 0;

        while (done < budget) {
                ssize_t k = pread(fd, s->rbuf, MIN(sizeof s->rbuf, budget - done), (off_t) t->offset);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        if (warn_once(t, WARN_READ))
                                log_warning_errno(errno, "%s: cannot read %s, ignoring: %m", s->name, t->path);
                        return 0;
                }
                if (k == 0)
                        return 0;
                t->warned &= ~(unsigned) WARN_READ;
                line_splitter_feed(&t->ls, s->rbuf, (size_t) k, tail_on_line, t);
                t->offset += (uint64_t) k;
                done += (uint64_t) k;
                s->dirty = true;
        }
        return 1;
}

/* Starts at the end of fd: a line in progress there is not ours to read. */
static void tail_seek_end(Tail *t, uint64_t size) {
        char c = '\n';

        t->offset = size;
        line_splitter_reset(&t->ls);
        if (size > 0 && pread(t->fd, &c, 1, (off_t) size - 1) == 1 && c != '\n')
                t->ls.discard = true;
}

/* Resumes at a saved offset, which is a line start unless we were skipping a line there. */
static void tail_seek(Tail *t, uint64_t offset) {
        char c = '\n';

        t->offset = offset;
        line_splitter_reset(&t->ls);
        if (offset > 0 && pread(t->fd, &c, 1, (off_t) offset - 1) == 1 && c != '\n')
                t->ls.discard = true;
}

static void tail_new_file(Tail *t) {
        t->offset = 0;
        t->fp_len = 0;
        t->fp = fnv1a64("", 0);
        line_splitter_reset(&t->ls);
}

static Saved *saved_find(SourceFile *s, const char *path) {
        for (size_t i = 0; i < s->n_saved; i++)
                if (!s->saved[i].used && strcmp(s->saved[i].path, path) == 0)
                        return &s->saved[i];
        return NULL;
}

/* The file of a saved position was rotated while we were down: find it (same inode, same first
 * bytes) in the same directory and read what was added to it after our position. */
static void tail_finish_rotated(Tail *t, const Saved *v) {
        _cleanup_free_ char *d = strdup(t->path);
        _cleanup_close_ int dfd = -EBADF;
        DIR *dir;
        struct dirent *de;

        if (!d || (dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return;
        dir = fdopendir(dfd);
        if (!dir)
                return;
        dfd = -EBADF; /* owned by dir now */
        while ((de = readdir(dir))) {
                struct stat st;
                uint64_t fp;
                int fd;

                if (de->d_ino != v->ino)
                        continue;
                fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t) st.st_dev == v->dev &&
                    (uint64_t) st.st_ino == v->ino && (uint64_t) st.st_size >= v->offset &&
                    fingerprint(fd, v->fp_len, &fp) && fp == v->fp) {
                        log_info("%s: %s was rotated while stopped; reading the rest of %s", t->owner->name, t->path,
                                 de->d_name);
                        t->offset = v->offset;
                        line_splitter_reset(&t->ls);
                        tail_seek(t, v->offset);
                        while (tail_read(t, fd, UINT64_MAX) > 0)
                                ;
                        line_splitter_flush(&t->ls, tail_on_line, t);
                }
                close(fd);
                break;
        }
        closedir(dir);
}

/* Opens the file now at t->path and decides where to start. */
static void tail_open(Tail *t, const struct stat *st0) {
        SourceFile *s = t->owner;
        struct stat st;
        Saved *v;
        int fd;

        if (!S_ISREG(st0->st_mode)) {
                if (warn_once(t, WARN_NOTREG))
                        log_warning("%s: %s is not a regular file, ignoring it until it is", s->name, t->path);
                return;
        }
        fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (warn_once(t, WARN_OPEN))
                        log_warning_errno(errno, "%s: cannot open %s, retrying later: %m", s->name, t->path);
                return;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                if (warn_once(t, WARN_NOTREG))
                        log_warning("%s: %s is not a regular file, ignoring it until it is", s->name, t->path);
                return;
        }
        if (t->warned & (WARN_OPEN | WARN_NOTREG | WARN_MISSING | WARN_STAT))
                log_info("%s: %s is readable now", s->name, t->path);
        t->warned &= ~(unsigned) (WARN_OPEN | WARN_NOTREG | WARN_MISSING | WARN_STAT);
        t->fd = fd;
        t->dev = st.st_dev;
        t->ino = st.st_ino;
        tail_new_file(t);

        /* another pattern's file that was renamed here (a glob that also matches rotated
         * names): its own tail finishes it */
        for (size_t i = 0; i < s->n_tails; i++) {
                Tail *o = s->tails[i];
                if (o != t && o->fd >= 0 && o->dev == st.st_dev && o->ino == st.st_ino) {
                        tail_seek_end(t, (uint64_t) st.st_size);
                        return;
                }
        }

        v = saved_find(s, t->path);
        if (v) {
                uint64_t fp;

                v->used = true;
                if ((uint64_t) st.st_dev == v->dev && (uint64_t) st.st_ino == v->ino &&
                    (uint64_t) st.st_size >= v->offset && fingerprint(fd, v->fp_len, &fp) && fp == v->fp) {
                        tail_seek(t, v->offset);
                        log_debug("%s: %s: resuming at offset %" PRIu64, s->name, t->path, v->offset);
                        return;
                }
                if ((uint64_t) st.st_ino != v->ino) {
                        tail_finish_rotated(t, v);
                        tail_new_file(t);
                } else
                        log_info("%s: %s was truncated or replaced while stopped; reading it from the start", s->name,
                                 t->path);
                t->from_start = true;
        }
        if (!t->from_start) {
                tail_seek_end(t, (uint64_t) st.st_size);
                return;
        }
        if ((uint64_t) st.st_size > FILE_CATCHUP_MAX) {
                if (warn_once(t, WARN_BIG))
                        log_warning("%s: %s appeared with %" PRIu64 " bytes; reading only what is added from now on",
                                    s->name, t->path, (uint64_t) st.st_size);
                tail_seek_end(t, (uint64_t) st.st_size);
                return;
        }
        t->warned &= ~(unsigned) WARN_BIG;
}

/* Looks at one path: rotation, truncation, new data. Returns 1 when more data is left. */
static int tail_check(Tail *t) {
        SourceFile *s = t->owner;
        struct stat st;
        uint64_t fp;

        if (stat(t->path, &st) < 0) {
                int e = errno;
                if (t->fd >= 0) /* renamed or deleted: what was written before is still ours */
                        return tail_read(t, t->fd, s->batch_budget);
                if (e == ENOENT) {
                        if (warn_once(t, WARN_MISSING))
                                log_info("%s: %s does not exist (yet); watching for it", s->name, t->path);
                } else if (warn_once(t, WARN_STAT))
                        log_warning_errno(e, "%s: cannot access %s, retrying later: %m", s->name, t->path);
                t->from_start = s->started;
                return 0;
        }
        if (t->fd >= 0 && (st.st_dev != t->dev || st.st_ino != t->ino)) {
                /* rotated (rename + create, or a symlink swapped): finish the old file first */
                while (tail_read(t, t->fd, UINT64_MAX) > 0)
                        ;
                line_splitter_flush(&t->ls, tail_on_line, t);
                log_struct_source_rotated(s->name, t->path);
                tail_close(t);
                t->from_start = true;
                s->dirty = true;
        }
        if (t->fd < 0) {
                tail_open(t, &st);
                if (t->fd < 0)
                        return 0;
                s->dirty = true;
        }
        if (fstat(t->fd, &st) < 0)
                return 0;
        if ((uint64_t) st.st_size < t->offset ||
            (t->fp_len > 0 && (!fingerprint(t->fd, t->fp_len, &fp) || fp != t->fp))) {
                /* copytruncate, or rewritten in place: the file starts over */
                log_info("%s: %s was truncated; reading it from the start", s->name, t->path);
                tail_new_file(t);
                s->dirty = true;
        }
        if (t->fp_len < FILE_FP_BYTES && (uint64_t) st.st_size > t->fp_len) {
                size_t n = (size_t) MIN((uint64_t) FILE_FP_BYTES, (uint64_t) st.st_size);
                if (fingerprint(t->fd, n, &fp)) {
                        t->fp = fp;
                        t->fp_len = n;
                        s->dirty = true;
                }
        }
        if ((uint64_t) st.st_size > t->offset)
                return tail_read(t, t->fd, s->batch_budget);
        return 0;
}

static Tail *tail_get(SourceFile *s, const char *path) {
        Tail *t, **n;

        for (size_t i = 0; i < s->n_tails; i++)
                if (strcmp(s->tails[i]->path, path) == 0)
                        return s->tails[i];
        if (s->n_tails >= FILE_MAX_PATHS) {
                if (!s->warned_paths)
                        log_warning("%s: more than %u files match logpath; ignoring %s and others", s->name,
                                    FILE_MAX_PATHS, path);
                s->warned_paths = true;
                return NULL;
        }
        n = realloc(s->tails, (s->n_tails + 1) * sizeof *n);
        if (!n)
                return NULL;
        s->tails = n;
        t = alloc_cleared_to(sizeof *t, offsetof(Tail, ls.buf));
        if (!t)
                return NULL;
        t->path = strdup(path);
        if (!t->path) {
                free(t);
                return NULL;
        }
        t->owner = s;
        t->fd = -EBADF;
        t->ls.latin1 = s->latin1;
        t->from_start = s->started;
        s->tails[s->n_tails++] = t;
        return t;
}

static bool has_glob(const char *p) {
        return strpbrk(p, "*?[") != NULL;
}

/* Finds the files of every pattern (a pattern without wildcards is followed even while
 * missing) and the directories to watch. The directory is watched before the glob: a file
 * created between the two is then either found by the glob or reported by inotify (the other
 * way round, one created just after the glob and before the watch waited for the next rescan). */
void source_file_rescan(SourceFile *s) {
        for (size_t k = 0; s->patterns[k]; k++) {
                const char *p = s->patterns[k];

                if (s->inotify_fd >= 0 && s->wds[k] < 0) {
                        _cleanup_free_ char *d = strdup(p);
                        if (d)
                                s->wds[k] = inotify_add_watch(s->inotify_fd, dirname(d),
                                                              IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
                                                                      IN_DELETE | IN_ATTRIB | IN_CLOSE_WRITE |
                                                                      IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
                }
                if (!has_glob(p))
                        (void) tail_get(s, p);
                else {
                        glob_t g = {};
                        if (glob(p, GLOB_NOSORT, NULL, &g) == 0)
                                for (size_t i = 0; i < g.gl_pathc; i++)
                                        (void) tail_get(s, g.gl_pathv[i]);
                        globfree(&g);
                }
        }
}

/* The next drain's budget from this one's time: a drain that read its whole budget and took d
 * usec moves halfway to budget * FILE_BATCH_USEC / d (half steps damp the swings), within
 * [FILE_BATCH_MIN, FILE_BATCH_MAX]. Lines cost 10 us each with a small state and 55 us with a
 * million addresses in it (the failure rows' inserts), so a fixed byte count holds the loop
 * anywhere from 25 to 150 ms. */
static void batch_adapt(SourceFile *s, usec_t d) {
        uint64_t want, b = s->batch_budget;

        d = MAX(d, (usec_t) 1);
        want = (uint64_t) ((double) b * FILE_BATCH_USEC / (double) d);
        want = MIN(MAX(want, (uint64_t) FILE_BATCH_MIN), (uint64_t) FILE_BATCH_MAX);
        b = want > b ? b + (want - b) / 2 : b - (b - want) / 2;
        s->batch_budget = MIN(MAX(b, (uint64_t) FILE_BATCH_MIN), (uint64_t) FILE_BATCH_MAX);
}

int source_file_drain(SourceFile *s) {
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        bool more = false;

        s->now_sec = (int64_t) time(NULL);
        s->batch_lines = 0;
        if (s->batch_budget == 0)
                s->batch_budget = FILE_BATCH_START;
        for (size_t i = 0; i < s->n_tails; i++)
                if (tail_check(s->tails[i]) > 0)
                        more = true;
        if (more && s->more)
                (void) sd_event_source_set_enabled(s->more, SD_EVENT_ONESHOT);
        positions_save(s);
        /* only a full batch says how fast lines go now */
        if (more)
                batch_adapt(s, now_usec(CLOCK_MONOTONIC) - t0);
        return (int) MIN(s->batch_lines, (unsigned) INT32_MAX);
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        SourceFile *s = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool scan = false;

        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        if (e->mask & (IN_CREATE | IN_MOVED_TO | IN_Q_OVERFLOW))
                                scan = true;
                        if (e->mask & IN_IGNORED)
                                for (size_t k = 0; s->patterns[k]; k++)
                                        if (s->wds[k] == e->wd)
                                                s->wds[k] = -1;
                        p += sizeof *e + e->len;
                }
        }
        if (scan)
                source_file_rescan(s);
        (void) source_file_drain(s);
        return 0;
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        SourceFile *s = userdata;

        source_file_rescan(s);
        (void) source_file_drain(s);
        (void) sd_event_source_set_time_relative(es, s->polling ? FILE_POLL_USEC : FILE_RESCAN_USEC);
        (void) sd_event_source_set_enabled(es, SD_EVENT_ON);
        return 0;
}

static int on_more(sd_event_source *es, void *userdata) {
        (void) source_file_drain(userdata);
        return 0;
}

int source_file_new(sd_event *event, const SourceFileOptions *o, SourceLineFn fn, void *userdata,
                    SourceFile **ret) {
        SourceFile *s;
        size_t n = 0;
        int r;

        s = alloc_cleared_to(sizeof *s, offsetof(SourceFile, strip));
        if (!s)
                return -ENOMEM;
        s->inotify_fd = -EBADF;
        s->fn = fn;
        s->userdata = userdata;
        s->polling = o->polling;
        s->latin1 = o->latin1;
        s->dates = o->dates;
        s->pos = o->position;
        for (; o->paths && o->paths[n]; n++)
                ;
        s->name = strdup(o->name);
        s->patterns = calloc(n + 1, sizeof(char *));
        s->wds = calloc(n + 1, sizeof(int));
        if (!s->name || !s->patterns || !s->wds)
                goto oom;
        for (size_t i = 0; i < n; i++) {
                s->wds[i] = -1;
                if (!(s->patterns[i] = strdup(o->paths[i])))
                        goto oom;
        }
        if (o->state_dir && asprintf(&s->positions_path, "%s/positions-%s.json", o->state_dir, o->name) < 0) {
                s->positions_path = NULL;
                goto oom;
        }
        /* the jail name is one path component */
        if (s->positions_path)
                for (char *p = s->positions_path + strlen(o->state_dir) + 1; *p; p++)
                        if (*p == '/')
                                *p = '_';
        positions_load(s);

        if (!s->polling) {
                s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (s->inotify_fd < 0) {
                        r = -errno;
                        goto fail;
                }
                if (event) {
                        r = sd_event_add_io(event, &s->inotify_src, s->inotify_fd, EPOLLIN, on_inotify, s);
                        if (r < 0)
                                goto fail;
                        (void) sd_event_source_set_description(s->inotify_src, o->name);
                }
        }
        if (event) {
                r = sd_event_add_time_relative(event, &s->timer, CLOCK_MONOTONIC,
                                               s->polling ? FILE_POLL_USEC : FILE_RESCAN_USEC, 0, on_timer, s);
                if (r < 0)
                        goto fail;
                r = sd_event_add_defer(event, &s->more, on_more, s);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_enabled(s->more, SD_EVENT_OFF);
        }

        source_file_rescan(s);
        (void) source_file_drain(s);
        s->started = true;
        for (size_t i = 0; i < s->n_tails; i++)
                if (s->tails[i]->fd < 0)
                        s->tails[i]->from_start = true;
        *ret = s;
        return 0;
oom:
        r = -ENOMEM;
fail:
        source_file_free(s);
        return r;
}

SourceFile *source_file_free(SourceFile *s) {
        if (!s)
                return NULL;
        positions_save(s);
        sd_event_source_disable_unref(s->inotify_src);
        sd_event_source_disable_unref(s->timer);
        sd_event_source_disable_unref(s->more);
        if (s->inotify_fd >= 0)
                close(s->inotify_fd);
        for (size_t i = 0; i < s->n_tails; i++) {
                tail_close(s->tails[i]);
                free(s->tails[i]->path);
                free(s->tails[i]);
        }
        free(s->tails);
        saved_free(s);
        if (s->patterns)
                for (size_t i = 0; s->patterns[i]; i++)
                        free(s->patterns[i]);
        free(s->patterns);
        free(s->wds);
        free(s->positions_path);
        free(s->last_text);
        free(s->name);
        free(s);
        return NULL;
}

uint64_t source_file_lines(const SourceFile *s) {
        return s->lines;
}
