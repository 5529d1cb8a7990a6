/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Throughput of the file source: a generated 1,000,000-line auth log appended at once to a
 * tailed file, read through source_file_drain() (read, split, date strip, position save),
 * alone and with the shipped sshd filter on each line; and 1,000,000 lines of a web server's
 * access log, whose date is inside the line ("[24/Nov/2026:13:05:01 +0000]"), so that every line
 * goes through the automatic detection's fallbacks. Files live in a mktemp directory.
 * Prints figures; never fails on time.
 *
 *   bench-file-source [LOGFILE]      (default: runs gen-authlog.py --lines 1000000) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "match.h"
#include "source-file.h"

typedef struct Ctx {
        Filter *filter;
        uint64_t lines, dated, matches;
} Ctx;

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void on_line(const char *line, size_t len, bool cut, usec_t rt, void *userdata) {
        Ctx *c = userdata;
        MatchResult m;

        c->lines++;
        c->dated += rt > 0;
        if (c->filter && filter_match(c->filter, line, len, &m) == MATCH_FAILURE)
                c->matches++;
}

static void run(const char *name, const char *dir, const char *data, size_t len, Filter *filter) {
        char path[4096], state[4096], cmd[8300];
        char *paths[] = { path, NULL };
        SourceFileOptions o = { .name = "bench", .paths = paths, .state_dir = state };
        SourceFile *s = NULL;
        Ctx c = { .filter = filter };
        double t0, dt;
        FILE *f;
        int r;

        snprintf(path, sizeof path, "%s/%s.log", dir, name);
        snprintf(state, sizeof state, "%s", dir);
        f = fopen(path, "we");
        if (!f || fclose(f) != 0) {
                perror(path);
                exit(EXIT_FAILURE);
        }
        r = source_file_new(NULL, &o, on_line, &c, &s);
        if (r < 0) {
                fprintf(stderr, "source_file_new: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        /* the whole log arrives at once after the source started: all of it is read */
        f = fopen(path, "ae");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
                perror(path);
                exit(EXIT_FAILURE);
        }
        t0 = now_sec();
        while (source_file_drain(s) > 0)
                ;
        dt = now_sec() - t0;
        printf("%-22s %8.0f lines/s  %6.1f MB/s  %4.0f ns/line  %llu lines, %llu dated, %llu matches\n", name,
               (double) c.lines / dt, (double) len / dt / 1e6, dt * 1e9 / (double) c.lines,
               (unsigned long long) c.lines, (unsigned long long) c.dated, (unsigned long long) c.matches);
        source_file_free(s);
        snprintf(cmd, sizeof cmd, "rm -f '%s'", path);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", path);
}

int main(int argc, char *argv[]) {
        char cmd[8192], dir[] = "/tmp/nftjail-bench-file.XXXXXX";
        _cleanup_free_ char *data = NULL;
        size_t len = 0, cap = 1 << 20, k;
        ConfDiags diags = {};
        FilterConf fc = {};
        FilterError fe = {};
        Filter *filter = NULL;
        FILE *in;

        setenv("TZ", "UTC", 1);
        tzset();
        if (argc > 1)
                in = fopen(argv[1], "re");
        else {
                snprintf(cmd, sizeof cmd,
                         "python3 '%s/tests/bench/gen-authlog.py' --lines 1000000 --addresses 5000 --seed 1",
                         NFTJAIL_SOURCE_ROOT);
                in = popen(cmd, "r");
        }
        if (!in || !(data = malloc(cap)))
                return EXIT_FAILURE;
        while ((k = fread(data + len, 1, cap - len, in)) > 0) {
                len += k;
                if (len == cap) {
                        char *p = realloc(data, cap *= 2);
                        if (!p)
                                return EXIT_FAILURE;
                        data = p;
                }
        }
        if (argc > 1)
                fclose(in);
        else
                pclose(in);

        snprintf(cmd, sizeof cmd, "%s/conf", NFTJAIL_SOURCE_ROOT);
        if (filter_conf_load(cmd, "sshd", &fc, &diags) < 0 || filter_new(&fc, &filter, &fe) < 0) {
                fprintf(stderr, "cannot load the sshd filter\n");
                return EXIT_FAILURE;
        }
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        printf("%zu bytes of log; file source from a tmp file (page cache), one core\n", len);
        run("source only", dir, data, len, NULL);
        run("source + sshd filter", dir, data, len, filter);
        {
                size_t n = 0, acap = 200u << 20;
                char *acc = malloc(acap);

                if (!acc)
                        return EXIT_FAILURE;
                for (unsigned i = 0; i < 1000000 && n + 256 < acap; i++)
                        n += (size_t) snprintf(acc + n, acap - n,
                                               "203.0.113.%u - - [24/Nov/2026:13:%02u:%02u +0000] \"GET /wp-login.php?x=%u "
                                               "HTTP/1.1\" 401 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
                                               i % 250, i / 60 % 60, i % 60, i);
                run("source only, access log", dir, acc, n, NULL);
                free(acc);
        }
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", dir);
        filter_free(filter);
        filter_conf_done(&fc);
        conf_diags_done(&diags);
        return EXIT_SUCCESS;
}
