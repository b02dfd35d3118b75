"""The batch ledger and the cursors: where each pull stopped, what each batch became.

received = staged + quarantined + unchanged + rejected (+ removed, by retention) holds
for every batch once it is judged;
`unbalanced_batches` is the reconciliation the accounting check runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ketenbrug.connectors.manifest import DatasetManifest
from ketenbrug.contracts.rules import ContractResult, contract_rules
from ketenbrug.databases import PostgresTarget, Target
from ketenbrug.warehouse.connection import Connection, connect, table_exists
from ketenbrug.warehouse.schema import (
    BATCHES,
    CURSORS,
    DECISIONS,
    LANDING_SCHEMA,
    REJECTIONS,
    BatchStatus,
    landing_table,
)

if TYPE_CHECKING:
    from ketenbrug.contracts.odcs import Contract


def read_cursor(con: Connection, manifest: DatasetManifest) -> str | None:
    """Where the last pull of `manifest`'s dataset stopped; None before the first pull."""
    if not table_exists(con, CURSORS):
        return None
    row = con.execute(
        f"select updated_since from {CURSORS} where source = ? and dataset = ?",
        [manifest.source, manifest.name]).fetchone()
    return row[0] if row else None


def write_cursor(con: Connection, manifest: DatasetManifest,
                 updated_since: str) -> None:
    """Record where the pull of `manifest`'s dataset stopped."""
    con.execute(f"insert into {CURSORS} values (?, ?, ?) on conflict (source, dataset) "
                "do update set updated_since = excluded.updated_since",
                [manifest.source, manifest.name, updated_since])


def rewind_cursor(con: Connection, manifest: DatasetManifest,
                  updated_since: str) -> None:
    """Move the cursor back to `updated_since` (never forward), so those records come again."""
    con.execute(
        f"update {CURSORS} set updated_since = ? where source = ? and dataset = ? "
        "and updated_since > ?", [updated_since, manifest.source, manifest.name, updated_since])


def unbalanced_batches(con: Connection, manifest: DatasetManifest,
                       judged: bool = False) -> list[dict]:
    """Batches whose ledger does not reconcile with the rows actually landed and rejected.

    received must equal landed rows + unchanged + rejection rows + rows retention removed;
    and once
    judged, the landed rows must be counted as staged (passed, released), quarantined, or
    rejected (dropped).
    With `judged`, every batch should have its verdict by now: one still `landed` is
    reported too. Rows whose batch the ledger does not know come back as one entry per
    batch id with status `orphan` (none can arise from a crash: landing is one transaction).
    """
    params = {"source": manifest.source, "dataset": manifest.name, "judged": judged,
              "landed": BatchStatus.LANDED.value, "dropped": BatchStatus.DROPPED.value}
    batches = con.execute(
        "with landed as (select _batch_id as batch_id, count(*) as n from "
        f"{landing_table(manifest)} group by 1), "
        f"refused as (select batch_id, count(*) as n from {REJECTIONS} group by 1) "
        "select b.batch_id, b.status, b.received, b.staged, b.quarantined, b.unchanged, "
        "b.rejected, b.removed, coalesce(l.n, 0) as landed_rows, "
        "coalesce(r.n, 0) as rejection_rows "
        f"from {BATCHES} b left join landed l using (batch_id) "
        "left join refused r using (batch_id) where b.source = $source "
        "and b.dataset = $dataset and ("
        "b.received <> b.staged + b.quarantined + b.unchanged + b.rejected + b.removed "
        "and b.status <> $landed "
        "or b.status = $landed and $judged "
        "or b.received <> coalesce(l.n, 0) + b.unchanged + b.rejected + b.removed "
        "- case when b.status = $dropped then coalesce(l.n, 0) else 0 end "
        "or b.rejected <> coalesce(r.n, 0))", params,
    ).df().to_dict("records")
    orphans = con.execute(
        f"select _batch_id as batch_id, 'orphan' as status, count(*) as landed_rows "
        f"from {landing_table(manifest)} l where not exists (select 1 from {BATCHES} b "
        "where b.batch_id = l._batch_id) group by 1 order by 1").df().to_dict("records")
    return batches + orphans


def pending_batches(con: Connection, manifest: DatasetManifest) -> list[str]:
    """Batches of `manifest`'s dataset still awaiting their contract's verdict, oldest first."""
    return [b for (b,) in con.execute(
        f"select batch_id from {BATCHES} where source = ? and dataset = ? and status = ? "
        "order by received_at, batch_id",
        [manifest.source, manifest.name, BatchStatus.LANDED.value]).fetchall()]


def latest_batch_id(con: Connection, manifest: DatasetManifest) -> str | None:
    row = con.execute(
        f"select batch_id from {BATCHES} where source = ? and dataset = ? "
        "order by received_at desc limit 1", [manifest.source, manifest.name]).fetchone()
    return row[0] if row else None


def batch_frame(con: Connection, manifest: DatasetManifest,
                batch_id: str) -> pd.DataFrame:
    """The rows one batch landed, as text, ready for its contract: every column of the
    table (those of earlier manifests too) in the table's order, but the landing time."""
    columns = ", ".join(c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ? and column_name <> '_received_at' order by ordinal_position",
        [LANDING_SCHEMA, manifest.table]).fetchall())
    return con.execute(
        f"select {columns} from {landing_table(manifest)} "  # noqa: S608 - the table's own names
        "where _batch_id = ?", [batch_id]).df()


def validate_landed_batch(warehouse: Target | str, contract: Contract,
                          manifest: DatasetManifest, batch_id: str) -> ContractResult:
    """The contract's verdict on one landed batch, the same `ContractResult` on either engine.

    DuckDB: GX runs inside DuckDB as SQL on the batch's rows (contracts/gx_sql.py), never
    copying them out. PostgreSQL: GX's pandas engine runs on the batch's rows
    (`batch_frame`, read in one read-only snapshot). GX 1.24's PostgreSQL datasource is
    no better than its DuckDB one: it has no SQL for the date-format and JSON rules, and
    the not-in-future rules need a parsed shadow column that PostgreSQL 15 cannot cast
    softly; gx_sql's repairs would all have to be made again for a second dialect.

    A batch with no rows (every record re-sent as already landed) holds to every rule, all
    of which are about rows: judged without GX, which takes seconds to import.
    """
    # Not read-only: the caller may hold the DuckDB file open in this process, and DuckDB
    # shares one database per file and process only between connections of one mode.
    with connect(warehouse) as con:
        counted = con.execute(f"select count(*) from {landing_table(manifest)} "  # noqa: S608
                              "where _batch_id = ?", [batch_id]).fetchone()
    if counted is not None and counted[0] == 0:
        return ContractResult(contract.document["id"], contract.version, rows=0,
                              rules=len(contract_rules(contract)))
    if isinstance(warehouse, PostgresTarget):
        from ketenbrug.contracts.gx_suite import validate_batch

        with connect(warehouse, read_only=True) as con:
            frame = batch_frame(con, manifest, batch_id)
        return validate_batch(contract, frame)
    from ketenbrug.contracts.gx_sql import validate_batch_sql

    return validate_batch_sql(contract, Path(warehouse), manifest.table, batch_id)


def record_verdict(con: Connection, batch_id: str, *, passed: bool,
                   contract_version: str, verdict: str) -> dict:
    """Mark a batch passed (published to staging) or quarantined; return its accounting."""
    status = BatchStatus.PASSED if passed else BatchStatus.QUARANTINED
    con.execute(
        f"update {BATCHES} set status = ?, contract_version = ?, verdict = ?, "
        "staged = case when ? then received - unchanged - rejected - removed else 0 end, "
        "quarantined = case when ? then 0 else received - unchanged - rejected - removed end "
        "where batch_id = ?",
        [status.value, contract_version, verdict, passed, passed, batch_id])
    row = con.execute(
        f"select received, staged, quarantined, unchanged, rejected from {BATCHES} "
        "where batch_id = ?", [batch_id]).fetchone()
    if row is None:
        raise LookupError(f"no batch {batch_id} in {BATCHES}")
    received, staged, quarantined, unchanged, rejected = row
    return {"status": status.value, "received": received, "staged": staged,
            "quarantined": quarantined, "unchanged": unchanged, "rejected": rejected}


def ledger_row(con: Connection, batch_id: str) -> dict | None:
    """The ledger row of one batch, or None when there is no such batch (also when nothing
    has landed yet, in a warehouse without a ledger)."""
    schema, table = BATCHES.split(".")
    found = con.execute("select count(*) from information_schema.tables "
                        "where table_schema = ? and table_name = ?", [schema, table]).fetchone()
    if not (found and found[0]):
        return None
    rows = con.execute(f"select * from {BATCHES} where batch_id = ?", [batch_id]).df()
    return None if rows.empty else rows.to_dict("records")[0]


def rejections_by_reason(con: Connection, batch_id: str) -> dict[str, int]:
    """How many records of one batch were rejected, per reason, most frequent first."""
    return dict(con.execute(
        f"select reason, count(*) from {REJECTIONS} where batch_id = ? "
        "group by reason order by 2 desc", [batch_id]).fetchall())


def reject_records(con: Connection, batch_id: str, keys: list[str],
                   reason: str) -> None:
    """Add one rejection with `reason` for each record key of a batch."""
    con.executemany(f"insert into {REJECTIONS} values (?, ?, ?)",
                    [(batch_id, key, reason) for key in keys])


def record_decision(con: Connection, batch_id: str, decision: BatchStatus,
                    reason: str, steward: str) -> None:
    """Keep a steward's decision on a quarantined batch, with who and when."""
    con.execute(f"insert into {DECISIONS} values (?, ?, ?, ?, ?)",
                [batch_id, decision.value, reason, steward,
                 datetime.now(UTC).replace(tzinfo=None)])


def decisions(con: Connection, batch_id: str) -> list[dict]:
    """The decisions taken on one batch, oldest first (none on a warehouse without any)."""
    if not table_exists(con, DECISIONS):
        return []
    frame: pd.DataFrame = con.execute(
        f"select decision, reason, decided_by, decided_at from {DECISIONS} "
        "where batch_id = ? order by decided_at", [batch_id]).df()
    return frame.to_dict("records")


def record_removal(con: Connection, manifest: DatasetManifest,
                   removed_per_batch: dict[str, int]) -> None:
    """Book rows retention removed: out of staged (or quarantined), into removed.

    A dropped batch's records are already rejected, each with its reason: its books do
    not change when retention removes its rows.
    """
    for batch_id, rows in removed_per_batch.items():
        con.execute(
            f"update {BATCHES} set removed = removed + $rows, "
            "staged = staged - case when status in ($passed, $released) then $rows else 0 end, "
            "quarantined = quarantined - case when status = $quarantined then $rows else 0 end "
            "where batch_id = $batch and status <> $dropped",
            {"rows": rows, "batch": batch_id, "passed": BatchStatus.PASSED.value,
             "released": BatchStatus.RELEASED.value,
             "quarantined": BatchStatus.QUARANTINED.value,
             "dropped": BatchStatus.DROPPED.value})
