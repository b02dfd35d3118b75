"""Connections to the warehouse, opened per unit of work and closed at once.

The warehouse is a DuckDB file (the embedded profile) or a PostgreSQL database (the
production profile, `ketenbrug.databases.PostgresTarget`). On DuckDB the caller gets
DuckDB's own connection, unwrapped; on PostgreSQL a `PostgresConnection` with the same
API, where a read-only connection is one REPEATABLE READ, READ ONLY snapshot that
neither blocks a run's writers nor waits for them.

DuckDB allows one writing process per file, and a connection kept across Dagster steps
blocks dbt (../shared/STACK.md).

The warehouse holds pseudonymised personal data, so a DuckDB warehouse is owner-only:
DuckDB creates the file (and its .wal) with the process's umask, so both are set to 0600
right after the connection opens, in a folder created 0700; an existing warehouse that
group or others can read is refused (WarehouseExposed) rather than tightened, since it
may have been read already. (PostgreSQL's own roles and grants guard its database.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ketenbrug.databases import PostgresConnection, PostgresTarget, Target, open_postgres
from ketenbrug.privacy.file_modes import (
    FileModeError,
    make_database_private,
    private_dir,
    require_private,
)

# DuckDB lets one process at a time hold a file for writing; others get this error.
_LOCKED = "Could not set lock"
LOCK_WAIT_S = 15.0

# What `connect` yields: DuckDB's own connection, or the same API on PostgreSQL.
Connection = duckdb.DuckDBPyConnection | PostgresConnection


class WarehouseBusy(Exception):
    """Another process kept the warehouse file locked for longer than we wait."""


class WarehouseExposed(FileModeError):
    """The warehouse file can be read or written by others than its owner."""


@contextmanager
def connect(target: Target | str, read_only: bool = False,
            wait_s: float = LOCK_WAIT_S) -> Iterator[Connection]:
    """Open the warehouse for one unit of work and close it afterwards.

    `target` is a DuckDB file (a path, or a str naming one) or a PostgresTarget.
    DuckDB: another process holding the file (a reader's moment, or a unit of work that
    is just ending) is waited for, up to `wait_s`; then refuses with WarehouseBusy, naming
    the file. Refuses (WarehouseExposed) an existing warehouse file that group or others
    can read. PostgreSQL: `wait_s` does not apply (readers and writers do not exclude
    each other); an unreachable server raises `databases.DatabaseUnavailable`.
    """
    if isinstance(target, PostgresTarget):
        with open_postgres(target, read_only=read_only) as pg:
            yield pg
        return
    path = Path(target)
    private_dir(path.parent)
    if path.exists():
        try:
            require_private(path, what="warehouse")
        except FileModeError as exc:
            raise WarehouseExposed(str(exc)) from None
    con = _open(path, read_only, wait_s)
    try:
        make_database_private(path)
        yield con
    finally:
        try:
            make_database_private(path)  # a .wal the unit of work left for the next one
        finally:
            con.close()


def table_exists(con: Connection, qualified: str) -> bool:
    """Whether `schema.table` exists (tables a later step or a rotation creates).

    Ask this rather than catch a failed query: on PostgreSQL a failed statement aborts
    the transaction it is in."""
    schema, table = qualified.split(".")
    row = con.execute("select count(*) from information_schema.tables "
                      "where table_schema = ? and table_name = ?", [schema, table]).fetchone()
    return bool(row and row[0])


def _open(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if _LOCKED not in str(exc) or time.monotonic() >= deadline:
                if _LOCKED in str(exc):
                    raise WarehouseBusy(f"{path} is held by another process "
                                        f"(waited {wait_s:.0f} s)") from None
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
