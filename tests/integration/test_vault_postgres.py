"""The identity vault behaves the same in its own PostgreSQL database as in its DuckDB file.

Every test runs on both engines: a DuckDB file under tmp_path, and a fresh PostgreSQL
database (`pg_database`: skipped without a server, failed under CI=true). The raw SQL a
test uses to tamper with the store is the same on both; the vault's tables are found
where the vault keeps them (DuckDB's `main`, PostgreSQL's schema `vault`).
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager

import duckdb
import psycopg2
import pytest

from ketenbrug.databases import PostgresTarget, open_postgres
from ketenbrug.privacy import IdentityRecord, IdentityVault, KeyStore, VaultError
from ketenbrug.privacy.vault import (
    PG_SCHEMA,
    VaultKeyMismatch,
    key_check_problems,
    sealed_key_versions,
    vault_key_checks,
)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request, tmp_path):
    if request.param == "duckdb":
        return tmp_path / "vault.duckdb"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def keys(tmp_path):
    store = KeyStore(tmp_path / "keys")
    store.init()
    return store


@contextmanager
def _raw(target):
    """A plain connection to the vault's tables, around the vault (as an attacker would)."""
    if isinstance(target, PostgresTarget):
        with open_postgres(target) as con:
            con.execute(f"set search_path = {PG_SCHEMA}")
            yield con
    else:
        with duckdb.connect(str(target)) as con:
            yield con


def _store(vault):
    vault.store([
        IdentityRecord("p1", "dji", {"bsn": "111222333", "surname": "Jansen"}),
        IdentityRecord("p1", "probation", {"surname": "Janssen"}),
        IdentityRecord("p2", "probation", {"bsn": "123456782", "surname": "de Vries"}),
    ])


def _replace_key(keys_dir, version=1):
    path = keys_dir / f"master-v{version}.key"
    path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    (keys_dir / f"master-v{version}.kcv").unlink()  # replaced together with its check


def test_values_come_back_and_the_preferred_source_wins(target, keys):
    vault = IdentityVault(target, keys)
    _store(vault)
    assert vault.fetch(["p1", "p2"], ["bsn", "surname"], ("dji", "probation")) == {
        "p1": {"bsn": "111222333", "surname": "Jansen"},
        "p2": {"bsn": "123456782", "surname": "de Vries"}}
    assert vault.fetch(["p1"], ["surname"], ("probation",)) == {"p1": {"surname": "Janssen"}}
    assert vault.pseudonyms() == {"p1", "p2"}
    assert vault.known(["p2", "p7"]) == {"p2"}
    assert [(s, f, v) for _, f, s, v in vault.fetch_all_sources(["p1"])] == [
        ("dji", "bsn", "111222333"), ("dji", "surname", "Jansen"),
        ("probation", "surname", "Janssen")]


def test_a_value_given_twice_in_one_batch_is_stored_once_the_later_winning(target, keys):
    vault = IdentityVault(target, keys)
    stored = vault.store([IdentityRecord("p1", "dji", {"surname": "Jansen"}),
                          IdentityRecord("p1", "dji", {"surname": "Janssen"})])
    assert stored == 1
    assert vault.fetch(["p1"], ["surname"]) == {"p1": {"surname": "Janssen"}}


def test_storing_again_replaces_the_value(target, keys):
    vault = IdentityVault(target, keys)
    _store(vault)
    vault.store([IdentityRecord("p2", "probation", {"surname": "Visser"})])
    assert vault.fetch(["p2"], ["surname"]) == {"p2": {"surname": "Visser"}}


def test_purge_removes_only_the_persons_asked(target, keys):
    vault = IdentityVault(target, keys)
    _store(vault)
    assert vault.purge(["p1"]) == 3
    assert vault.pseudonyms() == {"p2"}
    assert vault.fetch(["p1"], ["bsn"]) == {}


def test_ciphertext_moved_to_another_person_fails_loudly(target, keys):
    vault = IdentityVault(target, keys)
    _store(vault)
    with _raw(target) as con:
        con.execute("update identity_fields set person_pseudonym = 'p9' "
                    "where person_pseudonym = 'p2' and field = 'bsn'")
    with pytest.raises(VaultError, match="failed authentication"):
        vault.fetch(["p9"], ["bsn"])


def test_reseal_moves_every_value_to_the_new_key_and_keeps_the_lineage(target, keys):
    vault = IdentityVault(target, keys)
    _store(vault)
    assert sealed_key_versions(target) == [1]
    keys.rotate()
    rotated = IdentityVault(target, keys)
    values = list(rotated.decrypt_all())
    resealed = rotated.reseal_all(
        ((f"n{p}", f, s, v) for p, f, s, v in values), {"p1": "np1", "p2": "np2"}, 1)
    assert resealed == 5
    assert sealed_key_versions(target) == [2]
    assert rotated.lineage() == [("p1", "np1", 1, 2), ("p2", "np2", 1, 2)]
    assert rotated.fetch(["np2"], ["bsn"]) == {"np2": {"bsn": "123456782"}}
    assert rotated.pseudonyms() == {"np1", "np2"}


def test_a_reseal_that_fails_midway_leaves_the_vault_as_it_was(target, keys):
    vault = IdentityVault(target, keys)
    _store(vault)
    keys.rotate()
    rotated = IdentityVault(target, keys)
    values = list(rotated.decrypt_all())
    # The lineage insert comes last and fails (a link without its new pseudonym): the
    # values already deleted and re-inserted in the same transaction must come back.
    with pytest.raises((duckdb.ConstraintException, psycopg2.errors.NotNullViolation)):
        rotated.reseal_all(((f"n{p}", f, s, v) for p, f, s, v in values),
                           {"p1": "np1", "p2": None}, 1)
    assert sealed_key_versions(target) == [1]
    assert rotated.lineage() == []
    assert rotated.fetch(["p2"], ["bsn"]) == {"p2": {"bsn": "123456782"}}


def test_a_replaced_key_is_refused_by_the_vault(target, keys, tmp_path):
    vault = IdentityVault(target, keys)
    _store(vault)
    assert set(vault_key_checks(target)) == {1}
    assert key_check_problems(keys, target) == {}
    _replace_key(tmp_path / "keys")
    swapped = KeyStore(tmp_path / "keys")
    with pytest.raises(VaultKeyMismatch, match="does not match the key the vault was sealed"):
        IdentityVault(target, swapped)
    assert set(key_check_problems(swapped, target)) == {1}


@pytest.mark.postgres
def test_postgres_keeps_the_vault_in_its_schema_and_no_clear_text(pg_database, keys):
    _store(IdentityVault(pg_database, keys))
    with open_postgres(pg_database) as con:
        tables = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [PG_SCHEMA]).fetchall()}
        assert tables == {"identity_fields", "pseudonym_lineage", "key_checks"}
        assert con.execute("select count(*) from information_schema.tables "
                           "where table_schema = 'public'").fetchone() == (0,)
        dumped = " ".join(str(row) for row in con.execute(
            f"select * from {PG_SCHEMA}.identity_fields").fetchall())
    assert "111222333" not in dumped and "Jansen" not in dumped


@pytest.mark.postgres
def test_a_vault_that_does_not_exist_yet_has_no_checks_and_no_versions(pg_database):
    # `keys status` before the first run: an empty database of the vault's.
    assert vault_key_checks(pg_database) == {}
    assert sealed_key_versions(pg_database) == []
