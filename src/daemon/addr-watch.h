/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "prelude.h"

/* Tells when an address of this host appears or goes (rtnetlink RTMGRP_IPV4_IFADDR and
 * RTMGRP_IPV6_IFADDR), so that ignoreself follows the host's addresses. Main thread. */

typedef struct AddrWatch AddrWatch;
typedef void (*AddrWatchCb)(void *userdata);

/* cb runs once per batch of notifications (and after an overrun, when some were lost). */
int addr_watch_new(sd_event *e, AddrWatchCb cb, void *userdata, AddrWatch **ret);
AddrWatch *addr_watch_free(AddrWatch *w);
