/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control protocol as the daemon reads it from a client: bytes into the frame reader, a few
 * at a time, each complete frame parsed and validated as a request (and as a reply, which the CLI
 * reads). The whole input is also parsed as one message, so that JSON seeds reach the validators
 * directly. A valid request must survive encode -> read -> parse -> validate unchanged. */
#include <stdint.h>

#include "ctl-proto.h"
#include "fuzz-util.h"

static void check_message(const char *buf, size_t len) {
        char err[256];
        json_t *m = NULL;
        CtlCommand c;

        if (ctl_message_parse(buf, len, &m, err, sizeof err) < 0)
                return;
        if (ctl_request_validate(m, &c, err, sizeof err) == 0) {
                char *frame = NULL;
                size_t flen, used;
                CtlReader r;
                json_t *back = NULL;
                CtlCommand c2;

                if (c < 0 || c >= _CTL_COMMAND_MAX || !ctl_command_to_string(c))
                        abort();
                (void) ctl_command_read_only(c);
                /* what the CLI sends of it reads back the same */
                if (ctl_frame_encode(m, CTL_REQUEST_MAX, &frame, &flen) == 0) {
                        ctl_reader_init(&r, CTL_REQUEST_MAX);
                        if (ctl_reader_feed(&r, frame, flen, &used) != 1 || used != flen ||
                            ctl_message_parse(r.buf, r.len, &back, err, sizeof err) < 0 ||
                            ctl_request_validate(back, &c2, err, sizeof err) < 0 || c2 != c || !json_equal(m, back))
                                abort();
                        json_decref(back);
                        ctl_reader_done(&r);
                        free(frame);
                }
        }
        (void) ctl_reply_validate(m, err, sizeof err);
        json_decref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        CtlReader r;
        size_t i = 0, step = 1;

        check_message((const char *) data, size);

        ctl_reader_init(&r, CTL_REQUEST_MAX);
        while (i < size) {
                size_t used = 0;
                int k = ctl_reader_feed(&r, data + i, MIN(step, size - i), &used);

                if (k < 0 || used > MIN(step, size - i))
                        break;
                i += used;
                if (k == 1) {
                        if (r.len > CTL_REQUEST_MAX || r.buf[r.len] != 0)
                                abort();
                        check_message(r.buf, r.len);
                        ctl_reader_done(&r);
                        ctl_reader_init(&r, CTL_REQUEST_MAX);
                } else if (used == 0)
                        break;
                step = step % 13 + 1;
        }
        ctl_reader_done(&r);
        return 0;
}
