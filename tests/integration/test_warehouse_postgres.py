"""The warehouse room on PostgreSQL as on DuckDB: the same batches land, are judged the
same, and balance the same books; the steward's quarantine and retention work on both;
and a reader on PostgreSQL reads one snapshot without blocking a run's writer.

The Dagster landing assets and their checks run against a PostgreSQL warehouse through
HubStorage's `warehouse_url` (the vault stays a DuckDB file here: its port is tested on
its own). PostgreSQL tests skip without a server, and fail under CI=true (tests/postgres.py).
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from dagster import materialize

from ketenbrug import warehouse
from ketenbrug.connectors import all_datasets, load_manifest
from ketenbrug.contracts.odcs import Contract, load_contract
from ketenbrug.databases import PostgresTarget, Target, is_postgres, open_postgres
from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.assets.pseudonym_domains import domain_pseudonyms
from ketenbrug.pipelines.checks.landing_checks import LANDING_CHECKS
from ketenbrug.pipelines.resources import HubStorage, SourceSystem
from ketenbrug.simulators import generate_world
from ketenbrug.stewardship import quarantine, retention
from ketenbrug.stewardship.status import collect_status
from ketenbrug.warehouse import landing
from ketenbrug.warehouse.schema import BATCHES, CURSORS, REJECTIONS, BatchStatus
from tests.postgres import scratch_database

pytestmark = pytest.mark.postgres

CLIENTS = load_manifest("probation")["clients"]
DETENTIONS = load_manifest("dji")["detentions"]
BAD_DETENTION = 1  # its prison code breaks the contract's pattern: that batch is quarantined
# Data faults the simulator serves on the first pull, each tripping another kind of rule
# (a date's format, an instant not in the future, the eleven-test on a boolean column,
# formula-safe text, fields gone missing) or a rejection (the same version twice).
FAULTS = ("dji.detentions:drift_type=2,probation.orders:future_date=2,"
          "care.episodes:invalid_bsn=2,municipal_orders.bookings:csv_formula=2,"
          "wijkteam.involvements:drift_missing=2,probation.clients:duplicate=2")


@pytest.fixture(scope="module")
def world():
    world = generate_world(clients=150, seed=23)
    world.detentions[BAD_DETENTION]["prison_code"] = "pi nowhere"
    return world


@pytest.fixture(params=["duckdb", "postgres"])
def target(request, tmp_path) -> Target:
    """The warehouse of one test: a DuckDB file, or a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return tmp_path / "warehouse.duckdb"
    return request.getfixturevalue("pg_database")


def _hub(home: Path, target: Target) -> HubStorage:
    """A hub in `home` whose warehouse is `target`; its vault is a DuckDB file in `home`."""
    on_postgres = ({"warehouse_url": target.url, "warehouse_password": target.password}
                   if isinstance(target, PostgresTarget) else {})
    return HubStorage(warehouse_path=str(home / "warehouse.duckdb"),
                      vault_path=str(home / "vault.duckdb"), keys_dir=str(home / "keys"),
                      outbox_dir=str(home / "outbox"), disclosure_log=str(home / "audit.jsonl"),
                      **on_postgres)


def _materialise(hub: HubStorage, source_systems, assets=None):
    return materialize(assets or [*LANDING_ASSETS, *LANDING_CHECKS, domain_pseudonyms],
                       resources={"hub": hub, **source_systems}, raise_on_error=False)


def _ledger(target: Target) -> dict[tuple[str, str], list[tuple]]:
    """Per dataset, its batches oldest first: what a batch became, never when or its id."""
    ledger: dict[tuple[str, str], list[tuple]] = {}
    with warehouse.connect(target, read_only=True) as con:
        for row in con.execute(
                "select source, dataset, status, verdict, received, staged, quarantined, "
                f"unchanged, rejected, removed from {BATCHES} "
                "order by received_at, batch_id").fetchall():
            ledger.setdefault((row[0], row[1]), []).append(tuple(row[2:]))
    return ledger


def _count(target: Target, sql: str, params=None):
    with warehouse.connect(target, read_only=True) as con:
        row = con.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def landed(server, world, tmp_path_factory):
    """The same world landed twice (with data faults, then without) on each engine.

    Returns, per engine: its target, the two runs' results and ledgers.
    """
    sources = {f"source_{slug}": SourceSystem(slug=slug, base_url=url,
                                              credential=server.credentials[slug])
               for slug, url in server.base_urls.items()}
    outcome = {}
    with scratch_database() as pg:
        for engine, home in (("duckdb", tmp_path_factory.mktemp("duckdb")),
                             ("postgres", tmp_path_factory.mktemp("postgres"))):
            target: Target = home / "warehouse.duckdb" if engine == "duckdb" else pg
            hub = _hub(home, target)
            server.set_faults(FAULTS)
            try:
                first = _materialise(hub, sources)
            finally:
                server.set_faults("")
            after_first = _ledger(target)
            rerun = _materialise(hub, sources)
            outcome[engine] = SimpleNamespace(
                target=target, home=home, first=first, after_first=after_first, rerun=rerun,
                after_rerun=_ledger(target),
                versions=[_count(target, "select count(*) - count(distinct _record_key || "
                                 f"'|' || _payload_hash) from {warehouse.landing_table(m)}")
                          for m in all_datasets()],
                domain_rows=_count(target, "select count(*) from privacy.domain_pseudonyms"))
        yield outcome


def test_a_world_lands_is_judged_and_balances_the_books_on_postgres_as_on_duckdb(landed):
    for engine, run in landed.items():
        assert run.first.success and run.rerun.success, engine
        evaluations = run.first.get_asset_check_evaluations()
        assert all(e.passed for e in evaluations if e.check_name == "accounting"), engine
        for (source, dataset), batches in run.after_rerun.items():
            for status, _, received, staged, quarantined, unchanged, rejected, removed in batches:
                assert status != BatchStatus.LANDED, (engine, source, dataset)
                assert received == staged + quarantined + unchanged + rejected + removed, \
                    (source, dataset)
    first = landed["duckdb"].after_first
    quarantined = {dataset for dataset, [(status, *_)] in first.items()
                   if status == BatchStatus.QUARANTINED}
    assert quarantined == {("dji", "detentions"), ("probation", "orders"),
                           ("care", "episodes"), ("municipal_orders", "bookings"),
                           ("wijkteam", "involvements")}
    # The same verdicts, rule by rule and record key by record key, and the same books:
    # on PostgreSQL the contract runs in pandas, on DuckDB as SQL, with one result.
    assert landed["postgres"].after_first == first
    assert landed["postgres"].after_rerun == landed["duckdb"].after_rerun


def test_the_postgres_run_writes_postgres_only(landed):
    # Every table lands in PostgreSQL; no DuckDB warehouse appears beside the vault.
    assert not (landed["postgres"].home / "warehouse.duckdb").exists()
    assert (landed["duckdb"].home / "warehouse.duckdb").exists()
    assert landed["postgres"].domain_rows == landed["duckdb"].domain_rows > 0


def test_a_version_already_landed_lands_once_on_a_rerun(landed):
    for engine, run in landed.items():
        assert run.versions == [0] * len(all_datasets()), engine
        for dataset, batches in run.after_rerun.items():
            assert len(batches) == 2, (engine, dataset)  # one batch per pull


def test_the_planner_knows_what_landed_on_postgres(landed):
    """Every table a run wrote in bulk is analysed (its row estimate is its row count):
    with a table taken for empty, one plan made the 100k world's dbt run 200 times slower."""
    target = landed["postgres"].target
    tables = [warehouse.landing_table(m) for m in all_datasets()]
    tables += [BATCHES, REJECTIONS, "privacy.domain_pseudonyms"]
    for table in tables:
        rows = _count(target, f"select count(*) from {table}")  # noqa: S608 - our tables
        estimate = _count(target, "select reltuples::bigint from pg_class "
                                  "where oid = to_regclass(?)", [table])
        assert estimate == rows > 0, table


# -- the room's functions, on each engine -------------------------------------------------

def _land(con, batch_id: str, keys: list[str], *, cursor: str | None = None,
          payload: str = "v1") -> warehouse.LandedBatch:
    rows = [{"client_id": key, "_payload_hash": f"{key}-{payload}"} for key in keys]
    return warehouse.land_batch(con, CLIENTS, rows, batch_id=batch_id,
                                received_at=datetime(2026, 11, 1, 12, int(batch_id[-1])),
                                fields_dropped=0, cursor=cursor)


def test_a_version_already_landed_lands_once(target):
    with warehouse.connect(target) as con:
        first = _land(con, "b1", ["RN-000001", "RN-000002"])
        again = _land(con, "b2", ["RN-000001", "RN-000002", "RN-000003"])
        changed = _land(con, "b3", ["RN-000001"], payload="v2")
        reasons = warehouse.rejections_by_reason(con, "b2")
        unbalanced = warehouse.unbalanced_batches(con, CLIENTS)
    assert (first.landed, first.unchanged, first.rejected) == (2, 0, 0)
    # Re-sent as landed: unchanged, not a refusal with a reason.
    assert (again.landed, again.unchanged, again.rejected) == (1, 2, 0)
    assert reasons == {} and unbalanced == []
    assert changed.landed == 1  # a new version of a known record is new
    # A dropped batch's versions may come again (re-pulled after a fix), and then land.
    with warehouse.connect(target) as con:
        con.execute(f"update {BATCHES} set status = ? where batch_id = 'b1'",
                    [BatchStatus.DROPPED.value])
        assert _land(con, "b4", ["RN-000002"]).landed == 1


def test_the_cursor_round_trips(target):
    with warehouse.connect(target) as con:
        assert warehouse.read_cursor(con, CLIENTS) is None  # not even a ledger yet
        warehouse.ensure_landing(con, CLIENTS)
        assert warehouse.read_cursor(con, CLIENTS) is None
        warehouse.write_cursor(con, CLIENTS, "2026-11-01T00:00:00Z")
        warehouse.write_cursor(con, CLIENTS, "2026-11-02T00:00:00Z")  # replaces, one row
        warehouse.write_cursor(con, DETENTIONS, "2026-10-01T00:00:00Z")
        warehouse.rewind_cursor(con, CLIENTS, "2026-11-05T00:00:00Z")  # never forward
    with warehouse.connect(target, read_only=True) as con:
        assert warehouse.read_cursor(con, CLIENTS) == "2026-11-02T00:00:00Z"
        assert warehouse.read_cursor(con, DETENTIONS) == "2026-10-01T00:00:00Z"
    with warehouse.connect(target) as con:
        warehouse.rewind_cursor(con, CLIENTS, "2026-10-15T00:00:00Z")
        assert warehouse.read_cursor(con, CLIENTS) == "2026-10-15T00:00:00Z"
    assert _count(target, f"select count(*) from {CURSORS}") == 2


class Crash(Exception):
    pass


def test_a_crash_between_rows_and_ledger_row_leaves_nothing(target, monkeypatch):
    with warehouse.connect(target) as con:
        _land(con, "b1", ["RN-000001"], cursor="2026-11-01T00:00:00Z")

    def crash(name: str) -> None:
        if name == "landing:rows":  # rows and rejections written, the ledger row not yet
            raise Crash(name)

    monkeypatch.setattr(landing, "failpoint", crash)
    with warehouse.connect(target) as con, pytest.raises(Crash):
        _land(con, "b2", ["RN-000001", "RN-000002", ""], cursor="2026-11-02T00:00:00Z")
    with warehouse.connect(target, read_only=True) as con:
        assert warehouse.ledger_row(con, "b2") is None
        assert warehouse.read_cursor(con, CLIENTS) == "2026-11-01T00:00:00Z"
        assert warehouse.unbalanced_batches(con, CLIENTS) == []  # no orphan rows either
    assert _count(target, "select count(*) from landing.probation__clients") == 1
    assert _count(target, f"select count(*) from {REJECTIONS}") == 0


def test_published_rows_and_as_of_are_those_of_passed_and_released_batches(target):
    with warehouse.connect(target) as con:
        for number, status in enumerate(BatchStatus):
            _land(con, f"b{number}", [f"RN-{number:06d}"])
            con.execute(f"update {BATCHES} set status = ? where batch_id = ?",
                        [status.value, f"b{number}"])
        sql, params = warehouse.published_rows_sql(CLIENTS)
        published = {b for (b,) in con.execute(
            f"select _batch_id from ({sql}) as published", params).fetchall()}
        as_of = warehouse.published_as_of(con)
    assert published == {"b1", "b3"}  # passed, released
    assert as_of == {"probation.clients": "2026-11-01T12:03:00Z"}  # the released one


# -- the steward's services, on each engine ----------------------------------------------

def _pull_detentions(hub, source_systems):
    detentions = [a for a in LANDING_ASSETS if a.key.to_user_string() == "landing/dji__detentions"]
    checks = [c for c in LANDING_CHECKS
              if "dji__detentions" in str(next(iter(c.check_keys)).asset_key)]
    return _materialise(hub, {"source_dji": source_systems["source_dji"]},
                        [*detentions, *checks])


def test_quarantine_shows_drops_and_re_pulls_a_bad_batch(target, tmp_path, world,
                                                         source_systems):
    hub = _hub(tmp_path, target)
    assert _pull_detentions(hub, source_systems).success
    (held,) = quarantine.list_batches(target)
    bad_key = world.detentions[BAD_DETENTION]["registration_number"]
    report = quarantine.show_batch(target, held["batch_id"])
    assert f"prison_code.pattern on prison_code: 1 record(s), keys {bad_key}" in (
        report.ledger["verdict"])
    status = collect_status(SimpleNamespace(warehouse=target, dagster_home=tmp_path / "none",
                                            home=tmp_path))
    [latest] = [b for b in status.batches if b["dataset"] == "detentions"]
    assert latest["status"] == BatchStatus.QUARANTINED
    assert status.published_as_of == {"dji.detentions": None}

    with warehouse.connect(target, read_only=True) as con:
        cursor_before = warehouse.read_cursor(con, DETENTIONS)
    dropped = quarantine.drop_batch(target, held["batch_id"], "malformed prison code", "steward")
    assert dropped == held["received"]
    report = quarantine.show_batch(target, held["batch_id"])
    assert report.ledger["status"] == BatchStatus.DROPPED
    assert report.ledger["rejected"] == report.ledger["received"]
    assert [d["decision"] for d in report.decisions] == ["dropped"]
    with warehouse.connect(target, read_only=True) as con:
        assert warehouse.read_cursor(con, DETENTIONS) < cursor_before  # asked again next time
        assert warehouse.unbalanced_batches(con, DETENTIONS, judged=True) == []
    # The next pull fetches the dropped records again: they land as a new batch.
    assert _pull_detentions(hub, source_systems).success
    (again,) = quarantine.list_batches(target)
    assert again["batch_id"] != held["batch_id"] and again["received"] == held["received"]


def test_quarantine_releases_a_batch_that_passes_a_fixed_contract(target, tmp_path,
                                                                  source_systems, monkeypatch):
    hub = _hub(tmp_path, target)
    _pull_detentions(hub, source_systems)
    (held,) = quarantine.list_batches(target)
    with pytest.raises(quarantine.QuarantineError, match="still fails"):
        quarantine.release_batch(target, held["batch_id"], "tried", "steward")
    loosened = copy.deepcopy(load_contract("dji", "detentions").document)
    for prop in loosened["schema"][0]["properties"]:
        if prop["name"] == "prison_code":
            prop.pop("logicalTypeOptions")
    monkeypatch.setattr(quarantine, "load_contract", lambda source, dataset: Contract(
        source, dataset, "1.1.0", loosened))
    result = quarantine.release_batch(target, held["batch_id"], "local codes allowed", "steward")
    assert result.passed and result.rows == held["received"] - held["rejected"]
    report = quarantine.show_batch(target, held["batch_id"])
    assert report.ledger["status"] == BatchStatus.RELEASED
    assert report.ledger["staged"] == result.rows and report.ledger["contract_version"] == "1.1.0"
    assert [d["decided_by"] for d in report.decisions] == ["steward"]
    sql, params = warehouse.published_rows_sql(DETENTIONS)
    assert _count(target, f"select count(*) from ({sql}) as published", params) == result.rows


def test_retention_removes_what_is_due_and_keeps_the_books(target, tmp_path, source_systems):
    hub = _hub(tmp_path, target)
    _pull_detentions(hub, source_systems)
    due_on = date(2100, 1, 1)  # every detention with a release date is past six months
    released = _count(target, "select count(*) from landing.dji__detentions "
                              "where actual_release_date is not null")
    args = (target, Path(hub.vault_path), Path(hub.keys_dir), Path(hub.outbox_dir))
    plan = retention.plan_retention(*args, as_of=due_on)
    applied = retention.apply_retention(*args, Path(hub.disclosure_log), as_of=due_on)
    # The plan names the datasets landed so far; apply creates every table, and says 0.
    assert plan.records_removed == {"dji.detentions": released}
    assert applied.records_removed == {f"{m.source}.{m.name}": released if m == DETENTIONS
                                       else 0 for m in all_datasets()}
    assert released > 0
    assert applied.vault_persons_removed > 0
    assert _count(target, "select count(*) from landing.dji__detentions "
                          "where actual_release_date is not null") == 0
    with warehouse.connect(target, read_only=True) as con:
        for manifest in all_datasets():
            assert warehouse.unbalanced_batches(con, manifest) == [], manifest.table
    [(status, *_, removed)] = _ledger(target)[("dji", "detentions")]
    assert status == BatchStatus.QUARANTINED and removed == released


# -- readers and writers on PostgreSQL -----------------------------------------------------

def _guarded(con) -> None:
    """A statement that waits for a lock fails after a while instead of hanging the test."""
    con.execute("set lock_timeout = '10s'")


def test_a_reader_sees_its_snapshot_and_neither_blocks_nor_waits_for_a_writer(
        pg_database, monkeypatch):
    with warehouse.connect(pg_database) as con:
        _land(con, "b1", ["RN-000001"])
    seen_mid_write = []

    def read_mid_write(name: str) -> None:
        if name == "landing:rows":  # the writer's rows are in, uncommitted
            with warehouse.connect(pg_database, read_only=True) as reader:
                _guarded(reader)
                seen_mid_write.append((
                    reader.execute("select count(*) from landing.probation__clients").fetchone(),
                    warehouse.ledger_row(reader, "b2")))

    monkeypatch.setattr(landing, "failpoint", read_mid_write)
    with warehouse.connect(pg_database) as con:
        _guarded(con)
        _land(con, "b2", ["RN-000002", "RN-000003"])
    assert seen_mid_write == [((1,), None)]

    # A reader that holds its snapshot open while a writer lands and commits: the writer
    # is not held up (its landing changes no table definition, which would wait for every
    # reader of the table), and the reader goes on seeing what was there when it began.
    monkeypatch.setattr(landing, "failpoint", lambda name: None)
    with warehouse.connect(pg_database, read_only=True) as reader:
        assert reader.execute("select count(*) from landing.probation__clients"
                              ).fetchone() == (3,)
        assert warehouse.ledger_row(reader, "b2") is not None
        with warehouse.connect(pg_database) as writer:
            _guarded(writer)
            assert _land(writer, "b3", ["RN-000004"]).landed == 1
        assert reader.execute("select count(*) from landing.probation__clients"
                              ).fetchone() == (3,)
        assert warehouse.ledger_row(reader, "b3") is None
    assert _count(pg_database, "select count(*) from landing.probation__clients") == 4


def test_connect_passes_duckdb_through_and_names_the_engine(tmp_path, pg_database):
    import duckdb

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert type(con) is duckdb.DuckDBPyConnection  # DuckDB's own, no wrapper
    with warehouse.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert type(con) is duckdb.DuckDBPyConnection
    with warehouse.connect(pg_database, read_only=True) as con:
        assert is_postgres(pg_database) and not warehouse.table_exists(con, BATCHES)
        with pytest.raises(Exception, match="read-only"):
            con.execute("create schema nope")
    with open_postgres(pg_database) as con:
        assert not warehouse.table_exists(con, "nope.nothing")
