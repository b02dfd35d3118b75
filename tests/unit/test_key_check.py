"""Master keys that prove themselves: check values beside the key and in the vault."""

from __future__ import annotations

import os
import secrets
import stat

import pytest
from click.testing import CliRunner

from ketenbrug.cli import main
from ketenbrug.privacy import IdentityRecord, IdentityVault, KeyMismatch, KeyStore
from ketenbrug.privacy.vault import key_check_problems


def _replace_key(keys_dir, version=1):
    path = keys_dir / f"master-v{version}.key"
    path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))


def test_a_new_key_has_its_check_value_beside_it(tmp_path):
    keyring = KeyStore(tmp_path / "keys").init()
    kcv = tmp_path / "keys" / "master-v1.kcv"
    assert kcv.read_text().strip() == keyring.check_value()
    assert stat.S_IMODE(kcv.stat().st_mode) == 0o600
    assert keyring.master_key.hex() not in kcv.read_text()


def test_a_legacy_key_gets_its_check_value_on_first_load_and_is_then_held_to_it(tmp_path):
    KeyStore(tmp_path / "keys").init()
    (tmp_path / "keys" / "master-v1.kcv").unlink()  # an install from before check values
    KeyStore(tmp_path / "keys").current()
    assert (tmp_path / "keys" / "master-v1.kcv").exists()
    _replace_key(tmp_path / "keys")
    with pytest.raises(KeyMismatch, match="recorded in master-v1.kcv"):
        KeyStore(tmp_path / "keys").current()


def test_a_legacy_vault_records_the_check_value_on_first_use(tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    vault = IdentityVault(tmp_path / "vault.duckdb", keys)
    vault.store([IdentityRecord("p1", "probation", {"bsn": "111222333"})])
    _replace_key(tmp_path / "keys")
    (tmp_path / "keys" / "master-v1.kcv").unlink()
    with pytest.raises(KeyMismatch, match="the vault was sealed with"):
        IdentityVault(tmp_path / "vault.duckdb", KeyStore(tmp_path / "keys"))


def test_a_history_key_is_checked_by_the_vault_when_first_used(tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    vault = IdentityVault(tmp_path / "vault.duckdb", keys)
    vault.store([IdentityRecord("p1", "probation", {"bsn": "111222333"})])
    keys.rotate()
    _replace_key(tmp_path / "keys", version=1)
    (tmp_path / "keys" / "master-v1.kcv").unlink()
    reopened = IdentityVault(tmp_path / "vault.duckdb", KeyStore(tmp_path / "keys"))  # v2: fine
    with pytest.raises(KeyMismatch, match="master key v1 .* the vault was sealed with"):
        reopened.fetch(["p1"], ["bsn"])


def _status(tmp_path):
    env = {"KETENBRUG_HOME": str(tmp_path), "KETENBRUG_KEYS_DIR": str(tmp_path / "keys"),
           "KETENBRUG_VAULT": str(tmp_path / "vault.duckdb"),
           "KETENBRUG_WAREHOUSE": str(tmp_path / "warehouse.duckdb")}
    return CliRunner().invoke(main, ["keys", "status"], env=env)


def test_keys_status_shows_the_check_and_fails_on_a_replaced_key(tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    IdentityVault(tmp_path / "vault.duckdb", keys)
    ok = _status(tmp_path)
    assert ok.exit_code == 0, ok.output
    assert "v1  current" in ok.output and "check ok" in ok.output
    _replace_key(tmp_path / "keys")
    (tmp_path / "keys" / "master-v1.kcv").unlink()  # replaced together with its .kcv
    swapped = _status(tmp_path)
    assert swapped.exit_code == 1
    assert "check MISMATCH" in swapped.output
    assert "does not match the key the vault was sealed with" in swapped.output
    assert set(key_check_problems(KeyStore(tmp_path / "keys"), tmp_path / "vault.duckdb")) == {1}
