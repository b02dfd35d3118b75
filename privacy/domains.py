"""Re-keying into recipients' domains: the only place a pseudonym changes domain.

A domain is named after its recipient: a probation organisation's code (RN, SVG, LJR),
a municipality's CBS code (GM0363), `steering`; the privacy officer's is the audit
domain of privacy.subject_refs.

The pseudonym tables live in the warehouse (DuckDB or PostgreSQL); this module names them
and writes the current one. A rotation relinks both (privacy.rotation), retention purges
both (stewardship.retention).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ketenbrug.databases import refresh_statistics
from ketenbrug.privacy.keys import KeyRing
from ketenbrug.privacy.pseudonyms import Pseudonymiser, require_version

STEERING_DOMAIN = "steering"
REKEY_SLICE = 200_000  # pairs re-keyed and written at a time (sync_domain_pseudonyms)
# (person_pseudonym, domain, domain_pseudonym): each person in each recipient's domain.
DOMAIN_TABLE = "privacy.domain_pseudonyms"
# (person_pseudonym, domain, former_domain_pseudonym): what a recipient knew a person as
# before a rotation. Holding person_pseudonym, it is relinked by later rotations and
# purged by retention like every other table of persons.
FORMER_TABLE = "privacy.former_domain_pseudonyms"
DOMAIN_TABLE_DDL = (f"create schema if not exists privacy; create table if not exists "
                    f"{DOMAIN_TABLE} (person_pseudonym varchar, domain varchar, "
                    "domain_pseudonym varchar)")


def rekey(keyring: KeyRing, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Return (internal pseudonym, domain, domain pseudonym) for each (internal, domain) pair.

    Refuses (PseudonymError) an internal pseudonym of another key version: re-keying a
    stale pseudonym would hand a recipient an identifier that joins to nothing.
    """
    pairs = list(pairs)
    by_domain: dict[str, list[str]] = defaultdict(list)
    for internal, domain in pairs:
        require_version(internal, keyring.version)
        by_domain[domain].append(internal)
    rekeyed = {domain: iter(Pseudonymiser(keyring, domain).pseudonyms(internals))
               for domain, internals in by_domain.items()}
    return [(internal, domain, next(rekeyed[domain])) for internal, domain in pairs]


@dataclass(frozen=True)
class DomainChanges:
    added: int  # pairs re-keyed this time
    removed: int  # pairs no longer wanted (a person gone, or moved to another organisation)
    total: int  # pairs the table holds now


def sync_domain_pseudonyms(con: Any, keyring: KeyRing, wanted_sql: str,
                           parameters: Sequence[Any]) -> DomainChanges:
    """Make DOMAIN_TABLE hold exactly the (internal pseudonym, domain) pairs `wanted_sql`
    selects (columns person_pseudonym, domain), each with its domain pseudonym.

    Only pairs not yet in the table are re-keyed and only pairs no longer wanted are
    deleted: a day on which nobody new came costs two anti-joins in the database, not a
    re-key of every person. A pair's domain pseudonym follows from the pair alone (the
    internal pseudonym carries its key version), so a pair once computed stays right.
    `con` is a warehouse connection (DuckDB's, or databases.PostgresConnection); one
    transaction, and the table is never dropped: readers see the old rows or the new, and
    PostgreSQL keeps the dbt views that read the table.
    """
    con.execute(DOMAIN_TABLE_DDL)
    pair_matches = ("d.person_pseudonym = w.person_pseudonym and d.domain = w.domain")
    con.begin()
    try:
        con.execute("drop table if exists wanted_domain_pairs")
        con.execute(f"create temporary table wanted_domain_pairs as {wanted_sql}", parameters)
        # The pairs to re-key, numbered, so they are re-keyed and written a slice at a
        # time: a first run re-keys every client twice (2M pairs at 1M clients, 1.3 GB
        # as Python tuples at once).
        con.execute("drop table if exists missing_domain_pairs")
        con.execute(
            "create temporary table missing_domain_pairs as select row_number() over "  # noqa: S608
            "(order by domain, person_pseudonym) as n, person_pseudonym, domain "
            "from wanted_domain_pairs w where not exists "
            f"(select 1 from {DOMAIN_TABLE} d where {pair_matches})")
        (removed,) = con.execute(
            f"select count(*) from {DOMAIN_TABLE} d where not exists "  # noqa: S608
            f"(select 1 from wanted_domain_pairs w where {pair_matches})").fetchone()
        con.execute(f"delete from {DOMAIN_TABLE} d where not exists "  # noqa: S608
                    f"(select 1 from wanted_domain_pairs w where {pair_matches})")
        (added,) = con.execute("select count(*) from missing_domain_pairs").fetchone()
        for first in range(1, added + 1, REKEY_SLICE):
            _insert_rekeyed(con, rekey(keyring, con.execute(
                "select person_pseudonym, domain from missing_domain_pairs "
                "where n between ? and ? order by n",
                [first, first + REKEY_SLICE - 1]).fetchall()))
        con.execute("drop table missing_domain_pairs")
        con.execute("drop table wanted_domain_pairs")
        (total,) = con.execute(f"select count(*) from {DOMAIN_TABLE}").fetchone()  # noqa: S608
        con.commit()
    except BaseException:
        con.rollback()
        raise
    if added or removed:
        refresh_statistics(con, [DOMAIN_TABLE])
    return DomainChanges(added=int(added), removed=int(removed), total=int(total))


def _insert_rekeyed(con: Any, rows: Sequence[tuple[str, str, str]]) -> None:
    con.register("incoming_domain_pseudonyms", pa.table({
        "person_pseudonym": pa.array([r[0] for r in rows], pa.string()),
        "domain": pa.array([r[1] for r in rows], pa.string()),
        "domain_pseudonym": pa.array([r[2] for r in rows], pa.string())}))
    con.execute(f"insert into {DOMAIN_TABLE} "  # noqa: S608 - a constant name
                "(person_pseudonym, domain, domain_pseudonym) "
                "select person_pseudonym, domain, domain_pseudonym "
                "from incoming_domain_pseudonyms")
    con.unregister("incoming_domain_pseudonyms")
