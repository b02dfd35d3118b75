"""The boundary: what leaves it holds no identity, and every identity went to the vault."""

import json

from ketenbrug.privacy import KeyStore, key_version_of
from ketenbrug.privacy.boundary import Boundary, IncomingRecord

ANNA = {"bsn": "111222333", "given_name": "Anna", "surname": "Jansen", "birth_date": "1980-01-02"}


def _split(vault, keyring, identities):
    boundary = Boundary(keyring, vault, "dji")
    return boundary.split([IncomingRecord(i, {"prison_code": "PI-ARNHEM"}, {**i, "x": 1})
                           for i in identities], has_identity=True)


def test_rows_carry_pseudonym_and_flags_but_no_identity(vault, keyring):
    out = _split(vault, keyring, [ANNA])
    (row,) = out.rows
    assert key_version_of(row["person_pseudonym"]) == 1
    assert row["pseudonym_basis"] == "bsn" and row["is_bsn_valid"] is True
    text = json.dumps(row)
    assert not any(v in text for v in ANNA.values())
    assert out.identities_stored == 4
    assert vault.fetch([row["person_pseudonym"]], ["surname"]) == {
        row["person_pseudonym"]: {"surname": "Jansen"}}


def test_invalid_bsn_is_flagged_not_repaired(vault, keyring):
    (row,) = _split(vault, keyring, [{**ANNA, "bsn": "123456789"}]).rows
    assert row["is_bsn_present"] is True and row["is_bsn_valid"] is False


def test_without_bsn_the_name_and_birth_date_link_and_the_bsn_flag_stays_empty(vault, keyring):
    without = {k: v for k, v in ANNA.items() if k != "bsn"}
    (row,) = _split(vault, keyring, [without]).rows
    assert row["pseudonym_basis"] == "name_birth_date"
    assert row["is_bsn_present"] is False and row["is_bsn_valid"] is None
    assert row["person_pseudonym"]


def test_nothing_to_link_on_gives_no_pseudonym(vault, keyring):
    (row,) = _split(vault, keyring, [{"surname": "Jansen"}]).rows
    assert row["person_pseudonym"] is None and row["pseudonym_basis"] is None


def test_same_payload_same_hash_other_payload_other_hash(tmp_path):
    from ketenbrug.privacy import IdentityVault
    keys = KeyStore(tmp_path / "k")
    keyring = keys.init()
    vault = IdentityVault(tmp_path / "v.duckdb", keys)
    first, second, other = _split(vault, keyring, [ANNA, ANNA, {**ANNA, "surname": "J"}]).rows
    assert first["_payload_hash"] == second["_payload_hash"] != other["_payload_hash"]
