"""Shared fixtures: keys and stores in temporary folders, never under var/."""

from __future__ import annotations

import pytest

from ketenbrug.privacy import IdentityVault, KeyStore, load_or_create_keyring


@pytest.fixture
def keyring(tmp_path):
    return load_or_create_keyring(tmp_path / "keys")


@pytest.fixture
def vault(tmp_path, keyring):
    return IdentityVault(tmp_path / "vault.duckdb", KeyStore(tmp_path / "keys"))
