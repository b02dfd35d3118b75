"""Key rotation that keeps linkage: history is re-pseudonymised under the new key.

Steps, each one transaction, each safe to run again after a crash:
1. a new master-key version becomes current (unless an interrupted rotation left one);
2. the vault is decrypted under the old versions, every person's new internal pseudonym
   is computed from the same basis (BSN, or the documented name and birth-date
   combination), every value is resealed under the new key, and old → new is kept in
   the vault's pseudonym lineage;
3. the warehouse is relinked: every table holding `person_pseudonym` moves to the new
   pseudonyms, and recipients' domain pseudonyms are re-derived, the ones they replace
   kept as former pseudonyms so a recipient's older references still resolve. Marts
   built from them are rebuilt by the next hub run. A municipality's `person_ref` is
   not kept in these tables (it is re-keyed at delivery); its next package carries its
   old -> new map, from this lineage and the older keys (delivery/person_ref_changes.py).

Vault and warehouse are each a Target: a DuckDB file or a PostgreSQL database. The SQL
is written once for both (information_schema, `split_part`, counts taken before an
update rather than DuckDB's row count from it).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ketenbrug.databases import Target, exists, open_database
from ketenbrug.failpoints import failpoint
from ketenbrug.privacy.domains import DOMAIN_TABLE, FORMER_TABLE, rekey
from ketenbrug.privacy.keys import KeyStore
from ketenbrug.privacy.pseudonyms import INTERNAL_DOMAIN, Pseudonymiser, linkage_basis
from ketenbrug.privacy.vault import IdentityVault


@dataclass(frozen=True)
class RotationReport:
    from_version: int
    to_version: int
    persons_relinked: int
    values_resealed: int
    warehouse_rows_relinked: dict[str, int]


class LinkageInconsistent(Exception):
    """Vault, warehouse and current key disagree: a key rotation has not finished."""


@dataclass(frozen=True)
class LinkageState:
    """The key versions in use: the current key's, and those the vault's values and the
    warehouse's pseudonyms are under. A rotation has finished when they all agree."""

    current_key: int | None
    vault: tuple[int, ...]
    warehouse: tuple[int, ...]

    @property
    def consistent(self) -> bool:
        used = set(self.vault) | set(self.warehouse)
        return not used or (self.current_key is not None and used == {self.current_key})

    def describe(self) -> str:
        def versions(vs: tuple[int, ...]) -> str:
            return ", ".join(f"v{v}" for v in vs) or "none yet"
        return (f"current key v{self.current_key}, vault under {versions(self.vault)}, "
                f"warehouse under {versions(self.warehouse)}")

    def require_consistent(self, action: str) -> None:
        """Refuse (LinkageInconsistent) `action` while a rotation is unfinished."""
        if not self.consistent:
            raise LinkageInconsistent(
                f"{action} refused: {self.describe()}. A key rotation was interrupted; "
                "run `ketenbrug keys rotate` to finish it.")


def linkage_state(keys: KeyStore, vault: Target, warehouse: Target) -> LinkageState:
    """Read which key versions vault and warehouse are under (read-only)."""
    current = keys.current().version if keys.status() else None
    return LinkageState(current, tuple(sorted(vault_key_versions(vault))),
                        tuple(sorted(warehouse_key_versions(warehouse))))


def rotate_keys(keys: KeyStore, vault: Target, warehouse: Target) -> RotationReport:
    """Rotate to a new key version and carry the vault and warehouse over to it.

    A journal kept in the data itself: each step is one transaction, and the state says
    which step an interrupted rotation stopped before, so running this again finishes
    that rotation instead of starting another. The steps: a new key version; the vault
    resealed under it with every person's new pseudonym (old -> new kept in the vault's
    lineage); the warehouse relinked from that lineage.
    """
    state = linkage_state(keys, vault, warehouse)
    current = keys.current()
    if state.vault and max(state.vault) < current.version:
        new, from_version = current, max(state.vault)  # stopped before the reseal
    elif state.vault and state.warehouse and min(state.warehouse) < max(state.vault):
        # Stopped after the reseal, before the relink: the lineage says old -> new.
        from_version, to_version = min(state.warehouse), max(state.vault)
        lineage = {old: new_p for old, new_p, f, t in IdentityVault(vault, keys).lineage()
                   if (f, t) == (from_version, to_version)}
        relinked = relink_warehouse(warehouse, lineage, keys)
        return RotationReport(from_version, to_version, len(lineage), 0, relinked)
    else:
        new, from_version = keys.rotate(), current.version
    sealing = IdentityVault(vault, keys)  # opened under the new current key, to seal
    values = list(sealing.decrypt_all())
    lineage = _new_pseudonyms(values, Pseudonymiser(new, INTERNAL_DOMAIN))
    resealed = sealing.reseal_all(
        ((lineage[p], field, source, value) for p, field, source, value in values),
        lineage, from_version)
    failpoint("rotation:resealed")
    relinked = relink_warehouse(warehouse, lineage, keys)
    return RotationReport(from_version, new.version, len(lineage), resealed, relinked)


def relink_warehouse(warehouse: Target, lineage: dict[str, str],
                     keys: KeyStore) -> dict[str, int]:
    """Move every `person_pseudonym` in the warehouse from old to new; re-derive domains.

    Returns rows changed per table. Idempotent: rows already moved do not match again.
    """
    if not exists(warehouse) or not lineage:
        return {}
    links = pa.table({"old_pseudonym": list(lineage), "new_pseudonym": list(lineage.values())})
    changed: dict[str, int] = {}
    with open_database(warehouse) as con:
        con.register("links", links)
        con.begin()
        for schema, table in _tables_with_pseudonyms(con):
            name = f'"{schema}"."{table}"'
            # Counted first, in the same transaction: DuckDB's update answers its row
            # count, PostgreSQL's (through the shared connection API) nothing.
            moving = con.execute(
                f"select count(*) from {name} join links "  # noqa: S608 (catalog names)
                "on person_pseudonym = links.old_pseudonym").fetchone()
            assert moving is not None  # count(*) always returns a row
            con.execute(
                f"update {name} set person_pseudonym = links.new_pseudonym from links "  # noqa: S608
                f"where {name}.person_pseudonym = links.old_pseudonym")
            changed[f"{schema}.{table}"] = moving[0]
        _rederive_domains(con, keys)
        con.commit()
    return changed


def _new_pseudonyms(values, internal: Pseudonymiser) -> dict[str, str]:
    identities: dict[str, dict[str, str]] = defaultdict(dict)
    for pseudonym, field, _source, value in values:
        identities[pseudonym].setdefault(field, value)
    bases = []
    for identity in identities.values():
        basis = linkage_basis(identity)
        if basis is None:  # cannot happen for values the boundary stored; refuse loudly
            raise ValueError("a vault entry has neither a BSN nor the linkage combination")
        bases.append(basis[1])
    return dict(zip(identities, internal.pseudonyms(bases), strict=True))


def _rederive_domains(con: Any, keys: KeyStore) -> None:
    if not _has_table(con, DOMAIN_TABLE):
        return
    pairs = con.execute(f"select distinct person_pseudonym, domain from {DOMAIN_TABLE}").fetchall()  # noqa: S608
    rows = rekey(keys.current(), pairs)
    con.register("rekeyed", pa.table({"person_pseudonym": [r[0] for r in rows],
                                      "domain": [r[1] for r in rows],
                                      "domain_pseudonym": [r[2] for r in rows]}))
    con.execute(f"create table if not exists {FORMER_TABLE} (person_pseudonym varchar, "
                "domain varchar, former_domain_pseudonym varchar)")
    con.execute(f"insert into {FORMER_TABLE} select d.person_pseudonym, d.domain, "  # noqa: S608
                f"d.domain_pseudonym from {DOMAIN_TABLE} d join rekeyed r "
                "using (person_pseudonym, domain) "
                "where d.domain_pseudonym <> r.domain_pseudonym and not exists (select 1 "
                f"from {FORMER_TABLE} f where f.domain = d.domain "
                "and f.former_domain_pseudonym = d.domain_pseudonym)")
    con.execute(f"delete from {DOMAIN_TABLE}")  # noqa: S608
    con.execute(f"insert into {DOMAIN_TABLE} select person_pseudonym, domain, "  # noqa: S608
                "domain_pseudonym from rekeyed")


def current_domain_pseudonym(con: Any, domain: str,
                             former: str) -> str | None:
    """The person's pseudonym in `domain` now, for one they had there before a rotation."""
    if not _has_table(con, FORMER_TABLE):  # no rotation yet
        return None
    found = con.execute(
        f"select d.domain_pseudonym from {FORMER_TABLE} f join {DOMAIN_TABLE} d "  # noqa: S608
        "using (person_pseudonym, domain) where f.domain = ? and f.former_domain_pseudonym = ?",
        [domain, former]).fetchone()
    return found[0] if found else None


def _has_table(con: Any, qualified: str) -> bool:
    schema, table = qualified.split(".")
    row = con.execute("select count(*) from information_schema.tables "
                      "where table_schema = ? and table_name = ?", [schema, table]).fetchone()
    assert row is not None  # count(*) always returns a row
    return bool(row[0])


def _tables_with_pseudonyms(con: Any) -> list[tuple[str, str]]:
    return con.execute(
        "select c.table_schema, c.table_name from information_schema.columns c "
        "join information_schema.tables t using (table_schema, table_name) "
        "where c.column_name = 'person_pseudonym' and t.table_type = 'BASE TABLE' "
        "order by 1, 2").fetchall()


_VERSION_PREFIX = re.compile(r"v([0-9]+)")


def warehouse_key_versions(warehouse: Target) -> list[int]:
    """The key versions of every person pseudonym the warehouse holds."""
    if not exists(warehouse):
        return []
    found: set[int] = set()
    with open_database(warehouse, read_only=True) as con:
        for schema, table in _tables_with_pseudonyms(con):
            # `v<version>-<pseudonym>`: the prefix in SQL (split_part is on both engines),
            # its number here.
            prefixes = con.execute(
                "select distinct split_part(person_pseudonym, '-', 1) "  # noqa: S608
                f'from "{schema}"."{table}" where person_pseudonym is not null').fetchall()
            found |= {int(m.group(1)) for (p,) in prefixes
                      if (m := _VERSION_PREFIX.fullmatch(p or ""))}
    return sorted(found)


def vault_key_versions(vault: Target) -> list[int]:
    """The key versions the vault's values are sealed under (none before its first run)."""
    if not exists(vault):
        return []
    with open_database(vault, read_only=True) as con:
        # Wherever the vault keeps its table (DuckDB's main, a schema of its own on
        # PostgreSQL); looked up rather than tried, since a failed statement would end a
        # PostgreSQL transaction.
        where = con.execute("select table_schema from information_schema.tables "
                            "where table_name = 'identity_fields' "
                            "order by table_schema").fetchone()
        if where is None:
            return []
        return sorted(v for (v,) in con.execute(
            f'select distinct key_version from "{where[0]}".identity_fields').fetchall())  # noqa: S608
