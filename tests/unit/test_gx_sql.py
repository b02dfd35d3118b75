"""The SQL path (GX pushed down to DuckDB) reports exactly what the pandas path reports."""

from __future__ import annotations

import pytest

from ketenbrug import warehouse
from ketenbrug.connectors.manifest import load_manifest
from ketenbrug.contracts.gx_sql import validate_batch_sql
from ketenbrug.contracts.gx_suite import compile_suite, validate_batch
from ketenbrug.contracts.odcs import CONTRACTS_DIR, Contract, load_contract

BATCH, OTHER = "probation__orders-20260101T000000-aaaaaaaa", "probation__orders-older"


def _order(i: int, batch: str = BATCH, **changes) -> dict:
    row = {
        "_batch_id": batch, "_source": "probation", "_dataset": "orders",
        "_record_key": f"o{i}", "_payload_hash": f"h{i}", "order_id": f"o{i}",
        "client_id": f"c{i}", "organisation": "RN", "order_type": "toezicht",
        "status": "active", "start_date": "2025-01-31", "end_date": "2025-12-01",
        "hours_ordered": "40", "hours_served": "-3", "conditions": '["meldplicht", "a,]"]',
        "updated_at": "2025-02-01T10:00:00Z",
    }
    return {**row, **changes}


BAD_ORDERS = [
    _order(1, client_id=None, status=None),            # missing required
    _order(2, start_date="2025-02-30"),                # not a date
    _order(3, end_date="25-01-01"),                    # DuckDB parses it, Python does not
    _order(4, organisation="XX"),                      # outside the allowed set
    _order(5, order_id="o6"), _order(6),               # duplicate key
    _order(7, updated_at="2025-02-01 10:00"),          # bad pattern
    _order(8, hours_ordered="4.5", hours_served="x"),  # not integers
    _order(9, conditions="[1,]"),                      # trailing comma: not JSON to Python
    _order(10, conditions="meldplicht"),               # not JSON
    _order(14, updated_at="2099-01-01T00:30:00+01:00"),  # in the future
    _order(15, _missing_fields="hours_served"),        # schema drift
]
# Edge cases where DuckDB's own parsers differ from Python's; these must still pass.
GOOD_EDGES = [
    _order(11, start_date="2025-1-5", end_date="2025-01- 5"),
    _order(12, conditions=' {"a": [1, {"b": "},"}]} '),
    _order(13, end_date=None, hours_ordered=None, conditions=None),
    _order(16, updated_at="2026-01-01T00:30:00+01:00"),  # 2025-12-31 in UTC: the past
]


def _land(path, rows: list[dict]) -> None:
    manifest = load_manifest("probation")["orders"]
    columns = warehouse.landing_columns(manifest)
    with warehouse.connect(path) as con:
        warehouse.ensure_landing(con, manifest)
        con.executemany(
            f"insert into landing.{manifest.table} ({', '.join(columns)}) "
            f"values ({', '.join('?' for _ in columns)})",
            [[row.get(c) for c in columns] for row in rows])


def _both(path, batch_id: str):
    """(the pipeline's current pandas path, the SQL path) on one batch."""
    contract = load_contract("probation", "orders")
    with warehouse.connect(path) as con:
        frame = warehouse.batch_frame(con, load_manifest("probation")["orders"], batch_id)
    return (validate_batch(contract, frame),
            validate_batch_sql(contract, path, "probation__orders", batch_id))


@pytest.fixture
def landed(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    # An older batch shares keys with the new one and is invalid: only BATCH is checked.
    older = [_order(i, batch=OTHER, organisation="??") for i in (1, 2, 20)]
    _land(path, [*BAD_ORDERS, *GOOD_EDGES, *older])
    _land(path, [_order(i, batch="good") for i in range(30, 40)])
    return path


def test_sql_path_reports_what_pandas_reports(landed):
    pandas_result, sql_result = _both(landed, BATCH)
    assert sql_result == pandas_result
    assert sql_result.rows == len(BAD_ORDERS) + len(GOOD_EDGES)
    failed = {f.rule: (f.failing_count, f.record_keys) for f in sql_result.failures}
    rules = {name for name, _ in compile_suite(load_contract("probation", "orders"))}
    for rule, keys in [("updated_at.not_in_future", ("o14",)),
                       ("schema_drift.no_missing_fields", ("o15",))]:
        if rule in rules:  # rules the contract may state
            assert failed.pop(rule) == (1, keys)
    assert failed == {
        "client_id.required": (1, ("o1",)),
        "status.required": (1, ("o1",)),
        "start_date.type_date": (1, ("o2",)),
        "end_date.type_date": (1, ("o3",)),
        "organisation_in_allowed_set": (1, ("o4",)),
        "order_id.unique": (2, ("o5", "o6")),
        "updated_at.type_timestamp": (1, ("o7",)),
        "hours_ordered.type_integer": (1, ("o8",)),
        "hours_served.type_integer": (1, ("o8",)),
        "conditions.type_array": (2, ("o10", "o9")),
    }


def test_good_batch_passes_on_both_paths(landed):
    pandas_result, sql_result = _both(landed, "good")
    assert sql_result == pandas_result
    assert sql_result.passed and sql_result.rows == 10


def test_unknown_batch_has_no_rows(landed):
    result = validate_batch_sql(load_contract("probation", "orders"), landed,
                                "probation__orders", "no-such-batch")
    assert result.rows == 0 and result.passed


def test_runs_while_the_caller_holds_the_warehouse_open(landed):
    contract = load_contract("probation", "orders")
    with warehouse.connect(landed) as con:
        result = validate_batch_sql(contract, landed, "probation__orders", "good")
        con.execute("update landing._batches set status = 'x' where false")
    assert result.passed
    # Every connection was closed: another process-level open with other settings works.
    with warehouse.connect(landed, read_only=True) as con:
        assert con.execute("select count(*) from landing.probation__orders").fetchone()[0]


def test_refuses_a_table_name_that_is_not_an_identifier(landed):
    with pytest.raises(ValueError, match="refusing identifier"):
        validate_batch_sql(load_contract("probation", "orders"), landed,
                           "probation__orders; drop table x", BATCH)


def test_patterns_search_like_pandas_and_batches_stay_apart(tmp_path):
    """A contract `pattern` rule: same matches as pandas' `str.contains`, anchored or not."""
    contract = Contract("test", "codes", "1.0.0", {"id": "test.codes", "schema": [{"properties": [
        {"name": "_record_key", "required": True, "unique": True},
        {"name": "municipality", "logicalTypeOptions": {"pattern": r"^GM\d{4}$"}},
        {"name": "code", "logicalTypeOptions": {"pattern": r"\d{3}"}},
        {"name": "kind", "quality": [{"name": "kind_known", "metric": "invalidValues",
                                      "arguments": {"validValues": ["a", "b"]}}]},
    ]}]})
    path = tmp_path / "warehouse.duckdb"
    rows = [("k1", "GM0363", "x123y", "a"), ("k2", "GM363", "12", "b"),
            ("k3", "gm0363", "1234", "A"), ("k4", "GM0363 ", None, None),
            ("k4", None, "abc", "c")]
    with warehouse.connect(path) as con:
        con.execute("create schema landing; create table landing.codes (_batch_id varchar, "
                    "_record_key varchar, municipality varchar, code varchar, kind varchar)")
        con.executemany("insert into landing.codes values (?, ?, ?, ?, ?)",
                        [("new", *row) for row in rows] + [("old", "k1", "x", "x", "x")])
        frame = con.execute("select * from landing.codes where _batch_id = 'new'").df()
    pandas_result = validate_batch(contract, frame)
    sql_result = validate_batch_sql(contract, path, "codes", "new")
    assert sql_result == pandas_result
    assert {f.rule: f.record_keys for f in sql_result.failures} == {
        "_record_key.unique": ("k4",), "municipality.pattern": ("k2", "k3", "k4"),
        "code.pattern": ("k2", "k4"), "kind_known": ("k3", "k4")}


def test_refuses_a_missing_warehouse(tmp_path):
    with pytest.raises(FileNotFoundError):
        validate_batch_sql(load_contract("probation", "orders"), tmp_path / "none.duckdb",
                           "probation__orders", BATCH)
    assert not (tmp_path / "none.duckdb").exists()


# Values of many kinds, good and bad, that every shipped contract is tried on.
_TEXTS = ["x", None, "2026-01-01", "2025-02-30", "12", "-3", "4.5", "=SUM(A1)", "GM0363",
          "2099-01-01T00:00:00Z", "2026-01-01T00:00:00+02:00", '["a"]', "[1,]", "RN", "active",
          "x" * 600, "2026-1-5", " 7", "2099-01-01 10:00"]


@pytest.mark.parametrize("path", sorted(CONTRACTS_DIR.glob("*/*.odcs.yaml")),
                         ids=lambda p: f"{p.parent.name}.{p.name.split('.')[0]}")
def test_every_contract_gives_the_same_verdicts_on_both_paths(tmp_path, path):
    contract = load_contract(path.parent.name, path.name.split(".")[0])
    properties = [p for p in contract.properties if p["name"] != "_batch_id"]
    types = {p["name"]: "boolean" if p.get("physicalType") == "boolean" else "varchar"
             for p in properties}
    rows = []
    for i in range(len(_TEXTS)):
        row = {name: ([True, False, None][(i + n) % 3] if kind == "boolean"
                      else _TEXTS[(i + 3 * n) % len(_TEXTS)])
               for n, (name, kind) in enumerate(types.items())}
        rows.append({**row, "_record_key": f"k{i % 7}", "_batch_id": "b"})
    db = tmp_path / "warehouse.duckdb"
    with warehouse.connect(db) as con:
        columns = ", ".join(f"{name} {kind}" for name, kind in types.items())
        con.execute(f"create schema landing; create table landing.t (_batch_id varchar, {columns})")
        names = ["_batch_id", *types]
        con.executemany(f"insert into landing.t ({', '.join(names)}) "
                        f"values ({', '.join('?' for _ in names)})",
                        [[row[n] for n in names] for row in rows])
        frame = con.execute("select * from landing.t").df()
    pandas_result = validate_batch(contract, frame)
    assert pandas_result.failures  # the values above break some rule of every contract
    assert validate_batch_sql(contract, db, "t", "b") == pandas_result
