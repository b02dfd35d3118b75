"""One owner of the warehouse schema: Python's statuses are the ones dbt reads, and the
published-rows helper publishes exactly the batches staging does."""

from __future__ import annotations

import re
from datetime import datetime

import yaml

from ketenbrug import warehouse
from ketenbrug.connectors import load_manifest
from ketenbrug.project_files import DBT_PROJECT_DIR
from ketenbrug.warehouse.schema import BATCHES, PUBLISHED_STATUSES, BatchStatus

CLIENTS = load_manifest("probation")["clients"]


def test_dbt_publishes_the_statuses_python_publishes():
    macro = (DBT_PROJECT_DIR / "macros" / "published_rows.sql").read_text()
    listed = re.search(r"published_batch_statuses\(\).*?return\(\[(.*?)\]\)", macro, re.S)
    assert listed, "published_batch_statuses() no longer returns a literal list"
    assert re.findall(r"'(\w+)'", listed.group(1)) == [s.value for s in PUBLISHED_STATUSES]


def test_dbt_accepts_every_status_a_batch_can_have():
    sources = yaml.safe_load(
        (DBT_PROJECT_DIR / "models" / "staging" / "_landing__sources.yml").read_text())
    [landing] = [s for s in sources["sources"] if s["name"] == "landing"]
    [batches] = [t for t in landing["tables"] if t["name"] == BATCHES.split(".")[1]]
    [status] = [c for c in batches["columns"] if c["name"] == "status"]
    [accepted] = [t["accepted_values"] for t in status["data_tests"]
                  if isinstance(t, dict) and "accepted_values" in t]
    assert accepted["arguments"]["values"] == [s.value for s in BatchStatus]


def test_published_rows_are_those_of_passed_and_released_batches(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.ensure_landing(con, CLIENTS)
        for number, status in enumerate(BatchStatus):
            batch_id = f"b-{status.value}"
            row = {"client_id": f"RN-{number:06d}", "_payload_hash": f"h{number}"}
            warehouse.land_batch(con, CLIENTS, [row], batch_id=batch_id,
                                 received_at=datetime(2026, 11, 1), fields_dropped=0,
                                 cursor=None)
            con.execute(f"update {BATCHES} set status = ? where batch_id = ?",
                        [status.value, batch_id])
        sql, params = warehouse.published_rows_sql(CLIENTS)
        published = {b for (b,) in con.execute(
            f"select _batch_id from ({sql}) as published", params).fetchall()}
    assert published == {"b-passed", "b-released"}
