/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The CLI's side of the control socket: connect, one request, one reply. */
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl-proto.h"
#include "cli.h"
#include "util/time-util.h"

#define CLIENT_TIMEOUT_MS (120 * 1000) /* a reload or a dump of a huge set may take a while */

const char *ctl_socket = NFTJAIL_SOCKET;
bool ctl_json;

void ctl_error(const char *verb, const char *format, ...) {
        va_list ap;

        fprintf(stderr, "%s%s%s: ", ctl_program, verb ? " " : "", verb ? verb : "");
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static int poll_fd(int fd, short events, int64_t deadline_ms) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                int64_t left = deadline_ms - (int64_t) (now_usec(CLOCK_MONOTONIC) / 1000);
                int r;

                if (left <= 0)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) MIN(left, INT32_MAX));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0;
        }
}

/* Connects; returns the fd or a negative errno. */
static int client_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(ctl_socket) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, ctl_socket, strlen(ctl_socket));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

int ctl_call(const char *verb, json_t *req, json_t **ret_reply) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *frame = NULL;
        char err[512];
        CtlReader rd;
        int64_t deadline = (int64_t) (now_usec(CLOCK_MONOTONIC) / 1000) + CLIENT_TIMEOUT_MS;
        size_t len, done = 0;
        json_t *reply = NULL;
        int r;

        *ret_reply = NULL;
        if (!req) {
                ctl_error(verb, "out of memory");
                return 1;
        }
        r = ctl_frame_encode(req, CTL_REQUEST_MAX, &frame, &len);
        json_decref(req);
        if (r < 0) {
                ctl_error(verb, "cannot build the request: %s", strerror(-r));
                return 1;
        }
        fd = client_connect();
        if (fd == -ENOENT || fd == -ECONNREFUSED) {
                ctl_error(verb, "the daemon is not running (%s: %s)", ctl_socket, strerror(-fd));
                return 3;
        }
        if (fd == -EACCES) {
                ctl_error(verb, "cannot connect to %s: %s (root, or a member of socket_group, may)", ctl_socket,
                          strerror(-fd));
                return 1;
        }
        if (fd < 0) {
                ctl_error(verb, "cannot connect to %s: %s", ctl_socket, strerror(-fd));
                return 1;
        }
        while (done < len) {
                ssize_t n = send(fd, frame + done, len - done, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        /* the daemon may have refused us already: its reply says why */
                        if (errno == EPIPE || errno == ECONNRESET)
                                break;
                        ctl_error(verb, "cannot send to %s: %m", ctl_socket);
                        return 1;
                }
                done += (size_t) n;
        }

        ctl_reader_init(&rd, CTL_REPLY_MAX);
        for (;;) {
                char buf[65536];
                ssize_t n;
                size_t off = 0;

                r = poll_fd(fd, POLLIN, deadline);
                if (r < 0) {
                        ctl_reader_done(&rd);
                        ctl_error(verb, "no reply from the daemon: %s", strerror(-r));
                        return 1;
                }
                n = recv(fd, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        ctl_reader_done(&rd);
                        ctl_error(verb, "the daemon closed the connection without a reply%s%s", n < 0 ? ": " : "",
                                  n < 0 ? strerror(errno) : "");
                        return 1;
                }
                while (off < (size_t) n) {
                        size_t used = 0;
                        r = ctl_reader_feed(&rd, buf + off, (size_t) n - off, &used);
                        off += used;
                        if (r != 0)
                                break;
                }
                if (r < 0) {
                        ctl_reader_done(&rd);
                        ctl_error(verb, "bad reply from the daemon: %s", strerror(-r));
                        return 1;
                }
                if (r > 0)
                        break;
        }
        r = ctl_message_parse(rd.buf, rd.len, &reply, err, sizeof err);
        ctl_reader_done(&rd);
        if (r < 0) {
                ctl_error(verb, "bad reply from the daemon: %s", err);
                return 1;
        }
        r = ctl_reply_validate(reply, err, sizeof err);
        if (r < 0) {
                json_decref(reply);
                ctl_error(verb, "%s", err);
                return 1;
        }
        *ret_reply = reply;
        if (!ctl_json) {
                /* a reload's FILE:LINE diagnostics, before the verdict */
                json_t *d;
                size_t i;
                json_array_foreach(json_object_get(reply, "diagnostics"), i, d)
                        fprintf(stderr, "%s\n", json_string_value(d) ? json_string_value(d) : "?");
        }
        if (r == 0) {
                if (ctl_json)
                        ctl_print_json(reply);
                ctl_error(verb, "%s", json_string_value(json_object_get(reply, "error")));
                return 1;
        }
        return 0;
}

void ctl_print_json(const json_t *reply) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
}

int ctl_finish(void) {
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

int ctl_parse_common(int argc, char *argv[], const char *help, const struct option *extra, const char *extra_short,
                     int (*on_opt)(int opt, const char *arg, void *userdata), void *userdata) {
        struct option options[16];
        char shortopts[32];
        size_t n = 0;
        int opt;

        options[n++] = (struct option) { "json", no_argument, NULL, 'j' };
        options[n++] = (struct option) { "help", no_argument, NULL, 'h' };
        for (size_t i = 0; extra && extra[i].name && n < ELEMENTSOF(options) - 1; i++)
                options[n++] = extra[i];
        options[n] = (struct option) {};
        snprintf(shortopts, sizeof shortopts, "jh%s", extra_short ? extra_short : "");

        optind = 0;
        opterr = 0;
        /* GNU permutation: options may come before or after the arguments */
        while ((opt = getopt_long(argc, argv, shortopts, options, NULL)) >= 0)
                switch (opt) {
                case 'j':
                        ctl_json = true;
                        break;
                case 'h':
                        fputs(help, stdout);
                        return 0;
                case '?':
                        if (optopt && optopt < 0x100)
                                ctl_error(argv[0], "bad option '-%c', see '%s %s --help'", optopt, ctl_program, argv[0]);
                        else
                                ctl_error(argv[0], "bad option '%s', see '%s %s --help'", argv[optind - 1], ctl_program,
                                          argv[0]);
                        return -2;
                case ':':
                        ctl_error(argv[0], "option '%s' needs a value", argv[optind - 1]);
                        return -2;
                default:
                        if (!on_opt || on_opt(opt, optarg, userdata) < 0)
                                return -2;
                }
        return 1;
}
