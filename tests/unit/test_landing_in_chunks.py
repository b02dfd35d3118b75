"""A pull is landed page by page, as one batch: the hub never holds a whole pull, and a
failure part-way leaves nothing behind, as a failure of a pull held in memory did."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from ketenbrug import warehouse
from ketenbrug.connectors import CONNECTORS, HttpSettings, SourceError, load_manifest
from ketenbrug.warehouse.schema import BATCHES, REJECTIONS
from tests.canned_http import install

CLIENTS = load_manifest("probation")["clients"]
RECEIVED = datetime(2026, 11, 1, 8, 0)
BASE = "http://127.0.0.1:9"


def _row(number: int, version: str = "a") -> dict:
    return {"client_id": f"RN-{number:06d}", "_payload_hash": f"h{number}{version}"}


def _count(con, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def test_chunks_land_as_one_batch_with_every_row_accounted_for(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        with warehouse.BatchWriter(con, CLIENTS, batch_id="b1", received_at=RECEIVED) as batch:
            batch.add([_row(1), _row(2)])
            # the same version again in a later chunk, and a row without its key
            batch.add([_row(3), _row(1), {"_payload_hash": "h-nokey"}])
            landed = batch.finish(fields_dropped=4, cursor="2026-11-01T07:00:00Z")
        assert (landed.received, landed.landed, landed.unchanged, landed.rejected) == (5, 3, 0, 2)
        assert _count(con, "select count(*) from landing.probation__clients") == 3
        reasons = sorted(r for (r,) in con.execute(f"select reason from {REJECTIONS}").fetchall())
        assert reasons == ["missing record key client_id", "same version twice in this batch"]
        ledger = con.execute(f"select received, rejected, fields_dropped from {BATCHES}").fetchall()
        assert ledger == [(5, 2, 4)]
        assert warehouse.read_cursor(con, CLIENTS) == "2026-11-01T07:00:00Z"


def test_a_failure_after_some_chunks_leaves_no_rows_no_ledger_row_and_the_cursor(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.land_batch(con, CLIENTS, [_row(1)], batch_id="b0", received_at=RECEIVED,
                             fields_dropped=0, cursor="2026-10-31T00:00:00Z")
        with pytest.raises(SourceError), warehouse.BatchWriter(
                con, CLIENTS, batch_id="b1", received_at=RECEIVED) as batch:
            batch.add([_row(2), _row(3)])
            batch.add([{"client_id": "RN-9", "_payload_hash": "h9"}] * 2)  # a rejection too
            raise SourceError("probation: GET /clients failed on page 3 (500)")
        assert _count(con, "select count(*) from landing.probation__clients") == 1
        assert _count(con, f"select count(*) from {BATCHES}") == 1
        assert _count(con, f"select count(*) from {REJECTIONS}") == 0
        assert warehouse.read_cursor(con, CLIENTS) == "2026-10-31T00:00:00Z"


def test_versions_landed_before_count_as_unchanged_in_every_chunk(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.land_batch(con, CLIENTS, [_row(1), _row(2)], batch_id="b0",
                             received_at=RECEIVED, fields_dropped=0, cursor=None)
        with warehouse.BatchWriter(con, CLIENTS, batch_id="b1", received_at=RECEIVED) as batch:
            batch.add([_row(1), _row(3)])
            batch.add([_row(2, version="b"), _row(2)])
            landed = batch.finish(fields_dropped=0, cursor=None)
    assert (landed.received, landed.landed, landed.unchanged, landed.rejected) == (4, 2, 2, 0)


def test_a_stream_yields_its_first_chunk_before_it_asks_for_the_next_page():
    connector = CONNECTORS["municipal_orders"](
        HttpSettings(BASE, "c", max_retries=0, backoff_factor_s=0))
    pages = [{"data": [{"booking_id": f"B{page}-{n}"} for n in range(3)],
              "has_more": page < 4} for page in range(1, 5)]
    adapter = install(connector, lambda request: (
        200, "application/json", json.dumps(pages[len(adapter.requests) - 1]).encode()))
    try:
        stream = connector.stream("bookings")
        chunks = stream.chunks(5)  # two pages of three make a chunk
        first = next(chunks)
        assert (len(first), len(adapter.requests), stream.pages) == (6, 2, 2)
        rest = [record for chunk in chunks for record in chunk]
    finally:
        connector.close()
    assert len(rest) == 6 and stream.pages == 4
    assert [allowed.fields["booking_id"] for allowed, _ in first][:2] == ["B1-0", "B1-1"]


def test_a_stream_past_the_page_cap_fails_naming_source_and_dataset():
    connector = CONNECTORS["municipal_orders"](
        HttpSettings(BASE, "c", max_retries=0, backoff_factor_s=0, max_pages=2))
    install(connector, lambda request: (
        200, "application/json", json.dumps({"data": [{"booking_id": "B"}],
                                             "has_more": True}).encode()))
    try:
        with pytest.raises(SourceError, match=r"municipal_orders\.bookings: more than 2 pages"):
            list(connector.stream("bookings").chunks(1))
    finally:
        connector.close()
