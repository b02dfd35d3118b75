"""The readers on a PostgreSQL warehouse answer as they do on DuckDB.

A small world is landed the way the hub lands it (the Dagster landing assets with their
contract checks, the domain pseudonyms: benchmarks/dbt_build.py `land`) and built by dbt
on DuckDB; its landing and privacy tables are copied into a fresh PostgreSQL database
and `dbt build --target postgres` builds the marts there, in a schema of their own
(KETENBRUG_PG_SCHEMA, here not the default, so a reader that names `main` fails). Then
each reader runs on both warehouses and must give the same answer: the officer's profile
read, subject access, the warm-handover packages and the billing statements. The vault
and keys stay the landed home's DuckDB file (the vault's PostgreSQL port is tested on its
own). The leak scan must find an identity planted in a PostgreSQL table, and key rotation
relinks pseudonyms there.

Without a reachable server the tests are skipped with the reason, except under CI=true,
where a missing server is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ketenbrug import warehouse
from ketenbrug.config import Settings
from ketenbrug.databases import PostgresTarget, Target
from ketenbrug.privacy import IdentityVault, KeyStore, open_package, read_log
from ketenbrug.project_files import DBT_PROJECT_DIR as DBT_DIR
from tests.postgres import copy_duckdb_tables

ROOT = Path(__file__).resolve().parents[2]  # the checkout: benchmarks/ live there
CLIENTS, SEED = 300, 20261129  # the demo's default world
MARTS_SCHEMA = "kb_marts"  # not profiles.yml's default: the readers must follow the setting

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Hub:
    home: Path
    duck: Path  # the landed DuckDB warehouse, built by dbt on DuckDB
    pg: PostgresTarget  # the same landing and privacy tables, built by dbt on PostgreSQL
    vault: Path
    keys_dir: Path
    as_of: str


def _dbt(args: list[str], env: dict[str, str], target: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(DBT_DIR),
         "--profiles-dir", str(DBT_DIR), "--target-path", str(target),
         "--log-path", str(target / "logs")],
        env={**os.environ, **env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _copy_landed_tables(duck: Path, pg: PostgresTarget, tmp: Path) -> None:
    """Every table of the DuckDB `landing` and `privacy` schemas, into the same schemas."""
    import psycopg2

    target = psycopg2.connect(**pg.connect_kwargs())
    target.autocommit = True
    try:
        with target.cursor() as cursor:
            cursor.execute("create schema landing; create schema privacy")
            copy_duckdb_tables(duck, cursor, {"landing": "landing", "privacy": "privacy"}, tmp)
    finally:
        target.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    from tests.postgres import scratch_database

    home = tmp_path_factory.mktemp("hub")
    with scratch_database() as pg:
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "dbt_build.py"), "land",
             "--home", str(home), "--clients", str(CLIENTS), "--seed", str(SEED)],
            capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-3000:]
        landed = json.loads(done.stdout.strip().splitlines()[-1])
        duck, as_of = Path(landed["warehouse"]), landed["as_of"]
        _copy_landed_tables(duck, pg, tmp_path_factory.mktemp("copy"))
        run_vars = json.dumps({"as_of_date": as_of})
        _dbt(["build", "--vars", run_vars], {"KETENBRUG_WAREHOUSE": str(duck)},
             home / "dbt_target")
        _dbt(["build", "--target", "postgres", "--vars", run_vars],
             {"KETENBRUG_PG_HOST": pg.host, "KETENBRUG_PG_PORT": str(pg.port),
              "KETENBRUG_PG_USER": pg.user, "KETENBRUG_PG_PASSWORD": pg.password,
              "KETENBRUG_PG_DBNAME": pg.dbname, "KETENBRUG_PG_SCHEMA": MARTS_SCHEMA},
             home / "dbt_target_pg")
        yield Hub(home=home, duck=duck, pg=pg, vault=home / "vault.duckdb",
                  keys_dir=home / "keys", as_of=as_of)


def _settings(monkeypatch, hub: Hub, warehouse_target: Target, log: Path) -> Settings:
    """The hub's settings with `warehouse_target` as its warehouse (the vault its file)."""
    monkeypatch.setenv("KETENBRUG_HOME", str(hub.home))
    monkeypatch.setenv("KETENBRUG_KEYS_DIR", str(hub.keys_dir))
    monkeypatch.setenv("KETENBRUG_DISCLOSURE_LOG", str(log))
    monkeypatch.setenv("KETENBRUG_PG_SCHEMA", MARTS_SCHEMA)
    monkeypatch.setattr(Settings, "warehouse", property(lambda _: warehouse_target))
    monkeypatch.setattr(Settings, "vault", property(lambda _: hub.vault))
    return Settings.from_env()


def test_an_officers_profile_read_on_postgres_is_the_one_on_duckdb(hub, monkeypatch, tmp_path):
    from ketenbrug.delivery.profile_reads import read_profiles

    answers = {}
    for engine, target in (("duckdb", hub.duck), ("postgres", hub.pg)):
        settings = _settings(monkeypatch, hub, target, tmp_path / f"{engine}.jsonl")
        answers[engine] = read_profiles(settings, "RN", limit=500)
        (read, _mark) = read_log(settings.disclosure_log)[-2:]
        assert (read["event"], read["persons"]) == ("profile_read", len(answers[engine]))
    assert answers["postgres"], "RN has clients in a 300-client world"
    assert {r["organisation"] for r in answers["postgres"]} == {"RN"}
    assert answers["postgres"] == answers["duckdb"]  # value for value, types included


def test_an_officer_asking_for_one_client_on_postgres_gets_that_client(hub, monkeypatch,
                                                                      tmp_path):
    from ketenbrug.delivery.profile_reads import read_profiles

    settings = _settings(monkeypatch, hub, hub.pg, tmp_path / "log.jsonl")
    some = read_profiles(settings, "SVG", limit=3)
    (one,) = read_profiles(settings, "SVG", some[-1]["client_pseudonym"])
    assert one["client_pseudonym"] == some[-1]["client_pseudonym"]


def _probation_client_bsn(hub: Hub) -> str:
    """A BSN of a probation client of the world that was landed (never printed)."""
    from ketenbrug.privacy import is_valid_bsn
    from ketenbrug.simulators import generate_world

    world = generate_world(clients=CLIENTS, seed=SEED, today=date.fromisoformat(hub.as_of))
    return next(c["bsn"] for c in world.probation_clients if is_valid_bsn(str(c["bsn"])))


def test_subject_access_on_postgres_finds_what_it_finds_on_duckdb(hub, monkeypatch, tmp_path):
    from ketenbrug.audit.subject_access import subject_report

    bsn = _probation_client_bsn(hub)
    reports = {}
    for engine, target in (("duckdb", hub.duck), ("postgres", hub.pg)):
        settings = _settings(monkeypatch, hub, target, tmp_path / f"{engine}.jsonl")
        reports[engine] = subject_report(bsn, settings)
    found = reports["postgres"]
    assert "landing.probation__clients" in found["records"]
    assert "privacy.domain_pseudonyms" in found["records"]
    assert found["profiles"], "a probation client has a profile"
    # the same tables, the marts under the schema each engine builds them in
    held = {engine: {re.sub(rf"^({MARTS_SCHEMA}|main)\.", "marts.", table): len(rows)
                     for table, rows in report["records"].items()}
            for engine, report in reports.items()}
    # On PostgreSQL the staging models are tables (dbt_project.yml): they hold the
    # person's latest records too, and the report says so; on DuckDB they are views.
    staging = {table: rows for table, rows in held["postgres"].items()
               if table.startswith("marts.stg_")}
    assert staging and all(rows >= 1 for rows in staging.values())
    assert {t: r for t, r in held["postgres"].items() if t not in staging} == held["duckdb"]
    assert found["profiles"] == reports["duckdb"]["profiles"]
    assert found["pseudonyms"] == reports["duckdb"]["pseudonyms"]


def _deliver(hub: Hub, target: Target, out: Path):
    from ketenbrug.delivery.handover import deliver_handover_packages

    keys = KeyStore(hub.keys_dir)
    return deliver_handover_packages(
        warehouse=target, keys_dir=hub.keys_dir, keyring=keys.current(),
        vault=IdentityVault(hub.vault, keys), disclosure_log=out / "log.jsonl",
        outbox=out / "outbox", delivery_url="", as_of=hub.as_of, run_id=f"run-{out.name}")


def test_handover_packages_from_postgres_hold_what_duckdb_delivers(hub, tmp_path, monkeypatch):
    from ketenbrug.privacy.sealing import load_or_create_recipient_key

    monkeypatch.setenv("KETENBRUG_PG_SCHEMA", MARTS_SCHEMA)
    outcomes = {engine: _deliver(hub, target, tmp_path / engine)
                for engine, target in (("duckdb", hub.duck), ("postgres", hub.pg))}
    delivered = outcomes["postgres"].delivered
    assert delivered and sum(delivered.values()) > 0
    assert delivered == outcomes["duckdb"].delivered
    assert outcomes["postgres"].source_as_of == outcomes["duckdb"].source_as_of
    code = sorted(delivered)[0]
    hub_key = Ed25519PublicKey.from_public_bytes(
        (hub.keys_dir / "hub-signing.pub").read_bytes())
    csv = {}
    for engine in outcomes:
        (package,) = (tmp_path / engine / "outbox" / code).glob("*.kbpkg")
        opened = open_package(package.read_bytes(), recipient_id=code,
                              recipient_key=load_or_create_recipient_key(hub.keys_dir, code),
                              hub_key=hub_key)
        assert opened.manifest["row_count"] == delivered[code]
        csv[engine] = opened.files["warm_handover.csv"]
    assert csv["postgres"] == csv["duckdb"]  # the same people, re-identified the same way
    header, first = csv["postgres"].decode("utf-8").splitlines()[:2]
    assert header.startswith("bsn,given_name,surname,birth_date,person_ref,handover_id")
    assert not first.startswith(",")  # identities came out of the vault


def test_a_changed_identity_redelivers_only_its_municipalitys_package(hub, tmp_path,
                                                                      monkeypatch):
    """Deliveries only when something changed, on both engines: a second delivery of the
    same marts seals nothing; after one person's surname changes in the vault, exactly the
    package of that person's municipality is delivered again, holding the new name."""
    from ketenbrug.delivery.handover import deliver_handover_packages
    from ketenbrug.privacy import IdentityRecord
    from ketenbrug.privacy.sealing import load_or_create_recipient_key

    monkeypatch.setenv("KETENBRUG_PG_SCHEMA", MARTS_SCHEMA)
    keys = KeyStore(hub.keys_dir)
    vault_file = tmp_path / "vault.duckdb"  # a copy: the module's vault stays as landed
    shutil.copy2(hub.vault, vault_file)
    vault = IdentityVault(vault_file, keys)
    targets = {"duckdb": hub.duck, "postgres": hub.pg}

    def deliver(engine: str):
        return deliver_handover_packages(
            warehouse=targets[engine], keys_dir=hub.keys_dir, keyring=keys.current(),
            vault=vault, disclosure_log=tmp_path / engine / "log.jsonl",
            outbox=tmp_path / engine / "outbox", delivery_url="", as_of=hub.as_of,
            run_id="run")

    first = {engine: deliver(engine).delivered for engine in targets}
    assert first["duckdb"] and first["postgres"] == first["duckdb"]
    for engine in targets:
        again = deliver(engine)
        assert again.delivered == {} and sorted(again.unchanged) == sorted(first[engine])

    with warehouse.connect(hub.duck, read_only=True) as con:
        code, person = con.execute(
            "select municipality_code, person_pseudonym from main.warm_handover "
            "where handover_route = 'probation' order by 1, 2 limit 1").fetchone()
    # "dji": the source re-identification prefers, so the package shows the new name
    vault.store([IdentityRecord(person, "dji", {"surname": "Verandering"})])
    hub_key = Ed25519PublicKey.from_public_bytes((hub.keys_dir / "hub-signing.pub").read_bytes())
    for engine in targets:
        changed = deliver(engine)
        assert set(changed.delivered) == {code}, engine
        assert sorted(changed.unchanged) == sorted(set(first[engine]) - {code})
        (package,) = (tmp_path / engine / "outbox" / code).glob("*.kbpkg")
        opened = open_package(package.read_bytes(), recipient_id=code,
                              recipient_key=load_or_create_recipient_key(hub.keys_dir, code),
                              hub_key=hub_key)
        assert b"Verandering" in opened.files["warm_handover.csv"]


def test_billing_statements_from_postgres_are_the_ones_from_duckdb(hub, tmp_path, monkeypatch):
    from ketenbrug.delivery.billing import deliver_billing_statements
    from ketenbrug.pipelines.partitions import billing_months

    monkeypatch.setenv("KETENBRUG_PG_SCHEMA", MARTS_SCHEMA)
    months = billing_months("2024-01").get_partition_keys()
    delivered, files = {}, {}
    for engine, target in (("duckdb", hub.duck), ("postgres", hub.pg)):
        outbox = tmp_path / engine / "outbox"
        delivered[engine] = deliver_billing_statements(
            warehouse=target, outbox=outbox, disclosure_log=tmp_path / engine / "log.jsonl",
            keys_dir=tmp_path / engine / "keys", as_of=hub.as_of, run_id="run", months=months)
        files[engine] = {p.relative_to(outbox).as_posix(): p.read_bytes()
                         for p in sorted(outbox.rglob("*.csv"))}
    assert delivered["postgres"] and delivered["postgres"] == delivered["duckdb"]
    assert files["postgres"] and files["postgres"] == files["duckdb"]


def test_the_leak_scan_finds_an_identity_planted_in_a_postgres_table(hub):
    from ketenbrug.privacy.leak_scan import TruthIndex, scan_warehouse
    from ketenbrug.simulators import generate_world

    world = generate_world(clients=CLIENTS, seed=SEED, today=date.fromisoformat(hub.as_of))
    truth = TruthIndex(world.persons)
    assert scan_warehouse(hub.pg, truth) == []  # the warehouse the hub built holds none
    bsn = _probation_client_bsn(hub)
    try:
        with warehouse.connect(hub.pg) as con:
            # character varying, in a schema of its own: not only `text` in known schemas
            con.execute("create schema scratch_notes; create table scratch_notes.remarks "
                        "(remark_id integer, remark varchar(200))")
            con.execute("insert into scratch_notes.remarks values (1, ?)",
                        [f"called back about {bsn}"])
        hits = scan_warehouse(hub.pg, truth)
    finally:
        with warehouse.connect(hub.pg) as con:
            con.execute("drop schema if exists scratch_notes cascade")
    assert [(h.place, h.kind, h.count) for h in hits] == [
        ("warehouse scratch_notes.remarks.remark", "bsn", 1)]
    assert all(bsn not in h.describe() for h in hits)


def test_key_rotation_relinks_a_postgres_warehouse(pg_database, tmp_path):
    from ketenbrug.privacy import INTERNAL_DOMAIN, Pseudonymiser, linkage_basis
    from ketenbrug.privacy.rotation import relink_warehouse, warehouse_key_versions

    keys = KeyStore(tmp_path / "keys")
    keys.init()
    old = Pseudonymiser(keys.current(), INTERNAL_DOMAIN)
    bases = [b[1] for b in (linkage_basis({"bsn": n}) for n in ("111222333", "123456782"))
             if b is not None]
    before = old.pseudonyms(bases)
    with warehouse.connect(pg_database) as con:
        con.execute("create schema landing; create table landing.dji__detentions "
                    "(person_pseudonym text, detention_id text)")
        con.executemany("insert into landing.dji__detentions values (?, ?)",
                        [[p, f"d{i}"] for i, p in enumerate(before)])
    assert warehouse_key_versions(pg_database) == [1]
    new = Pseudonymiser(keys.rotate(), INTERNAL_DOMAIN).pseudonyms(bases)
    lineage = dict(zip(before, new, strict=True))
    assert relink_warehouse(pg_database, lineage, keys) == {"landing.dji__detentions": 2}
    assert relink_warehouse(pg_database, lineage, keys) == {"landing.dji__detentions": 0}
    assert warehouse_key_versions(pg_database) == [2]
    with warehouse.connect(pg_database, read_only=True) as con:
        rows = con.execute("select person_pseudonym from landing.dji__detentions "
                           "order by detention_id").fetchall()
    assert [p for (p,) in rows] == new
