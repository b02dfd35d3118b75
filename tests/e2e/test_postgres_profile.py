"""The whole hub on the production profile gives what the embedded default gives.

One synthetic world, run twice with the same keys: `ketenbrug demo` on DuckDB, and
`ketenbrug run` (the production command) on PostgreSQL — warehouse, vault (its own
database and role) and Dagster's storage on the local server, steps on the multiprocess
executor — against the same world's source systems over HTTP. A user moving a hub to
PostgreSQL must get the same mart rows, the same sealed packages (opened) and billing
statements, and the same disclosures on the log (a table of the warehouse database there);
and nothing may fall back to a DuckDB file or a log file on the way.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ketenbrug import run_lock
from ketenbrug.databases import PostgresTarget
from ketenbrug.privacy import open_package, verify_log
from ketenbrug.privacy.disclosure_log import LogLocation, read_log
from ketenbrug.privacy.log_tables import PostgresLines
from ketenbrug.privacy.sealing import load_private_key
from ketenbrug.simulators import WorldServer
from tests.e2e.conftest import CLIENTS, HUB_VARS, SEED, cli, mart_rows
from tests.postgres import ident, postgres_profile_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

MARTS = ("client_profiles", "client_orders", "warm_handover", "volume_monitor",
         "billing_statements", "statutory_priority_guard")
# What differs between two runs by design: when, which run, and hashes over those.
RUN_BOUND = {"at", "seq", "hash", "prev_hash", "run_id", "generated_at", "log_head",
             "manifest_sha256", "package_sha256", "sha256", "signature",
             # a package's content stamp covers how its vault sealed the identities
             "content_sha256",
             "signed_in",  # where checkpoints are kept: beside the file, or in a table
             "hub_key_fingerprint", "supersedes"}  # each hub signs with a key of its own
LANDING_TIMES = {"source_as_of"}  # dataset -> when it landed: the datasets are compared


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory, world):
    """(embedded home, postgres home, postgres env, their outputs) for one world."""
    embedded = tmp_path_factory.mktemp("embedded")
    done = cli(embedded, "demo", "--clients", str(CLIENTS), "--seed", str(SEED))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    production = tmp_path_factory.mktemp("production")
    production.chmod(0o700)
    # The same keys: pseudonyms, person references and sealed-to recipients agree.
    shutil.copytree(embedded / "keys", production / "keys")
    with postgres_profile_env() as env, WorldServer(world) as server:
        for slug, url in server.base_urls.items():
            env[f"KETENBRUG_{slug.upper()}_URL"] = url
            env[f"KETENBRUG_{slug.upper()}_CREDENTIAL"] = server.credentials[slug]
        env["KETENBRUG_AS_OF_DATE"] = world.today.isoformat()
        ran = cli(production, "run", **env)
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        yield embedded, production, env, done.stdout, ran.stdout


def test_the_run_reports_the_same_marts_and_no_duckdb_file_is_made(both_runs):
    embedded, production, _, demo_out, run_out = both_runs
    assert "profile postgres (multiprocess executor)" in run_out
    assert mart_rows(run_out) == mart_rows(demo_out) and set(mart_rows(run_out)) == set(MARTS)
    assert "failed checks: none" in run_out
    assert sorted(p.name for p in production.rglob("*.duckdb*")) == []
    assert (embedded / "warehouse.duckdb").exists()


def test_every_mart_holds_the_same_rows_on_both_engines(both_runs):
    embedded, _, env, _, _ = both_runs
    con = duckdb.connect(str(embedded / "warehouse.duckdb"), read_only=True)
    pg = psycopg2.connect(host=env["KETENBRUG_PG_HOST"], port=env["KETENBRUG_PG_PORT"],
                          dbname=env["KETENBRUG_PG_DBNAME"], user=env["KETENBRUG_PG_USER"])
    try:
        for mart in MARTS:
            on_duckdb = con.execute(f"select * from main.{ident(mart)}")
            columns = [c[0] for c in on_duckdb.description]
            expected = _rows(on_duckdb.fetchall())
            with pg.cursor() as cursor:
                cursor.execute(f"select * from ketenbrug.{ident(mart)}")
                assert [c[0] for c in cursor.description] == columns, mart
                assert _rows(cursor.fetchall()) == expected, mart
            assert expected, f"{mart} is empty: the comparison would prove nothing"
    finally:
        con.close()
        pg.close()


def test_the_same_packages_and_statements_reach_the_same_municipalities(both_runs):
    embedded, production, _, _, _ = both_runs
    expected = _deliveries(embedded)
    assert _deliveries(production) == expected
    assert any(name.endswith(".kbpkg") for _, name in expected)
    assert any(name.endswith(".json") for _, name in expected)


def test_the_disclosure_log_holds_the_same_disclosures_and_is_intact(both_runs):
    embedded, production, env, _, _ = both_runs
    # On PostgreSQL the log is a table of the warehouse database, not a file in the home.
    in_table = PostgresLines(PostgresTarget(
        host=env["KETENBRUG_PG_HOST"], port=int(env["KETENBRUG_PG_PORT"]),
        dbname=env["KETENBRUG_PG_DBNAME"], user=env["KETENBRUG_PG_USER"]))
    assert not (production / "audit" / "disclosures.jsonl").exists()
    in_file = embedded / "audit" / "disclosures.jsonl"
    for log in (in_file, in_table):
        assert verify_log(log) == []
    expected = _disclosures(in_file, embedded)
    assert _disclosures(in_table, production) == expected
    assert sum(n for (event, _), n in expected.items() if event == "delivery") > 0


def _rows(rows: list[tuple]) -> list[tuple]:
    """Rows as comparable values, in one order: numbers as DuckDB and psycopg2 give them
    differ only in type (Decimal and float of the same value)."""
    def plain(value):
        if isinstance(value, decimal.Decimal | float):
            return round(float(value), 9)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    return sorted((tuple(plain(v) for v in row) for row in rows), key=repr)


def _deliveries(home: Path) -> dict[tuple[str, str], object]:
    """What each municipality received: handover packages opened (their files and
    manifest), billing statements and their manifest; run-bound fields left out."""
    keys = home / "keys"
    hub_key = Ed25519PublicKey.from_public_bytes((keys / "hub-signing.pub").read_bytes())
    received: dict[tuple[str, str], object] = {}
    for path in sorted((home / "outbox").rglob("*")):
        if not path.is_file():
            continue
        code, *rest = path.relative_to(home / "outbox").parts
        name = "/".join(rest)  # a package, or billing/<month>/<file>
        if path.suffix == ".kbpkg":
            opened = open_package(path.read_bytes(), recipient_id=code,
                                  recipient_key=load_private_key(keys / "recipients"
                                                                 / f"{code}.key"),
                                  hub_key=hub_key)
            received[code, name] = (_without_run(opened.manifest), opened.files)
        elif path.suffix == ".json":
            received[code, name] = _without_run(json.loads(path.read_text()))
        elif path.suffix == ".sig":  # each hub signs with its own key: checked, not compared
            hub_key.verify(path.read_bytes(), path.with_suffix(".json").read_bytes())
            received[code, name] = "signed by this hub"
        elif path.name == "hub-signing.pub":
            assert path.read_bytes() == (keys / "hub-signing.pub").read_bytes()
            received[code, name] = "this hub's public key"
        else:
            received[code, name] = path.read_bytes()
    return received


def _disclosures(log: LogLocation, home: Path) -> Counter:
    """(event, entry without its run-bound fields) per log entry, counted; the home's
    own path (in a delivery's channel) as `<home>`."""
    entries = (json.loads(json.dumps(e).replace(str(home), "<home>")) for e in read_log(log))
    return Counter((e["event"], json.dumps(_without_run(e), sort_keys=True)) for e in entries)


def _without_run(value):
    if isinstance(value, dict):
        return {k: sorted(v) if k in LANDING_TIMES else _without_run(v)
                for k, v in value.items() if k not in RUN_BOUND}
    if isinstance(value, list):
        return [_without_run(v) for v in value]
    return value


def test_officers_and_auditors_read_while_a_run_writes(both_runs):
    """Last in this module: it runs the hub a second time. While that run holds the hub
    (and writes landing, marts and the log), `status`, `profiles show` and `audit verify`
    answer at once from a snapshot; on DuckDB they would wait and refuse."""
    _, production, env, _, first_run = both_runs
    command = [sys.executable, "-m", "ketenbrug.cli", "run"]
    run_env = {**{k: v for k, v in os.environ.items() if k not in HUB_VARS}, **env,
               "KETENBRUG_HOME": str(production)}
    rerun = subprocess.Popen(command, env=run_env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while run_lock.current_holder(production) is None:
            assert rerun.poll() is None, rerun.stdout.read() if rerun.stdout else ""
            assert time.monotonic() < deadline, "the rerun never took the hub"
            time.sleep(0.2)
        answers = {}
        for args in (("status",), ("profiles", "show", "--org", "RN", "--limit", "3"),
                     ("audit", "verify")):
            answers[args[0]] = cli(production, *args, timeout=120, **env)
        assert run_lock.current_holder(production) is not None, \
            "the run ended before every reader had read: the test proved nothing"
        status = answers["status"]
        assert status.returncode == 0, status.stderr
        assert "is in progress: shown is what it has committed so far" in status.stdout
        assert mart_rows(status.stdout) == mart_rows(first_run)
        profiles = answers["profiles"]
        assert profiles.returncode == 0, profiles.stderr
        assert len([line for line in profiles.stdout.splitlines() if line.startswith("{")]) == 3
        verified = answers["audit"]
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "chain intact" in verified.stdout
        for command_name, done in answers.items():
            assert "try again" not in done.stderr, (command_name, done.stderr)
    finally:
        out, _ = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, out[-3000:]
    # Nothing changed at the sources: on PostgreSQL too, dbt rebuilds no model.
    assert "dbt: no model rebuilt" in out, out[-3000:]
