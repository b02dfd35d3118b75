"""What the last dbt build read, fingerprinted: a rerun over the same inputs need not rebuild.

A build's result depends on the dbt project (models, macros, seeds and the vars in
dbt_project.yml), the vars the run passes (the date the hub acts as of), the profile it
builds with, and the content of every source table its manifest declares (the landing
tables, the batch ledger, the domain pseudonyms). The fingerprint covers exactly these,
by content rather than by bookkeeping: each source table's row count and an
order-independent hash of its rows. So whatever changed an input — a batch landing, a
quarantine released or dropped, retention removing rows, a key rotation — changes the
fingerprint, without each of those writers having to say so.

The fingerprint of the last build that succeeded is kept in BUILDS. It is removed as a
build starts and written when the build has succeeded, so a build that failed, or was
killed half-way, leaves none and the next run rebuilds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ketenbrug.databases import POSTGRES, dialect
from ketenbrug.warehouse.connection import Connection, table_exists
from ketenbrug.warehouse.schema import BATCHES, LANDING_SCHEMA, PUBLISHED_STATUSES

BUILDS = f"{LANDING_SCHEMA}._dbt_builds"
_BUILDS_DDL = f"""
create schema if not exists {LANDING_SCHEMA};
create table if not exists {BUILDS} (
    fingerprint varchar not null, run_id varchar not null, built_at timestamp not null)
"""


@dataclass(frozen=True)
class LastBuild:
    fingerprint: str
    run_id: str


def source_tables(manifest: Mapping[str, Any]) -> list[str]:
    """`schema.table` of every source the dbt project reads, as its manifest declares."""
    return sorted({f"{source['schema']}.{source.get('identifier') or source['name']}"
                   for source in manifest.get("sources", {}).values()})


def built_relations(manifest: Mapping[str, Any], schema: str) -> list[str]:
    """`schema.table` of every model and seed a build leaves in the warehouse's `schema`."""
    return sorted({f"{schema}.{node.get('alias') or node['name']}"
                   for node in manifest.get("nodes", {}).values()
                   if node.get("resource_type") in ("model", "seed")})


def read_by_build(table: str) -> str | None:
    """The rows of source `table` a build reads, as a query; None: it reads none directly.

    Staging reads a landing table only through `published_rows`: the rows of batches that
    passed or were released. The ledger matters to a build only through which rows it
    publishes, which the landing tables' rows already tell; every run adds batches to it
    that publish nothing new (records already landed), and those change no model.
    """
    if table == BATCHES:
        return None
    if table.startswith(f"{LANDING_SCHEMA}."):
        statuses = ", ".join(f"'{status}'" for status in PUBLISHED_STATUSES)
        return (f"select * from {table} where _batch_id in (select batch_id from {BATCHES} "
                f"where status in ({statuses}))")
    return f"select * from {table}"


def table_digest(con: Connection, table: str) -> str:
    """Row count and an order-independent hash of the rows a build reads of `table`
    ('absent' when there is no such table).

    DuckDB hashes each row as a struct; PostgreSQL hashes each row's text form. XOR on
    DuckDB (its hashes are unsigned 64-bit), a sum on PostgreSQL (numeric, no overflow);
    the count beside it tells apart what the XOR of equal rows would cancel.
    """
    rows = read_by_build(table)
    if rows is None:
        return "not read"
    if not table_exists(con, table):
        return "absent"
    if dialect(con) == POSTGRES:
        sql = (f"select count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text "
               f"from ({rows}) as t")
    else:
        sql = f"select count(*), coalesce(bit_xor(hash(t)), 0)::varchar from ({rows}) as t"
    row = con.execute(sql).fetchone()
    assert row is not None  # an aggregate always returns its one row
    return f"{row[0]}:{row[1]}"


def inputs_fingerprint(con: Connection, manifest: Mapping[str, Any], *,
                       project_digest: str, run_vars: Mapping[str, Any],
                       profile: Iterable[str]) -> str:
    """One hash of everything a dbt build of `manifest`'s project reads on `con`."""
    inputs = {"project": project_digest, "vars": dict(run_vars), "profile": list(profile),
              "sources": {table: table_digest(con, table)
                          for table in source_tables(manifest)}}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def last_build(con: Connection) -> LastBuild | None:
    """The last build that succeeded on this warehouse, if none was started since."""
    if not table_exists(con, BUILDS):
        return None
    row = con.execute(f"select fingerprint, run_id from {BUILDS}").fetchone()
    return LastBuild(*row) if row else None


def forget_build(con: Connection) -> None:
    """A build starts: until it succeeds, no earlier build stands for the marts."""
    con.execute(_BUILDS_DDL)
    con.execute(f"delete from {BUILDS}")


def record_build(con: Connection, fingerprint: str, run_id: str) -> None:
    """The build over inputs `fingerprint` succeeded in run `run_id`."""
    con.execute(_BUILDS_DDL)
    con.execute(f"delete from {BUILDS}")
    con.execute(f"insert into {BUILDS} values (?, ?, current_timestamp)",
                [fingerprint, run_id])


def unchanged_since(con: Connection, manifest: Mapping[str, Any], fingerprint: str, *,
                    schema: str) -> LastBuild | None:
    """The last build, when it read the same inputs and all it built is still in `schema`."""
    last = last_build(con)
    if last is None or last.fingerprint != fingerprint:
        return None
    if not all(table_exists(con, relation) for relation in built_relations(manifest, schema)):
        return None
    return last
