"""The local PostgreSQL server for tests: a throw-away database per test, or a skip.

Without a reachable server a test that needs one is skipped with the reason, except under
CI=true, where it fails: CI must not pass by not testing. The server is the machine's own
(127.0.0.1:5432, trust auth); KETENBRUG_TEST_PG_* point elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
