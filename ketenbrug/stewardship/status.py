"""What a steward asks first: the last run, what the marts hold, which checks failed.

The warehouse is `settings.warehouse`: a DuckDB file, or a PostgreSQL database whose marts
dbt builds in the schema `databases.marts_schema` names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ketenbrug.config import Settings
from ketenbrug.databases import exists, marts_schema
from ketenbrug.warehouse import Connection, connect, published_as_of, table_exists
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
    target = settings.warehouse
    if read_warehouse and exists(target):
        with connect(target, read_only=True) as con:
            schema = marts_schema(con)
            tables = {r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [schema]).fetchall()}
            for mart in MARTS:
                status.mart_rows[mart] = (_row_count(con, schema, mart) if mart in tables
                                          else None)
            if table_exists(con, BATCHES):
                status.published_as_of = published_as_of(con)
                status.batches = con.execute(
                    "select source, dataset, batch_id, status, received, staged, quarantined, "
                    "rejected, verdict from (select *, row_number() over (partition by source, "
                    f"dataset order by received_at desc) as rn from {BATCHES}) as latest "
                    "where rn = 1 order by source, dataset").df().to_dict("records")
    return status


def _row_count(con: Connection, schema: str, mart: str) -> int:
    row = con.execute(f"select count(*) from {schema}.{mart}").fetchone()  # noqa: S608 (allow-listed)
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
