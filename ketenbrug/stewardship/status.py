"""What a steward asks first: the last run, what the marts hold, which checks failed."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ketenbrug import warehouse
from ketenbrug.config import Settings
from ketenbrug.warehouse.schema import BATCHES

MARTS = ("client_profiles", "client_orders", "warm_handover", "volume_monitor",
         "billing_statements", "statutory_priority_guard")


@dataclass
class HubStatus:
    last_run: dict | None = None
    mart_rows: dict[str, int | None] = field(default_factory=dict)
    batches: list[dict] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    published_as_of: dict[str, str | None] = field(default_factory=dict)


def collect_status(settings: Settings, read_warehouse: bool = True) -> HubStatus:
    """Read the Dagster instance and (unless told not to, while a run writes it) the
    warehouse, read-only; never starts anything."""
    status = HubStatus()
    _read_runs(settings, status)
    if read_warehouse and settings.warehouse_path.exists():
        with warehouse.connect(settings.warehouse_path, read_only=True) as con:
            tables = {r[0] for r in con.execute(
                "select table_name from information_schema.tables").fetchall()}
            for mart in MARTS:
                status.mart_rows[mart] = _row_count(con, mart) if mart in tables else None
            if warehouse.table_exists(con, BATCHES):
                status.published_as_of = warehouse.published_as_of(con)
                status.batches = con.execute(
                    "select source, dataset, batch_id, status, received, staged, quarantined, "
                    "rejected, verdict from (select *, row_number() over (partition by source, "
                    f"dataset order by received_at desc) as rn from {BATCHES}) "
                    "where rn = 1 order by source, dataset").df().to_dict("records")
    return status


def _row_count(con: duckdb.DuckDBPyConnection, mart: str) -> int:
    row = con.execute(f"select count(*) from main.{mart}").fetchone()  # noqa: S608 (allow-listed)
    assert row is not None  # count(*) always returns a row
    return row[0]


def _read_runs(settings: Settings, status: HubStatus) -> None:
    if not (settings.dagster_home / "dagster.yaml").exists():
        return
    from dagster import AssetCheckEvaluation, DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return
        run = runs[0]
        record = instance.get_run_record_by_id(run.run_id)
        assert record is not None  # the run was just listed
        status.last_run = {"run_id": run.run_id, "job": run.job_name, "status": run.status.value,
                           "started": record.start_time, "ended": record.end_time}
        for event in instance.all_logs(run.run_id,
                                       of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
            # of_type: every entry is a Dagster event carrying a check evaluation
            dagster_event = event.dagster_event
            assert dagster_event is not None
            evaluation = dagster_event.event_specific_data
            assert isinstance(evaluation, AssetCheckEvaluation)
            if not evaluation.passed:
                status.failed_checks.append(
                    f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
