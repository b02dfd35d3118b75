"""The README's main command, end to end, on a small world in a temporary home.

Runs `ketenbrug demo` as `make demo` does (a real Dagster run, real HTTP, real dbt build),
twice, and checks what a municipality and a privacy officer would check.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy import open_package, verify_log
from privacy.sealing import load_private_key
from simulators import generate_world

CLIENTS, SEED = 300, 4242
pytestmark = pytest.mark.e2e


def _demo(home: Path) -> str:
    env = {**os.environ, "KETENBRUG_HOME": str(home)}
    for var in ("KETENBRUG_WAREHOUSE", "KETENBRUG_VAULT", "KETENBRUG_KEYS_DIR", "DAGSTER_HOME"):
        env.pop(var, None)
    done = subprocess.run(
        [sys.executable, "-m", "ketenbrug.cli", "demo", "--clients", str(CLIENTS),
         "--seed", str(SEED)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _mart_rows(output: str) -> dict[str, int]:
    return {m: int(n) for m, n in re.findall(r"^\s+(\w+)\s+(\d+) rows$", output, re.M)}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("hub")
    first = _demo(home)
    second = _demo(home)
    return home, first, second


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=CLIENTS, seed=SEED)


def test_demo_builds_every_mart_and_reports_where_outputs_are(demo_home):
    home, first, _ = demo_home
    rows = _mart_rows(first)
    assert set(rows) == {"client_profiles", "warm_handover", "volume_monitor",
                         "billing_statements"}
    assert rows["client_profiles"] > 0 and rows["warm_handover"] > 0
    assert "failed checks: none" in first
    assert str(home / "outbox") in first


def test_running_the_demo_twice_gives_the_same_marts(demo_home):
    _, first, second = demo_home
    assert _mart_rows(first) == _mart_rows(second)


def test_every_handover_row_is_in_the_package_of_its_own_municipality(demo_home, world):
    home, _, _ = demo_home
    hub_key = Ed25519PublicKey.from_public_bytes((home / "keys" / "hub-signing.pub").read_bytes())
    municipality_of = {p["bsn"]: p["municipality_code"] for p in world.persons}
    packages = sorted((home / "outbox").glob("*/*.kbpkg"))
    assert packages
    persons = 0
    for package in packages:
        code = package.parent.name
        key = load_private_key(home / "keys" / "recipients" / f"{code}.key")
        opened = open_package(package.read_bytes(), recipient_key=key, hub_key=hub_key)
        assert opened.manifest["recipient"] == code
        rows = list(csv.DictReader(io.StringIO(opened.files["warm_handover.csv"].decode())))
        assert len(rows) == opened.manifest["row_count"]
        for row in rows:
            assert municipality_of[row["bsn"]] == code
            assert row["surname"] and row["birth_date"]
            assert "offence" not in " ".join(row)  # never the offence, only the Pm 20d set
        persons += len(rows)
    assert persons > 0


def test_no_identity_outside_the_vault_and_the_sealed_packages(demo_home, world):
    home, _, _ = demo_home
    bsns = {p["bsn"] for p in world.persons}
    names = {f"{p['given_name']} {p['surname']}" for p in world.persons}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'").fetchall()
        for schema, table, column in columns:
            values = {v for (v,) in con.execute(
                f'select distinct "{column}" from "{schema}"."{table}"').fetchall() if v}
            assert not values & bsns, f"BSN in {schema}.{table}.{column}"
            assert not values & names, f"name in {schema}.{table}.{column}"
    # Dagster's run and event storage, logs, dbt artefacts: every unsealed file under home.
    skip = {home / "vault.duckdb", home / "warehouse.duckdb"}
    for path in home.rglob("*"):
        if not path.is_file() or path in skip or path.suffix in (".kbpkg", ".key", ".pub"):
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found = [b for b in bsns if b in text]
        assert not found, f"{len(found)} BSN(s) in {path.relative_to(home)}"


def test_every_disclosure_is_on_an_intact_log(demo_home):
    home, _, _ = demo_home
    log = home / "audit" / "disclosures.jsonl"
    assert verify_log(log) == []
    assert sum(1 for _ in (home / "outbox").glob("*/*.kbpkg")) > 0
    assert '"event": "delivery"' in log.read_text()
