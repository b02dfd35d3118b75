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


def test_an_unchanged_identity_stays_sealed_as_it_was_and_a_changed_one_is_resealed(vault):
    """A source re-sending a record changes nothing in the vault (its stamp stays), so a
    delivery can tell an unchanged package without opening anyone's identity."""
    fields = ["bsn", "surname"]
    assert vault.store([IdentityRecord("p1", "dji", {"bsn": "111222333", "surname": "Jansen"}),
                        IdentityRecord("p2", "dji", {"surname": "Visser"})]) == 3
    stamp = vault.sealed_stamp(["p1", "p2"], fields)
    assert vault.store([IdentityRecord("p1", "dji", {"bsn": "111222333",
                                                     "surname": "Jansen"})]) == 0
    assert vault.sealed_stamp(["p1", "p2"], fields) == stamp
    assert vault.store([IdentityRecord("p1", "dji", {"surname": "Janssen"})]) == 1
    assert vault.sealed_stamp(["p1", "p2"], fields) != stamp
    assert vault.sealed_stamp(["p2"], fields) == vault.sealed_stamp(["p2"], fields)
    assert vault.fetch(["p1"], ["surname"]) == {"p1": {"surname": "Janssen"}}
    # Per recipient in one read: each group's stamp is the stamp of its persons alone.
    assert vault.sealed_stamps({"GM1": ["p2", "p1"], "GM2": ["p2"], "GM3": []}, fields) == {
        "GM1": vault.sealed_stamp(["p1", "p2"], fields),
        "GM2": vault.sealed_stamp(["p2"], fields), "GM3": vault.sealed_stamp([], fields)}
    assert len(set(vault.sealed_stamps({"a": ["p1"], "b": ["p2"]}, fields).values())) == 2


def _persons(keyring, vault, count):
    pseudonymiser = Pseudonymiser(keyring, INTERNAL_DOMAIN)
    people = [pseudonymiser.pseudonym(f"bsn:{100000000 + n}") for n in range(count)]
    vault.store([IdentityRecord(p, "dji", {"surname": f"Synthetic{n}"})
                 for n, p in enumerate(people)])
    return people


def test_many_recipients_get_only_their_own_persons_logged_in_order_in_few_vault_reads(
        vault, keyring, tmp_path, monkeypatch):
    from ketenbrug.privacy.reidentify import reidentify_each

    a, b, c, d = _persons(keyring, vault, 4)
    reads = []
    fetch = vault.fetch
    monkeypatch.setattr(vault, "fetch", lambda wanted, *args: reads.append(wanted)
                        or fetch(wanted, *args))
    asked = {Recipient("municipality", "GM0001"): [a], Recipient("municipality", "GM0002"): [b, c],
             Recipient("municipality", "GM0003"): [d, a]}
    log = tmp_path / "log.jsonl"
    given = list(reidentify_each(vault, log, purpose="warm_handover", recipients=asked,
                                 source_datasets=["dji.detentions"], round_persons=3))
    assert [(str(r), sorted(found)) for r, found in given] == [
        ("municipality:GM0001", [a]), ("municipality:GM0002", sorted([b, c])),
        ("municipality:GM0003", sorted([a, d]))]
    assert given[2][1][a] == {"surname": "Synthetic0"}
    assert [sorted(r) for r in reads] == [sorted([a, b, c]), sorted([a, d])]  # two rounds
    assert [(e["recipient"], e["persons"]) for e in read_log(log)] == [
        ("municipality:GM0001", 1), ("municipality:GM0002", 2), ("municipality:GM0003", 2)]


def test_one_refused_recipient_among_many_refuses_all_before_anyone_is_reidentified(
        vault, keyring, tmp_path):
    from ketenbrug.privacy.reidentify import reidentify_each

    (a,) = _persons(keyring, vault, 1)
    asked = {Recipient("municipality", "GM0001"): [a],
             Recipient("probation_organisation", "RN"): [a]}
    log = tmp_path / "log.jsonl"
    with pytest.raises(NotPermitted, match="does not serve"):
        next(reidentify_each(vault, log, purpose="warm_handover", recipients=asked,
                             source_datasets=[]))
    assert read_log(log) == []
