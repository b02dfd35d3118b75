"""Retention: remove what has passed its retention period, everywhere, and say so.

Each dataset's manifest names its period (ISO 8601, e.g. P6M) and the field that starts
it (e.g. a detention's actual release date). A record whose latest version is past
period + anchor goes from landing, with every version; an identity no longer referred
to by any landed record goes from the vault; sealed packages past their purpose's
retention go from the outbox. The removal is written to the disclosure log.

The warehouse and the vault are each a Target (a DuckDB file or a PostgreSQL database),
or a str naming a DuckDB file; the SQL is the same on both engines but for one form,
reading a text anchor as a date (`databases.text_as_date`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa

from ketenbrug.connectors import DatasetManifest, all_datasets
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.databases import PostgresTarget, Target, exists, text_as_date
from ketenbrug.failpoints import failpoint
from ketenbrug.privacy import IdentityVault, KeyStore, append_entry, key_version_of
from ketenbrug.privacy.checkpoints import checkpoint_hub_log
from ketenbrug.privacy.disclosure_log import LogLocation
from ketenbrug.warehouse import Connection, connect, ensure_landing, record_removal, table_exists
from ketenbrug.warehouse.schema import DOMAIN_PSEUDONYMS, FORMER_DOMAIN_PSEUDONYMS, landing_table

_PERIOD = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")
_PACKAGE_DATE = re.compile(r"_(\d{4}-\d{2}-\d{2})\.kbpkg$")


@dataclass
class RetentionResult:
    as_of: date
    records_removed: dict[str, int] = field(default_factory=dict)
    vault_persons_removed: int = 0
    packages_removed: int = 0


def cutoff(as_of: date, period: str) -> date:
    """`as_of` minus an ISO 8601 period of years, months and days; refuses other forms."""
    match = _PERIOD.fullmatch(period)
    if not match or not any(match.groups()):
        raise ValueError(f"retention period {period!r} is not of the form PnYnMnD")
    years, months, days = (int(g or 0) for g in match.groups())
    month_index = as_of.year * 12 + as_of.month - 1 - years * 12 - months
    year, month = divmod(month_index, 12)
    day = min(as_of.day, 28)  # the 29th-31st do not exist in every month; err on keeping
    return date.fromordinal(date(year, month + 1, day).toordinal() - days)


class RetentionRefused(Exception):
    """Retention would be unsafe now (linkage between vault and warehouse inconsistent)."""


def plan_retention(warehouse: Target | str, vault: Target | str, keys_dir: Path,
                   outbox: Path, as_of: date) -> RetentionResult:
    """What `apply_retention` would remove on `as_of`, per dataset, changing nothing."""
    return _retention(warehouse, vault, keys_dir, outbox, as_of, apply=False)


def apply_retention(warehouse: Target | str, vault: Target | str, keys_dir: Path,
                    outbox: Path, log_path: LogLocation, as_of: date) -> RetentionResult:
    """Remove everything past retention on `as_of`, book it in the ledger, log it.

    The ledger keeps received = staged + quarantined + unchanged + rejected + removed for
    every batch, so the next run's accounting passes and its marts are rebuilt without the
    removed.
    Refuses (RetentionRefused) while vault and warehouse are on different key versions (an
    interrupted key rotation), when every person would look unreferenced.
    """
    result = _retention(warehouse, vault, keys_dir, outbox, as_of, apply=True)
    append_entry(log_path, {
        "event": "retention", "as_of": as_of.isoformat(),
        "records_removed": result.records_removed,
        "vault_persons_removed": result.vault_persons_removed,
        "packages_removed": result.packages_removed,
    })
    checkpoint_hub_log(log_path, keys_dir)  # what was removed, and when, stays on record
    return result


def _retention(warehouse: Target | str, vault_at: Target | str, keys_dir: Path,
               outbox: Path, as_of: date, apply: bool) -> RetentionResult:
    result = RetentionResult(as_of)
    vault = IdentityVault(vault_at, KeyStore(keys_dir)) if exists(_target(vault_at)) else None
    held = vault.pseudonyms() if vault else set()
    with connect(warehouse, read_only=not apply) as con:
        if apply:
            con.begin()  # the warehouse's part is one transaction: all of it, or nothing
        for manifest in all_datasets():
            if apply:
                ensure_landing(con, manifest)
            elif not table_exists(con, landing_table(manifest)):
                continue
            due = _due(con, manifest, cutoff(as_of, manifest.retention))
            result.records_removed[f"{manifest.source}.{manifest.name}"] = len(due)
            if apply:
                _purge_dataset(con, manifest, due)
        still_referred = {p for (p,) in con.execute(_referenced_pseudonyms_sql(con)).fetchall()}
        _refuse_inconsistent_linkage(held, still_referred)  # on refusal nothing is committed
        if apply:
            for table in (DOMAIN_PSEUDONYMS, FORMER_DOMAIN_PSEUDONYMS):
                if table_exists(con, table):
                    con.execute(f"delete from {table} where person_pseudonym not in "
                                f"({_referenced_pseudonyms_sql(con)})")
            failpoint("retention:warehouse")
            con.commit()
    orphans = sorted(held - still_referred)
    if apply and vault:
        vault.purge(orphans)
    result.vault_persons_removed = len(orphans)
    result.packages_removed = _purge_packages(outbox, cutoff(
        as_of, load_purposes()["warm_handover"].retention), apply)
    return result


def _refuse_inconsistent_linkage(vault: set[str], warehouse_refs: set[str]) -> None:
    in_vault = {key_version_of(p) for p in vault}
    in_warehouse = {key_version_of(p) for p in warehouse_refs}
    if in_vault and in_warehouse and in_vault != in_warehouse:
        raise RetentionRefused(
            "vault pseudonyms are under key version(s) "
            f"{', '.join(f'v{v}' for v in sorted(in_vault))}, the warehouse's under "
            f"{', '.join(f'v{v}' for v in sorted(in_warehouse))}: a key rotation was "
            "interrupted. Finish it (`ketenbrug keys rotate`) before retention, which would "
            "otherwise take every person for unreferenced.")


def _target(at: Target | str) -> Target:
    return at if isinstance(at, PostgresTarget) else Path(at)


def _due(con: Connection, manifest: DatasetManifest, before: date) -> list[str]:
    """Record keys whose latest version is past retention (judged as the record is now)."""
    table, anchor = landing_table(manifest), manifest.retention_anchor
    anchor_date = text_as_date(con, f"left({anchor}, 10)")
    return [k for (k,) in con.execute(
        f"select _record_key from (select _record_key, {anchor}, row_number() over ("
        "partition by _record_key order by updated_at desc, _received_at desc) as rn "
        f"from {table}) as latest where rn = 1 and {anchor_date} < ?",
        [before]).fetchall()]


def _purge_dataset(con: Connection, manifest: DatasetManifest, due: list[str]) -> None:
    """Remove every version of the `due` records, booking each row against its batch."""
    if not due:
        return
    table = landing_table(manifest)
    con.register("due", pa.table({"k": due}))
    per_batch = dict(con.execute(
        f"select _batch_id, count(*) from {table} where _record_key in (select k from due) "
        "group by 1").fetchall())
    con.execute(f"delete from {table} where _record_key in (select k from due)")
    con.unregister("due")
    record_removal(con, manifest, per_batch)


def _referenced_pseudonyms_sql(con: Connection) -> str:
    """Every internal pseudonym some landed record still refers to.

    Only tables that exist are read: a plan on a warehouse that has not landed every
    dataset yet (on PostgreSQL, a missing table would abort the whole snapshot)."""
    tables = [landing_table(m) for m in all_datasets()
              if m.identity and table_exists(con, landing_table(m))]
    if not tables:
        return "select cast(null as varchar) as person_pseudonym where false"
    return " union ".join(f"select person_pseudonym from {t} "
                          "where person_pseudonym is not null" for t in tables)


def _purge_packages(outbox: Path, before: date, apply: bool) -> int:
    removed = 0
    for package in outbox.glob("*/*.kbpkg") if outbox.exists() else []:
        match = _PACKAGE_DATE.search(package.name)
        if match and date.fromisoformat(match.group(1)) < before:
            if apply:
                package.unlink()
            removed += 1
    return removed
