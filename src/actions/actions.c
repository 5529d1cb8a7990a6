/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actions.h"
#include "log.h"
#include "mail.h"
#include "shell-render.h"
#include "child.h"
#include "util/macro.h"
#include "util/string-util.h"
#include "util/time-util.h"

typedef struct JailRate {
        MailBan tmpl;           /* headers of the digest: the jail's latest settings */
        usec_t window_start;    /* CLOCK_MONOTONIC; 0: no window open */
        unsigned sent;
        unsigned rate;
        usec_t period;
        char *digest;           /* lines of the bans past the rate */
        size_t digest_len;
        unsigned n_digest;
        unsigned dropped;
} JailRate;

struct Actions {
        pthread_mutex_t lock;
        pthread_cond_t cond;    /* CLOCK_MONOTONIC */
        MailBan **queue;        /* ring */
        size_t head, n;
        bool stop;
        bool cmd_running;       /* action.d commands run one at a time, in order */
        atomic_bool cancel;     /* children get SIGKILL: the daemon stops */
        atomic_uint_fast64_t dropped;
        JailRate *rates;
        size_t n_rates;
        pthread_t workers[ACTIONS_WORKERS];
        size_t n_workers;
        char host[256];
};

static const char *const child_env[] = {
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "LANG=C.UTF-8", NULL,
};

static void mail_ban_done(MailBan *b) {
        free(b->jail);
        free(b->dest);
        free(b->sender);
        free(b->sendername);
        free(b->evidence);
        free(b->command);
        free(b->action_name);
        free(b->check);
        free(b->start);
        strv_free(b->tags);
        *b = (MailBan) {};
}

static void mail_ban_free(MailBan *b) {
        if (!b)
                return;
        mail_ban_done(b);
        free(b);
}

static int mail_ban_copy_headers(MailBan *to, const MailBan *from) {
        mail_ban_done(to);
        to->jail = strdup(from->jail);
        to->dest = strdup(from->dest);
        to->sender = strdup(from->sender);
        to->sendername = strdup(from->sendername);
        return to->jail && to->dest && to->sender && to->sendername ? 0 : -ENOMEM;
}

static void log_child(const MailBan *b, const char *what, const SpawnResult *res, int r) {
        char fj[160], fa[96], st[64], esc[SPAWN_OUTPUT_MAX * 4 + 8];
        const char *fields[] = { fj, fa, NULL };

        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", b->jail);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", b->addr);
        if (r < 0) {
                log_event(LOG_WARNING, r, NULL, fields, "%s: %s about %s: cannot run " ACTIONS_SENDMAIL ": %s", b->jail,
                          what, b->addr, strerror(-r));
                return;
        }
        if (!res->timed_out && !res->cancelled && WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0) {
                log_event(LOG_INFO, 0, NULL, fields, "%s: %s about %s handed to sendmail for %s", b->jail, what, b->addr,
                          b->dest);
                return;
        }
        escape_bytes(res->err, res->err_len, esc, sizeof esc);
        log_event(LOG_WARNING, 0, NULL, fields, "%s: %s about %s: " ACTIONS_SENDMAIL " %s, stderr '%s'", b->jail, what,
                  b->addr, spawn_status_string(res, st, sizeof st), esc);
}

static void send_message(Actions *a, const MailBan *b, const char *what, const char *msg, size_t len) {
        static const char *const argv[] = { ACTIONS_SENDMAIL, "-t", "-oi", NULL };
        _cleanup_free_ SpawnResult *res = malloc(sizeof *res);
        int r;

        if (!res) {
                log_oom();
                return;
        }
        if (atomic_load(&a->cancel)) {
                log_warning("%s: %s about %s not sent: the daemon stops", b->jail, what, b->addr);
                return;
        }
        r = spawn_run(argv, child_env, msg, len, ACTIONS_TIMEOUT_SEC * USEC_PER_SEC, &a->cancel, res);
        log_child(b, what, res, r);
}

static char *run_whois(Actions *a, const MailBan *b) {
        char addr[64], *slash;
        const char *argv[] = { ACTIONS_WHOIS, addr, NULL };
        SpawnResult *res;
        char *out;

        if (access(ACTIONS_WHOIS, X_OK) < 0)
                return NULL;
        snprintf(addr, sizeof addr, "%s", b->addr);
        slash = strchr(addr, '/');
        if (slash)
                *slash = 0;
        res = malloc(sizeof *res);
        if (!res)
                return NULL;
        if (spawn_run(argv, child_env, NULL, 0, 20 * USEC_PER_SEC, &a->cancel, res) < 0) {
                free(res);
                return NULL;
        }
        out = memdup_str(res->out, res->out_len);
        free(res);
        return out;
}

static void send_ban(Actions *a, const MailBan *b) {
        _cleanup_free_ char *msg = NULL, *whois = NULL;
        size_t len;

        if (b->whois)
                whois = run_whois(a, b);
        if (mail_compose_ban(b, a->host, whois, &msg, &len) < 0) {
                log_oom();
                return;
        }
        send_message(a, b, "mail", msg, len);
}

static const char *const cmd_names[_ACTION_CMD_MAX] = {
        [ACTION_CMD_START] = "actionstart", [ACTION_CMD_STOP] = "actionstop", [ACTION_CMD_CHECK] = "actioncheck",
        [ACTION_CMD_BAN] = "actionban",     [ACTION_CMD_UNBAN] = "actionunban", [ACTION_CMD_FLUSH] = "actionflush",
};

/* One action.d command (kind) of b: tags we made are spliced, the matched lines and any <F-*>
 * group go by environment. Returns whether it ran and exited 0. */
static bool run_script(Actions *a, const MailBan *b, const char *command, int kind) {
        char failures[16], when[24], bantime[24], fj[160], fa[96], st[64], esc[SPAWN_OUTPUT_MAX * 4 + 8];
        const char *fields[] = { fj, fa, NULL };
        const char *ev = b->evidence ?: "";
        ShellTag tags[] = {
                { "ip", b->addr, strlen(b->addr), true },
                { "name", b->jail, strlen(b->jail), true },
                { "failures", failures, 0, true },
                { "time", when, 0, true },
                { "bantime", bantime, 0, true },
                { "fq-hostname", a->host, strlen(a->host), true },
                { "matches", ev, strlen(ev), false },
                { "ipmatches", ev, strlen(ev), false },
                { "ipjailmatches", ev, strlen(ev), false },
        };
        ShellTag all[ELEMENTSOF(tags) + ACTIONS_TAGS_MAX + 1];
        size_t n_all = ELEMENTSOF(tags);
        bool have_user = false;
        _cleanup_free_ char *script = NULL;
        _cleanup_free_ SpawnResult *res = malloc(sizeof *res);
        const char *env[SHELL_TAGS_MAX + 8];
        char **tenv = NULL;
        size_t n = 0;
        int r;

        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", b->jail);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", b->addr);
        snprintf(failures, sizeof failures, "%u", b->failures);
        snprintf(when, sizeof when, "%lld", (long long) b->when);
        snprintf(bantime, sizeof bantime, "%lld", (long long) b->bantime_sec);
        tags[2].len = strlen(failures);
        tags[3].len = strlen(when);
        tags[4].len = strlen(bantime);
        if (!res) {
                log_oom();
                return false;
        }
        /* the <F-*> groups: never literal, whatever they hold; <F-USER> empty when the filter has none */
        memcpy(all, tags, sizeof tags);
        for (char *const *t = b->tags; t && t[0] && t[1] && n_all < ELEMENTSOF(all) - 1; t += 2) {
                all[n_all++] = (ShellTag) { t[0], t[1], strlen(t[1]), false };
                have_user = have_user || strcmp(t[0], "F-USER") == 0;
        }
        if (!have_user)
                all[n_all++] = (ShellTag) { "F-USER", "", 0, false };
        r = shell_render(command, all, n_all, &script, &tenv);
        if (r < 0) {
                log_event(LOG_WARNING, r, NULL, fields, "%s: action '%s' about %s not run: %s", b->jail, b->action_name,
                          b->addr, r == -EINVAL ? "a tag in a place whose quoting cannot be told (here-document, ${...}, backticks) or unbalanced quotes" : strerror(-r));
                return false;
        }
        for (size_t i = 0; child_env[i]; i++)
                env[n++] = child_env[i];
        for (size_t i = 0; tenv[i] && n < ELEMENTSOF(env) - 1; i++)
                env[n++] = tenv[i];
        env[n] = NULL;
        if (atomic_load(&a->cancel))
                r = -ECANCELED;
        else {
                const char *argv[] = { "/bin/sh", "-c", script, NULL };

                r = spawn_run(argv, env, NULL, 0, ACTIONS_TIMEOUT_SEC * USEC_PER_SEC, &a->cancel, res);
        }
        strv_free(tenv);
        if (r < 0) {
                log_event(LOG_WARNING, r, NULL, fields, "%s: action '%s' about %s: cannot run /bin/sh: %s", b->jail,
                          b->action_name, b->addr, strerror(-r));
                return false;
        }
        if (!res->timed_out && !res->cancelled && WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0) {
                log_event(LOG_INFO, 0, NULL, fields, "%s: action '%s' %s%s%s done", b->jail, b->action_name,
                          cmd_names[kind], b->addr[0] ? " about " : "", b->addr);
                return true;
        }
        escape_bytes(res->err, res->err_len, esc, sizeof esc);
        log_event(LOG_WARNING, 0, NULL, fields, "%s: action '%s' %s%s%s: %s, stderr '%s'", b->jail, b->action_name,
                  cmd_names[kind], b->addr[0] ? " about " : "", b->addr, spawn_status_string(res, st, sizeof st), esc);
        return false;
}

/* fail2ban runs actioncheck before actionban; when it fails, actionstart once more (the rules
 * it makes may be gone), then the ban whatever the outcome: we keep it that simple. */
static void run_command(Actions *a, const MailBan *b) {
        if (b->cmd_kind == ACTION_CMD_BAN && b->check && !run_script(a, b, b->check, ACTION_CMD_CHECK) && b->start)
                (void) run_script(a, b, b->start, ACTION_CMD_START);
        (void) run_script(a, b, b->command, b->cmd_kind);
}



static JailRate *rate_get(Actions *a, const MailBan *b) {
        JailRate *v;

        for (size_t i = 0; i < a->n_rates; i++)
                if (strcmp(a->rates[i].tmpl.jail, b->jail) == 0)
                        return &a->rates[i];
        v = reallocarray(a->rates, a->n_rates + 1, sizeof *v);
        if (!v)
                return NULL;
        a->rates = v;
        v = &a->rates[a->n_rates];
        *v = (JailRate) {};
        if (mail_ban_copy_headers(&v->tmpl, b) < 0) {
                mail_ban_done(&v->tmpl);
                return NULL;
        }
        a->n_rates++;
        return v;
}

/* Under the lock: whether b may go out now, else it joins its jail's digest. */
static bool rate_admit(Actions *a, JailRate *jr, const MailBan *b, usec_t now, bool force_digest) {
        _cleanup_free_ char *line = NULL;
        char *d;

        if (jr->window_start == 0 || now >= jr->window_start + jr->period) {
                if (jr->n_digest == 0 && jr->dropped == 0) {
                        jr->window_start = now;
                        jr->sent = 0;
                }
        }
        if (!force_digest && jr->sent < jr->rate && jr->n_digest == 0 && jr->dropped == 0) {
                jr->sent++;
                return true;
        }
        if (jr->n_digest >= ACTIONS_DIGEST_MAX || mail_digest_line(b, &line) < 0) {
                jr->dropped++;
                return false;
        }
        d = realloc(jr->digest, jr->digest_len + strlen(line) + 1);
        if (!d) {
                jr->dropped++;
                return false;
        }
        memcpy(d + jr->digest_len, line, strlen(line) + 1);
        jr->digest = d;
        jr->digest_len += strlen(line);
        jr->n_digest++;
        return false;
}

/* Under the lock: a jail whose digest is due (its period is over, or we stop), or NULL; *next is
 * lowered to the earliest time one is due. */
static JailRate *digest_due(Actions *a, usec_t now, usec_t *next) {
        for (size_t i = 0; i < a->n_rates; i++) {
                JailRate *jr = &a->rates[i];
                usec_t due = jr->window_start + jr->period;

                if (jr->n_digest == 0 && jr->dropped == 0)
                        continue;
                if (a->stop || now >= due)
                        return jr;
                *next = MIN(*next, due);
        }
        return NULL;
}

static void *worker(void *userdata) {
        Actions *a = userdata;

        pthread_mutex_lock(&a->lock);
        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC), next = USEC_INFINITY;
                /* at a stop the whole queue goes into the digests first: one mail a jail */
                JailRate *jr = a->stop && a->n > 0 ? NULL : digest_due(a, now, &next);

                if (jr) {
                        _cleanup_free_ char *lines = TAKE_PTR(jr->digest), *msg = NULL;
                        unsigned n = jr->n_digest, dropped = jr->dropped;
                        MailBan tmpl = {};
                        size_t len;
                        int r;

                        jr->digest_len = 0;
                        jr->n_digest = jr->dropped = 0;
                        /* the digest counts as the period's last mail: a new period starts now */
                        jr->window_start = now;
                        jr->sent = 0;
                        r = mail_ban_copy_headers(&tmpl, &jr->tmpl);
                        pthread_mutex_unlock(&a->lock);
                        if (r >= 0) {
                                snprintf(tmpl.addr, sizeof tmpl.addr, "%u addresses", n + dropped);
                                r = mail_compose_digest(&tmpl, lines, n, dropped, a->host, &msg, &len);
                        }
                        if (r < 0)
                                log_oom();
                        else
                                send_message(a, &tmpl, "digest", msg, len);
                        mail_ban_done(&tmpl);
                        pthread_mutex_lock(&a->lock);
                        continue;
                }
                if (a->n > 0 && !(a->queue[a->head]->command && a->cmd_running)) {
                        MailBan *b = a->queue[a->head];
                        bool now_ok = false;

                        a->head = (a->head + 1) % ACTIONS_QUEUE_MAX;
                        a->n--;
                        if (b->command) {
                                /* at a stop: actionstop and actionflush still run, bans do not */
                                bool run = !a->stop || b->cmd_kind == ACTION_CMD_STOP || b->cmd_kind == ACTION_CMD_FLUSH;

                                a->cmd_running = true;
                                pthread_mutex_unlock(&a->lock);
                                if (run)
                                        run_command(a, b);
                                mail_ban_free(b);
                                pthread_mutex_lock(&a->lock);
                                a->cmd_running = false;
                                pthread_cond_broadcast(&a->cond);
                                continue;
                        }
                        jr = rate_get(a, b);
                        if (jr) {
                                /* a reload may have changed the jail's settings */
                                (void) mail_ban_copy_headers(&jr->tmpl, b);
                                jr->rate = b->rate;
                                jr->period = (usec_t) b->rate_period_sec * USEC_PER_SEC;
                                now_ok = rate_admit(a, jr, b, now, a->stop);
                        } else
                                now_ok = true;
                        pthread_mutex_unlock(&a->lock);
                        if (now_ok)
                                send_ban(a, b);
                        mail_ban_free(b);
                        pthread_mutex_lock(&a->lock);
                        continue;
                }
                if (a->stop && a->n == 0)
                        break;
                if (next == USEC_INFINITY)
                        pthread_cond_wait(&a->cond, &a->lock);
                else {
                        struct timespec ts = { .tv_sec = (time_t) (next / USEC_PER_SEC),
                                               .tv_nsec = (long) (next % USEC_PER_SEC) * 1000 };

                        (void) pthread_cond_timedwait(&a->cond, &a->lock, &ts);
                }
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

int actions_new(Actions **ret) {
        _cleanup_free_ Actions *a = calloc(1, sizeof *a);
        pthread_condattr_t ca;
        int r;

        if (!a)
                return -ENOMEM;
        a->queue = calloc(ACTIONS_QUEUE_MAX, sizeof *a->queue);
        if (!a->queue)
                return -ENOMEM;
        mail_hostname(a->host, sizeof a->host);
        pthread_mutex_init(&a->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&a->cond, &ca);
        pthread_condattr_destroy(&ca);
        for (; a->n_workers < ACTIONS_WORKERS; a->n_workers++) {
                r = pthread_create(&a->workers[a->n_workers], NULL, worker, a);
                if (r != 0) {
                        Actions *tmp = TAKE_PTR(a);

                        (void) actions_free(tmp);
                        return -r;
                }
        }
        *ret = TAKE_PTR(a);
        return 0;
}

Actions *actions_free(Actions *a) {
        if (!a)
                return NULL;
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        /* the workers put what is queued into the digests and send those; a child still running
         * after ACTIONS_STOP_GRACE_SEC (one that hangs) gets SIGKILL, so a stop is bounded */
        {
                struct timespec ts;

                (void) clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += ACTIONS_STOP_GRACE_SEC;
                for (size_t i = 0; i < a->n_workers; i++)
                        if (pthread_timedjoin_np(a->workers[i], NULL, &ts) == 0)
                                a->workers[i] = 0;
                atomic_store(&a->cancel, true);
                for (size_t i = 0; i < a->n_workers; i++)
                        if (a->workers[i])
                                (void) pthread_join(a->workers[i], NULL);
        }
        for (size_t i = 0; i < a->n; i++)
                mail_ban_free(a->queue[(a->head + i) % ACTIONS_QUEUE_MAX]);
        for (size_t i = 0; i < a->n_rates; i++) {
                mail_ban_done(&a->rates[i].tmpl);
                free(a->rates[i].digest);
        }
        free(a->rates);
        free(a->queue);
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
        free(a);
        return NULL;
}

static void queue_push(Actions *a, MailBan *b) {
        pthread_mutex_lock(&a->lock);
        if (a->n == ACTIONS_QUEUE_MAX) {
                mail_ban_free(a->queue[a->head]);
                a->head = (a->head + 1) % ACTIONS_QUEUE_MAX;
                a->n--;
                atomic_fetch_add(&a->dropped, 1);
        }
        a->queue[(a->head + a->n) % ACTIONS_QUEUE_MAX] = b;
        a->n++;
        pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->lock);
}

static int submit_one(Actions *a, const JailConf *jc, const Addr *addr, uint8_t prefixlen, unsigned failures,
                      const char *evidence, char *const *tags, const ActionFile *af, int kind);

/* A tag name as an action file writes it: "F-" and capitals, digits, '_'. */
static bool tag_name_ok(const char *s, size_t n) {
        if (n < 3 || n > 40 || strncmp(s, "F-", 2) != 0)
                return false;
        for (size_t i = 2; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

/* "F-USER=VALUE" entries into name, value pairs (see MailBan.tags), checked and bounded; the
 * ones that are not such are left out. NULL for none; -ENOMEM. */
static int tags_copy(char *const *in, char ***ret) {
        char **v = NULL;
        size_t n = 0;

        for (; in && *in && n < ACTIONS_TAGS_MAX; in++) {
                const char *eq = strchr(*in, '=');
                _cleanup_free_ char *name = NULL, *value = NULL;

                if (!eq || !tag_name_ok(*in, (size_t) (eq - *in)))
                        continue;
                name = strndup(*in, (size_t) (eq - *in));
                value = strndup(eq + 1, ACTIONS_TAG_VALUE_MAX);
                if (!name || !value || strv_extend(&v, name) < 0 || strv_extend(&v, value) < 0)
                        goto oom;
                n++;
        }
        *ret = v;
        return 0;
oom:
        strv_free(v);
        return -ENOMEM;
}

int actions_submit_ban(Actions *a, const JailConf *jc, const Addr *addr, uint8_t prefixlen, unsigned failures,
                       const char *evidence, char *const *tags) {
        char **t = NULL;
        int r = 0;

        if (!a)
                return 0;
        r = tags_copy(tags, &t);
        if (r < 0)
                return r;
        if (jc->mail.enabled)
                r = submit_one(a, jc, addr, prefixlen, failures, evidence, t, NULL, ACTION_CMD_BAN);
        for (size_t i = 0; r >= 0 && i < jc->n_action_files; i++)
                if (jc->action_files[i].cmd[ACTION_CMD_BAN])
                        r = submit_one(a, jc, addr, prefixlen, failures, evidence, t, &jc->action_files[i],
                                       ACTION_CMD_BAN);
        strv_free(t);
        return r;
}

int actions_submit_cmd(Actions *a, const JailConf *jc, ActionCmd cmd, const Addr *addr, uint8_t prefixlen) {
        int r = 0;

        if (!a || cmd < 0 || cmd >= _ACTION_CMD_MAX || cmd == ACTION_CMD_BAN || cmd == ACTION_CMD_CHECK)
                return 0;
        if (cmd == ACTION_CMD_UNBAN && !addr)
                return 0;
        for (size_t i = 0; r >= 0 && i < jc->n_action_files; i++)
                if (jc->action_files[i].cmd[cmd])
                        r = submit_one(a, jc, cmd == ACTION_CMD_UNBAN ? addr : NULL, prefixlen, 0, NULL, NULL,
                                       &jc->action_files[i], cmd);
        return r;
}

static int submit_one(Actions *a, const JailConf *jc, const Addr *addr, uint8_t prefixlen, unsigned failures,
                      const char *evidence, char *const *tags, const ActionFile *af, int kind) {
        MailBan *b;
        char as[ADDR_STRLEN];
        bool lines = af || jc->mail.lines;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->jail = strdup(jc->name);
        b->dest = strdup(af ? "" : jc->mail.dest);
        b->sender = strdup(af ? "" : jc->mail.sender);
        b->sendername = strdup(af ? "" : jc->mail.sendername);
        b->evidence = lines && evidence ? strdup(evidence) : NULL;
        b->command = af ? strdup(af->cmd[kind]) : NULL;
        b->action_name = af ? strdup(af->name) : NULL;
        b->cmd_kind = kind;
        for (char *const *t = tags; t && *t; t++)
                if (strv_extend(&b->tags, *t) < 0) {
                        mail_ban_free(b);
                        return -ENOMEM;
                }
        if (af && kind == ACTION_CMD_BAN && af->cmd[ACTION_CMD_CHECK]) {
                b->check = strdup(af->cmd[ACTION_CMD_CHECK]);
                b->start = af->cmd[ACTION_CMD_START] ? strdup(af->cmd[ACTION_CMD_START]) : NULL;
                if (!b->check || (af->cmd[ACTION_CMD_START] && !b->start)) {
                        mail_ban_free(b);
                        return -ENOMEM;
                }
        }
        if (!b->jail || !b->dest || !b->sender || !b->sendername || (lines && evidence && !b->evidence) ||
            (af && (!b->command || !b->action_name))) {
                mail_ban_free(b);
                return -ENOMEM;
        }
        if (!addr)
                goto push;
        addr_to_string(addr, as, sizeof as);
        if ((addr->family == AF_INET && prefixlen < 32) || (addr->family == AF_INET6 && prefixlen < 128))
                snprintf(b->addr, sizeof b->addr, "%s/%u", as, prefixlen);
        else
                snprintf(b->addr, sizeof b->addr, "%s", as);
        b->failures = failures;
        b->maxretry = jc->maxretry;
        b->findtime_sec = jc->findtime_sec;
        b->bantime_sec = jc->bantime_sec;
        b->when = time(NULL);
        b->lines = lines;
        b->whois = jc->mail.whois;
        b->rate = jc->mail.rate;
        b->rate_period_sec = jc->mail.rate_period_sec;
push:
        if (!addr) {
                b->when = time(NULL);
                b->bantime_sec = jc->bantime_sec;
                b->failures = failures;
        }
        queue_push(a, b);
        return 0;
}

uint64_t actions_dropped(const Actions *a) {
        return a ? atomic_load(&((Actions *) a)->dropped) : 0;
}
