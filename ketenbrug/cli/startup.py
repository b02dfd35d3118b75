"""A command's imports without the cyclic garbage collector, and what they made frozen.

`ketenbrug run` imports Dagster, dbt and pydantic: about a million objects that live as
long as the process. While they are being made, the collector's full passes walk all of
them again and again (7 full collections, ~0.8 s of a 9 s rerun with nothing to do), and
every later full pass would walk them once more. Imports make next to no cyclic garbage,
so they run with the collector off; what they made is then frozen (`gc.freeze`: left out
of every later collection). Reference counting frees as ever, and the collector is on for
all the command does after its imports. Only imports that loaded a module freeze: where
everything was imported before (a test running many commands in one process), no cycle
that later work left behind is frozen with them.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def importing() -> Iterator[None]:
    """Imports inside run with the collector off; everything alive after them is frozen."""
    if not gc.isenabled():  # within another `importing`, or switched off by someone else
        yield
        return
    loaded = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > loaded:
            gc.freeze()
        gc.enable()
