"""Billing months: the partitions of the municipal-funded lineage.

Municipalities pay probation per month, after the month has closed, so the billing
delivery is partitioned by calendar month (Europe/Amsterdam), from the deployment's first
billing month up to the last closed one: a correction to a past month is that month's
partition delivered again, one backfill in the Dagster UI.

Landing is not partitioned by day: the sources answer "what changed since this cursor"
with each record's current version, not a past day's state, so a day re-pulled later
would land today's versions under that day's name. The cursor (warehouse/ledger.py)
already catches up on every missed day in the next pull.
"""

from __future__ import annotations

from datetime import date

from dagster import MonthlyPartitionsDefinition

TIMEZONE = "Europe/Amsterdam"
MONTH = "%Y-%m"


def billing_months(first_month: str) -> MonthlyPartitionsDefinition:
    """Every closed calendar month since `first_month` (YYYY-MM); the month in progress is
    not one yet (end_offset 0): it is billed once it has closed."""
    return MonthlyPartitionsDefinition(start_date=first_month, fmt=MONTH, timezone=TIMEZONE)


def closed_months(partitions: MonthlyPartitionsDefinition, as_of: date) -> tuple[str, str] | None:
    """The first and last billing month closed as of `as_of` (the hub's date), or None
    when none has closed yet: the partition range a hub run delivers."""
    this_month = as_of.strftime(MONTH)
    keys = [key for key in partitions.get_partition_keys() if key < this_month]
    return (keys[0], keys[-1]) if keys else None


def range_tags(months: tuple[str, str]) -> dict[str, str]:
    """The tags that make one run cover a range of months (Dagster's single-run backfill
    tags: the same a backfill of several months from the UI sets)."""
    first, last = months
    return {"dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last}
