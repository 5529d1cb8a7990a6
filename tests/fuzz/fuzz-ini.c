/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The INI reader: any bytes as a configuration file (continuation lines, comments, sections,
 * NUL bytes, over-long lines), then the merge of the result into a second parse of itself (the
 * override chain that jail.local over jail.conf builds). Each value must keep one file line per
 * '\n'-separated part, in increasing order from its key's line. */
#include <stdint.h>

#include "ini.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ConfDiags d = {};
        Ini *a = NULL, *b = NULL;

        if (ini_parse_buffer("fuzz.conf", (const char *) data, size, &a, &d) == 0 &&
            ini_parse_buffer("fuzz.local", (const char *) data, size, &b, &d) == 0 && ini_merge(a, b) == 0) {
                /* every value keeps a line per part, and the lookups agree with the list */
                for (size_t i = 0; i < a->n_sections; i++) {
                        const IniSection *s = a->sections[i];

                        if (ini_find_section(a, s->name) == NULL)
                                abort();
                        for (size_t j = 0; j < s->n_entries; j++) {
                                const IniEntry *e = s->entries[j];
                                size_t parts = e->value[0] ? 1 : 0; /* "key =" alone has no value line */

                                for (const char *c = e->value; *c; c++)
                                        parts += *c == '\n';
                                if (e->n_lines != parts || ini_section_get(s, e->key) == NULL)
                                        abort();
                                for (size_t k = 0; k < e->n_lines; k++)
                                        if (e->lines[k] < e->line || (k > 0 && e->lines[k] <= e->lines[k - 1]))
                                                abort();
                        }
                }
        }
        ini_free(a);
        ini_free(b);
        conf_diags_done(&d);
        return 0;
}
