#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# no-jit.py PROGRAM [ARGS...]: runs PROGRAM the way MemoryDenyWriteExecute=yes would, with the
# kernel refusing any mapping that becomes executable (prctl PR_SET_MDWE, Linux 6.3 or later,
# kept across execve), so PCRE2's JIT fails and the interpreter matches. To measure what the
# unit's MemoryDenyWriteExecute=no buys:
#   build/tests/bench/bench-match LOG;  tests/bench/no-jit.py build/tests/bench/bench-match LOG
import ctypes
import os
import sys

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if len(sys.argv) < 2:
    sys.exit("usage: no-jit.py PROGRAM [ARGS...]")
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit("no-jit.py: prctl(PR_SET_MDWE): %s" % os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
