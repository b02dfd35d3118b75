"""The embedded instance's event log (pipelines/event_log_storage.py): a run's planned
events are written in one transaction per shard, read back as Dagster's own storage reads
them, never half-written when a batch fails, and complete with two processes at once."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSpec,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    JobDefinition,
    asset,
    define_asset_job,
)
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,
)
from dagster._core.utils import make_new_run_id
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ketenbrug.cli.instance import write_instance
from ketenbrug.config import Settings
from ketenbrug.pipelines.event_log_storage import BatchingSqliteEventLogStorage

ROOT = Path(__file__).resolve().parents[2]
RULES = [f"rule_{n}" for n in range(40)]  # as dbt's tests become checks on their model
PLANNED = {DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value,
           DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED.value}


@asset(check_specs=[AssetCheckSpec(rule, asset="client_profile") for rule in RULES])
def client_profile():  # noqa: ANN201 (checks are outputs: Dagster wants no annotation)
    ...


@asset(deps=[client_profile])
def handover_packages() -> None:
    ...


def a_job() -> JobDefinition:
    return Definitions(assets=[client_profile, handover_packages],
                       jobs=[define_asset_job("profiles")]).resolve_job_def("profiles")


@pytest.fixture
def embedded_instance(tmp_path, monkeypatch):
    """The instance `ketenbrug` writes for the embedded profile, with its exported settings."""
    settings = Settings.for_home(tmp_path / "home")
    for name, value in settings.export().items():
        if name.startswith("DAGSTER_"):
            monkeypatch.setenv(name, value)
    write_instance(settings)
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        yield instance


def planned_events(instance: DagsterInstance, run_id: str) -> collections.Counter:
    """(event type, asset, check) of the run's planned events, counted."""
    found: collections.Counter = collections.Counter()
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.event_type_value not in PLANNED:
            continue
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            check = event.asset_check_planned_data
            found[(event.event_type_value, check.asset_key.to_user_string(),
                   check.check_name)] += 1
        else:
            found[(event.event_type_value, event.asset_key.to_user_string(), None)] += 1
    return found


@contextmanager
def committed_shards(instance: DagsterInstance) -> Iterator[list[str]]:
    """The event log's shards (a run's file, "index"), once per transaction committed."""
    committed: list[str] = []
    folder = Path(instance.event_log_storage._base_dir)  # type: ignore[attr-defined]

    def on_commit(conn: Connection) -> None:
        database = Path(conn.engine.url.database or "")
        if database.parent == folder:  # not the run storage's
            committed.append(database.stem)

    event.listen(Engine, "commit", on_commit)
    try:
        yield committed
    finally:
        event.remove(Engine, "commit", on_commit)


def expected_planned() -> collections.Counter:
    materialization = DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value
    check = DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED.value
    return collections.Counter(
        [(materialization, "client_profile", None), (materialization, "handover_packages", None),
         *((check, "client_profile", rule) for rule in RULES)])


def test_a_runs_planned_events_take_one_transaction_per_shard_and_read_back_as_dagsters(
        embedded_instance):
    assert isinstance(embedded_instance.event_log_storage, BatchingSqliteEventLogStorage)
    job, run_id = a_job(), make_new_run_id()
    embedded_instance.all_logs(run_id)  # its file made (Dagster's own commits), and empty
    with committed_shards(embedded_instance) as committed:
        run = embedded_instance.create_run_for_job(job, run_id=run_id)
    # The run's own file and the cross-run index, once each (one event at a time: ~3 per event).
    assert sorted(committed) == sorted([run.run_id, "index"])

    assert planned_events(embedded_instance, run.run_id) == expected_planned()
    # The index has them too: the UI shows every check as planned by this run.
    for rule in RULES:
        history = embedded_instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("client_profile"), rule), limit=5)
        assert [(h.run_id, h.status) for h in history] == \
            [(run.run_id, AssetCheckExecutionRecordStatus.PLANNED)]
    planned = embedded_instance.get_latest_planned_materialization_info(
        AssetKey("handover_packages"))
    assert planned is not None and planned.run_id == run.run_id


def test_a_batch_that_fails_part_way_leaves_nothing_half_written(embedded_instance,
                                                                  monkeypatch):
    """The shards' transactions roll back; Dagster then stores the events one by one."""
    store = BatchingSqliteEventLogStorage.store_event
    calls = {"n": 0}

    def failing_once(self, event):
        calls["n"] += 1
        store(self, event)  # written in the batch's transaction, then rolled back
        if calls["n"] == 7:
            raise OSError("disk I/O error (injected)")

    monkeypatch.setattr(BatchingSqliteEventLogStorage, "store_event", failing_once)
    run = embedded_instance.create_run_for_job(a_job())
    assert calls["n"] > 7 + len(RULES)  # the batch failed, then each event was stored alone
    assert planned_events(embedded_instance, run.run_id) == expected_planned()
    for rule in RULES[:3]:
        history = embedded_instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("client_profile"), rule), limit=5)
        assert len(history) == 1  # not the rolled-back row and the stored one


CREATE_RUNS = """
import sys
from dagster import DagsterInstance
from tests.integration.test_event_log_storage import a_job
job = a_job()
with DagsterInstance.get() as instance:
    for _ in range(int(sys.argv[1])):
        print(instance.create_run_for_job(job).run_id, flush=True)
"""


def test_two_processes_creating_runs_at_once_store_every_planned_event(embedded_instance,
                                                                      tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(Path(embedded_instance.root_directory))}
    writers = [subprocess.Popen([sys.executable, "-c", CREATE_RUNS, "6"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_, errors) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, errors
        assert "Falling back" not in errors  # no batch failed on the other's lock
    run_ids = [line for out, _ in outputs for line in out.split()]
    assert len(set(run_ids)) == 12
    for run_id in run_ids:
        assert planned_events(embedded_instance, run_id) == expected_planned()
    history = embedded_instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey("client_profile"), RULES[-1]), limit=20)
    assert sorted(h.run_id for h in history) == sorted(run_ids)


def test_what_one_instance_writes_after_a_wipe_another_reads(embedded_instance):
    """Connections are kept open between events; a wipe deletes the run files, so it must
    close them first, or the next events would go to a deleted file no reader can see."""
    job, run_id = a_job(), make_new_run_id()
    embedded_instance.create_run_for_job(job, run_id=run_id)
    home = embedded_instance.root_directory
    with DagsterInstance.from_config(home) as reader:  # committed event by event: visible
        assert planned_events(reader, run_id) == expected_planned()

    embedded_instance.wipe()
    embedded_instance.create_run_for_job(job, run_id=run_id)  # the same run's file, anew
    with DagsterInstance.from_config(home) as reader:
        assert planned_events(reader, run_id) == expected_planned()

