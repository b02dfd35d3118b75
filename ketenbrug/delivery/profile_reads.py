"""A probation officer's read of client profiles: own organisation only, always logged.

The warehouse is `settings.warehouse`, a DuckDB file or a PostgreSQL database; the
profiles are in whichever schema dbt built the marts in there (`marts_schema`).
"""

from __future__ import annotations

from ketenbrug import warehouse
from ketenbrug.config import Settings
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.databases import fetch_rows, marts_schema
from ketenbrug.privacy import KeyStore, PseudonymError, append_entry, key_version_of
from ketenbrug.privacy.checkpoints import checkpoint_hub_log
from ketenbrug.privacy.rotation import current_domain_pseudonym
from ketenbrug.privacy.subject_refs import subject_refs
from ketenbrug.warehouse.schema import DOMAIN_PSEUDONYMS

PURPOSE = "justice_profile"


def read_profiles(settings: Settings, organisation: str, client_pseudonym: str | None = None,
                  limit: int = 20) -> list[dict]:
    """The organisation's profiles (one client's if given); the read goes to the log.

    A client pseudonym from before a key rotation is looked up under the client's
    current one (the row shows it); one that is not a pseudonym of this organisation's
    clients, then or now, is refused (PseudonymError) rather than answered with nothing.
    """
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        if client_pseudonym:
            client_pseudonym = current_pseudonym(con, settings, organisation, client_pseudonym)
        columns, rows = fetch_rows(
            con,
            "select p.*, d.person_pseudonym as _internal "  # noqa: S608 (schema from config)
            f"from {marts_schema(con)}.client_profiles p "
            f"join {DOMAIN_PSEUDONYMS} d on d.domain_pseudonym = p.client_pseudonym "
            "and d.domain = p.organisation where p.organisation = ? "
            "and (? is null or p.client_pseudonym = ?) order by p.client_pseudonym limit ?",
            [organisation, client_pseudonym, client_pseudonym, limit])
    internal = [row.pop("_internal") for row in rows]
    append_entry(settings.disclosure_log, {
        "event": "profile_read", "recipient": f"probation_organisation:{organisation}",
        "purpose": PURPOSE, "legal_basis": load_purposes()[PURPOSE].legal_basis,
        "fields": [c for c in columns if c != "_internal"], "persons": len(rows),
        "source_datasets": ["probation.clients", "probation.orders", "dji.detentions",
                            "wijkteam.involvements", "care.episodes"],
        "subject_refs": subject_refs(KeyStore(settings.keys_dir), internal),
    })
    checkpoint_hub_log(settings.disclosure_log, settings.keys_dir)
    return rows


def current_pseudonym(con, settings: Settings, organisation: str,
                      client_pseudonym: str) -> str:
    """The client's pseudonym now, for one of any key version (PseudonymError: none)."""
    given, version = key_version_of(client_pseudonym), KeyStore(settings.keys_dir).current().version
    if given == version:
        return client_pseudonym
    current = current_domain_pseudonym(con, organisation, client_pseudonym)
    if current is None:
        raise PseudonymError(f"{client_pseudonym} is of key version {given} and was never the "
                             f"pseudonym of a client of {organisation}; the hub is on version "
                             f"{version}")
    return current
