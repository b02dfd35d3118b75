"""Subject access (GDPR art. 15): everything held about one person, and every disclosure.

Found by recomputing the person's pseudonyms (from the BSN, from the name and date of
birth the vault holds, and their predecessors before key rotations) — never by
searching clear identities, which the warehouse does not have.

Vault and warehouse are the settings' Targets (DuckDB files or PostgreSQL databases).
The warehouse is read in one read-only unit of work, so the pseudonyms go in as one
array parameter: a PostgreSQL read-only transaction cannot create the temporary table
a registered Arrow table would need.
"""

from __future__ import annotations

from ketenbrug import warehouse
from ketenbrug.config import Settings
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.databases import Target, exists, fetch_rows, marts_schema
from ketenbrug.privacy import (
    INTERNAL_DOMAIN,
    IdentityVault,
    KeyStore,
    Pseudonymiser,
    append_entry,
    linkage_basis,
)
from ketenbrug.privacy.bsn import parse_bsn
from ketenbrug.privacy.checkpoints import checkpoint_hub_log
from ketenbrug.privacy.disclosure_log import read_log_contents
from ketenbrug.privacy.subject_refs import subject_refs
from ketenbrug.warehouse.schema import DOMAIN_PSEUDONYMS

PURPOSE = "privacy_audit"
# What the subject is told of each disclosure of them: what went to whom, when, why, from
# which sources. A whitelist, so that nothing naming the other persons of the same entry
# (their `subject_refs`) - nor any field added to entries later - reaches the report.
DISCLOSURE_FIELDS = ("seq", "at", "event", "recipient", "purpose", "legal_basis", "fields",
                     "source_datasets", "persons", "run_id", "package", "channel",
                     "billing_month")


def subject_report(bsn: str, settings: Settings) -> dict:
    """The report for `bsn` as typed (spaces or dots between digit groups allowed).

    Refuses (ValueError, saying why: not 9 digits, fails the eleven-test, other
    characters) what `privacy.bsn.parse_bsn` refuses. Holds the person's own data and the
    disclosures of them, never a reference to another person of the same disclosure
    (`persons` says how many there were). Damaged lines in the disclosure log are skipped
    and listed in the report (`disclosure_log_damaged_lines`): the disclosures found may
    then be incomplete.
    """
    bsn = parse_bsn(bsn)
    keys = KeyStore(settings.keys_dir)
    vault = IdentityVault(settings.vault, keys)
    internal = Pseudonymiser(keys.current(), INTERNAL_DOMAIN)
    bsn_basis = linkage_basis({"bsn": bsn})
    assert bsn_basis is not None  # a BSN always is a linkage basis
    current = {internal.pseudonym(bsn_basis[1])}
    held = vault.fetch_all_sources(sorted(current))
    identity = {f: v for _, f, _, v in held}
    name_basis = linkage_basis({k: identity.get(k) for k in ("surname", "given_name",
                                                            "birth_date")})
    if name_basis:  # records from sources that gave no BSN link on name and birth date
        current.add(internal.pseudonym(name_basis[1]))
        held = vault.fetch_all_sources(sorted(current))
    every = current | _predecessors(vault, current)
    records, profiles = _warehouse_rows(settings.warehouse, every)
    refs = set(subject_refs(keys, every))
    log = read_log_contents(settings.disclosure_log)
    disclosures = [_as_told(e) for e in log.entries if refs & set(e.get("subject_refs", []))]
    append_entry(settings.disclosure_log, {
        "event": "subject_access", "recipient": "privacy_officer", "purpose": PURPOSE,
        "legal_basis": load_purposes()[PURPOSE].legal_basis, "persons": 1,
        "fields": sorted({f for _, f, _, _ in held}), "subject_refs": sorted(refs),
    })
    checkpoint_hub_log(settings.disclosure_log, settings.keys_dir)
    return {
        "identity_held": [{"field": f, "source": s, "value": v} for _, f, s, v in held],
        "pseudonyms": sorted(every),
        "records": records,
        "profiles": profiles,
        "disclosures": disclosures,
        # A damaged line may have held a disclosure of this person: say so, never guess.
        "disclosure_log_damaged_lines": [d.line for d in log.damaged],
    }


def _as_told(entry: dict) -> dict:
    return {k: entry[k] for k in DISCLOSURE_FIELDS if k in entry}


def _predecessors(vault: IdentityVault, pseudonyms: set[str]) -> set[str]:
    back = {new: old for old, new, _, _ in vault.lineage()}
    found: set[str] = set()
    frontier = set(pseudonyms)
    while frontier:
        frontier = {back[p] for p in frontier if p in back} - found
        found |= frontier
    return found


# The person's pseudonyms, bound as one array (portable: DuckDB and PostgreSQL).
_SUBJECT = "(select unnest(cast(? as varchar[])))"


def _warehouse_rows(target: Target, pseudonyms: set[str]) -> tuple[dict, list]:
    records: dict[str, list[dict]] = {}
    profiles: list[dict] = []
    if not exists(target):
        return records, profiles
    subject = [sorted(pseudonyms)]
    with warehouse.connect(target, read_only=True) as con:
        tables = con.execute(
            "select c.table_schema, c.table_name from information_schema.columns c join "
            "information_schema.tables t using (table_schema, table_name) where "
            "c.column_name = 'person_pseudonym' and t.table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            _, rows = fetch_rows(con, f'select * from "{schema}"."{table}" where '  # noqa: S608
                                 f"person_pseudonym in {_SUBJECT}", subject)
            if rows:
                records[f"{schema}.{table}"] = rows
        client_profiles = f"{marts_schema(con)}.client_profiles"
        if DOMAIN_PSEUDONYMS in records and warehouse.table_exists(con, client_profiles):
            _, profiles = fetch_rows(
                con, f"select p.* from {client_profiles} p join {DOMAIN_PSEUDONYMS} d "  # noqa: S608
                "on d.domain_pseudonym = p.client_pseudonym and d.domain = p.organisation "
                f"where d.person_pseudonym in {_SUBJECT}", subject)
    return records, profiles
