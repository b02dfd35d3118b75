"""Owner-only files: what the hub creates is readable by its own user alone."""

from __future__ import annotations

import os
import stat

import pytest

from ketenbrug.privacy import IdentityVault, KeyStore
from ketenbrug.privacy.file_modes import (
    FileModeError,
    private_dir,
    require_private,
    write_private,
)
from ketenbrug.privacy.sealing import load_or_create_recipient_key, load_or_create_signing_key
from ketenbrug.warehouse import connection


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _permissive_umask():
    """A umask as a default login has it: the modes below are the code's, not the umask's."""
    umask = os.umask(0o022)
    yield
    os.umask(umask)


def test_warehouse_is_created_0600_in_a_0700_folder(tmp_path):
    path = tmp_path / "home" / "warehouse.duckdb"
    with connection.connect(path) as con:
        con.execute("create table t as select range as x from range(1000)")
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    with connection.connect(path, read_only=True) as con:  # an owner-only one opens
        assert con.execute("select count(*) from t").fetchone() == (1000,)


def test_a_warehouse_others_can_read_is_refused_not_tightened(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with connection.connect(path):
        pass
    os.chmod(path, 0o644)
    with (pytest.raises(connection.WarehouseExposed, match=r"chmod 600 .*warehouse.duckdb"),
          connection.connect(path, read_only=True)):
        pass
    assert _mode(path) == 0o644


def test_vault_and_keys_are_owner_only(tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    IdentityVault(tmp_path / "var" / "vault.duckdb", keys)
    load_or_create_signing_key(tmp_path / "keys")
    load_or_create_recipient_key(tmp_path / "keys", "GM0363")
    assert _mode(tmp_path / "var" / "vault.duckdb") == 0o600
    assert _mode(tmp_path / "var") == 0o700
    assert _mode(tmp_path / "keys") == 0o700
    assert _mode(tmp_path / "keys" / "recipients") == 0o700
    for name in ("master-v1.key", "master-v1.kcv", "hub-signing.key", "recipients/GM0363.key"):
        assert _mode(tmp_path / "keys" / name) == 0o600, name


def test_private_dir_leaves_a_folder_that_already_existed_alone(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    private_dir(shared / "a" / "b")
    assert _mode(shared) == 0o755
    assert _mode(shared / "a") == 0o700 and _mode(shared / "a" / "b") == 0o700


def test_require_private_names_the_file_and_the_fix(tmp_path):
    path = write_private(tmp_path / "state.json", b"{}")
    assert _mode(path) == 0o600 and require_private(path) == path
    os.chmod(path, 0o620)
    with pytest.raises(FileModeError, match=r"writable by others \(mode 0620\).*chmod 600"):
        require_private(path)
