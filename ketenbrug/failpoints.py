"""Named points where the crash suite kills the hub, as an operator's kill -9 would.

`failpoint("landing:ledger")` does nothing unless KETENBRUG_FAILPOINT names that point
(optionally `name@N`: the N-th time it is reached); then it sends SIGKILL to this process's
whole process group, at once, with no clean-up. The environment is read when a point is
reached, never at import. Used only by tests/crash/, documented in ARCHITECTURE.md.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def failpoint(name: str) -> None:
    """Kill the process group here if KETENBRUG_FAILPOINT asks for `name` (at this count)."""
    wanted = os.environ.get("KETENBRUG_FAILPOINT")
    if not wanted:
        return
    point, _, count = wanted.partition("@")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(count or 1):
        os.killpg(os.getpgid(0), signal.SIGKILL)
