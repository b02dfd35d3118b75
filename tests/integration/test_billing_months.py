"""Billing months: the billing delivery is partitioned by closed calendar month, in a job of
its own, so a past month's backfill is one run and never pulls a source; the hub run and
the monthly schedule cover every closed month."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dagster import AssetKey, RunRequest, build_schedule_context

from ketenbrug.pipelines.definitions import defs
from ketenbrug.pipelines.partitions import (
    TIMEZONE,
    billing_months,
    closed_months,
    range_tags,
)
from ketenbrug.pipelines.schedules import billing_schedule

BILLING = AssetKey(["delivery", "billing_statements_delivery"])


def test_only_closed_months_are_billing_months():
    months = billing_months("2026-01")
    assert closed_months(months, date(2026, 3, 31)) == ("2026-01", "2026-02")
    assert closed_months(months, date(2026, 4, 1)) == ("2026-01", "2026-03")
    assert closed_months(months, date(2026, 1, 20)) is None  # January is still in progress


def test_the_hub_job_leaves_billing_to_the_partitioned_billing_job():
    hub, billing = defs.resolve_job_def("hub"), defs.resolve_job_def("billing")
    assert hub.partitions_def is None
    assert BILLING not in hub.asset_layer.executable_asset_keys
    assert billing.asset_layer.executable_asset_keys == {BILLING}
    assert billing.partitions_def is not None
    assert billing.partitions_def.get_partition_keys()[0] == "2025-01"
    # One run for a range of months: a backfill of a year is not twelve runs.
    graph = defs.resolve_asset_graph()
    assert graph.get(BILLING).backfill_policy.max_partitions_per_run is None


def test_the_monthly_schedule_bills_every_closed_month_in_one_run():
    schedule = billing_schedule("2026-01")
    due = datetime(2026, 5, 1, 7, 0, tzinfo=ZoneInfo(TIMEZONE))
    [request] = list(schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=due)).run_requests or [])
    assert isinstance(request, RunRequest)
    assert range_tags(("2026-01", "2026-04")).items() <= request.tags.items()
    early = schedule.evaluate_tick(build_schedule_context(
        scheduled_execution_time=datetime(2026, 1, 1, 7, 0, tzinfo=ZoneInfo(TIMEZONE))))
    assert early.skip_message and "no billing month" in early.skip_message
