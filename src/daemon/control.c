/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "control-cmd.h"
#include "control.h"
#include "ctl-proto.h"
#include "log.h"
#include "manager.h"

#define PEER_GROUPS_MAX 256
#define ACCEPT_BURST 64

typedef struct Conn Conn;

struct Control {
        sd_event *event;
        Manager *manager;
        char *path;
        int fd;
        bool bound;             /* the file at path is ours: unlink it at exit */
        sd_event_source *listen, *throttle;
        Conn *conns;
        size_t n_conns;
        /* The last full "banned" reply of the daemon's record, as sent: group members that loop
         * it get these bytes again while the record has not changed and for at most
         * CONTROL_BANNED_CACHE_USEC (its remaining times are that old), instead of a listing of
         * 200,000 bans built and encoded on the loop per request. */
        struct {
                char *frame;
                size_t len;
                uint64_t generation;
                usec_t at;
        } banned;
};

struct Conn {
        Control *control;
        Conn *prev, *next;
        int fd;
        sd_event_source *io, *timer;
        struct ucred cred;
        gid_t *groups;          /* supplementary groups at connect time (SO_PEERGROUPS) */
        size_t n_groups;
        CtlReader reader;
        char *out;
        size_t out_len, out_done;
};

static Conn *conn_free(Conn *k) {
        Control *c;

        if (!k)
                return NULL;
        c = k->control;
        if (k->prev)
                k->prev->next = k->next;
        else if (c->conns == k)
                c->conns = k->next;
        if (k->next)
                k->next->prev = k->prev;
        c->n_conns--;
        sd_event_source_disable_unref(k->io);
        sd_event_source_disable_unref(k->timer);
        if (k->fd >= 0)
                close(k->fd);
        ctl_reader_done(&k->reader);
        free(k->groups);
        free(k->out);
        free(k);
        return NULL;
}

/* ---- permissions ---- */

static gid_t *mfree_gids(gid_t *p) {
        free(p);
        return NULL;
}

static bool conn_in_group(const Conn *k, gid_t gid) {
        if (k->cred.gid == gid)
                return true;
        for (size_t i = 0; i < k->n_groups; i++)
                if (k->groups[i] == gid)
                        return true;
        return false;
}

/* NULL when k may run cmd, else why not. */
static const char *conn_refusal(const Conn *k, CtlCommand cmd, const json_t *req, char *buf, size_t len) {
        const Config *cf = manager_config(k->control->manager);

        if (k->cred.uid == 0)
                return NULL;
        if (!cf->socket_group) {
                snprintf(buf, len, "permission denied: only root may use the control socket (uid %u); "
                                   "set socket_group in nftjail.conf to allow a group the read-only commands",
                         (unsigned) k->cred.uid);
                return buf;
        }
        if (!conn_in_group(k, cf->socket_gid)) {
                snprintf(buf, len, "permission denied: uid %u is neither root nor in group '%s'",
                         (unsigned) k->cred.uid, cf->socket_group);
                return buf;
        }
        if (!ctl_command_read_only(cmd)) {
                snprintf(buf, len, "permission denied: '%s' needs root (group '%s' may run status, banned and ping)",
                         ctl_command_to_string(cmd), cf->socket_group);
                return buf;
        }
        if (!ctl_request_read_only(cmd, req)) {
                snprintf(buf, len, "permission denied: '%s' with \"kernel\" (--kernel) needs root: it lists the kernel's "
                                   "sets whole; without it the daemon answers from its own record of the bans",
                         ctl_command_to_string(cmd));
                return buf;
        }
        return NULL;
}

/* ---- connections ---- */


/* Writes what it can; frees the connection when the reply is out or the client is gone. */
static void conn_write(Conn *k) {
        while (k->out_done < k->out_len) {
                ssize_t n = send(k->fd, k->out + k->out_done, k->out_len - k->out_done, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        conn_free(k);
                        return;
                }
                k->out_done += (size_t) n;
        }
        conn_free(k);
}

/* The encoded reply is in k->out: send it. */
static void conn_send(Conn *k) {
        ctl_reader_done(&k->reader);
        /* Requests are read at IMPORTANT, so that "status" answers during a flood; the rest of a
         * reply too large for one send() goes out at NORMAL, in turn with the sources and the
         * ban flush: six clients reading 15 MB "banned" replies kept the loop writing, and the
         * journal waited (a ban 1.4-1.9 s after its failure). */
        (void) sd_event_source_set_priority(k->io, SD_EVENT_PRIORITY_NORMAL);
        (void) sd_event_source_set_io_events(k->io, EPOLLOUT);
        (void) sd_event_source_set_time(k->timer, now_usec(CLOCK_MONOTONIC) + CONTROL_WRITE_TIMEOUT_USEC);
        conn_write(k);
}

static void conn_reply(Conn *k, json_t *reply) {
        int r;

        if (!reply) {
                log_oom();
                reply = ctl_reply_error("out of memory");
                if (!reply) {
                        conn_free(k);
                        return;
                }
        }
        r = ctl_frame_encode(reply, CTL_REPLY_MAX, &k->out, &k->out_len);
        if (r == -EMSGSIZE) {
                json_t *e = ctl_reply_error("the reply would exceed %u bytes", CTL_REPLY_MAX);
                r = e ? ctl_frame_encode(e, CTL_REPLY_MAX, &k->out, &k->out_len) : -ENOMEM;
                json_decref(e);
        }
        json_decref(reply);
        if (r < 0) {
                conn_free(k);
                return;
        }
        conn_send(k);
}

static char *bytes_dup(const char *p, size_t n) {
        char *d = malloc(MAX(n, (size_t) 1));

        if (d)
                memcpy(d, p, n);
        return d;
}

/* A request for the whole "banned" list of the daemon's record (no address, no "kernel"). */
static bool banned_cacheable(CtlCommand cmd, const json_t *req) {
        return cmd == CTL_BANNED && !json_object_get(req, "addr") && !json_is_true(json_object_get(req, "kernel"));
}

/* Answers from the cached frame when it is still the record's; 1 when it did. */
static int conn_reply_cached(Conn *k) {
        Control *c = k->control;

        if (!c->banned.frame || c->banned.generation != manager_bans_generation(c->manager) ||
            now_usec(CLOCK_MONOTONIC) - c->banned.at >= CONTROL_BANNED_CACHE_USEC)
                return 0;
        k->out = bytes_dup(c->banned.frame, c->banned.len);
        if (!k->out)
                return 0;
        k->out_len = c->banned.len;
        conn_send(k);
        return 1;
}

static void banned_cache_put(Control *c, const Conn *k) {
        char *f;

        if (!k->out)
                return;
        f = bytes_dup(k->out, k->out_len);
        if (!f)
                return;
        free(c->banned.frame);
        c->banned.frame = f;
        c->banned.len = k->out_len;
        c->banned.generation = manager_bans_generation(c->manager);
        c->banned.at = now_usec(CLOCK_MONOTONIC);
}

/* Runs a checked request and sends its reply. */
static void conn_run(Conn *k, CtlCommand cmd, const json_t *req) {
        json_t *reply;
        bool cache;

        cache = banned_cacheable(cmd, req);
        if (cache && conn_reply_cached(k) > 0)
                return;
        reply = control_cmd_run(k->control->manager, &k->cred, cmd, req);
        if (cache && reply && json_is_true(json_object_get(reply, "ok")) &&
            ctl_frame_encode(reply, CTL_REPLY_MAX, &k->out, &k->out_len) >= 0) {
                /* encoded here, so that the bytes sent are the bytes kept */
                json_decref(reply);
                banned_cache_put(k->control, k);
                conn_send(k);
                return;
        }
        conn_reply(k, reply);
}

/* Parses, checks and runs one request, and sends its reply. */
static void conn_dispatch(Conn *k, const char *buf, size_t len) {
        _cleanup_(json_decrefp) json_t *req = NULL;
        Control *c = k->control;
        char err[512];
        CtlCommand cmd;
        const char *why;

        if (ctl_message_parse(buf, len, &req, err, sizeof err) < 0 ||
            ctl_request_validate(req, &cmd, err, sizeof err) < 0) {
                conn_reply(k, ctl_reply_error("bad request: %s", err));
                return;
        }
        why = conn_refusal(k, cmd, req, err, sizeof err);
        if (why) {
                conn_reply(k, ctl_reply_error("%s", why));
                return;
        }
        conn_run(k, cmd, req);
        /* Bans the sources queued must not wait for clients that keep the loop busy (control
         * sources are IMPORTANT, the flush NORMAL): a read-only command moves the queue on by one
         * chunk, after its answer went out (a status waited for a chunk of 512 bans, 16-36 ms of
         * CPU, before). k may be gone now; the manager is not. */
        if (ctl_command_read_only(cmd))
                manager_flush_step(c->manager);
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *k = userdata;
        char buf[8192];

        if (k->out) {
                conn_write(k);
                return 0;
        }
        /* bounded per wakeup: one client cannot hold the loop */
        for (unsigned round = 0; round < 16; round++) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                size_t off = 0;

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        conn_free(k);
                        return 0;
                }
                if (n == 0) {
                        /* gone before sending a whole request: nobody to answer */
                        conn_free(k);
                        return 0;
                }
                while (off < (size_t) n) {
                        size_t used = 0;
                        int r = ctl_reader_feed(&k->reader, buf + off, (size_t) n - off, &used);

                        off += used;
                        if (r == -EMSGSIZE) {
                                conn_reply(k, ctl_reply_error("bad request: longer than %u bytes", CTL_REQUEST_MAX));
                                return 0;
                        }
                        if (r == -EBADMSG) {
                                conn_reply(k, ctl_reply_error("bad request: empty frame"));
                                return 0;
                        }
                        if (r < 0) {
                                conn_reply(k, NULL);
                                return 0;
                        }
                        if (r > 0) {
                                /* one request per connection: anything after it is ignored */
                                conn_dispatch(k, k->reader.buf, k->reader.len);
                                return 0;
                        }
                }
        }
        return 0;
}

static int conn_on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Conn *k = userdata;

        log_debug("control: dropping a connection of uid %u (pid %d) that was too slow", (unsigned) k->cred.uid,
                  (int) k->cred.pid);
        conn_free(k);
        return 0;
}

/* Best effort, for a client refused before it gets a connection slot. */
static void send_refusal(int fd, const char *msg) {
        _cleanup_free_ char *out = NULL;
        json_t *e = ctl_reply_error("%s", msg);
        size_t len;

        if (e && ctl_frame_encode(e, CTL_REPLY_MAX, &out, &len) >= 0)
                (void) !send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        json_decref(e);
}

static void peer_groups(Conn *k) {
        gid_t g[PEER_GROUPS_MAX];
        socklen_t len = sizeof g;

        /* The groups the peer process holds, read by the kernel at connect(): no NSS lookup
         * that could block the loop, and the same groups the kernel checked against the
         * socket's mode. More than PEER_GROUPS_MAX: ERANGE tells the size; ask again. */
        if (getsockopt(k->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
                if (errno != ERANGE || len == 0)
                        return;
                k->groups = malloc(len);
                if (!k->groups || getsockopt(k->fd, SOL_SOCKET, SO_PEERGROUPS, k->groups, &len) < 0) {
                        k->groups = mfree_gids(k->groups);
                        return;
                }
        } else if (len > 0) {
                k->groups = malloc(len);
                if (!k->groups)
                        return;
                memcpy(k->groups, g, len);
        }
        k->n_groups = len / sizeof(gid_t);
}

static int control_on_throttle(sd_event_source *s, uint64_t usec, void *userdata) {
        Control *c = userdata;

        (void) sd_event_source_set_enabled(c->listen, SD_EVENT_ON);
        return 0;
}

static int control_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Control *c = userdata;

        for (unsigned i = 0; i < ACCEPT_BURST; i++) {
                _cleanup_close_ int cfd = -EBADF;
                struct ucred cred;
                socklen_t len = sizeof cred;
                size_t same = 0;
                Conn *k;
                int r;

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                /* out of fds: pause accepting a moment instead of spinning */
                                log_warning_errno(errno, "control: cannot accept a connection, pausing: %m");
                                (void) sd_event_source_set_enabled(c->listen, SD_EVENT_OFF);
                                (void) sd_event_source_set_time(c->throttle,
                                                                now_usec(CLOCK_MONOTONIC) + 100 * USEC_PER_MSEC);
                                (void) sd_event_source_set_enabled(c->throttle, SD_EVENT_ONESHOT);
                                return 0;
                        }
                        log_warning_errno(errno, "control: accept failed, ignoring: %m");
                        return 0;
                }
                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                        log_warning_errno(errno, "control: SO_PEERCRED failed, dropping the connection: %m");
                        continue;
                }
                for (Conn *o = c->conns; o; o = o->next)
                        if (o->cred.uid == cred.uid)
                                same++;
                /* root keeps CONTROL_CONN_PER_UID slots that other users cannot take */
                if (c->n_conns >= CONTROL_CONN_MAX ||
                    (cred.uid != 0 && (same >= CONTROL_CONN_PER_UID ||
                                       c->n_conns >= CONTROL_CONN_MAX - CONTROL_CONN_PER_UID))) {
                        send_refusal(cfd, "too many connections, try again");
                        continue;
                }
                k = calloc(1, sizeof *k);
                if (!k) {
                        log_oom();
                        continue;
                }
                k->control = c;
                k->cred = cred;
                k->fd = TAKE_FD(cfd);
                ctl_reader_init(&k->reader, CTL_REQUEST_MAX);
                k->next = c->conns;
                if (c->conns)
                        c->conns->prev = k;
                c->conns = k;
                c->n_conns++;
                peer_groups(k);
                r = sd_event_add_io(c->event, &k->io, k->fd, EPOLLIN, conn_on_io, k);
                /* before bulk reading and the ban flush: a status answers during a flood */
                if (r >= 0)
                        (void) sd_event_source_set_priority(k->io, SD_EVENT_PRIORITY_IMPORTANT);
                if (r >= 0)
                        r = sd_event_add_time(c->event, &k->timer, CLOCK_MONOTONIC,
                                              now_usec(CLOCK_MONOTONIC) + CONTROL_READ_TIMEOUT_USEC, 0, conn_on_timeout, k);
                if (r < 0) {
                        log_warning_errno(r, "control: cannot watch a connection, dropping it: %m");
                        conn_free(k);
                }
        }
        return 0;
}

/* ---- the socket ---- */

static int socket_apply_mode(const char *path, const Config *cf) {
        bool root = geteuid() == 0;
        /* as the unit's user (not root) the owner stays and the group is socket_group, which works
         * when that user is a member of it (SupplementaryGroups=), or else the user's own */
        gid_t gid = cf->socket_group ? cf->socket_gid : root ? 0 : getegid();
        mode_t mode = cf->socket_group ? 0660 : 0600;

        if (chown(path, root ? 0 : (uid_t) -1, gid) < 0) {
                if (errno == EPERM && !root && cf->socket_group && chmod(path, 0600) == 0)
                        return log_warning_errno(EPERM, "control: %s stays 0600: uid %u is not a member of socket_group '%s' "
                                                        "(add it to SupplementaryGroups= with systemctl edit nftjaild): %m",
                                                 path, (unsigned) geteuid(), cf->socket_group);
                return -errno;
        }
        if (chmod(path, mode) < 0)
                return -errno;
        return 0;
}

void control_config_changed(Control *c) {
        int r;

        if (!c)
                return;
        r = socket_apply_mode(c->path, manager_config(c->manager));
        if (r < 0 && r != -EPERM)
                log_warning_errno(r, "control: cannot set the owner and mode of %s, ignoring: %m", c->path);
}

/* 1 when a daemon answers on path, 0 when the file is stale or missing, negative on error
 * (-EEXIST: something that is not a socket is in the way). */
static int socket_in_use(const char *path, const struct sockaddr_un *sa, socklen_t salen) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, salen) >= 0 || errno == EAGAIN)
                return 1;
        return 0;
}

int control_new(sd_event *event, const char *path, Manager *m, Control **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *dir = NULL;
        socklen_t salen;
        Control *c;
        mode_t old_umask;
        int r;

        if (!path || !*path || strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(EINVAL, "control socket path '%s' is empty or too long", path ? path : "");
        memcpy(sa.sun_path, path, strlen(path));
        salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);

        dir = strdup(path);
        if (!dir)
                return log_oom();
        if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "failed to create the directory of %s: %m", path);

        r = socket_in_use(path, &sa, salen);
        if (r < 0)
                return log_error_errno(r, "%s exists and is not a socket, refusing to remove it: %m", path);
        if (r > 0)
                return log_error_errno(EADDRINUSE, "another daemon answers on %s: %m", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "failed to remove the stale socket %s: %m", path);

        c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        c->event = sd_event_ref(event);
        c->manager = m;
        c->fd = -EBADF;
        c->path = strdup(path);
        if (!c->path) {
                control_free(c);
                return log_oom();
        }
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
                r = log_error_errno(errno, "failed to create the control socket: %m");
                goto fail;
        }
        /* born 0600: nobody else may connect before the mode below is set */
        old_umask = umask(0177);
        r = bind(c->fd, (struct sockaddr *) &sa, salen);
        umask(old_umask);
        if (r < 0) {
                r = log_error_errno(errno, "failed to bind the control socket %s: %m", path);
                goto fail;
        }
        c->bound = true;
        r = socket_apply_mode(path, manager_config(m));
        if (r < 0 && !(r == -EPERM && geteuid() != 0)) { /* a group the user is not in: said, not fatal */
                log_error_errno(r, "failed to set the owner and mode of %s: %m", path);
                goto fail;
        }
        if (listen(c->fd, SOMAXCONN) < 0) {
                r = log_error_errno(errno, "failed to listen on %s: %m", path);
                goto fail;
        }
        r = sd_event_add_io(event, &c->listen, c->fd, EPOLLIN, control_on_accept, c);
        if (r >= 0)
                (void) sd_event_source_set_priority(c->listen, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_add_time(event, &c->throttle, CLOCK_MONOTONIC, 0, 0, control_on_throttle, c);
        if (r < 0) {
                log_error_errno(r, "failed to watch the control socket: %m");
                goto fail;
        }
        (void) sd_event_source_set_enabled(c->throttle, SD_EVENT_OFF);
        log_info("control socket %s (%s)", path, manager_config(m)->socket_group ? "0660, group may read" : "0600, root only");
        *ret = c;
        return 0;
fail:
        control_free(c);
        return r;
}

Control *control_free(Control *c) {
        if (!c)
                return NULL;
        while (c->conns)
                conn_free(c->conns);
        sd_event_source_disable_unref(c->listen);
        sd_event_source_disable_unref(c->throttle);
        if (c->fd >= 0)
                close(c->fd);
        if (c->bound)
                (void) unlink(c->path);
        sd_event_unref(c->event);
        free(c->banned.frame);
        free(c->path);
        free(c);
        return NULL;
}
