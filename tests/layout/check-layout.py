#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The source layout's rules, checked on the tree (src/meson.build states them; the build enforces
the include paths of each .c file, this also covers headers that no .c of their own folder
includes, and the rules the compiler cannot see):
  - a file's quoted includes resolve in its own folder or in a folder it may use;
  - only the manager's own files include manager-internal.h, and only nft/ includes nft-internal.h;
  - no C file is over 1,000 lines;
  - an upward include does not compile: a probe in config/ that includes a daemon header fails
    with the config library's include directories (and one including a shared header compiles).
Usage: check-layout.py SRC_DIR BUILD_SHARED_DIR CC"""
import os
import re
import subprocess
import sys
import tempfile

src, build_shared, cc = sys.argv[1], sys.argv[2], sys.argv[3]

# folder -> folders whose headers it may include (besides its own)
USES = {
    "shared": [],
    "config": ["shared"],
    "match": ["config", "shared"],
    "daemon/nft": ["shared"],
    "daemon/sources": ["match", "config", "shared"],
    "reporter": ["config", "shared"],
    "actions": ["config", "shared"],
    "fleet": ["config", "shared"],
    "daemon": ["fleet", "actions", "reporter", "daemon/sources", "daemon/nft", "match", "config", "shared"],
    "cli": ["reporter", "match", "config", "shared"],
}
PRIVATE = {"manager-internal.h": re.compile(r"^daemon/manager[-a-z]*\.(c|h)$"),
           "nft-internal.h": re.compile(r"^daemon/nft/")}
MAX_LINES = 1000

problems = []
inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(rel):
    d = os.path.dirname(rel)
    while d and d not in USES:
        d = os.path.dirname(d)  # shared/util -> shared
    return d


for root, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, src)
        home = folder_of(rel)
        if home not in USES:
            problems.append(f"{rel}: not in a component folder ({', '.join(USES)})")
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        if f.endswith(".c") and text.count("\n") > MAX_LINES:
            problems.append(f"{rel}: {text.count(chr(10))} lines, more than {MAX_LINES}")
        for m in inc_re.finditer(text):
            name = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if name == "config.h":
                continue
            if name in PRIVATE and not PRIVATE[name].match(rel):
                problems.append(f"{rel}:{line}: includes {name}, private to {PRIVATE[name].pattern}")
            allowed = [home] + USES[home]
            if any(os.path.exists(os.path.join(src, d, name)) for d in allowed):
                continue
            if os.path.exists(os.path.join(os.path.dirname(path), name)):
                continue
            where = [d for d in USES if os.path.exists(os.path.join(src, d, name))]
            problems.append(f"{rel}:{line}: includes \"{name}\" from {', '.join(where) or 'nowhere'}; "
                            f"{home}/ may use {', '.join(USES[home]) or 'nothing'}")


def probe(include):
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as t:
        t.write(f'#include "{include}"\nint probe(void);\nint probe(void) {{ return 0; }}\n')
    try:
        args = [cc, "-fsyntax-only", "-D_GNU_SOURCE", "-I", os.path.join(src, "config"), "-I", os.path.join(src, "shared"),
                "-I", build_shared, t.name]
        return subprocess.run(args, capture_output=True, text=True)
    finally:
        os.unlink(t.name)


down = probe("addr.h")
if down.returncode != 0:
    problems.append("probe: config/ including shared's addr.h does not compile:\n" + down.stderr)
up = probe("manager.h")
if up.returncode == 0:
    problems.append("probe: config/ including daemon's manager.h compiles: the include paths do not stop it")
else:
    print("an upward include is refused:", up.stderr.strip().splitlines()[0])

for p in problems:
    print("FAIL:", p)
print(f"{len(problems)} problems")
sys.exit(1 if problems else 0)
