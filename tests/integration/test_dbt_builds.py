"""A dbt build is skipped only when nothing it reads changed: the inputs fingerprint
(ketenbrug/warehouse/builds.py) moves with every change a model would see — a batch
published, a quarantine released, retention deleting a row, another date or project — and
stays put for what no model sees: a batch that published nothing new, or is still in
quarantine. On DuckDB and on PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

import pytest

from ketenbrug import warehouse
from ketenbrug.connectors import load_manifest
from ketenbrug.databases import Target
from ketenbrug.warehouse.builds import (
    forget_build,
    inputs_fingerprint,
    last_build,
    record_build,
    unchanged_since,
)
from ketenbrug.warehouse.schema import BATCHES, BatchStatus

CLIENTS = load_manifest("probation")["clients"]
# What a dbt manifest says of the project, cut down to one source table and one model.
MANIFEST = {
    "sources": {
        "source.ketenbrug.landing.probation__clients":
            {"schema": "landing", "name": "probation__clients", "identifier": None},
        "source.ketenbrug.landing._batches":
            {"schema": "landing", "name": "_batches", "identifier": "_batches"},
    },
    "nodes": {"model.ketenbrug.stg_clients":
              {"resource_type": "model", "name": "stg_clients", "alias": None},
              "test.ketenbrug.not_null": {"resource_type": "test", "name": "not_null"}},
}


@pytest.fixture(params=["duckdb", "postgres"])
def target(request, tmp_path) -> Target:
    if request.param == "duckdb":
        return tmp_path / "warehouse.duckdb"
    return request.getfixturevalue("pg_database")


def _fingerprint(con, *, as_of: str = "2026-11-29", project: str = "p1") -> str:
    return inputs_fingerprint(con, MANIFEST, project_digest=project,
                              run_vars={"as_of_date": as_of}, profile=["main"])


def _land(con, batch_id: str, client_ids: list[str], status: BatchStatus,
          payload: str = "v1") -> None:
    rows = [{"client_id": c, "_payload_hash": f"{c}-{payload}"} for c in client_ids]
    warehouse.land_batch(con, CLIENTS, rows, batch_id=batch_id,
                         received_at=datetime(2026, 11, 1), fields_dropped=0, cursor=None)
    con.execute(f"update {BATCHES} set status = ? where batch_id = ?", [status.value, batch_id])


def test_what_a_model_reads_moves_the_fingerprint_and_nothing_else_does(target):
    with warehouse.connect(target) as con:
        warehouse.ensure_landing(con, CLIENTS)
        empty = _fingerprint(con)
        _land(con, "b1", ["RN-000001", "RN-000002"], BatchStatus.PASSED)
        first = _fingerprint(con)
        assert first != empty
        assert _fingerprint(con) == first  # the same rows: the same fingerprint

        # A rerun's batch whose records had all landed before, and one in quarantine.
        _land(con, "b2", ["RN-000001"], BatchStatus.PASSED)
        _land(con, "b3", ["RN-000003"], BatchStatus.QUARANTINED)
        assert _fingerprint(con) == first

        con.execute(f"update {BATCHES} set status = 'released' where batch_id = 'b3'")
        released = _fingerprint(con)
        assert released != first

        _land(con, "b4", ["RN-000002"], BatchStatus.PASSED, payload="v2")  # a new version
        corrected = _fingerprint(con)
        assert corrected != released

        # Retention: a row gone, as a steward's `retention apply` deletes it.
        con.execute("delete from landing.probation__clients where client_id = 'RN-000003'")
        assert _fingerprint(con) != corrected
        after_retention = _fingerprint(con)

        assert _fingerprint(con, as_of="2026-11-30") != after_retention
        assert _fingerprint(con, project="p2") != after_retention


def test_two_rows_that_cancel_in_a_hash_are_still_told_apart_by_their_count(target):
    with warehouse.connect(target) as con:
        warehouse.ensure_landing(con, CLIENTS)
        _land(con, "b1", ["RN-000001"], BatchStatus.PASSED)
        one = _fingerprint(con)
        # The same row twice XORs to zero on DuckDB; the count tells it apart.
        con.execute("insert into landing.probation__clients "
                    "select * from landing.probation__clients")
        con.execute("insert into landing.probation__clients "
                    "select * from landing.probation__clients")
        assert _fingerprint(con) != one


def test_a_build_stands_only_while_it_succeeded_and_all_it_built_is_there(target):
    with warehouse.connect(target) as con:
        warehouse.ensure_landing(con, CLIENTS)
        _land(con, "b1", ["RN-000001"], BatchStatus.PASSED)
        fingerprint = _fingerprint(con)
        assert last_build(con) is None and unchanged_since(
            con, MANIFEST, fingerprint, schema="main") is None

        con.execute("create schema if not exists main")
        con.execute("create table main.stg_clients (client_id varchar)")
        record_build(con, fingerprint, "run-1")
        found = unchanged_since(con, MANIFEST, fingerprint, schema="main")
        assert found is not None and found.run_id == "run-1"
        assert unchanged_since(con, MANIFEST, _fingerprint(con, as_of="2026-12-01"),
                               schema="main") is None

        con.execute("drop table main.stg_clients")  # a model's table dropped by hand
        assert unchanged_since(con, MANIFEST, fingerprint, schema="main") is None

        con.execute("create table main.stg_clients (client_id varchar)")
        forget_build(con)  # a build started (and was killed): nothing stands
        assert unchanged_since(con, MANIFEST, fingerprint, schema="main") is None
