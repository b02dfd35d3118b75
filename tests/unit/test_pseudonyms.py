import os
import stat

import pytest

from privacy import KeyMaterialError, Pseudonymiser, load_or_create_keyring
from privacy.keys import load_keyring


def test_same_value_same_domain_gives_same_pseudonym(keyring):
    internal = Pseudonymiser(keyring, "internal")
    assert internal.pseudonym("111222333") == internal.pseudonym("111222333")
    assert internal.pseudonym("111222333") != internal.pseudonym("123456782")


def test_domains_are_unlinkable(keyring):
    values = [str(100000000 + i) for i in range(200)]
    rn = set(Pseudonymiser(keyring, "RN").pseudonyms(values))
    svg = set(Pseudonymiser(keyring, "SVG").pseudonyms(values))
    assert not rn & svg


def test_another_installation_gives_other_pseudonyms(tmp_path):
    first = load_or_create_keyring(tmp_path / "a")
    second = load_or_create_keyring(tmp_path / "b")
    assert (Pseudonymiser(first, "internal").pseudonym("111222333")
            != Pseudonymiser(second, "internal").pseudonym("111222333"))


def test_key_file_is_private_and_reused(tmp_path):
    first = load_or_create_keyring(tmp_path / "keys")
    key_file = tmp_path / "keys" / "master-v1.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_keyring(tmp_path / "keys").master_key == first.master_key


def test_widened_key_file_is_refused(tmp_path):
    load_or_create_keyring(tmp_path / "keys")
    os.chmod(tmp_path / "keys" / "master-v1.key", 0o644)
    with pytest.raises(KeyMaterialError, match="readable by others"):
        load_keyring(tmp_path / "keys", 1)


def test_missing_key_version_is_a_clear_error(tmp_path):
    load_or_create_keyring(tmp_path / "keys")
    with pytest.raises(KeyMaterialError, match="version 7 not found"):
        load_keyring(tmp_path / "keys", 7)


def test_keys_never_show_in_repr(keyring):
    assert keyring.master_key.hex() not in repr(keyring)
    assert "key_version=1" in repr(Pseudonymiser(keyring, "internal"))
