"""What a municipality and a privacy officer do with what the demo produced."""

from __future__ import annotations

import csv
import getpass
import io
import json
import re
import shutil
from datetime import date, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest

from ketenbrug import warehouse
from ketenbrug.connectors import all_datasets
from ketenbrug.privacy import key_version_of, read_log
from tests.e2e.conftest import CLIENTS, SEED, cli

pytestmark = pytest.mark.e2e


def _a_package(home):
    return sorted((home / "outbox").glob("GM*/*.kbpkg"))[0]


def test_the_municipality_opens_its_package_and_csv_and_parquet_agree(demo_home, tmp_path):
    home, _, _ = demo_home
    package = _a_package(home)
    code = package.parent.name
    done = cli(home, "extract", "open", str(package), "--key",
               str(home / "keys" / "recipients" / f"{code}.key"), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"for {code}" in done.stdout and "checksums match" in done.stdout
    rows = list(csv.DictReader(io.StringIO((tmp_path / "warm_handover.csv").read_text())))
    table = pq.read_table(tmp_path / "warm_handover.parquet").to_pylist()
    assert [r["handover_id"] for r in rows] == [r["handover_id"] for r in table]
    assert (tmp_path / "warm_handover.csv").stat().st_mode & 0o777 == 0o600


def test_the_package_refers_to_persons_in_the_municipalitys_own_domain(demo_home, tmp_path):
    home, _, _ = demo_home
    package = _a_package(home)
    code = package.parent.name
    cli(home, "extract", "open", str(package), "--key",
        str(home / "keys" / "recipients" / f"{code}.key"), "--out", str(tmp_path))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "warm_handover.csv").read_text())))
    ref_of = {}
    for row in rows:  # one reference per person, whichever of their handovers it is on
        assert ref_of.setdefault(row["bsn"], row["person_ref"]) == row["person_ref"]
    assert len(set(ref_of.values())) == len(ref_of)
    assert all(key_version_of(ref) == 1 for ref in ref_of.values())
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        held = {v for (v,) in con.execute(
            "select person_pseudonym from landing.probation__clients union "
            "select domain_pseudonym from privacy.domain_pseudonyms").fetchall()}
    assert held and not held & set(ref_of.values())  # unlinkable to what others hold


def test_an_altered_package_or_another_municipality_is_refused(demo_home, tmp_path):
    home, _, _ = demo_home
    package = _a_package(home)
    other = next(p for p in sorted((home / "keys" / "recipients").glob("GM*.key"))
                 if p.stem != package.parent.name)
    refused = cli(home, "extract", "open", str(package), "--key", str(other),
                  "--out", str(tmp_path / "a"))
    assert refused.returncode == 1 and "not for you" in refused.stderr
    altered = tmp_path / "altered.kbpkg"
    blob = bytearray(package.read_bytes())
    blob[-10] ^= 0xFF
    altered.write_bytes(bytes(blob))
    refused = cli(home, "extract", "open", str(altered), "--key",
                  str(home / "keys" / "recipients" / f"{package.parent.name}.key"),
                  "--out", str(tmp_path / "b"))
    assert refused.returncode == 1 and "altered" in refused.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_second_run_posted_one_package_per_municipality_to_its_endpoint(
        demo_home, recipient_endpoint):
    home, _, _ = demo_home
    outboxed = {p.parent.name for p in (home / "outbox").glob("GM*/*.kbpkg")}
    posted = [recipient for recipient, _ in recipient_endpoint.received.values()]
    assert sorted(posted) == sorted(outboxed)  # each once, each to its own inbox


def test_audit_verify_passes_and_names_a_tampered_entry(demo_home, tmp_path):
    home, _, _ = demo_home
    ok = cli(home, "audit", "verify")
    assert ok.returncode == 0 and "chain intact" in ok.stdout
    copy = tmp_path / "hub"
    shutil.copytree(home / "audit", copy / "audit")
    log = copy / "audit" / "disclosures.jsonl"
    lines = log.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["persons"] += 1
    lines[2] = json.dumps(entry, sort_keys=True)
    log.write_text("\n".join(lines) + "\n")
    broken = cli(copy, "audit", "verify")
    assert broken.returncode == 1 and "line 3: entry content does not match" in broken.stderr


def _delivered_person(home, world):
    package = _a_package(home)
    code = package.parent.name
    opened = cli(home, "extract", "open", str(package), "--key",
                 str(home / "keys" / "recipients" / f"{code}.key"),
                 "--out", str(home.parent / "opened"))
    assert opened.returncode == 0
    row = next(csv.DictReader(io.StringIO(
        (home.parent / "opened" / "warm_handover.csv").read_text())))
    return code, next(p for p in world.persons if p["bsn"] == row["bsn"])


def test_subject_access_finds_the_person_and_every_disclosure_and_nobody_else(demo_home, world):
    home, _, _ = demo_home
    code, person = _delivered_person(home, world)
    done = cli(home, "audit", "subject", "--bsn", person["bsn"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    held = {(h["field"], h["value"]) for h in report["identity_held"]}
    assert ("surname", person["surname"]) in held and ("bsn", person["bsn"]) in held
    assert report["records"], "the landed records of this person"
    recipients = {d["recipient"] for d in report["disclosures"] if d["event"] == "delivery"}
    assert recipients == {f"municipality:{code}"}
    others = [p["bsn"] for p in world.persons if p["bsn"] != person["bsn"]]
    assert not any(bsn in done.stdout for bsn in others)
    entry = _last_disclosure(home)
    assert entry["event"] == "subject_access"
    # the person who asked, not a role name standing in for them
    assert entry["actor"] == {"subject": getpass.getuser(), "role": "privacy_officer",
                              "organisation": "hub", "via": "cli"}


def test_a_profile_read_shows_only_own_clients_and_is_logged(demo_home):
    home, _, _ = demo_home
    done = cli(home, "profiles", "show", "--org", "SVG", "--limit", "5")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows and {r["organisation"] for r in rows} == {"SVG"}
    entry = _last_disclosure(home)
    assert (entry["event"], entry["recipient"], entry["persons"]) == (
        "profile_read", "probation_organisation:SVG", len(rows))
    assert entry["actor"] == {"subject": getpass.getuser(), "role": "probation_officer",
                              "organisation": "SVG", "via": "cli"}
    # signed at once: the read cannot be cut from the log before the next run
    verified = cli(home, "audit", "verify")
    assert verified.returncode == 0 and "not yet checkpointed: 0 entries" in verified.stdout


def test_as_names_the_person_reading_and_a_run_names_who_started_it(demo_home):
    home, _, _ = demo_home
    done = cli(home, "--as", "k.de.vries", "profiles", "show", "--org", "RN", "--limit", "1")
    assert done.returncode == 0, done.stderr
    assert _last_disclosure(home)["actor"] == {
        "subject": "k.de.vries", "role": "probation_officer", "organisation": "RN",
        "via": "cli"}
    assert cli(home, "--as", " ", "status").returncode == 2  # names nobody: refused
    deliveries = [e for e in read_log(home / "audit" / "disclosures.jsonl")
                  if e.get("event") == "delivery"]
    assert deliveries and {tuple(sorted(e["actor"].items())) for e in deliveries} == {
        (("organisation", "hub"), ("role", "pipeline_run"), ("subject", getpass.getuser()),
         ("via", "pipeline"))}


def test_after_a_key_rotation_an_officer_still_finds_a_client_by_the_old_pseudonym(
        demo_home, tmp_path):
    home, _, _ = demo_home
    copy = tmp_path / "hub"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("dagster_home"))
    before = json.loads(cli(copy, "profiles", "show", "--org", "RN", "--limit", "1").stdout)
    assert cli(copy, "keys", "rotate").returncode == 0
    rebuilt = cli(copy, "demo", "--clients", str(CLIENTS), "--seed", str(SEED))
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert "no model rebuilt" not in rebuilt.stdout  # new pseudonyms are new inputs

    done = cli(copy, "profiles", "show", "--org", "RN", "--client", before["client_pseudonym"])
    assert done.returncode == 0, done.stderr
    (after,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert key_version_of(after.pop("client_pseudonym")) == 2
    assert "predates a key rotation" in done.stderr
    assert after == {k: v for k, v in before.items() if k != "client_pseudonym"}

    elsewhere = cli(copy, "profiles", "show", "--org", "SVG", "--client",
                    before["client_pseudonym"])
    assert elsewhere.returncode == 1 and "never the pseudonym of a client of SVG" in (
        elsewhere.stderr)


def test_retention_removes_exactly_what_is_due(demo_home, tmp_path):
    home, _, _ = demo_home
    copy = tmp_path / "hub"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("dagster_home"))
    as_of = date.today() + timedelta(days=210)  # seven months on: six-month-old releases due
    with duckdb.connect(str(copy / "warehouse.duckdb"), read_only=True) as con:
        due = {k for (k,) in con.execute(
            "select _record_key from landing.dji__detentions where "
            "try_cast(actual_release_date as date) < ?",
            [as_of - timedelta(days=30 * 6 + 3)]).fetchall()}
        kept = {k for (k,) in con.execute(
            "select _record_key from landing.dji__detentions where actual_release_date is null "
            "or try_cast(actual_release_date as date) >= ?",
            [as_of - timedelta(days=30 * 6 - 3)]).fetchall()}
    done = cli(copy, "retention", "apply", "--as-of", as_of.isoformat(), "--yes")
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(copy / "warehouse.duckdb"), read_only=True) as con:
        left = {k for (k,) in con.execute("select _record_key from landing.dji__detentions")
                .fetchall()}
    assert due and not (left & due) and kept <= left
    entry = _last_disclosure(copy)
    assert entry["event"] == "retention"
    assert entry["records_removed"]["dji.detentions"] >= len(due)
    assert entry["packages_removed"] == len(list((home / "outbox").glob("*/*.kbpkg")))


def test_retention_keeps_the_books_and_the_next_run_passes(demo_home, tmp_path):
    home, _, _ = demo_home
    copy = tmp_path / "hub"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("dagster_home"))
    as_of = (date.today() + timedelta(days=300)).isoformat()
    planned = cli(copy, "retention", "plan", "--as-of", as_of)
    assert planned.returncode == 0, planned.stderr
    assert _last_disclosure(copy)["event"] != "retention"
    applied = cli(copy, "retention", "apply", "--as-of", as_of, "--yes")
    assert applied.returncode == 0, applied.stderr
    counts = dict(re.findall(r"^\s+(\w+\.\w+)\s+(\d+) record\(s\)", planned.stdout, re.M))
    assert counts == dict(re.findall(r"^\s+(\w+\.\w+)\s+(\d+) record\(s\) removed",
                                     applied.stdout, re.M))
    assert int(counts["dji.detentions"]) > 0
    with warehouse.connect(copy / "warehouse.duckdb", read_only=True) as con:
        for manifest in all_datasets():
            assert warehouse.unbalanced_batches(con, manifest, judged=True) == []
        booked = dict(con.execute("select source || '.' || dataset, sum(removed) "
                                  "from landing._batches group by 1").fetchall())
    # Every version of a removed record is booked as removed against its own batch.
    assert {k for k, v in booked.items() if v} == {k for k, v in counts.items() if v != "0"}
    assert all(booked[k] >= int(v) for k, v in counts.items() if v != "0")
    rerun = cli(copy, "demo", "--clients", str(CLIENTS), "--seed", str(SEED))
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert "failed checks: none" in rerun.stdout
    assert "no model rebuilt" not in rerun.stdout  # the removed rows leave the marts too


def _last_disclosure(home):
    """The newest entry that is not the mark of a signed checkpoint."""
    return [e for e in read_log(home / "audit" / "disclosures.jsonl")
            if e["event"] != "checkpoint"][-1]
