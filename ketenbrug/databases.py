"""Where the hub's databases live, and one connection API over DuckDB and PostgreSQL.

The embedded default keeps the warehouse and the vault in DuckDB files; the production
profile keeps them in PostgreSQL, the vault in a database of its own reached with its own
role. Code above this module writes its SQL once, in DuckDB's dialect (`?` and `$name`
parameters, `register` of an Arrow table as a relation), and opens it with `open_database`:

- a DuckDB file gives DuckDB's own connection, unchanged;
- PostgreSQL gives `PostgresConnection`, which binds the same parameters, loads a
  registered Arrow table into a temporary table with COPY, and answers `fetchone`,
  `fetchall` and `df` as DuckDB does.

Where the two dialects differ in more than that, `dialect(con)` tells the caller which one
it holds, and the difference lives in one function (`binary_type` below, for example).

A read-only PostgreSQL connection is one REPEATABLE READ, READ ONLY transaction: a reader
during a run (an officer's `profiles show`, `status`) sees one consistent snapshot and
can neither block the run's writers nor be blocked by them.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DUCKDB = "duckdb"
POSTGRES = "postgres"


@dataclass(frozen=True)
class PostgresTarget:
    """One PostgreSQL database, reached as one role. The password never prints."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(default="", repr=False)
    connect_timeout_s: int = 10

    def __str__(self) -> str:
        return self.url

    @property
    def url(self) -> str:
        """`postgresql://user@host:port/dbname`: where, as whom; never the password."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    @classmethod
    def from_url(cls, url: str, password: str = "") -> PostgresTarget:
        """The inverse of `url`; the password comes separately (from the environment)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname \
                or not parts.path.strip("/") or parts.password:
            raise ValueError(f"not a postgresql://user@host:port/dbname URL without "
                             f"password: {cls._masked(url)}")
        return cls(host=parts.hostname, port=parts.port or 5432,
                   dbname=parts.path.strip("/"), user=parts.username or "postgres",
                   password=password)

    @staticmethod
    def _masked(url: str) -> str:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)

    def connect_kwargs(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "dbname": self.dbname,
                "user": self.user, "password": self.password,
                "connect_timeout": self.connect_timeout_s,
                "application_name": "ketenbrug"}


# A DuckDB file, or a PostgreSQL database.
Target = Path | PostgresTarget


class DatabaseUnavailable(Exception):
    """The database could not be reached or refused the hub's role; names which one."""


def is_postgres(target: Target | str) -> bool:
    return isinstance(target, PostgresTarget)


def exists(target: Target) -> bool:
    """Whether there is anything to read yet: a DuckDB file that exists, or any PostgreSQL
    database (created by `ketenbrug db setup`; the tables come with the first run)."""
    return True if isinstance(target, PostgresTarget) else Path(target).exists()


def dialect(con: Any) -> str:
    return POSTGRES if isinstance(con, PostgresConnection) else DUCKDB


def advisory_lock_key(purpose: str, target: PostgresTarget) -> int:
    """A 63-bit PostgreSQL advisory-lock key for `purpose` in `target`'s database (one
    database may hold one hub)."""
    digest = hashlib.sha256(f"ketenbrug:{purpose}:{target.dbname}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def refresh_statistics(con: Any, tables: Sequence[str]) -> None:
    """Tell PostgreSQL's planner what a bulk write just put in `tables` (ANALYZE).

    Without it the planner guesses: autovacuum analyses a table only after a delay (and
    not at all where it is off), and one guess made a dbt run of the 100k-client world
    take 800 s instead of 4 (a nested loop over a landing table it took for empty).
    PostgreSQL's manual asks for ANALYZE after a bulk load. DuckDB keeps its statistics
    as it writes: nothing to do. `tables` are checked identifiers, never values.
    """
    if dialect(con) == POSTGRES and tables:
        con.execute(f"analyze {', '.join(tables)}")


def binary_type(con: Any) -> str:
    """The column type for raw bytes: DuckDB's `blob`, PostgreSQL's `bytea`."""
    return "bytea" if dialect(con) == POSTGRES else "blob"


def text_as_date(con: Any, expression: str) -> str:
    """SQL for the text `expression` as a date, NULL where it is not one.

    DuckDB: `try_cast`. PostgreSQL 15 has no cast that fails softly and a failed cast
    aborts the transaction, so only what DuckDB takes as well is cast: `YYYY-M-D` (month
    and day with or without a leading zero) of a year from 1, with a day its month has (a
    CASE tests in order, so the cast never sees anything else). `expression` is SQL the
    caller built from checked identifiers, never a value.
    """
    if dialect(con) != POSTGRES:
        return f"try_cast({expression} as date)"
    shape = "^[0-9]{4}-(0?[1-9]|1[0-2])-(0?[1-9]|[12][0-9]|3[01])$"
    part = f"split_part({expression}, '-', {{}})::int".format
    return (f"case when ({expression}) !~ '{shape}' then null "
            f"when {part(1)} = 0 then null "  # no year 0 in PostgreSQL
            f"when {part(3)} <= extract(day from make_date({part(1)}, {part(2)}, 1) "
            f"+ interval '1 month' - interval '1 day') then ({expression})::date end")


def fetch_rows(con: Any, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
               ) -> tuple[list[str], list[dict[str, Any]]]:
    """The column names and rows of a query, each row a dict of plain Python values.

    The same on both engines (date, datetime, int, Decimal, None), unlike `df()`: DuckDB's
    frame turns a date into a pandas Timestamp and a missing number into NaN (an int column
    into floats), PostgreSQL's keeps dates and None, so a reader's answer would depend on
    the engine. The names come even when there are no rows.
    """
    con.execute(sql, parameters)
    description = con._cursor.description if dialect(con) == POSTGRES else con.description
    columns = [d[0] for d in description or ()]
    return columns, [dict(zip(columns, row, strict=True)) for row in con.fetchall()]


# dbt's postgres target builds the marts in this schema (dbt_project/profiles.yml).
MARTS_SCHEMA_ENV, MARTS_SCHEMA_DEFAULT = "KETENBRUG_PG_SCHEMA", "ketenbrug"


def marts_schema(con_or_target: Any) -> str:
    """The schema dbt builds the marts in: DuckDB's `main`, or on PostgreSQL the postgres
    target's schema (KETENBRUG_PG_SCHEMA, default `ketenbrug`), as profiles.yml says.

    Takes a connection or a Target, so a reader names `<schema>.warm_handover` the same
    way whether it holds one or the other.
    """
    if dialect(con_or_target) == POSTGRES or is_postgres(con_or_target):
        return _plain(os.environ.get(MARTS_SCHEMA_ENV) or MARTS_SCHEMA_DEFAULT)
    return "main"


@contextmanager
def open_database(target: Target, *, read_only: bool = False) -> Iterator[Any]:
    """A connection to `target` for one unit of work, closed afterwards: DuckDB's own
    connection to the file, or `open_postgres`. For the rooms below the warehouse
    (privacy), which may not use `warehouse.connect`; the warehouse room adds its file
    modes and lock wait on top."""
    if isinstance(target, PostgresTarget):
        with open_postgres(target, read_only=read_only) as pg:
            yield pg
        return
    import duckdb

    duck = duckdb.connect(str(target), read_only=read_only)
    try:
        yield duck
    finally:
        duck.close()


@contextmanager
def open_postgres(target: PostgresTarget, *, read_only: bool = False
                  ) -> Iterator[PostgresConnection]:
    """A connection to `target` for one unit of work, closed afterwards.

    Read-only: one REPEATABLE READ, READ ONLY transaction, so every query of the unit of
    work reads the same snapshot. Writing: autocommit, with `begin`/`commit` where a unit
    of work must be all or nothing, as on DuckDB.
    """
    import psycopg2  # type: ignore[import-untyped]

    try:
        raw = psycopg2.connect(**target.connect_kwargs())
    except psycopg2.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "refused"
        raise DatabaseUnavailable(f"{target}: {reason}") from None
    con = PostgresConnection(raw)
    try:
        if read_only:
            raw.set_session(isolation_level="REPEATABLE READ", readonly=True, autocommit=False)
        else:
            raw.autocommit = True
        yield con
    finally:
        try:
            if read_only and not raw.closed:
                raw.rollback()
        finally:
            raw.close()


class PostgresConnection:
    """DuckDB's connection API, as far as the hub uses it, on a psycopg2 connection."""

    def __init__(self, raw: Any):
        self.raw = raw
        self._cursor = raw.cursor()
        self._registered: set[str] = set()

    # -- statements -------------------------------------------------------------------
    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
                ) -> PostgresConnection:
        self._cursor.execute(*bind(sql, parameters))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> PostgresConnection:
        from psycopg2.extras import execute_batch  # type: ignore[import-untyped]

        if rows:
            statement, _ = bind(sql, rows[0])
            execute_batch(self._cursor, statement, rows, page_size=1000)
        return self

    def fetchone(self) -> tuple | None:
        row = self._cursor.fetchone() if self._cursor.description else None
        return None if row is None else _as_duckdb(row)

    def fetchall(self) -> list[tuple]:
        rows = self._cursor.fetchall() if self._cursor.description else []
        return [_as_duckdb(row) for row in rows]

    def df(self) -> Any:
        import pandas as pd

        columns = [c.name for c in self._cursor.description or ()]
        return pd.DataFrame(self.fetchall(), columns=columns)

    # -- transactions, as DuckDB spells them -----------------------------------------------
    def begin(self) -> None:
        self._cursor.execute("begin")

    def commit(self) -> None:
        self._cursor.execute("commit")

    def rollback(self) -> None:
        self._cursor.execute("rollback")

    # -- Arrow tables as relations ----------------------------------------------------------
    def register(self, name: str, table: Any) -> PostgresConnection:
        """Make an Arrow table queryable as `name`: a temporary table, filled with COPY."""
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        name = _plain(name)
        columns = ", ".join(f"{_plain(f.name)} {_pg_type(f.type)}" for f in table.schema)
        self._cursor.execute(f"drop table if exists pg_temp.{name}")
        self._cursor.execute(f"create temporary table {name} ({columns})")
        if table.num_rows:
            # bytea reads '\x<hex>' in CSV; strings are always quoted, so '' stays '' and
            # an unquoted empty field is NULL.
            for i, f in enumerate(table.schema):
                if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
                    table = table.set_column(i, f.name, pa.array(
                        [None if v is None else "\\x" + v.hex()
                         for v in table.column(i).to_pylist()], type=pa.string()))
            buffer = io.BytesIO()
            pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(
                include_header=False, quoting_style="needed"))
            buffer.seek(0)
            self._cursor.copy_expert(f"copy {name} from stdin with (format csv)", buffer)
        self._registered.add(name)
        return self

    def unregister(self, name: str) -> PostgresConnection:
        self._cursor.execute(f"drop table if exists pg_temp.{_plain(name)}")
        self._registered.discard(name)
        return self

    def close(self) -> None:
        self.raw.close()


def _as_duckdb(row: tuple) -> tuple:
    """bytea as bytes, as DuckDB gives a blob (psycopg2 gives a memoryview)."""
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


_PARAMETER = re.compile(r"'(?:[^']|'')*'|\$([a-z_][a-z0-9_]*)|\?|%", re.IGNORECASE)


def bind(sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None
         ) -> tuple[str, Any]:
    """DuckDB's `?` and `$name` parameters as psycopg2's `%s` and `%(name)s`.

    String literals are left alone; a literal `%` outside them is doubled, as psycopg2
    requires once parameters are bound.
    """
    if parameters is None or len(parameters) == 0:
        return sql, None

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token.replace("%", "%%")
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _PARAMETER.sub(replace, sql), parameters


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def _plain(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"refusing identifier {name!r}")
    return name


def _pg_type(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "bytea"
    return "text"
