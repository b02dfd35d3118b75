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
