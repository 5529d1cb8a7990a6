/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Helpers shared by the libFuzzer harnesses: a NUL-terminated copy of the input, and a
 * per-process temporary directory removed at exit (a crash leaves it in /tmp: it is small). */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A malloc'd copy of data with a NUL after it (so that ASan sees a read past the end); aborts on
 * ENOMEM, which libFuzzer reports. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

static char fuzz_tmpdir[64];

static inline int fuzz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static inline void fuzz_tmpdir_remove(void) {
        if (fuzz_tmpdir[0])
                nftw(fuzz_tmpdir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes fuzz_tmpdir (once) and returns it. */
static inline const char *fuzz_tmpdir_get(void) {
        if (!fuzz_tmpdir[0]) {
                snprintf(fuzz_tmpdir, sizeof fuzz_tmpdir, "/tmp/nftjail-fuzz-XXXXXX");
                if (!mkdtemp(fuzz_tmpdir))
                        abort();
                atexit(fuzz_tmpdir_remove);
        }
        return fuzz_tmpdir;
}

/* Writes len bytes to DIR/rel (the directories must exist); aborts when it cannot. */
static inline void fuzz_write(const char *dir, const char *rel, const void *data, size_t len) {
        char p[4096];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", dir, rel);
        f = fopen(p, "we");
        if (!f || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
                abort();
}

/* Copies FUZZ_SRCDIR/conf/rel to DIR/rel. */
static inline void fuzz_copy_conf(const char *dir, const char *rel) {
        char p[4096], buf[65536];
        size_t n;
        FILE *f;

        snprintf(p, sizeof p, "%s/conf/%s", FUZZ_SRCDIR, rel);
        f = fopen(p, "re");
        if (!f)
                abort();
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        fuzz_write(dir, rel, buf, n);
}
