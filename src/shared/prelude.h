/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The prelude every module includes first. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"
#include "util/time-util.h"
