"""Landing tables, the batch ledger and cursors in the DuckDB warehouse.

Connections are opened per call and closed at once: DuckDB allows one writing process
per file, and a connection kept across Dagster steps blocks dbt (../shared/STACK.md).
Identifiers come only from manifests (allow-listed names); values are always bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from connectors.manifest import DatasetManifest

META_COLUMNS = ("_batch_id", "_source", "_dataset", "_record_key", "_received_at", "_payload_hash",
                "_missing_fields")
IDENTITY_COLUMNS = ("person_pseudonym", "pseudonym_basis", "is_bsn_present", "identity_issues",
                    "is_bsn_valid")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")

_LEDGER = """
create schema if not exists landing;
create table if not exists landing._batches (
    batch_id varchar primary key, source varchar not null, dataset varchar not null,
    received_at timestamp not null, status varchar not null, received integer not null,
    staged integer not null, quarantined integer not null, rejected integer not null,
    fields_dropped integer not null, contract_version varchar, verdict varchar
);
create table if not exists landing._rejections (
    batch_id varchar not null, record_key varchar, reason varchar not null
);
create table if not exists landing._cursors (
    source varchar, dataset varchar, updated_since varchar not null,
    primary key (source, dataset)
);
"""


@dataclass(frozen=True)
class LandedBatch:
    batch_id: str
    received: int
    landed: int
    rejected: int


@contextmanager
def connect(path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one unit of work and close it afterwards."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether `schema.table` exists (tables a later step or a rotation creates)."""
    schema, table = qualified.split(".")
    return bool(con.execute("select count(*) from information_schema.tables "
                            "where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def _ident(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"refusing identifier {name!r}")
    return name


def landing_columns(manifest: DatasetManifest) -> list[str]:
    identity = list(IDENTITY_COLUMNS) if manifest.identity else []
    return [*META_COLUMNS, *identity, *manifest.field_names]


def ensure_landing(con: duckdb.DuckDBPyConnection, manifest: DatasetManifest) -> None:
    """Create the ledger and this dataset's landing table (all data columns as text)."""
    con.execute(_LEDGER)
    types = {"_received_at": "timestamp", "is_bsn_present": "boolean", "is_bsn_valid": "boolean"}
    wanted = landing_columns(manifest)
    columns = ", ".join(f"{_ident(c)} {types.get(c, 'varchar')}" for c in wanted)
    table = f"landing.{_ident(manifest.table)}"
    con.execute(f"create table if not exists {table} ({columns})")
    # A column the manifest or the boundary gained since the table was made is added,
    # empty for earlier batches: landing never loses history to a schema change.
    present = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'landing' "
        "and table_name = ?", [manifest.table]).fetchall()}
    for column in wanted:
        if column not in present:
            con.execute(f"alter table {table} add column {_ident(column)} "
                        f"{types.get(column, 'varchar')}")


def read_cursor(con: duckdb.DuckDBPyConnection, manifest: DatasetManifest) -> str | None:
    """Where the last pull of `manifest`'s dataset stopped; None before the first pull."""
    try:
        row = con.execute(
            "select updated_since from landing._cursors where source = ? and dataset = ?",
            [manifest.source, manifest.name]).fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def land_batch(
    con: duckdb.DuckDBPyConnection, manifest: DatasetManifest, rows: list[dict], *,
    batch_id: str, received_at: datetime, fields_dropped: int, cursor: str | None,
) -> LandedBatch:
    """Land `rows` as one batch; a version already landed (same key and payload) lands once.

    Every row is accounted for: landed, or rejected with a reason in landing._rejections.
    """
    ensure_landing(con, manifest)
    columns = landing_columns(manifest)
    key_field = manifest.record_key
    accepted, rejections, seen = [], [], set()
    for row in rows:
        key = row.get(key_field)
        if key in (None, ""):
            rejections.append((batch_id, None, f"missing record key {key_field}"))
            continue
        version = (str(key), row["_payload_hash"])
        if version in seen:
            rejections.append((batch_id, str(key), "same version twice in this batch"))
            continue
        seen.add(version)
        accepted.append({**row, "_batch_id": batch_id, "_source": manifest.source,
                         "_dataset": manifest.name, "_record_key": str(key),
                         "_received_at": received_at})
    table = _to_arrow(accepted, columns)
    con.register("incoming", table)
    # A version counts as landed unless its batch was dropped: a dropped batch's records
    # may come again (re-pulled after a fix) and must then be able to land.
    live = (f"(select l._record_key, l._payload_hash from landing.{_ident(manifest.table)} l "
            "join landing._batches b on b.batch_id = l._batch_id where b.status <> 'dropped')")
    known = con.execute(
        f"select i._record_key from incoming i join {live} k "
        "using (_record_key, _payload_hash)").fetchall()
    rejections += [(batch_id, key, "version already landed") for (key,) in known]
    column_list = ", ".join(columns)
    con.execute(
        f"insert into landing.{_ident(manifest.table)} ({column_list}) "
        f"select {column_list} from incoming i where not exists (select 1 from {live} k "
        "where k._record_key = i._record_key and k._payload_hash = i._payload_hash)")
    con.unregister("incoming")
    landed = len(accepted) - len(known)
    if rejections:
        con.executemany("insert into landing._rejections values (?, ?, ?)", rejections)
    con.execute(
        "insert into landing._batches values (?, ?, ?, ?, 'landed', ?, 0, 0, ?, ?, null, null)",
        [batch_id, manifest.source, manifest.name, received_at, len(rows), len(rejections),
         fields_dropped])
    if cursor:
        con.execute("insert or replace into landing._cursors values (?, ?, ?)",
                    [manifest.source, manifest.name, cursor])
    return LandedBatch(batch_id, received=len(rows), landed=landed, rejected=len(rejections))


def rewind_cursor(con: duckdb.DuckDBPyConnection, manifest: DatasetManifest,
                  updated_since: str) -> None:
    """Move the cursor back to `updated_since` (never forward), so those records come again."""
    con.execute(
        "update landing._cursors set updated_since = ? where source = ? and dataset = ? "
        "and updated_since > ?", [updated_since, manifest.source, manifest.name, updated_since])


def unbalanced_batches(con: duckdb.DuckDBPyConnection, manifest: DatasetManifest) -> list[dict]:
    """Batches whose ledger does not reconcile with the rows actually landed and rejected.

    received must equal landed rows + rejection rows; and once judged, the landed rows
    must be counted as staged (passed, released), quarantined, or rejected (dropped).
    """
    return con.execute(
        "with landed as (select _batch_id as batch_id, count(*) as n from "
        f"landing.{_ident(manifest.table)} group by 1), "
        "refused as (select batch_id, count(*) as n from landing._rejections group by 1) "
        "select b.batch_id, b.status, b.received, b.staged, b.quarantined, b.rejected, "
        "coalesce(l.n, 0) as landed_rows, coalesce(r.n, 0) as rejection_rows "
        "from landing._batches b left join landed l using (batch_id) "
        "left join refused r using (batch_id) where b.source = ? and b.dataset = ? and ("
        "b.received <> b.staged + b.quarantined + b.rejected and b.status <> 'landed' "
        "or b.received <> coalesce(l.n, 0) + b.rejected - case when b.status = 'dropped' "
        "then coalesce(l.n, 0) else 0 end "
        "or b.rejected <> coalesce(r.n, 0))", [manifest.source, manifest.name]
    ).df().to_dict("records")


def latest_batch_id(con: duckdb.DuckDBPyConnection, manifest: DatasetManifest) -> str | None:
    row = con.execute(
        "select batch_id from landing._batches where source = ? and dataset = ? "
        "order by received_at desc limit 1", [manifest.source, manifest.name]).fetchone()
    return row[0] if row else None


def batch_frame(con: duckdb.DuckDBPyConnection, manifest: DatasetManifest,
                batch_id: str) -> pd.DataFrame:
    """The rows one batch landed, as text, ready for its contract."""
    return con.execute(
        f"select * exclude (_received_at) from landing.{_ident(manifest.table)} "
        "where _batch_id = ?", [batch_id]).df()


def record_verdict(con: duckdb.DuckDBPyConnection, batch_id: str, *, passed: bool,
                   contract_version: str, verdict: str) -> dict:
    """Mark a batch passed (published to staging) or quarantined; return its accounting."""
    status = "passed" if passed else "quarantined"
    con.execute(
        "update landing._batches set status = ?, contract_version = ?, verdict = ?, "
        "staged = case when ? then received - rejected else 0 end, "
        "quarantined = case when ? then 0 else received - rejected end where batch_id = ?",
        [status, contract_version, verdict, passed, passed, batch_id])
    received, staged, quarantined, rejected = con.execute(
        "select received, staged, quarantined, rejected from landing._batches where batch_id = ?",
        [batch_id]).fetchone()
    return {"status": status, "received": received, "staged": staged,
            "quarantined": quarantined, "rejected": rejected}


def _to_arrow(rows: list[dict], columns: list[str]) -> pa.Table:
    types = {"_received_at": pa.timestamp("us"), "is_bsn_present": pa.bool_(),
             "is_bsn_valid": pa.bool_()}
    return pa.table({c: pa.array([r.get(c) for r in rows], type=types.get(c, pa.string()))
                     for c in columns})
