/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "util/macro.h"
#include "util/time-util.h"

static void close_pair(int p[2]) {
        if (p[0] >= 0)
                (void) close(p[0]);
        if (p[1] >= 0)
                (void) close(p[1]);
        p[0] = p[1] = -1;
}

static void drain(int *fd, char *buf, size_t *len) {
        char tmp[4096];
        ssize_t n = read(*fd, tmp, sizeof tmp);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                (void) close(*fd);
                *fd = -1;
                return;
        }
        if (*len < SPAWN_OUTPUT_MAX) {
                size_t k = MIN((size_t) n, SPAWN_OUTPUT_MAX - *len);

                memcpy(buf + *len, tmp, k);
                *len += k;
                buf[*len] = 0;
        }
}

int spawn_run(const char *const *argv, const char *const *envp, const char *input, size_t input_len,
              uint64_t timeout_usec, const atomic_bool *cancel, SpawnResult *ret) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        usec_t deadline;
        size_t written = 0;
        pid_t pid;
        int r;

        *ret = (SpawnResult) {};
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                r = -errno;
                close_pair(in);
                close_pair(out);
                close_pair(err);
                return r;
        }
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0) {
                close_pair(in);
                close_pair(out);
                close_pair(err);
                return -r;
        }
        (void) posix_spawnattr_init(&attr);
        (void) sigemptyset(&none);
        (void) sigfillset(&all);
        /* dup2 clears FD_CLOEXEC on the copies; everything else, ours or a library's, is closed */
        if ((r = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) != 0 ||
            (r = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
            (r = posix_spawn_file_actions_adddup2(&fa, err[1], 2)) != 0 ||
            (r = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
            (r = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
            (r = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
            (r = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
            (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                         POSIX_SPAWN_SETPGROUP)) != 0)
                goto out_attr;
        r = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *) argv, (char *const *) envp);
out_attr:
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        (void) close(in[0]);
        (void) close(out[1]);
        (void) close(err[1]);
        in[0] = out[1] = err[1] = -1;
        if (r != 0) {
                close_pair(in);
                close_pair(out);
                close_pair(err);
                return -r;
        }
        (void) fcntl(in[1], F_SETFL, O_NONBLOCK);
        (void) fcntl(out[0], F_SETFL, O_NONBLOCK);
        (void) fcntl(err[0], F_SETFL, O_NONBLOCK);
        if (input_len == 0) {
                (void) close(in[1]);
                in[1] = -1;
        }

        deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        while (out[0] >= 0 || err[0] >= 0) {
                struct pollfd p[3] = {
                        { .fd = out[0], .events = POLLIN },
                        { .fd = err[0], .events = POLLIN },
                        { .fd = in[1], .events = POLLOUT },
                };
                usec_t now = now_usec(CLOCK_MONOTONIC);
                int n;

                if (now >= deadline || (cancel && atomic_load(cancel))) {
                        (void) kill(-pid, SIGKILL);
                        ret->timed_out = now >= deadline;
                        ret->cancelled = !ret->timed_out;
                        break;
                }
                n = poll(p, 3, (int) MIN((deadline - now + 999) / 1000, (usec_t) 1000));
                if (n < 0 && errno != EINTR)
                        break;
                if (n <= 0)
                        continue;
                if (p[0].revents)
                        drain(&out[0], ret->out, &ret->out_len);
                if (p[1].revents)
                        drain(&err[0], ret->err, &ret->err_len);
                if (p[2].revents & (POLLERR | POLLHUP)) {
                        (void) close(in[1]);
                        in[1] = -1;
                } else if (p[2].revents & POLLOUT) {
                        ssize_t w = write(in[1], input + written, input_len - written);

                        if (w > 0)
                                written += (size_t) w;
                        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input_len) {
                                (void) close(in[1]);
                                in[1] = -1;
                        }
                }
        }
        close_pair(in);
        close_pair(out);
        close_pair(err);
        /* a child that closed its pipes may still run: wait for it until the deadline too */
        for (;;) {
                pid_t w = waitpid(pid, &ret->status, WNOHANG);
                struct timespec ts = { 0, 10 * 1000 * 1000 };

                if (w == pid || (w < 0 && errno != EINTR))
                        break;
                if (!ret->timed_out && !ret->cancelled &&
                    (now_usec(CLOCK_MONOTONIC) >= deadline || (cancel && atomic_load(cancel)))) {
                        (void) kill(-pid, SIGKILL);
                        ret->timed_out = now_usec(CLOCK_MONOTONIC) >= deadline;
                        ret->cancelled = !ret->timed_out;
                }
                if (ret->timed_out || ret->cancelled) {
                        (void) waitpid(pid, &ret->status, 0);
                        break;
                }
                (void) nanosleep(&ts, NULL);
        }
        return 0;
}

const char *spawn_status_string(const SpawnResult *r, char *buf, size_t len) {
        if (r->timed_out)
                snprintf(buf, len, "killed after the timeout");
        else if (r->cancelled)
                snprintf(buf, len, "killed: the daemon stops");
        else if (WIFEXITED(r->status))
                snprintf(buf, len, "exit status %d", WEXITSTATUS(r->status));
        else if (WIFSIGNALED(r->status))
                snprintf(buf, len, "killed by signal %d", WTERMSIG(r->status));
        else
                snprintf(buf, len, "status 0x%x", (unsigned) r->status);
        return buf;
}
