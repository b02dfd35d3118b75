"""Reading the warehouse from a page while pipelines may be writing it.

On the embedded profile DuckDB admits one writer and no reader beside it: while a run
holds the hub (its run lock), a page that reads the warehouse answers 503 naming the run
instead of waiting for minutes or failing with a lock error. On PostgreSQL each read is
a snapshot of its own and never waits (ketenbrug/databases.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ketenbrug import run_lock
from ketenbrug.config import Settings
from ketenbrug.warehouse.connection import WarehouseBusy as FileHeld


class WarehouseBusy(Exception):
    """A pipeline run holds the embedded warehouse: the page answers 503, naming it."""


@contextmanager
def reading(settings: Settings) -> Iterator[None]:
    if settings.profile != "postgres":
        holder = run_lock.current_holder(settings.home)
        if holder is not None:
            raise WarehouseBusy(run_lock.describe(holder))
    try:
        yield
    except FileHeld as held:
        raise WarehouseBusy(f"the warehouse is in use ({held})") from None
