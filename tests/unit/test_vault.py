from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest

from ketenbrug.privacy import (
    IdentityRecord,
    IdentityVault,
    KeyStore,
    VaultError,
    load_or_create_keyring,
)


def _store(vault):
    vault.store([
        IdentityRecord("p1", "dji", {"bsn": "111222333", "surname": "Jansen"}),
        IdentityRecord("p1", "probation", {"surname": "Janssen"}),
        IdentityRecord("p2", "probation", {"bsn": "123456782", "surname": "de Vries"}),
    ])


def test_values_come_back_and_the_preferred_source_wins(vault):
    _store(vault)
    found = vault.fetch(["p1", "p2"], ["bsn", "surname"], ("dji", "probation"))
    assert found == {"p1": {"bsn": "111222333", "surname": "Jansen"},
                     "p2": {"bsn": "123456782", "surname": "de Vries"}}


def test_vault_file_holds_no_clear_text(vault):
    _store(vault)
    raw = vault.path.read_bytes()
    assert b"111222333" not in raw and b"Jansen" not in raw


def test_ciphertext_moved_to_another_person_fails_loudly(vault):
    _store(vault)
    with duckdb.connect(str(vault.path)) as con:
        con.execute("update identity_fields set person_pseudonym = 'p9' "
                    "where person_pseudonym = 'p2' and field = 'bsn'")
    with pytest.raises(VaultError, match="failed authentication"):
        vault.fetch(["p9"], ["bsn"])


def test_tampered_ciphertext_fails_loudly(vault):
    _store(vault)
    with duckdb.connect(str(vault.path)) as con:
        con.execute("update identity_fields set ciphertext = "
                    "('\\x00'::blob || ciphertext[2:]) where person_pseudonym = 'p2' "
                    "and field = 'surname'")
    with pytest.raises(VaultError, match="surname"):
        vault.fetch(["p2"], ["surname"])


def test_another_installation_key_cannot_read_the_vault(vault, tmp_path):
    _store(vault)
    load_or_create_keyring(tmp_path / "other-keys")
    with pytest.raises(VaultError, match="does not match the key the vault was sealed with"):
        IdentityVault(vault.path, KeyStore(tmp_path / "other-keys")).fetch(["p1"], ["bsn"])


def test_every_value_is_sealed_under_a_nonce_of_its_own(vault, tmp_path):
    """AES-GCM under one key loses its guarantees when a nonce repeats: the same name for
    a thousand people, stored at once and again after a change, never shares one."""
    vault.store([IdentityRecord(f"p{n}", "dji", {"surname": "Jansen", "given_name": "Anna"})
                 for n in range(1000)])
    vault.store([IdentityRecord("p1", "dji", {"surname": "Visser"})])
    with duckdb.connect(str(vault.path), read_only=True) as con:
        nonces = [bytes(n) for (n,) in con.execute("select nonce from identity_fields").fetchall()]
        ciphertexts = {bytes(c) for (c,) in con.execute(
            "select ciphertext from identity_fields where field = 'given_name'").fetchall()}
    assert len(nonces) == 2000 and len(set(nonces)) == 2000
    assert all(len(n) == 12 for n in nonces)
    assert len(ciphertexts) == 1000  # one name, a thousand different ciphertexts
    assert vault.fetch(["p1", "p2"], ["surname"]) == {"p1": {"surname": "Visser"},
                                                     "p2": {"surname": "Jansen"}}


def _key_counts(vault):
    with duckdb.connect(str(vault.path), read_only=True) as con:
        return con.execute("select count(*), count(distinct (person_pseudonym, field, source)) "
                           "from identity_fields").fetchone()


def test_a_changed_value_replaces_the_old_one_and_an_unchanged_one_is_left(vault):
    _store(vault)
    assert vault.store([IdentityRecord("p2", "probation", {"surname": "de Vries"})]) == 0
    assert vault.store([IdentityRecord("p2", "probation", {"surname": "Bakker"})]) == 1
    assert vault.fetch(["p2"], ["surname"]) == {"p2": {"surname": "Bakker"}}
    assert _key_counts(vault) == (5, 5)


def test_writers_at_once_leave_one_value_per_person_field_and_source(vault):
    """DuckDB's vault has no primary key (it would be an index held in memory): what keeps
    each value single is that a store reads and writes under the vault's writer lock.
    Eight threads storing the same forty people, each with values of its own, at once."""
    people = [f"p{n}" for n in range(40)]

    def store_repeatedly(writer: int) -> None:
        for round_ in range(15):
            vault.store([IdentityRecord(p, "dji", {"surname": f"S{writer}-{round_}",
                                                   "given_name": f"G{writer}"})
                         for p in people])

    with ThreadPoolExecutor(max_workers=8) as pool:
        for done in [pool.submit(store_repeatedly, w) for w in range(8)]:
            done.result()
    assert _key_counts(vault) == (80, 80)
    surnames = vault.fetch(people, ["surname"])
    assert {surnames[p]["surname"].split("-")[1] for p in people} == {"14"}


def test_a_vault_made_with_a_primary_key_is_rebuilt_without_it(vault):
    """An earlier version's DuckDB vault held (pseudonym, field, source) as a primary key,
    an index DuckDB keeps wholly in memory; opened now, it is rebuilt without it and keeps
    every value."""
    _store(vault)
    with duckdb.connect(str(vault.path)) as con:
        con.execute("create table indexed as select * from identity_fields")
        con.execute("drop table identity_fields")
        con.execute("create table identity_fields (person_pseudonym varchar not null, "
                    "field varchar not null, source varchar not null, key_version integer "
                    "not null, nonce blob not null, ciphertext blob not null, stored_at "
                    "timestamp not null, primary key (person_pseudonym, field, source))")
        con.execute("insert into identity_fields select * from indexed")
        con.execute("drop table indexed")
    reopened = IdentityVault(vault.path, vault.keys)
    with duckdb.connect(str(vault.path), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_indexes() where table_name = "
                           "'identity_fields'").fetchone()[0] == 0
        assert con.execute("select count(*) from duckdb_constraints() where table_name = "
                           "'identity_fields' and constraint_type = 'PRIMARY KEY'"
                           ).fetchone()[0] == 0
    assert reopened.fetch(["p1", "p2"], ["bsn", "surname"], ("dji", "probation")) == {
        "p1": {"bsn": "111222333", "surname": "Jansen"},
        "p2": {"bsn": "123456782", "surname": "de Vries"}}
