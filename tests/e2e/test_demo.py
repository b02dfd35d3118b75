"""The README's main command, end to end, on a small world in a temporary home.

Runs `ketenbrug demo` as `make demo` does (a real Dagster run, real HTTP, real dbt build),
twice, and checks what a municipality and a privacy officer would check.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import date

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ketenbrug.privacy import is_valid_bsn, open_package, read_log, verify_log
from ketenbrug.privacy.checkpoints import CHECKPOINT_EVENT
from ketenbrug.privacy.sealing import load_private_key
from tests.e2e.conftest import CLIENTS, SEED, cli, mart_rows

pytestmark = pytest.mark.e2e


def test_demo_builds_every_mart_and_reports_where_outputs_are(demo_home):
    home, first, _ = demo_home
    rows = mart_rows(first)
    assert set(rows) == {"client_profiles", "client_orders", "warm_handover", "volume_monitor",
                         "billing_statements", "statutory_priority_guard"}
    assert rows["client_profiles"] > 0 and rows["warm_handover"] > 0
    assert "failed checks: none" in first
    assert str(home / "outbox") in first


def test_running_the_demo_twice_gives_the_same_marts(demo_home):
    _, first, second = demo_home
    assert mart_rows(first) == mart_rows(second)


def test_a_rerun_over_unchanged_sources_rebuilds_no_model(demo_home):
    _, first, second = demo_home
    assert "no model rebuilt" not in first
    (built_by,) = re.findall(r"^dagster run (\S+): success", first, re.M)
    assert f"dbt: no model rebuilt, every input is as at the build of run {built_by}" in second


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
        opened = open_package(package.read_bytes(), recipient_id=code, recipient_key=key,
                              hub_key=hub_key)
        assert opened.manifest["recipient"] == code
        rows = list(csv.DictReader(io.StringIO(opened.files["warm_handover.csv"].decode())))
        assert len(rows) == opened.manifest["row_count"]
        for row in rows:
            assert municipality_of[row["bsn"]] == code
            assert row["surname"] and row["birth_date"]
            assert "offence" not in " ".join(row)  # never the offence, only the Pm 20d set
        persons += len(rows)
    assert persons > 0


def test_no_warehouse_column_holds_a_valid_bsn(demo_home):
    home, _, _ = demo_home
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'").fetchall()
        for schema, table, column in columns:
            nine_digits = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" '
                f"where regexp_full_match(\"{column}\", '\\d{{9}}')").fetchall()
            assert not [v for (v,) in nine_digits if is_valid_bsn(v)], f"{schema}.{table}.{column}"


def test_leak_guard_finds_no_identity_outside_the_vault_and_sealed_packages(demo_home):
    home, _, _ = demo_home
    done = cli(home, "privacy", "scan")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"scanned for {CLIENTS} synthetic identities" in done.stdout
    assert "0 leak(s)" in done.stdout
    as_json = cli(home, "privacy", "scan", "--json")
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    assert json.loads(as_json.stdout)["leaks"] == []


def test_every_disclosure_is_on_an_intact_log(demo_home):
    home, _, _ = demo_home
    log = home / "audit" / "disclosures.jsonl"
    assert verify_log(log) == []
    assert sum(1 for _ in (home / "outbox").glob("*/*.kbpkg")) > 0
    assert '"event": "delivery"' in log.read_text()


def test_billing_statements_delivered_per_municipality_add_up_to_the_mart(demo_home):
    home, _, _ = demo_home
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        mart = dict(con.execute(
            "select municipality_code || '/' || strftime(billing_month_date, '%Y-%m'), "
            "sum(amount_cents) from main.billing_statements group by all").fetchall())
        # The guard and the statements see the same booked hours, from either lineage's side.
        guard_hours, billed_hours = con.execute(
            "select (select sum(municipal_hours_booked) from main.statutory_priority_guard), "
            "(select sum(hours_booked) from main.billing_statements)").fetchone()
    delivered = {}
    for path in (home / "outbox").glob("*/billing/*/billing_statement_*.json"):
        statement = json.loads(path.read_text())
        delivered[f"{statement['municipality_code']}/{statement['billing_month']}"] = (
            statement["totals"]["amount_cents"])
        assert sum(line["amount_cents"] for line in statement["lines"]) == (
            statement["totals"]["amount_cents"])
    # Every closed month is billed; the month in progress is not, until it has closed.
    this_month = date.today().strftime("%Y-%m")  # the demo world's today
    closed = {statement: cents for statement, cents in mart.items()
              if statement.split("/")[1] < this_month}
    assert delivered == closed and len(closed) > 0
    for manifest_path in (home / "outbox").glob("*/billing/*/manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"]:
            data = (manifest_path.parent / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert guard_hours == billed_hours > 0


def test_an_unchanged_rerun_delivers_and_logs_nothing_new(demo_home, recipient_endpoint):
    """Last in this module: it runs the demo a third time, on the second run's channel.
    Nothing changed, so no package is sealed, sent or logged again, and the run says so;
    the packages a municipality holds are the very same files."""
    home, _, second = demo_home
    log = home / "audit" / "disclosures.jsonl"
    disclosures = [e for e in read_log(log) if e["event"] != CHECKPOINT_EVENT]
    packages = {p: p.read_bytes() for p in (home / "outbox").glob("*/*.kbpkg")}
    delivered = re.search(r"warm_handover_packages: (\d+) delivered", second)
    assert delivered and int(delivered[1]) > 0  # the second run, to a new channel, delivered
    third = cli(home, "demo", "--clients", str(CLIENTS), "--seed", str(SEED),
                KETENBRUG_DELIVERY_URL=recipient_endpoint.url_template)
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert f"warm_handover_packages: 0 delivered, {delivered[1]} unchanged" in third.stdout
    assert re.search(r"billing_statements_delivery: 0 delivered, [1-9]\d* unchanged",
                     third.stdout)
    assert [e for e in read_log(log) if e["event"] != CHECKPOINT_EVENT] == disclosures
    assert {p: p.read_bytes() for p in (home / "outbox").glob("*/*.kbpkg")} == packages
    assert verify_log(log) == []
