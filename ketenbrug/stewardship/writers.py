"""Holding the hub to write it: the run lock, and on PostgreSQL the warehouse's lock too.

A steward's change (a quarantine decision, a retention removal, a key rotation) must not
interleave with a run or another writer. On the embedded profile the hub's run lock
(run_lock.py) says so; on PostgreSQL a run may have been launched anywhere (the Dagster
UI, a schedule, another machine), so the warehouse's own lock, which every step of a run
holds, is taken as well (run_lock_postgres.py). The CLI (cli/access.py) and the portal
both write through `holding_hub`; either refuses with run_lock.HubBusy, naming the holder.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

from ketenbrug import run_lock
from ketenbrug.config import Settings
from ketenbrug.databases import PostgresTarget

# Tags of a run started by `ketenbrug run`: which process on which machine runs it.
PID_TAG, HOST_TAG = "ketenbrug/pid", "ketenbrug/host"


@contextmanager
def holding_hub(settings: Settings, what: str) -> Iterator[None]:
    """Hold the hub for a writer called `what`; HubBusy when a run or writer has it."""
    with ExitStack() as held:
        held.enter_context(run_lock.hold(settings.home, what=what))
        if isinstance(settings.warehouse, PostgresTarget):
            from ketenbrug.run_lock_postgres import writer_holds

            held.enter_context(writer_holds(settings.warehouse,
                                            lambda: runs_in_progress(settings)))
        yield


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
