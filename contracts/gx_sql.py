"""Run a contract's Great Expectations suite inside DuckDB (GX's SQL datasource).

`validate_batch_sql` gives the same `ContractResult` as `contracts.gx_suite.validate_batch`,
but GX pushes every expectation down to DuckDB as SQL on the rows of one batch, so a batch
is never copied into pandas.

Why GX's SQL datasource failed on DuckDB with `MetricResolutionError: list index out of
range` (GX 1.24.1, duckdb-engine 0.17, SQLAlchemy 2.1), and what repairs it here:

1. Results vanish when GX closes its connection. GX runs each query in
   `with engine.connect(): result = connection.execute(query)` and calls `fetchall()`
   only after that block. Closing the SQLAlchemy connection rolls back its transaction
   (duckdb-engine issues a real BEGIN), and duckdb-engine's cursor is the DuckDB
   connection itself, whose one pending result the ROLLBACK replaces. `fetchall()` then
   returns `[]` and GX's `res[0]` raises IndexError. Repair: `_buffer_rows` reads every
   result into SQLAlchemy's fully buffered fetch strategy before GX closes the connection.
2. Column reflection fails and GX's fallback drops the schema. SQLAlchemy 2.1's
   PostgreSQL reflection (which duckdb-engine inherits) reads `pg_catalog.pg_collation`,
   which DuckDB lacks; GX then falls back to `SELECT * FROM <table> LIMIT 1` without the
   schema name. Repair: GX reads the landing table through a temporary view of each of
   its connections, a name that needs no schema. The view also carries the parsed
   shadow column of each not-in-future rule, which `validate_batch` adds in pandas.
3. GX chooses a dialect's SQL forms through `dialect_module`, which it leaves None for
   DuckDB, so every regex rule is "not supported". Repair: this engine's is PostgreSQL's
   (duckdb-engine's dialect is a PostgreSQL one, and DuckDB's `~` searches like pandas'
   `str.contains`).
4. GX has no SQL implementation of `match_strftime_format` or `json_parseable`.
   Repair: `enable_duckdb_metrics` registers DuckDB SQL for exactly the forms
   `compile_suite` emits, written to accept what Python's `strptime`/`json.loads` accept.
5. Not a GX fault, but it would stop the pipeline: duckdb-engine opens DuckDB with a
   user-agent setting, and DuckDB refuses a second connection to a file this process
   already holds open with other settings. Repair: GX's connections are cursors of one
   plain connection.

Nothing here runs at import time: the metrics are registered by `enable_duckdb_metrics`
(called by `validate_batch_sql`), and the engine repairs apply only to the engine this
module creates.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import great_expectations as gx
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.core.partitioners import PartitionerColumnValue
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy

from ketenbrug.contracts.gx_suite import (
    AS_TIME,
    KEY_COLUMN,
    MAX_KEYS_REPORTED,
    ContractResult,
    RuleFailure,
    compile_suite,
    rule_raised,
)
from ketenbrug.contracts.odcs import Contract

LANDING_SCHEMA = "landing"
BATCH_COLUMN = "_batch_id"
BATCH_VIEW = "_gx_batch"  # a temporary view: each GX connection has its own
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# Python's strptime("%Y-%m-%d") takes exactly four year digits, a month or day with or
# without a leading zero, and a day padded with a space (" 5"); DuckDB's strptime is
# looser (whitespace, short years), so the shape is checked first.
_PY_DATE_SHAPE = r"[0-9]{4}-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])"
# DuckDB's JSON parser accepts trailing commas, Python's json.loads does not: outside
# string literals, a comma followed only by whitespace and a closing bracket.
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_JSON_TRAILING_COMMA = r",[ \t\n\r]*[\]}]"
_metrics_enabled = False


def enable_duckdb_metrics() -> None:
    """Register DuckDB SQL for GX's date-format and JSON metrics (idempotent).

    Only the SQLAlchemy engine gains them, and they refuse any dialect but DuckDB and any
    date format but `%Y-%m-%d` (NotImplementedError, as GX does for an unsupported
    dialect), so nothing that worked before changes.
    """
    global _metrics_enabled
    if _metrics_enabled:
        return

    def _require_duckdb(engine: sa.Engine) -> None:
        if engine.dialect.name != "duckdb":
            raise NotImplementedError(f"DuckDB-only metric used on {engine.dialect.name!r}")

    # Defining these subclasses registers them with GX (its metaclass does so): that is
    # why they live inside this function and not at module level.
    class DuckDBStrftimeFormat(ColumnMapMetricProvider):
        condition_metric_name = "column_values.match_strftime_format"
        condition_value_keys = ("strftime_format",)

        @column_condition_partial(engine=SqlAlchemyExecutionEngine)
        def _sqlalchemy(cls, column, strftime_format, _sqlalchemy_engine, **kwargs):
            _require_duckdb(_sqlalchemy_engine)
            if strftime_format != "%Y-%m-%d":
                raise NotImplementedError(f"no DuckDB form of strftime {strftime_format!r}")
            # The shape admits only a space inside the day, which DuckDB does not take:
            # drop it before the calendar check. Year 0 parses in DuckDB, not in Python.
            return sa.and_(
                sa.func.regexp_full_match(column, _PY_DATE_SHAPE),
                ~sa.func.starts_with(column, "0000"),
                sa.func.try_strptime(sa.func.replace(column, " ", ""), "%Y-%m-%d").is_not(None),
            )

    class DuckDBJsonParseable(ColumnMapMetricProvider):
        condition_metric_name = "column_values.json_parseable"

        @column_condition_partial(engine=SqlAlchemyExecutionEngine)
        def _sqlalchemy(cls, column, _sqlalchemy_engine, **kwargs):
            _require_duckdb(_sqlalchemy_engine)
            bare = sa.func.regexp_replace(column, _JSON_STRING, '""', "g")
            return sa.and_(sa.func.coalesce(sa.func.json_valid(column), False),
                           ~sa.func.regexp_matches(bare, _JSON_TRAILING_COMMA))

    _metrics_enabled = True


def _buffer_rows(conn, cursor, statement, parameters, context, executemany) -> None:
    """Read a query's rows before GX closes the connection (repair 1 in the module doc)."""
    if cursor.description is not None:
        context.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(
            cursor, cursor.description)


def _validate(batch, name: str, rules: list, result_format: dict) -> list:
    """GX's results for `rules`, in their order."""
    suite = gx.ExpectationSuite(name=name)
    for _, expectation in rules:
        suite.add_expectation(expectation)
    results = batch.validate(suite, result_format=result_format).results
    for (rule, expectation), result in zip(rules, results, strict=True):
        # GX reports in suite order (gx_suite relies on it too); check rather than trust.
        if result.expectation_config.kwargs.get("column") != expectation.column:
            raise RuntimeError(f"GX reported rule {rule} out of order")
    return results


def _ident(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"refusing identifier {name!r}")
    return name


def _batch_view_sql(table: str, rules: list) -> str:
    """The view GX reads: the landing table plus a parsed shadow of each time column."""
    shadows = sorted({e.column for _, e in rules if e.column.endswith(AS_TIME)})
    parsed = "".join(f", try_cast({_ident(c.removesuffix(AS_TIME))} as timestamptz) as {c}"
                     for c in shadows)
    return (f"create temp view {BATCH_VIEW} as "  # noqa: S608 - identifiers checked
            f"select *{parsed} from {LANDING_SCHEMA}.{table}")


def _run_gx(contract: Contract, rules: list, anchor: duckdb.DuckDBPyConnection,
            warehouse_path: Path, table: str, batch_id: str) -> list:
    """GX's result per rule on the batch; a rule that passed has only its verdict."""
    view = _batch_view_sql(table, rules)

    def connect() -> ConnectionWrapper:
        con = anchor.cursor()  # repair 5 in the module doc
        # As pandas' to_datetime(utc=True) in validate_batch: a time without an offset is
        # UTC. The setting is this connection's own.
        con.execute("set TimeZone = 'UTC'")
        con.execute(view)  # repair 2
        return ConnectionWrapper(con)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # GX's sources.pyi omits SQLDatasource's `kwargs` field (engine arguments) from add_sql.
    source = context.data_sources.add_sql(  # type: ignore[call-arg]
        "warehouse", connection_string=f"duckdb:///{warehouse_path}", kwargs={"creator": connect})
    execution_engine = source.get_execution_engine()
    execution_engine.dialect_module = postgresql  # repair 3
    sa.event.listen(execution_engine.engine, "after_cursor_execute", _buffer_rows)  # repair 1
    name = contract.document["id"]
    try:
        # GX selects the batch with a bound `WHERE _batch_id = ...`; every expectation then
        # runs as SQL on those rows only.
        batch = (source.add_table_asset(name, table_name=BATCH_VIEW)
                 .add_batch_definition("batch", validate_partitioner=False,
                                       partitioner=PartitionerColumnValue(column_name=BATCH_COLUMN))
                 .get_batch(batch_parameters={BATCH_COLUMN: batch_id}))
        # Pass 1 asks GX for verdicts only: GX then counts the failures of all rules in one
        # aggregate query (uniqueness takes one more each). Pass 2 asks for the record keys
        # of the failing rules only, which costs GX two more scans per rule.
        results = _validate(batch, name, rules, {"result_format": "BOOLEAN_ONLY"})
        failing = [i for i, result in enumerate(results)
                   if not result.success and not rule_raised(result.exception_info)]
        if failing:
            detailed = _validate(batch, name, [rules[i] for i in failing], {
                "result_format": "COMPLETE", "unexpected_index_column_names": [KEY_COLUMN],
                "return_unexpected_index_query": False,
            })
            for i, result in zip(failing, detailed, strict=True):
                results[i] = result
    finally:
        # No connection may outlive the call (DuckDB: one writer per file). GX holds two
        # engines: the datasource's (it tested the connection) and the execution engine's.
        execution_engine.close()
        execution_engine.engine.dispose()
        source.get_engine().dispose()
    return results


def validate_batch_sql(contract: Contract, warehouse_path: Path, table: str,
                       batch_id: str) -> ContractResult:
    """Run the contract's suite in DuckDB on the rows of `landing.<table>` of `batch_id`.

    Returns what `validate_batch` returns for the same rows: the rules of `compile_suite`,
    failing counts, up to 20 sorted record keys per failing rule, never values; a rule GX
    could not run as `<rule> (could not run)` failing every row; `rows=0` and no failures
    for a batch with no rows; a `<column>.present` failure per contract column the table
    lacks. Refuses (ValueError) a table or column name that is not a plain identifier and
    (FileNotFoundError) a warehouse file that does not exist. Opens its own connections,
    so it may run while the caller holds the file open in this process, and closes them
    all before returning.
    """
    table = _ident(table)
    if not Path(warehouse_path).is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse_path}")  # DuckDB would create one
    enable_duckdb_metrics()
    rules = compile_suite(contract)
    contract_id = contract.document["id"]
    # One plain connection for the whole call; GX's connections are cursors of it.
    anchor = duckdb.connect(str(warehouse_path))
    try:
        counted = anchor.execute(
            f"select count(*) from {LANDING_SCHEMA}.{table} where {BATCH_COLUMN} = ?",  # noqa: S608 - identifier checked
            [batch_id]).fetchone()
        assert counted is not None  # count(*) always returns a row
        rows = counted[0]
        columns = {name for (name,) in anchor.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?", [LANDING_SCHEMA, table]).fetchall()}
        if rows == 0:
            return ContractResult(contract_id, contract.version, rows=0, rules=len(rules))
        missing = [p["name"] for p in contract.properties if p["name"] not in columns]
        if missing:
            failures = [RuleFailure(f"{name}.present", name, rows, ()) for name in missing]
            return ContractResult(contract_id, contract.version, rows, len(rules), failures)
        results = _run_gx(contract, rules, anchor, warehouse_path, table, batch_id)
    finally:
        anchor.close()
    failures = []
    for (name, _), result in zip(rules, results, strict=True):
        if result.success:
            continue
        details = result.result or {}
        keys = sorted({str(item.get(KEY_COLUMN))
                       for item in details.get("unexpected_index_list") or []
                       if isinstance(item, dict)})
        # As validate_batch does: a rule GX could not run fails the whole batch.
        raised = rule_raised(result.exception_info)
        failures.append(RuleFailure(
            rule=f"{name} (could not run)" if raised else name,
            column=result.expectation_config.kwargs.get("column", "?").removesuffix(AS_TIME),
            failing_count=rows if raised else int(details.get("unexpected_count") or 0),
            record_keys=tuple(keys[:MAX_KEYS_REPORTED]),
        ))
    return ContractResult(contract_id, contract.version, rows, len(rules), failures)
