"""The warehouse room: landing tables, the batch ledger and cursors, published rows.

Importable without Dagster. The warehouse is a DuckDB file or a PostgreSQL database
(`connect` takes either); the SQL of this room is written once for both. The schema
(table names, ledger DDL, batch statuses) has one owner, `ketenbrug.warehouse.schema`;
everything else imports its names.
"""

from ketenbrug.warehouse.connection import Connection, connect, table_exists
from ketenbrug.warehouse.landing import BatchWriter, LandedBatch, ensure_landing, land_batch
from ketenbrug.warehouse.ledger import (
    batch_frame,
    decisions,
    latest_batch_id,
    ledger_row,
    pending_batches,
    read_cursor,
    record_decision,
    record_removal,
    record_verdict,
    reject_records,
    rejections_by_reason,
    rewind_cursor,
    unbalanced_batches,
    validate_landed_batch,
    write_cursor,
)
from ketenbrug.warehouse.published import published_as_of, published_rows_sql
from ketenbrug.warehouse.schema import (
    IDENTITY_COLUMNS,
    META_COLUMNS,
    PUBLISHED_STATUSES,
    BatchStatus,
    ensure_ledger,
    landing_columns,
    landing_table,
)

__all__ = [
    "IDENTITY_COLUMNS", "META_COLUMNS", "PUBLISHED_STATUSES", "BatchStatus", "Connection",
    "BatchWriter", "LandedBatch", "batch_frame", "connect", "decisions", "ensure_landing",
    "ensure_ledger", "land_batch", "landing_columns",
    "landing_table", "latest_batch_id", "ledger_row", "pending_batches", "published_as_of",
    "published_rows_sql",
    "read_cursor", "record_decision", "record_removal", "record_verdict", "reject_records",
    "rejections_by_reason", "rewind_cursor", "table_exists", "unbalanced_batches",
    "validate_landed_batch", "write_cursor",
]
