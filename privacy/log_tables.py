"""The disclosure log and its checkpoints in PostgreSQL (the postgres profile).

On the embedded profile they are files under the hub's home. On the production profile
a run's delivery steps run in several processes, on Celery even on other machines, and
every one must append to the same chain: the log lives in the warehouse database, in
schema `audit`, one table per line store (`disclosure_log`, `disclosure_checkpoints`).
A row holds one line exactly as the file would (`line_no`, `line`), so the readers,
`verify_log`, the checkpoints and the witnesses check it with the same code; a line is
inserted whole in one transaction, so the log has no torn tail.

Append-only: a trigger refuses UPDATE and DELETE, and one refuses TRUNCATE, for every
role — an accident or a careless script cannot rewrite the log. The table's owner (the
warehouse role) could drop the triggers; what shows that is what shows a rewritten log
file: the signed checkpoints and the recipients' witnesses (ARCHITECTURE.md, "Threat
model of the disclosure log").

One writer at a time: `locked` holds a session-level advisory lock for the block, as the
file's writer holds its flock; PostgreSQL releases it when the connection ends, also
when the writer is killed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ketenbrug.databases import PostgresTarget, advisory_lock_key, open_postgres

SCHEMA = "audit"
LOG_TABLE = "disclosure_log"
CHECKPOINTS_TABLE = "disclosure_checkpoints"
_TABLES = (LOG_TABLE, CHECKPOINTS_TABLE)


@dataclass(frozen=True)
class PostgresLines:
    """One append-only store of lines (the log, or its checkpoints) in PostgreSQL.

    Answers what the log's code asks of a file: `exists`, `read_bytes`, `name`.
    """

    target: PostgresTarget
    table: str = LOG_TABLE

    def __post_init__(self) -> None:
        if self.table not in _TABLES:
            raise ValueError(f"not a disclosure-log table: {self.table!r}")

    @property
    def name(self) -> str:
        return f"{SCHEMA}.{self.table}"

    def __str__(self) -> str:
        return f"{self.target.url} {self.name}"

    def checkpoints(self) -> PostgresLines:
        """The store of this log's signed checkpoints."""
        return PostgresLines(self.target, CHECKPOINTS_TABLE)

    def exists(self) -> bool:
        """Whether any line was ever written (an empty table reads as no log yet)."""
        with open_postgres(self.target, read_only=True) as con:
            if not _table_exists(con, self.table):
                return False
            query = f"select exists (select 1 from {self.name})"  # noqa: S608 - our table
            return _true(con.execute(query).fetchone())

    def read_bytes(self) -> bytes:
        """The lines in order, each ended by a newline: the bytes of the file it replaces."""
        with open_postgres(self.target, read_only=True) as con:
            return _read_bytes(con, self.table) if _table_exists(con, self.table) else b""

    def last_line(self) -> bytes | None:
        with open_postgres(self.target, read_only=True) as con:
            return _last_line(con, self.table) if _table_exists(con, self.table) else None

    def append_line(self, line: str) -> None:
        """Add one line after the last, in one statement (the caller holds the log's lock)."""
        with open_postgres(self.target) as con:
            ensure_tables(con)
            _insert(con, self.table, line)

    @contextmanager
    def locked(self) -> Iterator[LockedLines]:
        """Hold the log's writer lock for the block; yields the store's current bytes and
        a way to append."""
        with open_postgres(self.target) as con:
            con.execute("select pg_advisory_lock(?)", [_lock_key(self.target)])
            try:
                ensure_tables(con)
                yield LockedLines(con, self.table)
            finally:
                con.execute("select pg_advisory_unlock(?)", [_lock_key(self.target)])


class LockedLines:
    """The store while its writer's lock is held."""

    def __init__(self, con: Any, table: str) -> None:
        self._con, self._table = con, table

    def read_bytes(self) -> bytes:
        return _read_bytes(self._con, self._table)

    def last_line(self) -> bytes | None:
        return _last_line(self._con, self._table)

    def append(self, line: str) -> None:
        _insert(self._con, self._table, line)


def ensure_tables(con: Any) -> None:
    """The schema, both tables and their append-only triggers, made in one transaction
    the first time (the caller holds the log's lock, so no two writers make them)."""
    if all(_table_exists(con, table) for table in _TABLES):
        return
    con.begin()
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"""
        create or replace function {SCHEMA}.refuse_rewrite() returns trigger
        language plpgsql as $$
        begin
            raise exception 'the disclosure log is append-only: % on %.% refused',
                tg_op, tg_table_schema, tg_table_name;
        end $$""")
    for table in _TABLES:
        qualified = f"{SCHEMA}.{table}"
        con.execute(f"create table if not exists {qualified} "
                    "(line_no bigint primary key, line text not null)")
        con.execute(f"create or replace trigger {table}_append_only before update or delete "
                    f"on {qualified} for each row execute function {SCHEMA}.refuse_rewrite()")
        con.execute(f"create or replace trigger {table}_no_truncate before truncate "
                    f"on {qualified} for each statement "
                    f"execute function {SCHEMA}.refuse_rewrite()")
    con.commit()


def _read_bytes(con: Any, table: str) -> bytes:
    lines = con.execute(f"select line from {SCHEMA}.{table} "  # noqa: S608 - our table
                        "order by line_no").fetchall()
    return b"".join(line.encode("utf-8") + b"\n" for (line,) in lines)


def _last_line(con: Any, table: str) -> bytes | None:
    row = con.execute(f"select line from {SCHEMA}.{table} "  # noqa: S608 - our table
                      "order by line_no desc limit 1").fetchone()
    return None if row is None else row[0].encode("utf-8")


def _insert(con: Any, table: str, line: str) -> None:
    if "\n" in line:
        raise ValueError("a log line holds no newline")
    con.execute(f"insert into {SCHEMA}.{table} (line_no, line) select "  # noqa: S608 - ours
                f"coalesce(max(line_no), 0) + 1, ? from {SCHEMA}.{table}", [line])


def _table_exists(con: Any, table: str) -> bool:
    return _true(con.execute("select to_regclass(?) is not null",
                             [f"{SCHEMA}.{table}"]).fetchone())


def _true(row: tuple | None) -> bool:
    return bool(row and row[0])


def _lock_key(target: PostgresTarget) -> int:
    return advisory_lock_key("disclosure-log", target)
