"""Domain pseudonyms are kept in step with the clients, re-keying only who is new: the
table after any day equals a full re-key of that day's clients."""

from __future__ import annotations

import duckdb
import pytest

from ketenbrug.privacy.domains import DOMAIN_TABLE, rekey, sync_domain_pseudonyms
from ketenbrug.privacy.pseudonyms import INTERNAL_DOMAIN, PseudonymError, Pseudonymiser

WANTED = ("select person_pseudonym, organisation as domain from clients where organisation "
          "is not null union select person_pseudonym, cast(? as varchar) from clients")


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute("create table clients (person_pseudonym varchar, organisation varchar)")
        yield con


def _internal(keyring, *numbers: int) -> list[str]:
    return Pseudonymiser(keyring, INTERNAL_DOMAIN).pseudonyms([f"bsn:{n:09d}" for n in numbers])


def _set_clients(con, rows: list[tuple[str, str | None]]) -> None:
    con.execute("delete from clients")
    con.executemany("insert into clients values (?, ?)", rows)


def _table(con) -> set[tuple[str, str, str]]:
    return set(con.execute(f"select * from {DOMAIN_TABLE}").fetchall())


def _full_rekey(con, keyring) -> set[tuple[str, str, str]]:
    return set(rekey(keyring, con.execute(WANTED, ["steering"]).fetchall()))


def test_only_new_pairs_are_rekeyed_and_gone_ones_removed(con, keyring):
    anna, bram, cees = _internal(keyring, 1, 2, 3)
    _set_clients(con, [(anna, "RN"), (bram, "SVG")])
    first = sync_domain_pseudonyms(con, keyring, WANTED, ["steering"])
    assert (first.added, first.removed, first.total) == (4, 0, 4)
    assert _table(con) == _full_rekey(con, keyring)

    unchanged = sync_domain_pseudonyms(con, keyring, WANTED, ["steering"])
    assert (unchanged.added, unchanged.removed, unchanged.total) == (0, 0, 4)

    # Bram moves to another organisation, Anna leaves, Cees comes without one.
    _set_clients(con, [(bram, "LJR"), (cees, None)])
    moved = sync_domain_pseudonyms(con, keyring, WANTED, ["steering"])
    assert (moved.added, moved.removed, moved.total) == (2, 3, 3)
    assert _table(con) == _full_rekey(con, keyring)
    assert not {row for row in _table(con) if row[0] == anna}


def test_a_failure_leaves_the_table_as_it_was(con, keyring):
    (anna,) = _internal(keyring, 1)
    _set_clients(con, [(anna, "RN")])
    sync_domain_pseudonyms(con, keyring, WANTED, ["steering"])
    before = _table(con)
    # Anna's pairs are deleted before the re-key refuses a pseudonym of another key version.
    _set_clients(con, [("v99-" + "0" * 32, "RN")])
    with pytest.raises(PseudonymError, match="key version 99"):
        sync_domain_pseudonyms(con, keyring, WANTED, ["steering"])
    assert _table(con) == before


def test_pairs_rekeyed_a_slice_at_a_time_give_the_same_table(con, keyring, monkeypatch):
    from ketenbrug.privacy import domains

    monkeypatch.setattr(domains, "REKEY_SLICE", 2)
    people = _internal(keyring, *range(1, 8))
    _set_clients(con, [(p, "RN" if n % 2 else "SVG") for n, p in enumerate(people)])
    changes = sync_domain_pseudonyms(con, keyring, WANTED, ["steering"])
    assert (changes.added, changes.total) == (14, 14)
    assert _table(con) == _full_rekey(con, keyring)
