"""When each source is pulled: a schedule per source, and a sensor where timing matters.

Schedules start stopped: a steward switches them on in the UI once the source
credentials are in place. The prison service also has a sensor: releases cannot wait
for the nightly pull, so it asks DJI for changes since the cursor every few minutes.
"""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from ketenbrug import databases, warehouse
from ketenbrug.connectors import SOURCES, all_datasets, load_manifest
from ketenbrug.connectors.dji.client import DjiConnector
from ketenbrug.pipelines.assets.landing import landing_key
from ketenbrug.pipelines.resources import HubStorage, SourceSystem

# Cron per source (Europe/Amsterdam): after each source's own nightly processing.
PULL_SCHEDULES = {
    "probation": "0 2 * * *",
    "dji": "0 */4 * * *",
    "wijkteam": "30 2 * * *",
    "care": "0 3 * * *",
    "municipal_orders": "0 4 * * *",
}
SOURCE_TAG = "ketenbrug/source"
HUB_SCHEDULE = "0 6 * * *"  # everything, marts and delivery included, before office hours


def ingest_job(source: str):
    """The job that pulls and checks every dataset of `source`."""
    keys = [landing_key(m) for m in all_datasets() if m.source == source]
    # The run queue starts one run per value of this tag at a time (dagster.yaml): one
    # pull per source, several sources in parallel.
    return define_asset_job(f"ingest_{source}", selection=AssetSelection.assets(*keys),
                            tags={SOURCE_TAG: source},
                            description=f"Pull {source}, land it and check its contracts.")


INGEST_JOBS = {source: ingest_job(source) for source in SOURCES}


def schedules_for(pull_schedules: dict[str, str] | None = None) -> list[ScheduleDefinition]:
    """The schedules of a deployment: a pull per source (its cron from the sources file
    where that sets one, else PULL_SCHEDULES) and the daily hub run."""
    crons = {**PULL_SCHEDULES, **(pull_schedules or {})}
    return [
        *(ScheduleDefinition(name=f"pull_{source}", job=INGEST_JOBS[source],
                             cron_schedule=crons[source],
                             execution_timezone="Europe/Amsterdam",
                             default_status=DefaultScheduleStatus.STOPPED)
          for source in SOURCES),
        ScheduleDefinition(name="hub_daily", job_name="hub", cron_schedule=HUB_SCHEDULE,
                           execution_timezone="Europe/Amsterdam",
                           default_status=DefaultScheduleStatus.STOPPED),
    ]

_DETENTIONS = load_manifest("dji")["detentions"]


@sensor(job=INGEST_JOBS["dji"], minimum_interval_seconds=300)
def dji_changes(context: SensorEvaluationContext, hub: HubStorage, source_dji: SourceSystem):
    """Pull DJI as soon as it reports detentions changed since the stored cursor."""
    since = None
    target = hub.warehouse_target()
    if databases.exists(target):  # read-only: a run may be writing right now
        with warehouse.connect(target, read_only=True) as con:
            since = warehouse.read_cursor(con, _DETENTIONS)
    connector = source_dji.connector()
    try:
        assert isinstance(connector, DjiConnector)  # source_dji's slug is "dji"
        changed = connector.count_changes("detentions", since)
    finally:
        connector.close()
    if not changed:
        return SkipReason(f"no detention changed since {since or 'the beginning'}")
    # One run per cursor position: the same changes never start two runs.
    return RunRequest(run_key=f"dji-detentions-{since}", tags={"changed_records": str(changed)})
