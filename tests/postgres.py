"""The local PostgreSQL server for tests: a throw-away database per test, or a skip.

Without a reachable server a test that needs one is skipped with the reason, except under
CI=true, where it fails: CI must not pass by not testing. The server is the machine's own
(127.0.0.1:5432, trust auth); KETENBRUG_TEST_PG_* point elsewhere.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from ketenbrug.databases import PostgresTarget

ADMIN = PostgresTarget(
    host=os.environ.get("KETENBRUG_TEST_PG_HOST", "127.0.0.1"),
    port=int(os.environ.get("KETENBRUG_TEST_PG_PORT", "5432")),
    dbname=os.environ.get("KETENBRUG_TEST_PG_DBNAME", "postgres"),
    user=os.environ.get("KETENBRUG_TEST_PG_USER", "postgres"),
    password=os.environ.get("KETENBRUG_TEST_PG_PASSWORD", ""),
    connect_timeout_s=3)


def admin_connection():
    """An autocommit connection as the server's superuser, or skip (fail under CI=true)."""
    import psycopg2

    try:
        raw = psycopg2.connect(**ADMIN.connect_kwargs())
    except psycopg2.OperationalError as error:
        reason = f"PostgreSQL not reachable at {ADMIN}: {str(error).strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    raw.autocommit = True
    return raw


@contextmanager
def scratch_database(prefix: str = "kb_test") -> Iterator[PostgresTarget]:
    """A new, empty database owned by the superuser; dropped (connections and all) after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = admin_connection()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"create database {name}")
        yield PostgresTarget(host=ADMIN.host, port=ADMIN.port, dbname=name, user=ADMIN.user,
                             password=ADMIN.password)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"drop database if exists {name} with (force)")
        admin.close()


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def ident(name: str) -> str:
    """`name`, asserted to be a plain identifier: safe in SQL text without quoting."""
    assert _IDENTIFIER.fullmatch(name), name
    return name


def copy_duckdb_tables(warehouse: Path, cursor, schemas: dict[str, str], tmp: Path) -> int:
    """Copy every table of the DuckDB file's schemas (the keys) into the PostgreSQL
    schemas (the values) through `cursor`, as text where DuckDB has VARCHAR; returns how
    many tables were copied. The target schemas must exist."""
    con = duckdb.connect(str(warehouse), read_only=True)
    copied = 0
    try:
        wanted = ", ".join(f"'{ident(schema)}'" for schema in schemas)
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({wanted}) and table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table]).fetchall()
            ddl = ", ".join(f"{ident(c)} {'text' if t == 'VARCHAR' else t.lower()}"
                            for c, t in columns)
            target = f"{ident(schemas[schema])}.{ident(table)}"
            cursor.execute(f"create table {target} ({ddl})")
            dump = tmp / f"{schema}.{table}.csv"
            # NULL is written unquoted and empty, '' quoted: PostgreSQL's CSV reads both back.
            con.execute(f"copy (select * from {schema}.{ident(table)}) to '{dump}' "
                        "(header, format csv)")
            with dump.open() as handle:
                cursor.copy_expert(f"copy {target} from stdin with (format csv, header true)",
                                   handle)
            copied += 1
    finally:
        con.close()
    return copied


@contextmanager
def postgres_profile_env() -> Iterator[dict[str, str]]:
    """The environment of a hub on the postgres profile, with roles and databases of its
    own made by `setup_databases` (as `ketenbrug db setup` does); all dropped after."""
    from ketenbrug.stewardship.database_setup import setup_databases

    suffix = uuid.uuid4().hex[:10]
    admin = admin_connection()
    warehouse = PostgresTarget(host=ADMIN.host, port=ADMIN.port, dbname=f"kb_wh_{suffix}",
                               user=f"kb_wh_{suffix}")
    vault = PostgresTarget(host=ADMIN.host, port=ADMIN.port, dbname=f"kb_vault_{suffix}",
                           user=f"kb_vault_{suffix}")
    dagster_dbname = f"kb_dagster_{suffix}"
    try:
        setup_databases(ADMIN, warehouse, vault, dagster_dbname)
        yield {"KETENBRUG_PROFILE": "postgres", "KETENBRUG_PG_HOST": ADMIN.host,
               "KETENBRUG_PG_PORT": str(ADMIN.port), "KETENBRUG_PG_DBNAME": warehouse.dbname,
               "KETENBRUG_PG_USER": warehouse.user, "KETENBRUG_VAULT_PG_DBNAME": vault.dbname,
               "KETENBRUG_VAULT_PG_USER": vault.user,
               "KETENBRUG_DAGSTER_PG_DBNAME": dagster_dbname}
    finally:
        with admin.cursor() as cursor:
            for dbname in (warehouse.dbname, vault.dbname, dagster_dbname):
                cursor.execute(f"drop database if exists {ident(dbname)} with (force)")
            for role in (warehouse.user, vault.user):
                cursor.execute(f"drop role if exists {ident(role)}")
        admin.close()
