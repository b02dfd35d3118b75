"""The data steward's services: quarantine decisions, retention, and the hub's status.

Importable without Dagster; the CLI and `pipelines` call them.
"""

from ketenbrug.stewardship.quarantine import (
    BatchReport,
    QuarantineError,
    drop_batch,
    list_batches,
    release_batch,
    show_batch,
)
from ketenbrug.stewardship.retention import RetentionResult, apply_retention
from ketenbrug.stewardship.status import HubStatus, collect_status

__all__ = [
    "BatchReport", "HubStatus", "QuarantineError", "RetentionResult", "apply_retention",
    "collect_status", "drop_batch", "list_batches", "release_batch", "show_batch",
]
