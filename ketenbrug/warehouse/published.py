"""Published rows: what downstream may read of a landing table.

Write-audit-publish: only rows of batches that passed their contract or were released by
a steward are published. dbt's staging reads them through the `published_rows` macro;
Python readers use this one helper, so both sides ask the same question.
"""

from __future__ import annotations

from ketenbrug.connectors.manifest import DatasetManifest
from ketenbrug.warehouse.connection import Connection, table_exists
from ketenbrug.warehouse.schema import BATCHES, PUBLISHED_STATUSES, landing_table


def published_rows_sql(manifest: DatasetManifest) -> tuple[str, list[str]]:
    """Return a query over the published rows of `manifest`'s landing table, and its parameters.

    Use it as a subquery: `select ... from ({sql}) as published`, binding the parameters.
    """
    placeholders = ", ".join("?" for _ in PUBLISHED_STATUSES)
    sql = (f"select landed.* from {landing_table(manifest)} as landed "
           f"join {BATCHES} as batches on batches.batch_id = landed._batch_id "
           f"where batches.status in ({placeholders})")
    return sql, [status.value for status in PUBLISHED_STATUSES]


def published_as_of(con: Connection) -> dict[str, str | None]:
    """Per dataset (`<source>.<dataset>`), when its newest published batch was received
    (ISO 8601, UTC): how fresh what staging reads of it is. None: never published."""
    if not table_exists(con, BATCHES):
        return {}
    placeholders = ", ".join("?" for _ in PUBLISHED_STATUSES)
    rows = con.execute(
        "select source || '.' || dataset, max(case when status in "
        f"({placeholders}) then received_at end) from {BATCHES} group by 1 order by 1",
        [status.value for status in PUBLISHED_STATUSES]).fetchall()
    return {label: (at.isoformat(timespec="seconds") + "Z" if at else None)
            for label, at in rows}
