/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "prelude.h"

/* The control socket: an AF_UNIX stream server on the Manager's event loop that speaks the
 * protocol of ctl-proto.h. SO_PEERCRED decides: root may run every command, members of
 * socket_group (nftjail.conf) the read-only ones. Bounded: connections per uid and in all,
 * request size, time to send a request. Main thread only. */

typedef struct Control Control;
typedef struct Manager Manager;

#define CONTROL_CONN_MAX 256            /* connections in all */
#define CONTROL_CONN_PER_UID 32         /* per uid other than root */
#define CONTROL_READ_TIMEOUT_USEC (5 * USEC_PER_SEC)   /* to send a whole request */
#define CONTROL_WRITE_TIMEOUT_USEC (30 * USEC_PER_SEC) /* to read the whole reply */
#define CONTROL_BANNED_CACHE_USEC (1 * USEC_PER_SEC)   /* age of a "banned" reply sent again */

/* Creates the parent directory when missing (0755), removes a stale socket left by a dead daemon
 * (refuses when a daemon answers there), binds, sets the mode (0600 root, or 0660 root:socket_group)
 * and listens. Logs failures. Returns 0 or a negative errno. */
int control_new(sd_event *event, const char *path, Manager *m, Control **ret);
/* Closes every connection and the socket, and unlinks it. */
Control *control_free(Control *c);

/* After a reload: applies the configuration's socket_group to the socket's group and mode. */
void control_config_changed(Control *c);
