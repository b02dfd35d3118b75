"""The boundary: what leaves it holds no identity, and every identity went to the vault."""

import json

from ketenbrug.privacy import KeyStore, key_version_of
from ketenbrug.privacy.boundary import REFUSED_BECAUSE, Boundary, IncomingRecord

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


# Identity detection: free text and identifiers scanned before anything lands.

BRAM = {"bsn": "123456782", "given_name": "Bram", "surname": "Smit", "birth_date": "1975-06-30"}
TYPED_IN = "Bram Smit 123456782 Dorpsstraat 4, 1234 AB"  # another person, typed into a field


def _scanned(vault, keyring, records, source="probation", dataset="clients"):
    from ketenbrug.connectors.manifest import load_manifest
    manifest = load_manifest(source)[dataset]
    boundary = Boundary(keyring, vault, source, dataset=manifest)
    return boundary.split([IncomingRecord(identity, fields, {**identity, **fields})
                           for identity, fields in records], has_identity=bool(manifest.identity))


def _client(client_id="RN-000001", contact_point="team-utrecht@rn.example"):
    return {"client_id": client_id, "organisation": "RN", "contact_point": contact_point}


def test_an_identity_typed_into_free_text_is_withheld_and_named_by_rule_and_field(vault, keyring):
    clean, typed = _scanned(vault, keyring, [(ANNA, _client()),
                                             (ANNA, _client("RN-000002", TYPED_IN))]).rows
    assert clean["contact_point"] == "team-utrecht@rn.example"
    assert clean["identity_findings"] is None
    assert typed["contact_point"] is None
    assert typed["identity_findings"] == "contact_point:bsn,contact_point:postcode_house_number"
    text = json.dumps([clean, typed])
    assert "123456782" not in text and "Dorpsstraat" not in text and "Smit" not in text
    assert typed["client_id"] == "RN-000002"  # the record itself lands, for the steward


def test_a_known_persons_bsn_failing_the_eleven_test_is_found_through_the_vault(vault, keyring):
    mistyped = {**BRAM, "bsn": "123456789"}  # the source's register holds it like this
    _scanned(vault, keyring, [(mistyped, _client("RN-000009"))])
    (row,) = _scanned(vault, keyring, [(ANNA, _client(contact_point="zie 123456789"))]).rows
    assert row["identity_findings"] == "contact_point:known_bsn"
    (other,) = _scanned(vault, keyring, [(ANNA, _client(contact_point="zie 987654321"))]).rows
    assert other["identity_findings"] is None  # an unknown number failing the test is not one


def test_a_bsn_used_as_record_key_refuses_the_record_without_storing_it(vault, keyring):
    (row,) = _scanned(vault, keyring, [(BRAM, {"registration_number": BRAM["bsn"],
                                               "prison_code": "PI-VUGHT"})],
                      source="dji", dataset="detentions").rows
    assert row["registration_number"] is None
    assert row[REFUSED_BECAUSE] == ("record key registration_number holds an identity "
                                    "(rule bsn,known_bsn); the key is not stored")
    assert vault.pseudonyms() == set()  # a refused record's identity is not sealed either


def test_a_refused_record_is_rejected_with_no_key_and_the_ledger_balances(vault, keyring, tmp_path):
    from datetime import datetime

    import duckdb

    from ketenbrug import warehouse
    from ketenbrug.connectors.manifest import load_manifest
    care = load_manifest("care")["episodes"]
    out = _scanned(vault, keyring, [
        ({"bsn": ANNA["bsn"]}, {"episode_id": "eoc-0000001", "managing_org_name": "GGZ"}),
        ({"bsn": BRAM["bsn"]}, {"episode_id": BRAM["bsn"], "managing_org_name": "GGZ"}),
    ], source="care", dataset="episodes")
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        batch = warehouse.land_batch(con, care, out.rows, batch_id="b1",
                                     received_at=datetime(2026, 1, 1), fields_dropped=0,
                                     cursor=None)
    assert (batch.received, batch.landed, batch.rejected) == (2, 1, 1)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select record_key, reason from landing._rejections").fetchall() == [
            (None, "record key episode_id holds an identity (rule bsn,known_bsn); "
                   "the key is not stored")]
        landed = con.execute("select * from landing.care__episodes").fetchall()
    assert BRAM["bsn"] not in json.dumps(landed, default=str)
