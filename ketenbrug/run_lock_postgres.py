"""The hub's run lock where the run is not on one machine: the postgres profile.

On PostgreSQL a run's steps execute in several processes, on Celery workers even on other
machines, and runs are launched from the UI or a schedule: the home's `run.lock`
(run_lock.py) holds none of them. So the lock lives in the warehouse database, as a
session-level advisory lock:

- every step of a run holds it *shared* while it executes (several steps at once);
- a command that writes (a quarantine decision, retention, a key rotation) takes it
  *exclusively*, only when no step holds it, and while holding it also refuses when the
  Dagster instance has a run in progress (between two of its steps nobody holds the lock);
- a run that starts while such a command holds the lock waits at its first step until the
  command is done, so the two never interleave.

PostgreSQL releases the lock when the holder's connection ends, also when it is killed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ketenbrug.databases import PostgresTarget, advisory_lock_key, open_postgres
from ketenbrug.run_lock import HubBusy


def _key(target: PostgresTarget) -> int:
    return advisory_lock_key("hub-run", target)  # not the disclosure log's key


@contextmanager
def step_holds(target: PostgresTarget) -> Iterator[None]:
    """Hold the hub's lock shared for one step of a run (waits while a writer holds it)."""
    with open_postgres(target) as con:
        con.execute("select pg_advisory_lock_shared(?)", [_key(target)])
        try:
            yield
        finally:
            con.execute("select pg_advisory_unlock_shared(?)", [_key(target)])


@contextmanager
def writer_holds(target: PostgresTarget, runs_in_progress: Callable[[], list[dict]]
                 ) -> Iterator[None]:
    """Hold the hub's lock exclusively for a writing command; refuse (HubBusy) while a
    step holds it or `runs_in_progress` names a run (as holder records)."""
    with open_postgres(target) as con:
        row = con.execute("select pg_try_advisory_lock(?)", [_key(target)]).fetchone()
        if not (row and row[0]):
            running = runs_in_progress()
            raise HubBusy(running[0] if running else {"what": "hub run", "run_id": "a step "
                                                      "of it holds the warehouse"})
        try:
            if running := runs_in_progress():
                raise HubBusy(running[0])
            yield
        finally:
            con.execute("select pg_advisory_unlock(?)", [_key(target)])
