/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl-proto.h"

static const char *const command_table[_CTL_COMMAND_MAX] = {
        [CTL_PING] = "ping",
        [CTL_STATUS] = "status",
        [CTL_BANNED] = "banned",
        [CTL_BAN] = "ban",
        [CTL_UNBAN] = "unban",
        [CTL_RELOAD] = "reload",
        [CTL_METRICS] = "metrics",
};

const char *ctl_command_to_string(CtlCommand c) {
        return c >= 0 && c < _CTL_COMMAND_MAX ? command_table[c] : NULL;
}

CtlCommand ctl_command_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(command_table); i++)
                if (strcmp(s, command_table[i]) == 0)
                        return (CtlCommand) i;
        return _CTL_COMMAND_INVALID;
}

bool ctl_command_read_only(CtlCommand c) {
        return c == CTL_PING || c == CTL_STATUS || c == CTL_BANNED || c == CTL_METRICS;
}

bool ctl_request_read_only(CtlCommand c, const json_t *req) {
        /* "kernel": a listing of every set, seconds of the daemon's loop for a large one */
        return ctl_command_read_only(c) && !json_is_true(json_object_get(req, "kernel"));
}

int ctl_frame_encode(const json_t *msg, size_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *s = NULL;
        char *out;
        size_t n;

        if (!json_is_object(msg))
                return -EINVAL;
        s = json_dumps(msg, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        n = strlen(s);
        if (n > max || n > UINT32_MAX)
                return -EMSGSIZE;
        out = malloc(CTL_HEADER_SIZE + n);
        if (!out)
                return -ENOMEM;
        out[0] = (char) (n >> 24);
        out[1] = (char) (n >> 16);
        out[2] = (char) (n >> 8);
        out[3] = (char) n;
        memcpy(out + CTL_HEADER_SIZE, s, n);
        *ret = out;
        *ret_len = CTL_HEADER_SIZE + n;
        return 0;
}

void ctl_reader_init(CtlReader *r, size_t max) {
        *r = (CtlReader) { .max = max };
}

void ctl_reader_done(CtlReader *r) {
        free(r->buf);
        *r = (CtlReader) { .max = r->max };
}

int ctl_reader_feed(CtlReader *r, const void *data, size_t n, size_t *ret_used) {
        const uint8_t *p = data;
        size_t used = 0, k;

        if (r->n_header < CTL_HEADER_SIZE) {
                k = MIN(n, CTL_HEADER_SIZE - r->n_header);
                memcpy(r->header + r->n_header, p, k);
                r->n_header += k;
                used += k;
                *ret_used = used;
                if (r->n_header < CTL_HEADER_SIZE)
                        return 0;
                r->len = (uint32_t) r->header[0] << 24 | (uint32_t) r->header[1] << 16 |
                         (uint32_t) r->header[2] << 8 | r->header[3];
                if (r->len == 0)
                        return -EBADMSG;
                if (r->len > r->max)
                        return -EMSGSIZE;
                r->buf = malloc((size_t) r->len + 1);
                if (!r->buf)
                        return -ENOMEM;
                r->got = 0;
        }
        k = MIN(n - used, r->len - r->got);
        memcpy(r->buf + r->got, p + used, k);
        r->got += k;
        used += k;
        *ret_used = used;
        if (r->got < r->len)
                return 0;
        r->buf[r->len] = 0;
        return 1;
}

int ctl_message_parse(const char *buf, size_t len, json_t **ret, char *err, size_t errlen) {
        json_error_t je;
        json_t *m, *v;

        m = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (!m) {
                snprintf(err, errlen, "bad JSON at line %d column %d: %s", je.line, je.column, je.text);
                return -EBADMSG;
        }
        if (!json_is_object(m)) {
                json_decref(m);
                snprintf(err, errlen, "the message is not a JSON object");
                return -EBADMSG;
        }
        v = json_object_get(m, "version");
        if (!json_is_integer(v)) {
                json_decref(m);
                snprintf(err, errlen, "\"version\" is missing or not an integer");
                return -EBADMSG;
        }
        if (json_integer_value(v) != CTL_PROTO_VERSION) {
                snprintf(err, errlen, "protocol version %lld is not supported (this side speaks %d)",
                         (long long) json_integer_value(v), CTL_PROTO_VERSION);
                json_decref(m);
                return -EPROTONOSUPPORT;
        }
        *ret = m;
        return 0;
}

typedef enum ArgType {
        ARG_STRING,
        ARG_INTEGER,
        ARG_BOOLEAN,
} ArgType;

typedef struct ArgSpec {
        const char *name;
        ArgType type;
        bool required;
        size_t max_len;         /* strings */
} ArgSpec;

#define ARGS_MAX 4

static const ArgSpec command_args[_CTL_COMMAND_MAX][ARGS_MAX] = {
        [CTL_PING] = {},
        [CTL_STATUS] = { { "jail", ARG_STRING, false, CTL_JAIL_MAX }, { "kernel", ARG_BOOLEAN, false, 0 } },
        [CTL_BANNED] = { { "addr", ARG_STRING, false, CTL_ADDR_MAX }, { "kernel", ARG_BOOLEAN, false, 0 } },
        [CTL_BAN] = {
                { "jail", ARG_STRING, true, CTL_JAIL_MAX },
                { "addr", ARG_STRING, true, CTL_ADDR_MAX },
                { "bantime", ARG_INTEGER, false, 0 },
                { "report", ARG_BOOLEAN, false, 0 },
        },
        [CTL_UNBAN] = {
                { "addr", ARG_STRING, false, CTL_ADDR_MAX },
                { "jail", ARG_STRING, false, CTL_JAIL_MAX },
                { "all", ARG_BOOLEAN, false, 0 },
                { "fleet", ARG_BOOLEAN, false, 0 },
        },
        [CTL_RELOAD] = {
                { "jail", ARG_STRING, false, CTL_JAIL_MAX },
                { "unban", ARG_BOOLEAN, false, 0 },
        },
        [CTL_METRICS] = {},
};

static const char *type_name(ArgType t) {
        return t == ARG_STRING ? "a string" : t == ARG_INTEGER ? "an integer" : "a boolean";
}

int ctl_request_validate(const json_t *req, CtlCommand *ret_command, char *err, size_t errlen) {
        const char *key, *name;
        const ArgSpec *spec;
        CtlCommand c;
        json_t *v;

        v = json_object_get(req, "command");
        if (!json_is_string(v)) {
                snprintf(err, errlen, "\"command\" is missing or not a string");
                return -EINVAL;
        }
        name = json_string_value(v);
        c = ctl_command_from_string(name);
        if (c < 0 || json_string_length(v) != strlen(name)) {
                snprintf(err, errlen, "unknown command '%.64s'", name);
                return -EINVAL;
        }
        spec = command_args[c];
        json_object_foreach((json_t *) req, key, v) {
                const ArgSpec *a = NULL;

                if (strcmp(key, "version") == 0 || strcmp(key, "command") == 0)
                        continue;
                for (size_t i = 0; i < ARGS_MAX && spec[i].name; i++)
                        if (strcmp(spec[i].name, key) == 0)
                                a = &spec[i];
                if (!a) {
                        snprintf(err, errlen, "%s: unknown argument '%.64s'", name, key);
                        return -EINVAL;
                }
                if ((a->type == ARG_STRING && !json_is_string(v)) || (a->type == ARG_INTEGER && !json_is_integer(v)) ||
                    (a->type == ARG_BOOLEAN && !json_is_boolean(v))) {
                        snprintf(err, errlen, "%s: \"%s\" must be %s", name, key, type_name(a->type));
                        return -EINVAL;
                }
                if (a->type == ARG_STRING) {
                        const char *s = json_string_value(v);
                        size_t len = json_string_length(v);

                        /* an embedded NUL would make the C string differ from what was sent */
                        if (len == 0 || len > a->max_len || strlen(s) != len) {
                                snprintf(err, errlen, "%s: \"%s\" must be 1 to %zu characters, without NUL", name,
                                         key, a->max_len);
                                return -EINVAL;
                        }
                }
        }
        for (size_t i = 0; i < ARGS_MAX && spec[i].name; i++)
                if (spec[i].required && !json_object_get(req, spec[i].name)) {
                        snprintf(err, errlen, "%s: \"%s\" is missing", name, spec[i].name);
                        return -EINVAL;
                }
        if (c == CTL_BAN && json_object_get(req, "bantime") &&
            json_integer_value(json_object_get(req, "bantime")) == 0) {
                snprintf(err, errlen, "ban: \"bantime\" must not be 0 (leave it out for the jail's bantime)");
                return -EINVAL;
        }
        if (c == CTL_BAN && json_object_get(req, "bantime") &&
            !bantime_valid((int64_t) json_integer_value(json_object_get(req, "bantime")))) {
                /* a longer element timeout is refused by the kernel (ERANGE); sent anyway, the
                 * arithmetic that leads to it would wrap into a sub-second ban */
                snprintf(err, errlen,
                         "ban: \"bantime\" %lld is past the kernel's limit for an element timeout: at most %lld "
                         "seconds (about 584 years), or -1 for a permanent ban",
                         (long long) json_integer_value(json_object_get(req, "bantime")),
                         (long long) NFTJAIL_BANTIME_MAX_SEC);
                return -EINVAL;
        }
        if (c == CTL_STATUS && json_is_true(json_object_get(req, "kernel")) && !json_object_get(req, "jail")) {
                snprintf(err, errlen, "status: \"kernel\" goes with \"jail\"");
                return -EINVAL;
        }
        if (c == CTL_UNBAN) {
                bool all = json_is_true(json_object_get(req, "all")), addr = json_object_get(req, "addr");
                if (all == addr) {
                        snprintf(err, errlen, "unban: give either \"addr\" or \"all\": true");
                        return -EINVAL;
                }
        }
        *ret_command = c;
        return 0;
}

int ctl_reply_validate(const json_t *reply, char *err, size_t errlen) {
        json_t *ok = json_object_get(reply, "ok"), *e;

        if (!json_is_boolean(ok)) {
                snprintf(err, errlen, "bad reply: \"ok\" is missing or not a boolean");
                return -EBADMSG;
        }
        if (json_is_true(ok))
                return 1;
        e = json_object_get(reply, "error");
        if (!json_is_string(e)) {
                snprintf(err, errlen, "bad reply: \"error\" is missing or not a string");
                return -EBADMSG;
        }
        return 0;
}

json_t *ctl_request_new(CtlCommand c) {
        return json_pack("{s:i, s:s}", "version", CTL_PROTO_VERSION, "command", ctl_command_to_string(c));
}

json_t *ctl_reply_new(void) {
        return json_pack("{s:i, s:b}", "version", CTL_PROTO_VERSION, "ok", 1);
}

json_t *ctl_reply_error(const char *format, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);
        /* one line: anything after a newline is dropped, control characters become '?' */
        buf[strcspn(buf, "\n")] = 0;
        for (char *p = buf; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        return json_pack("{s:i, s:b, s:s}", "version", CTL_PROTO_VERSION, "ok", 0, "error", buf);
}

json_t *ctl_json_string(const char *s) {
        _cleanup_free_ char *copy = NULL;
        json_t *v;

        v = json_string(s ? s : "");
        if (v)
                return v;
        copy = strdup(s);
        if (!copy)
                return NULL;
        for (char *p = copy; *p; p++)
                if ((unsigned char) *p >= 0x80)
                        *p = '?';
        return json_string(copy);
}
