"""Rotation keeps linkage: records from before and after a rotation still join."""

import duckdb
import pytest

from ketenbrug.privacy import (
    INTERNAL_DOMAIN,
    IdentityRecord,
    IdentityVault,
    KeyStore,
    Pseudonymiser,
    VaultError,
    key_version_of,
    linkage_basis,
    rotate_keys,
)
from ketenbrug.privacy.boundary import Boundary, IncomingRecord
from ketenbrug.privacy.domains import rekey
from ketenbrug.privacy.rotation import current_domain_pseudonym

PEOPLE = [
    {"bsn": "111222333", "given_name": "Anna", "surname": "Jansen", "birth_date": "1980-01-02"},
    {"bsn": "123456782", "given_name": "Bram", "surname": "de Vries", "birth_date": "1975-06-30"},
]
WITHOUT_BSN = {"given_name": "Chris", "surname": "Bakker", "birth_date": "1999-12-31"}


def _land(keys: KeyStore, vault_path, warehouse_path, source, identities):
    boundary = Boundary(keys.init(), IdentityVault(vault_path, keys), source)
    rows = boundary.split([IncomingRecord(i, {"note": "x"}, i) for i in identities],
                          has_identity=True).rows
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("create schema if not exists landing")
        con.execute(f"create table if not exists landing.{source} "
                    "(person_pseudonym varchar, pseudonym_basis varchar)")
        con.executemany(f"insert into landing.{source} values (?, ?)",
                        [(r["person_pseudonym"], r["pseudonym_basis"]) for r in rows])
    return rows


@pytest.fixture
def hub(tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    return keys, tmp_path / "vault.duckdb", tmp_path / "warehouse.duckdb"


def test_records_from_before_and_after_a_rotation_still_join(hub):
    keys, vault_path, warehouse_path = hub
    _land(keys, vault_path, warehouse_path, "dji", [*PEOPLE, WITHOUT_BSN])
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("create schema privacy")
        con.execute("create table privacy.domain_pseudonyms as select person_pseudonym, "
                    "'RN' as domain, 'stale' as domain_pseudonym from landing.dji")

    report = rotate_keys(keys, vault_path, warehouse_path)
    assert (report.from_version, report.to_version, report.persons_relinked) == (1, 2, 3)

    _land(keys, vault_path, warehouse_path, "probation", [*PEOPLE, WITHOUT_BSN])
    with duckdb.connect(str(warehouse_path)) as con:
        joined = con.execute("select count(*) from landing.dji join landing.probation "
                             "using (person_pseudonym)").fetchone()[0]
        versions = {key_version_of(p) for (p,) in con.execute(
            "select person_pseudonym from landing.dji").fetchall()}
        domains = con.execute("select domain_pseudonym from privacy.domain_pseudonyms").fetchall()
    assert joined == 3 and versions == {2}
    expected = Pseudonymiser(keys.current(), "RN")
    assert {d for (d,) in domains} == {
        expected.pseudonym(Pseudonymiser(keys.current(), INTERNAL_DOMAIN).pseudonym(
            linkage_basis(p)[1])) for p in [*PEOPLE, WITHOUT_BSN]}


def test_the_vault_reads_back_under_the_new_key_and_keeps_lineage(hub):
    keys, vault_path, warehouse_path = hub
    before = _land(keys, vault_path, warehouse_path, "dji", PEOPLE)
    rotate_keys(keys, vault_path, warehouse_path)
    vault = IdentityVault(vault_path, keys)
    lineage = {old: new for old, new, *_ in vault.lineage()}
    old = before[0]["person_pseudonym"]
    assert vault.fetch([lineage[old]], ["bsn"]) == {lineage[old]: {"bsn": "111222333"}}
    assert vault.fetch([old], ["bsn"]) == {}  # the old pseudonym no longer opens anything


def test_an_interrupted_rotation_resumes_instead_of_rotating_again(hub):
    keys, vault_path, warehouse_path = hub
    _land(keys, vault_path, warehouse_path, "dji", PEOPLE)
    keys.rotate()  # crash right after the new key was made: vault still on version 1
    report = rotate_keys(keys, vault_path, warehouse_path)
    assert (report.from_version, report.to_version) == (1, 2)
    assert keys.versions() == [1, 2]


def test_a_vault_value_under_a_missing_key_version_is_a_clear_error(hub, tmp_path):
    keys, vault_path, _ = hub
    vault = IdentityVault(vault_path, keys)
    vault.store([IdentityRecord("p1", "dji", {"bsn": "111222333"})])
    with duckdb.connect(str(vault_path)) as con:
        con.execute("update identity_fields set key_version = 9")
    with pytest.raises(VaultError, match="needs key version 9"):
        vault.fetch(["p1"], ["bsn"])


def test_recipients_former_pseudonyms_resolve_to_the_current_ones_across_rotations(hub):
    keys, vault_path, warehouse_path = hub
    rows = _land(keys, vault_path, warehouse_path, "dji", PEOPLE)
    first = rekey(keys.current(), [(r["person_pseudonym"], "RN") for r in rows])
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("create schema privacy")
        con.execute("create table privacy.domain_pseudonyms (person_pseudonym varchar, "
                    "domain varchar, domain_pseudonym varchar)")
        con.executemany("insert into privacy.domain_pseudonyms values (?, ?, ?)", first)

    rotate_keys(keys, vault_path, warehouse_path)
    rotate_keys(keys, vault_path, warehouse_path)  # twice: version 1 must still resolve

    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        resolved = [current_domain_pseudonym(con, "RN", former) for _, _, former in first]
        assert current_domain_pseudonym(con, "SVG", first[0][2]) is None  # not SVG's client
    internal = Pseudonymiser(keys.current(), INTERNAL_DOMAIN)
    assert resolved == [Pseudonymiser(keys.current(), "RN").pseudonym(
        internal.pseudonym(linkage_basis(person)[1])) for person in PEOPLE]
    assert {key_version_of(p) for p in resolved} == {3}
