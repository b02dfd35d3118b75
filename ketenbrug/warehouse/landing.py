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
    """Land `rows` as one batch (BatchWriter with a single chunk)."""
    with BatchWriter(con, manifest, batch_id=batch_id, received_at=received_at) as batch:
        batch.add(rows)
        return batch.finish(fields_dropped=fields_dropped, cursor=cursor)


class BatchWriter:
    """One batch landed chunk by chunk; a version already landed (same key and payload)
    lands once.

    Every row is accounted for: landed, unchanged (that version already landed, counted in
    the ledger), or rejected with a reason in landing._rejections.
    All chunks, rejections, the ledger row and the cursor are written in one transaction,
    committed by `finish`: a crash leaves either the whole batch, `landed` and awaiting its
    verdict, or nothing, with the cursor where it was. Only the chunk being written is held
    in memory, and of earlier chunks only each version's payload hash.
    """

    def __init__(self, con: Connection, manifest: DatasetManifest, *, batch_id: str,
                 received_at: datetime):
        self._con, self._manifest = con, manifest
        self._batch_id, self._received_at = batch_id, received_at
        self._columns, self._table = landing_columns(manifest), landing_table(manifest)
        # The payload hash covers the whole payload, key included: one hash, one version.
        self._seen: set[str] = set()
        self._finished = False
        self.received = self.landed = self.unchanged = self.rejected = 0

    def __enter__(self) -> BatchWriter:
        ensure_landing(self._con, self._manifest)
        self._con.begin()
        return self

    def __exit__(self, *exc_info) -> None:
        if not self._finished:
            self._con.rollback()

    def add(self, rows: list[dict]) -> None:
        """Write one chunk of boundary rows (identities already split off)."""
        key_field, batch_id = self._manifest.record_key, self._batch_id
        accepted: list[dict] = []
        rejections: list[tuple[str, str | None, str]] = []  # (batch, record key, reason)
        for row in rows:
            key = row.get(key_field)
            if row.get(REFUSED_BECAUSE):  # the boundary found an identity in the key
                rejections.append((batch_id, None, row[REFUSED_BECAUSE]))
                continue
            if key in (None, ""):
                rejections.append((batch_id, None, f"missing record key {key_field}"))
                continue
            if row["_payload_hash"] in self._seen:
                rejections.append((batch_id, str(key), "same version twice in this batch"))
                continue
            self._seen.add(row["_payload_hash"])
            accepted.append({**row, "_batch_id": batch_id, "_source": self._manifest.source,
                             "_dataset": self._manifest.name, "_record_key": str(key),
                             "_received_at": self._received_at})
        self.received += len(rows)
        self.rejected += len(rejections)
        if rejections:
            self._con.executemany(f"insert into {REJECTIONS} values (?, ?, ?)", rejections)
        if accepted:
            unchanged = self._insert_new_versions(accepted)
            self.unchanged += unchanged
            self.landed += len(accepted) - unchanged

    def finish(self, *, fields_dropped: int, cursor: str | None) -> LandedBatch:
        """Write the ledger row and the cursor, and commit the batch."""
        con = self._con
        failpoint("landing:rows")  # rows written, ledger row not yet: the transaction undoes both
        con.execute(
            f"insert into {BATCHES} (batch_id, source, dataset, received_at, status, received, "
            "staged, quarantined, rejected, fields_dropped, contract_version, verdict, removed, "
            "unchanged) values (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, null, null, 0, ?)",
            [self._batch_id, self._manifest.source, self._manifest.name, self._received_at,
             BatchStatus.LANDED.value, self.received, self.rejected, fields_dropped,
             self.unchanged])
        if cursor:
            write_cursor(con, self._manifest, cursor)
        con.commit()
        self._finished = True
        refresh_statistics(con, [self._table, BATCHES, REJECTIONS])
        return LandedBatch(self._batch_id, received=self.received, landed=self.landed,
                           rejected=self.rejected, unchanged=self.unchanged)

    def _insert_new_versions(self, accepted: list[dict]) -> int:
        """Insert the versions not landed before; return how many were (unchanged)."""
        con, table, columns = self._con, self._table, self._columns
        con.register("incoming", _to_arrow(accepted, columns))
        # A version counts as landed unless its batch was dropped: a dropped batch's
        # records may come again (re-pulled after a fix) and must then be able to land.
        # This batch's own earlier chunks have no ledger row yet, so they never match.
        live = (f"(select l._record_key, l._payload_hash from {table} l "
                f"join {BATCHES} b on b.batch_id = l._batch_id where b.status <> $dropped)")
        dropped = {"dropped": BatchStatus.DROPPED.value}
        counted = con.execute(
            f"select count(*) from incoming i join {live} k "
            "using (_record_key, _payload_hash)", dropped).fetchone()
        known = counted[0] if counted else 0
        column_list = ", ".join(columns)
        con.execute(
            f"insert into {table} ({column_list}) "
            f"select {column_list} from incoming i where not exists (select 1 from {live} k "
            "where k._record_key = i._record_key and k._payload_hash = i._payload_hash)",
            dropped)
        con.unregister("incoming")
        return int(known)


def _to_arrow(rows: list[dict], columns: list[str]) -> pa.Table:
    types = {"_received_at": pa.timestamp("us"), "is_bsn_present": pa.bool_(),
             "is_bsn_valid": pa.bool_()}  # as COLUMN_TYPES
    return pa.table({c: pa.array([r.get(c) for r in rows], type=types.get(c, pa.string()))
                     for c in columns})
