"""Quarantine: what a steward sees of a failed batch, and the two ways out of it.

A batch that fails its contract stays in landing, never reaches staging, and waits.
After a fix the steward either releases it (it must pass the contract as it stands
now: fix the contract or the data first) or drops it with a reason. Every decision is
kept in landing._batch_decisions; the accounting (received = staged + quarantined +
rejected) holds through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from connectors import load_manifest
from contracts.gx_sql import validate_batch_sql
from contracts.gx_suite import ContractResult
from contracts.odcs import load_contract
from pipelines import warehouse

_DECISIONS = """
create table if not exists landing._batch_decisions (
    batch_id varchar not null, decision varchar not null, reason varchar not null,
    decided_by varchar not null, decided_at timestamp not null
)
"""


class QuarantineError(Exception):
    """The batch is not in quarantine, or may not leave it as asked."""


@dataclass(frozen=True)
class BatchReport:
    ledger: dict
    rejections: dict[str, int]  # reason -> count
    decisions: list[dict]


def list_batches(warehouse_path: Path, status: str = "quarantined") -> list[dict]:
    """Batches with `status` (or every batch for 'all'), newest first."""
    with warehouse.connect(warehouse_path, read_only=True) as con:
        return con.execute(
            "select batch_id, source, dataset, received_at, status, received, staged, "
            "quarantined, rejected, verdict from landing._batches "
            "where ? = 'all' or status = ? order by received_at desc",
            [status, status]).df().to_dict("records")


def show_batch(warehouse_path: Path, batch_id: str) -> BatchReport:
    """The ledger row, rejections by reason and decisions of one batch."""
    with warehouse.connect(warehouse_path, read_only=True) as con:
        ledger = _ledger_row(con, batch_id)
        rejections = dict(con.execute(
            "select reason, count(*) from landing._rejections where batch_id = ? "
            "group by reason order by 2 desc", [batch_id]).fetchall())
        decisions = _decisions(con, batch_id)
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
        con.execute("update landing._batches set status = 'released', staged = quarantined, "
                    "quarantined = 0, contract_version = ? where batch_id = ?",
                    [contract.version, batch_id])
        _decide(con, batch_id, "released", reason, steward)
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
        con.executemany("insert into landing._rejections values (?, ?, ?)",
                        [(batch_id, key, f"batch dropped by steward: {reason}") for key in keys])
        con.execute("update landing._batches set status = 'dropped', "
                    "rejected = rejected + quarantined, quarantined = 0 where batch_id = ?",
                    [batch_id])
        _decide(con, batch_id, "dropped", reason, steward)
        # Nothing lost: the next pull asks the source again for what was dropped.
        earliest = frame["updated_at"].dropna().min() if "updated_at" in frame else None
        if isinstance(earliest, str):
            warehouse.rewind_cursor(con, manifest, earliest)
    return len(keys)


def _quarantined(con, batch_id: str) -> dict:
    ledger = _ledger_row(con, batch_id)
    if ledger["status"] != "quarantined":
        raise QuarantineError(f"{batch_id} is {ledger['status']}, not quarantined")
    return ledger


def _ledger_row(con, batch_id: str) -> dict:
    rows = con.execute("select * from landing._batches where batch_id = ?", [batch_id]).df()
    if rows.empty:
        raise QuarantineError(f"no batch {batch_id}")
    return rows.to_dict("records")[0]


def _decide(con, batch_id: str, decision: str, reason: str, steward: str) -> None:
    if not reason.strip():
        raise QuarantineError("a decision on a quarantined batch needs a reason")
    con.execute(_DECISIONS)
    con.execute("insert into landing._batch_decisions values (?, ?, ?, ?, ?)",
                [batch_id, decision, reason, steward, datetime.now(UTC).replace(tzinfo=None)])


def _decisions(con, batch_id: str) -> list[dict]:
    con_tables = {t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'landing'"
    ).fetchall()}
    if "_batch_decisions" not in con_tables:
        return []
    frame: pd.DataFrame = con.execute(
        "select decision, reason, decided_by, decided_at from landing._batch_decisions "
        "where batch_id = ? order by decided_at", [batch_id]).df()
    return frame.to_dict("records")
