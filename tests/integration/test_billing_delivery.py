"""Billing delivery: one statement per municipality and closed month, CSV (in euros, with
its total) and JSON, whose totals are the mart's, with a manifest the hub signs and a
municipality verifies (`extract verify-billing`), on the disclosure log; a month delivered
again is a correction when its lines changed, and nothing when not.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal

import duckdb
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dagster import PartitionKeyRange, materialize

from ketenbrug.cli import main
from ketenbrug.pipelines.assets.billing_delivery import build_billing_delivery
from ketenbrug.pipelines.partitions import range_tags
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.privacy import read_log, verify_audit, verify_log
from ketenbrug.privacy.hub_key import hub_key_fingerprint
from ketenbrug.privacy.sealing import load_or_create_signing_key

# agreement, municipality, organisation, month, booked, outside, over cap, billable, tariff,
# amount, cap, cumulative, cap used, outside period, over cap
LINES = [
    ("MA-GM0363-01", "GM0363", "RN", "2025-12-01", "1.00", "1.00", "0.00", "0.00", 4565, 0,
     10, "0.00", "0.00", True, False),
    ("MA-GM0363-01", "GM0363", "RN", "2026-01-01", "4.50", "0.00", "0.00", "4.50", 4565, 20543,
     10, "4.50", "45.00", False, False),
    ("MA-GM0363-02", "GM0363", "=SVG", "2026-01-01", "0.25", "0.00", "0.00", "0.25", 4566, 1142,
     None, "0.25", None, False, False),
    ("MA-GM0363-01", "GM0363", "RN", "2026-02-01", "6.25", "0.00", "0.75", "5.50", 4565, 25108,
     10, "10.75", "107.50", False, True),
    ("MA-GM0014-01", "GM0014", "LJR", "2026-01-01", "2.00", "0.00", "0.00", "2.00", 9000, 18000,
     None, "2.00", None, False, False),
]


def _build_mart(path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("""
            create table main.billing_statements (
                statement_line_id varchar, municipality_code varchar, agreement_id varchar,
                organisation varchar, billing_month_date date, hours_booked decimal(10,2),
                outside_period_hours decimal(10,2), over_cap_hours decimal(10,2),
                billable_hours decimal(10,2), tariff_cents_per_hour integer,
                amount_cents bigint, cap_hours integer, cumulative_hours decimal(10,2),
                cap_used_pct decimal(10,2), is_outside_period boolean, is_over_cap boolean)""")
        con.executemany("insert into main.billing_statements values (md5(? || ?), ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(line[0], line[3], line[1], line[0], *line[2:]) for line in LINES])
    path.chmod(0o600)  # as the hub's own connection leaves it: others' access is refused


BILLING = build_billing_delivery("2025-11")


def _deliver(home, first: str, last: str, **config: bool):
    """One run of the billing delivery over the months `first` .. `last`; its metadata."""
    hub = HubStorage(warehouse_path=str(home / "warehouse.duckdb"),
                     vault_path=str(home / "vault.duckdb"), keys_dir=str(home / "keys"),
                     outbox_dir=str(home / "outbox"), disclosure_log=str(home / "audit.jsonl"))
    run_config = {"ops": {"delivery__billing_statements_delivery": {"config": config}}}
    result = materialize([BILLING], resources={"hub": hub}, tags=range_tags((first, last)),
                         run_config=run_config if config else None)
    assert result.success
    # One materialization per month of the range, each with the run's metadata.
    events = result.get_asset_materialization_events()
    months = BILLING.partitions_def.get_partition_keys_in_range(PartitionKeyRange(first, last))
    assert sorted(e.partition for e in events) == months
    return events[0].event_specific_data.materialization.metadata


@pytest.fixture
def delivered(tmp_path):
    _build_mart(tmp_path / "warehouse.duckdb")
    return tmp_path, _deliver(tmp_path, "2025-11", "2026-02")


def _statement(home, code: str, month: str) -> dict:
    path = home / "outbox" / code / "billing" / month / f"billing_statement_{code}_{month}.json"
    return json.loads(path.read_text())


def test_one_statement_per_municipality_and_month_with_the_marts_totals(delivered):
    home, _ = delivered
    folder = home / "outbox" / "GM0363" / "billing"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.glob("*/*.json")) == [
        "2025-12/billing_statement_GM0363_2025-12.json", "2025-12/manifest.json",
        "2026-01/billing_statement_GM0363_2026-01.json", "2026-01/manifest.json",
        "2026-02/billing_statement_GM0363_2026-02.json", "2026-02/manifest.json"]
    january = _statement(home, "GM0363", "2026-01")
    assert january["totals"] == {"hours_booked": "4.75", "outside_period_hours": "0.00",
                                 "over_cap_hours": "0.00", "billable_hours": "4.75",
                                 "amount_cents": 20543 + 1142, "amount_eur": "216.85"}
    assert [line["amount_eur"] for line in january["lines"]] == ["205.43", "11.42"]
    assert january["agreement_ids"] == ["MA-GM0363-01", "MA-GM0363-02"]
    december = _statement(home, "GM0363", "2025-12")
    assert december["totals"]["amount_cents"] == 0  # outside the period: counted, not billed
    assert december["flags"] == {"lines_outside_period": 1, "lines_over_cap": 0}
    february = _statement(home, "GM0363", "2026-02")
    assert february["flags"]["lines_over_cap"] == 1
    assert february["lines"][0]["over_cap_hours"] == "0.75"
    # Every statement's total, over all municipalities, is the mart's.
    totals = [json.loads(p.read_text())["totals"]
              for p in (home / "outbox").glob("*/billing/*/billing_statement_*.json")]
    assert sum(t["amount_cents"] for t in totals) == sum(line[9] for line in LINES)
    assert sum(Decimal(t["billable_hours"]) for t in totals) == sum(
        Decimal(line[7]) for line in LINES)


def test_the_manifest_verifies_every_file_and_the_csv_is_formula_safe(delivered):
    home, _ = delivered
    folder = home / "outbox" / "GM0363" / "billing" / "2026-01"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["funding_stream"] == "municipal" and manifest["purpose"] == "municipal_billing"
    assert manifest["billing_month"] == "2026-01" and manifest["supersedes"] is None
    assert manifest["agreement_ids"] == ["MA-GM0363-01", "MA-GM0363-02"]
    assert manifest["amount_cents"] == 20543 + 1142
    assert manifest["amount_eur"] == "216.85"
    assert {f["file"] for f in manifest["files"]} == {p.name for p in folder.iterdir()} - {
        "manifest.json", "manifest.sig"}
    for entry in manifest["files"]:
        data = (folder / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        if entry["file"].endswith(".csv"):
            rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
        else:
            rows = json.loads(data)["lines"]
        assert len(rows) == entry["row_count"]
    assert [r["organisation"] for r in january_lines(folder)] == ["RN", "'=SVG", ""]


def january_lines(folder) -> list[dict]:
    data = (folder / "billing_statement_GM0363_2026-01.csv").read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")  # RFC 4180 line ends
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def test_the_csv_shows_euros_and_ends_with_the_statements_total(delivered):
    home, _ = delivered
    *lines, total = january_lines(home / "outbox" / "GM0363" / "billing" / "2026-01")
    assert [r["row_type"] for r in lines] == ["line", "line"] and total["row_type"] == "total"
    assert "amount_cents" not in total and "tariff_cents_per_hour" not in total
    assert [r["amount_eur"] for r in lines] == ["205.43", "11.42"]
    assert [r["tariff_eur_per_hour"] for r in lines] == ["45.65", "45.66"]
    assert sum(Decimal(r["amount_eur"]) for r in lines) == Decimal(total["amount_eur"])
    assert (total["amount_eur"], total["billable_hours"], total["hours_booked"]) == (
        "216.85", "4.75", "4.75")
    assert (total["municipality_code"], total["billing_month_date"]) == ("GM0363", "2026-01-01")
    assert total["agreement_id"] == total["tariff_eur_per_hour"] == total["is_over_cap"] == ""
    assert [r["is_outside_period"] for r in lines] == ["false", "false"]


def _verify_billing(folder, *args):
    return CliRunner().invoke(main, ["extract", "verify-billing", str(folder), *args])


def test_the_hub_signs_each_statement_and_the_municipality_verifies_it(delivered):
    home, _ = delivered
    folder = home / "outbox" / "GM0363" / "billing" / "2026-01"
    hub_key = load_or_create_signing_key(home / "keys").public_key()
    published = home / "outbox" / "GM0363" / "hub-signing.pub"
    assert published.read_bytes() == (home / "keys" / "hub-signing.pub").read_bytes()
    assert json.loads((folder / "manifest.json").read_text())["hub_key_fingerprint"] == (
        hub_key_fingerprint(hub_key))
    done = _verify_billing(folder)  # the key found in outbox/GM0363/
    assert done.exit_code == 0, done.output
    assert "billing statement of GM0363 for 2026-01, signed by the hub" in done.output
    assert f"fingerprint {hub_key_fingerprint(hub_key)}" in done.output
    assert "total EUR 216.85" in done.output
    report = json.loads(_verify_billing(folder, "--json").output)
    assert report["amount_eur"] == "216.85" and report["verified"]["checksums"] is True


def test_an_altered_or_forged_statement_is_refused(delivered, tmp_path):
    home, _ = delivered
    folder = home / "outbox" / "GM0363" / "billing" / "2026-01"
    statement = folder / "billing_statement_GM0363_2026-01.csv"
    statement.write_bytes(statement.read_bytes().replace(b"216.85", b"316.85"))
    refused = _verify_billing(folder)
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    assert "checksum of billing_statement_GM0363_2026-01.csv does not match" in refused.output
    # A manifest rewritten to match, signed by someone else: the signature gives it away.
    february = home / "outbox" / "GM0363" / "billing" / "2026-02"
    (february / "manifest.sig").write_bytes(
        Ed25519PrivateKey.generate().sign((february / "manifest.json").read_bytes()))
    refused = _verify_billing(february)
    assert refused.exit_code == 1 and "does not verify against the hub key" in refused.output
    garbled = tmp_path / "hub.pub"
    garbled.write_bytes(b"\x00" * 31)
    refused = _verify_billing(folder, "--hub-key", str(garbled))
    assert refused.exit_code == 1 and f"{garbled} is 31 bytes" in refused.output


def test_each_municipality_delivery_is_logged_and_shown_with_its_agreements(delivered):
    home, metadata = delivered
    log = home / "audit.jsonl"
    assert verify_log(log) == []
    *entries, checkpoint = read_log(log)
    assert [(e["recipient"], e["billing_month"]) for e in entries] == [
        ("municipality:GM0014", "2026-01"), ("municipality:GM0363", "2025-12"),
        ("municipality:GM0363", "2026-01"), ("municipality:GM0363", "2026-02")]
    assert {e["purpose"] for e in entries} == {"municipal_billing"}
    assert all(e["event"] == "delivery" and e["persons"] == 0 for e in entries)
    # The step ends with a signed checkpoint; each manifest is a witness the log still backs.
    assert checkpoint["event"] == "checkpoint"
    assert metadata["disclosure_log_checkpoint_seq"].value == entries[-1]["seq"]
    assert checkpoint["checkpoint"]["hash"] == entries[-1]["hash"]
    hub_key = load_or_create_signing_key(home / "keys").public_key()
    witnesses = sorted((home / "outbox").glob("*/billing/*/manifest.json"))
    verdict = verify_audit(log, hub_key, witnesses)
    assert len(witnesses) == 4 and verdict.intact and verdict.not_checkpointed == 0
    assert metadata["funding_stream"].value == "municipal"
    assert metadata["agreement_ids"].value == ["MA-GM0014-01", "MA-GM0363-01", "MA-GM0363-02"]
    assert metadata["statements"].value == 4
    assert metadata["amount_cents"].value == sum(line[9] for line in LINES)
    assert metadata["municipalities"].value == 2 and metadata["unchanged"].value == 0


def test_only_the_months_asked_for_are_delivered_and_the_others_are_named(tmp_path):
    _build_mart(tmp_path / "warehouse.duckdb")
    metadata = _deliver(tmp_path, "2026-01", "2026-01")
    delivered = sorted(p.relative_to(tmp_path / "outbox").as_posix()
                       for p in (tmp_path / "outbox").glob("*/billing/*"))
    assert delivered == ["GM0014/billing/2026-01", "GM0363/billing/2026-01"]
    assert metadata["statements"].value == 2
    assert metadata["months_not_delivered"].value == ["2025-12", "2026-02"]


def test_a_past_month_again_is_a_correction_when_changed_and_nothing_when_not(tmp_path):
    _build_mart(tmp_path / "warehouse.duckdb")
    _deliver(tmp_path, "2025-11", "2026-02")
    log = tmp_path / "audit.jsonl"
    first = {(e["recipient"], e["billing_month"]): e for e in read_log(log)
             if e["event"] == "delivery"}
    # Late bookings for January in one municipality: the month is billed again.
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update main.billing_statements set hours_booked = 5.50, "
                    "billable_hours = 5.50, amount_cents = 25108 "
                    "where agreement_id = 'MA-GM0363-01' and billing_month_date = '2026-01-01'")
    again = _deliver(tmp_path, "2026-01", "2026-01")  # a backfill of January
    assert again["statements"].value == 1 and again["unchanged"].value == 1  # GM0014 as it was
    correction = [e for e in read_log(log) if e["event"] == "delivery"][len(first):]
    assert [(e["recipient"], e["billing_month"]) for e in correction] == [
        ("municipality:GM0363", "2026-01")]
    manifest = json.loads(
        (tmp_path / "outbox/GM0363/billing/2026-01/manifest.json").read_text())
    assert manifest["supersedes"] == first[("municipality:GM0363", "2026-01")]["manifest_sha256"]
    assert _statement(tmp_path, "GM0363", "2026-01")["totals"]["amount_cents"] == 25108 + 1142
    assert not list((tmp_path / "outbox").glob("*/billing/*.*"))  # nothing staged or replaced
    # The whole range again: nothing changed, nothing written or logged ...
    entries = len(read_log(log))
    assert _deliver(tmp_path, "2025-11", "2026-02")["statements"].value == 0
    assert len(read_log(log)) == entries
    # ... unless asked to send it all again.
    assert _deliver(tmp_path, "2025-11", "2026-02", redeliver=True)["statements"].value == 4
