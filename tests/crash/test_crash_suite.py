"""Killed at each step boundary, then run again: nothing lost, nothing twice, no silent success.

Each case sends SIGKILL to the demo's process group at a named failpoint
(ketenbrug/failpoints.py), reruns the demo, and checks what a steward, a municipality and
a privacy officer would: the marts equal a clean run's, every batch has its verdict and
balances, no landed row lacks its batch, every package opens and has its delivery entry,
and the disclosure log verifies.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dagster import DagsterInstance, DagsterRunStatus

from ketenbrug import warehouse
from ketenbrug.connectors import all_datasets
from ketenbrug.privacy import open_package, read_log, verify_log
from ketenbrug.privacy.sealing import load_private_key
from tests.crash.conftest import cli, demo, killed, marts

pytestmark = pytest.mark.crash

# (failpoint, what it interrupts)
KILL_POINTS = [
    ("landing:rows@3", "inside landing: rows written, ledger row not yet"),
    ("check:verdict@2", "between landing and the contract's verdict"),
    ("dbt:build", "during the dbt build"),
    ("delivery:staged@4", "a package staged, its delivery not yet logged"),
    ("delivery:logged@4", "a delivery logged, its package not yet in place"),
    ("billing:logged@3", "a billing delivery logged, its statements not yet swapped in"),
]


def _assert_books_balance(home: Path) -> None:
    with warehouse.connect(home / "warehouse.duckdb", read_only=True) as con:
        for manifest in all_datasets():
            assert warehouse.pending_batches(con, manifest) == [], manifest.table
            assert warehouse.unbalanced_batches(con, manifest, judged=True) == [], \
                manifest.table


def _assert_every_package_delivered_once(home: Path) -> None:
    log = home / "audit" / "disclosures.jsonl"
    assert verify_log(log) == []
    delivered = [e for e in read_log(log) if e["event"] == "delivery" and "package" in e]
    packages = sorted((home / "outbox").glob("*/*.kbpkg"))
    assert not list((home / "outbox").glob("*/*.partial"))
    hub_key = Ed25519PublicKey.from_public_bytes((home / "keys/hub-signing.pub").read_bytes())
    logged = {e["channel"] for e in delivered}
    billed = {e["manifest_sha256"] for e in read_log(log) if e.get("manifest_sha256")}
    assert not list((home / "outbox").glob("*/billing/*.*"))  # no staged or replaced folder
    assert list((home / "outbox").glob("*/billing/*/manifest.json"))
    for manifest in (home / "outbox").glob("*/billing/*/manifest.json"):
        assert hashlib.sha256(manifest.read_bytes()).hexdigest() in billed, manifest
        listed = {f["file"] for f in json.loads(manifest.read_text())["files"]}
        # the statement's files, its manifest and the hub's signature over it
        assert listed | {"manifest.json", "manifest.sig"} == \
            {p.name for p in manifest.parent.iterdir()}
    for package in packages:
        assert str(package) in logged, f"{package} has no delivery entry"
        key = load_private_key(home / "keys" / "recipients" / f"{package.parent.name}.key")
        opened = open_package(package.read_bytes(), recipient_id=package.parent.name,
                              recipient_key=key, hub_key=hub_key)
        assert opened.manifest["purpose"] == "warm_handover"


def test_a_clean_run_balances_and_delivers(reference):
    _assert_books_balance(reference)
    _assert_every_package_delivered_once(reference)
    assert len(list((reference / "outbox").glob("*/*.kbpkg"))) > 10


@pytest.mark.parametrize(("point", "what"), KILL_POINTS, ids=[p for p, _ in KILL_POINTS])
def test_killed_then_rerun_equals_a_clean_run(crash_home, reference, point, what):
    crashed = demo(crash_home, point)
    assert killed(crashed), f"not killed at {point} ({what}): {crashed.stderr[-1500:]}"
    rerun = demo(crash_home)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert "failed checks: none" in rerun.stdout
    # A build killed half-way stands for nothing: the rerun builds, over the same inputs;
    # one that succeeded before the kill stands, and the rerun builds nothing.
    built_before_the_kill = point.split(":")[0] in ("delivery", "billing")
    assert ("no model rebuilt" in rerun.stdout) == built_before_the_kill, rerun.stdout
    assert marts(crash_home) == marts(reference)
    _assert_books_balance(crash_home)
    _assert_every_package_delivered_once(crash_home)
    # The killed run is not left STARTED for ever: the rerun marked it failed. Newest
    # first: the rerun's hub and billing runs, then the killed demo's (its hub run, and its
    # billing run when the kill came there).
    with DagsterInstance.from_config(str(crash_home / "dagster_home")) as instance:
        runs = [(run.job_name, run.status) for run in instance.get_runs()]
    success, failure = DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE
    killed_runs = [("billing", failure), ("hub", success)] if point.startswith("billing") \
        else [("hub", failure)]
    assert runs == [("billing", success), ("hub", success), *killed_runs]
    reference_packages = {p.relative_to(reference) for p in reference.glob("outbox/*/*.kbpkg")}
    assert {p.relative_to(crash_home) for p in crash_home.glob("outbox/*/*.kbpkg")} \
        == reference_packages


def test_rebuild_builds_every_model_over_unchanged_inputs(crash_home, reference):
    assert demo(crash_home).returncode == 0
    with duckdb.connect(str(crash_home / "warehouse.duckdb")) as con:
        con.execute("delete from main.warm_handover")  # what only a build puts back
    skipped = demo(crash_home)
    assert skipped.returncode == 0 and "no model rebuilt" in skipped.stdout
    rebuilt = demo(crash_home, None, "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout[-2000:] + rebuilt.stderr[-2000:]
    assert "no model rebuilt" not in rebuilt.stdout and "failed checks: none" in rebuilt.stdout
    assert marts(crash_home) == marts(reference)


def _persons_in_vault(home: Path) -> int:
    with duckdb.connect(str(home / "vault.duckdb"), read_only=True) as con:
        (count,) = con.execute(
            "select count(distinct person_pseudonym) from identity_fields").fetchone()
    return count


def test_a_rotation_killed_between_vault_and_warehouse_is_finished_not_repeated(
        crash_home, reference):
    assert demo(crash_home).returncode == 0
    persons = _persons_in_vault(crash_home)
    assert killed(cli(crash_home, "keys", "rotate", failpoint="rotation:resealed"))

    status = cli(crash_home, "keys", "status")
    assert status.returncode == 1
    assert "an interrupted rotation (current key v2, vault under v2, warehouse under v1)" \
        in status.stderr and "relink the warehouse" in status.stderr
    # Nothing that re-identifies, delivers or removes runs on half-rotated linkage.
    refused = demo(crash_home)
    assert refused.returncode == 1 and "key rotation was interrupted" in refused.stderr
    retention = cli(crash_home, "retention", "apply", "--as-of", "2030-01-01", "--yes")
    assert retention.returncode == 1 and "key rotation was interrupted" in retention.stderr
    assert _persons_in_vault(crash_home) == persons

    finished = cli(crash_home, "keys", "rotate")
    assert finished.returncode == 0, finished.stderr
    assert "rotated v1 -> v2" in finished.stdout
    assert cli(crash_home, "keys", "status").returncode == 0
    assert sorted(p.name for p in (crash_home / "keys").glob("master-v*")) == \
        sorted(p.name for p in (crash_home / "keys").glob("master-v[12]*"))
    rerun = demo(crash_home)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert "failed checks: none" in rerun.stdout
    assert _persons_in_vault(crash_home) == persons
    _assert_books_balance(crash_home)
    _assert_every_package_delivered_once(crash_home)
    assert {t: len(rows) for t, rows in marts(crash_home).items()} == \
        {t: len(rows) for t, rows in marts(reference).items()}


def test_retention_killed_midway_removes_nothing_then_keeps_the_books(crash_home):
    assert demo(crash_home).returncode == 0
    with warehouse.connect(crash_home / "warehouse.duckdb", read_only=True) as con:
        before = con.execute("select count(*) from landing.dji__detentions").fetchone()
    assert killed(cli(crash_home, "retention", "apply", "--as-of", "2030-01-01", "--yes",
                      failpoint="retention:warehouse"))
    with warehouse.connect(crash_home / "warehouse.duckdb", read_only=True) as con:
        assert con.execute("select count(*) from landing.dji__detentions").fetchone() == before
    _assert_books_balance(crash_home)
    done = cli(crash_home, "retention", "apply", "--as-of", "2030-01-01", "--yes")
    assert done.returncode == 0, done.stderr
    _assert_books_balance(crash_home)
    rerun = demo(crash_home)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert "failed checks: none" in rerun.stdout
