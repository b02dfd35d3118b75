"""Landing: one dataset's batch written to its table, each version once, every row accounted for.

Identifiers come only from manifests (allow-listed names); values are always bound. The
SQL is the same on DuckDB and PostgreSQL (`warehouse.connect`); the incoming rows are an
Arrow table registered as a relation on either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from ketenbrug.connectors.manifest import DatasetManifest
from ketenbrug.databases import refresh_statistics
from ketenbrug.failpoints import failpoint
from ketenbrug.privacy.boundary import REFUSED_BECAUSE
from ketenbrug.warehouse.connection import Connection
from ketenbrug.warehouse.ledger import write_cursor
from ketenbrug.warehouse.schema import (
    BATCHES,
    COLUMN_TYPES,
    LANDING_SCHEMA,
    REJECTIONS,
    BatchStatus,
    ensure_ledger,
    ident,
    landing_columns,
    landing_table,
)


@dataclass(frozen=True)
class LandedBatch:
    batch_id: str
    received: int
    landed: int
    rejected: int
    unchanged: int = 0  # re-sent as the version already landed: neither new nor refused


def ensure_landing(con: Connection, manifest: DatasetManifest) -> None:
    """Create the ledger and this dataset's landing table (all data columns as text)."""
    ensure_ledger(con)
    wanted = landing_columns(manifest)
    table = landing_table(manifest)
    present = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ?", [LANDING_SCHEMA, manifest.table]).fetchall()}
    if not present:
        columns = ", ".join(f"{ident(c)} {COLUMN_TYPES.get(c, 'varchar')}" for c in wanted)
        con.execute(f"create table if not exists {table} ({columns})")
        return
    # A column the manifest or the boundary gained since the table was made is added,
    # empty for earlier batches: landing never loses history to a schema change.
    for column in wanted:
        if column not in present:
            con.execute(f"alter table {table} add column {ident(column)} "
                        f"{COLUMN_TYPES.get(column, 'varchar')}")


def land_batch(
    con: Connection, manifest: DatasetManifest, rows: list[dict], *,
    batch_id: str, received_at: datetime, fields_dropped: int, cursor: str | None,
) -> LandedBatch:
    """Land `rows` as one batch; a version already landed (same key and payload) lands once.

    Every row is accounted for: landed, unchanged (that version already landed, counted in
    the ledger), or rejected with a reason in landing._rejections.
    Rows, rejections, the ledger row and the cursor are written in one transaction: a
    crash leaves either the whole batch, `landed` and awaiting its verdict, or nothing,
    with the cursor where it was.
    """
    ensure_landing(con, manifest)
    key_field = manifest.record_key
    accepted, seen = [], set()
    rejections: list[tuple[str, str | None, str]] = []  # (batch, record key, reason)
    for row in rows:
        key = row.get(key_field)
        if row.get(REFUSED_BECAUSE):  # the boundary found an identity in the key: not stored
            rejections.append((batch_id, None, row[REFUSED_BECAUSE]))
            continue
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
    con.begin()
    try:
        counts = _write_batch(con, manifest, batch_id, accepted, rejections, len(rows),
                              received_at, fields_dropped, cursor)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    refresh_statistics(con, [landing_table(manifest), BATCHES, REJECTIONS])
    return counts


def _write_batch(con: Connection, manifest: DatasetManifest, batch_id: str,
                 accepted: list[dict], rejections: list[tuple[str, str | None, str]],
                 received: int, received_at: datetime, fields_dropped: int,
                 cursor: str | None) -> LandedBatch:
    columns = landing_columns(manifest)
    con.register("incoming", _to_arrow(accepted, columns))
    # A version counts as landed unless its batch was dropped: a dropped batch's records
    # may come again (re-pulled after a fix) and must then be able to land.
    table = landing_table(manifest)
    live = (f"(select l._record_key, l._payload_hash from {table} l "
            f"join {BATCHES} b on b.batch_id = l._batch_id where b.status <> $dropped)")
    dropped = {"dropped": BatchStatus.DROPPED.value}
    known = con.execute(
        f"select i._record_key from incoming i join {live} k "
        "using (_record_key, _payload_hash)", dropped).fetchall()
    column_list = ", ".join(columns)
    con.execute(
        f"insert into {table} ({column_list}) "
        f"select {column_list} from incoming i where not exists (select 1 from {live} k "
        "where k._record_key = i._record_key and k._payload_hash = i._payload_hash)", dropped)
    con.unregister("incoming")
    landed = len(accepted) - len(known)
    if rejections:
        con.executemany(f"insert into {REJECTIONS} values (?, ?, ?)", rejections)
    failpoint("landing:rows")  # rows written, ledger row not yet: the transaction undoes both
    con.execute(
        f"insert into {BATCHES} (batch_id, source, dataset, received_at, status, received, "
        "staged, quarantined, rejected, fields_dropped, contract_version, verdict, removed, "
        "unchanged) values (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, null, null, 0, ?)",
        [batch_id, manifest.source, manifest.name, received_at, BatchStatus.LANDED.value,
         received, len(rejections), fields_dropped, len(known)])
    if cursor:
        write_cursor(con, manifest, cursor)
    return LandedBatch(batch_id, received=received, landed=landed, rejected=len(rejections),
                       unchanged=len(known))


def _to_arrow(rows: list[dict], columns: list[str]) -> pa.Table:
    types = {"_received_at": pa.timestamp("us"), "is_bsn_present": pa.bool_(),
             "is_bsn_valid": pa.bool_()}  # as COLUMN_TYPES
    return pa.table({c: pa.array([r.get(c) for r in rows], type=types.get(c, pa.string()))
                     for c in columns})
