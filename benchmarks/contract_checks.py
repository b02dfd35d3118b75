"""Contract checking on one landed batch: GX on pandas, one DuckDB query, GX pushed into DuckDB.

Run: .venv/bin/python benchmarks/contract_checks.py [--rows 1000000]   (prints figures; no
assertions; medians of 3, the methods taking turns). Builds a throw-away warehouse with the
probation orders landing table: a batch of `--rows` rows, valid but for a few bad rows of
each kind; a clean batch of as many rows; and a small older batch. Each figure checks one
batch, as the pipeline does. (a) is the pipeline's current path, (b) the same rules as one
hand-written query (b: failing counts, the verdict; b': also the 20 keys GX reports), and
(c) contracts.gx_sql, which also says whether it reports exactly what (a) reports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from great_expectations import expectations as gxe

from ketenbrug import warehouse
from ketenbrug.connectors.manifest import load_manifest
from ketenbrug.contracts.gx_sql import validate_batch_sql
from ketenbrug.contracts.gx_suite import (
    AS_TIME,
    KEY_COLUMN,
    MAX_KEYS_REPORTED,
    compile_suite,
    validate_batch,
)
from ketenbrug.contracts.odcs import load_contract

BATCH = "probation__orders-20260101T000000-bench000"
CLEAN = "probation__orders-20260102T000000-bench000"
OLDER = "probation__orders-older"
# In BATCH every 100,003rd row breaks one rule; which rule rotates with the row number.
_BAD_EVERY, _BAD_AT = 100_003, 17
_SYNTHETIC = """
insert into landing.probation__orders by name
select $batch as _batch_id, 'probation' as _source, 'orders' as _dataset,
       'o' || i as _record_key, md5(i::varchar) as _payload_hash,
       case when bad and i % 9 = 0 then 'o' || (i - 1) else 'o' || i end as order_id,
       case when bad and i % 9 = 1 then null else 'c' || (i % 250000) end as client_id,
       case when bad and i % 9 = 2 then 'XX' else ['RN', 'SVG', 'LJR'][1 + i % 3] end
           as organisation,
       ['advies', 'toezicht', 'werkstraf'][1 + i % 3] as order_type,
       ['waiting', 'active', 'completed'][1 + i % 3] as status,
       case when bad and i % 9 = 3 then '2025-02-30'
            else strftime(date '2020-01-01' + (i % 2000)::integer, '%Y-%m-%d') end as start_date,
       case when i % 4 = 0 then null
            else strftime(date '2026-01-01' + (i % 700)::integer, '%Y-%m-%d') end as end_date,
       case when bad and i % 9 = 4 then '4.5' else (i % 240)::varchar end as hours_ordered,
       (i % 100)::varchar as hours_served,
       case when bad and i % 9 = 5 then 'meldplicht'
            when i % 3 = 0 then null else '["meldplicht", "locatieverbod"]' end as conditions,
       case when bad and i % 9 = 6 then '2025-02-01 10:00'
            when bad and i % 9 = 7 then '2099-01-01T10:00:00Z'
            else '2025-02-01T10:' || lpad((i % 60)::varchar, 2, '0') || ':00Z' end
           as updated_at,
       case when bad and i % 9 = 8 then 'hours_served' end as _missing_fields,
       timestamp '2026-01-01' as _received_at
from (select range as i, range % $bad_every = $bad_at as bad from range($rows))
"""


def build_warehouse(path: Path, rows: int) -> None:
    manifest = load_manifest("probation")["orders"]
    with warehouse.connect(path) as con:
        warehouse.ensure_landing(con, manifest)
        for batch, n, bad_at in [(BATCH, rows, _BAD_AT), (CLEAN, rows, -1), (OLDER, 10_000, 0)]:
            con.execute(_SYNTHETIC, {"batch": batch, "rows": n, "bad_every": _BAD_EVERY,
                                     "bad_at": bad_at})
        con.execute("update landing.probation__orders set organisation = '??' "
                    "where _batch_id = $1", [OLDER])


def _bad_row_sql(expectation: gxe.Expectation) -> str:
    """The hand-written DuckDB form of one compiled rule: true on a row that breaks it."""
    column = expectation.column
    if column.endswith(AS_TIME):  # not in future: the text read as an instant
        column = f"try_cast({column.removesuffix(AS_TIME)} as timestamptz)"
    if isinstance(expectation, gxe.ExpectColumnValuesToNotBeNull):
        return f"{column} is null"
    if isinstance(expectation, gxe.ExpectColumnValuesToBeNull):
        return f"{column} is not null"
    if isinstance(expectation, gxe.ExpectColumnValuesToBeUnique):
        return f"{column} in (select {column} from dup_{column})"  # noqa: S608
    if isinstance(expectation, gxe.ExpectColumnValuesToMatchRegex):
        bad = f"not regexp_matches({column}, '{expectation.regex}')"
    elif isinstance(expectation, gxe.ExpectColumnValuesToNotMatchRegex):
        bad = f"regexp_matches({column}, '{expectation.regex}')"
    elif isinstance(expectation, gxe.ExpectColumnValuesToMatchStrftimeFormat):
        bad = f"try_strptime({column}, '%Y-%m-%d') is null"
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeJsonParseable):
        bad = f"not json_valid({column})"
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeInSet):
        bad = f"{column} not in ({', '.join(repr(v) for v in expectation.value_set)})"
    elif isinstance(expectation, gxe.ExpectColumnValueLengthsToBeBetween):
        bad = f"length({column}) > {expectation.max_value}"
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeBetween):
        bad = f"{column} > '{expectation.max_value.isoformat()}'::timestamptz"
    else:
        raise ValueError(f"no SQL for {type(expectation).__name__}")
    return f"{column} is not null and {bad}"


def one_query(path: Path, rules, batch_id: str, keys: bool) -> list[tuple[str, int, list]]:
    """Baseline: all rules as one DuckDB query: failing counts, and with `keys` also the
    first 20 sorted record keys per rule (what GX reports)."""
    unique = [e.column for _, e in rules if isinstance(e, gxe.ExpectColumnValuesToBeUnique)]
    dups = "".join(f", dup_{c} as (select {c} from b where {c} is not null "  # noqa: S608
                   f"group by {c} having count(*) > 1)" for c in unique)
    flags = ", ".join(f"coalesce({_bad_row_sql(e)}, false) as r{i}"
                      for i, (_, e) in enumerate(rules))
    results = ", ".join(
        f"count(*) filter (where r{i})" + (
            f", list_sort(list({KEY_COLUMN}) filter (where r{i}))[1:{MAX_KEYS_REPORTED}]"
            if keys else ", null") for i in range(len(rules)))
    # Identifiers and regexes come from the contract; the batch id is bound. Not
    # materialized: DuckDB would copy the batch for the CTE's three readers.
    sql = (f"with b as not materialized (select * from landing.probation__orders "  # noqa: S608
           f"where _batch_id = $1){dups}, flagged as (select {KEY_COLUMN}, {flags} from b) "
           f"select {results} from flagged")
    with warehouse.connect(path, read_only=True) as con:
        row = con.execute(sql, [batch_id]).fetchone()
    return [(name, row[2 * i], row[2 * i + 1]) for i, (name, _) in enumerate(rules)]


def gx_on_pandas(path: Path, contract, batch_id: str):
    """The pipeline's current path: ketenbrug.warehouse.batch_frame, then validate_batch."""
    with warehouse.connect(path, read_only=True) as con:
        frame = warehouse.batch_frame(con, load_manifest("probation")["orders"], batch_id)
    return validate_batch(contract, frame)


def _medians(works: dict, repeat: int = 3) -> dict:
    """Median seconds and last result per work; the works take turns, so a busy machine
    slows them alike."""
    times: dict = {label: [] for label in works}
    results: dict = {}
    for _ in range(repeat):
        for label, work in works.items():
            started = time.perf_counter()
            results[label] = work()
            times[label].append(time.perf_counter() - started)
    return {label: (statistics.median(times[label]), results[label]) for label in works}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    contract = load_contract("probation", "orders")
    rules = compile_suite(contract)
    table = "probation__orders"
    print(f"contract {contract.document['id']}: {len(rules)} rules; landing table of "
          f"2 x {args.rows:,} + 10,000 rows; each check reads one batch of {args.rows:,} rows; "
          "median of 3 runs")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        build_warehouse(path, args.rows)
        validate_batch_sql(contract, path, table, BATCH)  # GX's first-use costs
        for batch, title, with_pandas in [(BATCH, "batch with a few bad rows", True),
                                          (CLEAN, "clean batch", False)]:
            works = {
                "(a) GX on pandas, incl. DuckDB -> pandas read":
                    lambda b=batch: gx_on_pandas(path, contract, b),
                "(b) one hand-written DuckDB query, counts (baseline)":
                    lambda b=batch: one_query(path, rules, b, keys=False),
                "(b') the same query, also 20 sorted keys per rule":
                    lambda b=batch: one_query(path, rules, b, keys=True),
                "(c) GX pushed down to DuckDB (contracts.gx_sql)":
                    lambda b=batch: validate_batch_sql(contract, path, table, b),
            }
            if not with_pandas:
                del works[next(iter(works))]
            figures = _medians(works)
            (base_s, counts), (_, by_sql) = (figures[label] for label in
                                             [list(works)[-3], list(works)[-1]])
            failed = [(name, count) for name, count, _ in counts if count]
            same = [(f.rule, f.failing_count) for f in by_sql.failures] == failed
            print(f"{title}: {len(failed)} of {len(rules)} rules fail; "
                  f"(c) has the same rules and counts as (b): {same}")
            for label, (seconds, _) in figures.items():
                print(f"  {label:<54} {seconds:6.2f} s  {seconds / base_s:5.1f}x (b)")
            if with_pandas:
                by_pandas = figures[next(iter(works))][1]
                print(f"  (c) reports exactly what (a) reports (rules, counts, keys): "
                      f"{by_sql == by_pandas}")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}, "
          f"{os.cpu_count()} cores")

if __name__ == "__main__":
    main()
