"""The warehouse's own tables: their names, the batch ledger's DDL, and a batch's statuses.

The ledger's books: received = staged + quarantined + unchanged + rejected + removed, per
batch, where `unchanged` counts records re-sent as the version already landed (a source
answering "changed since" with the current version of a record it touched), `rejected`
only real refusals, each with its reason, and `removed` the records retention took out
after the verdict.

The DDL is written once for both engines: DuckDB's and PostgreSQL's `varchar`,
`timestamp`, `integer` and `boolean` are the same types.

This module is the one owner of that schema. Python imports the names from here; dbt
reads the published statuses through the `published_batch_statuses` macro, which a test
holds equal to `PUBLISHED_STATUSES`. The privacy room owns the pseudonym tables it
writes (privacy.domains); they are listed here so the catalogue is in one place.
"""

from __future__ import annotations

import re
from enum import StrEnum

from ketenbrug.connectors.manifest import DatasetManifest
from ketenbrug.databases import POSTGRES, dialect
from ketenbrug.privacy.domains import DOMAIN_TABLE, FORMER_TABLE
from ketenbrug.warehouse.connection import Connection

LANDING_SCHEMA = "landing"
BATCHES = "landing._batches"
REJECTIONS = "landing._rejections"
CURSORS = "landing._cursors"
DECISIONS = "landing._batch_decisions"
DOMAIN_PSEUDONYMS = DOMAIN_TABLE
FORMER_DOMAIN_PSEUDONYMS = FORMER_TABLE


class BatchStatus(StrEnum):
    """Write-audit-publish: a batch lands, its contract passes or quarantines it, and a
    steward releases or drops a quarantined one."""

    LANDED = "landed"
    PASSED = "passed"
    QUARANTINED = "quarantined"
    RELEASED = "released"
    DROPPED = "dropped"


# The statuses whose rows staging reads; every other batch is invisible downstream.
PUBLISHED_STATUSES = (BatchStatus.PASSED, BatchStatus.RELEASED)

META_COLUMNS = ("_batch_id", "_source", "_dataset", "_record_key", "_received_at", "_payload_hash",
                "_missing_fields", "identity_findings")  # the boundary's, by field and rule
IDENTITY_COLUMNS = ("person_pseudonym", "pseudonym_basis", "is_bsn_present", "identity_issues",
                    "is_bsn_valid")
# Landing keeps every data value as text; these columns are the hub's own and typed.
COLUMN_TYPES = {"_received_at": "timestamp", "is_bsn_present": "boolean",
                "is_bsn_valid": "boolean"}

LEDGER_DDL = f"""
create schema if not exists {LANDING_SCHEMA};
create table if not exists {BATCHES} (
    batch_id varchar primary key, source varchar not null, dataset varchar not null,
    received_at timestamp not null, status varchar not null, received integer not null,
    staged integer not null, quarantined integer not null, rejected integer not null,
    fields_dropped integer not null, contract_version varchar, verdict varchar,
    removed integer not null default 0, unchanged integer not null default 0
);
-- A ledger from before retention, or before unchanged records were told apart from
-- rejections, gains the column, 0 for every batch.
alter table {BATCHES} add column if not exists removed integer default 0;
alter table {BATCHES} add column if not exists unchanged integer default 0;
create table if not exists {REJECTIONS} (
    batch_id varchar not null, record_key varchar, reason varchar not null
);
create table if not exists {CURSORS} (
    source varchar, dataset varchar, updated_since varchar not null,
    primary key (source, dataset)
);
create table if not exists {DECISIONS} (
    batch_id varchar not null, decision varchar not null, reason varchar not null,
    decided_by varchar not null, decided_at timestamp not null
);
"""

LEDGER_TABLES = (BATCHES, REJECTIONS, CURSORS, DECISIONS)
# The newest column of the ledger; a ledger that has it and every table is complete.
_NEWEST_LEDGER_COLUMN = (BATCHES, "unchanged")
_LEDGER_DDL_LOCK = 0x6B62_6C65_6467_6572  # "kbledger": who may create the ledger now


def ensure_ledger(con: Connection) -> None:
    """Create the ledger, or what an older one lacks; change nothing when it is complete.

    Asked first, not left to `if not exists`: on PostgreSQL an ALTER TABLE locks the table
    against every reader until its transaction ends, even when it adds nothing, and
    retention runs this inside its one long transaction.
    """
    present = {(f"{schema}.{table}", column) for schema, table, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema = ?", [LANDING_SCHEMA]).fetchall()}
    tables = {table for table, _ in present}
    if set(LEDGER_TABLES) <= tables and _NEWEST_LEDGER_COLUMN in present:
        return
    if dialect(con) != POSTGRES:
        con.execute(LEDGER_DDL)
        return
    # Parallel landing steps would race on `create schema if not exists` (PostgreSQL's
    # catalogue refuses the second with a unique violation): one at a time.
    con.execute("select pg_advisory_lock(?)", [_LEDGER_DDL_LOCK])
    try:
        con.execute(LEDGER_DDL)
    finally:
        con.execute("select pg_advisory_unlock(?)", [_LEDGER_DDL_LOCK])


def unchanged_column(con: Connection) -> str:
    """`unchanged`, or `0 as unchanged` on a ledger its next run has not yet upgraded: a
    reader (read-only) may not add the column, and every batch before it counted none."""
    found = con.execute(
        "select count(*) from information_schema.columns where table_schema = ? "
        "and table_name = ? and column_name = 'unchanged'", BATCHES.split(".")).fetchone()
    return "unchanged" if found and found[0] else "0 as unchanged"


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def ident(name: str) -> str:
    """Return `name` if it is a plain lowercase SQL identifier; refuse anything else."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"refusing identifier {name!r}")
    return name


def landing_table(manifest: DatasetManifest) -> str:
    """`landing.<slug>__<dataset>`: the table one dataset lands in."""
    return f"{LANDING_SCHEMA}.{ident(manifest.table)}"


def landing_columns(manifest: DatasetManifest) -> list[str]:
    """The columns of a dataset's landing table: the hub's, the identity flags, the data."""
    identity = list(IDENTITY_COLUMNS) if manifest.identity else []
    return [*META_COLUMNS, *identity, *manifest.field_names]
