"""Quarantine: what a steward sees of a failed batch, and the two ways out of it.

A batch that fails its contract stays in landing, never reaches staging, and waits.
After a fix the steward either releases it (it must pass the contract as it stands
now: fix the contract or the data first) or drops it with a reason. Every decision is
kept in the ledger's decisions table, in the same transaction as the change it decides;
the accounting (received = staged + quarantined + unchanged + rejected) holds through
both.

`warehouse` is a Target (a DuckDB file, or a PostgreSQL database) or a str naming a
DuckDB file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ketenbrug.connectors import load_manifest
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.contracts.rules import ContractResult
from ketenbrug.databases import Target
from ketenbrug.warehouse import (
    Connection,
    batch_frame,
    connect,
    decisions,
    ensure_ledger,
    ledger_row,
    record_decision,
    reject_records,
    rejections_by_reason,
    rewind_cursor,
    validate_landed_batch,
)
from ketenbrug.warehouse.schema import BATCHES, BatchStatus, unchanged_column


class QuarantineError(Exception):
    """The batch is not in quarantine, or may not leave it as asked."""


@dataclass(frozen=True)
class BatchReport:
    ledger: dict
    rejections: dict[str, int]  # reason -> count
    decisions: list[dict]


def list_batches(warehouse: Target | str,
                 status: str = BatchStatus.QUARANTINED.value) -> list[dict]:
    """Batches with `status` (or every batch for 'all'), newest first."""
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "select batch_id, source, dataset, received_at, status, received, staged, "
            f"quarantined, {unchanged_column(con)}, rejected, verdict from {BATCHES} "
            "where ? = 'all' or status = ? order by received_at desc",
            [status, status]).df().to_dict("records")


def show_batch(warehouse: Target | str, batch_id: str) -> BatchReport:
    """The ledger row, rejections by reason and decisions of one batch."""
    with connect(warehouse, read_only=True) as con:
        ledger = _ledger_row(con, batch_id)
        rejections = rejections_by_reason(con, batch_id)
        taken = decisions(con, batch_id)
    return BatchReport(ledger, rejections, taken)


def release_batch(warehouse: Target | str, batch_id: str, reason: str,
                  steward: str) -> ContractResult:
    """Publish a quarantined batch that now passes its (current) contract.

    Refuses (QuarantineError) a batch not in quarantine, or one that still fails; the
    returned result names the rules that passed. The next hub run publishes it.
    """
    _require_reason(reason)
    with connect(warehouse) as con:
        ledger = _quarantined(con, batch_id)
        manifest = load_manifest(ledger["source"])[ledger["dataset"]]
        contract = load_contract(manifest.source, manifest.name)
        result = validate_landed_batch(warehouse, contract, manifest, batch_id)
        if not result.passed:
            raise QuarantineError(
                f"{batch_id} still fails contract {contract.document['id']} "
                f"v{contract.version}: " + "; ".join(f.describe() for f in result.failures))
        with _decision(con):
            con.execute(f"update {BATCHES} set status = ?, staged = quarantined, "
                        "quarantined = 0, contract_version = ? where batch_id = ?",
                        [BatchStatus.RELEASED.value, contract.version, batch_id])
            record_decision(con, batch_id, BatchStatus.RELEASED, reason, steward)
    return result


def drop_batch(warehouse: Target | str, batch_id: str, reason: str, steward: str) -> int:
    """Reject every record of a quarantined batch with the steward's reason; return how many.

    The dataset's cursor moves back to the batch's earliest record, so the next pull
    fetches those records again (fixed at the source, they then land as a new batch).
    """
    _require_reason(reason)
    with connect(warehouse) as con:
        ledger = _quarantined(con, batch_id)
        manifest = load_manifest(ledger["source"])[ledger["dataset"]]
        frame = batch_frame(con, manifest, batch_id)
        keys = frame["_record_key"].tolist()
        with _decision(con):
            reject_records(con, batch_id, keys, f"batch dropped by steward: {reason}")
            con.execute(f"update {BATCHES} set status = ?, "
                        "rejected = rejected + quarantined, quarantined = 0 where batch_id = ?",
                        [BatchStatus.DROPPED.value, batch_id])
            record_decision(con, batch_id, BatchStatus.DROPPED, reason, steward)
            # Nothing lost: the next pull asks the source again for what was dropped.
            earliest = frame["updated_at"].dropna().min() if "updated_at" in frame else None
            if isinstance(earliest, str):
                rewind_cursor(con, manifest, earliest)
    return len(keys)


def _quarantined(con: Connection, batch_id: str) -> dict:
    ledger = _ledger_row(con, batch_id)
    if ledger["status"] != BatchStatus.QUARANTINED:
        raise QuarantineError(f"{batch_id} is {ledger['status']}, not quarantined")
    return ledger


def _ledger_row(con: Connection, batch_id: str) -> dict:
    ledger = ledger_row(con, batch_id)
    if ledger is None:
        raise QuarantineError(f"no batch {batch_id}")
    return ledger


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise QuarantineError("a decision on a quarantined batch needs a reason")


@contextmanager
def _decision(con: Connection) -> Iterator[None]:
    """A decision and what it changes, in one transaction: both are kept, or neither."""
    ensure_ledger(con)  # a warehouse from before the decisions table gains it
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        con.rollback()
        raise
