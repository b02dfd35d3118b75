"""Throw-away PostgreSQL roles and databases for a benchmark hub on the postgres profile.

The same plan `ketenbrug db setup` carries out (setup_databases), under names of their
own, on the machine's server (127.0.0.1:5432, trust auth, superuser `postgres`); all
dropped afterwards, also when the run fails.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ketenbrug.databases import PostgresTarget, open_postgres
from ketenbrug.stewardship.database_setup import setup_databases

ADMIN = PostgresTarget(host="127.0.0.1", port=5432, dbname="postgres", user="postgres",
                       password="", connect_timeout_s=3)


@contextmanager
def postgres_profile_env() -> Iterator[dict[str, str]]:
    """The environment of a postgres-profile hub with its own roles and databases."""
    suffix = uuid.uuid4().hex[:10]  # names are plain identifiers: safe in SQL text
    warehouse = PostgresTarget(host=ADMIN.host, port=ADMIN.port, dbname=f"kb_bench_wh_{suffix}",
                               user=f"kb_bench_wh_{suffix}")
    vault = PostgresTarget(host=ADMIN.host, port=ADMIN.port,
                           dbname=f"kb_bench_vault_{suffix}", user=f"kb_bench_vault_{suffix}")
    dagster_dbname = f"kb_bench_dagster_{suffix}"
    try:
        setup_databases(ADMIN, warehouse, vault, dagster_dbname)
        yield {"KETENBRUG_PROFILE": "postgres", "KETENBRUG_PG_HOST": ADMIN.host,
               "KETENBRUG_PG_PORT": str(ADMIN.port), "KETENBRUG_PG_DBNAME": warehouse.dbname,
               "KETENBRUG_PG_USER": warehouse.user, "KETENBRUG_VAULT_PG_DBNAME": vault.dbname,
               "KETENBRUG_VAULT_PG_USER": vault.user,
               "KETENBRUG_DAGSTER_PG_DBNAME": dagster_dbname}
    finally:
        drop_databases([warehouse.dbname, vault.dbname, dagster_dbname],
                       [warehouse.user, vault.user])


def drop_databases(dbnames: list[str], roles: list[str], attempts: int = 6) -> None:
    """Drop the databases, then the roles. WITH (FORCE) ends their sessions, but waits
    only 5 s for a backend busy in a long query (a killed run's) to go: so try again."""
    import psycopg2  # type: ignore[import-untyped]

    with open_postgres(ADMIN) as con:  # autocommit: DROP DATABASE may not run in a block
        for dbname in dbnames:
            for attempt in range(attempts):
                try:
                    con.execute(f"drop database if exists {dbname} with (force)")
                    break
                except psycopg2.errors.ObjectInUse:
                    if attempt == attempts - 1:
                        raise
                    time.sleep(5)
        for role in roles:
            con.execute(f"drop role if exists {role}")
