"""Retention: remove what has passed its retention period, everywhere, and say so.

Each dataset's manifest names its period (ISO 8601, e.g. P6M) and the field that starts
it (e.g. a detention's actual release date). A record whose latest version is past
period + anchor goes from landing, with every version; an identity no longer referred
to by any landed record goes from the vault; sealed packages past their purpose's
retention go from the outbox. The removal is written to the disclosure log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from ketenbrug import warehouse
from ketenbrug.connectors import DatasetManifest, all_datasets
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.privacy import IdentityVault, KeyStore, append_entry
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


def apply_retention(warehouse_path: Path, vault_path: Path, keys_dir: Path, outbox: Path,
                    log_path: Path, as_of: date) -> RetentionResult:
    """Remove everything past retention on `as_of`; return what was removed."""
    result = RetentionResult(as_of)
    with warehouse.connect(warehouse_path) as con:
        for manifest in all_datasets():
            warehouse.ensure_landing(con, manifest)
            result.records_removed[f"{manifest.source}.{manifest.name}"] = _purge_dataset(
                con, manifest, cutoff(as_of, manifest.retention))
        still_referred = {p for (p,) in con.execute(_referenced_pseudonyms_sql()).fetchall()}
        for table in (DOMAIN_PSEUDONYMS, FORMER_DOMAIN_PSEUDONYMS):
            if warehouse.table_exists(con, table):
                con.execute(f"delete from {table} where person_pseudonym not in "  # noqa: S608
                            f"({_referenced_pseudonyms_sql()})")
    if vault_path.exists():
        vault = IdentityVault(vault_path, KeyStore(keys_dir))
        orphans = sorted(vault.pseudonyms() - still_referred)
        vault.purge(orphans)
        result.vault_persons_removed = len(orphans)
    result.packages_removed = _purge_packages(outbox, cutoff(
        as_of, load_purposes()["warm_handover"].retention))
    append_entry(log_path, {
        "event": "retention", "as_of": as_of.isoformat(),
        "records_removed": result.records_removed,
        "vault_persons_removed": result.vault_persons_removed,
        "packages_removed": result.packages_removed,
    })
    return result


def _purge_dataset(con: duckdb.DuckDBPyConnection, manifest: DatasetManifest,
                   before: date) -> int:
    table, anchor = landing_table(manifest), manifest.retention_anchor
    # The latest version decides: a record corrected after its anchor is judged as it is now.
    due = (f"select _record_key from (select _record_key, {anchor}, row_number() over ("
           f"partition by _record_key order by updated_at desc, _received_at desc) as rn "
           f"from {table}) where rn = 1 and try_cast(left({anchor}, 10) as date) < ?")
    row = con.execute(f"select count(*) from ({due})", [before]).fetchone()
    assert row is not None  # count(*) always returns a row
    (count,) = row
    con.execute(f"delete from {table} where _record_key in ({due})", [before])
    return count


def _referenced_pseudonyms_sql() -> str:
    """Every internal pseudonym some landed record still refers to."""
    tables = [landing_table(m) for m in all_datasets() if m.identity]
    return " union ".join(f"select person_pseudonym from {t} "
                          "where person_pseudonym is not null" for t in tables)


def _purge_packages(outbox: Path, before: date) -> int:
    removed = 0
    for package in outbox.glob("*/*.kbpkg") if outbox.exists() else []:
        match = _PACKAGE_DATE.search(package.name)
        if match and date.fromisoformat(match.group(1)) < before:
            package.unlink()
            removed += 1
    return removed
