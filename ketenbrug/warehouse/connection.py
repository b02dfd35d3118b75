"""Connections to the DuckDB warehouse, opened per unit of work and closed at once.

DuckDB allows one writing process per file, and a connection kept across Dagster steps
blocks dbt (../shared/STACK.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


@contextmanager
def connect(path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one unit of work and close it afterwards."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether `schema.table` exists (tables a later step or a rotation creates)."""
    schema, table = qualified.split(".")
    row = con.execute("select count(*) from information_schema.tables "
                      "where table_schema = ? and table_name = ?", [schema, table]).fetchone()
    return bool(row and row[0])
