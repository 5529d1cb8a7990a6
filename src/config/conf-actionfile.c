/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fail2ban action.d files: [INCLUDES], [Init] and the name[key=value] options of the jail's
 * action line, [Definition] actionstart ... actionflush. The commands are kept as text with
 * their runtime tags (<ip>, <matches>, <F-USER>, ...) in place: src/actions renders them so that
 * no attacker-influenced value is ever parsed by the shell. */
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

static const char *const command_keys[_ACTION_CMD_MAX] = {
        [ACTION_CMD_START] = "actionstart", [ACTION_CMD_STOP] = "actionstop", [ACTION_CMD_CHECK] = "actioncheck",
        [ACTION_CMD_BAN] = "actionban",     [ACTION_CMD_UNBAN] = "actionunban", [ACTION_CMD_FLUSH] = "actionflush",
};

void action_file_done(ActionFile *a) {
        free(a->name);
        free(a->file);
        for (size_t i = 0; i < _ACTION_CMD_MAX; i++)
                free(a->cmd[i]);
        *a = (ActionFile) {};
}

/* 1: loaded into *ret; 0: no action.d/NAME.conf; negative: an error (diagnosed). */
int action_file_load(const char *config_dir, const char *name, const Opt *opts, size_t n_opts, const char *from_file,
                     unsigned from_line, ActionFile *ret, ConfDiags *d) {
        _cleanup_(ini_freep) Ini *ini = NULL;
        _cleanup_free_ char *path = NULL, *dir = NULL, *norestored = NULL;
        ActionFile a = {};
        bool found = false;
        size_t errors = d->n_errors, total = 1024 * 1024;
        Scope sc = {};
        int r;

        if (strchr(name, '/') || name[0] == '.')
                return 0;
        dir = conf_path_join(config_dir, "action.d");
        if (!dir || asprintf(&path, "%s/%s.conf", dir, name) < 0)
                return -ENOMEM;
        ini = ini_new();
        if (!ini)
                return -ENOMEM;
        r = conf_load_with_local(path, ini, d, &found);
        if (r < 0)
                return r;
        if (!found)
                return 0;
        a.name = strdup(name);
        a.file = strdup(path);
        if (!a.name || !a.file) {
                action_file_done(&a);
                return -ENOMEM;
        }
        sc = (Scope) { .opts = opts, .n_opts = n_opts, .opts_file = from_file, .opts_line = from_line, .tags = true,
                       .ini = ini, .total = &total, .name = name };
        scope_add_file_levels(&sc, ini);
        for (size_t i = 0; i < _ACTION_CMD_MAX; i++) {
                r = scope_get_str(&sc, d, command_keys[i], &a.cmd[i], NULL);
                if (r == -ENOMEM) {
                        action_file_done(&a);
                        return r;
                }
                if (a.cmd[i] && !*a.cmd[i])
                        a.cmd[i] = mfree(a.cmd[i]);
        }
        r = scope_get_str(&sc, d, "norestored", &norestored, NULL);
        if (r == -ENOMEM) {
                action_file_done(&a);
                return r;
        }
        a.norestored = norestored && (strcmp(norestored, "1") == 0 || strcasecmp(norestored, "true") == 0 ||
                                      strcasecmp(norestored, "yes") == 0);
        if (d->n_errors > errors) {
                action_file_done(&a);
                return -EINVAL;
        }
        *ret = a;
        return 1;
}
