"""The tests' way to interrupt a build at a known point (never set it otherwise).

With ``MEPIPE_TEST_KILL_AFTER=N`` in its environment, a build kills its own process with
SIGKILL (as ``kill -9`` does) right after the write that commits its ``N``-th settled
sample: the kill-and-resume tests then find exactly what a kill there leaves, however
fast or slow the machine, instead of polling for a moment to kill it in.
"""

from __future__ import annotations

import os
import signal

KILL_AFTER = "MEPIPE_TEST_KILL_AFTER"


def committed(count: int) -> None:
    """``count`` samples are committed: the process dies here if the hook asks for it."""
    limit = os.environ.get(KILL_AFTER)
    if limit and count >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)
