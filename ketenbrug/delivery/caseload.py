"""A probation officer's caseload and client file, as the portal shows them.

Always of the officer's own organisation, in its pseudonym domain: the organisation is
the caller's (the portal passes the logged-in principal's), and every query is bound to
it. A client is found by the case number the officer knows (`RN-001426`, the source's
`client_id`) or by their pseudonym (also one from before a key rotation). Every read that
returns clients goes to the disclosure log with the persons it showed; the actor is
whoever is acting (privacy/actor.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ketenbrug import warehouse
from ketenbrug.config import Settings
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.databases import fetch_rows, marts_schema
from ketenbrug.delivery.profile_reads import PURPOSE, current_pseudonym
from ketenbrug.privacy import KeyStore, PseudonymError, append_entry
from ketenbrug.privacy.checkpoints import checkpoint_hub_log
from ketenbrug.privacy.subject_refs import subject_refs
from ketenbrug.warehouse.schema import DOMAIN_PSEUDONYMS

PAGE_SIZE = 25
CASE_NUMBER = re.compile(r"(RN|SVG|LJR)-\d{1,9}", re.IGNORECASE)
BASICS = ("valid_id", "housing", "income", "debts", "care")
SOURCE_DATASETS = ["probation.clients", "probation.orders", "dji.detentions",
                   "wijkteam.involvements", "care.episodes"]
# What the caseload list shows of each client (the file shows the whole profile).
LIST_COLUMNS = ("client_pseudonym", "risc_level", "active_orders_count", "active_order_types",
                "detention_status", "expected_release_date",
                *(f"{b}_status" for b in BASICS))
DETENTION_STATUSES = ("none", "detained", "released")
# The ready-made filters of the caseload list: name -> (label, SQL condition on `p`).
FILTERS = {
    "missing_basics": ("a basic condition not arranged",
                       " or ".join(f"p.{b}_status = 'not_arranged'" for b in BASICS)),
    "open_orders": ("with active orders", "p.active_orders_count > 0"),
    "releasing": ("detained, with an expected release date",
                  "p.detention_status = 'detained' and p.expected_release_date is not null"),
}


class ClientNotFound(LookupError):
    """No client of the officer's organisation answers to what was asked; says why."""


@dataclass
class Caseload:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


@dataclass
class ClientFile:
    profile: dict[str, Any]
    case_numbers: list[str]
    orders: list[dict[str, Any]] = field(default_factory=list)
    source_as_of: dict[str, str | None] = field(default_factory=dict)
    former_pseudonym: str | None = None  # the one asked for, when a rotation replaced it


def read_caseload(settings: Settings, organisation: str, *, detention: str = "",
                  condition: str = "", page: int = 1) -> Caseload:
    """One page of the organisation's clients, ordered by pseudonym; logged."""
    where, params = ["p.organisation = ?"], [organisation]
    if detention in DETENTION_STATUSES:
        where.append("p.detention_status = ?")
        params.append(detention)
    if condition in FILTERS:
        where.append(f"({FILTERS[condition][1]})")
    with warehouse.connect(settings.warehouse, read_only=True, wait_s=2.0) as con:
        schema = marts_schema(con)
        clause = " and ".join(where)
        total_row = con.execute(f"select count(*) from {schema}.client_profiles p "
                                f"where {clause}", params).fetchone()
        total = int(total_row[0]) if total_row else 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        _, rows = fetch_rows(
            con, f"select {', '.join('p.' + c for c in LIST_COLUMNS)}, "
            f"d.person_pseudonym as _internal, {_case_numbers_sql(schema)} as case_numbers "
            f"from {schema}.client_profiles p join {DOMAIN_PSEUDONYMS} d "
            "on d.domain_pseudonym = p.client_pseudonym and d.domain = p.organisation "
            f"where {clause} order by p.client_pseudonym limit ? offset ?",
            [*params, PAGE_SIZE, (page - 1) * PAGE_SIZE])
    _log_read(settings, organisation, rows, [*LIST_COLUMNS, "case_numbers"])
    return Caseload(rows, total, page, pages)


def find_client(settings: Settings, organisation: str, asked: str) -> str:
    """The current pseudonym of the organisation's client with case number or pseudonym
    `asked`; ClientNotFound (saying why) otherwise. Not logged: it shows nobody."""
    asked = asked.strip()
    with warehouse.connect(settings.warehouse, read_only=True, wait_s=2.0) as con:
        schema = marts_schema(con)
        if CASE_NUMBER.fullmatch(asked):
            found = con.execute(
                f"select d.domain_pseudonym from {schema}.stg_probation__clients c "
                f"join {DOMAIN_PSEUDONYMS} d on d.person_pseudonym = c.person_pseudonym "
                "and d.domain = c.organisation where c.organisation = ? and c.client_id = ?",
                [organisation, asked.upper()]).fetchone()
            if found is None:
                raise ClientNotFound(f"no client of {organisation} has case number "
                                     f"{asked.upper()}")
            return str(found[0])
        try:
            current = current_pseudonym(con, settings, organisation, asked)
        except PseudonymError as refused:
            raise ClientNotFound(f"{asked!r} is neither a case number of {organisation} "
                                 f"(like {organisation}-001426) nor a client pseudonym: "
                                 f"{refused}") from None
        exists = con.execute(f"select 1 from {schema}.client_profiles "
                             "where organisation = ? and client_pseudonym = ?",
                             [organisation, current]).fetchone()
    if exists is None:
        raise ClientNotFound(f"no client of {organisation} has pseudonym {asked}")
    return current


def read_client_file(settings: Settings, organisation: str, pseudonym: str) -> ClientFile:
    """The whole profile of one of the organisation's clients, their open orders, case
    numbers and how fresh each source is; logged. ClientNotFound for anyone else."""
    current = find_client(settings, organisation, pseudonym)
    with warehouse.connect(settings.warehouse, read_only=True, wait_s=2.0) as con:
        schema = marts_schema(con)
        columns, rows = fetch_rows(
            con, f"select p.*, d.person_pseudonym as _internal, "
            f"{_case_numbers_sql(schema)} as case_numbers "
            f"from {schema}.client_profiles p join {DOMAIN_PSEUDONYMS} d "
            "on d.domain_pseudonym = p.client_pseudonym and d.domain = p.organisation "
            "where p.organisation = ? and p.client_pseudonym = ?", [organisation, current])
        _, orders = fetch_rows(
            con, f"select order_type, order_status, start_date, end_date "
            f"from {schema}.client_orders where organisation = ? and client_pseudonym = ? "
            "order by start_date, client_order_id", [organisation, current])
        as_of = warehouse.published_as_of(con)
    if not rows:
        raise ClientNotFound(f"no client of {organisation} has pseudonym {pseudonym}")
    profile = rows[0]
    _log_read(settings, organisation, rows,
              [c for c in columns if c != "_internal"] + ["orders"])
    case_numbers = (profile.pop("case_numbers") or "").split(",")
    return ClientFile(profile, [c for c in case_numbers if c], orders,
                      {ds: as_of.get(ds) for ds in SOURCE_DATASETS},
                      pseudonym if pseudonym != current else None)


def _case_numbers_sql(schema: str) -> str:
    # The organisation's own case numbers of the person (one per registration).
    return (f"(select string_agg(distinct c.client_id, ',' order by c.client_id) "
            f"from {schema}.stg_probation__clients c where c.organisation = p.organisation "
            "and c.person_pseudonym = d.person_pseudonym)")


def _log_read(settings: Settings, organisation: str, rows: list[dict], fields: list[str]
              ) -> None:
    internal = [row.pop("_internal") for row in rows]
    if not rows:
        return  # nobody shown, nothing disclosed
    append_entry(settings.disclosure_log, {
        "event": "profile_read", "recipient": f"probation_organisation:{organisation}",
        "purpose": PURPOSE, "legal_basis": load_purposes()[PURPOSE].legal_basis,
        "fields": fields, "persons": len(rows), "source_datasets": SOURCE_DATASETS,
        "subject_refs": subject_refs(KeyStore(settings.keys_dir), internal),
    })
    checkpoint_hub_log(settings.disclosure_log, settings.keys_dir)
