import os
import stat

import pytest

from ketenbrug.privacy import (
    KeyMaterialError,
    PseudonymError,
    Pseudonymiser,
    load_or_create_keyring,
)
from ketenbrug.privacy.keys import load_keyring
from ketenbrug.privacy.pseudonyms import (
    key_version_of,
    linkage_basis,
    payload_hasher,
    require_version,
)


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


def test_pseudonyms_carry_their_key_version(keyring):
    pseudonym = Pseudonymiser(keyring, "internal").pseudonym("bsn:111222333")
    assert key_version_of(pseudonym) == 1
    require_version(pseudonym, 1)
    with pytest.raises(PseudonymError, match="key version 1, the hub is on version 2"):
        require_version(pseudonym, 2)


@pytest.mark.parametrize("value", ["111222333", "v1-xyz", "", "v1-" + "0" * 31])
def test_non_pseudonyms_are_refused(value):
    with pytest.raises(PseudonymError):
        key_version_of(value)


def test_bsn_is_the_linkage_basis_when_given():
    assert linkage_basis({"bsn": " 111222333 ", "surname": "Jansen"}) == ("bsn", "bsn:111222333")


@pytest.mark.parametrize("a, b", [
    ({"surname": "van der Berg", "given_name": "Anouk"}, {"surname": "Van Der Berg",
                                                         "given_name": "anouk"}),
    ({"surname": "Çelik", "given_name": "Zoë"}, {"surname": "Celik", "given_name": "Zoe"}),
    ({"surname": "D'Hondt-Smit", "given_name": "Jan"}, {"surname": "dhondt smit",
                                                        "given_name": "JAN"}),
])
def test_without_bsn_the_documented_combination_links_spelling_variants(a, b):
    dob = {"birth_date": "1990-04-01"}
    assert linkage_basis({**a, **dob}) == linkage_basis({**b, **dob})
    assert linkage_basis({**a, **dob})[0] == "name_birth_date"


def test_combination_never_links_a_different_birth_date_or_an_incomplete_identity():
    person = {"surname": "Jansen", "given_name": "Anna", "birth_date": "1990-04-01"}
    assert linkage_basis(person) != linkage_basis({**person, "birth_date": "1990-04-02"})
    assert linkage_basis({"surname": "Jansen", "given_name": "Anna"}) is None


def test_a_batch_gives_the_same_pseudonyms_as_one_by_one_in_order(keyring):
    internal = Pseudonymiser(keyring, "internal")
    values = [f"bsn:{100000000 + i}" for i in range(3_000)]
    values += ["nbd:jansen|anna|1990-04-01", "v1-" + "ab" * 16]  # beyond one AES block
    one_by_one = [internal.pseudonym(v) for v in values]
    assert internal.pseudonyms(values) == one_by_one
    assert internal.pseudonyms_arrow(values).to_pylist() == one_by_one
    assert all(key_version_of(p) == 1 for p in one_by_one)


def test_payload_hashes_are_keyed_and_never_person_pseudonyms(keyring, tmp_path):
    payload = '{"bsn":"111222333"}'
    assert payload_hasher(keyring).hash(payload) == payload_hasher(keyring).hash(payload)
    assert payload_hasher(keyring).hash(payload) != Pseudonymiser(keyring, "payload").pseudonym(
        payload)
    other = load_or_create_keyring(tmp_path / "other")
    assert payload_hasher(keyring).hash(payload) != payload_hasher(other).hash(payload)
