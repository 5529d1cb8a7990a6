/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "manager.h"

/* Metrics in the Prometheus text format (version 0.0.4): what `nftjail metrics` prints and what
 * is written, atomically and every METRICS_INTERVAL_USEC, to metrics_textfile for
 * node_exporter's textfile collector. Names start with nftjail_, counters end in _total, and no
 * label holds an address: jails and families only. Main thread only. */

#define METRICS_INTERVAL_USEC (15 * USEC_PER_SEC)

typedef struct Metrics Metrics;

/* The text, NUL-terminated (malloc'd). Returns 0 or -ENOMEM. */
int metrics_render(Manager *m, char **ret, size_t *ret_len);

/* A timer on e that writes the metrics to the running configuration's metrics_textfile (none:
 * the timer is off); metrics_apply() after a reload. */
int metrics_new(sd_event *e, Manager *m, Metrics **ret);
void metrics_apply(Metrics *x);
Metrics *metrics_free(Metrics *x);
