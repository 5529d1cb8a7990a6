/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/socket.h>

#include <jansson.h>

#include "ctl-proto.h"
#include "manager.h"

/* The commands of the control socket (control-cmd.c), for control.c: each turns a request into
 * its reply through the manager's API, and builds the JSON. The request has been validated
 * (ctl_request_validate()) and the peer allowed to run cmd. Main thread. Returns the reply, or
 * NULL when out of memory. */
json_t *control_cmd_run(Manager *m, const struct ucred *peer, CtlCommand cmd, const json_t *req);
