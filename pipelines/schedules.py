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
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from ketenbrug import databases, warehouse
from ketenbrug.connectors import SOURCES, all_datasets, load_manifest
from ketenbrug.connectors.dji.client import DjiConnector
from ketenbrug.pipelines.assets.billing_delivery import BILLING_DELIVERY
from ketenbrug.pipelines.assets.landing import landing_key
from ketenbrug.pipelines.partitions import TIMEZONE, billing_months, closed_months, range_tags
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
BILLING_SCHEDULE = "0 7 1 * *"  # the 1st, after that morning's hub run: the month just closed


def ingest_job(source: str):
    """The job that pulls and checks every dataset of `source`."""
    keys = [landing_key(m) for m in all_datasets() if m.source == source]
    # The run queue starts one run per value of this tag at a time (dagster.yaml): one
    # pull per source, several sources in parallel.
    return define_asset_job(f"ingest_{source}", selection=AssetSelection.assets(*keys),
                            tags={SOURCE_TAG: source},
                            description=f"Pull {source}, land it and check its contracts.")


INGEST_JOBS = {source: ingest_job(source) for source in SOURCES}
BILLING_JOB = define_asset_job(
    "billing", selection=AssetSelection.assets(BILLING_DELIVERY),
    description="Deliver each municipality's billing statement of each closed month asked "
                "for: only those whose lines changed since their last delivery.")


def billing_schedule(first_month: str) -> ScheduleDefinition:
    """On the 1st: every closed month in one run, so the month just closed is billed and a
    late correction to an earlier one goes out with it (unchanged months send nothing)."""
    months = billing_months(first_month)

    @schedule(name="billing_monthly", job=BILLING_JOB, cron_schedule=BILLING_SCHEDULE,
              execution_timezone=TIMEZONE, default_status=DefaultScheduleStatus.STOPPED)
    def billing_monthly(context: ScheduleEvaluationContext):
        due = context.scheduled_execution_time
        closed = closed_months(months, due.date()) if due else None
        if closed is None:
            return SkipReason(f"no billing month since {first_month} has closed yet")
        return RunRequest(run_key=f"billing-{closed[1]}", tags=range_tags(closed))

    return billing_monthly


def schedules_for(pull_schedules: dict[str, str] | None = None,
                  billing_first_month: str = "2025-01") -> list[ScheduleDefinition]:
    """The schedules of a deployment: a pull per source (its cron from the sources file
    where that sets one, else PULL_SCHEDULES), the daily hub run and the monthly billing."""
    crons = {**PULL_SCHEDULES, **(pull_schedules or {})}
    return [
        billing_schedule(billing_first_month),
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
