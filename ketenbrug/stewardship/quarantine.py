"""Quarantine: what a steward sees of a failed batch, and the two ways out of it.

A batch that fails its contract stays in landing, never reaches staging, and waits.
After a fix the steward either releases it (it must pass the contract as it stands
now: fix the contract or the data first) or drops it with a reason. Every decision is
kept in the ledger's decisions table; the accounting (received = staged + quarantined +
rejected) holds through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ketenbrug import warehouse
from ketenbrug.connectors import load_manifest
from ketenbrug.contracts.gx_sql import validate_batch_sql
from ketenbrug.contracts.gx_suite import ContractResult
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.warehouse.schema import BATCHES, LEDGER_DDL, BatchStatus


class QuarantineError(Exception):
    """The batch is not in quarantine, or may not leave it as asked."""


@dataclass(frozen=True)
class BatchReport:
    ledger: dict
    rejections: dict[str, int]  # reason -> count
    decisions: list[dict]


def list_batches(warehouse_path: Path,
                 status: str = BatchStatus.QUARANTINED.value) -> list[dict]:
    """Batches with `status` (or every batch for 'all'), newest first."""
    with warehouse.connect(warehouse_path, read_only=True) as con:
        return con.execute(
            "select batch_id, source, dataset, received_at, status, received, staged, "
            f"quarantined, rejected, verdict from {BATCHES} "
            "where ? = 'all' or status = ? order by received_at desc",
            [status, status]).df().to_dict("records")


def show_batch(warehouse_path: Path, batch_id: str) -> BatchReport:
    """The ledger row, rejections by reason and decisions of one batch."""
    with warehouse.connect(warehouse_path, read_only=True) as con:
        ledger = _ledger_row(con, batch_id)
        rejections = warehouse.rejections_by_reason(con, batch_id)
        decisions = warehouse.decisions(con, batch_id)
    return BatchReport(ledger, rejections, decisions)


def release_batch(warehouse_path: Path, batch_id: str, reason: str,
                  steward: str) -> ContractResult:
    """Publish a quarantined batch that now passes its (current) contract.

    Refuses (QuarantineError) a batch not in quarantine, or one that still fails; the
    returned result names the rules that passed. The next hub run publishes it.
    """
    with warehouse.connect(warehouse_path) as con:
        ledger = _quarantined(con, batch_id)
        manifest = load_manifest(ledger["source"])[ledger["dataset"]]
        contract = load_contract(manifest.source, manifest.name)
        result = validate_batch_sql(contract, warehouse_path, manifest.table, batch_id)
        if not result.passed:
            raise QuarantineError(
                f"{batch_id} still fails contract {contract.document['id']} "
                f"v{contract.version}: " + "; ".join(f.describe() for f in result.failures))
        con.execute(f"update {BATCHES} set status = ?, staged = quarantined, "
                    "quarantined = 0, contract_version = ? where batch_id = ?",
                    [BatchStatus.RELEASED.value, contract.version, batch_id])
        _decide(con, batch_id, BatchStatus.RELEASED, reason, steward)
    return result


def drop_batch(warehouse_path: Path, batch_id: str, reason: str, steward: str) -> int:
    """Reject every record of a quarantined batch with the steward's reason; return how many.

    The dataset's cursor moves back to the batch's earliest record, so the next pull
    fetches those records again (fixed at the source, they then land as a new batch).
    """
    with warehouse.connect(warehouse_path) as con:
        ledger = _quarantined(con, batch_id)
        manifest = load_manifest(ledger["source"])[ledger["dataset"]]
        frame = warehouse.batch_frame(con, manifest, batch_id)
        keys = frame["_record_key"].tolist()
        warehouse.reject_records(con, batch_id, keys, f"batch dropped by steward: {reason}")
        con.execute(f"update {BATCHES} set status = ?, "
                    "rejected = rejected + quarantined, quarantined = 0 where batch_id = ?",
                    [BatchStatus.DROPPED.value, batch_id])
        _decide(con, batch_id, BatchStatus.DROPPED, reason, steward)
        # Nothing lost: the next pull asks the source again for what was dropped.
        earliest = frame["updated_at"].dropna().min() if "updated_at" in frame else None
        if isinstance(earliest, str):
            warehouse.rewind_cursor(con, manifest, earliest)
    return len(keys)


def _quarantined(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict:
    ledger = _ledger_row(con, batch_id)
    if ledger["status"] != BatchStatus.QUARANTINED:
        raise QuarantineError(f"{batch_id} is {ledger['status']}, not quarantined")
    return ledger


def _ledger_row(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict:
    ledger = warehouse.ledger_row(con, batch_id)
    if ledger is None:
        raise QuarantineError(f"no batch {batch_id}")
    return ledger


def _decide(con: duckdb.DuckDBPyConnection, batch_id: str, decision: BatchStatus,
            reason: str, steward: str) -> None:
    if not reason.strip():
        raise QuarantineError("a decision on a quarantined batch needs a reason")
    con.execute(LEDGER_DDL)  # a warehouse from before the decisions table gains it
    warehouse.record_decision(con, batch_id, decision, reason, steward)
