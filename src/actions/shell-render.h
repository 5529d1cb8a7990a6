/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "prelude.h"

/* fail2ban action commands are shell, run with /bin/sh -c. fail2ban splices tag values into the
 * text, so a user name "$(reboot)" runs. Here a tag whose value an attacker can influence
 * (<matches>, <F-USER>, any <F-*>, ...) is never spliced: its value goes into an environment
 * variable NJ_T<n> and the tag becomes a reference to it that is right for the quoting context at
 * that point of the script: unquoted "${NJ_T1}", inside "..." ${NJ_T1}, inside '...' '"${NJ_T1}"'
 * (close, expand inside double quotes, reopen). The shell expands a variable once and never
 * parses its value, so the value arrives as it is. Tags whose values we made and checked
 * (<ip>, <name>, numbers) are put in literally.
 *
 * Limits: the context is tracked through quotes, backslashes, $( ) and backticks; a tag inside
 * a here-document body or inside ${...} is refused (-EINVAL), as is a script with unbalanced
 * quotes. Values are cut at SHELL_VALUE_MAX bytes and NUL bytes are dropped (the environment
 * cannot carry them). */

#define SHELL_VALUE_MAX (64U * 1024U)
#define SHELL_TAGS_MAX 64U

typedef struct ShellTag {
        const char *name;       /* "ip", "F-USER", ... without < > */
        const char *value;
        size_t len;
        bool literal;           /* a checked value of ours: may be spliced */
} ShellTag;

/* Renders script with tags into *ret_script (malloc'd) and *ret_env ("NJ_T1=value", NULL-
 * terminated, malloc'd strings). Unknown tags stay as they are (as in fail2ban). Returns 0,
 * -EINVAL (see above) or -ENOMEM. */
int shell_render(const char *script, const ShellTag *tags, size_t n_tags, char **ret_script, char ***ret_env);

/* Whether a value may be spliced literally: letters, digits and . : / _ - only, bounded. */
bool shell_value_literal_ok(const char *v);
