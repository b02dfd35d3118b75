import pytest

from ketenbrug.privacy import (
    INTERNAL_DOMAIN,
    IdentityRecord,
    NotPermitted,
    PseudonymError,
    Pseudonymiser,
    Recipient,
    read_log,
    reidentify,
)


@pytest.fixture
def anna(keyring):
    return Pseudonymiser(keyring, INTERNAL_DOMAIN).pseudonym("bsn:111222333")


@pytest.fixture
def stored(vault, anna):
    vault.store([IdentityRecord(anna, "dji", {"bsn": "111222333", "given_name": "Anna",
                                               "surname": "Jansen", "birth_date": "1990-01-01",
                                               "street": "Dorpsstraat"})])
    return vault


def test_handover_returns_only_permitted_fields_and_logs_without_values(stored, anna, tmp_path):
    log = tmp_path / "log.jsonl"
    found = reidentify(stored, log, purpose="warm_handover",
                       recipient=Recipient("municipality", "GM0363"), pseudonyms=[anna],
                       source_datasets=["dji.detentions"])
    assert found == {anna: {"bsn": "111222333", "given_name": "Anna", "surname": "Jansen",
                            "birth_date": "1990-01-01"}}  # no street: not in the Pm 20d set
    (entry,) = read_log(log)
    assert entry["recipient"] == "municipality:GM0363" and entry["persons"] == 1
    assert entry["legal_basis"].startswith("Pm art. 20d") and entry["at"]
    assert "111222333" not in log.read_text() and "Jansen" not in log.read_text()


@pytest.mark.parametrize("purpose, recipient, reason", [
    ("warm_handover", Recipient("probation_organisation", "RN"), "does not serve"),
    ("justice_profile", Recipient("probation_organisation", "RN"), "no re-identification"),
    ("marketing", Recipient("municipality", "GM0363"), "not in the purposes register"),
])
def test_refused_disclosures_are_not_logged_as_made(stored, anna, tmp_path, purpose,
                                                     recipient, reason):
    log = tmp_path / "log.jsonl"
    with pytest.raises(NotPermitted, match=reason):
        reidentify(stored, log, purpose=purpose, recipient=recipient, pseudonyms=[anna],
                   source_datasets=[])
    assert read_log(log) == []


def test_a_pseudonym_from_before_a_rotation_is_refused_not_silently_missed(stored, anna,
                                                                          tmp_path):
    stale = "v0-" + anna.split("-", 1)[1]
    with pytest.raises(PseudonymError, match="key version 0"):
        reidentify(stored, tmp_path / "log.jsonl", purpose="warm_handover",
                   recipient=Recipient("municipality", "GM0363"), pseudonyms=[stale],
                   source_datasets=[])
