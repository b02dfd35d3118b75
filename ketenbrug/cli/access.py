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
import socket
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

import click

from ketenbrug import run_lock
from ketenbrug.config import Settings
from ketenbrug.databases import PostgresTarget

# Tags of a run started by `ketenbrug run`: which process on which machine runs it.
PID_TAG, HOST_TAG = "ketenbrug/pid", "ketenbrug/host"

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
        with ExitStack() as held:
            held.enter_context(run_lock.hold(settings.home, what=what))
            if isinstance(settings.warehouse, PostgresTarget):
                from ketenbrug.run_lock_postgres import writer_holds

                held.enter_context(writer_holds(settings.warehouse,
                                                lambda: runs_in_progress(settings)))
            yield
    except run_lock.HubBusy as busy:
        click.echo(f"{busy}; `{what}` was not started", err=True)
        raise SystemExit(3) from None


def runs_in_progress(settings: Settings) -> list[dict]:
    """The unfinished runs on the hub's Dagster instance, as run-lock holder records.

    A run of `ketenbrug run` on this machine whose process is gone was killed: it is not in
    progress, though the instance still says STARTED until the next `ketenbrug run` (or
    Dagster's run monitoring) marks it failed.
    """
    if not (settings.dagster_home / "dagster.yaml").exists():
        return []
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        records = instance.get_run_records(RunsFilter(statuses=[
            DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]))
    return [{"what": f"Dagster run of job {r.dagster_run.job_name}",
             "run_id": r.dagster_run.run_id,
             "started_at": datetime.fromtimestamp(r.start_time or r.create_timestamp.timestamp(),
                                                  UTC).isoformat(timespec="seconds")}
            for r in records if not _killed(r.dagster_run.tags)]


def _killed(tags: Mapping[str, str]) -> bool:
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False
    try:
        os.kill(int(tags[PID_TAG]), 0)  # PermissionError: alive, another user's
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False
