/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <jansson.h>

#include "prelude.h"

/* The control protocol's wire format, shared by the daemon (control.c) and the CLI. Pure: no I/O,
 * no logging. One request, one reply, each a frame: a 4-byte big-endian length, then that many
 * bytes of one JSON object (UTF-8). Every message carries "version": CTL_PROTO_VERSION.
 * Request: {"version":1, "command":"status", ...arguments}.
 * Reply:   {"version":1, "ok":true, ...} or {"version":1, "ok":false, "error":"one line"}.
 * docs/PROTOCOL.md lists the commands and their fields. */

#define CTL_PROTO_VERSION 1
#define CTL_HEADER_SIZE 4
#define CTL_REQUEST_MAX (64U * 1024U)          /* bytes of JSON in a request */
#define CTL_REPLY_MAX (64U * 1024U * 1024U)    /* bytes of JSON in a reply */
#define CTL_JAIL_MAX 127                       /* a jail name (it is the element comment) */
#define CTL_ADDR_MAX 64

typedef enum CtlCommand {
        CTL_PING,
        CTL_STATUS,
        CTL_BANNED,
        CTL_BAN,
        CTL_UNBAN,
        CTL_RELOAD,
        CTL_METRICS,
        _CTL_COMMAND_MAX,
        _CTL_COMMAND_INVALID = -EINVAL,
} CtlCommand;

const char *ctl_command_to_string(CtlCommand c);
CtlCommand ctl_command_from_string(const char *s);
/* Whether members of socket_group may run c (root may run everything). */
bool ctl_command_read_only(CtlCommand c);
/* Whether members of socket_group may send req, a validated request of c: a read-only command
 * without "kernel": true (the kernel's listing holds the daemon's loop; root only). */
bool ctl_request_read_only(CtlCommand c, const json_t *req);

/* Serialises msg (a JSON object) into a frame: *ret is malloc'd, header included. Returns 0,
 * -EMSGSIZE when the JSON is longer than max, -ENOMEM, -EINVAL (not an object). */
int ctl_frame_encode(const json_t *msg, size_t max, char **ret, size_t *ret_len);

/* Incremental frame reader for non-blocking sockets. */
typedef struct CtlReader {
        uint8_t header[CTL_HEADER_SIZE];
        size_t n_header;
        uint32_t len;           /* payload length, once the header is in */
        char *buf;              /* payload, NUL-terminated once complete */
        size_t got;
        size_t max;
} CtlReader;

void ctl_reader_init(CtlReader *r, size_t max);
void ctl_reader_done(CtlReader *r);
/* Takes up to n bytes; *ret_used = how many it consumed (never beyond the end of the frame).
 * Returns 1 when the frame is complete (r->buf, r->len), 0 when it needs more, -EMSGSIZE when
 * the announced length is above max, -EBADMSG for a zero length, -ENOMEM. */
int ctl_reader_feed(CtlReader *r, const void *data, size_t n, size_t *ret_used);

/* Parses one message: a JSON object (duplicate keys refused) with "version" equal to
 * CTL_PROTO_VERSION. Returns 0 with *ret (a new reference), -EBADMSG (not JSON, not an object,
 * no or bad version; a one-line reason in err), -EPROTONOSUPPORT (another version). */
int ctl_message_parse(const char *buf, size_t len, json_t **ret, char *err, size_t errlen);

/* Checks a parsed request: a known "command", each argument of its type, nothing unknown.
 * Returns 0 with *ret_command, or -EINVAL with a one-line reason in err. */
int ctl_request_validate(const json_t *req, CtlCommand *ret_command, char *err, size_t errlen);

/* Checks a parsed reply: "ok" is a boolean, and when false "error" is a string. Returns 1 for
 * ok:true, 0 for ok:false, -EBADMSG (reason in err). */
int ctl_reply_validate(const json_t *reply, char *err, size_t errlen);

/* {"version":1, "command":NAME}, or NULL on ENOMEM. */
json_t *ctl_request_new(CtlCommand c);
/* {"version":1, "ok":true}, or NULL on ENOMEM. */
json_t *ctl_reply_new(void);
/* {"version":1, "ok":false, "error":MESSAGE}; the message is cut to one line. NULL on ENOMEM. */
json_t *ctl_reply_error(const char *format, ...) _printf_(1, 2);

/* A JSON string of s; bytes that are not valid UTF-8 (a file name, a journal match written in
 * another charset) become '?', so that a reply can always be built. NULL on ENOMEM. */
json_t *ctl_json_string(const char *s);
