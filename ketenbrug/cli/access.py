"""How commands share a hub with a run: readers wait briefly, writers take the run lock.

On DuckDB a reader never opens the warehouse while a run writes it (DuckDB would refuse
the reader, or make the run fail): it waits up to READ_WAIT_S for the run to end, then
says who holds the hub instead of printing a raw lock error. On PostgreSQL readers read
during a run, from a snapshot each. A command that writes holds the run lock, so it never
interleaves with a run or another writer; on PostgreSQL also the warehouse's lock, which
every step of a run launched anywhere holds (run_lock_postgres.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from ketenbrug import run_lock
from ketenbrug.config import Settings
from ketenbrug.stewardship.writers import holding_hub

READ_WAIT_S = 10.0


def busy_holder(settings: Settings, wait_s: float = READ_WAIT_S) -> dict | None:
    """Who still writes the hub after waiting up to `wait_s` (None: free, or it is us).

    On PostgreSQL nobody is waited for: each reader reads one snapshot of its own
    (databases.py), which neither blocks the run's writers nor waits for them.
    """
    if settings.profile == "postgres":
        return None
    holder = run_lock.current_holder(settings.home)
    if holder is None or holder.get("pid") == os.getpid():
        return None
    return run_lock.wait_until_free(settings.home, wait_s,
                                    say=lambda line: click.echo(line, err=True))


def require_hub(settings: Settings) -> None:
    """Refuse (exit 1) a home that does not exist: a mistyped KETENBRUG_HOME would
    otherwise answer from, or create, an empty hub."""
    if not settings.home.is_dir():
        raise click.ClickException(
            f"no hub at {settings.home}: that folder does not exist (point KETENBRUG_HOME "
            "at the hub's home, or make one with `ketenbrug demo` or `ketenbrug run`)")


def wait_to_read(settings: Settings) -> None:
    """Return when the warehouse may be read; refuse (exit 1) a home that does not exist,
    and while a run keeps writing the warehouse."""
    require_hub(settings)
    holder = busy_holder(settings)
    if holder is not None:
        raise click.ClickException(
            f"{run_lock.describe(holder)} and writes the warehouse; try again when it has "
            "finished (`ketenbrug status` shows the last run)")


@contextmanager
def writing(settings: Settings, what: str) -> Iterator[None]:
    """Hold the hub's run lock for a command that writes; refuse (exit 3) when it is held,
    and on PostgreSQL while a run launched from anywhere (UI, schedule, another machine)
    is in progress."""
    require_hub(settings)
    try:
        with holding_hub(settings, what):
            yield
    except run_lock.HubBusy as busy:
        click.echo(f"{busy}; `{what}` was not started", err=True)
        raise SystemExit(3) from None
