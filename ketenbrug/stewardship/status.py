"""What a steward asks first: is the hub healthy, and if not, what needs them.

Read from the Dagster instance (the last hub and billing runs, the hub run's failed
checks) and the warehouse (rows per mart, every open quarantine, the marts built on a
held-back source). `HubStatus.problems` is the verdict `ketenbrug status` turns into
its exit code.

The warehouse is `settings.warehouse`: a DuckDB file, or a PostgreSQL database whose marts
dbt builds in the schema `databases.marts_schema` names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ketenbrug.config import Settings
from ketenbrug.databases import exists, marts_schema
from ketenbrug.warehouse import Connection, connect, published_as_of, table_exists
from ketenbrug.warehouse.schema import BATCHES, BatchStatus, unchanged_column

MARTS = ("client_profiles", "client_orders", "warm_handover", "volume_monitor",
         "billing_statements", "statutory_priority_guard")
HUB_JOB, BILLING_JOB = "hub", "billing"
_FAILED_RUN_STATUSES = {"FAILURE", "CANCELED"}


@dataclass
class HubStatus:
    last_run: dict | None = None  # the newest run of any job
    last_runs: dict[str, dict] = field(default_factory=dict)  # job -> its newest run
    mart_rows: dict[str, int | None] = field(default_factory=dict)
    batches: list[dict] = field(default_factory=list)  # the latest batch per dataset
    open_quarantines: list[dict] = field(default_factory=list)  # every batch still held
    stale_marts: dict[str, list[str]] = field(default_factory=dict)  # mart -> held sources
    failed_checks: list[str] = field(default_factory=list)  # of the last hub run
    published_as_of: dict[str, str | None] = field(default_factory=dict)
    warehouse_read: bool = True

    @property
    def problems(self) -> list[str]:
        """What needs the steward, one line each; empty when the hub is healthy."""
        found = []
        hub_run = self.last_runs.get(HUB_JOB)
        if hub_run is None:
            found.append("no hub run yet")
        elif hub_run["status"] in _FAILED_RUN_STATUSES:
            found.append(f"the last hub run {hub_run['run_id']} ended {hub_run['status']}")
        billing = self.last_runs.get(BILLING_JOB)
        if billing and billing["status"] in _FAILED_RUN_STATUSES:
            found.append(f"the last billing run {billing['run_id']} ended {billing['status']}")
        found += [f"batch {b['batch_id']} ({b['source']}.{b['dataset']}) is quarantined"
                  for b in self.open_quarantines]
        found += [f"check {check} failed in the last hub run" for check in self.failed_checks]
        if self.warehouse_read:
            found += [f"mart {mart} is not built" for mart, rows in self.mart_rows.items()
                      if rows is None]
            found += [f"mart {mart} is stale: built without the quarantined records of "
                      f"{', '.join(held)}" for mart, held in self.stale_marts.items()]
        return found

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "healthy": not self.problems,
                           "problems": self.problems}, default=str, indent=2, sort_keys=True)


def collect_status(settings: Settings, read_warehouse: bool = True) -> HubStatus:
    """Read the Dagster instance and (unless told not to, while a run writes it) the
    warehouse, read-only; never starts anything."""
    status = HubStatus(warehouse_read=read_warehouse)
    _read_runs(settings, status)
    target = settings.warehouse
    if read_warehouse and exists(target):
        with connect(target, read_only=True) as con:
            _read_warehouse(con, status)
        status.stale_marts = _stale_marts(status, _mart_sources(settings))
    elif read_warehouse:
        status.mart_rows = dict.fromkeys(MARTS)
    return status


def _read_warehouse(con: Connection, status: HubStatus) -> None:
    schema = marts_schema(con)
    tables = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?",
        [schema]).fetchall()}
    for mart in MARTS:
        status.mart_rows[mart] = _row_count(con, schema, mart) if mart in tables else None
    if not table_exists(con, BATCHES):
        return
    status.published_as_of = published_as_of(con)
    status.batches = con.execute(
        "select source, dataset, batch_id, status, received, staged, quarantined, "
        f"{unchanged_column(con)}, rejected, verdict from (select *, row_number() over "
        f"(partition by source, dataset order by received_at desc) as rn from {BATCHES}) "
        "as latest "
        "where rn = 1 order by source, dataset").df().to_dict("records")
    status.open_quarantines = con.execute(
        "select batch_id, source, dataset, received_at, quarantined, verdict "
        f"from {BATCHES} where status = ? order by received_at, batch_id",
        [BatchStatus.QUARANTINED.value]).df().to_dict("records")


def _mart_sources(settings: Settings) -> dict[str, set[str]]:
    """Mart -> the landing datasets (`<source>.<dataset>`) it is built from, from the last
    dbt build's manifest; empty before the first build."""
    from ketenbrug.project_files import dbt_run_target

    path = dbt_run_target(settings.warehouse, settings.home) / "manifest.json"
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text())
    nodes: dict[str, Any] = {**manifest["nodes"], **manifest["sources"]}
    found = {}
    marts = {n["name"]: n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["fqn"][1:2] == ["marts"]}
    for name, node in marts.items():
        upstream, todo = set(), list(node["depends_on"]["nodes"])
        while todo:
            if (current := todo.pop()) in upstream or current not in nodes:
                continue
            upstream.add(current)
            todo.extend(nodes[current].get("depends_on", {}).get("nodes", []))
        found[name] = {nodes[u]["name"].replace("__", ".", 1) for u in upstream
                       if nodes[u]["resource_type"] == "source"
                       and nodes[u]["source_name"] == "landing"
                       and not nodes[u]["name"].startswith("_")}  # not the ledger itself
    return found


def _stale_marts(status: HubStatus, sources: dict[str, set[str]]) -> dict[str, list[str]]:
    # Any open quarantine, not only a latest batch: a later batch that passed does not
    # bring the held records in.
    held = {f"{b['source']}.{b['dataset']}" for b in status.open_quarantines}
    return {mart: sorted(used & held) for mart, used in sorted(sources.items())
            if used & held and status.mart_rows.get(mart) is not None}


def _row_count(con: Connection, schema: str, mart: str) -> int:
    row = con.execute(f"select count(*) from {schema}.{mart}").fetchone()  # noqa: S608 (allow-listed)
    assert row is not None  # count(*) always returns a row
    return row[0]


def _read_runs(settings: Settings, status: HubStatus) -> None:
    if not (settings.dagster_home / "dagster.yaml").exists():
        return
    from dagster import DagsterInstance, RunsFilter

    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        for job in (HUB_JOB, BILLING_JOB):
            if records := instance.get_run_records(RunsFilter(job_name=job), limit=1):
                status.last_runs[job] = _run_summary(records[0])
        if status.last_runs:
            status.last_run = max(status.last_runs.values(),
                                  key=lambda run: run["started"] or "")
        if hub := status.last_runs.get(HUB_JOB):
            status.failed_checks = _failed_checks(instance, hub["run_id"])


def _run_summary(record) -> dict:
    run = record.dagster_run

    def at(timestamp: float | None) -> str | None:
        return (datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
                if timestamp else None)
    return {"run_id": run.run_id, "job": run.job_name, "status": run.status.value,
            "started": at(record.start_time), "ended": at(record.end_time)}


def _failed_checks(instance, run_id: str) -> list[str]:
    from dagster import AssetCheckEvaluation, DagsterEventType

    failed = []
    for event in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        # of_type: every entry is a Dagster event carrying a check evaluation
        dagster_event = event.dagster_event
        assert dagster_event is not None
        evaluation = dagster_event.event_specific_data
        assert isinstance(evaluation, AssetCheckEvaluation)
        if not evaluation.passed:
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return failed
